#!/usr/bin/env bash
# 55-ftp-hostile: hostile FTP clients and servers against the gateway pair
# (protocol = ftp), with vsftpd, a fake FTP server (ftpevil.pl) and a
# scripted control session (ftpctl.pl) on loopback.  The FTP client side
# is 127.0.0.5, the "third host" 127.0.0.9.
#   - bounce: PORT/EPRT naming 127.0.0.9 or 127.0.0.1 (the server host's
#     loopback, which vsftpd trusts behind a gateway): 5xx, nothing
#     connects; ports < 1024 and bad numbers: 5xx; the session goes on;
#   - hijack: 127.0.0.9 connects to the advertised passive port first
#     (PASV and EPSV): it gets nothing, the real client gets the file;
#   - garbage and a 100 KB control line: that session ends, the gateways
#     keep serving others;
#   - a PASV storm (1,000 sequential PASV, then 200 pipelined EPSV) on one
#     session: bounded listeners, descriptors back to where they were;
#   - a malicious server's 227 naming 127.0.0.9: nobody connects there;
#   - LPRT, LPSV, AUTH TLS/SSL: refused by the gateway, never forwarded;
#   - the wire between the gateways (tcpdump -i lo) never carries a marker
#     string of the transferred file (the plaintext legs do);
#   - the server gateway killed (-9) mid-download: the client sees a reset
#     on the data connection, not a clean end; curl reports an error.
# Loopback only; every process is ours.  CG_KEEP=DIR keeps the test dir.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/gw-lib.sh"
. "$(dirname "$0")/ftp-lib.sh"

T=$TMPDIR_T
[ -n "${CG_KEEP:-}" ] && cleanup_cmd "rm -rf $CG_KEEP; cp -r $T $CG_KEEP"
GW=$CG_GATEWAYD
GW_VERBOSE="-v -v"
CTL=$SRCDIR/tests/integration/ftpctl.pl
EVIL=$SRCDIR/tests/integration/ftpevil.pl
CB=127.0.0.5
export FTPCTL_T=10

if [ ! -x "$GW" ] || [ ! -x "$CG" ]; then
	fail "cryptgate-gatewayd and cryptgate are built ($BUILD)"
	done_testing
fi
PATH=$PATH:/usr/sbin:/sbin
for p in vsftpd curl perl tcpdump ss; do
	if ! command -v "$p" >/dev/null; then
		fail "$p is installed (mk/deps.sh)"
		done_testing
	fi
done
if ! is_root; then
	skip "hostile FTP" "vsftpd and tcpdump need root"
	done_testing
fi
if ! id ftp >/dev/null 2>&1; then
	fail "vsftpd's anonymous sessions need the user ftp (package vsftpd makes it)"
	done_testing
fi

nfd() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
# field GW NAME: a counter of the gateway GW (srv, cli) from its status.
field() {
	"$CG" status -r -f "$T/$1.conf" 2>/dev/null | tr ' ' '\n' |
	    sed -n "s/^$2=//p" | head -1
}
# nlisten PID: TCP listeners of process PID.
nlisten() { ss -Hltnp 2>/dev/null | grep -c "pid=$1,"; }
alive() { kill -0 "$PID_srv" 2>/dev/null && kill -0 "$PID_cli" 2>/dev/null; }
# ctl NAME [PORT]: run the script $T/NAME.s from $CB through the client
# gateway's ftp service (or PORT); output in $T/NAME.out.
ctl() {
	timeout 120 perl "$CTL" "$CB" 127.0.0.1 "${2:-$PC}" "$T/$1.s" \
	    >"$T/$1.out" 2>&1
}
# replies NAME: the reply lines of $T/NAME.out (greeting excluded).
replies() { grep '^REPLY' "$T/$1.out" | tail -n +2; }
# served: a fresh curl session through the ftp service works (EPSV list).
served() {
	curl -sS --max-time 20 --interface "$CB" --epsv \
	    "ftp://127.0.0.1:$PC/pub/" 2>/dev/null | grep -q down.bin
}

