# tests/integration/lib.sh: shared helpers for the integration scenarios.
# Source it first: . "$(dirname "$0")/lib.sh"
# Each scenario prints TAP lines; tests/run counts them.  Everything a
# scenario starts is registered with cleanup_pid / cleanup_cmd and undone
# by the EXIT trap; only our own PIDs are ever killed.

set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 2
SRCDIR=$(pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$SRCDIR/$BUILD ;; esac
CG=$BUILD/bin/cryptgate
CG_KDCD=$BUILD/bin/cryptgate-kdcd
CG_GATEWAYD=$BUILD/bin/cryptgate-gatewayd
CG_PKTD=$BUILD/bin/cryptgate-pktd
export CG CG_KDCD CG_GATEWAYD CG_PKTD BUILD SRCDIR

TMPDIR_T=$(mktemp -d "${TMPDIR:-/tmp}/cgtest.XXXXXX")

# CG_VALGRIND=1 (tests/integration/02-valgrind.sh): $CG_KDCD, $CG_GATEWAYD
# and $CG_PKTD run their program under valgrind memcheck, one log per
# process (forked children too): $CG_VALGRIND_LOGS/SCENARIO.PROGRAM.PID.log.
# CG_SLOW multiplies the daemon start and stop waits (10 under valgrind).
if [ "${CG_VALGRIND:-0}" = 1 ]; then
	CG_SLOW=${CG_SLOW:-10}
	CG_VALGRIND_LOGS=${CG_VALGRIND_LOGS:-$BUILD/valgrind-logs}
	mkdir -p "$CG_VALGRIND_LOGS" "$TMPDIR_T/vg"
	chmod 1777 "$CG_VALGRIND_LOGS" # a daemon may switch user before it forks
	for _p in CG_KDCD CG_GATEWAYD CG_PKTD; do
		_b=${!_p}
		[ -x "$_b" ] || continue
		printf '#!/bin/sh\nexec valgrind -q --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --num-callers=30 --log-file=%s/%s.%s.%%p.log %s "$@"\n' \
		    "$CG_VALGRIND_LOGS" "$(basename "$0" .sh)" "${_b##*/}" "$_b" \
		    >"$TMPDIR_T/vg/${_b##*/}"
		chmod 755 "$TMPDIR_T/vg/${_b##*/}"
		printf -v "$_p" '%s' "$TMPDIR_T/vg/${_b##*/}"
	done
	export CG_VALGRIND CG_VALGRIND_LOGS
fi
CG_SLOW=${CG_SLOW:-1}
export CG_SLOW
_t_n=0
_t_failed=0
_cleanup_pids=()
_cleanup_cmds=()

_t_cleanup() {
	local p c
	for c in "${_cleanup_cmds[@]+"${_cleanup_cmds[@]}"}"; do
		eval "$c" >/dev/null 2>&1 || true
	done
	for p in "${_cleanup_pids[@]+"${_cleanup_pids[@]}"}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${_cleanup_pids[@]+"${_cleanup_pids[@]}"}"; do
		local i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -9 "$p" 2>/dev/null || true
	done
	rm -rf "$TMPDIR_T"
}
trap _t_cleanup EXIT
trap 'exit 130' INT TERM

# cleanup_pid PID: kill PID (ours) at exit.
cleanup_pid() { _cleanup_pids+=("$1"); }
# cleanup_cmd 'CMD': run CMD at exit (before the kills).
cleanup_cmd() { _cleanup_cmds+=("$1"); }

ok() {
	_t_n=$((_t_n + 1))
	echo "ok $_t_n - $1"
}
fail() {
	_t_n=$((_t_n + 1))
	_t_failed=$((_t_failed + 1))
	echo "not ok $_t_n - $1"
}
# skip DESC REASON
skip() {
	_t_n=$((_t_n + 1))
	echo "ok $_t_n - $1 # SKIP $2"
}
# diag TEXT: a comment line in the log.
diag() { printf '# %s\n' "$*"; }

# check DESC CMD...: ok if CMD exits 0; on failure its output goes to the log.
check() {
	local desc=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		ok "$desc"
	else
		fail "$desc (exit $rc)"
		printf '%s\n' "$out" | head -20 | sed 's/^/#   /'
	fi
	return $rc
}

# check_fails DESC CMD...: ok if CMD exits non-zero without a sanitizer report.
check_fails() {
	local desc=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -ne 0 ] && ! printf '%s' "$out" | grep -qE 'Sanitizer|runtime error'; then
		ok "$desc"
		return 0
	fi
	fail "$desc (exit $rc)"
	printf '%s\n' "$out" | head -20 | sed 's/^/#   /'
	return 1
}

# is_root: true when running as root (netns, iptables tests need it).
is_root() { [ "$(id -u)" = 0 ]; }

# done_testing: print the plan and exit non-zero if anything failed.
done_testing() {
	echo "1..$_t_n"
	[ "$_t_failed" -eq 0 ]
	exit $?
}

# free_port: a TCP port in 20000-31999 (below the ephemeral range) that
# nobody uses and that this test has not handed out before (the ports
# given are remembered in $TMPDIR_T, since callers use $(free_port)).
free_port() {
	local p
	for _ in $(seq 1 200); do
		p=$((20000 + RANDOM % 12000))
		grep -qx "$p" "$TMPDIR_T/.ports" 2>/dev/null && continue
		if [ -z "$(ss -Htan "sport = :$p" 2>/dev/null)" ]; then
			echo "$p" >>"$TMPDIR_T/.ports"
			echo "$p"
			return 0
		fi
	done
	return 1
}
