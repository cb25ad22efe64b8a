#!/usr/bin/env bash
# 42-kdc-crash: kill -9 of the KDC under load.  Four kdcpoke loops and a
# loop of `cryptgate request` ask for keys concurrently, recording every
# key whose response they received; the daemon is killed with SIGKILL twice
# mid-run and restarted.  Then every recorded key is retrievable by its peer
# with the same PSK (kdcpoke for all of them, `cryptgate retrieve` too),
# a request answered before a crash cannot be replayed after it (persisted
# nonce), PRAGMA integrity_check says ok and the audit chain verifies.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kdc-lib.sh"

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