PV=$(free_port) && PV3=$(free_port) && PS=$(free_port) && PC=$(free_port) &&
    PS3=$(free_port) && PC3=$(free_port) && PSE=$(free_port) &&
    PCE=$(free_port) || { fail "free ports"; done_testing; }
if ftp_vsftpd_start v4 "$PV" && ftp_vsftpd_start v3 "$PV3" 127.0.0.3; then
	ok "vsftpd on 127.0.0.1:$PV and 127.0.0.3:$PV3"
else
	fail "vsftpd starts"
	show "$T/v4/vsftpd.out" "$T/v3/vsftpd.out"
	done_testing
fi
perl "$EVIL" "$T/evil.log" >"$T/evil.port" 2>"$T/evil.err" &
cleanup_pid $!
for _ in $(seq 1 50); do
	[ -s "$T/evil.port" ] && break
	sleep 0.1
done
PEVIL=$(head -1 "$T/evil.port")
head -c 20000000 /dev/urandom >"$T/down"
ftp_put_file v4 "$T/down" down.bin
DOWNSHA=$(sha "$T/down")
# The marker file: a known string repeated, for the capture.
MARK=CGFTPMARK$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
for _ in $(seq 1 100); do printf '%s-%05d\n' "$MARK" "$RANDOM"; done >"$T/mark1"
for _ in $(seq 1 2000); do cat "$T/mark1"; done >"$T/mark"
ftp_put_file v3 "$T/mark" mark.bin

ID=kdc1-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
KEY=$(hexkey)
printf '%s:%s\n' "$ID" "$KEY" >"$T/key.cfg"
chmod 600 "$T/key.cfg"
cat >"$T/srv.conf" <<EOF
[gateway]
workers = 2
status_socket = $T/srv.sock
[service ftp]
role = server
protocol = ftp
listen = 127.0.0.1:$PS
backend = 127.0.0.1:$PV
key_file = key.cfg
[service cap]
role = server
protocol = ftp
listen = 127.0.0.1:$PS3
backend = 127.0.0.3:$PV3
key_file = key.cfg
[service evil]
role = server
protocol = ftp
listen = 127.0.0.1:$PSE
backend = 127.0.0.1:$PEVIL
key_file = key.cfg
EOF
cat >"$T/cli.conf" <<EOF
[gateway]
workers = 2
status_socket = $T/cli.sock
[service ftp]
role = client
protocol = ftp
listen = 127.0.0.1:$PC
connect = 127.0.0.1:$PS
key_file = key.cfg
ftp_data_timeout = 4s
[service cap]
role = client
protocol = ftp
listen = 127.0.0.1:$PC3
connect = 127.0.0.1:$PS3
key_file = key.cfg
[service evil]
role = client
protocol = ftp
listen = 127.0.0.1:$PCE
connect = 127.0.0.1:$PSE
key_file = key.cfg
EOF
if [ -n "$PEVIL" ] && gw_start srv "$PS" && gw_start cli "$PC"; then
	ok "FTP gateways (services ftp, cap, evil) and the fake server start"
else
	fail "FTP gateways start"
	show "$T/srv.log" "$T/cli.log" "$T/evil.err"
	done_testing
fi
if served; then
	ok "baseline: a listing through the gateways from $CB"
else
	fail "baseline listing through the gateways"
	show "$T/srv.log" "$T/cli.log"
fi
FD_SRV=$(nfd "$PID_srv")
FD_CLI=$(nfd "$PID_cli")
LS_SRV=$(nlisten "$PID_srv")
LS_CLI=$(nlisten "$PID_cli")

