#!/usr/bin/env bash
# 41-kdc-faults: bad input and faults against the real daemon, with kdcpoke:
# truncated, oversized, garbage and bit-flipped frames; wrong version, type,
# suite, flags; bad signatures; stale and future timestamps; replays;
# unknown, pending and revoked hosts; requests the policy refuses; RETRIEVE
# by the wrong host, from the wrong address or service, of a revoked or
# expired key; clients that send nothing or one byte a second.  Each gets
# its documented ERROR (docs/PROTOCOL.md) or a closed connection, and after
# each one a good request from another host still succeeds.
. "$(dirname "$0")/lib.sh"

# A frame must arrive within request_timeout of the accept.
KDC_EXTRA='request_timeout = 4s'
RT=4
. "$(dirname "$0")/kdc-lib.sh"

need_kdcd "KDC bad input and faults"

# serving CASE: a good REQUEST from carol (not the host misbehaving) works.
serving() {
	local out
	out=$(poke carol request --peer "$BOB" --service web 2>&1)
	if printf '%s' "$out" | grep -q '^REQUEST_RESP ok'; then
		ok "  ... and then carol's request succeeds"
	else
		fail "  ... and then carol's request succeeds (after: $1)"
		diag "$out"
	fi
}

# case DESC REGEX NAME ARGS...: expect_poke, then serving.
case_() {
	expect_poke "$@"
	serving "$1"
}

# --- setup --------------------------------------------------------------
kdc_setup || { fail "kdc init"; sed 's/^/#   /' "$K/init.out"; done_testing; }
for h in alice bob carol mallory pendy revy; do mkhost "$h"; done
for h in alice bob carol revy; do add_host "$h" || fail "host add $h"; done
kdc_cli policy allow alice bob web >/dev/null || fail "policy allow alice"
kdc_cli policy allow carol bob web >/dev/null || fail "policy allow carol"
kdc_cli policy allow revy bob web >/dev/null || fail "policy allow revy"
kdc_cli policy allow alice revy web >/dev/null || fail "policy allow -> revy"
if ! kdc_start; then
	fail "cryptgate-kdcd starts"
	sed 's/^/#   /' "$K/kdcd.log" | head -20
	done_testing
fi
ok "cryptgate-kdcd starts and listens on 127.0.0.1:$PORT"
BOB=$(hid bob)
ALICE=$(hid alice)
REQ=(alice request --peer "$BOB" --service web)

# Slow and silent clients run in the background while the rest goes on:
# the daemon must close them once request_timeout ($RT s) has passed (we
# allow up to 3 x RT + 3 s under load) and meanwhile serve everyone else.
IDLE_PIDS=()
for i in $(seq 1 20); do
	poke alice --timeout 60 idle >"$T/idle.$i" 2>&1 &
	IDLE_PIDS+=($!)
	cleanup_pid $!
done
poke alice --slow 60 --timeout 60 "${REQ[@]:1}" >"$T/slow.out" 2>&1 &
SLOW_PID=$!
cleanup_pid $SLOW_PID
sleep 1
expect_poke "with 20 silent and 1 slow client connected, a request succeeds" \
    "REQUEST_RESP ok" carol request --peer "$BOB" --service web

# An expiring key, checked at the end.
expect_poke "a key with a 2 s lifetime (expiry checked at the end)" \
    "REQUEST_RESP ok" alice request --peer "$BOB" --service web --lifetime 2
EXPK=$(field key_id "$POKE_OUT")
EXPNA=$(field not_after "$POKE_OUT")

# --- framing ----------------------------------------------------------------
case_ "truncated frame (60 bytes, then EOF): closed" "closed" \
    "${REQ[@]}" --truncate 60
case_ "truncated length prefix (2 bytes, then EOF): closed" "closed" \
    "${REQ[@]}" --truncate 2
case_ "frame without its signature (then EOF): closed" "closed" \
    "${REQ[@]}" --truncate 100
