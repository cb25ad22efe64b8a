#!/usr/bin/env bash
# 52-gateway-interop: cryptgate-gatewayd (the real daemon) against other
# TLS 1.3 external-PSK stacks, with a key issued by our KDC and written to
# key.cfg by `cryptgate request`:
#   openssl s_client -psk  -> our server gateway (KDC-backed) -> echo
#   program -> our client gateway (key_file) -> openssl s_server -psk
#   program -> stunnel client (PSKsecrets = key.cfg) -> our server gateway
#   program -> our client gateway -> stunnel server (PSKsecrets = key.cfg)
#            -> echo
# Each: data both ways (sha256 of a few MB where the peer allows it; a
# marker exchange with the interactive s_client), a clean close (the
# program sees EOF, not a reset; the gateway logs "closed ... (end)"), and
# psk_dhe_ke: our side asserts it at TLS_OK (its "handshake done" debug
# line), s_client shows "Reused, TLSv1.3" and "Server Temp Key: X25519",
# s_server's trace a ServerHello with pre_shared_key and an x25519
# key_share, stunnel "TLS 1.3" with a reused (PSK) session and a temporary
# key.  A peer whose binary is missing is skipped with the reason.
# CG_KEEP=DIR keeps a copy of the test directory (logs) in DIR.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gw-lib.sh"

T=$TMPDIR_T
[ -n "${CG_KEEP:-}" ] && cleanup_cmd "rm -rf $CG_KEEP; cp -r $T $CG_KEEP"
ECHO=$BUILD/tests/helpers/echo
GW=$CG_GATEWAYD
GW_VERBOSE="-v -v"
STUNNEL=$(command -v stunnel4 || command -v stunnel || true)
HAVE_OPENSSL=$(command -v openssl || true)
HAVE_SOCAT=$(command -v socat || true)

if [ ! -x "$GW" ]; then
	skip "gateway interop" "cryptgate-gatewayd not built"
	done_testing
fi
if [ ! -x "$ECHO" ] || [ ! -x "$CG" ] || ! command -v ss >/dev/null; then
	fail "$ECHO, $CG and ss (iproute2) are needed"
	done_testing
fi

# wait_port PORT: until something listens on PORT (5 s).
wait_port() {
	for _ in $(seq 1 50); do
		[ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ] && return 0
		sleep 0.1
	done
	return 1
}
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
# lines_after FILE N: FILE from line N+1 on (what a step added to a log).
lines_after() { tail -n "+$(($2 + 1))" "$1" 2>/dev/null; }
nlines() { wc -l <"$1" 2>/dev/null || echo 0; }
# hexlines FILE: the 64-hex-digit data lines (peers print others around).
hexlines() { grep -E '^[0-9a-f]{64}$' "$1"; }

# --- the KDC, hosts alice (client side) and bob (server side) ------------
if [ ! -x "$CG_KDCD" ]; then
	skip "gateway interop" "cryptgate-kdcd not built"
	done_testing
fi
gw_kdc_setup
# The key: alice asks for one with bob for "web", as stunnel users do.
"$CG" request -f "$T/alice/alice.conf" --peer bob --service web \
    --client-addr 127.0.0.1 -o "$T/key.cfg" >"$T/request.out" 2>&1 ||
    setup_ok=false