# --- bounce ----------------------------------------------------------------
cat >"$T/bounce.s" <<EOF
> USER anonymous
> TYPE I
listen b9 127.0.0.9
listen b1 127.0.0.1
port b9
eprt b9
port b1
eprt b1
portto 127.0.0.5 21
eprtto 127.0.0.5 1023
> PORT 127,0,0,5,300,1
> PORT 127,0,0,256,100,1
> PORT 127,0,0,5,0,0
> EPRT |1|127.0.0.5|70000|
> EPRT |3|127.0.0.5|30000|
> EPRT |2|::1|30000|
> LIST pub
accept b9 1
accept b1 1
listen ok $CB
port ok
> LIST pub
accept ok 5
read ok $T/bounce.list 5
reply
> QUIT
EOF
ctl bounce
nrefused=$(replies bounce | sed -n 3,14p | grep -c '^REPLY 5')
if [ "$nrefused" = 12 ] && grep -q '^ACCEPT b9 timeout' "$T/bounce.out" &&
    grep -q '^ACCEPT b1 timeout' "$T/bounce.out" &&
    ! grep -qE 'FTP command: .*"(PORT|EPRT) .*(127,0,0,9|127\.0\.0\.9|,0,21"|\|1023\|)' \
    "$T/v4/vsftpd.log"; then
	ok "bounce: PORT/EPRT to 127.0.0.9 or 127.0.0.1, ports < 1024, bad numbers and families: 12 x 5xx, nothing connects"
else
	fail "bounce: $nrefused of 12 refused with 5xx"
	sed 's/^/#   /' "$T/bounce.out" | head -30
fi
if grep -q '^ACCEPT ok ok' "$T/bounce.out" && grep -q down.bin "$T/bounce.list"; then
	ok "after the refusals the session goes on: PORT to the client itself, LIST arrives"
else
	fail "session after the bounce attempts"
	sed 's/^/#   /' "$T/bounce.out" | tail -8
fi

# --- hijack on a passive data port ------------------------------------------
for v in PASV EPSV; do
	cat >"$T/hijack-$v.s" <<EOF
> USER anonymous
> TYPE I
> $v
connect thief 127.0.0.9
sleep 0.3
connect real $CB
> RETR pub/down.bin
read real $T/hijack-$v.real 20
reply
read thief $T/hijack-$v.thief 2
> QUIT
EOF
	ctl "hijack-$v"
	got=$(sha "$T/hijack-$v.real" 2>/dev/null)
	if [ "$got" = "$DOWNSHA" ] &&
	    grep -q '^DATA thief bytes=0 ' "$T/hijack-$v.out" &&
	    grep -q '^REPLY 226' "$T/hijack-$v.out"; then
		ok "hijack ($v): 127.0.0.9 on the passive port first gets nothing ($(grep '^CONNECT thief' "$T/hijack-$v.out" | cut -d' ' -f3)); the real client gets the 20 MB file"
	else
		fail "hijack ($v)"
		sed 's/^/#   /' "$T/hijack-$v.out" | head -20
	fi
done

# --- a data listener times out (ftp_data_timeout = 4s on the client side) ------
cat >"$T/lto.s" <<EOF
> USER anonymous
> TYPE I
> PASV
sleep 5.5
connect late $CB
> PASV
connect d $CB
> RETR pub/down.bin
read d $T/lto.data 20
reply
> QUIT
EOF
ctl lto
if grep -q '^CONNECT late fail' "$T/lto.out" &&
    [ "$(sha "$T/lto.data" 2>/dev/null)" = "$DOWNSHA" ]; then
	ok "a passive data listener is gone after ftp_data_timeout (a connection 5.5 s later is refused); the next PASV works"
else
	fail "data listener timeout"
	sed 's/^/#   /' "$T/lto.out" | head -12
fi

# --- a data connection without this session's key ----------------------------
# From the right address (the client gateway's, 127.0.0.1) to the server
# gateway's passive data port, but with another key: the handshake fails,
# and the listener keeps waiting for the real one, which gets the file.
cat >"$T/bind.s" <<EOF
> USER anonymous
> TYPE I
> PASV
touch $T/bind.go
waitfile $T/bind.done
connect real $CB
> RETR pub/down.bin
read real $T/bind.real 20
reply
> QUIT
EOF
rm -f "$T/bind.go" "$T/bind.done"
bad0=$(field srv hs_bad_psk)
ctl bind &
bindpid=$!
for _ in $(seq 1 100); do
	[ -e "$T/bind.go" ] && break
	sleep 0.1
