#!/usr/bin/env bash
# 42-kdc-crash: kill -9 of the KDC under load.  Four kdcpoke loops and a
# loop of `cryptgate request` ask for keys concurrently, recording every
# key whose response they received; the daemon is killed with SIGKILL twice
# mid-run and restarted.  Then every recorded key is retrievable by its peer
# with the same PSK (kdcpoke for all of them, `cryptgate retrieve` too),
# a request answered before a crash cannot be replayed after it (persisted
# nonce), PRAGMA integrity_check says ok and the audit chain verifies.
. "$(dirname "$0")/lib.sh"
# --- KDC scaffolding (the same block in 40-kdc-e2e, 41-kdc-faults,
# 42-kdc-crash and 43-kdc-disk) ---------------------------------------------
T=$TMPDIR_T
K=$T/kdc
POKE=$BUILD/tests/helpers/kdcpoke
DB=$K/kdc.db
KDC_EXTRA=${KDC_EXTRA:-}
KDCD_PID=
PORT=
HOSTS=()
mkdir -p "$K"

# free_port: a TCP port in 20000-29999 nobody listens on (checked with ss).
free_port() {
	local p i
	for i in $(seq 1 100); do
		p=$((20000 + RANDOM % 10000))
		if ! ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

write_kdc_conf() {
	cat >"$K/kdc.conf" <<EOC
[kdc]
name = kdc1
listen = 127.0.0.1:$PORT
database = $DB
signing_key = kdc.key
master_key = master.key
$KDC_EXTRA
EOC
}

# write_host_conf NAME: $T/NAME/NAME.conf for host NAME (its key NAME.key).
write_host_conf() {
	cat >"$T/$1/$1.conf" <<EOC
[host]
name = $1
key = $1.key

[kdc]
name = kdc1
address = 127.0.0.1:$PORT
public_key = $K/kdc.pub
timeout = 5s
EOC
}

# mkhost NAME [x25519|rsa3072]: a host key pair and host.conf under $T/NAME.
mkhost() {
	mkdir -p "$T/$1"
	"$CG" keygen -t "${2:-x25519}" -c "$1" -o "$T/$1/$1" >/dev/null \
	    2>"$T/$1/keygen.err" || return 1
	HOSTS+=("$1")
	write_host_conf "$1"
}

# hid NAME: the host id of NAME (32 hex).
hid() { cut -d' ' -f3 "$T/$1/$1.pub"; }

# kdc_cli ARGS...: cryptgate kdc ARGS with -f kdc.conf after the command
# words, e.g. kdc_cli host add --addr 127.0.0.1 FILE.pub
kdc_cli() {
	local words=()
	while [ $# -gt 0 ]; do
		case $1 in
		host | policy | key | audit | token | init | add | approve | \
		    remove | revoke | list | allow | deny | purge | verify | \
		    show | create)
			words+=("$1")
			shift
			;;
		*) break ;;
		esac
	done
	"$CG" kdc "${words[@]}" -f "$K/kdc.conf" "$@"
}

# add_host NAME: register NAME (active) with address 127.0.0.1.
add_host() {
	kdc_cli host add --addr 127.0.0.1 "$T/$1/$1.pub" >/dev/null
}

# listening: true if our daemon listens on $PORT.
listening() {
	ss -Hltnp "sport = :$PORT" 2>/dev/null | grep -q "pid=$KDCD_PID,"
}

# kdc_start: start the daemon in the foreground mode in the background,
# wait (bounded) until it listens.  On a port clash, pick another port and
# rewrite every configuration (3 tries).  0 or 1.
kdc_start() {
	local i
	for _ in 1 2 3; do
		"$CG_KDCD" -f "$K/kdc.conf" -d >>"$K/kdcd.log" 2>&1 &
		KDCD_PID=$!
		cleanup_pid "$KDCD_PID"
		for i in $(seq 1 150); do
			listening && return 0
			kill -0 "$KDCD_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$KDCD_PID" 2>/dev/null
		wait "$KDCD_PID" 2>/dev/null
		# Someone else took the port?  Then move.
		ss -Hltn "sport = :$PORT" | grep -q . || return 1
		PORT=$(free_port) || return 1
		write_kdc_conf
		for i in "${HOSTS[@]+"${HOSTS[@]}"}"; do
			write_host_conf "$i"
		done
	done
	return 1
}

