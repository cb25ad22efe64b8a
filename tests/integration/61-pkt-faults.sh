#!/usr/bin/env bash
# 61-pkt-faults: cryptgate-pktd under attack and failure, in the namespaces
# of pkt-lib.sh (A and B run pktd, C is the bridge and the attacker,
# tests/helpers/pktinject).  Protected ports 7000-7010, unprotected 6000-6010.
# - A flipped byte: C holds back chosen A->B data segments (iptables u32 on
#   the bridge) and sends 5 of them on with one byte flipped; B drops those
#   (bad tag), TCP retransmits once C lets clean copies pass again, the
#   sha256 is intact.  The same on an unprotected port
#   corrupts the transfer (so the attack is real).
# - Replayed segments: 5 captured data segments sent again unchanged 2 s
#   later (their TCP timestamps older than pktd's 1000-tick replay window)
#   are dropped by B's pktd as stale (drop_stale rises by 5) while the
#   connection goes on, sha256 intact.
# - Injected RST and injected data at exactly the next sequence number,
#   without options and with a copied tag option, are dropped; the
#   connection goes on.  On an unprotected port the same RST kills the
#   connection and the same data corrupts it.
# - SIGKILL / SIGTERM of pktd: the rules stay, protected traffic is
#   blocked (no marker on the wire, a transfer in progress stalls), an
#   unprotected port keeps working; a restart recovers for new connections
#   without duplicating the rules; `cryptgate pkt down` removes them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pkt-lib.sh"

T=$TMPDIR_T
pkt_prereq
if ! pkt_ns_setup; then
	fail "network namespaces, veth and bridge set up"
	done_testing
fi
# Wire-size frames on the bridge (no 64 KB GSO frames for the injector).
for n in "$NA" "$NB"; do
	nsx "$n" ethtool -K ve0 tso off gso off >/dev/null 2>&1
done
pkt_keys
pkt_conf a "$PKT_B/32" "$PKT_B6/128" "7000-7010"
pkt_conf b "$PKT_A/32" "$PKT_A6/128" "7000-7010"
if ! pkt_start a "$NA" || ! pkt_start b "$NB"; then
	fail "cryptgate-pktd starts in both namespaces"
	done_testing
fi
ok "cryptgate-pktd runs in both namespaces"

MARK="CGPKT-MARKER-$$-plaintext-that-must-never-be-on-the-wire"
yes "$MARK" | head -c 20000000 >"$T/small"
yes "$MARK" | head -c 65536 >"$T/chunk"
SMALLSUM=$(sha256sum "$T/small" | cut -d' ' -f1)
# The slow transfers send the chunk 40 times (SLOWN), 50 ms apart.
SLOWN=40
slowsum() { for _ in $(seq 1 "$1"); do cat "$T/chunk"; done | sha256sum | cut -d' ' -f1; }
SLOWSUM=$(slowsum 40)
drops() { pkt_stat b drops; }

# attack MODE PORT FILE|slow N [DELAY_MS]: run pktinject MODE against a
# transfer A->B:PORT; sets GOT (the sink's sha256), SENT (pktinject's
# output) and SENDRC (the sender's exit status).
attack() {
	local mode=$1 port=$2 what=$3 n=$4 ipid
	pkt_serve "$NB" "$PKT_B" "$port" "$T/s$port" || fail "sink on B:$port"
	ip netns exec "$NC" "$PKTINJECT" "$mode" pa pb "$PKT_A" "$PKT_B" "$port" \
	    "$n" 30 ${5:+"$5"} >"$T/inj-$mode-$port" 2>&1 &
	ipid=$!
	cleanup_pid "$ipid"
	if [ "$mode" = flip ]; then
		# C holds back every selected segment (retransmissions too)
		# until pktinject has sent its flipped copies: no clean copy
		# can overtake them.
		flipdrop "$port" || fail "iptables u32 on C's bridge"
		(
			while kill -0 "$ipid" 2>/dev/null; do sleep 0.01; done
			flipdropped "$port" >"$T/held-$port"
			flipdrop "$port" -D
		) &
		cleanup_pid $!
	fi
	sleep 0.3
	if [ "$what" = slow ]; then
		pkt_send_slow "$NA" "$PKT_B" "$port" "$T/chunk" "$SLOWN" 50 2>/dev/null
	else
		pkt_send "$NA" "$PKT_B" "$port" "$what" 60 2>/dev/null
	fi
	SENDRC=$?
	GOT=$(pkt_served "$T/s$port")
	for _ in $(seq 1 30); do
		kill -0 "$ipid" 2>/dev/null || break
		sleep 0.1
	done
	kill "$ipid" 2>/dev/null
	wait "$ipid" 2>/dev/null
	SENT=$(grep -cvE '^(done|timeout)' "$T/inj-$mode-$port")
}