done
bport=$(sed -n 's/.*FTP data listener on port \([0-9]*\) (passive, from the other gateway).*/\1/p' \
    "$T/srv.log" | tail -1)
bout=$(echo x | timeout 10 openssl s_client -connect "127.0.0.1:$bport" \
    -tls1_3 -ciphersuites TLS_AES_128_GCM_SHA256 \
    -psk_identity cryptgate-ftp-data -psk "$(hexkey)" -quiet 2>&1)
touch "$T/bind.done"
wait $bindpid
bad1=$(field srv hs_bad_psk)
if [ -n "$bport" ] && [ "$(sha "$T/bind.real" 2>/dev/null)" = "$DOWNSHA" ] &&
    [ "$bad1" -gt "$bad0" ] && grep -q '^REPLY 226' "$T/bind.out"; then
	ok "a data connection to the server gateway's passive port (127.0.0.1:$bport) with another key: refused (hs_bad_psk $bad0 -> $bad1), the real one gets the 20 MB file"
else
	fail "data connection with another key: port '$bport', hs_bad_psk $bad0 -> $bad1"
	echo "$bout" | sed 's/^/#   /' | head -5
	sed 's/^/#   /' "$T/bind.out" | head -12
fi

# --- ABOR during a transfer: the urgent Telnet Synch reaches vsftpd -----------
# The client stops reading the data connection, so vsftpd is stuck in its
# write: it sees ABOR only through SIGURG (async_abor_enable), i.e. only if
# the server-side gateway sends the urgent byte again.
cat >"$T/abor.s" <<EOF
> USER anonymous
> TYPE I
> PASV
connect d $CB
> RETR pub/down.bin
sleep 1
abor
> NOOP
> QUIT
EOF
FTPCTL_T=8 ctl abor
if grep -qE '^ABOR (426 226|225|226)' "$T/abor.out" &&
    grep -q '^REPLY 200' "$T/abor.out"; then
	ok "ABOR during a stalled download: $(grep '^ABOR' "$T/abor.out") (the urgent byte crossed the gateways), the session goes on"
else
	fail "ABOR during a transfer"
	sed 's/^/#   /' "$T/abor.out" | head -12
fi

# --- garbage and a 100 KB line ----------------------------------------------
head -c 65536 /dev/urandom >"$T/garbage"
printf 'USER anonymous\r\n' >"$T/long"
head -c 100000 /dev/zero | tr '\0' 'A' >>"$T/long"
printf '\r\nNOOP\r\n' >>"$T/long"
printf 'send %s\nend 10\n' "$T/garbage" >"$T/garbage.s"
printf 'send %s\nend 10\n' "$T/long" >"$T/long.s"
ctl garbage
ctl long
if alive && served; then
	ok "64 KB of random bytes on a control connection: the gateways live and serve others ($(grep '^END' "$T/garbage.out"))"
else
	fail "garbage: gateways dead or not serving"
	show "$T/srv.log" "$T/cli.log"
fi
# The 500 comes after the replies before it (USER's 230) and is not lost
# to a reset: the session ends with a clean end of stream.
if grep -q '^LINE 230 ' "$T/long.out" &&
    grep -A1 '^LINE 230 ' "$T/long.out" | grep -q '^LINE 500 ' &&
    grep -qE '^END eof' "$T/long.out" && alive && served; then
	ok "a 100 KB control line: 500 in its turn, then a clean end ($(grep -E '^(LINE 500|END)' "$T/long.out" | tr '\n' ' ')), the gateways serve others"
else
	fail "100 KB line: session not closed or gateways not serving"
	sed 's/^/#   /' "$T/long.out" | head -8
fi

# --- PASV storm ------------------------------------------------------------
cat >"$T/storm.s" <<EOF
> USER anonymous
storm 1000 PASV
touch $T/storm.mid
waitfile $T/storm.go
burst 200 EPSV
connect d $CB
> LIST pub
read d $T/storm.list 5
reply
> QUIT
EOF
rm -f "$T/storm.mid" "$T/storm.go"
ctl storm &
storm=$!
for _ in $(seq 1 1200); do
	[ -e "$T/storm.mid" ] && break
	kill -0 $storm 2>/dev/null || break
	sleep 0.1
