#!/usr/bin/env bash
# 70-quickstart: docs/QUICKSTART.md runs as written, on three simulated
# hosts (tests/integration/docex-lib.sh): build and install on each, KDC,
# host keys, enrollment, policy, the gateway pair, status.  Then checks of
# its own: a new line still crosses the pair to bob's service and back,
# every frame on the bridge was captured and none held a plaintext line
# (a UDP datagram sent in clear proves the capture would show one), and
# the KDC issued alice's key for bob's "rev".
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/docex-lib.sh"

DOC=docs/QUICKSTART.md
# The guide installs the programs itself (make install into /usr/local).
# shellcheck disable=SC2034 # read by docex-lib.sh
DOCEX_BUILD_PATH=no

if ! docex_setup "$DOC"; then
	done_testing
fi

# The guide's `make` runs in an overlay of the source snapshot
# ($DOCEX_DIR/src) whose build/ is $BUILD: it must find everything up to
# date, else it would rebuild with other flags than $BUILD's.
if ! make -q -C "$DOCEX_DIR/src" BUILD="$BUILD" all >/dev/null 2>&1; then
	fail "$BUILD is up to date with the sources (make -q BUILD=$BUILD all): rebuild it first"
	done_testing
fi

# Every frame between the hosts, from the switch (all its bridge ports).
docex_capture_start

docex_blocks

# What the guide says the commands print.
# claim DESC TEXT EXPECTED-REGEX: the output of the block containing TEXT
# has a line matching EXPECTED-REGEX.
claim() {
	local log
	log=$(docex_block_log "$2") || {
		fail "$1 (no block with \"$2\")"
		return
	}
	if grep -qxE -- "$3" "$log"; then
		ok "$1"
	else
		fail "$1"
		sed 's/^/#   | /' "$log" | tail -10
	fi
}
claim "the guide's client prints the reversed line" \
    'echo "hello bob, this is alice"' 'ecila si siht ,bob olleh'
claim "bob's enrollment prints \"pending approval\"" \
    'cryptgate enroll -f' 'pending approval'
claim "the guide's capture check prints 0" \
    "grep -c 'a secret for bob'" '0'
kdc_id=$(sed -n 's/^kdc id: \([0-9a-f]\{32\}\)$/\1/p' \
    "$(docex_block_log 'cryptgate kdc init')" 2>/dev/null)
if [ -n "$kdc_id" ]; then
	claim "alice's copy of kdc.pub has the id kdc init printed" \
	    'cryptgate keygen -c alice' "$kdc_id"
	claim "bob's copy of kdc.pub has the id kdc init printed" \
	    'cryptgate keygen -c bob' "$kdc_id"
else
	fail "kdc init printed \"kdc id: <32 hex>\""
fi

# A line of our own, through the pair.
line="docex probe $$ through the gateways"
want=$(printf '%s\n' "$line" | rev)
got=$(printf '%s\n' "$line" |
    docex_exec alice socat -t 5 - TCP:127.0.0.1:7000 2>&1)
if [ "$got" = "$want" ]; then
	ok "a new line from alice reaches bob's service through the gateways and back"
else
	fail "a new line from alice reaches bob's service through the gateways and back"
	diag "got: $got"
fi

# Positive control: a line sent in clear must show up in the capture.
docex_capture_stop alice bob.example.net "docex clear marker $$"
dump=$DOCEX_DIR/bridge.txt
n17000=$(tcpdump -r "$CAP" -n 'tcp port 17000 and greater 100' 2>/dev/null | wc -l)
if grep -q "docex clear marker $$" "$dump"; then
	ok "the bridge capture shows a line sent in clear (control)"
else
	fail "the bridge capture shows a line sent in clear (control)"
fi
if [ "$n17000" -ge 10 ]; then
	ok "the gateways' TLS traffic crossed the bridge ($n17000 packets on port 17000)"
else
	fail "the gateways' TLS traffic crossed the bridge ($n17000 packets on port 17000)"
fi
leaked=""
for s in "hello bob, this is alice" "a secret for bob" "$line" \
    "ecila si siht ,bob olleh" "$want"; do
	grep -qF "$s" "$dump" && leaked="$leaked [$s]"
done
if [ -z "$leaked" ]; then
	ok "no line crossed the bridge in clear"
else
	fail "lines crossed the bridge in clear:$leaked"
fi

# The KDC issued alice two keys for bob's rev (her gateway's and the
# guide's cryptgate request), and bob's gateway counted handshakes without
# failures.
keys=$(docex_exec kdc cryptgate kdc key list -f /etc/cryptgate/kdc.conf 2>&1)
nkeys=$(printf '%s\n' "$keys" | grep -E ' alice +bob +rev +192\.0\.2\.21 ' | grep -c ' valid$')
if [ "$nkeys" -ge 2 ]; then
	ok "the KDC issued alice $nkeys valid keys for bob's rev, bound to 192.0.2.21"
else
	fail "the KDC issued alice 2 valid keys for bob's rev, bound to 192.0.2.21 ($nkeys)"
	printf '%s\n' "$keys" | sed 's/^/#   /'
fi
st=$(docex_exec bob cryptgate status -r 2>&1)
hs=$(printf '%s\n' "$st" | sed -n 's/.*service=rev .*handshakes=\([0-9]*\).*/\1/p')
bad=$(printf '%s\n' "$st" | grep 'service=rev ' | grep -oE 'hs_[a-z_]+=[1-9][0-9]*' || true)
if [ "${hs:-0}" -ge 3 ] && [ -z "$bad" ]; then
	ok "bob's gateway: $hs handshakes for rev, no handshake failure"
else
	fail "bob's gateway: handshakes for rev (${hs:-none}), failures: ${bad:-none}"
	printf '%s\n' "$st" | sed 's/^/#   /'
fi

docex_teardown
done_testing
