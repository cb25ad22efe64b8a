#!/usr/bin/env bash
# 56-transparent: the transparent role fails closed.  Two network
# namespaces joined by a veth: C (10.56.0.1, fd56::1) runs a transparent
# gateway for the destinations 10.56.0.2:2323 and [fd56::2]:2323; S
# (10.56.0.2, fd56::2) runs a server gateway (secured port 7023) and the
# service itself, a plaintext sink (socat) listening on every address at
# 2323, so that a connection that bypassed the gateways would succeed.  A
# capture on C's veth shows what crosses the network.  Programs speak
# first (a marker line, like a telnet password).  Checked, for IPv4 and
# IPv6:
# - through the gateway the marker reaches the service and is not on the
#   wire in clear (while the encrypted connection is);
# - after SIGTERM of the gateway (its REDIRECT rules removed), and after
#   SIGKILL (left in place), a connection to DEST:PORT is reset by the
#   guard (filter chain CRYPTGATE-GW-GUARD) and the marker is neither on
#   the wire nor at the service; the gateway starts again over what is
#   left;
# - during a reload loop (SIGHUP every 50 ms, 200 connections) every
#   connection is carried encrypted and none goes out in clear;
# - a reload with other destinations replaces the guard's rules (a
#   destination left out loses its guard, a new one gets one);
# - cryptgate gateway down refuses while the gateway runs, --force then
#   removes the guard only; once the gateway is stopped it removes
#   everything and plaintext then goes through (as asked), and the capture
#   shows the marker: the capture would have caught a leak.
. "$(dirname "$0")/lib.sh"

T=$TMPDIR_T
GW=$CG_GATEWAYD
export PATH=$PATH:/usr/sbin:/sbin
C4=10.56.0.1 S4=10.56.0.2 C6=fd56::1 S6=fd56::2
D4=$S4:2323 D6="[$S6]:2323"
TAG=CG56-$$-$RANDOM

if ! is_root; then
	skip "transparent role fails closed" "needs root (iptables, network namespaces)"
	done_testing
fi
for t in ip iptables ip6tables iptables-restore ip6tables-restore socat \
    tcpdump perl timeout; do
	if ! command -v "$t" >/dev/null 2>&1; then
		skip "transparent role fails closed" "$t missing (mk/deps.sh)"
		done_testing
	fi
done
if [ ! -x "$GW" ] || [ ! -x "$CG" ]; then
	fail "$GW and $CG are built"
	done_testing
fi
NC=cg56-$$-c NS=cg56-$$-s
if ! ip netns add "$NC" 2>/dev/null; then
	skip "transparent role fails closed" "cannot create a network namespace"
	done_testing
fi

# nsx NS CMD...: run CMD in namespace NS.
nsx() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

teardown() {
	local n p
	for n in "$NC" "$NS"; do
		for p in $(ip netns pids "$n" 2>/dev/null); do
			kill -9 "$p" 2>/dev/null
		done
	done
	sleep 0.2
	ip netns del "$NC" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	return 0
}
cleanup_cmd teardown

setup() {
	local n
	ip netns add "$NS" || return 1
	for n in "$NC" "$NS"; do
		nsx "$n" ip link set lo up
		nsx "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0
		nsx "$n" sysctl -qw net.ipv6.conf.default.accept_dad=0
	done
	ip link add ve0 netns "$NC" type veth peer name ve0 netns "$NS" ||
	    return 1
	nsx "$NC" ip addr add "$C4/24" dev ve0
	nsx "$NC" ip addr add "$C6/64" dev ve0 nodad
	nsx "$NS" ip addr add "$S4/24" dev ve0
	nsx "$NS" ip addr add "$S6/64" dev ve0 nodad
	nsx "$NC" ip link set ve0 up
	nsx "$NS" ip link set ve0 up
	for _ in $(seq 1 50); do
		nsx "$NC" socat -u /dev/null "TCP:$S4:9,connect-timeout=0.2" \
		    2>&1 | grep -q refused && return 0
		sleep 0.1
	done
	return 1
}
if ! setup; then
	fail "namespaces $NC and $NS joined by a veth"
	done_testing
fi
ok "namespaces $NC and $NS joined by a veth"

# bg NS OUT CMD...: CMD in the background in NS (output to OUT), ours;
# sets BGPID (ip netns exec execs CMD: the PID is CMD's).
bg() {
	local ns=$1 out=$2
	shift 2
	ip netns exec "$ns" "$@" >>"$out" 2>&1 </dev/null &
	BGPID=$!
	cleanup_pid "$BGPID"
}