done
mid_ls_srv=$(nlisten "$PID_srv")
mid_ls_cli=$(nlisten "$PID_cli")
mid_fd_srv=$(nfd "$PID_srv")
mid_fd_cli=$(nfd "$PID_cli")
touch "$T/storm.go"
wait $storm
back() {
	[ "$(nfd "$PID_srv")" -le "$FD_SRV" ] && [ "$(nfd "$PID_cli")" -le "$FD_CLI" ]
}
for _ in $(seq 1 50); do
	back && break
	sleep 0.1
done
diag "PASV storm: listeners (service listeners $LS_SRV/$LS_CLI) during: server gw $mid_ls_srv, client gw $mid_ls_cli; fds before $FD_SRV/$FD_CLI, during $mid_fd_srv/$mid_fd_cli, after $(nfd "$PID_srv")/$(nfd "$PID_cli")"
if grep -q '^STORM ok=1000 other=0' "$T/storm.out" &&
    [ "$mid_ls_srv" -le $((LS_SRV + 2)) ] && [ "$mid_ls_cli" -le $((LS_CLI + 2)) ] &&
    [ "$mid_fd_srv" -le $((FD_SRV + 8)) ] && [ "$mid_fd_cli" -le $((FD_CLI + 8)) ]; then
	ok "1,000 PASV on one session: each answered 227, at most 2 data listeners per gateway at any time"
else
	fail "PASV storm: $(grep '^STORM' "$T/storm.out" | head -1); listeners $mid_ls_srv/$mid_ls_cli (service $LS_SRV/$LS_CLI), fds $mid_fd_srv/$mid_fd_cli (before $FD_SRV/$FD_CLI)"
fi
if grep -q '^STORM ok=200 other=0' "$T/storm.out" && grep -q down.bin "$T/storm.list"; then
	ok "then 200 pipelined EPSV: 200 x 229, and the last one carries a LIST"
else
	fail "pipelined EPSV: $(grep '^STORM' "$T/storm.out" | tail -1), $(grep -E '^(CONNECT|DATA)' "$T/storm.out" | tr '\n' ' ')"
fi
if alive && back; then
	ok "after the storm: gateways alive, descriptors back ($(nfd "$PID_srv")/$(nfd "$PID_cli"), before $FD_SRV/$FD_CLI)"
else
	fail "after the storm: fds $(nfd "$PID_srv")/$(nfd "$PID_cli"), before $FD_SRV/$FD_CLI"
fi

# --- a malicious server's 227 ---------------------------------------------------
cat >"$T/evil.s" <<EOF
> USER anonymous
> PASV
connect d $CB
> LIST
read d $T/evil.list 5
reply
> QUIT
EOF
ctl evil "$PCE"
sleep 0.5
a227=$(grep '^REPLY 227' "$T/evil.out" | grep -oE '[0-9]+,[0-9]+,[0-9]+,[0-9]+,[0-9]+,[0-9]+' |
    cut -d, -f1-4)
if [ -n "$a227" ] && [ "$a227" != 127,0,0,9 ] && ! grep -q TRAPPED "$T/evil.log"; then
	ok "a server's 227 naming 127.0.0.9: no gateway connects there; the client's 227 names $a227"
else
	fail "malicious 227: client saw '$a227', trap: $(grep -c TRAPPED "$T/evil.log")"
	sed 's/^/#   /' "$T/evil.out" | head -10
fi
diag "malicious 227: data from the control peer instead: $(grep -c '^DATA' "$T/evil.log") connection(s), listing '$(tr -d '\r\n' <"$T/evil.list" 2>/dev/null)'"