case_ "length prefix 16385 (over the maximum): closed" "closed" \
    "${REQ[@]}" --len-prefix 16385 --shut
case_ "length prefix 0xffffffff: closed" "closed" \
    "${REQ[@]}" --len-prefix 0xffffffff --shut
case_ "length prefix 111 (under the minimum): closed" "closed" \
    "${REQ[@]}" --len-prefix 111 --shut
case_ "length prefix 0: closed" "closed" "${REQ[@]}" --len-prefix 0 --shut
case_ "length prefix larger than the frame (then EOF): closed" "closed" \
    "${REQ[@]}" --len-prefix 16384 --shut
case_ "length prefix 1 byte short: ERROR MALFORMED or closed" \
    "ERROR MALFORMED|closed" "${REQ[@]}" --len-prefix $((38 + 3 + 112 - 1))
case_ "200 bytes of garbage: closed or ERROR VERSION/MALFORMED" \
    "closed|ERROR (VERSION|MALFORMED)" "${REQ[@]}" --garbage 200 --shut
case_ "garbage with a valid length prefix: ERROR VERSION/MALFORMED" \
    "ERROR (VERSION|MALFORMED)" "${REQ[@]}" --garbage-framed 300
case_ "16388 bytes of framed garbage (largest frame): ERROR VERSION/MALFORMED" \
    "ERROR (VERSION|MALFORMED)" "${REQ[@]}" --garbage-framed 16388
case_ "112 bytes of framed garbage (smallest frame): ERROR VERSION/MALFORMED" \
    "ERROR (VERSION|MALFORMED)" "${REQ[@]}" --garbage-framed 116

# Bit flips: in the signature, the timestamp, the nonce, the service, the
# peer id: SIG (the signature covers them) or MALFORMED; never an answer.
L=$((4 + 48 + 16 + 1 + 3 + 17 + 4 + 64))
case_ "bit flip in the signature: ERROR SIG" "ERROR SIG" "${REQ[@]}" \
    --flip $(((L - 10) * 8 + 3))
case_ "bit flip in the timestamp: ERROR SIG" "ERROR SIG" "${REQ[@]}" \
    --flip $(((4 + 31) * 8))
case_ "bit flip in the nonce: ERROR SIG" "ERROR SIG" "${REQ[@]}" \
    --flip $(((4 + 40) * 8 + 5))
case_ "bit flip in the peer id: ERROR SIG" "ERROR SIG" "${REQ[@]}" \
    --flip $(((4 + 48 + 3) * 8 + 1))
case_ "bit flip in the version: ERROR VERSION" "ERROR VERSION" "${REQ[@]}" \
    --flip $((4 * 8 + 1))
case_ "bit flip in body_len: ERROR MALFORMED" "ERROR MALFORMED" "${REQ[@]}" \
    --flip $(((4 + 5) * 8 + 2))
case_ "bit flip in the service length: ERROR MALFORMED" "ERROR MALFORMED" \
    "${REQ[@]}" --flip $(((4 + 48 + 16) * 8 + 4))
bad=0
for i in $(seq 1 40); do
	b=$((RANDOM % (L * 8)))
	[ $b -lt 32 ] && s=--shut || s=
	out=$(poke "${REQ[@]}" --flip $b $s 2>&1 | head -1)
	if ! printf '%s' "$out" | grep -qE '^(closed|ERROR (SIG|MALFORMED|VERSION|SKEW))'; then
		bad=$((bad + 1))
		diag "flip bit $b: $out"
	fi
done
if [ $bad -eq 0 ]; then
	ok "40 random bit flips: each ERROR SIG/MALFORMED/VERSION/SKEW or closed"
else
	fail "random bit flips: $bad unexpected answers"
fi
serving "random bit flips"

