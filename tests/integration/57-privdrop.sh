#!/usr/bin/env bash
# 57-privdrop: cryptgate-gatewayd gives up root once its sockets are open
# (cryptgate-gatewayd(8), PRIVILEGES), as /proc/PID/status of the running
# gateways shows (Uid, Gid, Groups, CapEff, CapPrm, CapAmb, CapBnd,
# NoNewPrivs), with traffic flowing after the drop.
# Part 1, on loopback: a server gateway with "user = nobody" on a port
# below 1024 (it keeps CAP_NET_BIND_SERVICE alone) and a client gateway
# without user whose key file nobody owns (it becomes nobody, no
# capability); 1 MB and 20 streams through them; SIGHUP after the drop
# with a new key identity in both key files (a connection works only if
# both gateways read their file again as nobody); a key file nobody can no
# longer read: reload refused, service goes on; a reload that needs a
# privilege given up (a port below 1024): refused; "user" with a root-only
# key: a warning, still nobody; no user and root's keys: uid 0 without
# any capability; started as nobody with CAP_NET_BIND_SERVICE (systemd's
# User= and AmbientCapabilities=): the uid stays, the capability goes; a
# user that does not exist, and root: refused by -n.
# Part 2, in two network namespaces: the transparent role as nobody keeps
# CAP_NET_ADMIN only (effective, permitted, ambient, bounding): its
# connections are carried (SO_MARK works), a SIGHUP adding an IPv6
# destination runs ip6tables-restore as nobody (rules in place, IPv6
# carried), SIGTERM removes its REDIRECT rules (iptables as nobody) and
# leaves the guard; the default (no user, root's key) keeps uid 0 with
# CAP_NET_ADMIN alone.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gw-lib.sh"

T=$TMPDIR_T
ECHO=$BUILD/tests/helpers/echo
GW=$CG_GATEWAYD
export PATH=$PATH:/usr/sbin:/sbin
NET_BIND=0000000000000400 # 1 << CAP_NET_BIND_SERVICE (10)
NET_ADMIN=0000000000001000 # 1 << CAP_NET_ADMIN (12)
NONE=0000000000000000

if ! is_root; then
	skip "gateway privilege drop" "needs root (switching users)"
	done_testing
fi
if ! id nobody >/dev/null 2>&1; then
	skip "gateway privilege drop" "no user nobody"
	done_testing
fi
if [ ! -x "$GW" ] || [ ! -x "$ECHO" ] || [ ! -x "$CG" ] ||
    ! command -v ss >/dev/null; then
	fail "$GW, $ECHO, $CG and ss (iproute2) are needed"
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

# creds DESC PID UID GID CAPS [BND]: all four uids UID and gids GID, no
# supplementary group 0, CapEff = CapPrm = CapAmb = CAPS, CapBnd = BND
# (default CAPS), NoNewPrivs 1.
creds() {
	local desc=$1 pid=$2 u=$3 g=$4 caps=$5 bnd=${6:-$5} got want
	got="$(field "$pid" Uid)|$(field "$pid" Gid)|$(field "$pid" CapEff)|$(field "$pid" CapPrm)|$(field "$pid" CapAmb)|$(field "$pid" CapBnd)|$(field "$pid" NoNewPrivs)"
	want="$u $u $u $u|$g $g $g $g|$caps|$caps|$caps|$bnd|1"
	if [ "$got" = "$want" ] &&
	    ! printf ' %s ' "$(field "$pid" Groups)" | grep -q ' 0 '; then
		ok "$desc"
	else
		fail "$desc"
		diag "got  $got (groups $(field "$pid" Groups))"
		diag "want $want"
	fi
}

