#!/usr/bin/env bash
# 20-check-config: `cryptgate check-config` on the good and bad files of
# tests/data/conf/ (exit codes, "FILE:LINE: message" lines, each bad file's
# "# expect:" message), kind inference, unreadable files, usage errors.
. "$(dirname "$0")/lib.sh"

DATA=tests/data/conf

if [ ! -x "$CG" ]; then
	skip "check-config" "$CG not built"
	done_testing
fi

# run OUT ERR CMD...: run CMD with stdout and stderr in files; return its
# status.
run() {
	local out=$1 err=$2
	shift 2
	"$@" >"$out" 2>"$err"
}

# kind_of FILE: the kind named by the file name's prefix (kdc-x.conf: kdc).
kind_of() {
	local b
	b=$(basename "$1" .conf)
	echo "${b%%-*}"
}

# sanitizer_free FILE: true unless FILE holds a sanitizer report.
sanitizer_free() {
	! grep -qE 'Sanitizer|runtime error' "$1"
}

# 1. Good files: OK with -t and with the kind inferred.
for f in "$DATA"/good/*.conf; do
	k=$(kind_of "$f")
	run "$TMPDIR_T/out" "$TMPDIR_T/err" "$CG" check-config -t "$k" "$f"
	rc=$?
	if [ $rc -eq 0 ] && [ "$(cat "$TMPDIR_T/out")" = "$f: configuration OK ($k)" ] &&
	    [ ! -s "$TMPDIR_T/err" ]; then
		ok "good $f (-t $k)"
	else
		fail "good $f (-t $k): exit $rc"
		sed 's/^/#   /' "$TMPDIR_T/out" "$TMPDIR_T/err" | head -20
	fi
	run "$TMPDIR_T/out" "$TMPDIR_T/err" "$CG" check-config "$f"
	rc=$?
	if [ $rc -eq 0 ] && [ "$(cat "$TMPDIR_T/out")" = "$f: configuration OK ($k)" ]; then
		ok "good $f (kind inferred)"
	else
		fail "good $f (kind inferred): exit $rc"
		sed 's/^/#   /' "$TMPDIR_T/out" "$TMPDIR_T/err" | head -20
	fi
done

# 2. Bad files: exit 1, nothing on stdout, every stderr line is
# "FILE:N: message", and the "# expect:" message is among them.
nbad=0
for f in "$DATA"/bad/*.conf; do
	nbad=$((nbad + 1))
	k=$(kind_of "$f")
	expect=$(sed -n '1s/^# expect: //p' "$f")
	run "$TMPDIR_T/out" "$TMPDIR_T/err" "$CG" check-config -t "$k" "$f"
	rc=$?
	why=""
	[ $rc -eq 1 ] || why="exit $rc, not 1"
	[ -n "$expect" ] || why="$why; no '# expect:' line"
	[ -s "$TMPDIR_T/out" ] && why="$why; output on stdout"
	[ -s "$TMPDIR_T/err" ] || why="$why; no error printed"
	if grep -qvE "^$f:[0-9]+: ." "$TMPDIR_T/err"; then
		why="$why; a line not of the form $f:N: message"
	fi
	grep -qF -- "$expect" "$TMPDIR_T/err" || why="$why; no '$expect'"
	sanitizer_free "$TMPDIR_T/err" || why="$why; sanitizer report"
	if [ -z "$why" ]; then
		ok "bad $f: $(head -1 "$TMPDIR_T/err" | cut -c1-100)"
	else
		fail "bad $f:$why"
		sed 's/^/#   /' "$TMPDIR_T/err" | head -20
	fi
done
if [ "$nbad" -ge 30 ]; then
	ok "$nbad bad files checked"
else
	fail "only $nbad bad files in $DATA/bad"
fi

# 3. Files that cannot be read, empty files, kind inference.
run "$TMPDIR_T/out" "$TMPDIR_T/err" "$CG" check-config "$TMPDIR_T/missing.conf"
rc=$?
if [ $rc -eq 1 ] && [ "$(cat "$TMPDIR_T/err")" = "$TMPDIR_T/missing.conf: cannot open: No such file or directory" ]; then
	ok "missing file: clear error, exit 1"
else
	fail "missing file: exit $rc: $(cat "$TMPDIR_T/err")"
fi
run "$TMPDIR_T/out" "$TMPDIR_T/err" "$CG" check-config -t kdc "$TMPDIR_T"
rc=$?
if [ $rc -eq 1 ] && grep -qF "$TMPDIR_T: is a directory" "$TMPDIR_T/err"; then
	ok "directory: clear error, exit 1"
else
	fail "directory: exit $rc: $(cat "$TMPDIR_T/err")"
fi
: >"$TMPDIR_T/empty.conf"
run "$TMPDIR_T/out" "$TMPDIR_T/err" "$CG" check-config -t host "$TMPDIR_T/empty.conf"
rc=$?
if [ $rc -eq 1 ] && grep -qF "$TMPDIR_T/empty.conf:1: missing required section [host]" "$TMPDIR_T/err"; then
	ok "empty file: missing required section, exit 1"
else
	fail "empty file: exit $rc: $(cat "$TMPDIR_T/err")"
fi
run "$TMPDIR_T/out" "$TMPDIR_T/err" "$CG" check-config "$TMPDIR_T/empty.conf"
rc=$?
if [ $rc -eq 1 ] && grep -q "cannot tell which kind.*use -t" "$TMPDIR_T/err"; then
	ok "empty file without -t: asks for -t"
else
	fail "empty file without -t: exit $rc: $(cat "$TMPDIR_T/err")"
fi
printf '[gateway]\nhost_config = h.conf\n[pkt]\nhost_config = h.conf\n' >"$TMPDIR_T/both.conf"
run "$TMPDIR_T/out" "$TMPDIR_T/err" "$CG" check-config "$TMPDIR_T/both.conf"
rc=$?
if [ $rc -eq 1 ] && grep -q "both \[gateway\] and \[pkt\].*use -t" "$TMPDIR_T/err"; then
	ok "[gateway] and [pkt]: ambiguous, asks for -t"
else
	fail "ambiguous kind: exit $rc: $(cat "$TMPDIR_T/err")"
fi
# A host file checked as a kdc one: the kind decides the schema.
run "$TMPDIR_T/out" "$TMPDIR_T/err" "$CG" check-config -t kdc "$DATA/good/host.conf"
rc=$?
if [ $rc -eq 1 ] && grep -qF "unknown section [host]" "$TMPDIR_T/err"; then
	ok "-t overrides the inferred kind"
else
	fail "-t kdc on a host file: exit $rc"
fi

# 4. Line length, CRLF and BOM through the real program.
{
	printf '[host]\r\n'
	printf 'name = %0193d\r\n' 0 # 7 + 193 = 200 characters: too long
	printf 'key = k\r\n[kdc]\r\naddress = 127.0.0.1\r\npublic_key = p\r\n'
} >"$TMPDIR_T/long.conf"
run "$TMPDIR_T/out" "$TMPDIR_T/err" "$CG" check-config "$TMPDIR_T/long.conf"
rc=$?
if [ $rc -eq 1 ] && grep -qxF "$TMPDIR_T/long.conf:2: line too long (max 199 characters)" "$TMPDIR_T/err"; then
	ok "200-character line: an error at its line"
else
	fail "200-character line: exit $rc: $(head -3 "$TMPDIR_T/err")"
fi
{
	printf '\357\273\277[host]\r\n'
	printf 'name = %0192d\r\n' 0 # 199 characters
	printf 'key = k\r\n[kdc]\r\naddress = 127.0.0.1\r\npublic_key = p\r\n'
} >"$TMPDIR_T/ok199.conf"
check "199-character line, CRLF and BOM accepted" \
    "$CG" check-config "$TMPDIR_T/ok199.conf"

# 5. Several files: each reported, exit 1 if any is bad.
run "$TMPDIR_T/out" "$TMPDIR_T/err" "$CG" check-config -t kdc \
    "$DATA/good/kdc-minimal.conf" "$DATA/bad/kdc-bad-bool.conf"
rc=$?
if [ $rc -eq 1 ] && grep -qF "kdc-minimal.conf: configuration OK (kdc)" "$TMPDIR_T/out" &&
    grep -qF "kdc-bad-bool.conf:5: invalid value" "$TMPDIR_T/err"; then
	ok "two files, one bad: both reported, exit 1"
else
	fail "two files: exit $rc"
fi

# 6. Usage errors exit 2 with one line that says what is wrong and where
# the manual is, nothing on stdout; --help is the manual.
check_usage() {
	local desc=$1 want=$2 rc
	shift 2
	run "$TMPDIR_T/out" "$TMPDIR_T/err" "$CG" check-config "$@"
	rc=$?
	if [ $rc -eq 2 ] && [ ! -s "$TMPDIR_T/out" ] &&
	    [ "$(wc -l <"$TMPDIR_T/err")" -eq 1 ] &&
	    grep -qF "cryptgate check-config: $want" "$TMPDIR_T/err" &&
	    grep -q '(see cryptgate check-config --help)$' "$TMPDIR_T/err"; then
		ok "usage error exits 2 with one line: $desc"
	else
		fail "usage error ($desc): exit $rc: $(head -3 "$TMPDIR_T/err")"
	fi
}
check_usage "no file" "no configuration file given"
check_usage "unknown kind" "unknown configuration kind" -t bogus "$DATA/good/pkt.conf"
check_usage "-t without argument" "option needs an argument: -t" -t
check_usage "unknown option" "unknown option: -x" -x "$DATA/good/pkt.conf"
check_usage "unknown long option" "unknown option: --bogus" --bogus "$DATA/good/pkt.conf"
run "$TMPDIR_T/out" "$TMPDIR_T/err" "$CG" check-config --help
rc=$?
if [ $rc -eq 0 ] && grep -q '^SYNOPSIS' "$TMPDIR_T/out" &&
    grep -q '^EXIT STATUS' "$TMPDIR_T/out" && grep -q 'cryptgate.conf(5)' "$TMPDIR_T/out"; then
	ok "--help prints the manual and exits 0"
else
	fail "--help: exit $rc"
fi
check "-t with --type= form" "$CG" check-config --type=pkt "$DATA/good/pkt.conf"

done_testing
