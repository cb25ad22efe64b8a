#!/usr/bin/env bash
# 31-kdc-admin: the offline KDC administration commands (cryptgate kdc ...)
# against the real binary: init (files, modes, refusal, --force), host
# add/list/approve/revoke/remove, policy allow/deny/list, token create, key
# list/revoke/purge, audit verify/show, a tampered audit log, and one clear
# error line (exit 1 or 2, no sanitizer report) for every bad input.
. "$(dirname "$0")/lib.sh"

T=$TMPDIR_T
OUT=$T/out
ERR=$T/err

# run_cg ARGS...: run $CG, stdout to $OUT, stderr to $ERR; sets $rc.
run_cg() {
	"$CG" "$@" >"$OUT" 2>"$ERR"
	rc=$?
}

# sane: nothing from the sanitizers in $ERR.
sane() { ! grep -qE 'Sanitizer|runtime error' "$ERR"; }

# good DESC ARGS...: $CG ARGS exits 0 with an empty stderr.
good() {
	local desc=$1
	shift
	run_cg "$@"
	if [ "$rc" -eq 0 ] && [ ! -s "$ERR" ]; then
		ok "$desc"
		return 0
	fi
	fail "$desc (exit $rc)"
	sed 's/^/#   /' "$ERR" | head -20
	return 1
}

# one_error DESC WANT_RC PATTERN ARGS...: $CG ARGS exits WANT_RC with
# exactly one stderr line, "cryptgate: ..." matching PATTERN, and no
# sanitizer report.
one_error() {
	local desc=$1 want=$2 pat=$3
	shift 3
	run_cg "$@"
	if [ "$rc" -eq "$want" ] && [ "$(wc -l <"$ERR")" -eq 1 ] &&
	    grep -q '^cryptgate: ' "$ERR" && grep -qE -- "$pat" "$ERR" && sane; then
		ok "$desc"
	else
		fail "$desc (exit $rc, want $want)"
		sed 's/^/#   /' "$ERR" | head -20
	fi
}

# out_has DESC PATTERN: the last stdout matches PATTERN (grep -E).
out_has() {
	if grep -qE -- "$2" "$OUT"; then
		ok "$1"
	else
		fail "$1"
		sed 's/^/#   /' "$OUT" | head -20
	fi
}

# mode FILE: its permission bits in octal.
mode() { stat -c %a "$1"; }

# Every successful admin change appends one audit record.
changes=0

if [ ! -x "$CG" ]; then
	fail "cryptgate binary $CG not built"
	done_testing
fi
have_sqlite=1
command -v sqlite3 >/dev/null 2>&1 || have_sqlite=0

mkdir -p "$T/etc" "$T/lib" "$T/hosts"
chmod 700 "$T/etc" "$T/lib"
C=$T/etc/kdc.conf
cat >"$C" <<EOF
[kdc]
name = kdc-test
database = ../lib/kdc.db
signing_key = kdc.key
master_key = master.key
EOF
DB=$T/lib/kdc.db

# --- usage and help ---------------------------------------------------------
good "kdc --help exits 0" kdc --help
out_has "kdc --help lists every command" 'audit verify'
for c in "init" "host add" "host approve" "host remove" "host revoke" \
    "host list" "policy allow" "policy deny" "policy list" "key list" \
    "key revoke" "key purge" "token create" "audit verify" "audit show"; do
	# shellcheck disable=SC2086
	run_cg kdc $c --help
	if [ "$rc" -eq 0 ] && grep -q "^usage: cryptgate kdc $c -f kdc.conf" "$OUT" &&
	    grep -q 'Exit status' "$OUT"; then
		ok "kdc $c --help"
	else
		fail "kdc $c --help (exit $rc)"
	fi
