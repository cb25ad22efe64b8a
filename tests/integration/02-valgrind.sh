#!/usr/bin/env bash
# 02-valgrind: memcheck over the unit tests and the daemons (make valgrind).
#
# 1. A plain build (no sanitizers, -O1 -g, -DCG_SANDBOX_OFF: valgrind
#    cannot run under seccomp) in build/vg (VG_BUILD=).
# 2. Every unit test binary under valgrind: it must pass, with no memcheck
#    error and no definite or indirect leak.
# 3. The scenarios that drive the daemons ($VG_SCENARIOS) with
#    CG_VALGRIND=1 (lib.sh runs cryptgate-kdcd, -gatewayd and -pktd under
#    valgrind, one log per process, start/stop waits x10): each must pass,
#    and every log its daemons leave must be empty (valgrind -q says
#    nothing when there is no error and no definite or indirect leak).
# VG_JOBS (2) runs at a time, longest first; the whole pass stays within
# VG_DEADLINE seconds (what has not started by then is skipped, each run is
# cut at the deadline).  Logs: build/vg/valgrind-logs/.  The scenarios
# take 4-5 min of it, the unit tests the rest.
. "$(dirname "$0")/lib.sh"

# build/vg for make check and make valgrind; another tests/run tree
# (BUILD=build/x) gets build/x-vg, so that parallel runs do not collide.
case $BUILD in
"$SRCDIR/build" | "$SRCDIR/build/san") VG=$SRCDIR/build/vg ;;
*) VG=$BUILD-vg ;;
esac
VG=${VG_BUILD:-$VG}
case $VG in /*) ;; *) VG=$SRCDIR/$VG ;; esac
LOGS=$VG/valgrind-logs
VG_JOBS=${VG_JOBS:-2}
VG_DEADLINE=${VG_DEADLINE:-840}
# 40-kdc-e2e is left out by default: under valgrind its 60 s key
# outlives the test's wait (VG_SCENARIOS="40-kdc-e2e" runs it); 41 drives
# the same KDC paths.
VG_SCENARIOS=${VG_SCENARIOS:-41-kdc-faults 54-ftp}
VG_OPTS=(-q --leak-check=full '--show-leak-kinds=definite,indirect'
	'--errors-for-leak-kinds=definite,indirect' --error-exitcode=97
	--num-callers=30)

if ! command -v valgrind >/dev/null 2>&1; then
	skip "valgrind pass" "valgrind not installed (mk/deps.sh installs it)"
	done_testing
fi

# 1. The tree (make check's environment must not leak into this make).
# make does not notice new flags: a tree built with others starts afresh.
VG_CFLAGS="-O1 -g -DCG_SANDBOX_OFF"
if [ "$(cat "$VG/.cflags" 2>/dev/null)" != "$VG_CFLAGS" ]; then
	case $VG in */build/*vg) rm -rf "$VG" ;; esac
	mkdir -p "$VG" && echo "$VG_CFLAGS" >"$VG/.cflags"
fi
out=$(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "${MAKE:-make}" -s -j2 \
    BUILD="${VG#"$SRCDIR"/}" SANITIZE= CFLAGS="$VG_CFLAGS" test-build 2>&1)
rc=$?
if [ $rc -ne 0 ]; then
	fail "valgrind tree ${VG#"$SRCDIR"/} builds (exit $rc)"
	printf '%s\n' "$out" | tail -20 | sed 's/^/#   /'
	done_testing
fi
ok "valgrind tree ${VG#"$SRCDIR"/} builds ($VG_CFLAGS)"
rm -rf "$LOGS"
mkdir -p "$LOGS"

# The jobs, longest first: "unit:NAME" or "scen:NAME".
jobs=()
units=()
for t in "$VG"/tests/test_*; do
	[ -x "$t" ] && [ -f "$t" ] && units+=("${t##*/}")
done
for n in test_rsa test_hostkey; do
	[ -x "$VG/tests/$n" ] && jobs+=("unit:$n")
done
for s in $VG_SCENARIOS; do
	jobs+=("scen:$s")
done
for n in "${units[@]}"; do
	case " ${jobs[*]} " in *" unit:$n "*) ;; *) jobs+=("unit:$n") ;; esac