LINE=$(head -1 "$T/key.cfg" 2>/dev/null)
ID=${LINE%%:*}
KEY=${LINE#*:}
if ! $setup_ok || ! [[ $ID =~ ^kdc1-[0-9a-f]{32}$ ]] ||
    ! [[ $KEY =~ ^[0-9a-f]{64}$ ]] ||
    [ "$(stat -c %a "$T/key.cfg")" != 600 ]; then
	fail "KDC, hosts alice and bob, key.cfg from cryptgate request"
	show "$K/init.out" "$K/kdcd.log" "$T/request.out"
	done_testing
fi
ok "KDC up; cryptgate request wrote key.cfg ($ID, mode 0600)"

# --- the echo backend and bob's server gateway ---------------------------
"$ECHO" serve 0 "$T/backend.log" >"$T/echo.port" 2>"$T/echo.err" &
cleanup_pid $!
wait_for 5 test -s "$T/echo.port"
BPORT=$(head -1 "$T/echo.port")
SRV=$(free_port) || { fail "free port"; done_testing; }
cat >"$T/bob.conf" <<EOF
[gateway]
host_config = bob/bob.conf
workers = 2
status_socket = $T/bob.sock
[service web]
role = server
listen = 127.0.0.1:$SRV
backend = 127.0.0.1:$BPORT
peer = $ALICE
EOF
if [ -z "$BPORT" ] || ! gw_start bob "$SRV"; then
	fail "echo backend and the server gateway (KDC-backed) start"
	show "$T/echo.err" "$T/bob.log"
	done_testing
fi
ok "echo backend and the server gateway (KDC-backed) start"

# mkhex BYTES FILE: BYTES random bytes as lines of 64 hex digits.
mkhex() {
	head -c "$1" /dev/urandom | od -An -tx1 -v | tr -d ' \n' |
	    fold -w 64 >"$2"
	echo >>"$2"
}
# About 4 MB of hex lines up, 2 MB down (where the peer sends a file).
# down.txt is in upper case: s_server takes a read from its stdin that
# starts with "c\n" (a line's last digit) as a command and drops it.
mkhex 2000000 "$T/up.txt"
mkhex 1000000 "$T/down.txt"
tr a-f A-F <"$T/down.txt" >"$T/down.tmp" && mv "$T/down.tmp" "$T/down.txt"
UPSUM=$(sha256sum <"$T/up.txt" | cut -c1-64)
UPLEN=$(stat -c %s "$T/up.txt")
DOWNSUM=$(sha256sum <"$T/down.txt" | cut -c1-64)
DOWNLEN=$(stat -c %s "$T/down.txt")
diag "up.txt $UPLEN bytes, down.txt $DOWNLEN bytes"

# hs_done NAME N: gateway NAME logged a "handshake done" line (TLS_OK,
# psk_dhe_ke asserted by tls.c) after line N of its log; $2 "identity":
# the server form with the identity.
hs_done() {
	lines_after "$T/$1.log" "$2" | grep -q "$3"
}
# closed_clean NAME N: after line N, a connection that ended cleanly
# ("closed ... (end)") and none reset.
closed_clean() {
	local new
	new=$(lines_after "$T/$1.log" "$2")
	printf '%s\n' "$new" | grep -q '\] closed after .* (end)' &&
	    ! printf '%s\n' "$new" | grep -q '\] reset after'
}

# --- 1. openssl s_client -psk -> our server gateway ---------------------
if [ -z "$HAVE_OPENSSL" ]; then
	skip "openssl s_client -> our server gateway" "openssl not installed"
else
	n0=$(nlines "$T/bob.log")
	b0=$(nlines "$T/backend.log")
	rm -f "$T/sc.fifo"
	mkfifo "$T/sc.fifo"
	# Interactive: lines go up through the FIFO; the FIFO's EOF makes
	# s_client send close_notify (its stdin-EOF behaviour without
	# -ign_eof), after the echoed lines came back.
	timeout 30 openssl s_client -connect "127.0.0.1:$SRV" -tls1_3 \
	    -psk "$KEY" -psk_identity "$ID" -nocommands \
	    <"$T/sc.fifo" >"$T/sc.out" 2>"$T/sc.err" &
	scpid=$!
	cleanup_pid "$scpid"
	exec 8>"$T/sc.fifo"
	: >"$T/markers"
	for i in $(seq 20); do
		echo "marker $i $(openssl rand -hex 16)" >>"$T/markers"
	done
	cat "$T/markers" >&8
	# every marker echoed back by the backend, through both directions
	echoed() { [ "$(grep -c '^marker ' "$T/sc.out")" -ge 20 ]; }
	wait_for 15 echoed
	exec 8>&-
	wait "$scpid"
	rc=$?
	wait_for 5 closed_clean bob "$n0"
	mlen=$(stat -c %s "$T/markers")
	if [ $rc -eq 0 ] && grep '^marker ' "$T/sc.out" | cmp -s - "$T/markers" &&
	    lines_after "$T/backend.log" "$b0" | grep -q "^conn bytes=$mlen " &&
	    closed_clean bob "$n0"; then
		ok "openssl s_client -psk -> server gateway -> echo: markers both ways, clean close"
	else
		fail "openssl s_client -> server gateway (s_client $rc)"
		show "$T/sc.out" "$T/sc.err" "$T/bob.log" "$T/backend.log"
	fi
	if grep -q '^Reused, TLSv1.3, Cipher is TLS_AES_128_GCM_SHA256' "$T/sc.out" &&
	    grep -q '^Server Temp Key: X25519' "$T/sc.out" &&
	    hs_done bob "$n0" "handshake done, identity $ID, TLS_AES_128_GCM_SHA256"; then
		ok "openssl s_client -> server gateway: PSK reused, X25519 share (psk_dhe_ke both sides)"
	else
		fail "openssl s_client -> server gateway: psk_dhe_ke not shown"
		show "$T/sc.out" "$T/bob.log"
	fi

	# -allow_no_dhe_kex offers psk_ke too: the gateway still takes
	# psk_dhe_ke (a bare-PSK session would be refused by tls.c).
	n0=$(nlines "$T/bob.log")
	printf 'marker dhe\n' | timeout 20 openssl s_client \
	    -connect "127.0.0.1:$SRV" -tls1_3 -psk "$KEY" -psk_identity "$ID" \
	    -nocommands -allow_no_dhe_kex >"$T/sc2.out" 2>&1
	rc=$?
	if [ $rc -eq 0 ] && grep -q '^Server Temp Key: X25519' "$T/sc2.out" &&
	    grep -q '^Reused, TLSv1.3' "$T/sc2.out" &&
	    wait_for 3 hs_done bob "$n0" "handshake done, identity $ID"; then
		ok "openssl s_client -allow_no_dhe_kex -> server gateway: psk_dhe_ke chosen"
	else
		fail "s_client -allow_no_dhe_kex -> server gateway (s_client $rc)"
		show "$T/sc2.out" "$T/bob.log"
	fi
fi

# --- 2. our client gateway -> openssl s_server -psk ----------------------
SSPORT=$(free_port) && STSPORT=$(free_port) && CLI=$(free_port) &&
    CLI2=$(free_port) || { fail "free ports"; done_testing; }
cat >"$T/alice.conf" <<EOF
[gateway]
workers = 2
status_socket = $T/alice.sock
[service sserver]
role = client
listen = 127.0.0.1:$CLI
connect = 127.0.0.1:$SSPORT
key_file = key.cfg
[service stunnel]
role = client
listen = 127.0.0.1:$CLI2
connect = 127.0.0.1:$STSPORT
key_file = key.cfg
EOF
if ! gw_start alice "$CLI"; then
	fail "client gateway (key_file = key.cfg from cryptgate request) starts"
	show "$T/alice.log"
	done_testing
fi
ok "client gateway (key_file = key.cfg from cryptgate request) starts"

if [ -z "$HAVE_OPENSSL" ] || [ -z "$HAVE_SOCAT" ]; then
	skip "client gateway -> openssl s_server" "openssl or socat not installed"
else
	n0=$(nlines "$T/alice.log")
	rm -f "$T/ss.fifo" "$T/prog.fifo"
	mkfifo "$T/ss.fifo" "$T/prog.fifo"
	# s_server sends down.txt from its stdin, a FIFO held open: at stdin
	# EOF it would close without close_notify.  -trace shows its
	# ServerHello (in ss.msg, away from the data).
	timeout 60 openssl s_server -accept "127.0.0.1:$SSPORT" -naccept 1 \
	    -tls1_3 -nocert -psk "$KEY" -psk_identity "$ID" \
	    -trace -msgfile "$T/ss.msg" <"$T/ss.fifo" >"$T/ss.out" 2>&1 &
	sspid=$!
	cleanup_pid "$sspid"
	exec 9>"$T/ss.fifo"
	wait_port "$SSPORT" || diag "s_server not listening on $SSPORT"
	# The program: socat, stdin a FIFO so that it half-closes only
	# once all of down.txt came back (s_server stops at our EOF).
	timeout 60 socat -t 20 - "TCP:127.0.0.1:$CLI" <"$T/prog.fifo" \
	    >"$T/prog.out" 2>"$T/prog.err" &
	prog=$!
	cleanup_pid "$prog"
	exec 7>"$T/prog.fifo"
	cat "$T/down.txt" >&9 &
	feeder=$!
	cleanup_pid "$feeder"
	cat "$T/up.txt" >&7
	got_down() { [ "$(stat -c %s "$T/prog.out")" -ge "$DOWNLEN" ]; }
	got_up() { [ "$(hexlines "$T/ss.out" | wc -c)" -ge "$UPLEN" ]; }
	wait_for 30 got_down
	wait_for 30 got_up
	exec 7>&-
	wait "$prog"
	rc=$?
	wait "$feeder"
	wait "$sspid"
	exec 9>&-
	wait_for 5 closed_clean alice "$n0"
	if [ $rc -eq 0 ] &&
	    [ "$(sha256sum <"$T/prog.out" | cut -c1-64)" = "$DOWNSUM" ] &&
	    [ "$(hexlines "$T/ss.out" | sha256sum | cut -c1-64)" = "$UPSUM" ] &&
	    grep -q '^DONE' "$T/ss.out" && closed_clean alice "$n0"; then
		ok "client gateway -> openssl s_server -psk: sha256 of 4 MB up and 2 MB down, clean close"
	else
		fail "client gateway -> openssl s_server (socat $rc)"
		show "$T/prog.err" "$T/ss.out" "$T/alice.log"
	fi
	# The ServerHello: pre_shared_key (selected identity 0) and an
	# x25519 key_share, no certificate; both close_notify alerts.
	sh=$(sed -n '/ServerHello, Length/,/Sent Record/p' "$T/ss.msg")
	if printf '%s\n' "$sh" | grep -q 'extension_type=psk(41)' &&
	    printf '%s\n' "$sh" | grep -q 'extension_type=key_share(51)' &&
	    printf '%s\n' "$sh" | grep -q 'NamedGroup: ecdh_x25519' &&
	    ! grep -q ' Certificate, Length' "$T/ss.msg" &&
	    [ "$(grep -c 'description=close notify' "$T/ss.msg")" = 2 ] &&
	    hs_done alice "$n0" "handshake done, TLS_AES_128_GCM_SHA256"; then
		ok "client gateway -> openssl s_server: ServerHello with psk + x25519 key_share (psk_dhe_ke), close_notify both ways"
	else
		fail "client gateway -> openssl s_server: psk_dhe_ke not shown"
		show "$T/ss.msg" "$T/alice.log"
	fi
fi

# --- 3. stunnel client -> our server gateway -----------------------------
if [ -z "$STUNNEL" ]; then
	skip "stunnel client -> our server gateway" "stunnel4 not installed"
else
	STC=$(free_port) || { fail "free port"; done_testing; }
	cat >"$T/stc.conf" <<EOF
foreground = yes
pid =
debug = 7
[c]
client = yes
accept = 127.0.0.1:$STC
connect = 127.0.0.1:$SRV
PSKsecrets = $T/key.cfg
PSKidentity = $ID
sslVersionMin = TLSv1.3
EOF
	"$STUNNEL" "$T/stc.conf" >"$T/stc.log" 2>&1 &
	stpid=$!
	cleanup_pid "$stpid"
	wait_port "$STC"
	n0=$(nlines "$T/bob.log")
	h0=$(stat_svc bob web handshakes)
	out=$(timeout 60 "$ECHO" send "127.0.0.1:$STC" "$T/up.txt")
	rc=$?
	wait_for 5 closed_clean bob "$n0"
	if [ $rc -eq 0 ] && [ "$out" = "sha256=$UPSUM bytes=$UPLEN" ] &&
	    closed_clean bob "$n0"; then
		ok "stunnel client (PSKsecrets = key.cfg) -> server gateway -> echo: sha256 of 4 MB both ways, clean close"
	else
		fail "stunnel client -> server gateway (echo $rc: $out)"
		show "$T/stc.log" "$T/bob.log"
	fi
	# (stunnel logs an alert just after it is sent: wait for the lines)
	stc_evidence() {
		grep -q 'TLS connected: previous session reused' "$T/stc.log" &&
		    grep -q 'TLSv1.3 ciphersuite: TLS_AES_128_GCM_SHA256' "$T/stc.log" &&
		    grep -q 'Peer temporary key: X25519' "$T/stc.log" &&
		    grep -q 'TLS alert (read): warning: close notify' "$T/stc.log" &&
		    grep -q 'TLS alert (write): warning: close notify' "$T/stc.log"
	}
	if [ "$(stat_svc bob web handshakes)" = $((h0 + 1)) ] &&
	    hs_done bob "$n0" "handshake done, identity $ID" &&
	    wait_for 5 stc_evidence; then
		ok "stunnel client -> server gateway: PSK session, X25519 share (psk_dhe_ke both sides), close_notify both ways"
	else
		fail "stunnel client -> server gateway: handshake evidence"
		show "$T/stc.log"
	fi
	kill "$stpid" 2>/dev/null
fi

# --- 4. our client gateway -> stunnel server -> echo ---------------------
if [ -z "$STUNNEL" ]; then
	skip "our client gateway -> stunnel server" "stunnel4 not installed"
else
	cat >"$T/sts.conf" <<EOF
foreground = yes
pid =
debug = 7
[s]
accept = 127.0.0.1:$STSPORT
connect = 127.0.0.1:$BPORT
PSKsecrets = $T/key.cfg
sslVersionMin = TLSv1.3
EOF
	"$STUNNEL" "$T/sts.conf" >"$T/sts.log" 2>&1 &
	stpid=$!
	cleanup_pid "$stpid"
	wait_port "$STSPORT"
	n0=$(nlines "$T/alice.log")
	# sendwait: the program half-closes only once its echo is back.
	# stunnel ends the whole connection when its backend closes (HUP),
	# even with echo bytes still to relay: with "send" the echo server's
	# FIN, soon after our close_notify, cut the last few hundred KB once.
	out=$(timeout 60 "$ECHO" sendwait "127.0.0.1:$CLI2" "$T/up.txt")
	rc=$?
	wait_for 5 closed_clean alice "$n0"
	if [ $rc -eq 0 ] && [ "$out" = "sha256=$UPSUM bytes=$UPLEN" ] &&
	    closed_clean alice "$n0"; then
		ok "client gateway -> stunnel server (PSKsecrets = key.cfg, no certificate) -> echo: sha256 of 4 MB both ways, clean close"
	else
		fail "client gateway -> stunnel server (echo $rc: $out)"
		show "$T/sts.log" "$T/alice.log"
	fi
	sts_evidence() {
		grep -q "Key configured for PSK identity \"$ID\"" "$T/sts.log" &&
		    grep -q ' 1 session reuse(s)' "$T/sts.log" &&
		    grep -q 'TLSv1.3 ciphersuite: TLS_AES_128_GCM_SHA256' "$T/sts.log" &&
		    grep -q 'Peer temporary key: X25519' "$T/sts.log" &&
		    grep -q 'TLS alert (read): warning: close notify' "$T/sts.log" &&
		    grep -q 'TLS alert (write): warning: close notify' "$T/sts.log"
	}
	if hs_done alice "$n0" "handshake done, TLS_AES_128_GCM_SHA256" &&
	    wait_for 5 sts_evidence; then
		ok "client gateway -> stunnel server: PSK session, X25519 share (psk_dhe_ke both sides), close_notify both ways"
	else
		fail "client gateway -> stunnel server: handshake evidence"
		show "$T/sts.log"
	fi
	kill "$stpid" 2>/dev/null
fi

for f in bob alice; do
	if grep -qE 'Sanitizer|runtime error' "$T/$f.log"; then
		fail "sanitizer report in the $f gateway log"
		grep -E -A5 'Sanitizer|runtime error' "$T/$f.log" | head -20 |
		    sed 's/^/#   /'
	fi
done
done_testing