done
good "kdc host -h lists the host commands" kdc host -h
out_has "kdc host -h names approve" 'approve'
run_cg kdc
check "kdc without a command: usage, exit 2" test "$rc" -eq 2
one_error "unknown kdc command: exit 2" 2 "unknown command 'bogus'" kdc bogus
one_error "unknown host command: exit 2" 2 "kdc host: unknown command 'frob'" kdc host frob
one_error "missing -f: exit 2" 2 'missing -f kdc.conf' kdc host list
one_error "extra argument: exit 2" 2 "unexpected argument 'x'" kdc host list -f "$C" x
one_error "missing argument: exit 2" 2 'missing argument' kdc host add -f "$C"
one_error "option of another command: exit 2" 2 'unknown option --force' kdc host list -f "$C" --force
one_error "bad --ttl: exit 2" 2 "--ttl 'soon'" kdc token create -f "$C" --ttl soon
one_error "--ttl over 7d: exit 2" 2 "--ttl '8d'" kdc token create -f "$C" --ttl 8d
one_error "bad --since: exit 2" 2 "--since '0'" kdc audit show -f "$C" --since 0
one_error "bad --addr: exit 2" 2 "--addr '300.1.1.1'" kdc host add -f "$C" --addr 300.1.1.1 x.pub

# --- before init ------------------------------------------------------------
one_error "missing config: exit 1" 1 'nosuch.conf' kdc host list -f "$T/nosuch.conf"
one_error "no database yet: exit 1, says to run init" 1 'kdc init' kdc host list -f "$C"

# --- init -------------------------------------------------------------------
run_cg kdc init -f "$C"
if [ "$rc" -eq 0 ] && [ -f "$DB" ] && [ -f "$T/etc/kdc.key" ] &&
    [ -f "$T/etc/kdc.pub" ] && [ -f "$T/etc/master.key" ] && sane; then
	ok "kdc init creates the database, kdc.key, kdc.pub and master.key"
	if [ -s "$ERR" ]; then
		fail "kdc init: nothing on stderr"
		sed 's/^/#   /' "$ERR" | head -20
	else
		ok "kdc init: nothing on stderr"
	fi
else
	fail "kdc init (exit $rc)"
	sed 's/^/#   /' "$ERR" | head -20
	done_testing
fi
changes=1
check "kdc init: first stdout line is the .pub line" \
    test "$(sed -n 1p "$OUT")" = "$(cat "$T/etc/kdc.pub")"
out_has "kdc init prints the path of kdc.pub to pin" "public_key = $T/etc/kdc.pub"
check "kdc init: kdc.pub comment is the KDC name" test "$(cut -d' ' -f6 "$T/etc/kdc.pub")" = kdc-test
check "kdc init: kdc.pub is an x25519 identity" test "$(cut -d' ' -f2 "$T/etc/kdc.pub")" = x25519
check "database is mode 600" test "$(mode "$DB")" = 600
check "kdc.key is mode 600" test "$(mode "$T/etc/kdc.key")" = 600
check "master.key is mode 600" test "$(mode "$T/etc/master.key")" = 600
check "kdc.pub is mode 644" test "$(mode "$T/etc/kdc.pub")" = 644
check "master.key holds one cryptgate-master-v1 line, version 1" \
    grep -qE '^cryptgate-master-v1 1 [0-9a-f]{64}$' "$T/etc/master.key"
check "cryptgate pubkey of kdc.key matches kdc.pub" \
    test "$("$CG" pubkey -c kdc-test "$T/etc/kdc.key" 2>/dev/null)" = "$(cat "$T/etc/kdc.pub")"

cp "$T/etc/kdc.pub" "$T/kdc.pub.1"
cp "$T/etc/master.key" "$T/master.key.1"
one_error "re-init refused, naming the files" 1 'already exist.*--force' kdc init -f "$C"
if grep -q "database .*/kdc.db" "$ERR" && grep -q 'master key' "$ERR"; then
	ok "re-init error names which files exist"
else
	fail "re-init error names which files exist"
	sed 's/^/#   /' "$ERR"