# kdc_stop: SIGTERM, wait up to 15 s; returns the daemon's exit status
# (137 if it had to be killed).
kdc_stop() {
	local i rc
	[ -n "$KDCD_PID" ] || return 0
	kill -TERM "$KDCD_PID" 2>/dev/null
	for i in $(seq 1 150); do
		kill -0 "$KDCD_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$KDCD_PID" 2>/dev/null; then
		kill -9 "$KDCD_PID" 2>/dev/null
		wait "$KDCD_PID" 2>/dev/null
		KDCD_PID=
		return 137
	fi
	wait "$KDCD_PID" 2>/dev/null
	rc=$?
	KDCD_PID=
	return $rc
}

# alive: our daemon is still running.
alive() { [ -n "$KDCD_PID" ] && kill -0 "$KDCD_PID" 2>/dev/null; }

# poke NAME ARGS...: kdcpoke as host NAME against our KDC.
poke() {
	local n=$1
	shift
	"$POKE" -a "127.0.0.1:$PORT" -k "$T/$n/$n.key" -K "$K/kdc.pub" "$@"
}

# expect_poke DESC REGEX NAME ARGS...: ok if kdcpoke's first line matches
# the extended REGEX (anchored at the start).  The output is in $POKE_OUT.
expect_poke() {
	local desc=$1 re=$2
	shift 2
	POKE_OUT=$(poke "$@" 2>&1)
	if printf '%s\n' "$POKE_OUT" | head -1 | grep -qE "^($re)"; then
		ok "$desc"
		return 0
	fi
	fail "$desc"
	printf '%s\n' "$POKE_OUT" | head -5 | sed 's/^/#   got: /'
	return 1
}

# field KEY LINE: the value of KEY=VALUE in a kdcpoke line.
field() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -1; }

# now_ms: unix time in milliseconds.
now_ms() { date +%s%3N; }

# sanitizer_clean FILE: no ASan/UBSan report in FILE.
sanitizer_clean() { ! grep -qE 'Sanitizer|runtime error' "$1"; }

# integrity_ok: sqlite3 PRAGMA integrity_check says ok (waiting up to 10 s
# for a lock: the daemon may be recovering the WAL after a crash).
integrity_ok() {
	local out
	out=$(sqlite3 -cmd '.timeout 10000' "$DB" 'PRAGMA integrity_check' 2>&1)
	[ "$out" = ok ] && return 0
	printf '%s\n' "$out" | head -5
	return 1
}

# need_kdcd: skip the whole scenario only if the daemon binary does not
# exist; anything else missing is a failure.
need_kdcd() {
	if [ ! -x "$CG_KDCD" ]; then
		skip "$1" "cryptgate-kdcd not built"
		done_testing
	fi
	if [ ! -x "$POKE" ] || [ ! -x "$CG" ]; then
		fail "$POKE or $CG not built"
		done_testing
	fi
	if ! command -v sqlite3 >/dev/null || ! command -v ss >/dev/null; then
		fail "sqlite3 and ss (iproute2) are needed"
		done_testing
	fi
}

# kdc_setup: kdc.conf on a free port, then cryptgate kdc init.
kdc_setup() {
	PORT=$(free_port) || return 1
	write_kdc_conf
	kdc_cli init >"$K/init.out" 2>&1
}
# --- end of the KDC scaffolding ---------------------------------------------

need_kdcd "KDC kill -9 under load"

LOOPS="c1 c2 c3 c4"
RUN=16 # seconds of load; kills at about 4 s and 9 s