# --- flipped byte -----------------------------------------------------------------
# flipdrop PORT [-D]: C drops the A->B data segments to PORT whose sequence
# number has bits 10-17 clear (about one per 256 KB), or stops (-D).
flipdrop() {
	nsx "$NC" iptables "${2:--A}" FORWARD -p tcp -s "$PKT_A" -d "$PKT_B" \
	    --dport "$1" -m length --length 200:65535 \
	    -m u32 --u32 "0>>22&0x3C@4>>10&0xFF=0" -j DROP
}
# flipdropped PORT: how many segments that rule dropped
flipdropped() {
	nsx "$NC" iptables -vnxL FORWARD | awk -v p="dpt:$1" '$0 ~ p" " { print $1 }'
}
mf0=$(pkt_stat b mac_failures)
attack flip 7001 "$T/small" 5
mf=$(pkt_stat b mac_failures)
if [ "$SENT" -ge 1 ] && [ "$GOT" = "$SMALLSUM" ] && [ "$mf" -ge $((mf0 + SENT)) ] &&
    [ "$(cat "$T/held-7001")" -ge 1 ]; then
	ok "flipped bytes: $SENT segments dropped by B (mac_failures $mf0 -> $mf, clean copies held back by C: $(cat "$T/held-7001")), sha256 intact"
else
	fail "flipped bytes: $SENT flipped, mac_failures $mf0 -> $mf, sha256 '$GOT'"
	sed 's/^/#   /' "$T/inj-flip-7001"
fi
attack flip 6001 "$T/small" 5
if [ "$SENT" -ge 1 ] && [ -n "$GOT" ] && [ "$GOT" != "$SMALLSUM" ]; then
	ok "control: the same flips corrupt an unprotected transfer"
else
	fail "control: the same flips corrupt an unprotected transfer ($SENT flipped, sha256 '$GOT')"
fi

# --- replayed segments --------------------------------------------------------------
# The first 5 data segments are replayed 2 s after they were seen, while
# the 4 s transfer (80 chunks) still runs: their timestamps are about
# 2000 ticks old, beyond the 1000-tick window, so B's pktd drops them after
# their tag verified (drop_stale) and its kernel never sees them.
s0=$(pkt_stat b drop_stale)
SLOWN=80
attack replay 7002 slow 5 2000
SLOWN=40
for _ in $(seq 1 20); do
	s=$(pkt_stat b drop_stale)
	[ "$s" -ge $((s0 + 5)) ] && break
	sleep 0.1
done
young=$(awk '/^replayed/ { sub("age_ms=", "", $3); if ($3 < 1500) n++ } END { print n + 0 }' \
    "$T/inj-replay-7002")
if [ "$SENT" -eq 5 ] && [ "$young" -eq 0 ] && [ "$SENDRC" -eq 0 ] &&
    [ "$GOT" = "$(slowsum 80)" ] && [ "$s" -eq $((s0 + 5)) ]; then
	ok "5 segments replayed 2 s later dropped as stale by B (drop_stale $s0 -> $s), the connection goes on, sha256 intact"
else
	fail "5 replayed segments: sent $SENT ($young younger than 1.5 s), drop_stale $s0 -> $s, sender exit $SENDRC, sha256 '$GOT'"
	sed 's/^/#   /' "$T/inj-replay-7002"
fi