fi
check "re-init left kdc.pub alone" cmp -s "$T/etc/kdc.pub" "$T/kdc.pub.1"
check "re-init left master.key alone" cmp -s "$T/etc/master.key" "$T/master.key.1"
mv "$T/etc/kdc.pub" "$T/kdc.pub.moved"
one_error "init refused while the other files exist, kdc.pub missing" 1 'already exist' kdc init -f "$C"
mv "$T/kdc.pub.moved" "$T/etc/kdc.pub"

run_cg kdc init -f "$C" --force
if [ "$rc" -eq 0 ] && sane && ! cmp -s "$T/etc/kdc.pub" "$T/kdc.pub.1" &&
    ! cmp -s "$T/etc/master.key" "$T/master.key.1"; then
	ok "kdc init --force makes a new identity and master key"
else
	fail "kdc init --force (exit $rc)"
	sed 's/^/#   /' "$ERR" | head -20
fi
check "after --force: database mode 600" test "$(mode "$DB")" = 600
changes=1 # a fresh database
good "audit verify after init" kdc audit verify -f "$C"
out_has "audit verify: 1 record after init" '^audit chain OK: 1 record$'

# --- hosts ------------------------------------------------------------------
for h in web1 db1 app1 other; do
	"$CG" keygen -o "$T/hosts/$h" >/dev/null 2>&1 || fail "keygen $h"
done
"$CG" keygen -c web1 -o "$T/hosts/web1b" >/dev/null 2>&1 || fail "keygen web1b"
"$CG" keygen -c 'not a name' -o "$T/hosts/badcomment" >/dev/null 2>&1 || fail "keygen badcomment"
id_of() { cut -d' ' -f3 "$T/hosts/$1.pub"; }
WEB1=$(id_of web1)
DB1=$(id_of db1)

good "host add web1 with two addresses" kdc host add -f "$C" --addr 192.0.2.10 \
    --addr 2001:db8::10 "$T/hosts/web1.pub" && changes=$((changes + 1))
out_has "host add prints name and id" "host web1 \($WEB1\) added, active"
good "host add --name database-1" kdc host add -f "$C" --name database-1 \
    "$T/hosts/db1.pub" && changes=$((changes + 1))
good "host add app1" kdc host add -f "$C" "$T/hosts/app1.pub" && changes=$((changes + 1))
one_error "duplicate host id refused" 1 "host id $WEB1 .*already in the database" \
    kdc host add -f "$C" --name web-again "$T/hosts/web1.pub"
one_error "duplicate host name refused" 1 "named 'web1' is already" \
    kdc host add -f "$C" "$T/hosts/web1b.pub"
one_error "invalid --name refused" 1 "invalid host name 'a/b'" \
    kdc host add -f "$C" --name a/b "$T/hosts/other.pub"
one_error "a name that looks like an id refused" 1 'invalid host name' \
    kdc host add -f "$C" --name "$WEB1" "$T/hosts/other.pub"
one_error "a .pub comment that is no host name: asks for --name" 1 'give the name with --name' \
    kdc host add -f "$C" "$T/hosts/badcomment.pub"
one_error "a missing .pub file" 1 'nosuch.pub' kdc host add -f "$C" "$T/hosts/nosuch.pub"
one_error "a .key file instead of a .pub" 1 'web1.key' kdc host add -f "$C" "$T/hosts/web1.key"

good "host list" kdc host list -f "$C"
check "host list: a header and 3 hosts" test "$(wc -l <"$OUT")" -eq 4
out_has "host list: header" '^NAME +HOST ID +TYPE +STATE +KVNO +ADDRESSES +CREATED$'
out_has "host list: web1 row" "^web1 +$WEB1 +x25519 +active +1 +192\.0\.2\.10,2001:db8::10 +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$"
out_has "host list: database-1 row, no address" "^database-1 +$DB1 +x25519 +active +1 +- +"