# reloaded NAME N0: wait (5 s) for a reload after N0 ended ("reloaded" or
# "reload failed" lines in NAME.log); print the last such line.
reloaded() {
	for _ in $(seq 1 $((50 * ${CG_SLOW:-1}))); do
		[ "$(grep -cE 'reloaded|reload failed' "$T/$1.log")" -gt "$2" ] &&
		    break
		sleep 0.1
	done
	grep -E 'reloaded|reload failed' "$T/$1.log" | tail -1
}
nreloads() { grep -cE 'reloaded|reload failed' "$T/$1.log"; }

# low_port: a free TCP port below 1024.
low_port() {
	local p
	for p in $(seq 900 1020 | shuf); do
		if [ -z "$(ss -Htan "sport = :$p" 2>/dev/null)" ]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

hexid() { head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
# keyfile FILE ID KEY OWNER: FILE holds ID:KEY, mode 0600, owned by OWNER.
keyfile() {
	(umask 077 && printf '%s:%s\n' "$2" "$3" >"$1") && chown "$4" "$1"
}

# --- part 1: loopback ---------------------------------------------------
"$ECHO" serve 0 >"$T/echo.port" 2>"$T/echo.err" &
cleanup_pid $!
for _ in $(seq 1 50); do
	BPORT=$(head -1 "$T/echo.port" 2>/dev/null)
	[ -n "$BPORT" ] && break
	sleep 0.1
done
SRV=$(low_port) && CLI=$(free_port) && W=$(free_port) && R=$(free_port) ||
    { fail "free ports"; done_testing; }
ID=kdc1-$(hexid)
KEY=$(hexkey)
keyfile "$T/srv.cfg" "$ID" "$KEY" nobody
keyfile "$T/cli.cfg" "$ID" "$KEY" nobody
keyfile "$T/root.cfg" "$ID" "$KEY" root

cat >"$T/srv.conf" <<EOF
[gateway]
workers = 2
status_socket = $T/srv.sock
user = nobody
[service echo]
role = server
listen = 127.0.0.1:$SRV
backend = 127.0.0.1:$BPORT
key_file = srv.cfg
EOF
cat >"$T/cli.conf" <<EOF
[gateway]
workers = 2
status_socket = $T/cli.sock
[service echo]
role = client
listen = 127.0.0.1:$CLI
connect = 127.0.0.1:$SRV
key_file = cli.cfg
EOF
cp "$T/cli.conf" "$T/cli.conf.orig"

if ! gw_start srv "$SRV" || ! gw_start cli "$CLI"; then
	fail "server (user = nobody, port $SRV) and client gateways start"
	show "$T/srv.log" "$T/cli.log"
	done_testing
fi
ok "server (user = nobody, port $SRV) and client gateways start"
creds "server, user = nobody: uid and gid nobody, CAP_NET_BIND_SERVICE alone, no_new_privs" \
    "$PID_srv" "$NB_UID" "$NB_GID" "$NET_BIND"
creds "client, no user, key file owned by nobody: nobody, no capability" \
    "$PID_cli" "$NB_UID" "$NB_GID" "$NONE"
if grep -q 'running as user nobody with CAP_NET_BIND_SERVICE' "$T/srv.log" &&
    grep -q "running as user nobody (the key files' owner) with no capability" "$T/cli.log"; then
	ok "the logs say whom the gateways run as, with what"
else
	fail "the logs say whom the gateways run as"
	show "$T/srv.log" "$T/cli.log"
fi

head -c 1000000 /dev/urandom >"$T/data"
want=$(sha "$T/data")
out=$("$ECHO" send "127.0.0.1:$CLI" "$T/data")
if [ $? -eq 0 ] && [ "$out" = "sha256=$want bytes=1000000" ]; then
	ok "after the drop: 1 MB through both gateways and back, sha256 equal"
else
	fail "after the drop: 1 MB round trip: $out"
fi
out=$("$ECHO" multi "127.0.0.1:$CLI" 20 100000)
[ "$out" = "ok 20" ] && ok "after the drop: 20 concurrent streams" ||
    fail "after the drop: 20 concurrent streams: $out"
if "$CG" status -r -f "$T/srv.conf" 2>/dev/null | grep -q '^service=echo '; then
	ok "cryptgate status reads the dropped gateway's counters"
else
	fail "cryptgate status after the drop"
fi

# SIGHUP: a new identity and key in both files; nobody reads them again.
ID2=kdc1-$(hexid)
KEY2=$(hexkey)
keyfile "$T/srv.cfg" "$ID2" "$KEY2" nobody
keyfile "$T/cli.cfg" "$ID2" "$KEY2" nobody
ns=$(nreloads srv) nc=$(nreloads cli)
kill -HUP "$PID_srv" "$PID_cli"
rs=$(reloaded srv "$ns")
rc=$(reloaded cli "$nc")
out=$("$ECHO" send "127.0.0.1:$CLI" "$T/data")
if [ "${rs#*reloaded}" != "$rs" ] && [ "${rc#*reloaded}" != "$rc" ] &&
    [ "$out" = "sha256=$want bytes=1000000" ]; then
	ok "SIGHUP after the drop: both gateways read their new key files as nobody, the new identity works"
else
	fail "SIGHUP after the drop: '$rs' '$rc' ($out)"
	show "$T/srv.log" "$T/cli.log"
fi

# A key file nobody can no longer read: the reload fails, service goes on.
chown root "$T/srv.cfg"
ns=$(nreloads srv)
kill -HUP "$PID_srv"
rs=$(reloaded srv "$ns")
out=$("$ECHO" send "127.0.0.1:$CLI" "$T/data")
if [ "${rs#*reload failed}" != "$rs" ] &&
    grep -q 'srv.cfg.*Permission denied' "$T/srv.log" &&
    [ "$out" = "sha256=$want bytes=1000000" ]; then
	ok "SIGHUP with a key file nobody cannot read: reload refused, the running keys go on"
else
	fail "SIGHUP with an unreadable key file: '$rs' ($out)"
	show "$T/srv.log"
fi
chown nobody "$T/srv.cfg"

# A reload that needs a privilege given up: a port below 1024 (client).
LOW2=$(low_port)
sed -i "s/^listen = 127.0.0.1:$CLI\$/listen = 127.0.0.1:$CLI 127.0.0.1:$LOW2/" \
    "$T/cli.conf"
nc=$(nreloads cli)
kill -HUP "$PID_cli"
rc=$(reloaded cli "$nc")
out=$("$ECHO" send "127.0.0.1:$CLI" "$T/data")
if [ "${rc#*privileges given up at start}" != "$rc" ] &&
    [ -z "$(ss -Hltn "sport = :$LOW2")" ] &&
    [ "$out" = "sha256=$want bytes=1000000" ]; then
	ok "SIGHUP that adds a port below 1024 to the client (no capability kept): refused, service goes on"
else
	fail "SIGHUP needing CAP_NET_BIND_SERVICE: '$rc' ($out)"
fi
cp "$T/cli.conf.orig" "$T/cli.conf"

# user set, a key file it cannot read: warned, still nobody.
cat >"$T/warn.conf" <<EOF
[gateway]
workers = 1
status_socket = $T/warn.sock
user = nobody
[service w]
role = server
listen = 127.0.0.1:$W
key_file = root.cfg
EOF
if gw_start warn "$W"; then
	if grep -q "root.cfg: not readable by user nobody: a reload (SIGHUP) will fail" "$T/warn.log"; then
		ok "user = nobody with a root-only key file: a warning at start"
	else
		fail "user = nobody with a root-only key file: a warning at start"
		show "$T/warn.log"
	fi
	creds "... and it runs as nobody all the same" "$PID_warn" \
	    "$NB_UID" "$NB_GID" "$NONE"
	gw_stop warn
else
	fail "a gateway with user = nobody and a root-only key file starts"
	show "$T/warn.log"
fi

# No user, root's key file: uid 0 stays, every capability goes.
sed -e "s/^user = nobody$//" -e "s|warn.sock|root.sock|" \
    -e "s/:$W\$/:$R/" "$T/warn.conf" >"$T/root.conf"
if gw_start root "$R"; then
	creds "no user, root's key file: uid 0 without any capability (bounding set empty), no_new_privs" \
	    "$PID_root" 0 0 "$NONE"
	grep -q 'keeping uid 0 (the key files belong to root) with no capability' "$T/root.log" &&
	    ok "... and the log says so" || fail "... and the log says so"
	gw_stop root
else
	fail "a gateway without user and with root's key file starts"
	show "$T/root.log"
fi

# Not root, as systemd's User= with AmbientCapabilities=
# CAP_NET_BIND_SERVICE starts it: the uid stays; with no port below 1024
# the capability goes (but from the bounding set: no CAP_SETPCAP).
if command -v setpriv >/dev/null 2>&1; then
	N=$(free_port) || N=0
	sed -e "s/^user = nobody$//" -e "s|srv.sock|nr.sock|" \
	    -e "s/^listen = .*/listen = 127.0.0.1:$N/" "$T/srv.conf" >"$T/nr.conf"
	c=-all,+net_bind_service
	setpriv --reuid="$NB_UID" --regid="$NB_GID" --clear-groups \
	    --inh-caps="$c" --ambient-caps="$c" --bounding-set="$c" \
	    "$GW" -d -v -f "$T/nr.conf" >"$T/nr.log" 2>&1 &
	PID_nr=$!
	cleanup_pid "$PID_nr"
	if wait_listen "$PID_nr" "$N"; then
		creds "started as nobody with CAP_NET_BIND_SERVICE (systemd-like), no port below 1024: the capability given up" \
		    "$PID_nr" "$NB_UID" "$NB_GID" "$NONE" "$NET_BIND"
		grep -q "running as uid $NB_UID with no capability" "$T/nr.log" &&
		    ok "... and the log says so" || fail "... and the log says so"
		gw_stop nr || fail "the non-root gateway exits 0 on SIGTERM"
	else
		fail "a gateway started as nobody (systemd-like) starts"
		show "$T/nr.log"
	fi
else
	skip "gateway started as nobody (systemd-like)" "setpriv (util-linux) missing"
fi

# -n refuses a user that does not exist, and root.
sed 's/^user = nobody$/user = cryptgate-no-such-user/' "$T/srv.conf" >"$T/nouser.conf"
sed 's/^user = nobody$/user = root/' "$T/srv.conf" >"$T/rootuser.conf"
out=$("$GW" -n -f "$T/nouser.conf" 2>&1)
out2=$("$GW" -n -f "$T/rootuser.conf" 2>&1)
if printf '%s' "$out" | grep -q 'user cryptgate-no-such-user: no such user' &&
    printf '%s' "$out2" | grep -q 'user root: is root'; then
	ok "-n refuses user = an unknown user, and user = root"
else
	fail "-n refuses unknown users and root ($out | $out2)"
fi

gw_stop srv
r1=$?
gw_stop cli
r2=$?
[ $r1 -eq 0 ] && [ $r2 -eq 0 ] && ok "both dropped gateways exit 0 on SIGTERM" ||
    fail "dropped gateways exit status ($r1, $r2)"

# --- part 2: the transparent role in network namespaces -----------------
for t in ip iptables ip6tables iptables-restore ip6tables-restore socat \
    timeout; do
	if ! command -v "$t" >/dev/null 2>&1; then
		skip "transparent role after the drop" "$t missing (mk/deps.sh)"
		done_testing
	fi
done
NC=cg57-$$-c NS=cg57-$$-s
C4=10.57.0.1 S4=10.57.0.2 C6=fd57::1 S6=fd57::2
if ! ip netns add "$NC" 2>/dev/null; then
	skip "transparent role after the drop" "cannot create a network namespace"
	done_testing
fi
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

# bg NS OUT CMD...: CMD in NS in the background, ours; sets BGPID.
bg() {
	local ns=$1 out=$2
	shift 2
	ip netns exec "$ns" "$@" >>"$out" 2>&1 </dev/null &
	BGPID=$!
	cleanup_pid "$BGPID"
}
: >"$T/svc.out"
bg "$NS" "$T/svc.err" socat -u TCP4-LISTEN:2323,fork,reuseaddr \
    "OPEN:$T/svc.out,creat,append"
bg "$NS" "$T/svc.err" socat -u TCP6-LISTEN:2323,fork,reuseaddr,ipv6only=1 \
    "OPEN:$T/svc.out,creat,append"
TID=kdc1-$(hexid)
TKEY=$(hexkey)
keyfile "$T/t.cfg" "$TID" "$TKEY" nobody
keyfile "$T/troot.cfg" "$TID" "$TKEY" root
cat >"$T/tsrv.conf" <<EOF
[gateway]
workers = 1
status_socket = $T/tsrv.sock
drain_timeout = 1s
user = nobody
[service tel]
role = server
listen = $S4:7023 [$S6]:7023
backend = 127.0.0.1:2323
key_file = t.cfg
EOF
# tcli_conf DESTINATIONS [KEYFILE [USERLINE]]
tcli_conf() {
	cat >"$T/tcli.conf" <<EOF
[gateway]
workers = 1
status_socket = $T/tcli.sock
drain_timeout = 1s
${3-user = nobody}
[service tel]
role = transparent
listen = 127.0.0.1:9023 [::1]:9023
destination = $1
secured_port = 7023
key_file = ${2:-t.cfg}
EOF
}
tcli_conf "$S4:2323"

# gw_up NAME NS: the gateway NAME.conf in NS; true once its status
# socket answers (its rules are in then); sets PID_NAME.
gw_up() {
	local pid
	bg "$2" "$T/$1.log" "$GW" -d -v -f "$T/$1.conf"
	pid=$BGPID
	eval "PID_$1=$pid"
	for _ in $(seq 1 $((100 * ${CG_SLOW:-1}))); do
		"$CG" status -r -s "$T/$1.sock" >/dev/null 2>&1 && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	show "$T/$1.log"
	return 1
}
# gw_down NAME: SIGTERM, wait (20 s); its exit status.
gw_down() {
	local pid
	pid=$(eval echo "\$PID_$1")
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 1 $((200 * ${CG_SLOW:-1}))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	{ wait "$pid"; } 2>/dev/null
}
hs() {
	"$CG" status -r -s "$T/tsrv.sock" 2>/dev/null | grep '^service=tel ' |
	    tr ' ' '\n' | sed -n 's/^handshakes=//p'
}
# carried WHAT MARKER ADDR PORT: a line to ADDR:PORT from C reaches the
# service through the gateways (one handshake more).
carried() {
	local h0 h1 i a=$3
	case $a in *:*) a="[$a]" ;; esac
	h0=$(hs)
	printf '%s\n' "$2" | nsx "$NC" timeout 10 socat -t 2 - "TCP:$a:$4,connect-timeout=3" \
	    >/dev/null 2>&1
	for i in $(seq 1 30); do
		grep -qF -- "$2" "$T/svc.out" && break
		sleep 0.1
	done
	h1=$(hs)
	if grep -qF -- "$2" "$T/svc.out" && [ "${h1:-0}" -gt "${h0:-0}" ]; then
		ok "$1"
	else
		fail "$1 (service: $(grep -cF -- "$2" "$T/svc.out"), handshakes $h0 -> $h1)"
		show "$T/tcli.log"
	fi
}
rules() { nsx "$1" "$2" -w -t "$3" -S "$4" 2>/dev/null; }
TAG=CG57-$$-$RANDOM

if ! gw_up tsrv "$NS" || ! gw_up tcli "$NC"; then
	fail "server gateway and transparent gateway (user = nobody) start"
	done_testing
fi
ok "server gateway and transparent gateway (user = nobody) start"
creds "transparent gateway, user = nobody: CAP_NET_ADMIN alone (effective, permitted, ambient, bounding)" \
    "$PID_tcli" "$NB_UID" "$NB_GID" "$NET_ADMIN"
creds "its server gateway (user = nobody): no capability" \
    "$PID_tsrv" "$NB_UID" "$NB_GID" "$NONE"
carried "IPv4 destination carried by the dropped transparent gateway (SO_MARK as nobody)" \
    "$TAG-a4" "$S4" 2323

# SIGHUP: an IPv6 destination more; ip6tables-restore runs as nobody.
n0=$(nreloads tcli)
tcli_conf "$S4:2323 [$S6]:2323"
kill -HUP "$PID_tcli"
r=$(reloaded tcli "$n0")
if [ "${r#*reloaded}" != "$r" ] &&
    rules "$NC" ip6tables nat CRYPTGATE-GW | grep -q -- "-d $S6/128 .*REDIRECT --to-ports 9023" &&
    rules "$NC" ip6tables filter CRYPTGATE-GW-GUARD | grep -q -- "-d $S6/128 .*REJECT"; then
	ok "SIGHUP after the drop: the new IPv6 destination is redirected and guarded (ip6tables-restore as nobody)"
else
	fail "SIGHUP after the drop adds an IPv6 destination ('$r')"
	show "$T/tcli.log"
fi
carried "IPv6 destination carried after the reload" "$TAG-a6" "$S6" 2323
creds "after the reload: still nobody with CAP_NET_ADMIN alone" \
    "$PID_tcli" "$NB_UID" "$NB_GID" "$NET_ADMIN"

gw_down tcli
rc=$?
if [ $rc -eq 0 ] && [ -z "$(rules "$NC" iptables nat CRYPTGATE-GW)" ] &&
    [ -z "$(rules "$NC" ip6tables nat CRYPTGATE-GW)" ] &&
    [ -n "$(rules "$NC" iptables filter CRYPTGATE-GW-GUARD)" ] &&
    grep -q 'CRYPTGATE-GW-GUARD stays' "$T/tcli.log"; then
	ok "SIGTERM: exit 0, the REDIRECT rules removed as nobody, the guard stays"
else
	fail "SIGTERM of the dropped transparent gateway (exit $rc)"
	show "$T/tcli.log"
fi
if ! printf 'x\n' | nsx "$NC" timeout 10 socat -t 1 - "TCP:$S4:2323,connect-timeout=3" \
    >/dev/null 2>&1; then
	ok "with the gateway stopped, the guard resets connections to the destination"
else
	fail "with the gateway stopped, a connection to the destination went through"
fi

# The default with root's key: uid 0, CAP_NET_ADMIN alone.
tcli_conf "$S4:2323" troot.cfg ""
if gw_up tcli "$NC"; then
	creds "transparent, no user, root's key file: uid 0 with CAP_NET_ADMIN alone" \
	    "$PID_tcli" 0 0 "$NET_ADMIN"
	carried "... and carries the connections" "$TAG-b4" "$S4" 2323
	gw_down tcli || fail "it exits 0 on SIGTERM"
else
	fail "transparent gateway without user, root's key file, starts"
fi
gw_down tsrv || fail "the server gateway exits 0 on SIGTERM"
for f in srv cli warn root nr tsrv tcli; do
	if grep -qE 'Sanitizer|runtime error' "$T/$f.log" 2>/dev/null; then
		fail "sanitizer report in the $f gateway log"
		grep -E -A5 'Sanitizer|runtime error' "$T/$f.log" | head -20 |
		    sed 's/^/#   /'
	fi
done
done_testing
