#!/usr/bin/env bash
# 51-gateway: cryptgate-gatewayd end to end on loopback: a server gateway
# and a client gateway in front of an echo backend (tests/helpers/echo).
# Part 1, KDC-less (key.cfg written by hand): sha256 of 20 MB both ways,
# half-close, 50 concurrent streams, plain bytes and HTTP to the secured
# port refused with the backend never seeing a byte, wrong key, unknown
# identity, backend refused, connection limits, back-pressure (bounded
# memory), a server gateway killed mid-stream (the client program sees a
# reset, not a clean end), SIGHUP (live connection kept, new key used,
# broken config refused), cryptgate status, SIGTERM drain.  Part 2, with
# a KDC: keys by REQUEST/RETRIEVE, one REQUEST per key lifetime, the key
# cache, a revoked key refused after the cache TTL, KDC down (cached keys
# work, unknown identities refused with a clear log line).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gw-lib.sh"

T=$TMPDIR_T
ECHO=$BUILD/tests/helpers/echo
GW=$CG_GATEWAYD

if [ ! -x "$GW" ]; then
	skip "gateway end to end" "cryptgate-gatewayd not built"
	done_testing
fi
if [ ! -x "$ECHO" ] || [ ! -x "$CG" ] || ! command -v ss >/dev/null; then
	fail "$ECHO, $CG and ss (iproute2) are needed"
	done_testing
fi


# start_echo MODE: an echo helper server; sets EPID, EPORT.
start_echo() {
	"$ECHO" "$1" 0 ${2:+"$2"} >"$T/echo-$1.port" 2>"$T/echo-$1.err" &
	EPID=$!
	cleanup_pid "$EPID"
	for _ in $(seq 1 50); do
		EPORT=$(head -1 "$T/echo-$1.port" 2>/dev/null)
		[ -n "$EPORT" ] && return 0
		sleep 0.1
	done
	return 1
}



# stat NAME KEY: the counter KEY of the first service of gateway NAME.
stat() {
	"$CG" status -r -f "$T/$1.conf" 2>/dev/null | grep '^service=' | head -1 |
	    tr ' ' '\n' | sed -n "s/^$2=//p"
}

# stat_svc NAME SERVICE KEY
stat_svc() {
	"$CG" status -r -f "$T/$1.conf" 2>/dev/null | grep "^service=$2 " |
	    tr ' ' '\n' | sed -n "s/^$3=//p"
}

# backend_conns: connections the echo backend has seen (its log).
backend_conns() { wc -l <"$T/backend.log" 2>/dev/null || echo 0; }

# rss PID: resident memory in KiB.
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }

hexid() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# --- part 1: KDC-less ----------------------------------------------------
if ! start_echo serve "$T/backend.log"; then
	fail "echo backend starts"
	done_testing
fi
BPORT=$EPORT
start_echo count && CPORT=$EPORT
start_echo source && SPORT=$EPORT
SRV=$(free_port) && CLI=$(free_port) && CLI2=$(free_port) &&
    CLI3=$(free_port) && SRV2=$(free_port) && SRV3=$(free_port) ||
    { fail "free ports"; done_testing; }
