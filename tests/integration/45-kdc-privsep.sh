#!/usr/bin/env bash
# 45-kdc-privsep: cryptgate-kdcd's three processes against the real daemon.
# Started as root with [kdc] user: the monitor keeps only CAP_KILL; the
# keystore runs as that user, undumpable, without capabilities, under its
# system call filter, and holds no listening socket; the network process
# runs as nobody, without capabilities, under its filter, and holds no
# database or key file.  The network process cannot open the database, the
# master key or the signing key, nor a socket (gdb makes it try, and the
# same call in the keystore opens the database: the probe is not blind).
# A malformed message on the socket pair stops the keystore; either child
# dying stops the whole daemon (no half-working KDC); requests are served
# throughout.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kdc-lib.sh"

need_kdcd "KDC privilege separation"
if ! is_root; then
	skip "KDC privilege separation" "needs root (to switch users)"
	done_testing
fi
for p in gdb useradd userdel; do
	if ! command -v "$p" >/dev/null; then
		fail "$p is needed (mk/deps.sh installs it)"
		done_testing
	fi
done

# A throwaway system user for the keystore.
KSU=cgks$$
useradd --system --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin "$KSU" || {
	fail "useradd $KSU"
	done_testing
}
cleanup_cmd "userdel $KSU"
KDC_EXTRA="user = $KSU"

if ! kdc_setup; then
	fail "kdc init"
	sed 's/^/#   /' "$K/init.out" | head
	done_testing
fi
mkhost alice
mkhost bob
check "host add alice" add_host alice
check "host add bob" add_host bob
check "policy allow alice -> bob" kdc_cli policy allow alice bob '*'
# The database and its directory belong to the keystore's user; the key
# files stay root's (0600): the keystore reads them before it drops.
chmod 755 "$T"
chown "$KSU" "$K" "$DB"*

if ! kdc_start; then
	fail "cryptgate-kdcd starts with user = $KSU"
	sed 's/^/#   /' "$K/kdcd.log" | head -20
	done_testing
fi
ok "cryptgate-kdcd starts with user = $KSU"

# kids: the monitor's children, the keystore first, then the network
# process (forked once the keystore is ready; the monitor binds before).
kids() {
	for _ in $(seq 1 100); do
		mapfile -t KIDS < <(pgrep -P "$KDCD_PID" | sort -n)
		[ "${#KIDS[@]}" -ge 2 ] && return 0
		sleep 0.1
	done
	return 1
}
kids
KS=${KIDS[0]:-}
NET=${KIDS[1]:-}
if [ "${#KIDS[@]}" = 2 ]; then
	ok "two processes under the monitor (keystore $KS, network $NET)"
else
	fail "children of the monitor: ${KIDS[*]:-none}"
	done_testing
fi

# field PID NAME: a line of /proc/PID/status, value only.
field() { awk -v f="$2:" '$1 == f { print $2; exit }' "/proc/$1/status"; }

ksuid=$(id -u "$KSU")
nobody=$(id -u nobody)
if [ "$(field "$KS" Uid)" = "$ksuid" ] && [ "$(field "$NET" Uid)" = "$nobody" ] &&
    [ "$(field "$KDCD_PID" Uid)" = 0 ]; then
	ok "users: keystore $KSU, network nobody, monitor root"
else
	fail "users: keystore $(field "$KS" Uid), network $(field "$NET" Uid), monitor $(field "$KDCD_PID" Uid)"
fi
bad=
for p in "$KS" "$NET" "$KDCD_PID"; do
	[ "$(field "$p" NoNewPrivs)" = 1 ] || bad="$bad $p:NoNewPrivs"
	[ "$(field "$p" Seccomp)" = 2 ] || bad="$bad $p:Seccomp"
done
for p in "$KS" "$NET"; do
	for c in CapInh CapPrm CapEff CapBnd CapAmb; do
		[ "$(field "$p" "$c")" = 0000000000000000 ] || bad="$bad $p:$c"
	done