done

# run_job KIND:NAME SECONDS: one job (in a subshell of its own: a SIGTERM
# from the cleanup goes on to the job), its output in $LOGS/NAME.out and
# its exit status in $LOGS/NAME.rc.
run_job() {
	local kind=${1%%:*} n=${1#*:} t=$2 p rc
	if [ "$kind" = unit ]; then
		CMOCKA_MESSAGE_OUTPUT=TAP CG_VALGRIND=1 timeout -k 10 "$t" \
		    valgrind "${VG_OPTS[@]}" --log-file="$LOGS/unit-$n.%p.log" \
		    "$VG/tests/$n" >"$LOGS/$n.out" 2>&1 &
	else
		CG_VALGRIND=1 CG_VALGRIND_LOGS=$LOGS BUILD=$VG \
		    timeout -k 10 "$t" bash "tests/integration/$n.sh" \
		    >"$LOGS/$n.out" 2>&1 &
	fi
	p=$!
	trap 'kill -TERM "$p" 2>/dev/null; wait "$p"; exit 143' TERM
	wait "$p"
	rc=$?
	echo "$rc" >"$LOGS/$n.rc"
}

declare -A started=()
running=0
for j in "${jobs[@]}"; do
	left=$((VG_DEADLINE - SECONDS))
	[ "$left" -gt 30 ] || break
	while [ "$running" -ge "$VG_JOBS" ]; do
		wait -n
		running=$((running - 1))
	done
	left=$((VG_DEADLINE - SECONDS))
	[ "$left" -gt 30 ] || break
	run_job "$j" "$left" &
	cleanup_pid $!
	started[$j]=1
	running=$((running + 1))
done
wait

# logs_clean PREFIX DESC: ok if PREFIX.*.log exist and are all empty.
logs_clean() {
	local f dirty=() n=0
	for f in "$LOGS/$1".*.log; do
		[ -e "$f" ] || continue
		n=$((n + 1))
		[ -s "$f" ] && dirty+=("$f")
	done
	if [ $n -eq 0 ]; then
		fail "$2: no valgrind log (the program never ran under valgrind)"
	elif [ ${#dirty[@]} -eq 0 ]; then
		ok "$2: $n process(es), no memcheck error, no leak"
	else
		fail "$2: ${#dirty[@]} of $n valgrind logs report errors or leaks"
		diag "logs: ${dirty[*]##*/}"
		# The first log's errors and definite leaks (not the indirect
		# ones a definite leak holds), each with its stack.
		awk 'BEGIN { head = 1 }
			/^==[0-9]+== $/ { if (!skip) print; skip = 0; head = 1; next }
			head && /indirectly lost/ { skip = 1 }
			{ head = 0; if (!skip) print }' "${dirty[0]}" |
		    head -40 | sed 's/^/#   /'
	fi
}

# 2 and 3, in a fixed order.
for j in "${jobs[@]}"; do
	kind=${j%%:*} n=${j#*:}
	if [ -z "${started[$j]:-}" ]; then
		skip "valgrind: $n" "VG_DEADLINE ($VG_DEADLINE s) spent"
		continue
	fi
	rc=$(cat "$LOGS/$n.rc" 2>/dev/null || echo 255)
	if [ "$kind" = unit ]; then
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 97 ]; then
			fail "valgrind: unit/$n passes under valgrind (exit $rc)"
			grep -A3 '^not ok' "$LOGS/$n.out" | head -20 | sed 's/^/#   /'
		fi
		logs_clean "unit-$n" "valgrind: unit/$n"
		continue
	fi
	if [ "$rc" -eq 0 ]; then
		ok "valgrind: $n passes with its daemons under valgrind ($(grep -c '^ok' "$LOGS/$n.out") checks)"
	else
		fail "valgrind: $n passes with its daemons under valgrind (exit $rc)"
		grep -A3 '^not ok' "$LOGS/$n.out" | head -30 | sed 's/^/#   /'
	fi
	logs_clean "$n" "valgrind: $n daemons"
done
diag "valgrind pass: ${SECONDS}s, logs in $LOGS"
done_testing
