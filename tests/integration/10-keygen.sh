#!/usr/bin/env bash
# 10-keygen: cryptgate keygen / pubkey against the real binary: both key
# types, OpenSSL reads the key file, the .pub matches the keys and the host
# id recomputed with openssl, modes, refusal to overwrite, --force, and one
# clear error line (exit 1, no sanitizer report) for every bad key file.
. "$(dirname "$0")/lib.sh"

T=$TMPDIR_T
OUT=$T/out
ERR=$T/err

# run_cg ARGS...: run $CG, stdout to $OUT, stderr to $ERR; sets $rc.
run_cg() {
	"$CG" "$@" >"$OUT" 2>"$ERR"
	rc=$?
}

# one_error DESC WANT_RC PATTERN ARGS...: $CG ARGS exits WANT_RC with
# exactly one stderr line, "cryptgate: ..." matching PATTERN, and no
# sanitizer report.
one_error() {
	local desc=$1 want=$2 pat=$3
	shift 3
	run_cg "$@"
	if [ "$rc" -eq "$want" ] && [ "$(wc -l <"$ERR")" -eq 1 ] &&
	    grep -q '^cryptgate: ' "$ERR" && grep -qE -- "$pat" "$ERR" &&
	    ! grep -qE 'Sanitizer|runtime error' "$ERR"; then
		ok "$desc"
	else
		fail "$desc (exit $rc)"
		sed 's/^/#   /' "$ERR" | head -20
	fi
}

# field N FILE: the Nth space-separated field of the .pub line.
field() { cut -d' ' -f"$1" <"$2"; }

# b64 FILE: base64 of a file on one line.
b64() { base64 -w0 <"$1"; }

if [ ! -x "$CG" ]; then
	fail "cryptgate binary $CG not built"
	done_testing
fi

for type in x25519 rsa3072; do
	P=$T/host_$type
	run_cg keygen -t "$type" -o "$P"
	if [ "$rc" -eq 0 ] && [ -s "$P.key" ] && [ -s "$P.pub" ] && [ ! -s "$ERR" ]; then
		ok "$type: keygen writes PREFIX.key and PREFIX.pub"
	else
		fail "$type: keygen (exit $rc)"
		sed 's/^/#   /' "$ERR"
		continue
	fi
	# stdout: the .pub line, then the host id.
	if [ "$(sed -n 1p "$OUT")" = "$(cat "$P.pub")" ] &&
	    [ "$(sed -n 2p "$OUT")" = "host id: $(field 3 "$P.pub")" ] &&
	    [ "$(wc -l <"$OUT")" -eq 2 ]; then
		ok "$type: keygen prints the .pub line and the host id"
	else
		fail "$type: keygen output"
		sed 's/^/#   /' "$OUT"
	fi
	check "$type: .key is mode 600" test "$(stat -c %a "$P.key")" = 600
	check "$type: .pub is mode 644" test "$(stat -c %a "$P.pub")" = 644
	want=$([ $type = x25519 ] && echo x25519 || echo rsa)
	check "$type: .pub line: magic, type, comment" test \
	    "$(field 1 "$P.pub") $(field 2 "$P.pub") $(field 6 "$P.pub")" = \
	    "cryptgate-host-v1 $want host_$type"
	check "$type: openssl pkey -noout reads the key file" \
	    openssl pkey -in "$P.key" -noout

	# The signing key OpenSSL sees is the one in the .pub.
	openssl pkey -in "$P.key" -pubout -outform DER -out "$T/sign.spki" 2>"$ERR"
	tail -c 32 "$T/sign.spki" >"$T/sign.raw"
	check "$type: openssl's Ed25519 public key matches the .pub" \
	    test "$(b64 "$T/sign.raw")" = "$(field 4 "$P.pub")"
	if openssl pkey -in "$P.key" -text -noout 2>/dev/null | grep -q 'ED25519 Private-Key'; then
		ok "$type: the first block is Ed25519"
	else
		fail "$type: the first block is Ed25519"
	fi

	# The sealing key (second block) and the host id, recomputed.
	awk 'n >= 1 { print } /^-----END/ { n++ }' "$P.key" >"$T/seal.pem"
	openssl pkey -in "$T/seal.pem" -pubout -outform DER -out "$T/seal.spki" 2>"$ERR"
	if [ $type = x25519 ]; then
		tail -c 32 "$T/seal.spki" >"$T/seal.raw"
	else
		cp "$T/seal.spki" "$T/seal.raw"
		check "rsa3072: the sealing key is RSA 3072" sh -c \
		    "openssl pkey -in '$T/seal.pem' -text -noout | grep -q 'Private-Key: (3072 bit'"
	fi
	check "$type: sealing key in the .pub matches the key file" \
	    test "$(b64 "$T/seal.raw")" = "$(field 5 "$P.pub")"
	id=$( { printf 'cryptgate host'; cat "$T/sign.raw" "$T/seal.raw"; } |
	    openssl dgst -sha256 -binary | head -c 16 | od -An -tx1 | tr -d ' \n')
	check "$type: host id = SHA-256(\"cryptgate host\"||sign_pk||seal_pk)[:16]" \
	    test "$id" = "$(field 3 "$P.pub")"

	# pubkey recomputes the same line.
	run_cg pubkey "$P.key"
	check "$type: pubkey output equals the .pub file" cmp "$OUT" "$P.pub"

	# Refusal to overwrite; --force replaces.
	cp "$P.key" "$T/saved.key"
	one_error "$type: keygen refuses to overwrite PREFIX.key" 1 \
	    'already exists.*--force' keygen -t "$type" -o "$P"
	check "$type: refused keygen left the key unchanged" cmp "$P.key" "$T/saved.key"
	run_cg keygen -t "$type" --force -o "$P"
	if [ "$rc" -eq 0 ] && ! cmp -s "$P.key" "$T/saved.key"; then
		ok "$type: keygen --force replaces the key"
	else
		fail "$type: keygen --force (exit $rc)"
	fi
	check "$type: replaced key still mode 600" test "$(stat -c %a "$P.key")" = 600
	run_cg pubkey "$P.key"
	check "$type: pubkey matches the replaced .pub" cmp "$OUT" "$P.pub"
