#!/usr/bin/env bash
# 40-kdc-e2e: the KDC end to end against the real daemon and CLI: kdc init,
# hosts and policy, `cryptgate request` writes key.cfg (mode 0600, one
# "identity:hex" line per key) and `cryptgate retrieve` as the peer gets the
# same PSK (cross-checked by kdcpoke's own derivation), enrollment (pending,
# approve, active; one-time token), revocation (by the host and by the
# admin), lifetimes (default, clamp, expiry, purge), an RSA host in both
# roles, the audit chain and the database's integrity at the end.
. "$(dirname "$0")/lib.sh"

# Short lifetimes so that the clamp and the default are visible.
KDC_EXTRA='key_lifetime = 30m
max_key_lifetime = 2h'
. "$(dirname "$0")/kdc-lib.sh"

need_kdcd "KDC end-to-end"

CFG_RE='^kdc1-[0-9a-f]{32}:[0-9a-f]{64}$'

# keyid_of LINE: the key id (32 hex) of a key.cfg line.
keyid_of() { printf '%s\n' "$1" | sed -n 's/^kdc1-\([0-9a-f]\{32\}\):.*/\1/p'; }

# request NAME PEER SERVICE OUT [ARGS...]: cryptgate request as NAME.
request() {
	local n=$1 p=$2 s=$3 o=$4
	shift 4
	"$CG" request -f "$T/$n/$n.conf" --peer "$p" --service "$s" -o "$o" "$@"
}

# retrieve NAME KEYID SERVICE OUT: cryptgate retrieve as NAME.
retrieve() {
	"$CG" retrieve -f "$T/$1/$1.conf" --key-id "$2" --client-addr 127.0.0.1 \
	    --service "$3" -o "$4"
}

# --- setup ------------------------------------------------------------------
if kdc_setup; then
	ok "kdc init creates the KDC"
else
	fail "kdc init"
	sed 's/^/#   /' "$K/init.out" | head
	done_testing
fi
if [ -s "$DB" ] && [ "$(stat -c %a "$K/kdc.key")" = 600 ] &&
    [ "$(stat -c %a "$K/master.key")" = 600 ] && [ -s "$K/kdc.pub" ]; then
	ok "kdc init: database, kdc.key and master.key (0600), kdc.pub"
else
	fail "kdc init: files and modes"
	ls -l "$K" | sed 's/^/#   /'
fi
out=$("$CG_KDCD" -f "$K/kdc.conf" -n 2>&1)
if [ $? -eq 0 ] && printf '%s' "$out" | grep -q 'configuration OK'; then
	ok "cryptgate-kdcd -n: configuration OK"
else
	fail "cryptgate-kdcd -n"
	printf '%s\n' "$out" | head -5 | sed 's/^/#   /'
fi

for h in alice bob; do mkhost "$h"; done
mkhost rsa rsa3072
for h in alice bob rsa; do
	check "host add $h" add_host "$h"
done
check "policy allow alice -> bob, any service" kdc_cli policy allow alice bob '*'
check "policy allow rsa -> bob web" kdc_cli policy allow rsa bob web
check "policy allow bob -> rsa web" kdc_cli policy allow bob rsa web
out=$(kdc_cli host list 2>&1)
if printf '%s\n' "$out" | grep alice | grep -qi active &&
    printf '%s\n' "$out" | grep -q "$(hid bob)\|bob"; then
	ok "host list shows the hosts, active"
else
	fail "host list"
	printf '%s\n' "$out" | head -5 | sed 's/^/#   /'
fi

if ! kdc_start; then
	fail "cryptgate-kdcd starts and listens on 127.0.0.1:$PORT"
	sed 's/^/#   /' "$K/kdcd.log" | head -20
	done_testing
fi
ok "cryptgate-kdcd starts and listens on 127.0.0.1:$PORT"
BOB=$(hid bob)
RSA=$(hid rsa)

# --- expiring keys, requested first and checked at the end -------------------
t_exp=$(now_ms)
if request alice "$BOB" web "$T/alice/exp.cfg" --lifetime 60s >/dev/null \
    2>"$T/alice/exp.err"; then
	ok "request --lifetime 60s"
else
	fail "request --lifetime 60s"
	sed 's/^/#   /' "$T/alice/exp.err"
fi
EXP1=$(keyid_of "$(head -1 "$T/alice/exp.cfg" 2>/dev/null)")
out=$(poke alice request --peer "$BOB" --service web --lifetime 2 2>&1)
EXP2=$(field key_id "$out")
exp2_len=$(($(field not_after "$out") - $(field not_before "$out")))
case $exp2_len in
2000) ok "REQUEST lifetime 2 s: not_after = not_before + 2 s" ;;
60000)
	ok "REQUEST lifetime 2 s: raised to the 60 s minimum"
	diag "the KDC raises lifetimes under 60 s to 60 s"
	;;