# --- injected RST and data -------------------------------------------------------------
d0=$(drops)
attack rst 7003 slow 4
d=$(drops)
if [ "$SENT" -eq 4 ] && [ "$SENDRC" -eq 0 ] && [ "$GOT" = "$SLOWSUM" ] &&
    [ "$d" -ge $((d0 + 4)) ]; then
	ok "4 injected RSTs dropped (B's drops $d0 -> $d), the connection goes on"
else
	fail "4 injected RSTs: sent $SENT, drops $d0 -> $d, sender exit $SENDRC, sha256 '$GOT'"
	sed 's/^/#   /' "$T/inj-rst-7003"
fi
attack rst 6003 slow 4
if [ "$SENT" -ge 1 ] && { [ "$SENDRC" -ne 0 ] || [ "$GOT" != "$SLOWSUM" ]; }; then
	ok "control: the same RST kills an unprotected connection"
else
	fail "control: the same RST kills an unprotected connection (sent $SENT, exit $SENDRC)"
fi
d0=$(drops)
attack data 7004 slow 4
d=$(drops)
if [ "$SENT" -eq 4 ] && [ "$SENDRC" -eq 0 ] && [ "$GOT" = "$SLOWSUM" ] &&
    [ "$d" -ge $((d0 + 4)) ]; then
	ok "4 injected data segments dropped (B's drops $d0 -> $d), sha256 intact"
else
	fail "4 injected data segments: sent $SENT, drops $d0 -> $d, sender exit $SENDRC, sha256 '$GOT'"
	sed 's/^/#   /' "$T/inj-data-7004"
fi
attack data 6004 slow 4
if [ "$SENT" -ge 1 ] && [ -n "$GOT" ] && [ "$GOT" != "$SLOWSUM" ]; then
	ok "control: the same data corrupts an unprotected transfer"
else
	fail "control: the same data corrupts an unprotected transfer (sent $SENT, sha256 '$GOT')"
fi
diag "B: $("$CG" status -r -s "$T/b.sock" 2>/dev/null | grep '^queue=total')"

# --- fail closed ------------------------------------------------------------------------
rules_a=$(pkt_rules "$NA" | sort)
rules_b=$(pkt_rules "$NB" | sort)
pkt_capture "$NA" "$T/cap.pcap" tcp || fail "tcpdump on A's veth"
# A dies in the middle of a transfer: it stalls, nothing leaves in clear.
pkt_serve "$NB" "$PKT_B" 7005 "$T/s7005" || fail "sink on B:7005"
nsx "$NA" timeout 8 sh -c "for i in \$(seq 1 100); do cat '$T/chunk'; sleep 0.05; done |
    socat -u - 'TCP4:$PKT_B:7005,connect-timeout=5'" >/dev/null 2>&1 &
spid=$!
cleanup_pid "$spid"
sleep 1
pkt_stop a KILL
wait "$spid"
src=$?
if [ "$src" -ne 0 ] && [ ! -s "$T/s7005.sum" ]; then
	ok "SIGKILL of A's pktd mid-transfer: the transfer stalls"
else
	fail "SIGKILL of A's pktd mid-transfer: the transfer stalls (exit $src)"
fi
if [ "$(pkt_rules "$NA" | sort)" = "$rules_a" ] && [ -n "$rules_a" ]; then
	ok "A's rules stay after SIGKILL"
else
	fail "A's rules stay after SIGKILL"
fi
pkt_stop b KILL
pkt_serve "$NB" "$PKT_B" 7006 "$T/s7006" || fail "sink on B:7006"
if pkt_try "$NA" "$PKT_B" 7006; then
	fail "both daemons killed: protected port 7006 blocked"
else
	ok "both daemons killed: protected port 7006 blocked"
fi
pkt_serve "$NB" "$PKT_B" 6005 "$T/s6005" || fail "sink on B:6005"
pkt_send "$NA" "$PKT_B" 6005 "$T/chunk" 10
if [ "$(pkt_served "$T/s6005")" = "$(sha256sum <"$T/chunk" | cut -d' ' -f1)" ]; then
	ok "both daemons killed: unprotected port 6005 works"
else
	fail "both daemons killed: unprotected port 6005 works"
fi

# Restart: new connections work, the rules are not duplicated.
if pkt_start a "$NA" && pkt_start b "$NB"; then
	ok "both daemons restart"
