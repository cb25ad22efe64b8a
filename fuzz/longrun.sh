#!/usr/bin/env bash
# fuzz/longrun.sh: run each libFuzzer target (or those named) until it has
# used MIN minutes of CPU time in all, at low priority, then merge what it
# found into fuzz/corpus/TARGET and print a table of the results.
#
# Usage: BUILD=build fuzz/longrun.sh [-m MIN] [-j JOBS] [--reset] [TARGET...]
#   -m MIN    CPU-minutes per target, over all sessions (default 30)
#   -j JOBS   targets fuzzed at once (default 1; 2 uses both cores)
#   --reset   forget the CPU time and work corpora of earlier sessions
# Environment: NICE (19), FUZZ_BUILD=0 not to run `make fuzz` first.
#
# CPU time is the fuzzer process's own (utime + stime from /proc, all its
# threads), not wall time: a niced fuzzer on a busy machine gets less.  The
# run is restartable: each session adds its CPU time to the target's
# total in $BUILD/fuzz-longrun/TARGET.state, and its work corpus
# ($BUILD/fuzz-longrun/TARGET.corpus) carries the progress; a target that
# has its minutes is skipped.  A target that crashes stops (its input in
# TARGET.crashes/, the rest of its minutes left for after the fix); the
# others go on; the exit status is then 1.  Logs: logs/TARGET.DATE.log;
# one summary line per target and session appended to longrun.log.
set -u
cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build}
NICE=${NICE:-19}
. fuzz/common.sh

usage() {
	sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}

min=30 jobs=1 reset=0
while [ $# -gt 0 ]; do
	case $1 in
	-m) min=${2:-}; shift 2 || usage ;;
	-j) jobs=${2:-}; shift 2 || usage ;;
	--reset) reset=1; shift ;;
	-h | --help) usage ;;
	-*) usage ;;
	*) break ;;
	esac
done
case $min$jobs in *[!0-9]* | '') usage ;; esac
if [ "$min" -eq 0 ] || [ "$jobs" -eq 0 ]; then
	usage
fi
list=$(fz_targets "$@") || exit 2
mapfile -t targets <<<"$list"

if [ "${FUZZ_BUILD:-1}" != 0 ]; then
	nice -n "$NICE" make --no-print-directory BUILD="$BUILD" fuzz >/dev/null ||
	    { echo "longrun: make BUILD=$BUILD fuzz failed" >&2; exit 2; }
fi
for t in "${targets[@]}"; do
	fz_bin "$t" >/dev/null || exit 2
done

dir=$BUILD/fuzz-longrun
mkdir -p "$dir/logs"
hz=$(getconf CLK_TCK)
budget=$((min * 60))

# state T: "CPU_SECONDS EXECS SESSIONS COV FT" of earlier sessions.
state() {
	if [ -f "$dir/$1.state" ]; then
		cat "$dir/$1.state"
	else
		echo "0 0 0 - -"
	fi
}

if [ "$reset" = 1 ]; then
	for t in "${targets[@]}"; do
		rm -rf "$dir/$t.state" "$dir/$t.corpus" "$dir/$t.result"
	done
fi

# cpu_ticks PID: utime + stime of the live process PID, or nothing once
# it has exited (gone, or a zombie: its time then is in our cutime).
cpu_ticks() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	s=${s##*) } # past "pid (comm) ": the comm may hold spaces
	# shellcheck disable=SC2086 # split the fields
	set -- $s
	[ "$1" != Z ] || return 0
	echo $((${12} + ${13}))
}