done
# The monitor: CAP_KILL (5) only.
[ "$(field "$KDCD_PID" CapEff)" = 0000000000000020 ] || bad="$bad monitor:CapEff=$(field "$KDCD_PID" CapEff)"
if [ -z "$bad" ]; then
	ok "no_new_privs and a seccomp filter in all three; no capability in the children, CAP_KILL alone in the monitor"
else
	fail "confinement:$bad"
fi
# Undumpable: its own user cannot read its memory (nor its environment).
if ! runuser -u "$KSU" -- head -c 1 "/proc/$KS/environ" >/dev/null 2>&1 &&
    ! runuser -u "$KSU" -- head -c 1 "/proc/$KS/mem" >/dev/null 2>&1; then
	ok "the keystore is undumpable: its own user cannot read /proc/$KS/environ or mem"
else
	fail "user $KSU can read the keystore's /proc/$KS/environ or mem"
fi

# Descriptors: the files are the keystore's, the listening socket the
# network process's.
netfds=$(ls -l "/proc/$NET/fd" 2>/dev/null)
ksfds=$(ls -l "/proc/$KS/fd" 2>/dev/null)
if printf '%s\n' "$netfds" | grep -qE 'kdc\.db|\.key'; then
	fail "the network process holds files"
	printf '%s\n' "$netfds" | sed 's/^/#   /'
elif ! printf '%s\n' "$ksfds" | grep -q 'kdc\.db'; then
	fail "the keystore does not hold the database"
	printf '%s\n' "$ksfds" | sed 's/^/#   /'
else
	ok "the network process holds no file; the keystore holds the database"
fi
owners=$(ss -Hltnp "sport = :$PORT" | grep -o 'pid=[0-9]*' | sort -u | tr '\n' ' ')
if [ "$owners" = "pid=$NET " ]; then
	ok "only the network process holds the listening socket"
else
	fail "listening socket held by: $owners"
fi

# A request goes through both.
if "$CG" request -f "$T/alice/alice.conf" --peer "$(hid bob)" --service web \
    -o "$T/alice/key.cfg" >"$T/req.out" 2>&1 && [ -s "$T/alice/key.cfg" ]; then
	ok "a REQUEST is served through the network process and the keystore"
else
	fail "REQUEST"
	sed 's/^/#   /' "$T/req.out" | head
fi

# gdb_call PID EXPR: evaluate the C expression EXPR inside PID (gdb
# attaches, calls, detaches); prints the value.
gdb_call() {
	timeout 60 gdb -nx -p "$1" -batch -ex "print (long)($2)" 2>/dev/null |
	    sed -n 's/^\$1 = //p'
}
# gdb_open PID FILE: open(FILE, O_RDONLY) in PID: the descriptor, or
# -1 and the errno ("-1 13").
gdb_open() {
	timeout 60 gdb -nx -p "$1" -batch \
	    -ex "print (int)open(\"$2\", 0)" \
	    -ex 'print *(int *)__errno_location()' 2>/dev/null |
	    sed -n 's/^\$[12] = //p' | tr '\n' ' ' | sed 's/ $//'
}

res_db=$(gdb_open "$NET" "$DB")
res_mk=$(gdb_open "$NET" "$K/master.key")
res_sk=$(gdb_open "$NET" "$K/kdc.key")
res_ok=$(gdb_open "$NET" /etc/hostname)
res_sock=$(gdb_call "$NET" 'socket(2, 1, 0)')
if [ "$res_db" = "-1 13" ] && [ "$res_mk" = "-1 13" ] && [ "$res_sk" = "-1 13" ] &&
    [ "$res_ok" = "-1 13" ]; then
	ok "the network process cannot open the database, the master key, the signing key or any file (EACCES from its filter)"
else
	fail "the network process opened: db [$res_db] master [$res_mk] signing [$res_sk] /etc/hostname [$res_ok]"