one_error "approve an active host refused" 1 'not pending approval: it is active' \
    kdc host approve -f "$C" web1
one_error "approve an unknown host" 1 "no host named 'nosuch'" kdc host approve -f "$C" nosuch
one_error "approve an unknown id" 1 "no host with id 0{32}" kdc host approve -f "$C" 00000000000000000000000000000000
one_error "a bad host name or id" 1 "'bad!name' is neither" kdc host approve -f "$C" 'bad!name'
if [ $have_sqlite = 1 ]; then
	# Only the daemon makes pending hosts (ENROLL): fake one.
	sqlite3 "$DB" "UPDATE hosts SET state = 1 WHERE name = 'app1';"
	run_cg kdc host list -f "$C"
	out_has "app1 is pending" '^app1 .* pending '
	good "host approve app1 (by id)" kdc host approve -f "$C" "$(id_of app1)" &&
	    changes=$((changes + 1))
	out_has "approve says active" 'approved, active'
	run_cg kdc host list -f "$C"
	out_has "app1 is active" '^app1 .* active '
else
	skip "host approve" "sqlite3 CLI not installed"
fi

good "host revoke web1" kdc host revoke -f "$C" web1 && changes=$((changes + 1))
out_has "host revoke prints the key count" 'revoked; 0 session keys revoked'
run_cg kdc host list -f "$C"
out_has "web1 is revoked" "^web1 +$WEB1 +x25519 +revoked "
one_error "revoke an unknown host" 1 "no host named 'ghost'" kdc host revoke -f "$C" ghost

# --- policy -----------------------------------------------------------------
good "policy allow by names" kdc policy allow -f "$C" app1 database-1 ftp &&
    changes=$((changes + 1))
good "policy allow by ids, any service" kdc policy allow -f "$C" "$DB1" "$WEB1" '*' &&
    changes=$((changes + 1))
one_error "duplicate rule refused" 1 'may already get keys' kdc policy allow -f "$C" app1 database-1 ftp
one_error "bad service name" 1 "invalid service name 'ftp/x'" kdc policy allow -f "$C" app1 database-1 ftp/x
one_error "service name too long" 1 'invalid service name' \
    kdc policy allow -f "$C" app1 database-1 "$(printf 'a%.0s' $(seq 65))"
one_error "unknown client" 1 "no host named 'nosuch'" kdc policy allow -f "$C" nosuch database-1 ftp
one_error "unknown peer" 1 "no host with id f{32}" kdc policy allow -f "$C" app1 ffffffffffffffffffffffffffffffff ftp
good "policy list" kdc policy list -f "$C"
check "policy list: header and 2 rules" test "$(wc -l <"$OUT")" -eq 3
out_has "policy list: app1 -> database-1 ftp" '^app1 +database-1 +ftp$'
out_has "policy list: database-1 -> web1 *" '^database-1 +web1 +\*$'
good "policy deny" kdc policy deny -f "$C" app1 database-1 ftp && changes=$((changes + 1))
one_error "deny a rule that does not exist" 1 'no rule lets app1' kdc policy deny -f "$C" app1 database-1 ftp
run_cg kdc policy list -f "$C"
check "policy list: 1 rule left" test "$(wc -l <"$OUT")" -eq 2

# --- tokens -----------------------------------------------------------------
good "token create" kdc token create -f "$C" && changes=$((changes + 1))
TOKEN=$(cat "$OUT")
if [[ $TOKEN =~ ^[0-9a-f]{64}$ ]]; then ok "token is 64 hex digits, alone on stdout"; else fail "token output: $TOKEN"; fi
good "token create --ttl 30m" kdc token create -f "$C" --ttl 30m && changes=$((changes + 1))
check "two tokens differ" test "$(cat "$OUT")" != "$TOKEN"
if [ $have_sqlite = 1 ]; then
	# shellcheck disable=SC2059
	want_id=$(printf "$(printf '%s' "$TOKEN" | sed 's/../\\x&/g')" | sha256sum | cut -c1-32)
	check "token_id = SHA-256(token)[0..16) is in the tokens table" \
	    test "$(sqlite3 "$DB" "SELECT count(*) FROM tokens WHERE hex(token_id) = upper('$want_id');")" = 1
	check "tokens table holds 2 wrapped tokens of 32 + 29 bytes" \
	    test "$(sqlite3 "$DB" "SELECT count(*) FROM tokens WHERE length(wrapped) = 61;")" = 2
