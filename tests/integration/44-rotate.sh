#!/usr/bin/env bash
# 44-rotate: `cryptgate rotate` against the real KDC.  A host rotates its key
# (new key file with Host-Id and Key-Version lines, 0600; the old one kept as
# .old; same host id; key version 2, then 3 with --new-key; an RSA host
# switches to X25519); REQUEST and RETRIEVE work with the new key; the old
# key works until the end of its grace period and is refused (EXPIRED)
# after it (the grace is 24 h and not configurable: the test ends it in
# the database); a server gateway keeps using the key it loaded until
# SIGHUP, then carries connections with the new one; a rotation that fails
# (KDC down, revoked host) leaves the key file untouched; usage errors exit
# 2; the audit chain verifies and shows the rotations.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kdc-lib.sh"
. "$(dirname "$0")/gw-lib.sh"

need_kdcd "key rotation"
GW=$CG_GATEWAYD
T_ROT=$T/rot.out

# rotate NAME ARGS...: cryptgate rotate as NAME; stdout in $T_ROT, stderr
# in $T_ROT.err; the exit status.
rotate() {
	local n=$1
	shift
	"$CG" rotate -f "$T/$n/$n.conf" "$@" >"$T_ROT" 2>"$T_ROT.err"
}

# request NAME PEER OUT [CONF]: cryptgate request for service web.
request() {
	"$CG" request -f "${4:-$T/$1/$1.conf}" --peer "$2" --service web \
	    --client-addr 127.0.0.1 -o "$3"
}

# keyid FILE: the key id of the (only) line of a key.cfg.
keyid() { sed -n 's/^kdc1-\([0-9a-f]\{32\}\):.*/\1/p' "$1" | head -1; }

# kvno_at_kdc NAME: the KVNO column of `kdc host list` for NAME.
kvno_at_kdc() { kdc_cli host list | awk -v n="$1" '$1 == n { print $5 }'; }

# expire NAME KVNO: end the grace period of NAME's key version KVNO now
# (what the KDC's clock would do 24 h after the rotation).
expire() {
	sqlite3 -cmd '.timeout 5000' "$DB" "UPDATE host_keys SET
	    valid_until_ms = $(($(now_ms) - 1000)) WHERE kvno = $2 AND
	    host_id = X'$(hid "$1")';"
}

# show_rot: the last rotate's output, into the log.
show_rot() { sed 's/^/#   /' "$T_ROT" "$T_ROT.err" | head -10; }

# --- usage -------------------------------------------------------------------
out=$("$CG" rotate --help 2>&1)
if [ $? -eq 0 ] && printf '%s' "$out" | grep -q -- '--new-key' &&
    printf '%s' "$out" | grep -q 'EXIT STATUS'; then
	ok "rotate --help: exit 0, documents --new-key and the exit status"
else
	fail "rotate --help"
fi
for args in "" "-f" "-f x.conf -t dsa" "-f x.conf --bogus" "-f x.conf extra" \
    "-f x.conf -t x25519 --new-key k.key"; do
	# shellcheck disable=SC2086 # word splitting wanted
	"$CG" rotate $args >/dev/null 2>"$T/usage.err"
	rc=$?
	if [ $rc -eq 2 ] && [ "$(wc -l <"$T/usage.err")" -eq 1 ]; then
		ok "rotate $args: usage error, exit 2, one line"
	else
		fail "rotate $args: exit $rc"
		sed 's/^/#   /' "$T/usage.err"
	fi
done

# --- setup -------------------------------------------------------------------
kdc_setup || { fail "kdc init"; done_testing; }
for h in alice bob dave; do mkhost "$h" || fail "keygen $h"; done
mkhost carol rsa3072 || fail "keygen carol"
for h in alice bob carol dave; do add_host "$h" || fail "host add $h"; done
for h in alice carol dave; do
	kdc_cli policy allow "$h" bob web >/dev/null || fail "policy $h"
	printf '[peer bob]\nid = %s\n' "$(hid bob)" >>"$T/$h/$h.conf"
done
if ! kdc_start; then
	fail "cryptgate-kdcd starts"
	sed 's/^/#   /' "$K/kdcd.log" | head -20
	done_testing