# --- header fields ------------------------------------------------------------
case_ "version 2: ERROR VERSION" "ERROR VERSION" "${REQ[@]}" --version 2
case_ "version 0: ERROR VERSION" "ERROR VERSION" "${REQ[@]}" --version 0
case_ "unknown type 9: ERROR MALFORMED" "ERROR MALFORMED" "${REQ[@]}" --type 9
case_ "type 0: ERROR MALFORMED" "ERROR MALFORMED" "${REQ[@]}" --type 0
case_ "a response type (REQUEST_RESP) sent to the KDC: ERROR MALFORMED" \
    "ERROR MALFORMED" "${REQ[@]}" --type 0x82
case_ "ERROR type sent to the KDC: ERROR MALFORMED" "ERROR MALFORMED" \
    "${REQ[@]}" --type 0xff
case_ "a REQUEST body under type RETRIEVE: ERROR MALFORMED" "ERROR MALFORMED" \
    "${REQ[@]}" --type 1
case_ "unknown suite 3: ERROR MALFORMED" "ERROR MALFORMED" "${REQ[@]}" --suite 3
case_ "suite 0: ERROR MALFORMED" "ERROR MALFORMED" "${REQ[@]}" --suite 0
case_ "suite 2 (RSA) from an X25519 host: an ERROR, no key" "ERROR " \
    "${REQ[@]}" --suite 2
case_ "flags 1: ERROR MALFORMED" "ERROR MALFORMED" "${REQ[@]}" --flags 1
case_ "flags 0x80: ERROR MALFORMED" "ERROR MALFORMED" "${REQ[@]}" --flags 0x80

# --- signatures ---------------------------------------------------------------
case_ "bad signature: ERROR SIG" "ERROR SIG" "${REQ[@]}" --bad-sig
case_ "signed by another host's key: ERROR SIG" "ERROR SIG" "${REQ[@]}" \
    --sign-key "$T/mallory/mallory.key"
case_ "unknown key version (kvno 2): ERROR SIG" "ERROR SIG" "${REQ[@]}" --kvno 2
case_ "kvno 0: ERROR SIG or MALFORMED" "ERROR (SIG|MALFORMED)" "${REQ[@]}" \
    --kvno 0
case_ "unknown host (never added): ERROR SIG" "ERROR SIG" \
    mallory request --peer "$BOB" --service web
case_ "unknown host claiming alice's id: ERROR SIG" "ERROR SIG" \
    mallory request --peer "$BOB" --service web --sender "$ALICE"

# --- time and replay ----------------------------------------------------------
case_ "timestamp 125 s old: ERROR SKEW" "ERROR SKEW" "${REQ[@]}" --ts-offset -125
t=$(now_ms)
kt=$(field kdc_time "$POKE_OUT")
if [ -n "$kt" ] && [ $((kt - t)) -gt -5000 ] && [ $((kt - t)) -lt 5000 ]; then
	ok "ERROR SKEW carries the KDC's time"
else
	fail "ERROR SKEW kdc_time $kt vs now $t"
fi
case_ "timestamp 125 s ahead: ERROR SKEW" "ERROR SKEW" "${REQ[@]}" --ts-offset 125
case_ "timestamp 1 hour old: ERROR SKEW" "ERROR SKEW" "${REQ[@]}" \
    --ts-offset -3600
case_ "timestamp 0: ERROR SKEW" "ERROR SKEW" "${REQ[@]}" --ts-offset -2000000000
expect_poke "timestamp 100 s old (inside the window): a key" "REQUEST_RESP ok" \
    "${REQ[@]}" --ts-offset -100
expect_poke "timestamp 100 s ahead (inside the window): a key" \
    "REQUEST_RESP ok" "${REQ[@]}" --ts-offset 100

out=$(poke "${REQ[@]}" --repeat exact 2>&1)
if [ "$(printf '%s\n' "$out" | sed -n 1p | cut -d' ' -f1-2)" = "REQUEST_RESP ok" ] &&
    [ "$(printf '%s\n' "$out" | sed -n 2p | cut -d' ' -f1-2)" = "ERROR REPLAY" ]; then
	ok "REQUEST sent twice: a key, then ERROR REPLAY"
