# shellcheck shell=bash
# tests/integration/pkt-lib.sh: the network namespaces of the
# cryptgate-pktd scenarios (60-61); source it after lib.sh.
#
# Topology: three namespaces, cgpkt-$$-a, -b and -c.  Hosts A (10.77.0.1,
# fd77::1) and B (10.77.0.2, fd77::2) each have one veth (ve0) plugged into
# the bridge br0 of C; C (10.77.0.3, fd77::3 on br0) is the switch and the
# attacker: its bridge ports are pa (facing A) and pb (facing B), where
# tests/helpers/pktinject sniffs and injects.  A and B run
# cryptgate-pktd; C does not.
#
# Every process is started with pkt_bg (registered with cleanup_pid); the
# namespaces are removed at exit, after the processes in them (all ours:
# the namespaces are private to this test) are killed.

PKT_A=10.77.0.1
PKT_B=10.77.0.2
PKT_C=10.77.0.3
PKT_A6=fd77::1
PKT_B6=fd77::2
PKT_C6=fd77::3
PKTINJECT=$BUILD/tests/helpers/pktinject
export PATH=$PATH:/usr/sbin:/sbin

# nsx NS CMD...: run CMD in namespace NS.
nsx() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# pkt_prereq: skip the whole scenario (with the reason) if root, network
# namespaces, veth/bridge, iptables with NFQUEUE, or the programs the
# scenario needs are missing.  Fail if they are there but the daemon is not
# built.
pkt_prereq() {
	local t
	if ! is_root; then
		skip "cryptgate-pktd in network namespaces" "needs root"
		done_testing
	fi
	for t in ip tc ss nstat iptables ethtool socat sha256sum timeout tcpdump; do
		if ! command -v "$t" >/dev/null 2>&1; then
			skip "cryptgate-pktd in network namespaces" "$t missing (mk/deps.sh)"
			done_testing
		fi
	done
	t=cgpkt-$$-probe
	if ! ip netns add "$t" 2>/dev/null; then
		skip "cryptgate-pktd in network namespaces" "cannot create a network namespace"
		done_testing
	fi
	if ! nsx "$t" iptables -A OUTPUT -p tcp --dport 9 -j NFQUEUE --queue-num 0 \
	    2>/dev/null; then
		ip netns del "$t"
		skip "cryptgate-pktd in network namespaces" "iptables NFQUEUE target unavailable"
		done_testing
	fi
	ip netns del "$t"
	if [ ! -x "$CG_PKTD" ] || [ ! -x "$CG" ] || [ ! -x "$PKTINJECT" ]; then
		fail "$CG_PKTD, $CG and $PKTINJECT are built"
		done_testing
	fi
}

# pkt_ns_setup: create the namespaces and links; sets NA NB NC.
pkt_ns_setup() {
	local n
	NA=cgpkt-$$-a NB=cgpkt-$$-b NC=cgpkt-$$-c
	cleanup_cmd pkt_ns_teardown
	for n in "$NA" "$NB" "$NC"; do
		ip netns add "$n" || return 1
		nsx "$n" ip link set lo up
		nsx "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0
		nsx "$n" sysctl -qw net.ipv6.conf.default.accept_dad=0
	done
	nsx "$NC" ip link add br0 type bridge forward_delay 0 stp_state 0 || return 1
	ip link add ve0 netns "$NA" type veth peer name pa netns "$NC" || return 1
	ip link add ve0 netns "$NB" type veth peer name pb netns "$NC" || return 1
	for n in pa pb; do
		nsx "$NC" ip link set "$n" master br0
		nsx "$NC" ip link set "$n" up
	done
	nsx "$NC" ip link set br0 up
	nsx "$NC" ip addr add "$PKT_C/24" dev br0
	nsx "$NC" ip addr add "$PKT_C6/64" dev br0 nodad
	# Bridged IPv4 goes through C's iptables (the flip test drops there).
	nsx "$NC" sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null
	nsx "$NA" ip addr add "$PKT_A/24" dev ve0
	nsx "$NA" ip addr add "$PKT_A6/64" dev ve0 nodad
	nsx "$NB" ip addr add "$PKT_B/24" dev ve0
	nsx "$NB" ip addr add "$PKT_B6/64" dev ve0 nodad
	nsx "$NA" ip link set ve0 up
	nsx "$NB" ip link set ve0 up
	for _ in $(seq 1 50); do
		nsx "$NA" socat -u /dev/null "TCP:$PKT_B:9,connect-timeout=0.2" \
		    2>&1 | grep -q 'refused' && return 0
		sleep 0.1
	done
	return 1
}