*)
	fail "REQUEST lifetime 2 s: not_after - not_before = $exp2_len ms"
	diag "$out"
	;;
esac
expect_poke "the 2 s key is retrievable before it expires" "RETRIEVE_RESP ok" \
    bob retrieve --key-id "$EXP2" --service web --client-addr 127.0.0.1
if [ -n "$EXP1" ] && retrieve bob "$EXP1" web "$T/bob/exp.cfg" >/dev/null 2>&1 &&
    cmp -s "$T/alice/exp.cfg" "$T/bob/exp.cfg"; then
	ok "the 60 s key is retrievable before it expires"
else
	fail "the 60 s key is retrievable before it expires"
fi

# --- request and retrieve --------------------------------------------------
(cd "$T/alice" && "$CG" request -f alice.conf --peer "$BOB" --service web \
    >"$T/alice/req.out" 2>&1)
rc=$?
line=$(cat "$T/alice/key.cfg" 2>/dev/null)
if [ $rc -eq 0 ] && [ "$(wc -l <"$T/alice/key.cfg")" -eq 1 ] &&
    printf '%s\n' "$line" | grep -qE "$CFG_RE"; then
	ok "request writes ./key.cfg with one identity:hex line"
else
	fail "request writes key.cfg (exit $rc)"
	sed 's/^/#   /' "$T/alice/req.out" | head
fi
if [ "$(stat -c %a "$T/alice/key.cfg" 2>/dev/null)" = 600 ]; then
	ok "key.cfg has mode 0600"
else
	fail "key.cfg mode $(stat -c %a "$T/alice/key.cfg" 2>/dev/null)"
fi
KID=$(keyid_of "$line")
if retrieve bob "$KID" web "$T/bob/key.cfg" >"$T/bob/ret.out" 2>&1 &&
    [ "$(cat "$T/bob/key.cfg")" = "$line" ]; then
	ok "retrieve as the peer writes the same identity and PSK"
else
	fail "retrieve as the peer gets the same PSK"
	sed 's/^/#   /' "$T/bob/ret.out" | head
fi
out=$(poke bob retrieve --key-id "$KID" --service web --client-addr 127.0.0.1)
if [ "$(field psk "$out")" = "${line#*:}" ] &&
    [ "$(field requester "$out")" = "$(hid alice)" ]; then
	ok "kdcpoke's own PSK derivation agrees with key.cfg; requester is alice"
else
	fail "kdcpoke retrieve agrees with key.cfg"
	diag "$out"
fi
if [ "$(stat -c %a "$T/bob/key.cfg" 2>/dev/null)" = 600 ]; then
	ok "retrieve's key.cfg has mode 0600"
else
	fail "retrieve's key.cfg mode"
fi

# A second key goes into the same file, the first line stays.
(cd "$T/alice" && "$CG" request -f alice.conf --peer "$BOB" --service ssh \
    >/dev/null 2>&1)
if [ "$(wc -l <"$T/alice/key.cfg")" -eq 2 ] &&
    [ "$(head -1 "$T/alice/key.cfg")" = "$line" ] &&
    ! grep -vqE "$CFG_RE" "$T/alice/key.cfg" &&
    [ "$(cut -d: -f1 "$T/alice/key.cfg" | sort -u | wc -l)" -eq 2 ]; then
	ok "a second request appends its own line to key.cfg"
else
	fail "a second request appends to key.cfg"
	sed 's/^/#   /' "$T/alice/key.cfg"
fi
KID2=$(keyid_of "$(sed -n 2p "$T/alice/key.cfg")")

# --peer by name, through a [peer NAME] section.
cp "$T/alice/alice.conf" "$T/alice/named.conf"
printf '\n[peer bob]\nid = %s\n' "$BOB" >>"$T/alice/named.conf"
if "$CG" request -f "$T/alice/named.conf" --peer bob --service web \
    -o "$T/alice/named.cfg" >"$T/alice/named.out" 2>&1 &&
    grep -qE "$CFG_RE" "$T/alice/named.cfg"; then
	ok "request --peer NAME through a [peer NAME] section"
else
	fail "request --peer NAME"
	sed 's/^/#   /' "$T/alice/named.out" | head -5
fi
check_fails "request --peer with an unknown name fails" \
    "$CG" request -f "$T/alice/named.conf" --peer nosuch --service web \
    -o "$T/alice/x.cfg"