# --- an unsolicited 227, and commands hidden by Telnet bytes ------------------
# The fake server answers PWD with 257 and then a 227 that answers nothing:
# the client must not see its numbers.  Commands with a Telnet command
# inside ("P<IAC NOP>ORT": servers that strip Telnet sequences see PORT) or
# white space before the verb must not pass unchecked.
{
	echo "> USER anonymous"
	echo "> PWD"
	echo "reply"
	printf '> P\377\361ORT 127,0,0,1,100,100\n'
	printf '> \tPORT 127,0,0,9,100,100\n'
	printf '> E\377\361PSV ALL\n'
	echo "> QUIT"
} >"$T/unsol.s"
: >"$T/evil.log.2"
cp "$T/evil.log" "$T/evil.log.0"
ctl unsol "$PCE"
sleep 0.5
tail -n +$(($(wc -l <"$T/evil.log.0") + 1)) "$T/evil.log" >"$T/evil.log.2"
if ! grep -q '127,0,0,9' "$T/unsol.out" &&
    grep -q '^REPLY 227 Passive reply withheld' "$T/unsol.out" &&
    [ "$(grep -c '^REPLY 50[01] ' "$T/unsol.out")" = 3 ] &&
    ! grep -qiE 'ORT|PSV' "$T/evil.log.2"; then
	ok "an unsolicited 227 reaches the client without its numbers; PORT/EPSV hidden by IAC or a TAB are refused (500/501), the server never sees them"
else
	fail "unsolicited 227 / Telnet-hidden commands"
	sed 's/^/#   /' "$T/unsol.out" | head -12
	sed 's/^/#   server: /' "$T/evil.log.2" | head -12
fi

# --- LPRT, LPSV, AUTH ------------------------------------------------------------
cat >"$T/lp.s" <<EOF
> USER anonymous
> LPRT 4,4,127,0,0,5,2,117,48
> LPSV
> AUTH TLS
> AUTH SSL
> lprt 4,4,127,0,0,1,2,117,48
> NOOP
> QUIT
EOF
ctl lp
n5=$(replies lp | sed -n 2,6p | grep -c '^REPLY 5')
if [ "$n5" = 5 ] && replies lp | sed -n 7p | grep -q '^REPLY 200' &&
    ! grep -qiE 'FTP command: [^,]*, "(LPRT|LPSV|AUTH)' "$T/v4/vsftpd.log"; then
	ok "LPRT, LPSV, AUTH TLS/SSL: 5xx from the gateway, never forwarded to the server"
else
	fail "LPRT/LPSV/AUTH: $n5 of 5 refused"
	sed 's/^/#   /' "$T/lp.out"
	grep -iE 'LPRT|LPSV|AUTH' "$T/v4/vsftpd.log" | head -3 | sed 's/^/#   /'
fi

# --- the wire between the gateways --------------------------------------------
# vsftpd "v3" is on 127.0.0.3 and the client on 127.0.0.5: what goes from
# 127.0.0.1 to 127.0.0.1 is between the gateways (and other programs'
# loopback traffic, which has no marker).
tcpdump -i lo -n -U -B 16384 -w "$T/cap.pcap" \
    'tcp and (host 127.0.0.5 or host 127.0.0.3 or (src host 127.0.0.1 and dst host 127.0.0.1))' \
    2>"$T/tcpdump.err" &
TD=$!
cleanup_pid $TD
for _ in $(seq 1 50); do
	grep -q 'listening on' "$T/tcpdump.err" && break
	sleep 0.1
done
caprc=0
for m in EPSV PORT; do
	ftp_run curl "$m" 127.0.0.1 "$PC3" "$CB" "$T/mark" "up-$m" mark.bin \
	    "$T/cap-$m" "$T/cap-$m.log" || caprc=1
	cmp -s "$T/cap-$m" "$T/mark" && cmp -s "$T/v3/root/pub/up-$m" "$T/mark" ||
	    caprc=1
