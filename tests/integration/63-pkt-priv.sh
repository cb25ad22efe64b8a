#!/usr/bin/env bash
# 63-pkt-priv: cryptgate-pktd keeps only CAP_NET_ADMIN once its queues,
# rules and status socket are open (cryptgate-pktd(8), PRIVILEGES), as
# /proc/PID/status of the running daemons shows (Uid, Gid, Groups, CapEff,
# CapPrm, CapAmb, CapBnd, NoNewPrivs), and protected traffic still flows
# (no CAP_NET_RAW needed).  Two hosts of pkt-lib.sh: A with
# "user = nobody" and a key file nobody owns (it becomes nobody), B without
# user and with root's key file (it keeps uid 0, with CAP_NET_ADMIN alone).
# A 2 MB sha256-checked transfer each way, IPv4 and IPv6; a SIGHUP of both
# after the drop with a new key (new connections work only if both read
# their key files again: A as nobody) which also reinstalls the rules
# (iptables-restore as nobody); a key file nobody can no longer read: A's
# reload refused, traffic goes on; A started again as nobody with
# CAP_NET_ADMIN and CAP_NET_RAW (what systemd's User= and
# AmbientCapabilities= make): CAP_NET_RAW given up, the queue bound and the
# rules installed without root, traffic carried; SIGTERM exits 0.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pkt-lib.sh"

T=$TMPDIR_T
NET_ADMIN=0000000000001000 # 1 << CAP_NET_ADMIN (12)
pkt_prereq
if ! id nobody >/dev/null 2>&1; then
	skip "pktd privilege drop" "no user nobody"
	done_testing
fi
NB_UID=$(id -u nobody)
NB_GID=$(id -g nobody)
# nobody must reach the configuration and key files.
chmod 0755 "$T"

# field PID NAME: NAME's value in /proc/PID/status (spaces between ids).
field() {
	awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print; exit }' \
	    "/proc/$1/status" 2>/dev/null
}

# creds DESC PID UID GID CAPS: all four uids UID and gids GID, no
# supplementary group 0, CapEff = CapPrm = CapAmb = CapBnd = CAPS,
# NoNewPrivs 1.
creds() {
	local desc=$1 pid=$2 u=$3 g=$4 caps=$5 got want
	got="$(field "$pid" Uid)|$(field "$pid" Gid)|$(field "$pid" CapEff)|$(field "$pid" CapPrm)|$(field "$pid" CapAmb)|$(field "$pid" CapBnd)|$(field "$pid" NoNewPrivs)"
	want="$u $u $u $u|$g $g $g $g|$caps|$caps|$caps|$caps|1"
	if [ "$got" = "$want" ] &&
	    ! printf ' %s ' "$(field "$pid" Groups)" | grep -q ' 0 '; then
		ok "$desc"
	else
		fail "$desc"
		diag "got  $got (groups $(field "$pid" Groups))"
		diag "want $want"
	fi
}

# reloaded NAME N0: wait (10 s) for a reload after N0 ended; print its line.
reloaded() {
	for _ in $(seq 1 $((100 * ${CG_SLOW:-1}))); do
		[ "$(grep -cE 'reloaded|reload failed' "$T/$1.log")" -gt "$2" ] &&
		    break
		sleep 0.1
	done
	grep -E 'reloaded|reload failed' "$T/$1.log" | tail -1
}
nreloads() { grep -cE 'reloaded|reload failed' "$T/$1.log"; }

# newkey ID: the key line of both files: a.cfg nobody's, b.cfg root's.
newkey() {
	local k
	k=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
	(umask 077 && printf '%s:%s\n' "$1" "$k" >"$T/a.cfg" &&
	    printf '%s:%s\n' "$1" "$k" >"$T/b.cfg")
	chown nobody "$T/a.cfg"
}