fi
ok "KDC with hosts alice, bob, carol (RSA) and dave"

# A config that uses alice's first key (kept as alice.key.old later).
A=$T/alice
sed 's|^key = .*|key = alice.key.v1|' "$A/alice.conf" >"$A/old.conf"
cp -p "$A/alice.key" "$A/alice.key.v1"
check "before: alice requests a key" request alice bob "$T/k0.cfg"

# --- rotate alice: 1 -> 2 ----------------------------------------------------
t0=$(now_ms)
if rotate alice; then
	ok "rotate alice: exit 0"
else
	fail "rotate alice: exit $?"
	show_rot
fi
until=$(sed -n 's/^old key version 1 valid until: //p' "$T_ROT")
until_s=$(date -u -d "$until" +%s 2>/dev/null || echo 0)
if grep -qx 'key version: 2' "$T_ROT" &&
    grep -qx "host id: $(hid alice)" "$T_ROT" &&
    [ $((until_s - t0 / 1000)) -ge 86390 ] &&
    [ $((until_s - t0 / 1000)) -le 86410 ]; then
	ok "rotate prints the host id, key version 2, old key valid 24 h ($until)"
else
	fail "rotate output"
	show_rot
fi
if [ "$(stat -c %a "$A/alice.key")" = 600 ] &&
    [ "$(stat -c %a "$A/alice.key.old")" = 600 ] &&
    cmp -s "$A/alice.key.old" "$A/alice.key.v1" &&
    ! cmp -s "$A/alice.key" "$A/alice.key.v1" &&
    [ ! -e "$A/alice.key.new" ] &&
    [ -z "$(find "$A" -name '*.rotate-*')" ]; then
	ok "new alice.key (0600), old key kept as alice.key.old (0600), no leftovers"
else
	fail "key files after the rotation"
	ls -la "$A" | sed 's/^/#   /'
fi
if [ "$(sed -n 1p "$A/alice.key")" = "Host-Id: $(hid alice)" ] &&
    [ "$(sed -n 2p "$A/alice.key")" = "Key-Version: 2" ] &&
    openssl pkey -in "$A/alice.key" -noout 2>/dev/null; then
	ok "alice.key: Host-Id and Key-Version lines, then PEM openssl reads"
else
	fail "alice.key contents"
	head -3 "$A/alice.key" | sed 's/^/#   /'
fi
check "the KDC lists alice with key version 2" test "$(kvno_at_kdc alice)" = 2
# pubkey: the .pub line of the new keys themselves (its id is theirs, so
# that it parses), and a word that the KDC knows the host by its first id.
line=$("$CG" pubkey "$A/alice.key" 2>"$T/pubkey.err")
rc=$?
if [ $rc -eq 0 ] && [ -n "$line" ] &&
    ! printf '%s\n' "$line" | grep -q " $(hid alice) " &&
    grep -q "rotated key (Key-Version 2): the KDC knows this host as $(hid alice)" \
        "$T/pubkey.err"; then
	ok "pubkey on the rotated key: the new keys' own line, and alice's id at the KDC on stderr"
else
	fail "pubkey on the rotated key (exit $rc): $line / $(cat "$T/pubkey.err")"
fi

# --- the new key works; the old one too, until its grace ends ----------------
if request alice bob "$T/k1.cfg" >/dev/null 2>"$T/req.err" &&
    "$CG" retrieve -f "$T/bob/bob.conf" --key-id "$(keyid "$T/k1.cfg")" \
        --client-addr 127.0.0.1 --service web -o "$T/k1b.cfg" \
        >/dev/null 2>&1 &&
    cmp -s "$T/k1.cfg" "$T/k1b.cfg"; then
	ok "new key: alice's REQUEST works, bob's RETRIEVE gets the same PSK"
else
	fail "REQUEST/RETRIEVE with alice's new key"
	sed 's/^/#   /' "$T/req.err"
fi
check "old key (version 1) still works during the grace period" \
    request alice bob "$T/k2.cfg" "$A/old.conf"
