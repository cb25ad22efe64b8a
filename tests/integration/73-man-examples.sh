#!/usr/bin/env bash
# 73-man-examples: the runnable examples of the six man pages (docs/man/),
# each page on its own simulated hosts through the docex harness
# (tests/helpers/docex.pl, docex-lib.sh): the markup is checked, then every
# block marked `.\" run: HOST` runs in document order and must succeed (or
# fail, if marked expect-fail).  Blocks not marked are output or
# configuration text, or say in a roff comment which integration test
# covers them (systemd, for instance, is not available here).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/docex-lib.sh"

pages=(docs/man/cryptgate.1 docs/man/cryptgate-kdc.1 docs/man/cryptgate.conf.5
    docs/man/cryptgate-kdcd.8 docs/man/cryptgate-gatewayd.8
    docs/man/cryptgate-pktd.8)

# Every page has runnable examples (a page without any would pass silently).
for p in "${pages[@]}"; do
	n=$(grep -c '^\.\\" run: ' "$p")
	if [ "$n" -ge 2 ]; then
		ok "$p: $n runnable examples"
	else
		fail "$p: $n runnable examples (want 2 or more)"
	fi
done

docex_run "${pages[@]}"
done_testing