ID=kdc1-$(hexid)
KEY=$(hexkey)
printf '%s:%s\n' "$ID" "$KEY" >"$T/key.cfg"
printf 'other-id:%s\n%s:%s\n' "$(hexkey)" "$ID" "$KEY" >"$T/srvkeys.cfg"
printf '%s:%s\n' "$ID" "$(hexkey)" >"$T/wrong.cfg"
printf 'kdc1-%s:%s\n' "$(hexid)" "$KEY" >"$T/unknown.cfg"
chmod 600 "$T"/*.cfg

cat >"$T/srv.conf" <<EOF
[gateway]
workers = 2
status_socket = $T/srv.sock
drain_timeout = 10s
[service echo]
role = server
listen = 127.0.0.1:$SRV
backend = 127.0.0.1:$BPORT
key_file = srvkeys.cfg
[service count]
role = server
listen = 127.0.0.1:$SRV2
backend = 127.0.0.1:$CPORT
key_file = srvkeys.cfg
max_connections_per_client = 3
[service source]
role = server
listen = 127.0.0.1:$SRV3
backend = 127.0.0.1:$SPORT
key_file = srvkeys.cfg
EOF
cat >"$T/cli.conf" <<EOF
[gateway]
workers = 2
status_socket = $T/cli.sock
buffer_size = 64k
[service echo]
role = client
listen = 127.0.0.1:$CLI
connect = 127.0.0.1:$SRV
key_file = key.cfg
[service count]
role = client
listen = 127.0.0.1:$CLI2
connect = 127.0.0.1:$SRV2
key_file = key.cfg
[service source]
role = client
listen = 127.0.0.1:$CLI3
connect = 127.0.0.1:$SRV3
key_file = key.cfg
EOF
out=$("$GW" -n -f "$T/srv.conf" 2>&1)
if [ $? -eq 0 ] && printf '%s' "$out" | grep -q 'configuration OK'; then
	ok "gatewayd -n: configuration OK"
else
	fail "gatewayd -n"
	printf '%s\n' "$out" | sed 's/^/#   /'
fi
printf '[gateway]\n[service x]\nrole = client\nlisten = 127.0.0.1:1\n' \
    >"$T/bad.conf"
check_fails "gatewayd -n refuses a client service without connect" \
    "$GW" -n -f "$T/bad.conf"

if gw_start srv "$SRV" && gw_start cli "$CLI"; then
	ok "server and client gateways start"
else
	fail "gateways start"
	sed 's/^/#   /' "$T/srv.log" "$T/cli.log" | head -20
	done_testing
fi
out=$("$GW" -d -f "$T/srv.conf" 2>&1)
if [ $? -ne 0 ] && printf '%s' "$out" | grep -q 'in use'; then
	ok "a second gateway on the same ports refuses to start"
else
	fail "a second gateway on the same ports"
	printf '%s\n' "$out" | head -3 | sed 's/^/#   /'
fi

# 20 MB both ways, checked.
head -c 20000000 /dev/urandom >"$T/data"
want=$(sha256sum "$T/data" | cut -c1-64)
out=$("$ECHO" send "127.0.0.1:$CLI" "$T/data")
if [ $? -eq 0 ] && [ "$out" = "sha256=$want bytes=20000000" ]; then
	ok "20 MB through both gateways and back, sha256 equal"
else
	fail "20 MB round trip: $out"
fi

# Half-close: the backend answers only after our EOF reached it.
printf 'hello' >"$T/five"
out=$("$ECHO" send "127.0.0.1:$CLI2" "$T/five")
want=$(printf 'bytes=5\n' | sha256sum | cut -c1-64)
if [ "$out" = "sha256=$want bytes=8" ]; then
	ok "half-close carried: EOF reaches the backend, its answer comes back"
else
	fail "half-close: $out"
fi

out=$("$ECHO" multi "127.0.0.1:$CLI" 50 1000000)
if [ $? -eq 0 ] && [ "$out" = "ok 50" ]; then
	ok "50 concurrent streams of 1 MB, each echoed intact"
else
	fail "50 concurrent streams: $out"
fi

# Plain bytes and HTTP to the secured port.
n0=$(backend_conns)
printf 'GET / HTTP/1.0\r\nHost: x\r\n\r\n' >"$T/http"
head -c 4000 /dev/urandom >"$T/junk"
r1=$("$ECHO" sendonly "127.0.0.1:$SRV" "$T/http")
r2=$("$ECHO" sendonly "127.0.0.1:$SRV" "$T/junk")
sleep 0.3
# (at most a TLS alert, 7 bytes, comes back)
if [ "${r1#read=}" -le 7 ] && [ "${r2#read=}" -le 7 ] &&
    [ "$(backend_conns)" = "$n0" ] &&
    [ "$(stat srv hs_malformed)" -ge 2 ]; then
	ok "HTTP and random bytes to the secured port: refused, nothing reaches the backend"
else
	fail "plain bytes refused ($r1, $r2, backend $n0 -> $(backend_conns))"
fi

# Wrong key, unknown identity: the client program sees a reset.
run_bad() {
	local conf=$1 port=$2
	cat >"$T/$conf.conf" <<EOF
[gateway]
workers = 1
status_socket = $T/$conf.sock
[service echo]
role = client
listen = 127.0.0.1:$port
connect = 127.0.0.1:$SRV
key_file = $conf.cfg
EOF
	gw_start "$conf" "$port" || return 1
	"$ECHO" send "127.0.0.1:$port" "$T/five" >/dev/null
	local rc=$?
	gw_stop "$conf"
	return $rc
}
n0=$(backend_conns)
bad0=$(stat srv hs_bad_psk)
run_bad wrong "$(free_port)"
rc=$?
sleep 0.2
if [ $rc -eq 3 ] && [ "$(stat srv hs_bad_psk)" -gt "$bad0" ] &&
    [ "$(backend_conns)" = "$n0" ]; then
	ok "wrong key: handshake refused (bad psk), program sees a reset, backend untouched"
else
	fail "wrong key (rc $rc, bad_psk $bad0 -> $(stat srv hs_bad_psk))"
fi
unk0=$(stat srv hs_unknown_identity)
run_bad unknown "$(free_port)"
rc=$?
sleep 0.2
if [ $rc -eq 3 ] && [ "$(stat srv hs_unknown_identity)" -gt "$unk0" ] &&
    [ "$(backend_conns)" = "$n0" ]; then
	ok "unknown identity: refused, counted, backend untouched"
else
	fail "unknown identity (rc $rc)"
fi

# Back-pressure: the backend sends as fast as it can, nobody reads.
before_s=$(rss "$PID_srv")
before_c=$(rss "$PID_cli")
exec 7<>"/dev/tcp/127.0.0.1/$CLI3"
sleep 2
after_s=$(rss "$PID_srv")
after_c=$(rss "$PID_cli")
exec 7>&-
moved=$(stat_svc srv source bytes_out)
diag "RSS server $before_s -> $after_s KiB, client $before_c -> $after_c KiB; $moved bytes moved"
# Unbounded buffering would take hundreds of MiB in 2 s; ASan's
# quarantine makes RSS grow with every allocation, so allow more there.
lim=4096
ldd "$GW" 2>/dev/null | grep -q libasan && lim=65536
if [ $((after_s - before_s)) -lt $lim ] && [ $((after_c - before_c)) -lt $lim ] &&
    [ "${moved:-0}" -gt 100000 ]; then
	ok "a client that does not read: memory stays bounded (back-pressure)"
else
	fail "back-pressure: RSS grew by more than $lim KiB"
fi

# Limits: 3 per client address on the server's count service; 5 open.
for fd in 10 11 12 13 14; do
	eval "exec $fd<>/dev/tcp/127.0.0.1/$CLI2"
done
sleep 1
ref=$(stat_svc srv count refused)
act=$(stat_svc srv count active)
for fd in 10 11 12 13 14; do
	eval "exec $fd>&-"
done
if [ "$ref" = 2 ] && [ "$act" = 3 ]; then
	ok "max_connections_per_client 3: 3 admitted, 2 refused and counted"
else
	fail "per-client limit (refused $ref, active $act)"
fi

# SIGHUP: a live connection survives; a broken file is refused.
"$ECHO" chat "127.0.0.1:$CLI" 30 100 >"$T/chat1" 2>&1 &
chat=$!
sleep 0.5
kill -HUP "$PID_srv" "$PID_cli"
sleep 0.5
if wait $chat; then
	ok "SIGHUP on both gateways: a live connection goes on"
else
	fail "SIGHUP dropped the live connection"
fi
cp "$T/srv.conf" "$T/srv.conf.good"
echo 'bogus line' >>"$T/srv.conf"
kill -HUP "$PID_srv"
sleep 0.5
cp "$T/srv.conf.good" "$T/srv.conf"
if grep -q 'reload failed' "$T/srv.log" &&
    "$ECHO" send "127.0.0.1:$CLI" "$T/five" >/dev/null; then
	ok "SIGHUP with a broken file: old configuration kept, service goes on"
else
	fail "SIGHUP with a broken file"
fi
# New key on both sides: the long-lived connection keeps its session.
"$ECHO" chat "127.0.0.1:$CLI" 30 100 >"$T/chat2" 2>&1 &
chat=$!
sleep 0.3
KEY2=$(hexkey)
printf '%s:%s\n' "$ID" "$KEY2" >"$T/key.cfg"
printf '%s:%s\n' "$ID" "$KEY2" >"$T/srvkeys.cfg"
kill -HUP "$PID_srv" "$PID_cli"
sleep 0.5
out=$("$ECHO" send "127.0.0.1:$CLI" "$T/five")
if wait $chat && [ "${out#sha256=}" != "$out" ]; then
	ok "SIGHUP with a new key.cfg: new connections use it, the old one lives"
else
	fail "key rotation by SIGHUP ($out)"
fi

out=$("$CG" status -f "$T/srv.conf" 2>&1)
if printf '%s\n' "$out" | grep -q '^service echo (server)' &&
    printf '%s\n' "$out" | grep -q 'handshakes'; then
	ok "cryptgate status prints the counters"
else
	fail "cryptgate status"
	printf '%s\n' "$out" | head -5 | sed 's/^/#   /'
fi
check_fails "cryptgate status: no gateway at the socket" \
    "$CG" status -s "$T/nothing.sock"

# The backend refuses: the client program sees a reset.
sed "s/^backend = 127.0.0.1:$BPORT/backend = 127.0.0.1:$(free_port)/" \
    "$T/srv.conf.good" >"$T/srv.conf"
kill -HUP "$PID_srv"
sleep 0.5
bf0=$(stat srv backend_failures)
"$ECHO" send "127.0.0.1:$CLI" "$T/five" >/dev/null
rc=$?
if [ $rc -eq 3 ] && [ "$(stat srv backend_failures)" -gt "$bf0" ]; then
	ok "backend refuses: counted, the client program sees a reset"
else
	fail "backend refused (rc $rc)"
fi
cp "$T/srv.conf.good" "$T/srv.conf"
kill -HUP "$PID_srv"
sleep 0.5

# SIGTERM drains: the live connection completes, new ones are refused.
"$ECHO" chat "127.0.0.1:$CLI" 20 100 >"$T/chat3" 2>&1 &
chat=$!
sleep 0.5
kill -TERM "$PID_srv"
sleep 0.3
if ! "$ECHO" send "127.0.0.1:$CLI" "$T/five" >/dev/null 2>&1 &&
    wait $chat; then
	ok "SIGTERM: listeners closed, the live connection drains to its end"
else
	fail "SIGTERM drain"
fi
gw_stop srv
rc=$?
if [ $rc -eq 0 ]; then
	ok "SIGTERM: the server gateway exits 0"
else
	fail "SIGTERM: exit status $rc"
fi

# A server gateway that dies mid-stream: the program sees an error.
gw_start srv "$SRV" || fail "server gateway restarts"
"$ECHO" chat "127.0.0.1:$CLI" 50 100 >"$T/chat4" 2>&1 &
chat=$!
sleep 0.5
kill -9 "$PID_srv"
wait "$PID_srv" 2>/dev/null
wait $chat
rc=$?
if [ $rc -eq 3 ]; then
	ok "server gateway killed mid-stream: the client program gets a reset"
else
	fail "truncation not reported as an error (rc $rc)"
fi
gw_stop cli
rc=$?
[ $rc -eq 0 ] && ok "client gateway exits 0 on SIGTERM" ||
    fail "client gateway exit $rc"
for f in srv cli; do
	if grep -qE 'Sanitizer|runtime error' "$T/$f.log"; then
		fail "sanitizer report in the $f gateway log"
		grep -E -A5 'Sanitizer|runtime error' "$T/$f.log" | head -20 |
		    sed 's/^/#   /'
	fi
done

# --- part 3: transparent role, in a network namespace of our own ---------
# The destination port is also the secured port, so only the SO_MARK
# exclusion keeps the gateway's own connection from being redirected.
transparent_part() {
	cat >"$T/tr-inner.sh" <<EOF
set -u
cd "$T" || exit 1
ip link set lo up && ip addr add 192.0.2.10/32 dev lo || exit 1
"$ECHO" serve 0 >tr-echo.port 2>/dev/null &
sleep 0.3
cat >tr-srv.conf <<EOC
[gateway]
workers = 1
status_socket = $T/tr-srv.sock
[service tel]
role = server
listen = 192.0.2.10:7023
backend = 127.0.0.1:\$(cat tr-echo.port)
key_file = key.cfg
EOC
cat >tr-cli.conf <<EOC
[gateway]
workers = 1
status_socket = $T/tr-cli.sock
[service tel]
role = transparent
listen = 127.0.0.1:9023
destination = 192.0.2.10:7023
secured_port = 7023
key_file = key.cfg
EOC
"$GW" -d -v -f tr-srv.conf >tr-srv.log 2>&1 &
S=\$!
"$GW" -d -v -f tr-cli.conf >tr-cli.log 2>&1 &
C=\$!
sleep 0.7
iptables -t nat -S CRYPTGATE-GW | grep -q 'REDIRECT --to-ports 9023' &&
    echo "PASS REDIRECT rule installed in the CRYPTGATE-GW chain" ||
    echo "FAIL REDIRECT rule installed"
out=\$("$ECHO" send 192.0.2.10:7023 data)
[ "\$out" = "sha256=$(sha256sum "$T/data" | cut -c1-64) bytes=20000000" ] &&
    echo "PASS transparent: 20 MB to the original destination, encrypted, intact" ||
    echo "FAIL transparent round trip: \$out"
"$CG" status -r -s "$T/tr-srv.sock" | grep -q ' handshakes=1 ' &&
    echo "PASS transparent: the server gateway saw one TLS handshake" ||
    echo "FAIL transparent: server handshakes"
"$ECHO" send 127.0.0.1:9023 five >/dev/null 2>&1
[ \$? -eq 3 ] && echo "PASS a direct (not redirected) connection is reset" ||
    echo "FAIL direct connection to the transparent port"
kill -TERM \$C
for _ in \$(seq 1 50); do kill -0 \$C 2>/dev/null || break; sleep 0.1; done
iptables -t nat -S | grep -q CRYPTGATE &&
    echo "FAIL rules left after exit" ||
    echo "PASS rules removed on exit"
kill \$S %1 2>/dev/null
wait
EOF
	timeout 60 unshare -n bash "$T/tr-inner.sh" >"$T/tr.out" 2>&1
	while read -r verdict desc; do
		case $verdict in
		PASS) ok "$desc" ;;
		FAIL) fail "$desc" ;;
		esac
	done <"$T/tr.out"
	grep -q '^PASS' "$T/tr.out" || sed 's/^/#   /' "$T/tr.out" | head -20
}
if ! is_root; then
	skip "transparent role" "needs root (iptables, network namespace)"
elif ! command -v iptables >/dev/null || ! command -v unshare >/dev/null; then
	skip "transparent role" "iptables or unshare missing"
elif ! unshare -n true 2>/dev/null; then
	skip "transparent role" "cannot create a network namespace"
else
	printf '%s:%s\n' "$ID" "$KEY2" >"$T/key.cfg"
	transparent_part
fi

# --- part 2: with the KDC ------------------------------------------------
if [ ! -x "$CG_KDCD" ]; then
	skip "gateways with a KDC" "cryptgate-kdcd not built"
	done_testing
fi
gw_kdc_setup
if ! $setup_ok; then
	fail "KDC, hosts alice and bob, policy alice -> bob web"
	sed 's/^/#   /' "$K/init.out" "$K/kdcd.log" | head -20
	done_testing
fi
ok "KDC, hosts alice and bob, policy alice -> bob web"

KS=$(free_port) && KC=$(free_port) && KU=$(free_port) ||
    { fail "free ports"; done_testing; }
cat >"$T/bob.conf" <<EOF
[gateway]
host_config = bob/bob.conf
workers = 2
key_cache_ttl = 2s
status_socket = $T/bob.sock
[service web]
role = server
listen = 127.0.0.1:$KS
backend = 127.0.0.1:$BPORT
peer = $ALICE
EOF
cat >"$T/alice.conf" <<EOF
[gateway]
host_config = alice/alice.conf
workers = 2
status_socket = $T/alice.sock
[service web]
role = client
listen = 127.0.0.1:$KC
connect = 127.0.0.1:$KS
peer = bob
EOF
if gw_start bob "$KS" && gw_start alice "$KC"; then
	ok "gateways with keys from the KDC start"
else
	fail "KDC gateways start"
	sed 's/^/#   /' "$T/bob.log" "$T/alice.log" | head -20
	done_testing
fi
good=0
for _ in $(seq 1 10); do
	"$ECHO" send "127.0.0.1:$KC" "$T/five" | grep -q 'bytes=5$' &&
	    good=$((good + 1))
done
out=$("$ECHO" multi "127.0.0.1:$KC" 20 100000)
nkeys=$("$CG" kdc key list -f "$K/kdc.conf" 2>/dev/null | grep -c ' valid')
if [ $good = 10 ] && [ "$out" = "ok 20" ] && [ "$nkeys" = 1 ] &&
    [ "$(stat_svc bob web handshakes)" = 30 ]; then
	ok "30 connections with a key from the KDC: one REQUEST, one key"
else
	fail "KDC keys: $good/10 sequential, multi '$out', $nkeys keys"
fi

# Revoked: refused once the server's cache (2 s) has expired; the client
# gateway then asks for a new key.
KEYID=$("$CG" kdc key list -f "$K/kdc.conf" 2>/dev/null |
    awk '/ valid/ { print $1; exit }')
"$CG" revoke -f "$T/alice/alice.conf" --key-id "$KEYID" >/dev/null 2>&1
sleep 2.5
unk0=$(stat_svc bob web hs_unknown_identity)
"$ECHO" send "127.0.0.1:$KC" "$T/five" >/dev/null
rc=$?
if [ $rc -eq 3 ] && [ "$(stat_svc bob web hs_unknown_identity)" -gt "$unk0" ] &&
    grep -q "refusing identity kdc1-$KEYID" "$T/bob.log"; then
	ok "a revoked key is refused after the cache TTL"
else
	fail "revoked key (rc $rc)"
fi
out=$("$ECHO" send "127.0.0.1:$KC" "$T/five")
if [ "${out%bytes=5}" != "$out" ]; then
	ok "the client gateway then gets a new key from the KDC"
else
	fail "no new key after the revocation ($out)"
fi

# A key bound to another client address.
"$CG" request -f "$T/alice/alice.conf" --peer bob --service web \
    --client-addr 127.0.0.2 -o "$T/other-addr.cfg" >/dev/null 2>&1
cat >"$T/other.conf" <<EOF
[gateway]
workers = 1
status_socket = $T/other.sock
[service web]
role = client
listen = 127.0.0.1:$KU
connect = 127.0.0.1:$KS
key_file = other-addr.cfg
EOF
unk0=$(stat_svc bob web hs_unknown_identity)
n0=$(backend_conns)
rc=-1
if gw_start other "$KU"; then
	"$ECHO" send "127.0.0.1:$KU" "$T/five" >/dev/null
	rc=$?
	gw_stop other
fi
if [ $rc -eq 3 ] && [ "$(stat_svc bob web hs_unknown_identity)" -gt "$unk0" ] &&
    [ "$(backend_conns)" = "$n0" ]; then
	ok "a key bound to another client address is refused"
else
	fail "address binding (rc $rc)"
fi

# KDC down: a cached key goes on working, a new identity is refused with
# a clear log line.
sed -i 's/^key_cache_ttl = 2s/key_cache_ttl = 60s/' "$T/bob.conf"
kill -HUP "$PID_bob"
sleep 2.5
"$ECHO" send "127.0.0.1:$KC" "$T/five" >/dev/null
kill -TERM "$KDCD"
wait "$KDCD" 2>/dev/null
out=$("$ECHO" send "127.0.0.1:$KC" "$T/five")
if [ "${out%bytes=5}" != "$out" ]; then
	ok "KDC down: the cached key goes on working"
else
	fail "KDC down: cached key ($out)"
fi
printf 'kdc1-%s:%s\n' "$(hexid)" "$(hexkey)" >"$T/other-addr.cfg"
kd0=$(stat_svc bob web hs_kdc_down)
rc=-1
if gw_start other "$KU"; then
	"$ECHO" send "127.0.0.1:$KU" "$T/five" >/dev/null
	rc=$?
	gw_stop other
fi
if [ $rc -eq 3 ] && [ "$(stat_svc bob web hs_kdc_down)" -gt "$kd0" ] &&
    grep -q 'KDC unreachable: refusing identity kdc1-' "$T/bob.log"; then
	ok "KDC down: an unknown identity is refused, 'KDC unreachable' logged"
else
	fail "KDC down: unknown identity (rc $rc)"
fi
if gw_stop alice && gw_stop bob; then
	ok "KDC gateways exit 0 on SIGTERM"
else
	fail "KDC gateways exit status"
fi
for f in bob alice other; do
	if grep -qE 'Sanitizer|runtime error' "$T/$f.log"; then
		fail "sanitizer report in the $f gateway log"
		grep -E -A5 'Sanitizer|runtime error' "$T/$f.log" | head -20 |
		    sed 's/^/#   /'
	fi
done

done_testing