fi
if [ "$res_sock" = -1 ]; then
	ok "the network process cannot make a socket"
else
	fail "socket() in the network process returned [$res_sock]"
fi
# The control: the same probe in the keystore opens the database.
res_ks=$(gdb_open "$KS" "$DB")
fd=${res_ks%% *}
if [ -n "$fd" ] && [ "$fd" -ge 0 ] 2>/dev/null; then
	gdb_call "$KS" "close($fd)" >/dev/null
	ok "the same probe in the keystore opens the database (fd $fd): the probe works"
else
	fail "the probe could not open the database in the keystore either [$res_ks]"
fi
if kill -0 "$NET" 2>/dev/null && kill -0 "$KS" 2>/dev/null &&
    "$CG" request -f "$T/alice/alice.conf" --peer "$(hid bob)" --service web \
        -o "$T/alice/key2.cfg" >/dev/null 2>&1; then
	ok "both processes still serve after the probes"
else
	fail "the daemon after the probes"
fi

# A malformed message on the pair, sent from inside the network process:
# the keystore stops, and with it the daemon.
# (its SOCK_SEQPACKET socket: type 0005 in /proc/net/unix)
seq_inodes=" $(awk '$5 == "0005" { print $7 }' /proc/net/unix | tr '\n' ' ')"
pairfd=
for f in /proc/"$NET"/fd/*; do
	ino=$(readlink "$f" | sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p')
	case $seq_inodes in *" $ino "*) [ -n "$ino" ] && pairfd=${f##*/} ;; esac
done
if [ -z "$pairfd" ]; then
	fail "the socket pair's descriptor in the network process"
else
	sent=$(gdb_call "$NET" "send($pairfd, \"garbage!\", 8, 0)")
	for _ in $(seq 1 100); do
		kill -0 "$KDCD_PID" 2>/dev/null || break
		sleep 0.1
	done
	if [ "$sent" = 8 ] && ! kill -0 "$KDCD_PID" 2>/dev/null &&
	    grep -q "malformed message from the network process" "$K/kdcd.log"; then
		ok "a malformed message stops the keystore, and the daemon with it"
	else
		fail "malformed message: send [$sent], daemon alive: $(kill -0 "$KDCD_PID" 2>/dev/null && echo yes || echo no)"
		tail -5 "$K/kdcd.log" | sed 's/^/#   /'
	fi
	wait "$KDCD_PID" 2>/dev/null
	if pgrep -f "$K/kdc.conf" >/dev/null; then
		fail "processes left behind"
	else
		ok "no process left behind"
	fi
fi

# kill -9 of either child: the daemon stops (no half-working KDC).
for who in network keystore; do
	KDCD_PID=
	if ! kdc_start; then
		fail "restart ($who)"
		continue
	fi
	if ! kids; then
		fail "restart ($who): children ${KIDS[*]:-none}"
		continue
	fi
	if [ $who = network ]; then victim=${KIDS[1]}; else victim=${KIDS[0]}; fi
	kill -9 "$victim"
	for _ in $(seq 1 150); do
		kill -0 "$KDCD_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$KDCD_PID" 2>/dev/null; then
		fail "kill -9 of the $who process: the daemon still runs"
		kill -9 "$KDCD_PID"
	else
		wait "$KDCD_PID"
		rc=$?
		if [ "$rc" != 0 ] && grep -q "was killed by signal 9" "$K/kdcd.log" &&
		    ! pgrep -f "$K/kdc.conf" >/dev/null; then
			ok "kill -9 of the $who process stops the daemon (exit $rc), nothing left behind"
		else
			fail "kill -9 of the $who process: exit $rc"
			tail -5 "$K/kdcd.log" | sed 's/^/#   /'
		fi
	fi
done

# The database still verifies after all this.
check "kdc audit verify" kdc_cli audit verify
done_testing