# transfer DESC FROM TO ADDR PORT: FILE $T/data from FROM to a sink in TO
# on ADDR:PORT, sha256 checked.
transfer() {
	local got
	if ! pkt_serve "$3" "$4" "$5" "$T/sink$5"; then
		fail "$1 (sink)"
		return
	fi
	pkt_send "$2" "$4" "$5" "$T/data" 60
	got=$(pkt_served "$T/sink$5")
	if [ "$got" = "$SUM" ]; then
		ok "$1"
	else
		fail "$1 (sha256 '$got')"
		show_logs
	fi
}
show_logs() {
	local f
	for f in a b; do
		tail -5 "$T/$f.log" | sed "s|^|#   $f: |"
	done
}

if ! pkt_ns_setup; then
	fail "network namespaces, veth and bridge set up"
	done_testing
fi
ok "namespaces $NA, $NB, $NC with veth and bridge"
pkt_keys
newkey "$PKT_ID"
pkt_conf a "$PKT_B/32" "$PKT_B6/128" "7000-7010"
pkt_conf b "10.77.0.0/24" "fd77::/64" "7000-7010"
sed -i -e "s|$T/key.cfg|$T/a.cfg|" -e 's/^\[pkt\]$/[pkt]\nuser = nobody/' "$T/a.conf"
sed -i -e "s|$T/key.cfg|$T/b.cfg|" "$T/b.conf"
if ! pkt_start a "$NA" || ! pkt_start b "$NB"; then
	fail "cryptgate-pktd starts in both namespaces"
	show_logs
	done_testing
fi
ok "cryptgate-pktd runs in both namespaces"
creds "A (user = nobody): uid and gid nobody, CAP_NET_ADMIN alone (effective, permitted, ambient, bounding), no_new_privs" \
    "$PID_a" "$NB_UID" "$NB_GID" "$NET_ADMIN"
creds "B (no user, root's key file): uid 0, CAP_NET_ADMIN alone, no_new_privs" \
    "$PID_b" 0 0 "$NET_ADMIN"
if grep -q 'running as user nobody with CAP_NET_ADMIN' "$T/a.log" &&
    grep -q 'keeping uid 0 (the key files belong to root) with CAP_NET_ADMIN' "$T/b.log"; then
	ok "the logs say whom the daemons run as, with what"
else
	fail "the logs say whom the daemons run as"
	show_logs
fi

head -c 2000000 /dev/urandom >"$T/data"
SUM=$(sha256sum "$T/data" | cut -d' ' -f1)
transfer "after the drop: 2 MB A -> B through both daemons, sha256 equal" \
    "$NA" "$NB" "$PKT_B" 7001
transfer "after the drop: 2 MB B -> A, sha256 equal" "$NB" "$NA" "$PKT_A" 7002
transfer "after the drop: 2 MB A -> B over IPv6, sha256 equal" \
    "$NA" "$NB" "$PKT_B6" 7003
o0=$(pkt_stat a out_pkts)
m0=$(pkt_stat b mac_failures)
if [ "$o0" -gt 1000 ] && [ "$m0" = 0 ]; then
	ok "the segments went through A's queue ($o0 out), B verified every tag"
else
	fail "A's queue counts $o0 packets out, B $m0 MAC failures"
fi

# SIGHUP with a new key in both files: a new connection works only if
# both daemons read their file again (A as nobody).
na=$(nreloads a) nb=$(nreloads b)
newkey "$PKT_ID"
kill -HUP "$PID_a" "$PID_b"
ra=$(reloaded a "$na")
rb=$(reloaded b "$nb")
if [ "${ra#*reloaded}" != "$ra" ] && [ "${rb#*reloaded}" != "$rb" ] &&
    [ -n "$(pkt_rules "$NA")" ]; then
	ok "SIGHUP after the drop: both daemons reload (A reads its key and runs iptables-restore as nobody)"
else
	fail "SIGHUP after the drop ('$ra', '$rb')"
	show_logs
fi
transfer "after the reload: 2 MB A -> B with the new key" "$NA" "$NB" "$PKT_B" 7004
creds "after the reload: A still nobody with CAP_NET_ADMIN alone" \
    "$PID_a" "$NB_UID" "$NB_GID" "$NET_ADMIN"