# The service: every line any connection sends, appended to svc.out.
: >"$T/svc.out"
bg "$NS" "$T/svc.err" socat -u TCP4-LISTEN:2323,fork,reuseaddr \
    "OPEN:$T/svc.out,creat,append"
bg "$NS" "$T/svc.err" socat -u TCP6-LISTEN:2323,fork,reuseaddr,ipv6only=1 \
    "OPEN:$T/svc.out,creat,append"

# The capture on C's veth: everything that leaves C.
bg "$NC" "$T/tcpdump.err" tcpdump -i ve0 -n -s 0 -U --immediate-mode \
    -w "$T/wire.pcap" tcp
TCPDUMP=$BGPID

(umask 077 && printf 'kdc1-%s:%s\n' \
    "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
    "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$T/key.cfg")
cat >"$T/srv.conf" <<EOF
[gateway]
workers = 1
status_socket = $T/srv.sock
drain_timeout = 1s
[service tel]
role = server
listen = $S4:7023 [$S6]:7023
backend = 127.0.0.1:2323
key_file = $T/key.cfg
EOF
# cli_conf DESTINATIONS: the transparent gateway's configuration.
cli_conf() {
	cat >"$T/cli.conf" <<EOF
[gateway]
workers = 1
status_socket = $T/cli.sock
drain_timeout = 1s
[service tel]
role = transparent
listen = 127.0.0.1:9023 [::1]:9023
destination = $1
secured_port = 7023
key_file = $T/key.cfg
EOF
}
cli_conf "$D4 $D6"

# The client program: connections to ADDR... in turn, each sends one line
# "MARKER-i", half-closes and reads until the end; one word per
# connection: ok (a clean end), refused (reset at connect), reset (reset
# later), error.  CLI_PAUSE: seconds to wait after each connection.
cat >"$T/cli.pl" <<'EOF'
use strict;
use warnings;
use IO::Socket::IP;
use Errno qw(ECONNREFUSED ECONNRESET);
my ($marker, $n, @addrs) = @ARGV;
$SIG{ALRM} = sub { print "timeout\n"; exit 1 };
alarm(60);
$| = 1;
for my $i (1 .. $n) {
	my ($h, $p) = $addrs[($i - 1) % @addrs] =~ /^\[?([^\]]+)\]?:(\d+)$/;
	my $s = IO::Socket::IP->new(PeerHost => $h, PeerPort => $p,
	    Type => SOCK_STREAM, Timeout => 5);
	if (!$s) {
		print $! == ECONNREFUSED ? "refused\n" : "error $!\n";
		next;
	}
	my $ok = syswrite($s, "$marker-$i\n");
	shutdown($s, 1);
	my ($buf, $r);
	1 while ($r = sysread($s, $buf, 4096));
	if (!defined($r)) {
		print $! == ECONNRESET ? "reset\n" : "error $!\n";
	} elsif (!defined($ok)) {
		print "error write $!\n";
	} else {
		print "ok\n";
	}
	close($s);
	select(undef, undef, undef, $ENV{CLI_PAUSE}) if $ENV{CLI_PAUSE};
}
EOF
# cli NS MARKER N ADDR...: run the client in NS; prints its words.
cli() {
	local ns=$1
	shift
	timeout 70 ip netns exec "$ns" perl "$T/cli.pl" "$@" 2>&1
}

# on_wire STRING: how many captured packets hold STRING in clear.
on_wire() {
	sleep 0.5
	grep -a -c -F -- "$1" "$T/wire.pcap"
}
# at_svc STRING: how many lines the service received that hold STRING.
at_svc() { grep -c -F -- "$1" "$T/svc.out"; }

PID_cli='' # set by gw_up
# gw_up NAME NS: start the gateway NAME.conf in NS (log NAME.log), sets
# PID_NAME; true once its status socket answers (so its rules are in).
gw_up() {
	local pid
	bg "$2" "$T/$1.log" "$GW" -d -v -f "$T/$1.conf"
	pid=$BGPID
	eval "PID_$1=$pid"
	for _ in $(seq 1 100); do
		"$CG" status -r -s "$T/$1.sock" >/dev/null 2>&1 && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	tail -5 "$T/$1.log" | sed 's/^/#   /'
	return 1
}
# gw_down NAME SIGNAL: signal it and wait (20 s); its exit status.
gw_down() {
	local pid
	pid=$(eval echo "\$PID_$1")
	kill "-$2" "$pid" 2>/dev/null
	for _ in $(seq 1 200); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	{ wait "$pid"; } 2>/dev/null
}
# rules NS CMD TABLE CHAIN: the rules of CHAIN ('' if it does not exist).
rules() { nsx "$1" "$2" -w -t "$3" -S "$4" 2>/dev/null; }
# hs: handshakes completed by the server gateway.
hs() {
	"$CG" status -r -s "$T/srv.sock" 2>/dev/null | grep '^service=tel ' |
	    tr ' ' '\n' | sed -n 's/^handshakes=//p'
}

