#!/usr/bin/env bash
# 43-kdc-disk: a read-only or full disk gives errors to clients, never a
# crash or a corrupt database.
#  1. Read-only database (root: a read-only bind mount; otherwise chmod):
#     the daemon either refuses to start with an error, or starts and
#     answers ERROR INTERNAL; afterwards, on the writable path again, the
#     database is intact and the old keys are still there.
#  2. Full disk (root only: a small tmpfs holding the database, filled up):
#     requests get ERROR INTERNAL (or succeed, if SQLite still had room),
#     never a closed connection or a bad answer; the daemon keeps running;
#     once space is freed requests work again without a restart, every key
#     answered is retrievable, integrity_check is ok, the audit chain
#     verifies.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kdc-lib.sh"

need_kdcd "KDC read-only and full disk"

# retrievable FILE: every "key_id psk" line of FILE is retrievable by bob
# with that PSK; prints the number of failures.
retrievable() {
	poke bob retrieve --keys "$1" --service web --client-addr 127.0.0.1 \
	    >"$1.got" 2>&1
	paste -d' ' "$1" "$1.got" | awk '
		$3 != "RETRIEVE_RESP" || $4 != "ok" { bad++; next }
		{ for (i = 5; i <= NF; i++) if ($i ~ /^psk=/) p = substr($i, 5)
		  if (p != $2) bad++ }
		END { print bad + 0 }'
}

# keyline: "key_id psk" of the kdcpoke REQUEST_RESP line in $POKE_OUT.
keyline() { echo "$(field key_id "$POKE_OUT") $(field psk "$POKE_OUT")"; }

# populate: hosts alice and bob, policy alice -> bob web.
populate() {
	local h
	for h in alice bob; do
		[ -f "$T/$h/$h.key" ] || mkhost "$h"
		write_host_conf "$h"
		add_host "$h" || fail "host add $h"
	done
	kdc_cli policy allow alice bob web >/dev/null || fail "policy allow"
}

# === 1. read-only database =================================================
RW=$T/rw
RO=$T/ro
mkdir -p "$RW" "$RO"
DB=$RW/kdc.db
kdc_setup || { fail "kdc init"; sed 's/^/#   /' "$K/init.out"; done_testing; }
populate
if kdc_start; then
	ok "read-only: the KDC starts on a writable database"
	expect_poke "read-only: a key issued before" "REQUEST_RESP ok" \
	    alice request --peer "$(hid bob)" --service web
	keyline >"$T/ro.keys"
	kdc_stop || fail "read-only: clean stop"
else
	fail "read-only: the KDC starts"
	sed 's/^/#   /' "$K/kdcd.log" | tail -20
fi

ro_how=
if is_root; then
	if mount --bind "$RW" "$RO" 2>"$T/mount.err" &&
	    cleanup_cmd "umount -l '$RO'" &&
	    mount -o remount,bind,ro "$RO" 2>>"$T/mount.err"; then
		ro_how="read-only bind mount"
		DB=$RO/kdc.db
	fi
else
	chmod 0444 "$RW/kdc.db" && chmod 0555 "$RW" &&
	    cleanup_cmd "chmod 0755 '$RW'" && ro_how="chmod 0444, directory 0555"
fi
if [ -z "$ro_how" ]; then
	fail "read-only: cannot make the database read-only"
	sed 's/^/#   /' "$T/mount.err" 2>/dev/null