else
	fail "REQUEST replayed"
	diag "$out"
fi
serving "REQUEST replay"
out=$(poke "${REQ[@]}" --repeat nonce 2>&1)
if [ "$(printf '%s\n' "$out" | sed -n 2p | cut -d' ' -f1-2)" = "ERROR REPLAY" ]; then
	ok "a new REQUEST reusing a nonce: ERROR REPLAY"
else
	fail "REQUEST reusing a nonce"
	diag "$out"
fi
serving "nonce reuse"
out=$(poke alice request --peer "$BOB" --service web)
GOODK=$(field key_id "$out")
GOODPSK=$(field psk "$out")
RET=(bob retrieve --key-id "$GOODK" --service web --client-addr 127.0.0.1)
out=$(poke "${RET[@]}" --repeat exact 2>&1)
if [ "$(printf '%s\n' "$out" | sed -n 1p | cut -d' ' -f1-2)" = "RETRIEVE_RESP ok" ] &&
    [ "$(printf '%s\n' "$out" | sed -n 2p | cut -d' ' -f1-2)" = "ERROR REPLAY" ]; then
	ok "RETRIEVE sent twice: the key, then ERROR REPLAY"
else
	fail "RETRIEVE replayed"
	diag "$out"
fi
serving "RETRIEVE replay"

# --- hosts and policy ---------------------------------------------------------
"$CG" enroll -f "$T/pendy/pendy.conf" --addr 127.0.0.1 >/dev/null 2>&1 ||
    diag "enroll pendy failed"
kdc_cli policy allow pendy bob web >/dev/null 2>&1
case_ "pending host: ERROR PENDING" "ERROR PENDING" \
    pendy request --peer "$BOB" --service web
expect_poke "revy gets a key before it is revoked" "REQUEST_RESP ok" \
    revy request --peer "$BOB" --service web
REVYK=$(field key_id "$POKE_OUT")
kdc_cli host revoke revy >/dev/null 2>&1 || fail "kdc host revoke revy"
case_ "revoked host requesting: ERROR DENIED" "ERROR DENIED" \
    revy request --peer "$BOB" --service web
case_ "a key for a revoked peer: ERROR DENIED" "ERROR DENIED" \
    alice request --peer "$(hid revy)" --service web
case_ "a revoked host's key can no longer be retrieved: ERROR DENIED" \
    "ERROR DENIED" \
    bob retrieve --key-id "$REVYK" --service web --client-addr 127.0.0.1
case_ "policy: a service not allowed: ERROR DENIED" "ERROR DENIED" \
    alice request --peer "$BOB" --service ssh
case_ "policy: a peer not allowed: ERROR DENIED" "ERROR DENIED" \
    alice request --peer "$(hid carol)" --service web
case_ "policy: an unknown peer id: ERROR DENIED" "ERROR DENIED" \
    alice request --peer "$(hid mallory)" --service web
kdc_cli policy deny carol bob web >/dev/null 2>&1 || fail "policy deny"
expect_poke "policy deny takes effect: ERROR DENIED" "ERROR DENIED" \
    carol request --peer "$BOB" --service web
kdc_cli policy allow carol bob web >/dev/null 2>&1 || fail "policy allow"
serving "policy deny/allow"

# --- RETRIEVE -----------------------------------------------------------------
expect_poke "the peer retrieves the key (same PSK as the requester's)" \
    "RETRIEVE_RESP ok .* psk=$GOODPSK" \
    bob retrieve --key-id "$GOODK" --service web --client-addr 127.0.0.1
case_ "RETRIEVE by a host that is not the peer: ERROR DENIED" "ERROR DENIED" \
    carol retrieve --key-id "$GOODK" --service web --client-addr 127.0.0.1
case_ "RETRIEVE by the requester itself: ERROR DENIED" "ERROR DENIED" \
    alice retrieve --key-id "$GOODK" --service web --client-addr 127.0.0.1