if ! gw_up srv "$NS" || ! gw_up cli "$NC"; then
	fail "the server gateway and the transparent gateway start"
	done_testing
fi
ok "the server gateway and the transparent gateway start"

# --- the rules ----------------------------------------------------------
g4=$(rules "$NC" iptables filter CRYPTGATE-GW-GUARD)
g6=$(rules "$NC" ip6tables filter CRYPTGATE-GW-GUARD)
guard_re='-p tcp -m tcp --dport 2323 -m mark ! --mark 0x4347 -j REJECT --reject-with tcp-reset'
if printf '%s\n' "$g4" | grep -q -- "-A CRYPTGATE-GW-GUARD -d $S4/32 $guard_re" &&
    printf '%s\n' "$g6" | grep -q -- "-A CRYPTGATE-GW-GUARD -d $S6/128 $guard_re" &&
    nsx "$NC" iptables -w -C OUTPUT -p tcp -j CRYPTGATE-GW-GUARD &&
    nsx "$NC" ip6tables -w -C OUTPUT -p tcp -j CRYPTGATE-GW-GUARD; then
	ok "guard installed: filter OUTPUT -> CRYPTGATE-GW-GUARD, REJECT tcp-reset per destination (IPv4, IPv6)"
else
	fail "guard installed in filter OUTPUT (IPv4, IPv6)"
	printf '%s\n%s\n' "$g4" "$g6" | sed 's/^/#   /'
fi
if rules "$NC" iptables nat CRYPTGATE-GW | grep -q -- "-d $S4/32 .*REDIRECT --to-ports 9023" &&
    rules "$NC" ip6tables nat CRYPTGATE-GW | grep -q -- "-d $S6/128 .*REDIRECT --to-ports 9023"; then
	ok "REDIRECT rules installed in nat CRYPTGATE-GW (IPv4, IPv6)"
else
	fail "REDIRECT rules installed in nat CRYPTGATE-GW"
fi

# --- through the gateway ------------------------------------------------
# check_carried WHAT MARKER: MARKER went through the gateways (the service
# has it, the server gateway did a handshake more) and not in clear.
check_carried() {
	local what=$1 m=$2 out h0=$3 h1
	out=$(cli "$NC" "$m" 1 "$4")
	h1=$(hs)
	if [ "$out" = ok ] && [ "$(at_svc "$m-1")" = 1 ] &&
	    [ "${h1:-0}" -gt "${h0:-0}" ] && [ "$(on_wire "$m")" = 0 ]; then
		ok "$what: the marker reaches the service through the gateways, not in clear"
	else
		fail "$what: carried encrypted (client '$out', service $(at_svc "$m-1"), handshakes $h0 -> $h1, in clear $(on_wire "$m"))"
		tail -5 "$T/cli.log" | sed 's/^/#   /'
	fi
}
check_carried "IPv4" "$TAG-a4" "$(hs)" "$D4"
check_carried "IPv6" "$TAG-a6" "$(hs)" "$D6"
n=$(nsx "$NC" tcpdump -r "$T/wire.pcap" -n 'tcp dst port 7023' 2>/dev/null |
    grep -c 'Flags \[S\]')
[ "$n" -ge 2 ] && ok "the capture saw the encrypted connections to port 7023 ($n SYNs)" ||
    fail "the capture saw the encrypted connections to port 7023 ($n SYNs)"

# refused_all WHAT MARKER: a connection to each destination is reset at
# connect, and the marker is neither on the wire nor at the service.
refused_all() {
	local what=$1 m=$2 out
	out=$(cli "$NC" "$m" 2 "$D4" "$D6" | tr '\n' ' ')
	if [ "$out" = "refused refused " ] && [ "$(on_wire "$m")" = 0 ] &&
	    [ "$(at_svc "$m")" = 0 ]; then
		ok "$what: connections to DEST:PORT are reset (IPv4, IPv6), the marker is not on the wire"
	else
		fail "$what: connections reset, not in clear (client '$out', in clear $(on_wire "$m"), service $(at_svc "$m"))"
	fi
}

