#!/usr/bin/env bash
# 54-ftp: FTP through the gateway pair (protocol = ftp), with real
# programs on loopback:
#   FTP client (bound to 127.0.0.5, or ::1) -> client gateway
#   127.0.0.1:PC and [::1]:PC -> server gateway 127.0.0.1:PS -> vsftpd
#   127.0.0.1:PV (anonymous, writable pub/, port_promiscuous=NO and
#   pasv_promiscuous=NO).
# curl, lftp and tnftp in PORT, EPRT, PASV and EPSV (IPv4 client side:
# all but lftp EPRT, which lftp sends only over IPv6; IPv6 client side:
# EPRT and EPSV for the three): a 20 MB upload, a listing, a 20 MB
# download, sha256 equal both ways, and the mode the client really used
# (clients fall back silently: curl EPRT -> PORT, EPSV -> PASV, lftp
# active -> passive).  First a bypass sanity check: through a plain socat
# relay from 127.0.0.5, PORT and PASV fail (so a data connection that
# bypasses the gateways cannot pass here by accident).  Then one pair that
# gets its key from a KDC.  Loopback only; every process is ours.
# CG_KEEP=DIR keeps the test directory; FTP_SIZE=N changes the 20 MB.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gw-lib.sh"
. "$(dirname "$0")/ftp-lib.sh"

T=$TMPDIR_T
[ -n "${CG_KEEP:-}" ] && cleanup_cmd "rm -rf $CG_KEEP; cp -r $T $CG_KEEP"
GW=$CG_GATEWAYD
SIZE=${FTP_SIZE:-20000000}
CB=127.0.0.5

if [ ! -x "$GW" ] || [ ! -x "$CG" ]; then
	fail "cryptgate-gatewayd and cryptgate are built ($BUILD)"
	done_testing
fi
for p in vsftpd curl lftp tnftp socat ss; do
	command -v "$p" >/dev/null || PATH=$PATH:/usr/sbin
	if ! command -v "$p" >/dev/null; then
		fail "$p is installed (mk/deps.sh)"
		done_testing
	fi
done
if ! is_root; then
	skip "FTP through the gateways" "vsftpd needs root"
	done_testing
fi
if ! id ftp >/dev/null 2>&1; then
	fail "vsftpd's anonymous sessions need the user ftp (package vsftpd makes it)"
	done_testing
fi


PV=$(free_port) && PS=$(free_port) && PC=$(free_port) && PR=$(free_port) &&
    P1=$(free_port) ||
    { fail "free ports"; done_testing; }
if ftp_vsftpd_start v4 "$PV"; then
	ok "vsftpd on 127.0.0.1:$PV (anonymous, writable pub/)"
else
	fail "vsftpd starts"
	show "$T/v4/vsftpd.out"
	done_testing
fi
head -c "$SIZE" /dev/urandom >"$T/up"
head -c "$SIZE" /dev/urandom >"$T/down"
ftp_put_file v4 "$T/down" down.bin
UPSHA=$(sha "$T/up")
DOWNSHA=$(sha "$T/down")

# --- bypass sanity: a plain relay on the control port only ---------------
socat "TCP-LISTEN:$PR,bind=127.0.0.1,reuseaddr,fork" "TCP:127.0.0.1:$PV" \
    2>"$T/relay.err" &
RELAY=$!
cleanup_pid "$RELAY"
wait_listen "$RELAY" "$PR"
FTP_TIMEOUT=20 ftp_run curl PORT 127.0.0.1 "$PR" "$CB" "$T/up" relay-port \
    down.bin "$T/r-port" "$T/r-port.log"
rc1=$?
FTP_TIMEOUT=20 ftp_run curl PASV 127.0.0.1 "$PR" "$CB" "$T/up" relay-pasv \
    down.bin "$T/r-pasv" "$T/r-pasv.log"
