#!/usr/bin/env bash
# fuzz/coverage.sh: which source files each fuzz target reaches, and how
# much of them its corpus covers: builds each target with clang's
# source-based coverage and fuzz/replay_main.c (no libFuzzer), replays
# fuzz/corpus/TARGET (and, if present, the long run's work corpus), and
# prints per target the line and branch coverage of every file of src/ it
# executes at all.
#
# Usage: BUILD=build fuzz/coverage.sh [TARGET...]
# Environment: FUZZ_MAKEARGS: more arguments for the library's make, in
# shell syntax (FUZZ_MAKEARGS="V=1 'LIB_SRCS=a.c b.c'").
# Output and profiles: $BUILD/fuzz-cov/.
set -u
cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build}
NICE=${NICE:-19}
. fuzz/common.sh

list=$(fz_targets "$@") || exit 2
mapfile -t targets <<<"$list"
cov=$BUILD/fuzz-cov
mkdir -p "$cov"
flags="-O1 -g -fprofile-instr-generate -fcoverage-mapping"
pkgs="libssl libcrypto inih sqlite3"

margs=()
eval "margs=(${FUZZ_MAKEARGS:-})"
nice -n "$NICE" make --no-print-directory BUILD="$cov/lib" CC=clang \
    CFLAGS="$flags" SANITIZE= "${margs[@]}" "$cov/lib/libcryptgate.a" \
    >"$cov/make.log" 2>&1 ||
    { echo "coverage: library build failed ($cov/make.log)" >&2; exit 2; }

for t in "${targets[@]}"; do
	bin=$cov/replay_$t
	# shellcheck disable=SC2046,SC2086 # flags, pkg-config: words
	nice -n "$NICE" clang -std=c11 -D_GNU_SOURCE -DOPENSSL_API_COMPAT=30000 \
	    -DOPENSSL_NO_DEPRECATED -Iinclude $flags \
	    $(pkg-config --cflags $pkgs) -o "$bin" "fuzz/fuzz_$t.c" \
	    fuzz/replay_main.c "$cov/lib/libcryptgate.a" \
	    $(pkg-config --libs $pkgs) -lpthread 2>"$cov/$t.build.log" ||
	    { echo "coverage: $t does not build ($cov/$t.build.log)" >&2; exit 2; }
	dirs=("fuzz/corpus/$t")
	[ -d "$BUILD/fuzz-longrun/$t.corpus" ] &&
	    dirs+=("$BUILD/fuzz-longrun/$t.corpus")
	rm -f "$cov/$t".*.profraw
	LLVM_PROFILE_FILE="$cov/$t.%p.profraw" nice -n "$NICE" "$bin" \
	    "${dirs[@]}" >"$cov/$t.replay.log" 2>&1
	llvm-profdata merge -sparse -o "$cov/$t.profdata" "$cov/$t".*.profraw
	rm -f "$cov/$t".*.profraw
	echo "== $t (${dirs[*]})"
	# Files of src/ with at least one line run; Regions Missed Cover
	# Functions Missed Executed Lines Missed Cover Branches Missed Cover.
	llvm-cov report "$bin" -instr-profile="$cov/$t.profdata" 2>/dev/null |
	    awk -v root="$PWD/" '
		$1 ~ /src\// && $NF != "-" {
			f = $1; sub(root, "", f)
			lines = $8; lmiss = $9
			if (lines - lmiss > 0)
				printf "   %-36s lines %5s of %5d  branches %s\n",
				    f, $10, lines, $13
		}'
done