check "expire alice's key version 1 in the database" expire alice 1
out=$(request alice bob "$T/k3.cfg" "$A/old.conf" 2>&1)
if [ $? -eq 1 ] && printf '%s' "$out" | grep -q 'EXPIRED'; then
	ok "old key after the grace period: refused (EXPIRED)"
else
	fail "old key after the grace period"
	printf '%s\n' "$out" | sed 's/^/#   /'
fi
check "new key still works" request alice bob "$T/k4.cfg"

# --- rotate again with --new-key: 2 -> 3 ------------------------------------
"$CG" keygen -o "$T/alice3" >/dev/null 2>&1 || fail "keygen alice3"
cp -p "$T/alice3.key" "$T/alice3.copy"
cp -p "$A/alice.key" "$A/alice.key.v2"
if rotate alice --new-key "$T/alice3.key" &&
    grep -qx 'key version: 3' "$T_ROT" &&
    grep -q '^old key version 2 valid until: ' "$T_ROT"; then
	ok "rotate --new-key: key version 3"
else
	fail "rotate --new-key"
	show_rot
fi
if cmp -s "$T/alice3.key" "$T/alice3.copy" &&
    cmp -s "$A/alice.key.old" "$A/alice.key.v2" &&
    [ "$(sed -n 2p "$A/alice.key")" = "Key-Version: 3" ] &&
    [ "$(sed -n '3,$p' "$A/alice.key" | sha256sum)" = \
        "$(sha256sum <"$T/alice3.key")" ]; then
	ok "alice.key is the --new-key key as version 3; the file given is unchanged"
else
	fail "files after rotate --new-key"
fi
check "key version 3 works" request alice bob "$T/k5.cfg"
check "the KDC lists alice with key version 3" test "$(kvno_at_kdc alice)" = 3
rotate alice --new-key "$A/alice.key"
rc=$?
if [ $rc -eq 1 ] && grep -q 'current key\|rotated key' "$T_ROT.err" &&
    [ "$(kvno_at_kdc alice)" = 3 ]; then
	ok "rotate --new-key with the current key: refused, nothing sent"
else
	fail "rotate --new-key with the current key: exit $rc"
	show_rot
fi

# --- an RSA host becomes an X25519 host ---------------------------------------
if rotate carol -t x25519 &&
    kdc_cli host list | awk '$1 == "carol"' | grep -q x25519 &&
    request carol bob "$T/kc.cfg" >/dev/null 2>&1; then
	ok "rotate carol (RSA) -t x25519: the KDC has an X25519 key, REQUEST works"
else
	fail "rotate carol -t x25519"
	show_rot
fi

# --- failures leave the key alone ---------------------------------------------
kdc_cli host revoke dave >/dev/null 2>&1 || fail "host revoke dave"
cp -p "$T/dave/dave.key" "$T/dave.copy"
rotate dave
rc=$?
if [ $rc -eq 1 ] && [ "$(wc -l <"$T_ROT.err")" -eq 1 ] &&
    grep -q 'DENIED' "$T_ROT.err" && cmp -s "$T/dave/dave.key" "$T/dave.copy" &&
    [ ! -e "$T/dave/dave.key.new" ] && [ ! -e "$T/dave/dave.key.old" ]; then
	ok "revoked host: rotate fails (DENIED, one line), key untouched"
else
	fail "rotate as a revoked host: exit $rc"
	show_rot
fi

cp -p "$A/alice.key" "$T/alice.copy"
cp -p "$A/alice.key.old" "$T/alice.old.copy"
kdc_stop
rotate alice
rc=$?
if [ $rc -eq 1 ] && [ "$(wc -l <"$T_ROT.err")" -eq 1 ] &&
    grep -q 'no KDC answered' "$T_ROT.err" &&
    cmp -s "$A/alice.key" "$T/alice.copy" &&
    cmp -s "$A/alice.key.old" "$T/alice.old.copy" &&
    [ -e "$A/alice.key.new" ]; then
	ok "KDC down: rotate fails (one line), alice.key untouched, new key kept as .new"
else
	fail "rotate with the KDC down: exit $rc"
	show_rot
fi
rotate alice
rc=$?
if [ $rc -eq 1 ] && grep -q 'alice.key.new exists' "$T_ROT.err" &&
    cmp -s "$A/alice.key" "$T/alice.copy"; then
	ok "a leftover alice.key.new: rotate refuses and says what to do"