else
	diag "read-only database: $ro_how"
	write_kdc_conf
	: >"$K/kdcd.log"
	"$CG_KDCD" -f "$K/kdc.conf" -d >>"$K/kdcd.log" 2>&1 &
	KDCD_PID=$!
	cleanup_pid "$KDCD_PID"
	for i in $(seq 1 150); do
		listening && break
		kill -0 "$KDCD_PID" 2>/dev/null || break
		sleep 0.1
	done
	if listening; then
		diag "the daemon started on the read-only database"
		expect_poke "read-only: REQUEST gets ERROR INTERNAL" \
		    "ERROR INTERNAL" alice request --peer "$(hid bob)" \
		    --service web
		expect_poke "read-only: RETRIEVE gets ERROR INTERNAL (audit is fail-closed)" \
		    "ERROR INTERNAL" bob retrieve --key-id "$(cut -d' ' -f1 "$T/ro.keys")" \
		    --service web --client-addr 127.0.0.1
		if alive; then ok "read-only: the daemon keeps running"; else
			fail "read-only: the daemon died"; fi
		kdc_stop
		rc=$?
		[ $rc -eq 0 ] && ok "read-only: clean exit" ||
		    fail "read-only: exit $rc on SIGTERM"
	else
		wait "$KDCD_PID"
		rc=$?
		KDCD_PID=
		if [ $rc -ne 0 ] && [ $rc -lt 128 ] && [ -s "$K/kdcd.log" ]; then
			ok "read-only: the daemon refuses to start (exit $rc): $(grep -v '^$' "$K/kdcd.log" | tail -1)"
		else
			fail "read-only: daemon neither listens nor exits with an error (exit $rc)"
			sed 's/^/#   /' "$K/kdcd.log" | tail -20
		fi
	fi
	if sanitizer_clean "$K/kdcd.log"; then
		ok "read-only: no sanitizer report"
	else
		fail "read-only: sanitizer report"
		grep -A15 -E 'Sanitizer|runtime error' "$K/kdcd.log" | head -30 | sed 's/^/#   /'
	fi
	# Writable again.
	if is_root; then umount "$RO"; else chmod 0755 "$RW"; chmod 0600 "$RW/kdc.db"; fi
	DB=$RW/kdc.db
	write_kdc_conf
	check "read-only: integrity_check ok afterwards" integrity_ok
	check "read-only: kdc audit verify afterwards" kdc_cli audit verify
	if kdc_start; then
		n=$(retrievable "$T/ro.keys")
		[ "$n" -eq 0 ] && ok "read-only: the old key is still retrievable" ||
		    fail "read-only: the old key is gone"
		expect_poke "read-only: writable again, requests work" \
		    "REQUEST_RESP ok" alice request --peer "$(hid bob)" --service web
		kdc_stop || fail "read-only: clean stop at the end"
	else
		fail "read-only: the KDC restarts on the writable database"
	fi
fi

# === 2. full disk ==========================================================
if ! is_root; then
	skip "full disk" "needs root to mount a small tmpfs (CI runs as root)"
	done_testing
fi
MNT=$T/disk
mkdir -p "$MNT"
if ! mount -t tmpfs -o size=8m,mode=0700 tmpfs "$MNT" 2>"$T/mount.err"; then
	fail "full disk: mount -t tmpfs"
	sed 's/^/#   /' "$T/mount.err"
	done_testing
fi
cleanup_cmd "umount -l '$MNT'"
K=$T/kdc2
mkdir -p "$K"
DB=$MNT/kdc.db
kdc_setup || { fail "full disk: kdc init"; sed 's/^/#   /' "$K/init.out"; done_testing; }
populate
if ! kdc_start; then
	fail "full disk: the KDC starts on the tmpfs"
	sed 's/^/#   /' "$K/kdcd.log" | tail -20
	done_testing
fi
BOB=$(hid bob)
: >"$T/full.keys"
expect_poke "full disk: a key before the disk fills" "REQUEST_RESP ok" \
    alice request --peer "$BOB" --service web && keyline >>"$T/full.keys"