kdc_setup || { fail "kdc init"; sed 's/^/#   /' "$K/init.out"; done_testing; }
for h in bob cli $LOOPS; do
	mkhost "$h"
	add_host "$h" || fail "host add $h"
done
for h in cli $LOOPS; do
	kdc_cli policy allow "$h" bob web >/dev/null || fail "policy allow $h"
done
if ! kdc_start; then
	fail "cryptgate-kdcd starts"
	sed 's/^/#   /' "$K/kdcd.log" | head -20
	done_testing
fi
ok "cryptgate-kdcd starts and listens on 127.0.0.1:$PORT"
BOB=$(hid bob)

expect_poke "a request answered before the crash (frame saved)" \
    "REQUEST_RESP ok" c1 request --peer "$BOB" --service web \
    --save "$T/pre.frame"
PREK=$(field key_id "$POKE_OUT")
expect_poke "a RETRIEVE answered before the crash (frame saved)" \
    "RETRIEVE_RESP ok" bob retrieve --key-id "$PREK" --service web \
    --client-addr 127.0.0.1 --save "$T/pre_ret.frame"

# cli_loop SECONDS: cryptgate request in a loop; every key.cfg line of a
# successful run goes to $T/cli.keys.
cli_loop() {
	local end=$((SECONDS + $1)) i=0
	while [ $SECONDS -lt $end ]; do
		i=$((i + 1))
		if "$CG" request -f "$T/cli/cli.conf" --peer "$BOB" --service web \
		    -o "$T/cli/k$i.cfg" >/dev/null 2>>"$T/cli.err"; then
			cat "$T/cli/k$i.cfg" >>"$T/cli.keys"
		else
			sleep 0.05
		fi
	done
}

: >"$T/cli.keys"
LOAD_PIDS=()
for c in $LOOPS; do
	poke "$c" --loop "$RUN" --timeout 5 request --peer "$BOB" --service web \
	    >"$T/loop.$c" 2>"$T/loop.$c.err" &
	LOAD_PIDS+=($!)
	cleanup_pid $!
done
cli_loop "$RUN" &
LOAD_PIDS+=($!)
cleanup_pid $!

# count_keys: keys received so far by all the loops.
count_keys() {
	cat "$T"/loop.c? "$T/cli.keys" 2>/dev/null | grep -cE '^REQUEST_RESP ok|^kdc1-'
}

restarts_ok=1
for round in 1 2; do
	sleep 4
	before=$(count_keys)
	kill -9 "$KDCD_PID"
	wait "$KDCD_PID" 2>/dev/null
	diag "round $round: SIGKILL with $before keys received"
	if [ "$before" -gt 0 ]; then
		ok "round $round: keys were being issued when the KDC was killed ($before)"
	else
		fail "round $round: no key issued before the kill"
	fi
	sleep 0.5
	echo "--- restart $round" >>"$K/kdcd.log"
	if kdc_start; then
		ok "round $round: the KDC restarts after SIGKILL"
	else
		fail "round $round: the KDC does not restart after SIGKILL"
		sed 's/^/#   /' "$K/kdcd.log" | tail -20
		restarts_ok=0
		break
	fi
	check "round $round: integrity_check ok right after the restart" \
	    integrity_ok
done
last_restart=$(count_keys)
wait "${LOAD_PIDS[@]}"
total=$(count_keys)
if [ "$restarts_ok" = 1 ] && [ "$total" -gt "$last_restart" ]; then
	ok "keys are issued after the restarts ($((total - last_restart)) more)"
elif [ "$restarts_ok" = 1 ]; then
	fail "no key issued after the last restart"
fi
diag "$total keys received in all; loop outcomes:"
cat "$T"/loop.c? | cut -d' ' -f1-2 | sort | uniq -c | sed 's/^/#  /'
if grep -qE '^BADRESP' "$T"/loop.c?; then
	fail "the loops received answers that fail the client checks"
	grep -hE '^BADRESP' "$T"/loop.c? | sort | uniq -c | head | sed 's/^/#   /'