done
sleep 0.5
kill -INT $TD
wait $TD 2>/dev/null
tcpdump -r "$T/cap.pcap" -w "$T/gw.pcap" 'src host 127.0.0.1 and dst host 127.0.0.1' 2>/dev/null
tcpdump -r "$T/cap.pcap" -w "$T/cl.pcap" 'host 127.0.0.5' 2>/dev/null
tcpdump -r "$T/cap.pcap" -w "$T/sv.pcap" 'host 127.0.0.3' 2>/dev/null
in_gw=$(grep -ac "$MARK" "$T/gw.pcap")
in_cl=$(grep -ac "$MARK" "$T/cl.pcap")
in_sv=$(grep -ac "$MARK" "$T/sv.pcap")
gwb=$(stat -c %s "$T/gw.pcap")
msz=$(stat -c %s "$T/mark")
diag "capture: $(grep -E 'captured|dropped' "$T/tcpdump.err" | tr '\n' ' '); marker lines: client leg $in_cl, server leg $in_sv, between the gateways $in_gw ($gwb bytes)"
if [ $caprc = 0 ] && [ "$in_gw" = 0 ] && [ "$in_cl" -gt 1000 ] &&
    [ "$in_sv" -gt 1000 ] && [ "$gwb" -gt $((3 * msz)) ]; then
	ok "tcpdump: the marker is in the plaintext legs, never between the gateways ($((gwb / 1000000)) MB captured there, 4 transfers of $((msz / 1000000)) MB)"
else
	fail "capture: transfers rc $caprc, marker between the gateways $in_gw, client leg $in_cl, server leg $in_sv, $gwb bytes between the gateways"
fi

# --- the server gateway killed mid-download ------------------------------------------
cat >"$T/cut.s" <<EOF
> USER anonymous
> TYPE I
> EPSV
connect d $CB
> RETR pub/down.bin
read d $T/cut.data 10 0.02
EOF
ctl cut &
cut=$!
for _ in $(seq 1 100); do
	[ "$(stat -c %s "$T/cut.data" 2>/dev/null || echo 0)" -gt 1000000 ] && break
	sleep 0.1
done
kill -9 "$PID_srv"
wait "$PID_srv" 2>/dev/null
wait $cut
res=$(grep '^DATA' "$T/cut.out")
if [ "${res##*end=}" = reset ] &&
    [ "$(stat -c %s "$T/cut.data")" -lt 20000000 ]; then
	ok "server gateway killed mid-download: the data connection ends in a reset ($res)"
else
	fail "cut data stream not reported as an error: $res"
	sed 's/^/#   /' "$T/cut.out" | tail -5
fi
if gw_start srv "$PS"; then
	curl -sS --max-time 60 --limit-rate 4M --interface "$CB" --epsv \
	    -o "$T/cut.curl" "ftp://127.0.0.1:$PC/pub/down.bin" 2>"$T/cut.curl.err" &
	cc=$!
	for _ in $(seq 1 100); do
		[ "$(stat -c %s "$T/cut.curl" 2>/dev/null || echo 0)" -gt 1000000 ] && break
		sleep 0.1
	done
	kill -9 "$PID_srv"
	wait "$PID_srv" 2>/dev/null
	wait $cc
	rc=$?
	if [ $rc != 0 ] && [ "$(stat -c %s "$T/cut.curl" 2>/dev/null || echo 0)" -lt 20000000 ]; then
		ok "curl, server gateway killed mid-download: curl reports an error (exit $rc: $(tr -d '\n' <"$T/cut.curl.err" | cut -c1-70))"
	else
		fail "curl after a cut: exit $rc, $(stat -c %s "$T/cut.curl" 2>/dev/null) bytes"
	fi
else
	fail "server gateway restarts"
	show "$T/srv.log"
fi
if kill -0 "$PID_cli" 2>/dev/null; then
	ok "the client gateway survives the server gateway's death"
else
	fail "client gateway died"
fi

for f in srv cli; do
	if grep -qE 'Sanitizer|runtime error' "$T/$f.log"; then
		fail "sanitizer report in the $f gateway log"
		grep -E -A5 'Sanitizer|runtime error' "$T/$f.log" | head -20 |
		    sed 's/^/#   /'
	fi
done
done_testing