# --- lifetimes -----------------------------------------------------------
t0=$(now_ms)
out=$(poke alice request --peer "$BOB" --service web)
nb=$(field not_before "$out")
na=$(field not_after "$out")
if [ -n "$nb" ] && [ $((nb - t0)) -gt -5000 ] && [ $((nb - t0)) -lt 5000 ]; then
	ok "not_before is now"
else
	fail "not_before ($nb) is now ($t0)"
	diag "$out"
fi
if [ -n "$na" ] && [ $((na - nb)) -eq 1800000 ]; then
	ok "lifetime 0: the configured key_lifetime (30m)"
else
	fail "lifetime 0: not_after - not_before = $((${na:-0} - ${nb:-0})) ms, want 1800000"
fi
out=$(poke alice request --peer "$BOB" --service web --lifetime 600)
if [ $(($(field not_after "$out") - $(field not_before "$out"))) -eq 600000 ]; then
	ok "lifetime 600 s is honoured"
else
	fail "lifetime 600 s"
	diag "$out"
fi
out=$(poke alice request --peer "$BOB" --service web --lifetime 100000)
if [ $(($(field not_after "$out") - $(field not_before "$out"))) -eq 7200000 ]; then
	ok "lifetime 100000 s is clamped to max_key_lifetime (2h)"
else
	fail "lifetime 100000 s clamp"
	diag "$out"
fi

# --- enrollment: pending, approve, active ------------------------------------
mkhost carol
out=$("$CG" enroll -f "$T/carol/carol.conf" --addr 127.0.0.1 2>&1)
if [ $? -eq 0 ] && printf '%s' "$out" | grep -q 'pending approval'; then
	ok "enroll without a token: pending approval"
else
	fail "enroll without a token"
	printf '%s\n' "$out" | head -5 | sed 's/^/#   /'
fi
if kdc_cli host list 2>&1 | grep carol | grep -qi pending; then
	ok "host list shows carol pending"
else
	fail "host list shows carol pending"
fi
check "policy allow carol -> bob web" kdc_cli policy allow carol bob web
check_fails "a pending host's request fails" \
    request carol "$BOB" web "$T/carol/key.cfg"
expect_poke "a pending host gets ERROR PENDING" "ERROR PENDING" \
    carol request --peer "$BOB" --service web
check "host approve carol" kdc_cli host approve carol
if kdc_cli host list 2>&1 | grep carol | grep -qi active; then
	ok "host list shows carol active"
else
	fail "host list shows carol active"
fi
if request carol "$BOB" web "$T/carol/key.cfg" >/dev/null 2>&1 &&
    l=$(cat "$T/carol/key.cfg") &&
    retrieve bob "$(keyid_of "$l")" web "$T/bob/carol.cfg" >/dev/null 2>&1 &&
    [ "$(cat "$T/bob/carol.cfg")" = "$l" ]; then
	ok "approved host: request, and bob retrieves the same PSK"
else
	fail "approved host request/retrieve"
fi

# --- enrollment with a one-time token --------------------------------------
tok=$(kdc_cli token create --ttl 10m 2>&1)
if printf '%s\n' "$tok" | grep -qE '^[0-9a-f]{64}$'; then
	ok "token create prints a 64-hex token"
else
	fail "token create"
	diag "$tok"
fi
mkhost dave
out=$("$CG" enroll -f "$T/dave/dave.conf" --token "$tok" --addr 127.0.0.1 2>&1)
if [ $? -eq 0 ] && printf '%s\n' "$out" | grep -qw active &&
    ! printf '%s' "$out" | grep -q pending; then
	ok "enroll with a token: active at once"
else
	fail "enroll with a token"
	printf '%s\n' "$out" | head -5 | sed 's/^/#   /'
fi
check "policy allow dave -> bob web" kdc_cli policy allow dave bob web
check "the token-enrolled host gets a key" \
    request dave "$BOB" web "$T/dave/key.cfg"
mkhost erin
"$CG" enroll -f "$T/erin/erin.conf" --token "$tok" --addr 127.0.0.1 \
    >"$T/erin/enroll.out" 2>&1
kdc_cli policy allow erin bob web >/dev/null 2>&1
if ! kdc_cli host list 2>&1 | grep erin | grep -qi active; then
	ok "a used token does not make a second host active"
else
	fail "token reused: erin is active"
fi
expect_poke "the second host cannot get a key" "ERROR (PENDING|SIG|DENIED)" \
    erin request --peer "$BOB" --service web
mkhost frank
"$CG" enroll -f "$T/frank/frank.conf" --addr 127.0.0.1 \
    --token "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
    >"$T/frank/enroll.out" 2>&1
