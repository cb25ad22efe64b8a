#!/usr/bin/env bash
# 53-gateway-faults: the issue's fault list against the real daemon, the
# cases 51-gateway.sh does not cover:
#   - 100 concurrent 1 MB streams, each echoed back intact (both ways);
#   - a backend that resets mid-stream: the program sees a reset, not EOF;
#   - programs that write but never read: the stream stalls, both
#     gateways' memory stays bounded, and the connections are freed when
#     the programs go away;
#   - a stolen key (KDC-backed) used from another client address: refused
#     whether or not the key is cached, and the refusal does not lock out
#     the key's real owner;
#   - 5,000 connections that never finish the handshake (silent ones,
#     then ones that send half a ClientHello and stop) while good clients
#     are still served; all closed at handshake_timeout, none reaches the
#     backend;
#   - never a byte to the backend (with proxy_protocol, not even the
#     PROXY header) from HTTP, a TLS 1.2 hello, an unknown identity
#     followed by plaintext, a wrong key, or a ClientHello whose binder
#     verifies followed by plaintext, a bogus record or EOF instead of a
#     Finished: the recording backend gets connections only from
#     completed handshakes; and those last three are not counted as
#     hs_bad_psk ("the key did not match": it did).
# Loopback only; every process is ours and stopped at exit (lib.sh).
# CG_KEEP=DIR keeps a copy of the test directory (logs) in DIR;
# CG_NJUNK=N changes the 5,000.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gw-lib.sh"

T=$TMPDIR_T
[ -n "${CG_KEEP:-}" ] && cleanup_cmd "rm -rf $CG_KEEP; cp -r $T $CG_KEEP"
ECHO=$BUILD/tests/helpers/echo
GW=$CG_GATEWAYD
CORPUS=$SRCDIR/fuzz/corpus/tls_server
NJUNK=${CG_NJUNK:-5000}

if [ ! -x "$GW" ]; then
	skip "gateway faults" "cryptgate-gatewayd not built"
	done_testing
fi
if [ ! -x "$ECHO" ] || [ ! -x "$CG" ] || ! command -v ss >/dev/null ||
    ! command -v perl >/dev/null; then
	fail "$ECHO, $CG, ss (iproute2) and perl are needed"
	done_testing
fi

# Descriptors: the server gateway needs two per connection (it raises
# its soft limit up to the hard one), the junk holder one each.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((2 * NJUNK + 4000)) ]; then
	ulimit -Hn $((2 * NJUNK + 4000)) 2>/dev/null &&
	    ulimit -n $((2 * NJUNK + 4000)) 2>/dev/null
fi
NOFILE=$(ulimit -n)

# wait_for SECONDS CMD...: until CMD succeeds (polls every 0.1 s).
wait_for() {
	local n=$(($1 * 10))
	shift
	for _ in $(seq 1 "$n"); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
# stat_svc NAME SERVICE KEY: a counter of a service of gateway NAME.
stat_svc() {
	"$CG" status -r -f "$T/$1.conf" 2>/dev/null | grep "^service=$2 " |
	    tr ' ' '\n' | sed -n "s/^$3=//p"
}
# hs_fails NAME SERVICE: the sum of the handshake failure counters.
hs_fails() {
	local s=0 k v
	for k in hs_bad_psk hs_unknown_identity hs_timeout hs_malformed \
	    hs_kdc_down hs_other; do
		v=$(stat_svc "$1" "$2" "$k")
		s=$((s + ${v:-0}))
	done
	echo "$s"
}
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
nlines() { wc -l <"$1" 2>/dev/null || echo 0; }
# start_echo NAME MODE: an echo helper server (log $T/NAME.log); sets
# EPORT.
start_echo() {
	"$ECHO" "$2" 0 ${3:+"$3"} >"$T/$1.port" 2>"$T/$1.err" &
	cleanup_pid $!
	EPORT=
	for _ in $(seq 1 50); do
		EPORT=$(head -1 "$T/$1.port" 2>/dev/null)
		[ -n "$EPORT" ] && return 0
		sleep 0.1
	done
	return 1
}
# ASan's quarantine makes RSS grow with every allocation: bounds there
# are looser (but still far below what unbounded buffering would take).
ASAN=false
ldd "$GW" 2>/dev/null | grep -q libasan && ASAN=true

# --- perl helpers (perl-base is part of every Debian system) -------------
# rstd LIMIT: accept connections on 127.0.0.1 (the port on stdout), echo
# up to LIMIT bytes of each, then reset it (SO_LINGER 0).
cat >"$T/rstd.pl" <<'EOF'
use strict; use warnings; use Socket; use IO::Socket::INET;
my $limit = shift;
my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
    Listen => 64, ReuseAddr => 1) or die "listen: $!";
