#!/usr/bin/env bash
# 72-demo: dist/demo.sh (make demo) as a newcomer runs it.  A plain run:
# exit 0, one header and one result line per step and nothing else, the
# summary's figures (keys issued, connections and bytes of each gateway,
# TLS 1.3 suite and group, the tap's recording) present and consistent,
# the encryption proof says "not found"; every pid it reports is gone and
# so is its directory.  --keep: the daemons stay, the printed commands
# (a line through the gateways, cryptgate status, kdc key list, FTP) work,
# the proof's checker does find plaintext and non-TLS bytes when they are
# there, and the stop script stops everything and removes the directory.
# Ctrl-C (SIGINT to the demo's process group) and SIGTERM in the middle of
# a run: nothing left running, the directory removed.  As root, a run as
# user nobody too (the non-root path: no FTP, the rest the same).
. "$(dirname "$0")/lib.sh"

T=$TMPDIR_T
DEMO=$SRCDIR/dist/demo.sh
D=$T/d # the demo's TMPDIR: its work directories go there
mkdir -p "$D"

for p in "$CG" "$CG_KDCD" "$CG_GATEWAYD"; do
	if [ ! -x "$p" ]; then
		skip "make demo" "$p not built"
		done_testing
	fi
done
for p in socat perl ss setsid; do
	if ! command -v "$p" >/dev/null; then
		fail "$p is needed (mk/deps.sh installs it)"
		done_testing
	fi
done
if is_root && command -v vsftpd >/dev/null && command -v curl >/dev/null &&
    id ftp >/dev/null 2>&1; then
	have_ftp=true
else
	have_ftp=false
fi

# running PID: the process exists and is not a zombie.
running() {
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# pids_in FILE: every pid the demo's output names ("pid N", "pids N N",
# "name=N"), one per line.
pids_in() {
	perl -ne 'while (/\bpids?((?: \d+)+)/g) { print "$_\n" for split(" ", $1) }
	    while (/\b[a-z-]+=(\d+)\b/g) { print "$1\n" }' "$1" | sort -un
}

# left_running FILE: the pids named in FILE that still run.
left_running() {
	local p
	for p in $(pids_in "$1"); do
		running "$p" && printf '%s ' "$p"
	done
}

# procs_in DIR: pids of processes whose command line names DIR.
procs_in() {
	local f
	for f in /proc/[0-9]*/cmdline; do
		tr '\0' ' ' 2>/dev/null <"$f" | grep -qF "$1" &&
		    { f=${f#/proc/}; printf '%s ' "${f%/cmdline}"; }
	done
}

ND="" # part 4's TMPDIR
# kill_left: at exit, the process groups the demos left (only those whose
# leader's command line names $D or $ND, so only ours).
kill_left() {
	local p
	for p in $(procs_in "$D") ${ND:+$(procs_in "$ND")}; do
		kill -KILL -- "-$p" 2>/dev/null
		kill -KILL "$p" 2>/dev/null
	done
}
cleanup_cmd kill_left

# field FILE LABEL: the summary line LABEL's value.
field() {
	awk -v l="$2" 'index($0, "  " l " ") == 1 {
		s = substr($0, length(l) + 3); sub(/^ +/, "", s); print s; exit
	}' "$1"
}

# show FILE: its end, into the log.
show() { tail -25 "$1" | sed 's/^/#   /'; }

# --- 1. A plain run -----------------------------------------------------

out=$T/run.out
TMPDIR=$D timeout 300 "$DEMO" </dev/null >"$out" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q '^demo finished$' "$out"; then
	ok "dist/demo.sh runs to its end, exit 0"
else
	fail "dist/demo.sh exit $rc"
	show "$out"
fi
work=$(sed -n 's/^cryptgate demo, in \(.*\) (removed at the end)$/\1/p' "$out")
case $work in
"$D"/cryptgate-demo.*) ok "it names its directory" ;;
*) fail "no work directory in the output (\"$work\")" ;;
esac