# --- SIGTERM ------------------------------------------------------------
gw_down cli TERM
rc=$?
[ $rc -eq 0 ] && ok "SIGTERM: the gateway exits 0" || fail "SIGTERM: the gateway exits $rc"
if [ -z "$(rules "$NC" iptables nat CRYPTGATE-GW)" ] &&
    [ -n "$(rules "$NC" iptables filter CRYPTGATE-GW-GUARD)" ] &&
    [ -n "$(rules "$NC" ip6tables filter CRYPTGATE-GW-GUARD)" ]; then
	ok "SIGTERM: the REDIRECT rules are removed, the guard stays"
else
	fail "SIGTERM: the REDIRECT rules are removed, the guard stays"
fi
grep -q 'CRYPTGATE-GW-GUARD stays' "$T/cli.log" &&
    ok "SIGTERM: the log says that the guard stays" ||
    fail "SIGTERM: the log says that the guard stays"
refused_all "after SIGTERM" "$TAG-term"

# --- SIGKILL ------------------------------------------------------------
if gw_up cli "$NC"; then
	ok "the gateway starts again over the guard left in place"
else
	fail "the gateway starts again over the guard left in place"
	done_testing
fi
n=$(rules "$NC" iptables filter CRYPTGATE-GW-GUARD | grep -c REJECT)
[ "$n" = 1 ] && ok "the guard has one rule per destination after a restart ($n)" ||
    fail "the guard has one rule per destination after a restart ($n)"
check_carried "IPv4 after a restart" "$TAG-b4" "$(hs)" "$D4"
gw_down cli KILL
refused_all "after SIGKILL" "$TAG-kill"

# --- reload loop --------------------------------------------------------
if ! gw_up cli "$NC"; then
	fail "the gateway starts again after SIGKILL"
	done_testing
fi
ok "the gateway starts again after SIGKILL"
h0=$(hs)
r0=$(grep -c reloaded "$T/cli.log")
(
	for _ in $(seq 1 1200); do
		kill -HUP "$PID_cli" 2>/dev/null || exit 0
		sleep 0.05
	done
) &
HUPPER=$!
cleanup_pid "$HUPPER"
out=$(CLI_PAUSE=0.01 cli "$NC" "$TAG-hup" 200 "$D4" "$D6")
kill "$HUPPER" 2>/dev/null
wait "$HUPPER" 2>/dev/null
nok=$(printf '%s\n' "$out" | grep -c '^ok$')
nre=$(($(grep -c reloaded "$T/cli.log") - r0))
h1=$(hs)
diag "reload loop: $nok of 200 ok, $((h1 - h0)) handshakes, $nre reloads during the loop"
leak=$(on_wire "$TAG-hup")
[ "$leak" = 0 ] && [ "$nre" -ge 5 ] &&
    ok "reload loop (SIGHUP every 50 ms, $nre reloads): no connection in clear" ||
    fail "reload loop: $leak packets with the marker in clear, $nre reloads"
[ "$nok" = 200 ] && [ "$(at_svc "$TAG-hup-")" = 200 ] &&
    [ $((h1 - h0)) -ge 200 ] &&
    ok "reload loop: all 200 connections reach the service through the gateways" ||
    fail "reload loop: $nok of 200 ok, service $(at_svc "$TAG-hup-"), handshakes $((h1 - h0)): $(printf '%s\n' "$out" | sort | uniq -c | tr '\n' ' ')"
kill -0 "$PID_cli" 2>/dev/null && ok "the gateway still runs after the reload loop" ||
    fail "the gateway died in the reload loop"

# --- a reload with other destinations -----------------------------------
# reload_to DESTINATIONS: SIGHUP with them; true once it is logged.
reload_to() {
	local n0
	cli_conf "$1"
	n0=$(grep -c 'reloaded' "$T/cli.log")
	kill -HUP "$PID_cli"
	for _ in $(seq 1 100); do
		[ "$(grep -c 'reloaded' "$T/cli.log")" -gt "$n0" ] && return 0
		sleep 0.1
	done
	return 1
}
reload_to "$D4 $S4:2424"
g4=$(rules "$NC" iptables filter CRYPTGATE-GW-GUARD)
if printf '%s\n' "$g4" | grep -q -- "-d $S4/32 -p tcp -m tcp --dport 2424 " &&
    printf '%s\n' "$g4" | grep -q -- "--dport 2323 " &&
    [ "$(printf '%s\n' "$g4" | grep -c REJECT)" = 2 ] &&
    [ -z "$(rules "$NC" ip6tables filter CRYPTGATE-GW-GUARD)" ] &&
    [ -z "$(rules "$NC" ip6tables nat CRYPTGATE-GW)" ] &&
    rules "$NC" iptables nat CRYPTGATE-GW | grep -q -- '--dport 2424 .*REDIRECT'; then
	ok "reload: a new destination is redirected and guarded, one left out loses both (IPv6 chains gone)"