if ! kdc_cli host list 2>&1 | grep frank | grep -qi active; then
	ok "a wrong token does not make the host active"
else
	fail "wrong token: frank is active"
fi

# --- enroll = token, enroll = closed ----------------------------------------
# restart_kdc WORDS: the KDC again, with "enroll = WORDS" (empty: default).
restart_kdc() {
	kdc_stop
	KDC_EXTRA=${1:+"enroll = $1"}
	write_kdc_conf
	kdc_start
}
if restart_kdc token; then
	mkhost gina
	out=$("$CG" enroll -f "$T/gina/gina.conf" --addr 127.0.0.1 2>&1)
	rc=$?
	if [ $rc -ne 0 ] && ! kdc_cli host list 2>&1 | grep -qw gina; then
		ok "enroll = token: enrolling without a token is refused, nothing stored"
	else
		fail "enroll = token without a token: exit $rc: $out"
	fi
	grep -q 'ENROLL .*refused (DENIED): enrollment needs a token' "$K/kdcd.log" &&
	    ok "enroll = token: the KDC logs why" ||
	    fail "enroll = token: no log line"
	tok=$(kdc_cli token create --ttl 10m 2>&1)
	out=$("$CG" enroll -f "$T/gina/gina.conf" --token "$tok" --addr 127.0.0.1 2>&1)
	if [ $? -eq 0 ] && printf '%s\n' "$out" | grep -qw active; then
		ok "enroll = token: with a token, active at once"
	else
		fail "enroll = token with a token: $out"
	fi
else
	fail "the KDC restarts with enroll = token"
fi
if restart_kdc closed; then
	mkhost hank
	tok=$(kdc_cli token create --ttl 10m 2>&1)
	out=$("$CG" enroll -f "$T/hank/hank.conf" --token "$tok" --addr 127.0.0.1 2>&1)
	rc=$?
	if [ $rc -ne 0 ] && ! kdc_cli host list 2>&1 | grep -qw hank &&
	    grep -q 'ENROLL .*refused (DENIED): enrollment is closed' "$K/kdcd.log"; then
		ok "enroll = closed: even a token holder is refused (host add only)"
	else
		fail "enroll = closed: exit $rc: $out"
	fi
else
	fail "the KDC restarts with enroll = closed"
fi
restart_kdc "" || fail "the KDC restarts with the default configuration"

# --- revocation -------------------------------------------------------------
check "revoke --key-id by the requesting host" \
    "$CG" revoke -f "$T/alice/alice.conf" --key-id "$KID"
check_fails "retrieve of the revoked key fails" \
    retrieve bob "$KID" web "$T/bob/revoked.cfg"
expect_poke "retrieve of the revoked key: ERROR DENIED" "ERROR DENIED" \
    bob retrieve --key-id "$KID" --service web --client-addr 127.0.0.1
expect_poke "before the admin revokes it, the ssh key is retrievable" \
    "RETRIEVE_RESP ok" \
    bob retrieve --key-id "$KID2" --service ssh --client-addr 127.0.0.1
check "kdc key revoke (admin)" kdc_cli key revoke "$KID2"
expect_poke "after kdc key revoke: ERROR DENIED" "ERROR DENIED" \
    bob retrieve --key-id "$KID2" --service ssh --client-addr 127.0.0.1
out=$(poke alice request --peer "$BOB" --service web)
K3=$(field key_id "$out")
check "revoke --all by the requesting host" \
    "$CG" revoke -f "$T/alice/alice.conf" --all
expect_poke "after revoke --all: ERROR DENIED" "ERROR DENIED" \
    bob retrieve --key-id "$K3" --service web --client-addr 127.0.0.1

# --- an RSA host in both roles ----------------------------------------------
if request rsa "$BOB" web "$T/rsa/key.cfg" >"$T/rsa/req.out" 2>&1 &&
    l=$(cat "$T/rsa/key.cfg") && grep -qE "$CFG_RE" "$T/rsa/key.cfg" &&
    retrieve bob "$(keyid_of "$l")" web "$T/bob/rsa.cfg" >/dev/null 2>&1 &&
    [ "$(cat "$T/bob/rsa.cfg")" = "$l" ]; then
	ok "RSA host as client: request, bob retrieves the same PSK"
else
	fail "RSA host as client"
	sed 's/^/#   /' "$T/rsa/req.out" | head -5