$| = 1;
print $l->sockport, "\n";
while (my $c = $l->accept) {
	my ($n, $buf) = (0, '');
	while ($n < $limit) {
		my $r = sysread($c, $buf, 65536);
		last unless $r;
		defined(syswrite($c, $buf)) or last;
		$n += $r;
	}
	setsockopt($c, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
	close($c);
}
EOF
# hold PORT N FILE: N connections to 127.0.0.1:PORT, each sends FILE (may
# be empty) and then nothing.  Prints "open N"; on a line on stdin prints
# "closed M" (how many the server has closed) and exits.
cat >"$T/hold.pl" <<'EOF'
use strict; use warnings; use IO::Socket::INET; use IO::Select;
my ($port, $n, $file) = @ARGV;
open(my $f, '<', $file) or die "$file: $!";
binmode($f);
my $bytes = do { local $/; <$f> };
my @s;
for (1 .. $n) {
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
	    PeerPort => $port, Proto => 'tcp', Timeout => 10);
	if (!$s) { print "connect failed after ", scalar(@s), ": $!\n"; last }
	syswrite($s, $bytes) if length($bytes);
	push(@s, $s);
}
$| = 1;
print "open ", scalar(@s), "\n";
my $cmd = <STDIN>;
my $closed = 0;
for my $s (@s) {
	my $sel = IO::Select->new($s);
	next unless $sel->can_read(0);
	my $buf;
	my $r = sysread($s, $buf, 4096);
	# A TLS alert may come first; then EOF.
	$r = sysread($s, $buf, 4096) while defined($r) && $r > 0 &&
	    $sel->can_read(0.2);
	$closed++ if !defined($r) || $r == 0;
}
print "closed $closed\n";
EOF

# --- backends, keys, the server and client gateways ----------------------
start_echo backend serve "$T/backend.log" && BPORT=$EPORT &&
    start_echo rec serve "$T/rec.log" && RECPORT=$EPORT ||
    { fail "echo backends start"; done_testing; }
perl "$T/rstd.pl" 262144 >"$T/rstd.port" 2>"$T/rstd.err" &
cleanup_pid $!
wait_for 5 test -s "$T/rstd.port"
RSTPORT=$(head -1 "$T/rstd.port")
SRV=$(free_port) && SRVR=$(free_port) && SRVP=$(free_port) &&
    CLI=$(free_port) && CLIR=$(free_port) && CLIP=$(free_port) ||
    { fail "free ports"; done_testing; }

