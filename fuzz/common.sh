# fuzz/common.sh: what fuzz/smoke.sh and fuzz/longrun.sh share (sourced).
# Run from the repository root; BUILD is the build directory (make fuzz
# put the targets in $BUILD/fuzz).
# shellcheck shell=bash

# The flags every libFuzzer run gets.  -close_fd_mask=3: the targets' own
# logging (stderr) is noise; libFuzzer's lines and sanitizer reports still
# reach the log.  -timeout: a unit slower than that is a bug (a hang).
# shellcheck disable=SC2034 # used by the scripts that source this file
FZ_FLAGS=(-print_final_stats=1 -close_fd_mask=3 -timeout=25 -rss_limit_mb=2048)

# fz_targets [NAME...]: the target names (fuzz/fuzz_NAME.c), all of them
# or those named; exits 2 on an unknown name.
fz_targets() {
	local all n f
	all=$(for f in fuzz/fuzz_*.c; do
		n=${f#fuzz/fuzz_}
		echo "${n%.c}"
	done)
	if [ $# -eq 0 ]; then
		echo "$all"
		return 0
	fi
	for n in "$@"; do
		if ! grep -qx -- "$n" <<<"$all"; then
			echo "fuzz: no target $n (fuzz/fuzz_$n.c); targets: ${all//$'\n'/ }" >&2
			exit 2
		fi
		echo "$n"
	done
}

# fz_bin NAME: the target's program; exits 2 if it is not built.
fz_bin() {
	local b=$BUILD/fuzz/fuzz_$1
	if [ ! -x "$b" ]; then
		echo "fuzz: $b missing: make BUILD=$BUILD fuzz" >&2
		exit 2
	fi
	echo "$b"
}

# fz_dict NAME: the -dict= flag if fuzz/NAME.dict exists.
fz_dict() {
	if [ -f "fuzz/$1.dict" ]; then
		echo "-dict=fuzz/$1.dict"
	fi
}

# fz_stats LOG: "EXECS COV FT CORPUS" from a libFuzzer log: the final
# stats line for the executions (else the last status line's #N), and
# cov:, ft:, corp: of the last status line; "-" where there is none.
fz_stats() {
	awk '
		/^#[0-9]+\t/ && / cov: / {
			n = substr($1, 2)
			for (i = 2; i < NF; i++) {
				if ($i == "cov:") cov = $(i + 1)
				if ($i == "ft:") ft = $(i + 1)
				if ($i == "corp:") { corp = $(i + 1); sub(/\/.*/, "", corp) }
			}
		}
		/^stat::number_of_executed_units:/ { execs = $2 }
		END {
			if (execs == "") execs = n
			printf "%s %s %s %s\n", execs == "" ? "-" : execs,
			    cov == "" ? "-" : cov, ft == "" ? "-" : ft,
			    corp == "" ? "-" : corp
		}' "$1"
}

# fz_crashes DIR: how many crash, leak, timeout and oom artifacts DIR holds.
fz_crashes() {
	find "$1" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' \
	    -o -name 'timeout-*' -o -name 'oom-*' \) 2>/dev/null | wc -l
}

# fz_merge NAME BIN WORKDIR LOG: add to fuzz/corpus/NAME the inputs of
# WORKDIR that reach code it does not (libFuzzer -merge=1: a minimal set,
# the corpus already there counts first; -use_counters=0: new edges only,
# not new hit counts of known ones, which keeps the corpus in the tree to
# about a third; the work corpus keeps the finer progress).  Prints how
# many were added.
fz_merge() {
	local name=$1 bin=$2 work=$3 log=$4 before after
	before=$(find "fuzz/corpus/$name" -maxdepth 1 -type f | wc -l)
	nice -n "${NICE:-19}" "$bin" -merge=1 -use_counters=0 -close_fd_mask=3 -timeout=25 \
	    "fuzz/corpus/$name" "$work" >>"$log" 2>&1 || {
		echo "fuzz: merge of $work into fuzz/corpus/$name failed (see $log)" >&2
		echo 0
		return 0
	}
	after=$(find "fuzz/corpus/$name" -maxdepth 1 -type f | wc -l)
	echo $((after - before))
}