done

# Modes whatever the umask; --comment.
(umask 000 && "$CG" keygen -o "$T/um0" --comment "umask zero host" >/dev/null 2>&1)
check "umask 000: .key still 600" test "$(stat -c %a "$T/um0.key")" = 600
check "umask 000: .pub 644" test "$(stat -c %a "$T/um0.pub")" = 644
(umask 077 && "$CG" keygen -o "$T/um7" >/dev/null 2>&1)
check "umask 077: .pub still 644" test "$(stat -c %a "$T/um7.pub")" = 644
check "--comment ends the .pub line" test "$(cut -d' ' -f6- <"$T/um0.pub")" = "umask zero host"
run_cg pubkey --comment "umask zero host" "$T/um0.key"
check "pubkey --comment reproduces the .pub" cmp "$OUT" "$T/um0.pub"
one_error "keygen refuses a comment with a control character" 2 \
    'invalid comment' keygen -o "$T/cc" --comment "$(printf 'a\tb')"

# World-writable directory: a warning, still success.
mkdir -m 0777 "$T/ww" && chmod 0777 "$T/ww"
run_cg keygen -o "$T/ww/h"
if [ "$rc" -eq 0 ] && grep -q 'world-writable' "$ERR"; then
	ok "keygen warns about a world-writable directory"
else
	fail "keygen in a world-writable directory (exit $rc)"
fi

# Permissions.
K=$T/host_x25519.key
chmod 644 "$K"
one_error "pubkey refuses a 0644 key file" 1 \
    "$K: permissions 0644 are too open: a key file must not be accessible by group or others \\(chmod 600 " \
    pubkey "$K"
chmod 640 "$K"
one_error "pubkey refuses a 0640 key file" 1 'permissions 0640 are too open' pubkey "$K"
chmod 600 "$K"
ln -s "$K" "$T/link.key"
one_error "pubkey refuses a symbolic link" 1 'symbolic link' pubkey "$T/link.key"
one_error "pubkey: missing file" 1 'No such file' pubkey "$T/missing.key"
one_error "pubkey: a directory" 1 'not a regular file' pubkey "$T"

