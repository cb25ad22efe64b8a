#!/usr/bin/env bash
# 01-lint: make lint, one line per tool: cppcheck (src, fuzz, tests/unit,
# tests/helpers, bench) and clang-tidy (.clang-tidy: analyzer, bugprone,
# cert; src and tests/unit).  Each finding goes to the log.
. "$(dirname "$0")/lib.sh"

# lint TOOL TARGET: make TARGET, ok if it exits 0; else its findings.
lint() {
	local out rc
	if ! command -v "$1" >/dev/null 2>&1; then
		skip "$1 clean (make $2)" "$1 not installed (mk/deps.sh installs it)"
		return
	fi
	out=$(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "${MAKE:-make}" -s "$2" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		ok "$1 clean (make $2, ${SECONDS}s so far)"
		return
	fi
	fail "$1 clean (make $2): exit $rc, $(printf '%s\n' "$out" |
	    grep -cE '(warning|error): ') findings"
	# The findings first, then the rest of the output.
	{
		printf '%s\n' "$out" | grep -E '(warning|error): '
		printf '%s\n' "$out" | grep -vE '(warning|error): '
	} | head -80 | sed 's/^/#   /'
}

lint cppcheck lint-cppcheck
lint clang-tidy lint-tidy
done_testing
