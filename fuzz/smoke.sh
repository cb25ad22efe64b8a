#!/usr/bin/env bash
# fuzz/smoke.sh: run each libFuzzer target (or those named) for FUZZ_TIME
# seconds of wall time, one after the other, and print per target the
# executions, coverage (cov:), features (ft:), corpus size and crashes.
# Exits 1 if any target crashed (or leaked, hung, ran out of memory).
#
# Usage: make fuzz-smoke [FUZZ_TIME=60]
#        BUILD=build FUZZ_TIME=60 fuzz/smoke.sh [TARGET...]
# Environment: FUZZ_TIME (60), NICE (19: others work on this machine),
# FUZZ_MERGE=1 to add the new coverage-increasing inputs to
# fuzz/corpus/TARGET (off by default: a smoke run does not change the
# tree).  Logs, work corpora and crash inputs: $BUILD/fuzz-smoke/.
set -u
cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build}
FUZZ_TIME=${FUZZ_TIME:-60}
NICE=${NICE:-19}
. fuzz/common.sh

case $FUZZ_TIME in
'' | *[!0-9]* | 0)
	echo "fuzz-smoke: FUZZ_TIME must be a number of seconds" >&2
	exit 2
	;;
esac
list=$(fz_targets "$@") || exit 2
mapfile -t targets <<<"$list"
out=$BUILD/fuzz-smoke
mkdir -p "$out"

failed=()
printf '%-12s %10s %6s %6s %7s %7s\n' target execs cov ft corpus crashes
for t in "${targets[@]}"; do
	bin=$(fz_bin "$t") || exit 2
	work=$out/$t.corpus art=$out/$t.crashes log=$out/$t.log
	rm -rf "$work" "$art"
	mkdir -p "$work" "$art"
	# shellcheck disable=SC2046 # fz_dict: zero or one word
	nice -n "$NICE" "$bin" "${FZ_FLAGS[@]}" $(fz_dict "$t") \
	    -max_total_time="$FUZZ_TIME" -artifact_prefix="$art/" \
	    "$work" "fuzz/corpus/$t" >"$log" 2>&1
	rc=$?
	read -r execs cov ft corp < <(fz_stats "$log")
	crashes=$(fz_crashes "$art")
	if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
		crashes="rc=$rc" # died without an artifact: count it too
	fi
	printf '%-12s %10s %6s %6s %7s %7s\n' "$t" "$execs" "$cov" "$ft" "$corp" "$crashes"
	if [ "$crashes" != 0 ]; then
		failed+=("$t")
		grep -E '^==[0-9]+==|^SUMMARY|artifact|Test unit written' "$log" |
		    head -8 | sed 's/^/    /'
	elif [ "${FUZZ_MERGE:-0}" = 1 ]; then
		echo "    merged $(fz_merge "$t" "$bin" "$work" "$log") new input(s) into fuzz/corpus/$t"
	fi
done
if [ "${#failed[@]}" -gt 0 ]; then
	echo "fuzz-smoke: crashes in: ${failed[*]} (inputs in $out/TARGET.crashes/, logs $out/TARGET.log)"
	exit 1
fi
echo "fuzz-smoke: ${#targets[@]} targets, ${FUZZ_TIME}s each, no crash (logs in $out/)"
