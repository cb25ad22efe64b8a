#!/usr/bin/env bash
# 60-pkt: cryptgate-pktd end to end between two network namespaces (A and
# B on a bridge in C, see pkt-lib.sh), both running the daemon with the
# same key; protected ports 5201 and 7000-7010, port 6000 unprotected.
# iperf3 both ways; a 200 MB sha256-checked transfer each way with 1 %
# random loss (iptables statistic) and about 1 % reordering (htb + CLASSIFY,
# sch_netem is not needed) on both hosts; IPv6; a capture on A's veth never
# shows the plaintext marker (and does show it on the unprotected port, so
# the capture would catch it); a SYN without the hello option to a
# protected port (from C, which runs no pktd but is inside B's policy) is
# dropped, with no cleartext fallback; counters read with cryptgate status.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pkt-lib.sh"

T=$TMPDIR_T
BIG_MB=${PKT_BIG_MB:-200}
pkt_prereq
if ! pkt_ns_setup; then
	fail "network namespaces, veth and bridge set up"
	done_testing
fi
ok "namespaces $NA, $NB, $NC with veth and bridge"
pkt_keys
pkt_conf a "$PKT_B/32" "$PKT_B6/128" "5201 7000-7010"
pkt_conf b "10.77.0.0/24" "fd77::/64" "5201 7000-7010"
if ! pkt_start a "$NA" || ! pkt_start b "$NB"; then
	fail "cryptgate-pktd starts in both namespaces"
	done_testing
fi
ok "cryptgate-pktd runs in both namespaces"
rules=$(pkt_rules "$NA")
if [ -n "$rules" ] && ! printf '%s' "$rules" | grep -q -- '--queue-bypass'; then
	ok "NFQUEUE rules installed, no --queue-bypass"
else
	fail "NFQUEUE rules installed, no --queue-bypass"
	printf '%s\n' "$rules" | sed 's/^/#   /'
fi

MARK="CGPKT-MARKER-$$-plaintext-that-must-never-be-on-the-wire"
yes "$MARK" | head -c $((BIG_MB * 1000000)) >"$T/big"
yes "$MARK" | head -c 20000000 >"$T/small"
BIGSUM=$(sha256sum "$T/big" | cut -d' ' -f1)
SMALLSUM=$(sha256sum "$T/small" | cut -d' ' -f1)
pkt_capture "$NA" "$T/cap.pcap" tcp || fail "tcpdump on A's veth"

# --- iperf3 both ways ---------------------------------------------------------
iperf() { # iperf ARGS...: Mbit/s received (one run, 3 s)
	local pid out
	ip netns exec "$NB" timeout 30 iperf3 -s -1 -p 5201 >"$T/iperf-s.log" 2>&1 &
	pid=$!
	cleanup_pid "$pid"
	for _ in $(seq 1 50); do
		nsx "$NB" ss -Hltn "sport = :5201" | grep -q . && break
		sleep 0.1
	done
	out=$(nsx "$NA" timeout 30 iperf3 -c "$PKT_B" -p 5201 -t 3 -f m "$@" 2>&1)
	wait "$pid" 2>/dev/null
	printf '%s\n' "$out" | awk '/receiver/ { for (i = 1; i <= NF; i++)
	    if ($i == "Mbits/sec") print $(i - 1) }'
}
if command -v iperf3 >/dev/null; then
	up=$(iperf)
	down=$(iperf -R)
	diag "iperf3 through pktd: A->B ${up:-?} Mbit/s, B->A ${down:-?} Mbit/s"
	if awk -v a="${up:-0}" -v b="${down:-0}" 'BEGIN { exit !(a > 0 && b > 0) }'; then
		ok "iperf3 both ways through pktd"
	else
		fail "iperf3 both ways through pktd (A->B '${up}', B->A '${down}')"
	fi
else
	skip "iperf3 both ways through pktd" "iperf3 not installed (mk/deps.sh)"
fi
flows=$(pkt_stat a flows_total)
outp=$(pkt_stat a out_pkts)
if [ "$flows" -ge 1 ] && [ "$outp" -gt 1000 ]; then
	ok "cryptgate status counts A's flows ($flows) and packets ($outp)"
else
	fail "cryptgate status counts A's flows ($flows) and packets ($outp)"
	"$CG" status -r -s "$T/a.sock" 2>&1 | sed 's/^/#   /'
fi

# --- reordering alone, then 200 MB each way with loss and reordering ------------
reorder=true
for n in "$NA" "$NB"; do
	pkt_reorder "$n" on || reorder=false
