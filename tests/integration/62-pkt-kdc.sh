#!/usr/bin/env bash
# 62-pkt-kdc: cryptgate-pktd with its pair key from the KDC, end to end.
# A KDC (kdc init, hosts alice and bob, policy alice -> bob "pkt") and
# cryptgate-kdcd on 127.0.0.1 in the root namespace; alice runs
# `cryptgate request --service pkt --client-addr 10.77.0.1` (A's veth
# address, see pkt-lib.sh), bob `cryptgate retrieve` for that key id and
# address: both key.cfg files hold the same key, mode 0600.  pktd in A and
# B with those files (key_identity = kdc1-<keyid>) protects one port:
# 20 MB each way, sha256-checked, the marker never on A's veth (and seen
# on an unprotected port), flows counted, no MAC failures.  Then B gets the
# key of another request: connections on the protected port fail both ways,
# counted as key id or tag failures, nothing in clear; alice switching to
# that key too (SIGHUP) makes the port work again.  `cryptgate pkt down`
# at the end in both namespaces.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kdc-lib.sh"
. "$(dirname "$0")/pkt-lib.sh"

PORT_P=7100 # the protected port
PORT_C=6100 # an unprotected one (shows that the capture sees payload)
CFG_RE='^kdc1-[0-9a-f]{32}:[0-9a-f]{64}$'

pkt_prereq
if [ ! -x "$CG_KDCD" ]; then
	fail "$CG_KDCD is built"
	done_testing
fi

# --- the KDC, two hosts, the policy ------------------------------------------
if ! kdc_setup; then
	fail "kdc init"
	sed 's/^/#   /' "$K/init.out" | head
	done_testing
fi
for h in alice bob; do
	mkhost "$h" || fail "cryptgate keygen for $h"
done
if kdc_cli host add --addr "$PKT_A" "$T/alice/alice.pub" >"$K/add.out" 2>&1 &&
    kdc_cli host add --addr "$PKT_B" "$T/bob/bob.pub" >>"$K/add.out" 2>&1 &&
    kdc_cli policy allow alice bob pkt >>"$K/add.out" 2>&1; then
	ok "KDC: hosts alice and bob, policy alice -> bob service pkt"
else
	fail "KDC: hosts alice and bob, policy alice -> bob service pkt"
	sed 's/^/#   /' "$K/add.out" | head
	done_testing
fi
if ! kdc_start; then
	fail "cryptgate-kdcd listens on 127.0.0.1:$PORT"
	sed 's/^/#   /' "$K/kdcd.log" | head -20
	done_testing
fi
ok "cryptgate-kdcd listens on 127.0.0.1:$PORT"
# (after kdc_start, which rewrites the host configurations if it moves)
printf '\n[peer bob]\nid = %s\n' "$(hid bob)" >>"$T/alice/alice.conf"

# kdc_pair OUT: alice requests a pkt key for bob bound to A's address
# (appended to $T/alice/OUT), bob retrieves it ($T/bob/OUT); sets KEYID.
kdc_pair() {
	local out
	KEYID=
	out=$("$CG" request -f "$T/alice/alice.conf" --peer bob --service pkt \
	    --client-addr "$PKT_A" -o "$T/alice/$1" 2>&1) || {
		printf '%s\n' "$out" | sed 's/^/#   request: /'
		return 1
	}
	KEYID=$(printf '%s\n' "$out" | sed -n 's/^key id: \([0-9a-f]\{32\}\)$/\1/p')
	[ -n "$KEYID" ] || return 1
	out=$("$CG" retrieve -f "$T/bob/bob.conf" --key-id "$KEYID" \
	    --client-addr "$PKT_A" --service pkt -o "$T/bob/$1" 2>&1) || {
		printf '%s\n' "$out" | sed 's/^/#   retrieve: /'
		return 1
	}
}

if kdc_pair key.cfg; then
	ok "alice requests a pkt key for bob (client address $PKT_A), bob retrieves it"
else
	fail "alice requests a pkt key for bob, bob retrieves it"
	done_testing
fi
ID1=kdc1-$KEYID
if cmp -s "$T/alice/key.cfg" "$T/bob/key.cfg" &&
    [ "$(wc -l <"$T/alice/key.cfg")" = 1 ] &&
    grep -qE "$CFG_RE" "$T/alice/key.cfg" &&
    [ "$(cut -d: -f1 "$T/alice/key.cfg")" = "$ID1" ] &&
    [ "$(stat -c %a "$T/alice/key.cfg")" = 600 ] &&
    [ "$(stat -c %a "$T/bob/key.cfg")" = 600 ]; then
	ok "both key.cfg files hold the same $ID1 line, mode 0600"
else
	fail "both key.cfg files hold the same key line, mode 0600"
	ls -l "$T/alice/key.cfg" "$T/bob/key.cfg" | sed 's/^/#   /'
fi
if "$CG" retrieve -f "$T/bob/bob.conf" --key-id "$KEYID" --client-addr "$PKT_B" \
    --service pkt -o "$T/bob/wrong.cfg" >/dev/null 2>&1; then
	fail "retrieve for another client address is denied"