fi
if grep -qi "$TOKEN" "$DB" "$DB-wal" 2>/dev/null; then
	fail "the token appears in the database files"
else
	ok "the token is not in the database files (hex)"
fi

# --- keys -------------------------------------------------------------------
good "key list (empty)" kdc key list -f "$C"
check "key list: only the header" test "$(wc -l <"$OUT")" -eq 1
out_has "key list header" '^KEY ID +CLIENT +PEER +SERVICE +CLIENT ADDR +NOT BEFORE +NOT AFTER +STATE$'
one_error "key revoke: bad id" 1 "invalid key id 'xyz'" kdc key revoke -f "$C" xyz
one_error "key revoke: unknown id" 1 'no session key with id 0{31}1' \
    kdc key revoke -f "$C" 00000000000000000000000000000001
if [ $have_sqlite = 1 ]; then
	# Only the daemon issues keys: plant two rows (wrapped bytes opaque here).
	now=$(($(date +%s) * 1000))
	sqlite3 "$DB" "INSERT INTO session_keys VALUES (
	    x'11111111111111111111111111111111', x'$DB1', x'$WEB1', 'ftp',
	    x'04' || x'00000000000000000000ffffc0000263', $((now - 60000)),
	    $((now + 3600000)), 0, zeroblob(61));
	    INSERT INTO session_keys VALUES (
	    x'22222222222222222222222222222222', x'$DB1', x'$WEB1', 'ssh',
	    x'06' || x'20010db8000000000000000000000001', $((now - 7200000)),
	    $((now - 3600000)), 0, zeroblob(61));
	    INSERT INTO session_keys VALUES (
	    x'33333333333333333333333333333333', x'$DB1', x'$WEB1', 'smtp',
	    x'04' || x'00000000000000000000ffffc0000264', $((now + 600000)),
	    $((now + 4200000)), 0, zeroblob(61));"
	good "key list with three keys" kdc key list -f "$C"
	out_has "valid key row" '^1{32} +database-1 +web1 +ftp +192\.0\.2\.99 +[0-9T:-]+Z +[0-9T:-]+Z +valid$'
	out_has "expired key row" '^2{32} +database-1 +web1 +ssh +2001:db8::1 +.* expired$'
	out_has "future key row" '^3{32} +database-1 +web1 +smtp +192\.0\.2\.100 +.* not yet valid$'
	if grep -q 00000000000000000000 "$OUT"; then fail "key list shows wrapped bytes"; else ok "key list shows no key bytes"; fi
	good "key revoke" kdc key revoke -f "$C" 11111111111111111111111111111111 &&
	    changes=$((changes + 1))
	run_cg kdc key list -f "$C"
	out_has "revoked key row" '^1{32} .* revoked$'
	good "key purge" kdc key purge -f "$C" && changes=$((changes + 1))
	out_has "key purge: 1 expired key" '^purged 1 expired session key$'
	run_cg kdc key list -f "$C"
	check "key list: the expired key is gone" test "$(wc -l <"$OUT")" -eq 3
	good "host revoke database-1 revokes its keys" kdc host revoke -f "$C" database-1 &&
	    changes=$((changes + 1))
	out_has "host revoke counts 1 key" 'revoked; 1 session key revoked'
else
	skip "key revoke/purge on planted keys" "sqlite3 CLI not installed"
	good "key purge" kdc key purge -f "$C" && changes=$((changes + 1))