done
if $reorder; then
	# No loss yet: every out-of-order arrival at B is a reordering.
	nsx "$NB" nstat -n 2>/dev/null
	pkt_serve "$NB" "$PKT_B" 7000 "$T/ro" || fail "sink on B:7000"
	pkt_send "$NA" "$PKT_B" 7000 "$T/small" 60
	got=$(pkt_served "$T/ro")
	ofo=$(nsx "$NB" nstat -a 2>/dev/null | awk '$1 == "TcpExtTCPOFOQueue" { print $2 }')
	qdrop=$(nsx "$NA" tc -s qdisc show dev ve0 | awk '/dropped/ { print $7 }' | tr -d ',' | head -1)
	if [ "$got" = "$SMALLSUM" ] && [ "${ofo:-0}" -gt 0 ] && [ "${qdrop:-1}" = 0 ]; then
		ok "20 MB A->B with reordering alone: sha256 equal, $ofo segments arrived out of order at B"
	else
		fail "20 MB A->B with reordering alone: sha256 '$got', out of order '$ofo', qdisc drops '$qdrop'"
	fi
else
	skip "reordering" "htb/CLASSIFY unavailable in this kernel; loss only"
fi
for n in "$NA" "$NB"; do
	pkt_loss "$n" on || fail "1 % loss on $n"
done
t0=$(date +%s)
pkt_serve "$NB" "$PKT_B" 7001 "$T/ab" || fail "sink on B:7001"
pkt_send "$NA" "$PKT_B" 7001 "$T/big" 120
got=$(pkt_served "$T/ab")
t1=$(date +%s)
if [ "$got" = "$BIGSUM" ]; then
	ok "$BIG_MB MB A->B with 1 % loss and reordering: sha256 equal ($((t1 - t0)) s)"
else
	fail "$BIG_MB MB A->B with 1 % loss and reordering: sha256 '$got'"
fi
pkt_serve "$NA" "$PKT_A" 7002 "$T/ba" || fail "sink on A:7002"
pkt_send "$NB" "$PKT_A" 7002 "$T/big" 120
got=$(pkt_served "$T/ba")
t2=$(date +%s)
if [ "$got" = "$BIGSUM" ]; then
	ok "$BIG_MB MB B->A with 1 % loss and reordering: sha256 equal ($((t2 - t1)) s)"
else
	fail "$BIG_MB MB B->A with 1 % loss and reordering: sha256 '$got'"
fi
if command -v iperf3 >/dev/null; then
	up=$(iperf)
	down=$(iperf -R)
	if awk -v a="${up:-0}" -v b="${down:-0}" 'BEGIN { exit !(a > 0 && b > 0) }'; then
		ok "iperf3 both ways with loss and reordering (A->B $up, B->A $down Mbit/s)"
	else
		fail "iperf3 both ways with loss and reordering (A->B '${up}', B->A '${down}')"
	fi
fi
diag "loss drops A $(nsx "$NA" iptables -t raw -vnL PREROUTING | awk '/statistic/ { print $1 }')," \
    "B $(nsx "$NB" iptables -t raw -vnL PREROUTING | awk '/statistic/ { print $1 }');" \
    "SACK trims A $(pkt_stat a sack_trims), B $(pkt_stat b sack_trims)"
for n in "$NA" "$NB"; do
	pkt_loss "$n" off
	$reorder && pkt_reorder "$n" off
done
bt=$(($(pkt_stat a mac_failures) + $(pkt_stat b mac_failures)))
if [ "$bt" -eq 0 ]; then
	ok "no MAC failures under loss and reordering"
else
	fail "no MAC failures under loss and reordering ($bt)"
fi

# --- IPv6 ---------------------------------------------------------------------------
pkt_serve "$NB" "$PKT_B6" 7003 "$T/v6" || fail "sink on [$PKT_B6]:7003"
pkt_send "$NA" "$PKT_B6" 7003 "$T/small" 60
got=$(pkt_served "$T/v6")
if [ "$got" = "$SMALLSUM" ]; then
	ok "20 MB over IPv6 through pktd: sha256 equal"
else
	fail "20 MB over IPv6 through pktd: sha256 '$got'"
fi