else
	ok "retrieve for another client address is denied"
fi

# --- pktd in A and B with the KDC's key ---------------------------------------
# conf NAME PEER KEYFILE IDENTITY: $T/NAME.conf, one policy on $PORT_P.
conf() {
	cat >"$T/$1.conf" <<EOF
[pkt]
queues = 1
queue_num = 0
status_socket = $T/$1.sock

[policy pkt]
peer = $2
ports = $PORT_P
direction = both
key_file = $3
key_identity = $4
EOF
}
conf a "$PKT_B/32" "$T/alice/key.cfg" "$ID1"
conf b "$PKT_A/32" "$T/bob/key.cfg" "$ID1"
out=$("$CG_PKTD" -n -f "$T/b.conf" 2>&1)
if [ $? -eq 0 ] && printf '%s' "$out" | grep -q 'configuration OK'; then
	ok "cryptgate-pktd -n reads the KDC's key.cfg under $ID1"
else
	fail "cryptgate-pktd -n reads the KDC's key.cfg"
	printf '%s\n' "$out" | head -5 | sed 's/^/#   /'
fi
if ! pkt_ns_setup; then
	fail "network namespaces, veth and bridge set up"
	done_testing
fi
if ! pkt_start a "$NA" || ! pkt_start b "$NB"; then
	fail "cryptgate-pktd starts in both namespaces with the KDC's key"
	done_testing
fi
ok "cryptgate-pktd runs in $NA and $NB with the KDC's key"

MARK="CGPKT-MARKER-$$-plaintext-that-must-never-be-on-the-wire"
yes "$MARK" | head -c 20000000 >"$T/big"
yes "$MARK" | head -c 200000 >"$T/small"
BIGSUM=$(sha256sum <"$T/big" | cut -d' ' -f1)
SMALLSUM=$(sha256sum <"$T/small" | cut -d' ' -f1)
pkt_capture "$NA" "$T/cap.pcap" tcp || fail "tcpdump on A's veth"

# xfer DESC FROMNS TONS TOADDR FILE SUM: a sha256-checked transfer on PORT_P.
xfer() {
	local got t0 t1
	t0=$(date +%s%3N)
	pkt_serve "$3" "$4" "$PORT_P" "$T/x" || fail "sink on $4:$PORT_P"
	pkt_send "$2" "$4" "$PORT_P" "$5" 30
	got=$(pkt_served "$T/x")
	t1=$(date +%s%3N)
	if [ "$got" = "$6" ]; then
		ok "$1: sha256 equal ($((t1 - t0)) ms)"
	else
		fail "$1: sha256 '$got'"
	fi
}
xfer "20 MB A->B on protected port $PORT_P" "$NA" "$NB" "$PKT_B" "$T/big" "$BIGSUM"
xfer "20 MB B->A on protected port $PORT_P" "$NB" "$NA" "$PKT_A" "$T/big" "$BIGSUM"
pkt_serve "$NB" "$PKT_B" "$PORT_C" "$T/clear" || fail "sink on B:$PORT_C"
pkt_send "$NA" "$PKT_B" "$PORT_C" "$T/small" 20
[ "$(pkt_served "$T/clear")" = "$SMALLSUM" ] || fail "unprotected port $PORT_C carries the transfer"

fa=$(pkt_stat a flows_total) fb=$(pkt_stat b flows_total)
ma=$(pkt_stat a mac_failures) mb=$(pkt_stat b mac_failures)
oa=$(pkt_stat a out_pkts)
if [ "$fa" -ge 2 ] && [ "$fb" -ge 2 ] && [ "$oa" -gt 1000 ] &&
    [ "$ma" = 0 ] && [ "$mb" = 0 ]; then
	ok "counters: flows A $fa, B $fb; A sent $oa packets; 0 MAC failures"
else
	fail "counters: flows A $fa, B $fb, A out_pkts $oa, MAC failures A $ma, B $mb"
	"$CG" status -r -s "$T/b.sock" 2>&1 | sed 's/^/#   /'
fi

# --- B with the key of another request: the port fails, nothing in clear ------
if kdc_pair key2.cfg && [ "kdc1-$KEYID" != "$ID1" ] &&
    cmp -s "$T/alice/key2.cfg" "$T/bob/key2.cfg" &&
    [ "$(cut -d: -f2 "$T/bob/key2.cfg")" != "$(cut -d: -f2 "$T/bob/key.cfg")" ]; then
	ok "a second request gives another key (kdc1-$KEYID)"
else
	fail "a second request gives another key"
fi
ID2=kdc1-$KEYID
# rejects NAME: drops for a wrong key id or tag at NAME.
rejects() { echo $(($(pkt_stat "$1" drop_key_id) + $(pkt_stat "$1" drop_bad_tag))); }
pkt_stop b TERM
conf b "$PKT_A/32" "$T/bob/key2.cfg" "$ID2"
if pkt_start b "$NB"; then
	ok "B restarted with the other request's key $ID2"
else
	fail "B restarts with the other request's key"