rc2=$?
if [ $rc1 != 0 ] && grep -q '500 Illegal PORT command' "$T/r-port.log" &&
    [ $rc2 != 0 ] && grep -q '425 Security: Bad IP connecting' "$T/r-pasv.log" &&
    [ ! -s "$T/v4/root/pub/relay-port" ] && [ ! -s "$T/v4/root/pub/relay-pasv" ]; then
	ok "bypass check: through a plain relay from $CB, PORT gets 500 Illegal PORT and PASV 425 Bad IP"
else
	fail "bypass check: a plain relay did not fail (PORT rc $rc1, PASV rc $rc2)"
	show "$T/r-port.log" "$T/r-pasv.log"
fi
kill "$RELAY" 2>/dev/null
wait "$RELAY" 2>/dev/null

# --- the gateway pair, key_file ------------------------------------------
ID=kdc1-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
KEY=$(hexkey)
printf '%s:%s\n' "$ID" "$KEY" >"$T/key.cfg"
printf 'other-id:%s\n%s:%s\n' "$(hexkey)" "$ID" "$KEY" >"$T/srvkeys.cfg"
chmod 600 "$T"/*.cfg
cat >"$T/srv.conf" <<EOF
[gateway]
workers = 2
status_socket = $T/srv.sock
[service ftp]
role = server
protocol = ftp
listen = 127.0.0.1:$PS
backend = 127.0.0.1:$PV
key_file = srvkeys.cfg
EOF
cat >"$T/cli.conf" <<EOF
[gateway]
workers = 2
status_socket = $T/cli.sock
[service ftp]
role = client
protocol = ftp
listen = 127.0.0.1:$PC [::1]:$PC
connect = 127.0.0.1:$PS
key_file = key.cfg
key_identity = $ID
[service ftp1]
role = client
protocol = ftp
listen = 127.0.0.1:$P1
connect = 127.0.0.1:$PS
key_file = key.cfg
key_identity = $ID
max_connections_per_client = 1
EOF
if out=$("$GW" -n -f "$T/srv.conf" 2>&1) &&
    out=$("$GW" -n -f "$T/cli.conf" 2>&1); then
	ok "gatewayd -n accepts protocol = ftp (server and client roles)"
else
	fail "gatewayd -n refuses protocol = ftp"
	printf '%s\n' "$out" | head -5 | sed 's/^/#   /'
	done_testing
fi
if gw_start srv "$PS" && gw_start cli "$PC"; then
	ok "server and client FTP gateways start"
else
	fail "FTP gateways start"
	show "$T/srv.log" "$T/cli.log"
	done_testing
fi

# case CLIENT MODE HOST BIND: one run through the pair, checked.
n_case=0
case_() {
	local cl=$1 mode=$2 host=$3 bind=$4 tag as rc used got_up got_down \
	    t0 t1 why=
	local attempt
	n_case=$((n_case + 1))
	tag=$cl-$mode-${host//:/}
	as=up-$tag
	# A second attempt only after a failure, which is reported with its
	# protocol log (seen once in ~45 runs: curl EPRT, the listing step).
	for attempt in 1 2; do
		why=
		t0=$(date +%s.%N)
		ftp_run "$cl" "$mode" "$host" "$PC" "$bind" "$T/up" "$as" \
		    down.bin "$T/o-$tag" "$T/log-$tag"
		rc=$?
		t1=$(date +%s.%N)
		used=$(ftp_modes "$T/log-$tag")
		got_up=$(sha "$T/v4/root/pub/$as" 2>/dev/null)
		got_down=$(sha "$T/o-$tag" 2>/dev/null)
		[ $rc = 0 ] || why="$why client failed;"
		[ "$used" = "$mode" ] || why="$why client used '$used';"
		[ "$got_up" = "$UPSHA" ] || why="$why upload sha256 differs;"
		[ "$got_down" = "$DOWNSHA" ] ||
		    why="$why download sha256 differs;"
		grep -q 'down\.bin' "$T/o-$tag.list" 2>/dev/null ||
		    why="$why listing lacks down.bin;"
		[ -z "$why" ] && break
		if [ $attempt = 1 ]; then
			diag "$cl $mode from $bind to $host:$PC: first attempt failed:$why; its log:"
			grep -E '^(< |> |---> |<--- |[0-9][0-9][0-9][ -]|\* )' \
			    "$T/log-$tag" | tail -25 | sed 's/^/#     /'
			tail -5 "$T/cli.log" "$T/srv.log" | sed 's/^/#     /'
			rm -f "$T/o-$tag" "$T/o-$tag.list" "$T/v4/root/pub/$as"
		fi
	done
	if [ -z "$why" ]; then
		ok "$cl $mode from $bind to $host:$PC: upload, list, download of $((SIZE / 1000000)) MB, sha256 equal, client used $mode ($(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s$([ $attempt = 2 ] && echo ', second attempt'))"
	else
		fail "$cl $mode from $bind to $host:$PC:$why"
		grep -E '^(< |> |---> |<--- |[0-9][0-9][0-9][ -])' "$T/log-$tag" |
		    grep -vE '^(< |<--- )?[0-9]{3}-' | tail -12 | sed 's/^/#   /'
	fi
	rm -f "$T/o-$tag" "$T/v4/root/pub/$as"
}

for cl in curl lftp tnftp; do
	for mode in PORT EPRT PASV EPSV; do
		# lftp sends EPRT only over IPv6 (below).
		[ "$cl:$mode" = lftp:EPRT ] && continue
		case_ "$cl" "$mode" 127.0.0.1 "$CB"
	done
done
for cl in curl lftp tnftp; do
	for mode in EPRT EPSV; do
		case_ "$cl" "$mode" ::1 ::1
	done
done

# --- one connection per client: data connections do not count -----------------
curl -sS --max-time 60 --interface "$CB" --epsv -o "$T/one.out" \
    "ftp://127.0.0.1:$P1/pub/down.bin" >"$T/one.log" 2>&1
if [ "$(sha "$T/one.out" 2>/dev/null)" = "$DOWNSHA" ]; then
	ok "max_connections_per_client = 1: a download works (its data connection is not counted per client)"
else
	fail "max_connections_per_client = 1 blocks the data connection"
	tail -5 "$T/one.log" | sed 's/^/#   /'
fi

# --- REST, APPE, STOU pass through --------------------------------------------
# REST: curl resumes a download from a partial copy; APPE: curl appends to
# an upload; STOU: tnftp's "sunique" stores under a name the server picks.
head -c 7000000 "$T/v4/root/pub/down.bin" >"$T/rest.out"
curl -sS -v --max-time 60 --interface "$CB" --epsv -C - -o "$T/rest.out" \
    "ftp://127.0.0.1:$PC/pub/down.bin" >"$T/rest.log" 2>&1
if grep -q '^> REST 7000000' "$T/rest.log" &&
    [ "$(sha "$T/rest.out")" = "$DOWNSHA" ]; then
	ok "REST: curl resumes at 7000000 through the gateways, sha256 equal"
else
	fail "REST resume"
	grep -E '^[<>] ' "$T/rest.log" | tail -8 | sed 's/^/#   /'
fi
head -c 3000000 "$T/up" >"$T/app1"
tail -c +3000001 "$T/up" >"$T/app2"
curl -sS --max-time 60 --interface "$CB" --epsv -T "$T/app1" \
    "ftp://127.0.0.1:$PC/pub/app.bin" >"$T/appe.log" 2>&1
curl -sS -v --max-time 60 --interface "$CB" --ftp-port "$CB" -a -T "$T/app2" \
    "ftp://127.0.0.1:$PC/pub/app.bin" >>"$T/appe.log" 2>&1
if grep -q '^> APPE app.bin' "$T/appe.log" &&
    [ "$(sha "$T/v4/root/pub/app.bin" 2>/dev/null)" = "$UPSHA" ]; then
	ok "APPE: an upload appended in active mode makes the whole file, sha256 equal"
else
	fail "APPE"
	grep -E '^[<>] ' "$T/appe.log" | tail -8 | sed 's/^/#   /'
fi
rm -f "$T/v4/root/pub/app.bin"
printf 'user anonymous x\nbinary\npassive on\nsunique\ncd pub\nput %s stou.bin\nquit\n' \
    "$T/app1" | (cd "$T" && timeout -k 5 60 tnftp -i -n -v -d -s "$CB" \
    127.0.0.1 "$PC") >"$T/stou.log" 2>&1
stou=$(ls "$T/v4/root/pub/" | grep '^stou\.bin' | head -1)
if grep -q '^---> STOU' "$T/stou.log" && [ -n "$stou" ] &&
    [ "$(sha "$T/v4/root/pub/$stou")" = "$(sha "$T/app1")" ]; then
	ok "STOU: tnftp's unique store passes through (server named it $stou), sha256 equal"
else
	fail "STOU (stored as '$stou')"
	grep -E '^(---> |[0-9]{3} )' "$T/stou.log" | tail -8 | sed 's/^/#   /'
fi
rm -f "$T/v4/root/pub/$stou"

clients=$(ftp_server_clients v4)
if [ "$clients" = 127.0.0.1 ]; then
	ok "vsftpd saw only the server gateway (127.0.0.1), never $CB"
else
	fail "vsftpd saw clients '$clients'"
fi
diag "commands vsftpd got for data connections: $(ftp_server_modes v4)"
diag "server gateway: $("$CG" status -r -f "$T/srv.conf" 2>/dev/null | grep '^service=' | head -1)"
diag "client gateway: $("$CG" status -r -f "$T/cli.conf" 2>/dev/null | grep '^service=' | head -1)"
if [ "$(ftp_vsftpd_sessions v4)" = 0 ]; then
	ok "every FTP session ended (no vsftpd session process left)"
else
	sleep 1
	[ "$(ftp_vsftpd_sessions v4)" = 0 ] && ok "every FTP session ended" ||
	    fail "vsftpd session processes left: $(ftp_vsftpd_sessions v4)"
fi

if gw_stop cli && gw_stop srv; then
	ok "FTP gateways exit 0 on SIGTERM"
else
	fail "FTP gateways exit status"
fi
for f in srv cli; do
	if grep -qE 'Sanitizer|runtime error' "$T/$f.log"; then
		fail "sanitizer report in the $f gateway log"
		grep -E -A5 'Sanitizer|runtime error' "$T/$f.log" | head -20 |
		    sed 's/^/#   /'
	fi
done

# --- the pair with keys from a KDC ----------------------------------------
if [ ! -x "$CG_KDCD" ]; then
	fail "cryptgate-kdcd is built"
	done_testing
fi
gw_kdc_setup
KS=$(free_port) && KC=$(free_port) || { fail "free ports"; done_testing; }
cat >"$T/bob.conf" <<EOF
[gateway]
host_config = bob/bob.conf
workers = 1
status_socket = $T/bob.sock
[service web]
role = server
protocol = ftp
listen = 127.0.0.1:$KS
backend = 127.0.0.1:$PV
peer = $ALICE
EOF
cat >"$T/alice.conf" <<EOF
[gateway]
host_config = alice/alice.conf
workers = 1
status_socket = $T/alice.sock
[service web]
role = client
protocol = ftp
listen = 127.0.0.1:$KC
connect = 127.0.0.1:$KS
peer = bob
EOF
if ! $setup_ok || ! gw_start bob "$KS" || ! gw_start alice "$KC"; then
	fail "KDC, hosts alice and bob, FTP gateways with KDC keys"
	show "$K/init.out" "$K/kdcd.log" "$T/bob.log" "$T/alice.log"
	done_testing
fi
ok "KDC and FTP gateways with keys from it start"
PC=$KC
case_ curl EPSV 127.0.0.1 "$CB"
case_ lftp PORT 127.0.0.1 "$CB"
if gw_stop alice && gw_stop bob; then
	ok "KDC FTP gateways exit 0 on SIGTERM"
else
	fail "KDC FTP gateways exit status"
fi
for f in bob alice; do
	if grep -qE 'Sanitizer|runtime error' "$T/$f.log"; then
		fail "sanitizer report in the $f gateway log"
		grep -E -A5 'Sanitizer|runtime error' "$T/$f.log" | head -20 |
		    sed 's/^/#   /'
	fi
done

done_testing