else
	ok "no answer failed the client checks"
fi

# Every key whose response was received is retrievable, same PSK.
if [ "$restarts_ok" = 1 ]; then
	grep -h '^REQUEST_RESP ok' "$T"/loop.c? | while read -r _ _ kid _ _ psk; do
		echo "${kid#key_id=} ${psk#psk=}"
	done >"$T/want"
	sed -n 's/^kdc1-\([0-9a-f]*\):\([0-9a-f]*\)$/\1 \2/p' "$T/cli.keys" \
	    >>"$T/want"
	n=$(wc -l <"$T/want")
	poke bob retrieve --keys "$T/want" --service web \
	    --client-addr 127.0.0.1 >"$T/got" 2>&1
	missing=$(paste -d' ' "$T/want" "$T/got" | awk '
		$3 != "RETRIEVE_RESP" || $4 != "ok" { bad++; next }
		{ for (i = 5; i <= NF; i++) if ($i ~ /^psk=/) p = substr($i, 5)
		  if (p != $2) bad++ }
		END { print bad + 0 }')
	if [ "$n" -gt 0 ] && [ "$(wc -l <"$T/got")" -eq "$n" ] &&
	    [ "$missing" -eq 0 ]; then
		ok "all $n keys received are retrievable by the peer, same PSK"
	else
		fail "$missing of $n received keys not retrievable with the same PSK"
		paste -d' ' "$T/want" "$T/got" | grep -v 'RETRIEVE_RESP ok' |
		    head -5 | sed 's/^/#   /'
	fi
	# The same through the CLI: every CLI key and up to 150 of the others.
	{
		sed -n 's/^kdc1-\([0-9a-f]*\):.*/\1/p' "$T/cli.keys"
		grep -h '^REQUEST_RESP ok' "$T"/loop.c? | shuf -n 150 |
		    sed 's/.*key_id=\([0-9a-f]*\).*/\1/'
	} >"$T/cli.want"
	bad=0
	while read -r kid; do
		if ! "$CG" retrieve -f "$T/bob/bob.conf" --key-id "$kid" \
		    --client-addr 127.0.0.1 --service web -o "$T/bob/r.cfg" \
		    >/dev/null 2>>"$T/bob/r.err"; then
			bad=$((bad + 1))
			[ $bad -le 5 ] && diag "cryptgate retrieve $kid failed"
		fi
		rm -f "$T/bob/r.cfg"
	done <"$T/cli.want"
	if [ "$bad" -eq 0 ] && [ -s "$T/cli.want" ]; then
		ok "cryptgate retrieve gets each of $(wc -l <"$T/cli.want") of them"
	else
		fail "cryptgate retrieve: $bad of $(wc -l <"$T/cli.want") failed"
		sort -u "$T/bob/r.err" | head -3 | sed 's/^/#   /'
	fi
	expect_poke "a request answered before the crash cannot be replayed" \
	    "ERROR REPLAY" c1 send "$T/pre.frame"
	# RETRIEVE nonces are not persisted: the KDC refuses timestamps from
	# before its start instead.
	expect_poke "a RETRIEVE from before the restart cannot be replayed" \
	    "ERROR (SKEW|REPLAY)" bob send "$T/pre_ret.frame"
fi

check "kdc audit verify (daemon running)" kdc_cli audit verify
if alive; then ok "the daemon is still running"; else fail "the daemon died"; fi
kdc_stop
rc=$?
if [ $rc -eq 0 ]; then ok "SIGTERM: clean exit"; else fail "SIGTERM: exit $rc"; fi
check "PRAGMA integrity_check: ok" integrity_ok
check "kdc audit verify" kdc_cli audit verify
if sanitizer_clean "$K/kdcd.log"; then
	ok "no sanitizer report from the daemon"
else
	fail "sanitizer report from the daemon"
	grep -A15 -E 'Sanitizer|runtime error' "$K/kdcd.log" | head -30 | sed 's/^/#   /'
fi
done_testing
