#!/usr/bin/env bash
# 30-kdcd-smoke: cryptgate-kdcd starts on a free loopback port with a
# database made by `cryptgate kdc init`, checks its configuration with -n,
# closes a connection whose length prefix is impossible, answers a frame
# it cannot decode with a signed ERROR, closes a client that sends nothing,
# serves a real REQUEST and RETRIEVE (when the CLI has them), and exits 0
# on SIGTERM.
. "$(dirname "$0")/lib.sh"

if [ ! -x "$CG_KDCD" ]; then
	skip "kdcd smoke" "$CG_KDCD not built"
	done_testing
fi
if ! command -v python3 >/dev/null 2>&1; then
	skip "kdcd smoke" "python3 not available (raw socket checks)"
	done_testing
fi

D=$TMPDIR_T
# A free port: bind port 0, read it back, release it.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

cat >"$D/kdc.conf" <<EOF
[kdc]
listen = 127.0.0.1:$PORT
database = kdc.db
signing_key = kdc.key
master_key = master.key
request_timeout = 2s
idle_timeout = 3s
EOF

# sanitizer_free FILE: true unless FILE holds a sanitizer report.
sanitizer_free() {
	! grep -qE 'Sanitizer|runtime error' "$1"
}

# 1. -n before the keys and database exist: an error naming the file.
"$CG_KDCD" -n -f "$D/kdc.conf" >"$D/out" 2>"$D/err"
rc=$?
if [ $rc -eq 1 ] && grep -q "kdc.key" "$D/err" && [ ! -s "$D/out" ]; then
	ok "-n without keys: exit 1, names the key file"
else
	fail "-n without keys: exit $rc: $(head -2 "$D/err")"
fi

# 2. A configuration error is reported as FILE:LINE.
printf '[kdc]\nsigning_key = k\nmaster_key = m\nworkers = lots\n' >"$D/bad.conf"
"$CG_KDCD" -n -f "$D/bad.conf" >"$D/out" 2>"$D/err"
rc=$?
if [ $rc -eq 1 ] && grep -q "^$D/bad.conf:4: " "$D/err"; then
	ok "-n on a bad file: exit 1, FILE:LINE error"
else
	fail "-n on a bad file: exit $rc: $(head -2 "$D/err")"
fi
"$CG_KDCD" -x >/dev/null 2>&1
rc=$?
if [ $rc -eq 2 ]; then ok "unknown option: exit 2"; else fail "unknown option: exit $rc"; fi

if ! "$CG" kdc init -f "$D/kdc.conf" >"$D/init.out" 2>&1; then
	skip "kdcd with a database" "cryptgate kdc init failed or not built: $(head -1 "$D/init.out")"
	done_testing
fi

# 3. -n with everything in place.
"$CG_KDCD" -n -f "$D/kdc.conf" >"$D/out" 2>"$D/err"
rc=$?
if [ $rc -eq 0 ] && [ "$(cat "$D/out")" = "$D/kdc.conf: configuration OK" ]; then
	ok "-n: configuration OK"
else
	fail "-n: exit $rc: $(cat "$D/out" "$D/err" | head -3)"
fi

# 4. Start it in the foreground and wait for the port.
"$CG_KDCD" -d -v -f "$D/kdc.conf" >"$D/kdcd.log" 2>&1 &
KDCD=$!
cleanup_pid $KDCD
up=0
for _ in $(seq 1 100); do
	if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$PORT),0.2).close()" 2>/dev/null; then
		up=1
		break
	fi
	kill -0 $KDCD 2>/dev/null || break
	sleep 0.1
done
if [ $up -eq 1 ]; then
	ok "daemon listens on 127.0.0.1:$PORT"
else
	fail "daemon did not start: $(head -5 "$D/kdcd.log")"
	done_testing
fi

# raw HEXBYTES WAIT [shut]: send bytes (then shut down the sending side if
# "shut"), print what comes back ("closed" at EOF, "timeout" if the
# connection stays open WAIT seconds) and the time taken.
raw() {
	python3 - "$PORT" "$1" "$2" "${3:-}" <<'PYEOF'
import socket, sys, time
port, data, wait = int(sys.argv[1]), bytes.fromhex(sys.argv[2]), float(sys.argv[3])
s = socket.create_connection(("127.0.0.1", port), 2)
t = time.time()
if data:
    s.sendall(data)
if sys.argv[4] == "shut":
    s.shutdown(socket.SHUT_WR)
s.settimeout(wait)
buf = b""
try:
    while True:
        d = s.recv(4096)
        if not d:
            print("closed", len(buf), buf[:6].hex(), "%.1f" % (time.time() - t))
            break
        buf += d
        if len(buf) >= 4 and len(buf) >= 4 + int.from_bytes(buf[:4], "big"):
            print("frame", len(buf), buf[:6].hex(), "%.1f" % (time.time() - t))
            break
except socket.timeout:
    print("timeout", len(buf), buf[:6].hex(), "%.1f" % (time.time() - t))
PYEOF
}

# 5. An impossible length prefix (over 16384): closed, no answer.
out=$(raw 00004001 3)
case $out in
closed\ 0\ *) ok "oversized length prefix: connection closed" ;;
*) fail "oversized length prefix: $out" ;;
esac
out=$(raw 00000005 3)
case $out in
closed\ 0\ *) ok "undersized length prefix: connection closed" ;;
*) fail "undersized length prefix: $out" ;;
esac