pkt_ns_teardown() {
	local n p
	for n in "${NA:-}" "${NB:-}" "${NC:-}"; do
		[ -n "$n" ] || continue
		for p in $(ip netns pids "$n" 2>/dev/null); do
			kill -9 "$p" 2>/dev/null
		done
	done
	sleep 0.2
	for n in "${NA:-}" "${NB:-}" "${NC:-}"; do
		[ -n "$n" ] && ip netns del "$n" 2>/dev/null
	done
	return 0
}

# pkt_bg OUTFILE CMD...: start CMD in the background (stdout and stderr to
# OUTFILE), register it; sets BGPID.
pkt_bg() {
	local out=$1
	shift
	"$@" >"$out" 2>&1 </dev/null &
	BGPID=$!
	cleanup_pid "$BGPID"
}

# pkt_keys: $T/key.cfg (0600) with one key; sets PKT_ID.
pkt_keys() {
	PKT_ID=kdc1-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
	(umask 077 && printf '%s:%s\n' "$PKT_ID" \
	    "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$T/key.cfg")
}

# pkt_conf NAME PEER4 PEER6 PORTS: $T/NAME.conf, two policies (IPv4 and
# IPv6 peers), status socket $T/NAME.sock.
pkt_conf() {
	cat >"$T/$1.conf" <<EOF
[pkt]
queues = ${PKT_QUEUES:-1}
queue_num = 0
status_socket = $T/$1.sock

[policy svc]
peer = $2
ports = $4
direction = both
key_file = $T/key.cfg
key_identity = $PKT_ID

[policy svc6]
peer = $3
ports = $4
direction = both
key_file = $T/key.cfg
key_identity = $PKT_ID
EOF
}

# pkt_rules NS: the NFQUEUE rules of namespace NS (both iptables flavours).
pkt_rules() {
	{
		nsx "$1" iptables-save 2>/dev/null
		nsx "$1" ip6tables-save 2>/dev/null
		nsx "$1" iptables-legacy-save 2>/dev/null
		nsx "$1" ip6tables-legacy-save 2>/dev/null
	} | grep -E 'NFQUEUE' || true
}

# pkt_start NAME NS: start cryptgate-pktd with $T/NAME.conf in NS (log
# $T/NAME.log) and wait until its status socket answers (10 s); sets
# PID_NAME.
pkt_start() {
	local pid
	ip netns exec "$2" "$CG_PKTD" -d -f "$T/$1.conf" >>"$T/$1.log" 2>&1 </dev/null &
	pid=$!
	cleanup_pid "$pid"
	eval "PID_$1=$pid"
	for _ in $(seq 1 $((100 * CG_SLOW))); do
		if "$CG" status -r -s "$T/$1.sock" >/dev/null 2>&1; then
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	diag "pktd $1 did not come up:"
	tail -5 "$T/$1.log" | sed 's/^/#   /'
	return 1
}

# pkt_stop NAME SIGNAL: signal the daemon, wait for it (10 s).
pkt_stop() {
	local pid
	pid=$(eval echo "\$PID_$1")
	kill "-$2" "$pid" 2>/dev/null
	for _ in $(seq 1 $((100 * CG_SLOW))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	{ wait "$pid"; } 2>/dev/null
	return 0
}

# pkt_stat NAME KEY: the counter KEY of daemon NAME (queue=total line).
pkt_stat() {
	local v
	v=$("$CG" status -r -s "$T/$1.sock" 2>/dev/null |
	    grep -E '^queue=total( |$)' | tr ' ' '\n' | sed -n "s/^$2=//p" |
	    head -1)
	echo "${v:-0}"
}

# pkt_serve NS ADDR PORT OUT: a one-shot sink on ADDR:PORT in NS, writing
# the sha256 of what it receives to OUT.sum.  ADDR is an IPv4 or IPv6
# address.
pkt_serve() {
	local fam=TCP4-LISTEN
	case $2 in *:*) fam=TCP6-LISTEN ;; esac
	rm -f "$4.sum"
	pkt_bg "$4.err" ip netns exec "$1" timeout 120 sh -c \
	    "socat -u $fam:$3,bind=[$2],reuseaddr - | sha256sum | cut -d' ' -f1 >'$4.tmp' && mv '$4.tmp' '$4.sum'"
	for _ in $(seq 1 50); do
		nsx "$1" ss -Hltn "sport = :$3" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# pkt_served OUT: wait (up to 120 s) for the sink of OUT; print its sha256.
pkt_served() {
	for _ in $(seq 1 1200); do
		[ -s "$1.sum" ] && break
		sleep 0.1
	done
	cat "$1.sum" 2>/dev/null
}

# pkt_send NS ADDR PORT FILE [TIMEOUT]: send FILE to ADDR:PORT from NS.
pkt_send() {
	local dst="TCP4:$2:$3"
	case $2 in *:*) dst="TCP6:[$2]:$3" ;; esac
	nsx "$1" timeout "${5:-100}" socat -u "OPEN:$4" "$dst,connect-timeout=5"
}