# A key file nobody cannot read any more: A's reload fails, traffic goes on.
chown root "$T/a.cfg"
na=$(nreloads a)
kill -HUP "$PID_a"
ra=$(reloaded a "$na")
if [ "${ra#*reload failed}" != "$ra" ] && grep -q 'a.cfg.*Permission denied' "$T/a.log"; then
	ok "SIGHUP with a key file nobody cannot read: A's reload is refused"
else
	fail "SIGHUP with an unreadable key file ('$ra')"
	show_logs
fi
transfer "... and the running configuration goes on: 2 MB A -> B" \
    "$NA" "$NB" "$PKT_B" 7005

# Not root, as systemd's User= with AmbientCapabilities=CAP_NET_ADMIN
# CAP_NET_RAW starts it: A again as nobody from the start; the uid stays,
# CAP_NET_RAW goes (but from the bounding set: no CAP_SETPCAP), the queue
# is bound and the rules installed without root.
stop_pid() {
	local pid=$1 rc=0
	kill -TERM "$pid"
	for _ in $(seq 1 $((100 * ${CG_SLOW:-1}))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	wait "$pid" 2>/dev/null || rc=$?
	return $rc
}
stop_pid "$PID_a" || fail "A exits 0 on SIGTERM"
if command -v setpriv >/dev/null 2>&1; then
	chown nobody "$T/a.cfg"
	mkdir -m 0755 "$T/run" && chown nobody "$T/run"
	sed -e "s|^status_socket = .*|status_socket = $T/run/c.sock|" \
	    -e '/^user = /d' "$T/a.conf" >"$T/c.conf"
	ln -s run/c.sock "$T/c.sock"
	caps=-all,+net_admin,+net_raw
	ip netns exec "$NA" setpriv --reuid="$NB_UID" --regid="$NB_GID" \
	    --clear-groups --inh-caps="$caps" --ambient-caps="$caps" \
	    --bounding-set="$caps" "$CG_PKTD" -d -f "$T/c.conf" \
	    >"$T/c.log" 2>&1 </dev/null &
	PID_c=$!
	cleanup_pid "$PID_c"
	for _ in $(seq 1 $((100 * ${CG_SLOW:-1}))); do
		"$CG" status -r -s "$T/c.sock" >/dev/null 2>&1 && break
		kill -0 "$PID_c" 2>/dev/null || break
		sleep 0.1
	done
	got="$(field "$PID_c" Uid)|$(field "$PID_c" CapEff)|$(field "$PID_c" CapPrm)|$(field "$PID_c" CapAmb)|$(field "$PID_c" CapBnd)|$(field "$PID_c" NoNewPrivs)"
	want="$NB_UID $NB_UID $NB_UID $NB_UID|$NET_ADMIN|$NET_ADMIN|$NET_ADMIN|0000000000003000|1"
	if [ "$got" = "$want" ] &&
	    grep -q "running as uid $NB_UID with CAP_NET_ADMIN" "$T/c.log"; then
		ok "started as nobody with CAP_NET_ADMIN and CAP_NET_RAW (systemd-like): CAP_NET_RAW given up, no_new_privs"
	else
		fail "started as nobody (systemd-like): $got, want $want"
		tail -5 "$T/c.log" | sed 's/^/#   /'
	fi
	transfer "... and its queue carries 2 MB A -> B" "$NA" "$NB" "$PKT_B" 7006
	stop_pid "$PID_c" || fail "the non-root daemon exits 0 on SIGTERM"
else
	skip "pktd started as nobody (systemd-like)" "setpriv (util-linux) missing"
fi

rc=0
for d in b; do
	pid=$(eval echo "\$PID_$d")
	kill -TERM "$pid"
	for _ in $(seq 1 $((100 * ${CG_SLOW:-1}))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	wait "$pid" 2>/dev/null || rc=$?
done
[ $rc -eq 0 ] && ok "the daemons exit 0 on SIGTERM" ||
    fail "SIGTERM exit status $rc"
for f in a b c; do
	if grep -qE 'Sanitizer|runtime error' "$T/$f.log" 2>/dev/null; then
		fail "sanitizer report in $f.log"
		grep -E -A5 'Sanitizer|runtime error' "$T/$f.log" | head -20 |
		    sed 's/^/#   /'
	fi
done
done_testing