fi

good "host remove app1" kdc host remove -f "$C" app1 && changes=$((changes + 1))
run_cg kdc host list -f "$C"
if grep -q '^app1 ' "$OUT"; then fail "app1 still listed"; else ok "app1 is gone"; fi
one_error "remove it again" 1 "no host named 'app1'" kdc host remove -f "$C" app1

# --- audit ------------------------------------------------------------------
good "audit verify" kdc audit verify -f "$C"
out_has "audit verify counts every change ($changes)" "^audit chain OK: $changes records$"
good "audit show" kdc audit show -f "$C"
check "audit show: one line per record" test "$(wc -l <"$OUT")" -eq "$changes"
out_has "audit show: record 1 is kdc init" '^1 [0-9-]+T[0-9:]+\.[0-9]{3}Z actor="admin" op="kdc init" detail="name=kdc-test .*" result=0$'
out_has "audit show: host add record" "op=\"host add\" detail=\"name=web1 host_id=$WEB1 "
out_has "audit show: policy allow record" 'op="policy allow" detail="client=app1 '
if grep -qi "$TOKEN" "$OUT"; then fail "the token is in the audit log"; else ok "no token in the audit log"; fi
good "audit show --since 2" kdc audit show -f "$C" --since 2
check "--since 2 skips record 1" test "$(wc -l <"$OUT")" -eq $((changes - 1))
out_has "--since 2 starts at 2" '^2 '

if [ $have_sqlite = 1 ]; then
	# The table refuses UPDATE (trigger); an attacker with the file drops it.
	sqlite3 "$DB" "DROP TRIGGER IF EXISTS audit_no_update;
	    UPDATE audit SET detail = 'x' WHERE seq = 2;" 2>"$ERR"
	run_cg kdc audit verify -f "$C"
	if [ "$rc" -eq 1 ] && grep -q 'audit chain BROKEN at record 2' "$OUT" "$ERR" && sane; then
		ok "tampered record 2: audit verify exits 1 naming record 2"
	else
		fail "tampered audit log (exit $rc)"
		sed 's/^/#   /' "$OUT" "$ERR" | head -20
	fi
else
	skip "tampered audit log" "sqlite3 CLI not installed"
fi

# --- bad files and configurations ------------------------------------------
chmod 644 "$T/etc/master.key"
one_error "a 0644 master key is refused" 1 'master.key.*(permission|mode|0644)' \
    kdc token create -f "$C"
chmod 600 "$T/etc/master.key"

mkdir -p "$T/bad"
cat >"$T/bad/nokey.conf" <<EOF
[kdc]
database = kdc.db
signing_key = kdc.priv
master_key = master.key
EOF
one_error "init: signing_key must end in .key" 1 'signing_key .*kdc.priv must end in .key' \
    kdc init -f "$T/bad/nokey.conf"
cat >"$T/bad/nodir.conf" <<EOF
[kdc]
database = nodir/kdc.db
signing_key = kdc.key
master_key = master.key
EOF
one_error "init: a missing directory" 1 "directory $T/bad/nodir .*does not exist" \
    kdc init -f "$T/bad/nodir.conf"
check "init with a missing directory wrote nothing" test ! -e "$T/bad/kdc.key" -a ! -e "$T/bad/master.key"
cat >"$T/bad/broken.conf" <<EOF
[kdc]
database = kdc.db
signing_key = kdc.key
EOF
one_error "a config without master_key" 1 'master_key' kdc init -f "$T/bad/broken.conf"
printf 'not a database, just text\n' >"$T/bad/garbage.db"
cat >"$T/bad/garbage.conf" <<EOF
[kdc]
database = garbage.db
signing_key = kdc.key
master_key = master.key
EOF
one_error "a database that is not SQLite" 1 'garbage.db|not a database' kdc host list -f "$T/bad/garbage.conf"

done_testing