# One header and one result line per step; nothing else (no daemon noise).
nsteps=$(grep -cE '^ ?[0-9]+\. ' "$out")
nres=$(awk '/^ ?[0-9]+\. / { h = 1; next } h && /^    -> / { n++ } { h = 0 }
    END { print n + 0 }' "$out")
if [ "$nsteps" -ge 10 ] && [ "$nres" = "$nsteps" ]; then
	ok "$nsteps steps, each a header line followed by a result line"
else
	fail "$nsteps step headers, $nres of them followed by a result line"
	show "$out"
fi
noise=$(grep -vE '^$|^ ?[0-9]+\. |^    -> |^  |^Summary: |^cryptgate demo, in |^programs: |^demo finished$|^demo: stopped pids' "$out")
if [ -z "$noise" ]; then
	ok "no other output (daemon logs stay in files)"
else
	fail "output that is not a step, a result or the summary"
	printf '%s\n' "$noise" | head -10 | sed 's/^/#   /'
fi

# The summary's figures.
keys=$(field "$out" "keys issued by the KDC")
nexp=2
$have_ftp && nexp=3
if [[ $keys =~ ^([0-9]+)\ \(([0-9]+)\ revoked\)\;\ audit\ log:\ ([0-9]+)\ REQUEST\ and\ ([0-9]+)\ RETRIEVE\ answered,\ ([0-9]+)\ refused$ ]] &&
    [ "${BASH_REMATCH[1]}" = $nexp ] && [ "${BASH_REMATCH[2]}" = 1 ] &&
    [ "${BASH_REMATCH[3]}" = $nexp ] && [ "${BASH_REMATCH[4]}" = $nexp ] &&
    [ "${BASH_REMATCH[5]}" = 2 ]; then
	ok "keys issued: $keys"
else
	fail "keys issued: \"$keys\" (expected $nexp, 1 revoked, 2 refused)"
fi
nrows=$(awk '/^  keys issued by the KDC/ { k = 1; next }
    k && /^ +[0-9a-f]+\.\.\. alice -> bob, / { n++; next } { k = 0 }
    END { print n + 0 }' "$out")
if [ "$nrows" = $nexp ]; then
	ok "one line per key (kdc key list)"
else
	fail "$nrows key lines, expected $nexp"
fi
file_bytes=1048576
for g in alice bob; do
	v=$(field "$out" "$g's gateway, echo")
	re='^([0-9]+) connections, ([0-9]+) TLS handshakes, bytes ([0-9]+) in, ([0-9]+) out$'
	if [[ $v =~ $re ]] && [ "${BASH_REMATCH[1]}" = 2 ] &&
	    [ "${BASH_REMATCH[2]}" = 2 ] &&
	    [ "${BASH_REMATCH[3]}" = "${BASH_REMATCH[4]}" ] &&
	    [ "${BASH_REMATCH[3]}" -gt $file_bytes ] &&
	    [ "${BASH_REMATCH[3]}" -lt $((file_bytes + 200)) ]; then
		ok "$g's gateway carried the line and the file: $v"
	else
		fail "$g's gateway, echo: \"$v\""
	fi
	if $have_ftp; then
		v=$(field "$out" "$g's gateway, ftp")
		re='^4 connections \(of which 2 FTP data\), 2 TLS handshakes, bytes ([0-9]+) in, ([0-9]+) out$'
		if [[ $v =~ $re ]] && [ "${BASH_REMATCH[2]}" -ge 10000000 ]; then
			ok "$g's gateway carried FTP: $v"
		else
			fail "$g's gateway, ftp: \"$v\""
		fi
	fi
done
if $have_ftp; then
	v=$(grep -A1 '^ *[0-9]*\. FTP' "$out" | tail -1)
	if [[ $v =~ server\ ([0-9a-f]{16}),\ downloaded\ ([0-9a-f]{16}),\ uploaded\ back\ ([0-9a-f]{16}) ]] &&
	    [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] &&
	    [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[3]}" ]; then
		ok "FTP download and upload through the gateways, same sha256"
	else
		fail "FTP step: \"$v\""
	fi
else
	skip "FTP through the gateways" "needs root, vsftpd and curl"
fi
neg=$(field "$out" "negotiated (ServerHello)")
re='^TLS 1\.3, (TLS_AES_128_GCM_SHA256|TLS_CHACHA20_POLY1305_SHA256), key exchange x25519 '
if [[ $neg =~ $re ]]; then
	suite=${BASH_REMATCH[1]}
	ok "negotiated on the wire: $neg"
else
	suite=none
	fail "negotiated: \"$neg\""
fi
v=$(field "$out" "the gateways' logs (-vv)")
if [[ $v == "bob: handshake done, identity kdc1-"*", $suite (no group logged)" ]]; then
	ok "bob's log names the same suite"
else
	fail "the gateways' logs: \"$v\" (the wire said $suite)"
fi
v=$(field "$out" "between the gateways")
if [[ $v =~ ^the\ tap\ recorded\ 2\ connections:\ ([0-9]+)\ bytes\ alice-\>bob,\ ([0-9]+)\ bytes\ bob-\>alice ]] &&
    [ "${BASH_REMATCH[1]}" -gt $file_bytes ] &&
    [ "${BASH_REMATCH[2]}" -gt $file_bytes ] &&
    [ "${BASH_REMATCH[1]}" -lt $((file_bytes * 11 / 10)) ]; then
	ok "the tap recorded both directions: $v"
else
	fail "between the gateways: \"$v\""
fi
v=$(field "$out" "TLS records")
if [[ $v =~ ^all\ the\ recorded\ bytes\ parse\ as\ TLS\ records:\ [0-9]+\ handshake,\ .*[0-9]+\ application_data\ \(all\ 03\ 03\)$ ]]; then
	ok "the recorded bytes are TLS records: $v"
else
	fail "TLS records: \"$v\""
fi
if grep -qE '^  hex, alice->bob, start +16 03 0[13] ' "$out" &&
    grep -qE '^  hex, alice->bob, later +17 03 03 ' "$out"; then
	ok "hex excerpt: a handshake record (16), then application_data (17 03 03)"
else
	fail "hex excerpt missing"
fi
v=$(field "$out" "plaintext marker")
if [[ $v =~ ^CG-DEMO-PLAINTEXT-[0-9a-f]{8}:\ in\ the\ file\ 16384\ times,\ at\ bob\'s\ service\ 16385,\ between\ the\ gateways:\ not\ found$ ]]; then
	ok "the marker reached the service, not found between the gateways"
else
	fail "plaintext marker: \"$v\""
fi
v=$(field "$out" "file content")
if [[ $v =~ between\ the\ gateways:\ not\ found$ ]]; then
	ok "the file's content not found between the gateways"
else
	fail "file content: \"$v\""
fi

# Nothing left behind.
stopped=$(sed -n 's/^demo: stopped pids\(.*\), removed .*/\1/p' "$out")
nst=$(echo "$stopped" | wc -w)
nexp=5
$have_ftp && nexp=6
if [ "$nst" = $nexp ]; then
	ok "it reports the $nexp processes it stopped:$stopped"
else
	fail "stopped pids: \"$stopped\" (expected $nexp)"
fi
all=$(pids_in "$out" | wc -l)
left=$(left_running "$out")
if [ "$all" -ge $nexp ] && [ -z "$left" ]; then
	ok "none of the $all pids it named is running"
else
	fail "still running: $left (of $all pids named)"
fi
if [ -n "$work" ] && [ ! -e "$work" ] && [ -z "$(procs_in "$work")" ]; then
	ok "its directory is gone, no process names it"
else
	fail "left behind: directory $work, processes $(procs_in "${work:-/nonexistent}")"
fi

# --- 2. --keep ----------------------------------------------------------

out=$T/keep.out
TMPDIR=$D timeout 300 "$DEMO" --keep </dev/null >"$out" 2>&1
rc=$?
work=$(sed -n 's/^Left running (--keep), in \([^:]*\):.*/\1/p' "$out")
if [ $rc -eq 0 ] && [ -n "$work" ] && [ -d "$work" ] && [ -x "$work/stop" ]; then
	ok "--keep: exit 0, leaves $work and its stop script"
else
	fail "--keep: exit $rc, directory \"$work\""
	show "$out"
fi
kept=$(sed -n 's/^Left running (--keep), in [^:]*://p' "$out")
nk=$(echo "$kept" | wc -w)
left=$(left_running "$out")
if [ "$nk" = $nexp ] && [ "$(echo "$left" | wc -w)" -ge $nexp ]; then
	ok "--keep: the $nexp processes run:$kept"
else
	fail "--keep: \"$kept\", running: $left"
fi
cmd=$(field "$out" "a line through the pair")
if [[ $cmd =~ ^echo\ hello\ \|\ socat\ -\ TCP:127\.0\.0\.1:[0-9]+$ ]] &&
    [ "$(timeout 20 bash -c "$cmd" 2>&1)" = hello ]; then
	ok "--keep: the printed command goes through the gateways ($cmd)"
else
	fail "--keep: \"$cmd\" does not answer hello"
fi
cmd=$(field "$out" "alice's gateway counters")
v=$(timeout 20 bash -c "$cmd" 2>&1)
if printf '%s\n' "$v" | grep -q '^service echo (client)' &&
    printf '%s\n' "$v" | grep -qE 'accepted 3,'; then
	ok "--keep: the printed status command shows 3 connections"
else
	fail "--keep: \"$cmd\""
	printf '%s\n' "$v" | head -10 | sed 's/^/#   /'
fi
cmd=$(field "$out" "keys at the KDC")
v=$(timeout 20 bash -c "$cmd" 2>&1)
if printf '%s\n' "$v" | grep -q ' valid'; then
	ok "--keep: the printed kdc key list command works"
else
	fail "--keep: \"$cmd\": $v"
fi
if $have_ftp; then
	cmd=$(field "$out" "FTP through the pair")
	v=$(timeout 30 bash -c "$cmd --max-time 20" 2>&1)
	if printf '%s\n' "$v" | grep -q ' report\.bin$'; then
		ok "--keep: the printed FTP command lists pub/ through the gateways"
	else
		fail "--keep: \"$cmd\": $v"
	fi
fi

# The proof's checker is not blind: plaintext and non-TLS bytes added to
# a copy of the recording are found.
marker=$(field "$out" "plaintext marker" | cut -d: -f1)
if [ -d "$work/tap" ] && [ -f "$work/helper.pl" ]; then
	mkdir "$work/fake"
	cp "$work"/tap/conn-*.c2s "$work"/tap/conn-*.s2c "$work/fake/"
	perl "$work/helper.pl" analyze "$work/fake" "$work/svc" \
	    "$work/file.txt" "$marker" >"$T/fake0.out" 2>&1
	rc0=$?
	head -c 300 "$work/file.txt" >>"$work/fake/conn-1.c2s"
	perl "$work/helper.pl" analyze "$work/fake" "$work/svc" \
	    "$work/file.txt" "$marker" >"$T/fake1.out" 2>&1
	rc1=$?
	if [ $rc0 -eq 0 ] && [ $rc1 -eq 1 ] &&
	    grep -q 'NOT only TLS records' "$T/fake1.out" &&
	    grep -q 'between the gateways: FOUND 4 times' "$T/fake1.out" &&
	    grep -q 'blocks, between the gateways: FOUND' "$T/fake1.out"; then
		ok "the checker finds 300 plaintext bytes appended to the recording"
	else
		fail "the checker: exit $rc0 on the copy, $rc1 with plaintext added"
		show "$T/fake1.out"
	fi
else
	fail "--keep: no tap/ or helper.pl in \"$work\""
fi

v=$(timeout 60 "$work/stop" 2>&1)
rc=$?
left=$(left_running "$out")
if [ $rc -eq 0 ] && [ -z "$left" ] && [ ! -e "$work" ] &&
    [ -z "$(procs_in "$work")" ]; then
	ok "--keep: the stop script stops everything and removes $work ($v)"
else
	fail "--keep: stop exit $rc, still running: $left; $v"
fi

# --- 3. Ctrl-C and SIGTERM in the middle ---------------------------------

# interrupt NAME SIGNAL TARGET PATTERN: start the demo in a session of its
# own with SIGINT/SIGTERM at their defaults (as from a terminal), wait for
# PATTERN in its output, send SIGNAL to TARGET ("group": the process
# group, as Ctrl-C does; "pid": the demo alone), then check.
interrupt() {
	local name=$1 sig=$2 target=$3 pattern=$4 out=$T/$1.out dpid rc
	local want=$((128 + $(kill -l "$sig")))
	TMPDIR=$D setsid perl -e '$SIG{INT} = $SIG{TERM} = "DEFAULT";
	    exec(@ARGV) or die "exec: $!\n"' "$DEMO" </dev/null >"$out" 2>&1 &
	dpid=$!
	for _ in $(seq 1 600); do
		grep -qE "$pattern" "$out" && break
		kill -0 "$dpid" 2>/dev/null || break
		sleep 0.1
	done
	if ! grep -qE "$pattern" "$out"; then
		fail "$name: the demo never got to \"$pattern\""
		show "$out"
		kill -KILL -- "-$dpid" 2>/dev/null
		return
	fi
	if [ "$target" = group ]; then
		kill "-$sig" -- "-$dpid"
	else
		kill "-$sig" "$dpid"
	fi
	for _ in $(seq 1 300); do
		kill -0 "$dpid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$dpid" 2>/dev/null; then
		fail "$name: the demo still runs 30 s after SIG$sig"
		kill -KILL -- "-$dpid" 2>/dev/null
		return
	fi
	wait "$dpid"
	rc=$?
	work=$(sed -n 's/^cryptgate demo, in \(.*\) (removed at the end)$/\1/p' "$out")
	left=$(left_running "$out")
	if [ $rc -eq $want ] && [ -z "$left" ] && [ -n "$work" ] &&
	    [ ! -e "$work" ] && [ -z "$(procs_in "$work")" ] &&
	    grep -q '^demo: stopped pids [0-9]' "$out"; then
		ok "$name: exit $rc, pids $(pids_in "$out" | tr '\n' ' ')stopped, directory removed"
	else
		fail "$name: exit $rc (want $want), still running: $left, directory \"$work\""
		show "$out"
	fi
}
interrupt ctrl-c INT group '^    -> client -> alice'
interrupt sigterm TERM pid '^    -> cryptgate-kdcd pid'

# --- 4. As a user other than root (no FTP) --------------------------------

if ! is_root; then
	skip "the demo as another user" "this run is not root: part 1 was that"
elif ! command -v setpriv >/dev/null || ! id nobody >/dev/null 2>&1; then
	skip "the demo as nobody" "needs setpriv (util-linux) and user nobody"
elif ! setpriv --reuid=nobody --regid=nogroup --clear-groups \
    test -x "$CG" -a -r "$DEMO" 2>/dev/null; then
	skip "the demo as nobody" "nobody cannot reach $DEMO and $CG"
else
	ND=$(mktemp -d "${TMPDIR:-/tmp}/cgdemo-nobody.XXXXXX")
	cleanup_cmd 'rm -rf "$ND"'
	chown nobody "$ND"
	out=$T/nobody.out
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    env TMPDIR="$ND" BUILD="$BUILD" timeout 300 "$DEMO" \
	    </dev/null >"$out" 2>&1
	rc=$?
	work=$(sed -n 's/^cryptgate demo, in \(.*\) (removed at the end)$/\1/p' "$out")
	left=$(left_running "$out")
	if [ $rc -eq 0 ] &&
	    grep -qE '^    -> skipped: needs root' "$out" &&
	    [ "$(grep -c 'between the gateways: not found$' "$out")" = 2 ] &&
	    [[ $(field "$out" "keys issued by the KDC") == "2 (1 revoked);"* ]] &&
	    [ -z "$left" ] && [ -n "$work" ] && [ ! -e "$work" ]; then
		ok "as nobody: exit 0, FTP skipped, proof not found, nothing left"
	else
		fail "as nobody: exit $rc, still running: $left, directory \"$work\""
		show "$out"
	fi
fi

done_testing