fi
r0=$(($(rejects a) + $(rejects b)))
pkt_serve "$NB" "$PKT_B" "$PORT_P" "$T/neg" || fail "sink on B:$PORT_P"
if pkt_send "$NA" "$PKT_B" "$PORT_P" "$T/small" 8 2>/dev/null; then
	fail "A -> B:$PORT_P fails with different keys"
else
	ok "A -> B:$PORT_P fails with different keys"
fi
pkt_serve "$NA" "$PKT_A" "$PORT_P" "$T/neg2" || fail "sink on A:$PORT_P"
if pkt_send "$NB" "$PKT_A" "$PORT_P" "$T/small" 8 2>/dev/null; then
	fail "B -> A:$PORT_P fails with different keys"
else
	ok "B -> A:$PORT_P fails with different keys"
fi
r1=$(($(rejects a) + $(rejects b)))
if [ "$r1" -gt "$r0" ]; then
	ok "the wrong key is counted (key_id/bad_tag drops $r0 -> $r1)"
else
	fail "the wrong key is counted (key_id/bad_tag drops $r0 -> $r1)"
	"$CG" status -r -s "$T/b.sock" 2>&1 | sed 's/^/#   /'
fi

# --- alice switches to the second key too (SIGHUP): the port works again ------
conf a "$PKT_B/32" "$T/alice/key2.cfg" "$ID2"
kill -HUP "$PID_a"
for _ in $(seq 1 50); do
	grep -q 'reloaded:' "$T/a.log" && break
	sleep 0.1
done
grep -q 'reloaded:' "$T/a.log" || fail "A reloads its configuration on SIGHUP"
# The sinks of the wrong-key attempts are still waiting: nothing reached
# them.  Now the same attempts go through, to those very sinks.
if [ ! -e "$T/neg.sum" ] && [ ! -e "$T/neg2.sum" ] &&
    nsx "$NB" ss -Hltn "sport = :$PORT_P" | grep -q . &&
    nsx "$NA" ss -Hltn "sport = :$PORT_P" | grep -q .; then
	ok "no connection reached the sinks while the keys differed"
else
	fail "no connection reached the sinks while the keys differed"
fi
pkt_send "$NA" "$PKT_B" "$PORT_P" "$T/big" 30
got=$(pkt_served "$T/neg")
if [ "$got" = "$BIGSUM" ]; then
	ok "A reloaded (SIGHUP) to the second key: 20 MB A->B, sha256 equal"
else
	fail "A reloaded (SIGHUP) to the second key: 20 MB A->B, sha256 '$got'"
fi
pkt_send "$NB" "$PKT_A" "$PORT_P" "$T/small" 30
got=$(pkt_served "$T/neg2")
if [ "$got" = "$SMALLSUM" ]; then
	ok "and B->A, sha256 equal"
else
	fail "and B->A, sha256 '$got'"
fi

# --- the capture ----------------------------------------------------------------
pkt_capture_stop
nsx "$NA" tcpdump -r "$T/cap.pcap" -w "$T/prot.pcap" "port $PORT_P" 2>/dev/null
nsx "$NA" tcpdump -r "$T/cap.pcap" -w "$T/clear.pcap" "port $PORT_C" 2>/dev/null
nprot=$(tcpdump -r "$T/prot.pcap" 2>/dev/null | wc -l)
if [ "$nprot" -gt 5000 ] && grep -aq "CGPKT-MARKER-$$" "$T/clear.pcap"; then
	ok "the capture holds $nprot protected frames and sees the marker on port $PORT_C"
else
	fail "the capture holds the protected frames ($nprot) and the marker on port $PORT_C"
fi
if grep -aq "CGPKT-MARKER-$$" "$T/prot.pcap"; then
	fail "the marker never appears on the wire on port $PORT_P"
else
	ok "the marker never appears on the wire on port $PORT_P"
fi
ma=$(pkt_stat a mac_failures) mb=$(pkt_stat b mac_failures)
diag "MAC failures after the wrong-key phase: A $ma, B $mb"

# --- cryptgate pkt down in both namespaces --------------------------------------
pkt_stop a TERM
pkt_stop b TERM
if nsx "$NA" "$CG" pkt down -f "$T/a.conf" >"$T/down-a.log" 2>&1 &&
    nsx "$NB" "$CG" pkt down -f "$T/b.conf" >"$T/down-b.log" 2>&1 &&
    [ -z "$(pkt_rules "$NA")" ] && [ -z "$(pkt_rules "$NB")" ]; then
	ok "cryptgate pkt down removes the rules in both namespaces"
else
	fail "cryptgate pkt down removes the rules in both namespaces"
	sed 's/^/#   /' "$T/down-a.log" "$T/down-b.log"
fi
for n in a b; do
	if grep -qE 'Sanitizer|runtime error' "$T/$n.log"; then
		fail "no sanitizer report from pktd $n"
		grep -E -A5 'Sanitizer|runtime error' "$T/$n.log" | head -10 | sed 's/^/#   /'
	fi
done
sanitizer_clean "$K/kdcd.log" || fail "no sanitizer report from cryptgate-kdcd"
done_testing