# Bad key files: one line, exit 1, no crash.
B=$T/bad
mkdir "$B"
head -c 100 "$K" >"$B/trunc100.key"
head -c "$(($(wc -c <"$K") / 2))" "$K" >"$B/trunchalf.key"
head -c 1500 "$T/host_rsa3072.key" >"$B/truncrsa.key"
head -c 4000 /dev/urandom >"$B/random.key"
: >"$B/empty.key"
printf 'not a key\n' >"$B/text.key"
cp "$T/host_x25519.pub" "$B/pubfile.key"
openssl genpkey -algorithm ed25519 -out "$B/ed25519only.key" 2>/dev/null
openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256 -out "$B/ec.key" 2>/dev/null
cat "$B/ed25519only.key" "$B/ec.key" >"$B/ed_ec.key"
cat "$B/ed25519only.key" "$B/ed25519only.key" >"$B/ed_ed.key"
openssl genpkey -algorithm rsa -pkeyopt rsa_keygen_bits:1024 -out "$B/rsa1024.key" 2>/dev/null
cat "$B/ed25519only.key" "$B/rsa1024.key" >"$B/ed_rsa1024.key"
cat "$K" "$B/ed25519only.key" >"$B/three.key"
awk 'n >= 1 { print } /^-----END/ { n++ }' "$K" >"$B/x_only.pem"
cat "$B/x_only.pem" "$B/ed25519only.key" >"$B/swapped.key"
openssl pkey -in "$K" -aes256 -passout pass:secret -out "$B/encrypted.key" 2>/dev/null
openssl pkey -in "$K" -pubout -out "$B/public.key" 2>/dev/null
sed '2s/^MC4CAQAw/MC8CAQAw/' "$K" >"$B/badder.key"
sed '2s/^\(.....\)./\1*/' "$K" >"$B/badb64.key"
chmod 600 "$B"/*
for f in "$B"/*; do
	n=$(basename "$f")
	one_error "pubkey rejects $n with one error line" 1 \
	    "^cryptgate: $f: " pubkey "$f"
done
one_error "single-block Ed25519 file: clear message" 1 \
    'not a cryptgate host key' pubkey "$B/ed25519only.key"
one_error "encrypted key file: clear message" 1 \
    'encrypted key files are not supported' pubkey "$B/encrypted.key"
one_error "RSA-1024 sealing key: clear message" 1 \
    'RSA key size outside 2048..4096' pubkey "$B/ed_rsa1024.key"
one_error "wrong key order: clear message" 1 \
    'first key is not an Ed25519' pubkey "$B/swapped.key"

# Usage and help.
run_cg keygen --help
if [ "$rc" -eq 0 ] && grep -q '^usage: cryptgate keygen' "$OUT" && grep -q -- '--force' "$OUT"; then
	ok "keygen --help"
else
	fail "keygen --help (exit $rc)"
fi
run_cg pubkey -h
if [ "$rc" -eq 0 ] && grep -q '^usage: cryptgate pubkey' "$OUT"; then
	ok "pubkey -h"
else
	fail "pubkey -h (exit $rc)"
fi
one_error "keygen without -o: usage error" 2 'missing -o PREFIX' keygen
one_error "keygen: unknown type" 2 'unknown key type' keygen -t dsa -o "$T/dsa"
one_error "keygen: unknown option" 2 'unknown option' keygen --bogus -o "$T/x"
one_error "keygen: PREFIX ending in .key" 2 'without .key or .pub' keygen -o "$T/x.key"
one_error "keygen: extra argument" 2 'unexpected argument' keygen -o "$T/x" extra
one_error "pubkey without a file: usage error" 2 'expected one KEYFILE' pubkey
one_error "pubkey: two files: usage error" 2 'expected one KEYFILE' pubkey "$K" "$K"
check "refused keygen calls created no files" test ! -e "$T/dsa.key" -a ! -e "$T/x.key" -a ! -e "$T/x.key.key"

done_testing