# --- a path MTU below the link's ------------------------------------------------------
# The sender's route to the peer has MTU 1300 (as a PTB from a router
# would leave it after the handshake; the peer still advertises its
# link's MSS): TCP sizes its segments to the route, the 16-byte tag makes
# them bigger than the route, so they must leave as fragments (IPv4:
# pktd clears DF), which the peer reassembles before its INPUT hook.
mtu_case() { # mtu_case FROM_NS TO_NS TO_ADDR PORT NAME
	local f0 f1 got
	nsx "$1" ip route add "$3/32" dev ve0 mtu 1300
	f0=$(nsx "$1" nstat -az IpFragCreates 2>/dev/null | awk '/IpFragCreates/ { print $2 }')
	pkt_serve "$2" "$3" "$4" "$T/$5" || fail "sink on $3:$4"
	pkt_send "$1" "$3" "$4" "$T/small" 60
	got=$(pkt_served "$T/$5")
	f1=$(nsx "$1" nstat -az IpFragCreates 2>/dev/null | awk '/IpFragCreates/ { print $2 }')
	nsx "$1" ip route del "$3/32" dev ve0 mtu 1300
	if [ "$got" = "$SMALLSUM" ] && [ "${f1:-0}" -gt "${f0:-0}" ]; then
		ok "20 MB $5 with a 1300-byte route MTU at the sender: sha256 equal ($((${f1:-0} - ${f0:-0})) fragments made)"
	else
		fail "route MTU 1300, $5: sha256 '$got', fragments ${f0:-?} -> ${f1:-?}"
	fi
}
mtu_case "$NA" "$NB" "$PKT_B" 7004 A-to-B
mtu_case "$NB" "$NA" "$PKT_A" 7005 B-to-A

# --- unprotected port: cleartext, as configured ------------------------------------
pkt_serve "$NB" "$PKT_B" 6000 "$T/clear" || fail "sink on B:6000"
pkt_send "$NA" "$PKT_B" 6000 "$T/small" 60
got=$(pkt_served "$T/clear")
if [ "$got" = "$SMALLSUM" ]; then
	ok "unprotected port 6000 carries the transfer"
else
	fail "unprotected port 6000 carries the transfer: sha256 '$got'"
fi

# --- SYN without the hello option to a protected port --------------------------------
nohello0=$(pkt_stat b drop_no_hello)
pkt_serve "$NB" "$PKT_B" 7004 "$T/c7004" || fail "sink on B:7004"
if pkt_try "$NC" "$PKT_B" 7004; then
	fail "C (no pktd) cannot connect to protected B:7004"
else
	ok "C (no pktd) cannot connect to protected B:7004 (no cleartext fallback)"
fi
nohello=$(pkt_stat b drop_no_hello)
if [ "$nohello" -gt "$nohello0" ]; then
	ok "B counted the SYNs without hello (no_hello $nohello0 -> $nohello)"
else
	fail "B counted the SYNs without hello (no_hello $nohello0 -> $nohello)"
fi
pkt_serve "$NB" "$PKT_B" 6001 "$T/c6001" || fail "sink on B:6001"
if pkt_try "$NC" "$PKT_B" 6001; then
	ok "C connects to unprotected B:6001"
else
	fail "C connects to unprotected B:6001"
fi

# --- the capture -----------------------------------------------------------------------
pkt_capture_stop
prot="port 5201 or portrange 7000-7010"
nsx "$NA" tcpdump -r "$T/cap.pcap" -w "$T/prot.pcap" "$prot" 2>/dev/null
nsx "$NA" tcpdump -r "$T/cap.pcap" -w "$T/clear.pcap" "port 6000" 2>/dev/null
nprot=$(tcpdump -r "$T/prot.pcap" 2>/dev/null | wc -l)
nopt=$(tcpdump -nr "$T/prot.pcap" "tcp[tcpflags] & tcp-syn == 0" 2>/dev/null |
    head -2000 | grep -c 'unknown-253 0x434b')
diag "capture: $nprot protected frames, $nopt of the first 2000 non-SYN with the tag option;" \
    "$(grep -E 'dropped by kernel' "$T/cap.pcap.log")"
if [ "$nprot" -gt 10000 ] && [ "$nopt" -gt 1000 ]; then
	ok "the capture holds the protected traffic, with the tag option"
else
	fail "the capture holds the protected traffic, with the tag option ($nprot frames, $nopt tagged)"
fi
if grep -aq "CGPKT-MARKER-$$" "$T/clear.pcap"; then
	ok "the marker is visible on the unprotected port (the capture sees payload)"
else
	fail "the marker is visible on the unprotected port"
fi
if grep -aq "CGPKT-MARKER-$$" "$T/prot.pcap"; then
	fail "the marker never appears on the wire for protected ports"
else
	ok "the marker never appears on the wire for protected ports"
fi
done_testing