# 6. A frame of valid length but garbage inside: a signed ERROR
# (160 bytes: length 156, version 1, type 0xff).
garbage="0000009c$(head -c 156 /dev/urandom | od -An -tx1 | tr -d ' \n')"
out=$(raw "$garbage" 3)
case $out in
frame\ 160\ 0000009c01ff*) ok "garbage frame: answered with an ERROR frame" ;;
*) fail "garbage frame: $out" ;;
esac
# Version 2 in an otherwise empty frame: ERROR too.
out=$(raw "00000070$(printf '02%0222d' 0)" 3)
case $out in
frame\ 160\ 0000009c01ff*) ok "version 2: answered with an ERROR frame" ;;
*) fail "version 2: $out" ;;
esac

# 7. A client that sends nothing, or a partial frame, is closed after
# request_timeout (2 s here), not before.
out=$(raw "" 6)
case $out in
closed\ 0\ *) t=${out##* }
	if [ "${t%.*}" -ge 1 ] && [ "${t%.*}" -le 4 ]; then
		ok "silent client closed after request_timeout ($t s)"
	else
		fail "silent client closed after $t s"
	fi ;;
*) fail "silent client: $out" ;;
esac
out=$(raw 000000700100 6)
case $out in
closed\ 0\ *) ok "partial frame closed after request_timeout" ;;
*) fail "partial frame: $out" ;;
esac
# A partial frame followed by the client's end of file: closed at once.
out=$(raw 000000700100 6 shut)
case $out in
"closed 0  0."*) ok "partial frame then end of file: closed at once" ;;
*) fail "partial frame then end of file: $out" ;;
esac
# A whole frame followed by end of file is still answered.
out=$(raw "$garbage" 3 shut)
case $out in
frame\ 160\ 0000009c01ff*) ok "frame then end of file: still answered" ;;
*) fail "frame then end of file: $out" ;;
esac

# 8. Real requests through the CLI, if it has them.
keygen_ok=1
for h in a b; do
	"$CG" keygen -o "$D/host$h" -c "host$h" >/dev/null 2>&1 || keygen_ok=0
done
if [ $keygen_ok -eq 1 ] &&
    "$CG" kdc host add -f "$D/kdc.conf" "$D/hosta.pub" >/dev/null 2>&1 &&
    "$CG" kdc host add -f "$D/kdc.conf" "$D/hostb.pub" >/dev/null 2>&1 &&
    "$CG" kdc policy allow -f "$D/kdc.conf" hosta hostb ssh >/dev/null 2>&1; then
	for h in a b; do
		cat >"$D/host$h.conf" <<EOF
[host]
name = host$h
key = host$h.key
[kdc]
address = 127.0.0.1:$PORT
public_key = kdc.pub
EOF
	done
	bid=$(awk '{print $3}' "$D/hostb.pub")
	if "$CG" request -f "$D/hosta.conf" --peer "$bid" --service ssh \
	    --client-addr 127.0.0.1 -o "$D/a.cfg" >"$D/req.out" 2>&1; then
		ok "REQUEST served"
		kid=$(sed -n 's/^kdc1-\([0-9a-f]\{32\}\):.*/\1/p' "$D/a.cfg")
		if "$CG" retrieve -f "$D/hostb.conf" --key-id "$kid" \
		    --client-addr 127.0.0.1 --service ssh -o "$D/b.cfg" >"$D/ret.out" 2>&1 &&
		    cmp -s "$D/a.cfg" "$D/b.cfg"; then
			ok "RETRIEVE served: both ends have the same PSK"
		else
			fail "RETRIEVE: $(head -2 "$D/ret.out")"
		fi
		if "$CG" retrieve -f "$D/hostb.conf" --key-id "$kid" \
		    --client-addr 127.0.0.9 --service ssh -o "$D/c.cfg" >"$D/ret.out" 2>&1; then
			fail "RETRIEVE from the wrong client address succeeded"
		elif grep -q DENIED "$D/ret.out"; then
			ok "RETRIEVE from the wrong client address: DENIED"
		else
			fail "RETRIEVE wrong address: $(head -2 "$D/ret.out")"
		fi
	elif grep -q "not built yet" "$D/req.out"; then
		skip "REQUEST and RETRIEVE" "cryptgate request not built yet"
	else
		fail "REQUEST: $(head -2 "$D/req.out")"
	fi
	if "$CG" kdc audit verify -f "$D/kdc.conf" >/dev/null 2>&1; then
		ok "audit chain verifies while the daemon runs"
	else
		fail "audit verify"
	fi
else
	skip "REQUEST and RETRIEVE" "keygen, kdc host add or kdc policy allow unavailable"
fi

# 9. Still alive after all that; SIGHUP is harmless.
kill -HUP $KDCD 2>/dev/null
sleep 0.3
if kill -0 $KDCD 2>/dev/null; then
	ok "daemon survived bad input and SIGHUP"
else
	fail "daemon died"
fi

# 10. SIGTERM: exit 0, promptly.
kill -TERM $KDCD
rc=124
for _ in $(seq 1 100); do
	if ! kill -0 $KDCD 2>/dev/null; then
		wait $KDCD
		rc=$?
		break
	fi
	sleep 0.1
done
if [ $rc -eq 0 ]; then
	ok "SIGTERM: exit 0"
else
	fail "SIGTERM: exit $rc"
	kill -9 $KDCD 2>/dev/null
fi
if sanitizer_free "$D/kdcd.log"; then
	ok "no sanitizer report in the daemon's log"
else
	fail "sanitizer report in the daemon's log"
	grep -E -A10 'Sanitizer|runtime error' "$D/kdcd.log" | head -30 | sed 's/^/#   /'
fi

done_testing