else
	fail "rotate with a leftover .new: exit $rc"
	show_rot
fi
rm -f "$A/alice.key.new"
if ! kdc_start; then
	fail "cryptgate-kdcd restarts"
	done_testing
fi
check "after the failures alice (version 3) still works" \
    request alice bob "$T/k6.cfg"

# --- gateways: bob's server gateway picks up its new key on SIGHUP -----------
BP=$(free_port) && BS=$(free_port) && AL=$(free_port) ||
    { fail "free ports"; done_testing; }
socat "TCP-LISTEN:$BP,bind=127.0.0.1,reuseaddr,fork" EXEC:cat \
    2>"$T/backend.err" &
cleanup_pid $!
cat >"$T/gwbob.conf" <<EOF
[gateway]
host_config = bob/bob.conf
workers = 1
status_socket = $T/gwbob.sock
[service web]
role = server
listen = 127.0.0.1:$BS
backend = 127.0.0.1:$BP
EOF
cat >"$T/gwalice.conf" <<EOF
[gateway]
host_config = alice/alice.conf
workers = 1
status_socket = $T/gwalice.sock
[service web]
role = client
listen = 127.0.0.1:$AL
connect = 127.0.0.1:$BS
peer = bob
EOF
# roundtrip: a line through alice's gateway to bob's backend and back.
roundtrip() {
	[ "$(echo "hello $1" | timeout 10 socat -t 3 - "TCP:127.0.0.1:$AL")" = \
	    "hello $1" ]
}
# alice_restart: a new client gateway, so a new key id bob must RETRIEVE.
alice_restart() {
	gw_stop gwalice >/dev/null 2>&1
	gw_start gwalice "$AL"
}
if gw_start gwbob "$BS" && gw_start gwalice "$AL" && roundtrip 1; then
	ok "gateways carry a connection (alice with its version 3 key)"
else
	fail "gateways with alice's rotated key"
	show "$T/gwbob.log" "$T/gwalice.log"
fi
check "rotate bob" rotate bob
check "bob's running gateway still uses its old key (in its grace period)" \
    roundtrip 2
check "expire bob's key version 1" expire bob 1
if alice_restart && ! roundtrip 3 && grep -q "(EXPIRED)" "$T/gwbob.log"; then
	ok "without SIGHUP bob's gateway retrieves with its expired key: refused"
else
	fail "bob's gateway with an expired key should fail a new key id"
	show "$T/gwbob.log"
fi
kill -HUP "$PID_gwbob"
sleep 1
if alice_restart && roundtrip 4; then
	ok "after SIGHUP bob's gateway uses its new key: connection carried"
else
	fail "bob's gateway after SIGHUP"
	show "$T/gwbob.log" "$T/gwalice.log"
fi
gw_stop gwalice >/dev/null 2>&1
gw_stop gwbob >/dev/null 2>&1
if sanitizer_clean "$T/gwbob.log" && sanitizer_clean "$T/gwalice.log"; then
	ok "gateways: no sanitizer report"
else
	fail "gateways: sanitizer report"
	show "$T/gwbob.log" "$T/gwalice.log"
fi

# --- the audit chain ------------------------------------------------------------
check "kdc audit verify" kdc_cli audit verify
n=$(kdc_cli audit show 2>/dev/null | grep -c 'op="ROTATE".*new_kvno=')
if [ "$n" -ge 4 ] &&
    kdc_cli audit show | grep 'op="ROTATE"' | grep -q "host=$(hid alice) new_kvno=3"; then
	ok "audit show lists the rotations ($n), alice's to version 3"
else
	fail "audit show: $n ROTATE records"
	kdc_cli audit show | grep -i rotate | head -5 | sed 's/^/#   /'
fi
kdc_stop
rc=$?
if [ $rc -eq 0 ] && sanitizer_clean "$K/kdcd.log"; then
	ok "KDC stops cleanly, no sanitizer report"
else
	fail "KDC exit $rc or sanitizer report"
	tail -20 "$K/kdcd.log" | sed 's/^/#   /'
fi
done_testing