# pkt_send_slow NS ADDR PORT FILE N MS: send FILE N times with MS ms
# pauses in between (a connection that lives for a while).
pkt_send_slow() {
	local dst="TCP4:$2:$3"
	nsx "$1" timeout 60 sh -c "for i in \$(seq 1 $5); do cat '$4'; sleep 0.$(printf %03d "$6"); done |
	    socat -u - '$dst,connect-timeout=5'"
}

# pkt_try NS ADDR PORT: true if a TCP connection to ADDR:PORT from NS
# completes within 3 s.
pkt_try() {
	nsx "$1" timeout 5 socat -u /dev/null "TCP4:$2:$3,connect-timeout=3" \
	    >/dev/null 2>&1
}

# pkt_loss NS on|off: drop 1 % of the TCP segments arriving on ve0 (raw
# table, before cryptgate-pktd sees them).
pkt_loss() {
	local op=-A
	[ "$2" = on ] || op=-D
	nsx "$1" iptables -t raw "$op" PREROUTING -i ve0 -p tcp \
	    -m statistic --mode random --probability 0.01 -j DROP
}

# pkt_reorder NS on|off: reorder about 1 % of the TCP segments leaving ve0:
# an htb root (300 Mbit/s) with a low-priority class that iptables puts 1 %
# of the segments into; whenever a queue builds up they are overtaken.
# (sch_netem is not available on every kernel; htb and CLASSIFY are.)
pkt_reorder() {
	if [ "$2" = off ]; then
		nsx "$1" iptables -t mangle -D POSTROUTING -o ve0 -p tcp \
		    -m statistic --mode random --probability 0.01 \
		    -j CLASSIFY --set-class 1:20
		nsx "$1" tc qdisc del dev ve0 root
		return 0
	fi
	nsx "$1" tc qdisc add dev ve0 root handle 1: htb default 10 r2q 10000 &&
	    nsx "$1" tc class add dev ve0 parent 1: classid 1:1 htb \
	    rate 300mbit ceil 300mbit 2>/dev/null &&
	    nsx "$1" tc class add dev ve0 parent 1:1 classid 1:10 htb \
	    rate 299mbit ceil 300mbit prio 0 2>/dev/null &&
	    nsx "$1" tc class add dev ve0 parent 1:1 classid 1:20 htb \
	    rate 1mbit ceil 300mbit prio 7 2>/dev/null &&
	    nsx "$1" iptables -t mangle -A POSTROUTING -o ve0 -p tcp \
	    -m statistic --mode random --probability 0.01 \
	    -j CLASSIFY --set-class 1:20
}

# pkt_capture NS FILE FILTER: tcpdump on ve0 of NS into FILE (the first
# 200 bytes of each frame: headers and 100 bytes or more of payload); sets CAPPID.
pkt_capture() {
	pkt_bg "$2.log" ip netns exec "$1" tcpdump -i ve0 -s 200 -U -n -w "$2" "$3"
	CAPPID=$BGPID
	for _ in $(seq 1 50); do
		grep -q 'listening on' "$2.log" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# pkt_capture_stop: stop the capture started last (SIGINT, so it flushes).
pkt_capture_stop() {
	kill -INT "$CAPPID" 2>/dev/null
	for _ in $(seq 1 50); do
		kill -0 "$CAPPID" 2>/dev/null || break
		sleep 0.1
	done
	wait "$CAPPID" 2>/dev/null
	return 0
}