case_ "RETRIEVE with a wrong client address: ERROR DENIED" "ERROR DENIED" \
    bob retrieve --key-id "$GOODK" --service web --client-addr 10.9.8.7
case_ "RETRIEVE with an IPv6 client address: ERROR DENIED" "ERROR DENIED" \
    bob retrieve --key-id "$GOODK" --service web --client-addr ::1
case_ "RETRIEVE with a wrong service: ERROR DENIED" "ERROR DENIED" \
    bob retrieve --key-id "$GOODK" --service ssh --client-addr 127.0.0.1
case_ "RETRIEVE of a key that does not exist: ERROR DENIED" "ERROR DENIED" \
    bob retrieve --key-id 00112233445566778899aabbccddeeff --service web \
    --client-addr 127.0.0.1
case_ "RETRIEVE by an unknown host: ERROR SIG" "ERROR SIG" \
    mallory retrieve --key-id "$GOODK" --service web --client-addr 127.0.0.1
case_ "RETRIEVE with a stale timestamp: ERROR SKEW" "ERROR SKEW" \
    bob retrieve --key-id "$GOODK" --service web --client-addr 127.0.0.1 \
    --ts-offset -200
kdc_cli key revoke "$GOODK" >/dev/null 2>&1 || fail "kdc key revoke"
case_ "RETRIEVE of a revoked key: ERROR DENIED" "ERROR DENIED" \
    bob retrieve --key-id "$GOODK" --service web --client-addr 127.0.0.1
left=$(((EXPNA + 1500 - $(now_ms)) / 1000 + 1))
[ "$left" -gt 0 ] && [ "$left" -lt 90 ] && sleep "$left"
case_ "RETRIEVE of an expired key: ERROR DENIED" "ERROR DENIED" \
    bob retrieve --key-id "$EXPK" --service web --client-addr 127.0.0.1

# --- the silent and slow clients ----------------------------------------------
# within CLOSED_LINE: "closed after=S ..." with RT - 0.5 <= S <= 3 RT + 3.
within() {
	printf '%s\n' "$1" | awk -v rt="$RT" '
		$1 == "closed" { split($2, a, "="); s = a[2] + 0
		  if (s >= rt - 0.5 && s <= 3 * rt + 3) ok = 1 }
		END { exit !ok }'
}
wait $SLOW_PID
out=$(cat "$T/slow.out")
if within "$out" && [ "$(field sent "$out")" -lt $((L - 1)) ]; then
	ok "one byte a second: closed after request_timeout, frame incomplete ($out)"
else
	fail "one byte a second: $out (want closed after about $RT s)"
fi
wait "${IDLE_PIDS[@]}"
bad=0
for i in $(seq 1 20); do
	within "$(cat "$T/idle.$i")" || bad=$((bad + 1))
done
if [ $bad -eq 0 ]; then
	ok "20 silent clients: each closed after request_timeout ($(head -1 "$T/idle.1"))"
else
	fail "silent clients: $bad of 20 not closed after about $RT s"
	head -q -n1 "$T"/idle.* | sort | uniq -c | head -5 | sed 's/^/#   /'
fi
serving "silent and slow clients"

# --- the end -----------------------------------------------------------------
if alive; then ok "the daemon is still running"; else fail "the daemon died"; fi
check "kdc audit verify" kdc_cli audit verify
kdc_stop
rc=$?
if [ $rc -eq 0 ]; then ok "SIGTERM: clean exit"; else fail "SIGTERM: exit $rc"; fi
check "PRAGMA integrity_check: ok" integrity_ok
if sanitizer_clean "$K/kdcd.log"; then
	ok "no sanitizer report from the daemon"
else
	fail "sanitizer report from the daemon"
	grep -A15 -E 'Sanitizer|runtime error' "$K/kdcd.log" | head -30 | sed 's/^/#   /'
fi
done_testing