fi
if request bob "$RSA" web "$T/bob/torsa.cfg" >/dev/null 2>&1 &&
    l=$(cat "$T/bob/torsa.cfg") &&
    retrieve rsa "$(keyid_of "$l")" web "$T/rsa/frombob.cfg" \
        >"$T/rsa/ret.out" 2>&1 &&
    [ "$(cat "$T/rsa/frombob.cfg")" = "$l" ]; then
	ok "RSA host as peer: retrieves the same PSK"
else
	fail "RSA host as peer"
	sed 's/^/#   /' "$T/rsa/ret.out" | head -5
fi
out=$(poke rsa request --peer "$BOB" --service web)
if printf '%s' "$out" | grep -q '^REQUEST_RESP ok' &&
    [ "$(poke bob retrieve --key-id "$(field key_id "$out")" --service web \
        --client-addr 127.0.0.1 | sed -n 's/.* psk=//p')" = \
        "$(field psk "$out")" ]; then
	ok "suite 2 (RSA-OAEP) REQUEST_RESP opens; the peer's PSK matches"
else
	fail "suite 2 REQUEST_RESP"
	diag "$out"
fi

# --- expiry, then purge -----------------------------------------------------
if kdc_cli key list 2>&1 | grep -qi "$EXP1"; then
	ok "key list shows the 60 s key"
else
	fail "key list shows the 60 s key ($EXP1)"
fi
# (2 s for the request to reach the KDC; CG_SLOW times that under valgrind)
left=$(((t_exp + 60000 + 2000 * CG_SLOW - $(now_ms)) / 1000))
[ "$left" -gt 0 ] && diag "waiting ${left}s for the 60 s key to expire" &&
    sleep "$left"
expect_poke "the 2 s key is expired: ERROR DENIED" "ERROR DENIED" \
    bob retrieve --key-id "$EXP2" --service web --client-addr 127.0.0.1
check_fails "retrieve of the expired 60 s key fails" \
    retrieve bob "$EXP1" web "$T/bob/expired.cfg"
expect_poke "the 60 s key is expired: ERROR DENIED" "ERROR DENIED" \
    bob retrieve --key-id "$EXP1" --service web --client-addr 127.0.0.1
check "kdc key purge" kdc_cli key purge
# Under valgrind (CG_SLOW) the daemon's clock-driven steps lag: purge
# again, a bounded number of times, before calling it a failure.
purged=false
for i in $(seq 1 $((5 * CG_SLOW))); do
	[ "$i" = 1 ] || kdc_cli key purge >/dev/null 2>&1
	if ! kdc_cli key list 2>&1 | grep -qi "$EXP1"; then
		purged=true
		break
	fi
	[ "$CG_SLOW" -gt 1 ] || break
	sleep 2
done
if $purged; then
	ok "the expired key is purged"
else
	fail "the expired key is still listed after purge"
	kdc_cli key list 2>&1 | grep -i "$EXP1" | sed 's/^/#   /'
	date -u +'#   now %s'
fi

# --- the end: audit chain, integrity, clean shutdown --------------------------
if alive; then ok "the daemon is still running"; else fail "the daemon died"; fi
check "kdc audit verify" kdc_cli audit verify
if kdc_cli audit show 2>&1 | grep -qiE "$(hid alice)|alice" &&
    ! kdc_cli audit show 2>&1 | grep -qF "${line#*:}"; then
	ok "audit show lists alice's requests and no PSK"
else
	fail "audit show"
fi
kdc_stop
rc=$?
if [ $rc -eq 0 ]; then ok "SIGTERM: clean exit"; else fail "SIGTERM: exit $rc"; fi
check "PRAGMA integrity_check: ok" integrity_ok

# A master key that is not this database's (a backup restored with the
# wrong file, a re-init elsewhere): refused at start, not as INTERNAL
# answers later.  (Keys exist by now.)
cp "$K/master.key" "$K/master.key.good"
printf 'cryptgate-master-v1 1 %s\n' \
    "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$K/master.key"
chmod 600 "$K/master.key"
out=$("$CG_KDCD" -f "$K/kdc.conf" -n 2>&1)
rc=$?
if [ $rc -ne 0 ] && printf '%s' "$out" | grep -q 'master_key does not open the stored session keys'; then
	ok "a master key that does not open the stored keys: refused at start (exit $rc)"
else
	fail "wrong master key: exit $rc: $out"
fi
cp "$K/master.key.good" "$K/master.key"
check "the right master key: configuration OK again" "$CG_KDCD" -f "$K/kdc.conf" -n
if sanitizer_clean "$K/kdcd.log"; then
	ok "no sanitizer report from the daemon"
else
	fail "sanitizer report from the daemon"
	grep -A15 -E 'Sanitizer|runtime error' "$K/kdcd.log" | head -30 | sed 's/^/#   /'
fi
done_testing