# run_one T: fuzz T until its total CPU time reaches the budget.  Run it
# in the background: a subshell of its own, so that its cutime is the
# fuzzer's (the merge comes after), and its pid the one to signal.
# Writes T.result and T.state.
run_one() {
	t=$1
	read -r cpu0 execs0 sessions0 _ _ < <(state "$t")
	left=$((budget - cpu0))
	bin=$BUILD/fuzz/fuzz_$t
	work=$dir/$t.corpus art=$dir/$t.crashes
	log=$dir/logs/$t.$(date +%Y%m%d-%H%M%S).log
	mkdir -p "$work" "$art"
	crashes0=$(fz_crashes "$art")
	# shellcheck disable=SC2046 # fz_dict: zero or one word
	nice -n "$NICE" "$bin" "${FZ_FLAGS[@]}" $(fz_dict "$t") \
	    -artifact_prefix="$art/" "$work" "fuzz/corpus/$t" >"$log" 2>&1 &
	pid=$!
	stop=0
	trap 'stop=1' INT TERM
	while :; do
		ticks=$(cpu_ticks "$pid")
		[ -n "$ticks" ] || break
		if [ "$stop" = 1 ] || [ "$ticks" -ge $((left * hz)) ]; then
			kill -INT "$pid" 2>/dev/null
			for _ in $(seq 60); do
				[ -n "$(cpu_ticks "$pid")" ] || break
				sleep 1
			done
			kill -KILL "$pid" 2>/dev/null
			break
		fi
		sleep 5 &
		wait $! # a signal to us ends the wait at once
	done
	wait "$pid"
	rc=$?
	# Everything this subshell waited for: the fuzzer, and the sleeps.
	self=$BASHPID
	read -r -a st < <(sed 's/.*) //' "/proc/$self/stat")
	cpu=$(((st[13] + st[14]) / hz))
	read -r execs cov ft corp < <(fz_stats "$log")
	[ "$execs" != - ] || execs=0
	crashes=$(($(fz_crashes "$art") - crashes0))
	if [ "$crashes" -eq 0 ] && [ "$rc" -ne 0 ] && [ "$rc" -ne 72 ]; then
		crashes=1 # died without leaving an input (rc 72: interrupted)
	fi
	merged=0
	if [ "$crashes" -eq 0 ]; then
		merged=$(fz_merge "$t" "$bin" "$work" "$log")
	fi
	echo "$((cpu0 + cpu)) $((execs0 + execs)) $((sessions0 + 1)) $cov $ft" \
	    >"$dir/$t.state"
	echo "$cpu $execs $cov $ft $corp $crashes $merged $rc" >"$dir/$t.result"
	printf '%s %-10s cpu %ds (total %ds of %ds) execs %s cov %s ft %s corp %s crashes %s merged %s log %s\n' \
	    "$(date '+%F %T')" "$t" "$cpu" "$((cpu0 + cpu))" "$budget" "$execs" \
	    "$cov" "$ft" "$corp" "$crashes" "$merged" "$log" >>"$dir/longrun.log"
}

pids=()
# shellcheck disable=SC2317 # run by the trap
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	wait
	exit 130
}
trap cleanup INT TERM

echo "longrun: ${targets[*]}: ${min} CPU-min each, $jobs at a time, nice $NICE; progress in $dir/longrun.log"
for t in "${targets[@]}"; do
	rm -f "$dir/$t.result"
	read -r cpu0 _ < <(state "$t")
	if [ "$cpu0" -ge "$budget" ]; then
		continue
	fi
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
		wait -n
	done
	run_one "$t" &
	pids+=($!)
done
wait

# The table: this session's figures and the totals over all sessions.
status=0
printf '\n%-10s %15s %4s %23s %6s %6s %7s %7s %7s\n' target 'CPU-min now/all' \
    runs 'execs now/all' cov ft corpus crashes merged
for t in "${targets[@]}"; do
	read -r cpuall execsall sessions covall ftall < <(state "$t")
	if [ -f "$dir/$t.result" ]; then
		read -r cpu execs cov ft corp crashes merged _ <"$dir/$t.result"
	else
		cpu=0 execs=0 cov=$covall ft=$ftall corp=- crashes=0 merged=0
	fi
	[ "$crashes" -eq 0 ] || status=1
	printf '%-10s %7s/%-7s %4s %11s/%-11s %6s %6s %7s %7s %7s\n' "$t" \
	    "$(awk -v s="$cpu" 'BEGIN { printf "%.1f", s / 60 }')" \
	    "$(awk -v s="$cpuall" 'BEGIN { printf "%.1f", s / 60 }')" "$sessions" \
	    "$execs" "$execsall" "$cov" "$ft" "$corp" "$crashes" "$merged"
done
echo "(now: this session; all: the totals in $dir/TARGET.state, which" \
    "accumulate over the sessions (runs) until a target has ${min} CPU-min;" \
    "corpus: the fuzzer's count at its end; merged: files added to" \
    "fuzz/corpus/TARGET)"
exit "$status"