else
	fail "reload: the guard follows the new destinations"
	printf '%s\n' "$g4" | sed 's/^/#   /'
fi
reload_to "$D4 $D6"
if [ "$(rules "$NC" iptables filter CRYPTGATE-GW-GUARD | grep -c REJECT)" = 1 ] &&
    [ "$(rules "$NC" ip6tables filter CRYPTGATE-GW-GUARD | grep -c REJECT)" = 1 ]; then
	ok "reload back: one guard rule per destination again (IPv4, IPv6)"
else
	fail "reload back: one guard rule per destination again"
fi
check_carried "IPv6 after the reloads" "$TAG-c6" "$(hs)" "$D6"

# --- cryptgate gateway down ---------------------------------------------
"$CG" gateway --help >"$T/help.out" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q 'cryptgate gateway down' "$T/help.out" &&
    grep -q -- '--force' "$T/help.out" &&
    ok "cryptgate gateway --help" || fail "cryptgate gateway --help (exit $rc)"
nsx "$NC" "$CG" gateway down -f "$T/cli.conf" >"$T/down.out" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q 'a gateway runs' "$T/down.out" &&
    [ -n "$(rules "$NC" iptables filter CRYPTGATE-GW-GUARD)" ] &&
    [ -n "$(rules "$NC" iptables nat CRYPTGATE-GW)" ]; then
	ok "gateway down refuses while the gateway runs (exit 1), nothing removed"
else
	fail "gateway down refuses while the gateway runs (exit $rc)"
	sed 's/^/#   /' "$T/down.out"
fi
nsx "$NC" "$CG" gateway down --force -f "$T/cli.conf" >"$T/down.out" 2>&1
rc=$?
if [ $rc -eq 0 ] && [ -z "$(rules "$NC" iptables filter CRYPTGATE-GW-GUARD)" ] &&
    [ -z "$(rules "$NC" ip6tables filter CRYPTGATE-GW-GUARD)" ] &&
    [ -n "$(rules "$NC" iptables nat CRYPTGATE-GW)" ]; then
	ok "gateway down --force while it runs: the guard goes, the REDIRECT rules stay"
else
	fail "gateway down --force while it runs (exit $rc)"
	sed 's/^/#   /' "$T/down.out"
fi
check_carried "IPv4 after down --force" "$TAG-d4" "$(hs)" "$D4"
reload_to "$D4 $D6"
[ -n "$(rules "$NC" iptables filter CRYPTGATE-GW-GUARD)" ] &&
    ok "a reload puts the guard back" || fail "a reload puts the guard back"
gw_down cli TERM
refused_all "stopped, guard back" "$TAG-e"
nsx "$NC" "$CG" gateway down -f "$T/cli.conf" >"$T/down.out" 2>&1
rc=$?
left=$({ nsx "$NC" iptables-save; nsx "$NC" ip6tables-save; } 2>/dev/null | grep -c CRYPTGATE)
if [ $rc -eq 0 ] && [ "$left" = 0 ] && grep -q 'no longer protected' "$T/down.out"; then
	ok "gateway down with the gateway stopped: every chain removed (exit 0)"
else
	fail "gateway down with the gateway stopped (exit $rc, $left rules left)"
	sed 's/^/#   /' "$T/down.out"
fi
out=$(cli "$NC" "$TAG-f" 2 "$D4" "$D6" | tr '\n' ' ')
w=$(on_wire "$TAG-f")
if [ "$out" = "ok ok " ] && [ "$(at_svc "$TAG-f")" = 2 ] && [ "$w" -ge 2 ]; then
	ok "after gateway down, plaintext goes through as asked, and the capture shows it ($w packets)"
else
	fail "after gateway down, plaintext goes through (client '$out', service $(at_svc "$TAG-f"), on the wire $w)"
fi
nsx "$NC" "$CG" gateway down -f "$T/cli.conf" >"$T/down.out" 2>&1
rc=$?
[ $rc -eq 0 ] && grep -q 'nothing to do' "$T/down.out" &&
    ok "gateway down again: nothing to do (exit 0)" ||
    fail "gateway down again (exit $rc): $(cat "$T/down.out")"

gw_down srv TERM
kill "$TCPDUMP" 2>/dev/null
for f in cli srv; do
	if grep -qE 'Sanitizer|runtime error' "$T/$f.log"; then
		fail "sanitizer report in the $f gateway log"
		grep -E -A5 'Sanitizer|runtime error' "$T/$f.log" | head -20 |
		    sed 's/^/#   /'
	fi
done
done_testing