else
	fail "both daemons restart"
fi
if [ "$(pkt_rules "$NA" | sort)" = "$rules_a" ] &&
    [ "$(pkt_rules "$NB" | sort)" = "$rules_b" ]; then
	ok "the restart keeps the same rules (none duplicated)"
else
	fail "the restart keeps the same rules (none duplicated)"
	pkt_rules "$NA" | sed 's/^/#   /'
fi
pkt_serve "$NB" "$PKT_B" 7007 "$T/s7007" || fail "sink on B:7007"
pkt_send "$NA" "$PKT_B" 7007 "$T/small" 60
if [ "$(pkt_served "$T/s7007")" = "$SMALLSUM" ]; then
	ok "after the restart a new protected connection works (20 MB, sha256)"
else
	fail "after the restart a new protected connection works"
fi

# SIGTERM: a clean stop also fails closed.
pkt_stop b TERM
if [ "$(pkt_rules "$NB" | sort)" = "$rules_b" ]; then
	ok "B's rules stay after SIGTERM"
else
	fail "B's rules stay after SIGTERM"
fi
pkt_serve "$NB" "$PKT_B" 7008 "$T/s7008" || fail "sink on B:7008"
pkt_send "$NA" "$PKT_B" 7008 "$T/chunk" 6 >/dev/null 2>&1
if [ -s "$T/s7008.sum" ] || pkt_try "$NA" "$PKT_B" 7008; then
	fail "B stopped (SIGTERM): protected port 7008 blocked"
else
	ok "B stopped (SIGTERM): protected port 7008 blocked"
fi
pkt_serve "$NB" "$PKT_B" 6006 "$T/s6006" || fail "sink on B:6006"
if pkt_try "$NA" "$PKT_B" 6006; then
	ok "B stopped (SIGTERM): unprotected port 6006 works"
else
	fail "B stopped (SIGTERM): unprotected port 6006 works"
fi
pkt_capture_stop
nsx "$NA" tcpdump -r "$T/cap.pcap" -w "$T/prot.pcap" "portrange 7000-7010" 2>/dev/null
if grep -aq "CGPKT-MARKER-$$" "$T/prot.pcap"; then
	fail "no plaintext on the wire while the daemons were down"
else
	ok "no plaintext on the wire while the daemons were down ($(tcpdump -r "$T/prot.pcap" 2>/dev/null | wc -l) frames)"
fi
if pkt_start b "$NB"; then
	pkt_serve "$NB" "$PKT_B" 7009 "$T/s7009" || fail "sink on B:7009"
	pkt_send "$NA" "$PKT_B" 7009 "$T/chunk" 10
	if [ "$(pkt_served "$T/s7009")" = "$(sha256sum <"$T/chunk" | cut -d' ' -f1)" ]; then
		ok "B restarted after SIGTERM: protected port works"
	else
		fail "B restarted after SIGTERM: protected port works"
	fi
else
	fail "B restarts after SIGTERM"
fi

# cryptgate pkt down: the operator removes protection on purpose.
pkt_stop a TERM
pkt_stop b TERM
if nsx "$NA" "$CG" pkt down -f "$T/a.conf" >"$T/down-a.log" 2>&1 &&
    nsx "$NB" "$CG" pkt down -f "$T/b.conf" >"$T/down-b.log" 2>&1 &&
    [ -z "$(pkt_rules "$NA")" ] && [ -z "$(pkt_rules "$NB")" ]; then
	ok "cryptgate pkt down removes the rules"
else
	fail "cryptgate pkt down removes the rules"
	sed 's/^/#   /' "$T/down-a.log"
fi
pkt_serve "$NB" "$PKT_B" 7010 "$T/s7010" || fail "sink on B:7010"
pkt_send "$NA" "$PKT_B" 7010 "$T/chunk" 10
if [ "$(pkt_served "$T/s7010")" = "$(sha256sum <"$T/chunk" | cut -d' ' -f1)" ]; then
	ok "after pkt down port 7010 carries cleartext, as the operator chose"
else
	fail "after pkt down port 7010 carries cleartext"
fi
done_testing