dd if=/dev/zero of="$MNT/fill" bs=64k 2>/dev/null
dd if=/dev/zero of="$MNT/fill2" bs=4k 2>/dev/null
dd if=/dev/zero of="$MNT/fill3" bs=512 2>/dev/null
diag "tmpfs: $(df -h "$MNT" | tail -1)"
internal=0 good=0 other=0
for i in $(seq 1 60); do
	out=$(poke alice request --peer "$BOB" --service web 2>&1 | head -1)
	case $out in
	"ERROR INTERNAL"*) internal=$((internal + 1)) ;;
	"REQUEST_RESP ok"*)
		good=$((good + 1))
		POKE_OUT=$out keyline >>"$T/full.keys"
		;;
	*)
		other=$((other + 1))
		diag "full disk: request $i: $out"
		;;
	esac
	[ $internal -ge 10 ] && break
done
diag "full disk: $internal ERROR INTERNAL, $good keys, $other other"
if [ $internal -gt 0 ] && [ $other -eq 0 ]; then
	ok "full disk: requests get ERROR INTERNAL (or a key), nothing else"
else
	fail "full disk: $internal INTERNAL, $good ok, $other other answers"
fi
out=$(poke bob retrieve --key-id "$(head -1 "$T/full.keys" | cut -d' ' -f1)" \
    --service web --client-addr 127.0.0.1 2>&1)
if printf '%s' "$out" | grep -qE '^(ERROR INTERNAL|RETRIEVE_RESP ok .*psk='"$(head -1 "$T/full.keys" | cut -d' ' -f2)"')'; then
	ok "full disk: RETRIEVE gets ERROR INTERNAL or the right key ($(echo "$out" | cut -d' ' -f1-2))"
else
	fail "full disk: RETRIEVE: $out"
fi
if alive; then ok "full disk: the daemon keeps running"; else
	fail "full disk: the daemon died"
	tail -20 "$K/kdcd.log" | sed 's/^/#   /'
fi
check "full disk: kdc audit verify while full" kdc_cli audit verify

rm -f "$MNT/fill" "$MNT/fill2" "$MNT/fill3"
diag "tmpfs after freeing: $(df -h "$MNT" | tail -1)"
recovered=0
for i in $(seq 1 10); do
	out=$(poke alice request --peer "$BOB" --service web 2>&1 | head -1)
	if printf '%s' "$out" | grep -q '^REQUEST_RESP ok'; then
		recovered=1
		POKE_OUT=$out keyline >>"$T/full.keys"
		break
	fi
	sleep 0.5
done
if [ $recovered = 1 ]; then
	ok "space freed: requests work again without a restart (attempt $i)"
else
	fail "space freed: requests still fail ($out)"
fi
bad=0
for i in $(seq 1 10); do
	POKE_OUT=$(poke alice request --peer "$BOB" --service web 2>&1 | head -1)
	case $POKE_OUT in
	"REQUEST_RESP ok"*) keyline >>"$T/full.keys" ;;
	*) bad=$((bad + 1)) ;;
	esac
done
[ $bad -eq 0 ] && ok "space freed: 10 more requests succeed" ||
    fail "space freed: $bad of 10 requests failed"
n=$(retrievable "$T/full.keys")
if [ "$n" -eq 0 ]; then
	ok "every key answered ($(wc -l <"$T/full.keys")) is retrievable, same PSK"
else
	fail "$n of $(wc -l <"$T/full.keys") keys answered are not retrievable"
fi
check "full disk: integrity_check ok (daemon running)" integrity_ok
check "full disk: kdc audit verify" kdc_cli audit verify
kdc_stop
rc=$?
[ $rc -eq 0 ] && ok "full disk: clean exit" || fail "full disk: exit $rc on SIGTERM"
check "full disk: integrity_check ok" integrity_ok
if sanitizer_clean "$K/kdcd.log"; then
	ok "full disk: no sanitizer report"
else
	fail "full disk: sanitizer report"
	grep -A15 -E 'Sanitizer|runtime error' "$K/kdcd.log" | head -30 | sed 's/^/#   /'
fi
umount "$MNT" 2>/dev/null || umount -l "$MNT"
done_testing