ID=kdc1-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
KEY=$(hexkey)
# The identity and key of the fuzz corpus' ClientHellos: their binders
# verify at the server gateway.
FID=kdc1-00112233445566778899aabbccddeeff
FKEY=$(printf '%02x' $(seq 0 31))
printf '%s:%s\n' "$ID" "$KEY" >"$T/key.cfg"
printf '%s:%s\n%s:%s\n' "$ID" "$KEY" "$FID" "$FKEY" >"$T/srvkeys.cfg"
chmod 600 "$T"/*.cfg

MAXC=$((NJUNK + 1000))
cat >"$T/srv.conf" <<EOF
[gateway]
workers = 2
status_socket = $T/srv.sock
max_connections = $MAXC
handshake_timeout = 8s
[service echo]
role = server
listen = 127.0.0.1:$SRV
backend = 127.0.0.1:$BPORT
key_file = srvkeys.cfg
[service rst]
role = server
listen = 127.0.0.1:$SRVR
backend = 127.0.0.1:$RSTPORT
key_file = srvkeys.cfg
[service rec]
role = server
listen = 127.0.0.1:$SRVP
backend = 127.0.0.1:$RECPORT
key_file = srvkeys.cfg
proxy_protocol = yes
EOF
cat >"$T/cli.conf" <<EOF
[gateway]
workers = 2
status_socket = $T/cli.sock
[service echo]
role = client
listen = 127.0.0.1:$CLI
connect = 127.0.0.1:$SRV
key_file = key.cfg
[service rst]
role = client
listen = 127.0.0.1:$CLIR
connect = 127.0.0.1:$SRVR
key_file = key.cfg
[service rec]
role = client
listen = 127.0.0.1:$CLIP
connect = 127.0.0.1:$SRVP
key_file = key.cfg
EOF
if [ -n "$RSTPORT" ] && gw_start srv "$SRV" && gw_start cli "$CLI"; then
	ok "gateways and backends start (descriptor limit $NOFILE)"
else
	fail "gateways start"
	show "$T/srv.log" "$T/cli.log" "$T/rstd.err"
	done_testing
fi

# --- 100 concurrent streams ----------------------------------------------
h0=$(stat_svc srv echo handshakes)
r0=$(($(stat_svc srv echo resets) + $(stat_svc cli echo resets)))
out=$(timeout 120 "$ECHO" multi "127.0.0.1:$CLI" 100 1000000)
rc=$?
h1=$(stat_svc srv echo handshakes)
r1=$(($(stat_svc srv echo resets) + $(stat_svc cli echo resets)))
if [ $rc -eq 0 ] && [ "$out" = "ok 100" ] && [ $((h1 - h0)) = 100 ] &&
    [ "$r1" = "$r0" ]; then
	ok "100 concurrent 1 MB streams: each echoed back byte for byte, 100 handshakes, no reset"
else
	fail "100 concurrent streams ($rc: $out; handshakes $h0 -> $h1, resets $r0 -> $r1)"
fi

# --- a backend that resets mid-stream ------------------------------------
head -c 20000000 /dev/urandom >"$T/data20"
rs0=$(stat_svc srv rst resets)
rc0=$(stat_svc cli rst resets)
out=$(timeout 60 "$ECHO" send "127.0.0.1:$CLIR" "$T/data20")
rc=$?
got=${out##*bytes=}
sleep 0.3
# (What the backend echoed may be lost with the reset: TCP drops what
# was not read yet.)
if [ $rc -eq 3 ] && [ "${got:-20000000}" -lt 20000000 ] &&
    [ "$(stat_svc srv rst resets)" -gt "$rs0" ] &&
    [ "$(stat_svc cli rst resets)" -gt "$rc0" ]; then
	ok "backend resets after 256 KB: the program gets a reset (after $got bytes), not an EOF; both gateways count it"
else
	fail "backend reset mid-stream (echo $rc: $out)"
	show "$T/srv.log" "$T/cli.log"
fi
out=$(timeout 30 "$ECHO" send "127.0.0.1:$CLI" "$T/data20")
if [ "$out" = "sha256=$(sha256sum <"$T/data20" | cut -c1-64) bytes=20000000" ]; then
	ok "after the reset: 20 MB through the gateways intact"
else
	fail "20 MB after the backend reset: $out"
fi

# --- programs that write and never read ----------------------------------
# Each stream goes program -> client gateway -> server gateway -> echo and
# back to the program, which never reads: once every socket buffer on the
# way is full (tens of MB per stream on loopback) everything must stall.
NSTALL=4
s_before=$(rss "$PID_srv")
c_before=$(rss "$PID_cli")
in0=$(stat_svc cli echo bytes_in)
stallers=()
for _ in $(seq $NSTALL); do
	(exec cat /dev/zero >"/dev/tcp/127.0.0.1/$CLI") 2>/dev/null &
	stallers+=($!)
	cleanup_pid $!
done
stalled() {
	local a b
	a=$(stat_svc cli echo bytes_in)
	sleep 1
	b=$(stat_svc cli echo bytes_in)
	[ "$a" = "$b" ] && [ "$b" -gt "$in0" ]
}
# (If the gateways buffered without bound, this would never happen.)
for _ in $(seq 40); do
	stalled && break
done
t_stall=$(stat_svc cli echo bytes_in)
s_stall=$(rss "$PID_srv")
c_stall=$(rss "$PID_cli")
s_max=$s_stall
c_max=$c_stall
for _ in $(seq 6); do
	s=$(rss "$PID_srv")
	c=$(rss "$PID_cli")
	[ "$s" -gt "$s_max" ] && s_max=$s
	[ "$c" -gt "$c_max" ] && c_max=$c
	sleep 0.5
done
b_last=$(stat_svc cli echo bytes_in)
act_c=$(stat_svc cli echo active)
moved=$((b_last - in0))
diag "$NSTALL writers that never read: $moved bytes in before the stall; RSS server $s_before -> $s_stall -> max $s_max KiB, client $c_before -> $c_stall -> max $c_max KiB"
# Per connection at most 2 buffers of buffer_size (64k) and the TLS
# buffers on each gateway: 1 MiB per stream is ample.  Under ASan freed
# memory sits in the quarantine (256 MB by default) while data flows.
lim=$((NSTALL * 1024))
$ASAN && lim=$((NSTALL * 1024 + 300 * 1024))
if [ "$t_stall" = "$b_last" ] && [ "$act_c" = $NSTALL ] &&
    [ "$moved" -gt $((NSTALL * 1000000)) ] &&
    [ $((s_max - s_stall)) -lt 1024 ] && [ $((c_max - c_stall)) -lt 1024 ] &&
    [ $((s_max - s_before)) -lt $lim ] && [ $((c_max - c_before)) -lt $lim ]; then
	ok "$NSTALL programs that write and never read: the streams stall after $((moved / 1000000)) MB, memory stays bounded"
else
	fail "writers that never read: $((b_last - t_stall)) bytes in after the stall; growth server $((s_max - s_before)), client $((c_max - c_before)) KiB (limit $lim)"
fi
kill "${stallers[@]}" 2>/dev/null
wait "${stallers[@]}" 2>/dev/null
freed() {
	[ "$(stat_svc cli echo active)" = 0 ] && [ "$(stat_svc srv echo active)" = 0 ]
}
if wait_for 10 freed; then
	ok "the programs go away: every connection is freed on both gateways"
else
	fail "stalled connections not freed (client $(stat_svc cli echo active), server $(stat_svc srv echo active) active)"
fi

# --- 5,000 handshakes that never finish; good clients are still served --
# backend_idle PORT: no connection to the backend on PORT is open (so that
# every one it had is in its log).
backend_idle() {
	[ -z "$(ss -Htn state established "( sport = :$1 or dport = :$1 )" 2>/dev/null)" ]
}
# junk_round WHAT FILE: NJUNK connections to the server gateway that send
# FILE (nothing, or half of a real ClientHello from openssl s_client whose
# record header promises more) and stop; meanwhile 3 + 20 good clients go
# through the client gateway to the same service; handshake_timeout (8 s)
# must close every junk connection, and the backend must see only the
# good ones.
junk_round() {
	local what=$1 file=$2 n0 to0 holder t0 t1 t2 act srss good out out2 \
	    closed act3 new
	wait_for 10 backend_idle "$BPORT"
	n0=$(nlines "$T/backend.log")
	to0=$(stat_svc srv echo hs_timeout)
	rm -f "$T/hold.in" "$T/hold.out"
	mkfifo "$T/hold.in"
	perl "$T/hold.pl" "$SRV" "$NJUNK" "$file" <"$T/hold.in" \
	    >"$T/hold.out" 2>&1 &
	holder=$!
	cleanup_pid "$holder"
	exec 6>"$T/hold.in"
	t0=$(date +%s)
	wait_for 60 grep -q '^open\|^connect failed' "$T/hold.out"
	t1=$(date +%s)
	act=$(stat_svc srv echo active)
	srss=$(rss "$PID_srv")
	diag "$what: $(head -1 "$T/hold.out") in $((t1 - t0)) s; server gateway: $act active, RSS $srss KiB"
	good=0
	for _ in 1 2 3; do
		out=$(timeout 10 "$ECHO" send "127.0.0.1:$CLI" "$T/half-hello")
		[ "${out##*bytes=}" = 150 ] && good=$((good + 1))
	done
	out2=$(timeout 20 "$ECHO" multi "127.0.0.1:$CLI" 20 100000)
	t2=$(date +%s)
	if grep -q "^open $NJUNK$" "$T/hold.out" && [ "${act:-0}" -ge "$NJUNK" ] &&
	    [ $good = 3 ] && [ "$out2" = "ok 20" ] && [ $((t2 - t1)) -lt 8 ]; then
		ok "$NJUNK $what connections: good clients still served (3 + 20 connections in $((t2 - t1)) s)"
	else
		fail "$NJUNK $what connections: $(head -1 "$T/hold.out"), $act active; good clients $good/3, multi '$out2' in $((t2 - t1)) s"
	fi
	timed_out() { [ "$(stat_svc srv echo hs_timeout)" -ge $((to0 + NJUNK)) ]; }
	wait_for 30 timed_out
	echo >&6
	exec 6>&-
	wait_for 30 grep -q '^closed' "$T/hold.out"
	closed=$(sed -n 's/^closed //p' "$T/hold.out")
	act3=$(stat_svc srv echo active)
	if timed_out && [ "$closed" = "$NJUNK" ] && [ "$act3" = 0 ]; then
		ok "$what: handshake_timeout closes all $NJUNK (counted as hs_timeout, closed on the client side)"
	else
		fail "$what: hs_timeout $to0 -> $(stat_svc srv echo hs_timeout), holder saw $closed closed, $act3 active"
	fi
	kill "$holder" 2>/dev/null
	wait "$holder" 2>/dev/null
	wait_for 10 backend_idle "$BPORT"
	new=$(tail -n "+$((n0 + 1))" "$T/backend.log" | grep -c .)
	if [ "$new" = 23 ]; then
		ok "$what: the backend saw only the 23 good connections, none of the $NJUNK"
	else
		fail "$what: $new backend connections (want 23)"
		tail -n "+$((n0 + 1))" "$T/backend.log" | sort | uniq -c |
		    head -5 | sed 's/^/#   /'
	fi
}
tail -c +2 "$CORPUS/ch-openssl" | head -c 150 >"$T/half-hello"
: >"$T/nothing"
if [ "$NOFILE" != unlimited ] && [ "$NOFILE" -lt $((2 * MAXC + 200)) ]; then
	skip "$NJUNK connections that never finish the handshake" \
	    "descriptor limit $NOFILE, the server gateway needs $((2 * MAXC + 200)) (raise the hard limit, or CG_NJUNK)"
else
	junk_round "silent" "$T/nothing"
	junk_round "half-ClientHello" "$T/half-hello"
fi

# --- never a byte to the backend before the handshake completes ----------
wait_for 10 backend_idle "$RECPORT"
n0=$(nlines "$T/rec.log")
f0=$(hs_fails srv rec)
# sendraw FILE: send FILE to the secured port, half-close, read the answer.
sendraw() { timeout 15 "$ECHO" sendonly "127.0.0.1:$SRVP" "$1" >/dev/null 2>&1; }
printf 'GET / HTTP/1.1\r\nHost: backend\r\n\r\n' >"$T/p-http"
tail -c +2 "$CORPUS/ch-openssl-tls12-psk" >"$T/p-tls12"
{ tail -c +2 "$CORPUS/ch-openssl-unknown-identity"
  printf 'GET /secret HTTP/1.0\r\n\r\n'; } >"$T/p-unknown"
# A ClientHello whose binder verifies (the corpus key is in srvkeys.cfg),
# then plaintext where the client's Finished should be.
{ tail -c +2 "$CORPUS/ch-tlspipe"
  printf 'GET /secret HTTP/1.0\r\n\r\n'; } >"$T/p-binder-ok"
{ tail -c +2 "$CORPUS/ch-tlspipe"
  printf '\x17\x03\x03\x00\x20'; head -c 32 /dev/urandom; } >"$T/p-binder-ok-appdata"
for p in http tls12 unknown; do
	sendraw "$T/p-$p"
done
bp0=$(stat_svc srv rec hs_bad_psk)
tail -c +2 "$CORPUS/ch-tlspipe" >"$T/p-binder-ok-eof"
sendraw "$T/p-binder-ok"
sendraw "$T/p-binder-ok-appdata"
sendraw "$T/p-binder-ok-eof"
fails_at_least() { [ "$(hs_fails srv rec)" -ge "$1" ]; }
wait_for 5 fails_at_least $((f0 + 6))
bp1=$(stat_svc srv rec hs_bad_psk)
nsent=6
if command -v openssl >/dev/null; then
	printf 'plain line\n' | timeout 15 openssl s_client -connect \
	    "127.0.0.1:$SRVP" -tls1_3 -psk "$(hexkey)" -psk_identity "$ID" \
	    -nocommands >"$T/p-wrongkey.out" 2>&1
	nsent=$((nsent + 1))
fi
wait_for 10 fails_at_least $((f0 + nsent))
sleep 0.5
f1=$(hs_fails srv rec)
conns=$(ss -Htn state established "dport = :$RECPORT" 2>/dev/null | grep -c .)
if [ "$(nlines "$T/rec.log")" = "$n0" ] && [ "$conns" = 0 ] &&
    [ $((f1 - f0)) -ge $nsent ]; then
	ok "HTTP, a TLS 1.2 hello, unknown identity + plaintext, verified binder + plaintext or EOF, wrong key: $((f1 - f0)) handshakes failed, 0 bytes and 0 connections to the backend"
else
	fail "bytes to the backend before a handshake: $(($(nlines "$T/rec.log") - n0)) backend connections, $conns open, $((f1 - f0))/$nsent failures counted"
	tail -n "+$((n0 + 1))" "$T/rec.log" | head -5 | sed 's/^/#   /'
fi
# The key matched in the three hellos whose binder verified: what failed
# is the rest of the handshake (garbage, or the client went away), not
# the key; hs_bad_psk is documented as "the key did not match".
if [ "$bp1" = "$bp0" ]; then
	ok "a verified binder followed by garbage or EOF is not counted as hs_bad_psk (the key matched)"
else
	fail "a verified binder followed by garbage or EOF counted as hs_bad_psk ($bp0 -> $bp1): the key matched"
	grep 'TLS handshake failed' "$T/srv.log" | tail -6 | sed 's/^/#   /'
fi
# A good client then: its connection is the next one the backend sees;
# the echo carries the PROXY v2 header (28 bytes for IPv4) back.
out=$(timeout 10 "$ECHO" send "127.0.0.1:$CLIP" "$T/p-http")
sleep 0.3
if [ "${out##*bytes=}" = $(($(stat -c %s "$T/p-http") + 28)) ] &&
    [ "$(nlines "$T/rec.log")" = $((n0 + 1)) ] &&
    tail -1 "$T/rec.log" | grep -q 'first=0d0a0d0a$'; then
	ok "then a good client: the backend's next connection, PROXY header first"
else
	fail "good client after the refused ones ($out)"
fi

for f in srv cli; do
	if grep -qE 'Sanitizer|runtime error' "$T/$f.log"; then
		fail "sanitizer report in the $f gateway log"
		grep -E -A5 'Sanitizer|runtime error' "$T/$f.log" | head -20 |
		    sed 's/^/#   /'
	fi
done

# --- KDC-backed: a key used from another client address -------------------
if [ ! -x "$CG_KDCD" ] || ! command -v socat >/dev/null; then
	skip "stolen key from another client address" \
	    "cryptgate-kdcd not built or socat not installed"
	done_testing
fi
gw_kdc_setup
KS=$(free_port) && L1=$(free_port) && L2=$(free_port) &&
    RELAY=$(free_port) || { fail "free ports"; done_testing; }
"$CG" request -f "$T/alice/alice.conf" --peer bob --service web \
    --client-addr 127.0.0.1 -o "$T/alice.cfg" >"$T/request.out" 2>&1 ||
    setup_ok=false
# The relay makes connections come from 127.0.0.2 (another host, for bob).
socat "TCP-LISTEN:$RELAY,bind=127.0.0.1,reuseaddr,fork" \
    "TCP:127.0.0.1:$KS,bind=127.0.0.2" 2>"$T/relay.err" &
cleanup_pid $!
cat >"$T/bob.conf" <<EOF
[gateway]
host_config = bob/bob.conf
workers = 2
key_cache_ttl = 60s
status_socket = $T/bob.sock
[service web]
role = server
listen = 127.0.0.1:$KS
backend = 127.0.0.1:$BPORT
peer = $ALICE
EOF
# alice's key used by alice (legit) and by a program elsewhere (moved).
cat >"$T/alice.conf" <<EOF
[gateway]
workers = 1
status_socket = $T/alice.sock
[service legit]
role = client
listen = 127.0.0.1:$L1
connect = 127.0.0.1:$KS
key_file = alice.cfg
[service moved]
role = client
listen = 127.0.0.1:$L2
connect = 127.0.0.1:$RELAY
key_file = alice.cfg
EOF
chmod 600 "$T/alice.cfg" 2>/dev/null
if ! $setup_ok || ! gw_start bob "$KS" || ! gw_start alice "$L1"; then
	fail "KDC, alice's key (bound to 127.0.0.1), gateways"
	show "$K/init.out" "$K/kdcd.log" "$T/request.out" "$T/bob.log" \
	    "$T/alice.log"
	done_testing
fi
ok "KDC, alice's key (bound to 127.0.0.1), gateways and a relay from 127.0.0.2"

printf 'hello' >"$T/five"
# try SERVICE-PORT: send five bytes; "ok" if they came back, else the rc.
try() {
	local out rc
	out=$(timeout 15 "$ECHO" send "127.0.0.1:$1" "$T/five")
	rc=$?
	if [ $rc -eq 0 ] && [ "${out##*bytes=}" = 5 ]; then
		echo ok
	else
		echo "rc $rc ${out##*bytes=} bytes"
	fi
}
n0=$(nlines "$T/backend.log")
u0=$(stat_svc bob web hs_unknown_identity)
r1=$(try "$L2")
u1=$(stat_svc bob web hs_unknown_identity)
r2=$(try "$L1")
if [ "$r1" = "rc 3 0 bytes" ] && [ "$u1" = $((u0 + 1)) ] && [ "$r2" = ok ]; then
	ok "alice's key from 127.0.0.2 (not cached yet): the KDC refuses it; alice herself is served right after"
else
	fail "stolen key before caching: from 127.0.0.2 '$r1' (unknown $u0 -> $u1), alice '$r2'"
	show "$T/bob.log"
fi
u0=$(stat_svc bob web hs_unknown_identity)
r1=$(try "$L2")
u1=$(stat_svc bob web hs_unknown_identity)
r2=$(try "$L1")
if [ "$r1" = "rc 3 0 bytes" ] && [ "$u1" = $((u0 + 1)) ] && [ "$r2" = ok ] &&
    grep -q "refusing identity kdc1-.* from 127.0.0.2.*bound to another client address" "$T/bob.log"; then
	ok "alice's key from 127.0.0.2 while cached for 127.0.0.1: refused from the cache; alice still served"
else
	fail "stolen key while cached: from 127.0.0.2 '$r1' (unknown $u0 -> $u1), alice '$r2'"
	show "$T/bob.log"
fi
sleep 0.3
if [ "$(tail -n "+$((n0 + 1))" "$T/backend.log" | grep -c .)" = 2 ]; then
	ok "the backend saw alice's two connections only"
else
	fail "backend connections: $(tail -n "+$((n0 + 1))" "$T/backend.log" | grep -c .) (want 2)"
fi
for f in bob alice; do
	if grep -qE 'Sanitizer|runtime error' "$T/$f.log"; then
		fail "sanitizer report in the $f gateway log"
		grep -E -A5 'Sanitizer|runtime error' "$T/$f.log" | head -20 |
		    sed 's/^/#   /'
	fi
done

done_testing
