#!/usr/bin/env bash
# 71-deployment: docs/DEPLOYMENT.md runs as written, on four simulated
# hosts (tests/integration/docex-lib.sh): KDC init, firewall, the three
# ways of enrolling, policy, server, client and transparent roles, FTP,
# a host key rotated (cryptgate rotate), a host revoked, backup and restore,
# audit.
# Then checks of its own:
# - key files and the database have the modes the guide states;
# - a line through alice's client gateway reaches bob's service, and a
#   capture of the bridge holds no line in clear (a UDP line sent in clear
#   is seen: the capture works);
# - a key bob retrieves for alice is refused after `kdc key revoke`;
# - revoked carol gets DENIED for a new key, bob's gateway counted her
#   refused handshakes;
# - the restored database verifies its audit chain, and the audit chain
#   of a copy with one record edited does not.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/docex-lib.sh"

DOC=docs/DEPLOYMENT.md
KDCCONF=/etc/cryptgate/kdc.conf

if ! docex_setup "$DOC"; then
	done_testing
fi

docex_capture_start

docex_blocks

# mode HOST FILE WANT: FILE on HOST has mode WANT.
mode() {
	local m
	m=$(docex_exec "$1" stat -c %a "$2" 2>&1)
	if [ "$m" = "$3" ]; then
		ok "$1: $2 has mode $3"
	else
		fail "$1: $2 has mode $3 (got: $m)"
	fi
}
mode kdc /etc/cryptgate/kdc.key 600
mode kdc /etc/cryptgate/master.key 600
mode kdc /var/lib/cryptgate/kdc.db 600
mode kdc /var/log/cryptgate/kdc-audit.log 600
mode alice /etc/cryptgate/host.key 600
mode bob /etc/cryptgate/host.key 600
mode bob /etc/cryptgate/host.key.old 600
mode carol /etc/cryptgate/host.key 600

# A line of our own through alice's client gateway.
line="deployment probe $$ for bob"
want=$(printf '%s\n' "$line" | rev)
got=$(printf '%s\n' "$line" |
    docex_exec alice socat -t 5 - TCP:127.0.0.1:7000 2>&1)
if [ "$got" = "$want" ]; then
	ok "a line from alice crosses the gateways to bob's service and back"
else
	fail "a line from alice crosses the gateways to bob's service and back"
	diag "got: $got"
fi
docex_capture_stop alice bob.example.net "deployment clear marker $$"
dump=$DOCEX_DIR/bridge.txt
n7001=$(tcpdump -r "$CAP" -n 'tcp port 7001 and greater 100' 2>/dev/null | wc -l)
if grep -q "deployment clear marker $$" "$dump"; then
	ok "the bridge capture shows a line sent in clear (control)"
else
	fail "the bridge capture shows a line sent in clear (control)"
fi
if [ "$n7001" -ge 4 ]; then
	ok "TLS traffic between the gateways crossed the bridge ($n7001 packets)"
else
	fail "TLS traffic between the gateways crossed the bridge ($n7001 packets)"
fi
leaked=""
for s in "$line" "$want" "a file from bob"; do
	grep -qF "$s" "$dump" && leaked="$leaked [$s]"
done
if [ -z "$leaked" ]; then
	ok "no line and no FTP file content crossed the bridge in clear"
else
	fail "crossed the bridge in clear:$leaked"
fi

# A key of alice's for bob's echo: bob retrieves it, then it is revoked
# and refused.
keyid=$(docex_exec alice cryptgate request -f /etc/cryptgate/host.conf \
    --peer bob --service echo -o /root/probe.cfg 2>&1 |
    sed -n 's/^key id: //p')
if [ -n "$keyid" ]; then
	ok "alice gets a new key for bob's echo ($keyid)"
else
	fail "alice gets a new key for bob's echo"
fi
# denied DESC CMD...: CMD fails, and the KDC's answer was DENIED.
denied() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		fail "$desc (it succeeded)"
	elif printf '%s' "$out" | grep -q '(DENIED)'; then
		ok "$desc"
	else
		fail "$desc"
		printf '%s\n' "$out" | sed 's/^/#   /'
	fi
}
retrieve() {
	docex_exec bob cryptgate retrieve -f /etc/cryptgate/host.conf \
	    --key-id "$keyid" --client-addr 192.0.2.21 --service echo \
	    -o /root/probe.cfg
}
check "bob retrieves it for alice's address" retrieve
check "the administrator revokes it" \
    docex_exec kdc cryptgate kdc key revoke -f "$KDCCONF" "$keyid"
denied "the revoked key is refused to bob (DENIED)" retrieve

# Revoked carol.
denied "revoked carol gets DENIED for a new key" \
    docex_exec carol cryptgate request -f /etc/cryptgate/host.conf \
    --peer bob --service echo -o /root/probe.cfg
n=$(docex_exec bob cryptgate status -r -f /etc/cryptgate/gateway.conf 2>&1 |
    sed -n 's/^service=echo .*hs_unknown_identity=\([0-9]*\).*/\1/p')
if [ "${n:-0}" -ge 1 ]; then
	ok "bob's gateway refused carol's revoked key (hs_unknown_identity=$n)"
else
	fail "bob's gateway refused carol's revoked key (hs_unknown_identity=${n:-?})"
fi

# The restored database, and a tampered copy.
out=$(docex_exec kdc cryptgate kdc audit verify -f "$KDCCONF" 2>&1)
if printf '%s' "$out" | grep -q '^audit chain OK: [0-9]* records'; then
	ok "the restored database verifies its audit chain ($out)"
else
	fail "the restored database verifies its audit chain"
	printf '%s\n' "$out" | sed 's/^/#   /'
fi
check "the restored database still has carol revoked" \
    docex_exec kdc sh -c "cryptgate kdc host list -f $KDCCONF |
        grep -q '^carol .* revoked '"
tamper='set -e
umask 077
sqlite3 /var/lib/cryptgate/kdc.db ".backup /root/tampered.db"
sqlite3 /root/tampered.db "DROP TRIGGER audit_no_update;
    UPDATE audit SET detail = '\''edited'\'' WHERE seq = 3;"
sed "s|^database = .*|database = /root/tampered.db|" /etc/cryptgate/kdc.conf >/root/tampered.conf
cryptgate kdc audit verify -f /root/tampered.conf'
out=$(docex_exec kdc bash -c "$tamper" 2>&1)
rc=$?
if [ $rc -eq 1 ] && printf '%s' "$out" | grep -q 'audit chain BROKEN at record 3'; then
	ok "a copy with audit record 3 edited fails audit verify at record 3"
else
	fail "a copy with audit record 3 edited fails audit verify at record 3 (exit $rc)"
	printf '%s\n' "$out" | sed 's/^/#   /'
fi

docex_teardown
done_testing
