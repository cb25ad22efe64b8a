#!/usr/bin/env bash
# 50-tls-interop: the gateway wire (src/lib/crypto/tls.c, driven through
# tests/helpers/tlspipe) against other TLS 1.3 external-PSK stacks:
# openssl s_client / s_server, stunnel4 (PSKsecrets = key.cfg form) both
# ways, gnutls-cli.  Data both ways (compared), clean close_notify both
# ways, psk_dhe_ke (our side's TLS_OK asserts it; s_client's "Server Temp
# Key" shows the (EC)DHE share), HelloRetryRequest both ways, the
# asynchronous (pending) lookup, and the refusals: wrong key, unknown
# identity, no PSK, psk_ke only, a certificate server.  Loopback only.
# Peers that are not installed are skipped with the reason (mk/deps.sh
# installs stunnel4, socat and gnutls-bin).
. "$(dirname "$0")/lib.sh"

PIPE=$BUILD/tests/helpers/tlspipe
T=$TMPDIR_T
ID=kdc1-00112233445566778899aabbccddeeff
KEY=$(openssl rand -hex 32)
BADKEY=$(openssl rand -hex 32)
STUNNEL=$(command -v stunnel4 || command -v stunnel || true)

if [ ! -x "$PIPE" ]; then
	skip "tls interop" "$PIPE not built (make test-build)"
	done_testing
fi

for i in $(seq 300); do openssl rand -hex 32; done >"$T/up.txt"
for i in $(seq 200); do openssl rand -hex 32; done >"$T/down.txt"
UPLEN=$(stat -c %s "$T/up.txt")
DOWNLEN=$(stat -c %s "$T/down.txt")
printf '%s:%s\n' "$ID" "$KEY" >"$T/key.cfg"
chmod 600 "$T/key.cfg"

# free_port: a TCP port no socket uses, below the ephemeral range (so no
# client connection of this test can hold it when the peer binds).
# wait_port PORT: until something listens there (5 s at most).
wait_port() {
	local i
	for i in $(seq 50); do
		[ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ] && return 0
		sleep 0.1
	done
	return 1
}
# hexlines FILE: the data lines (peers print other lines around them).
hexlines() { grep -E '^[0-9a-f]{64}$' "$1"; }
# show FILE...: put files in the log after a failure.
show() {
	local f
	for f in "$@"; do
		[ -f "$f" ] && sed 's/^/#   /' "$f" | tail -15
	done
}

# pipe_server NAME [tlspipe options]: our server on a free port, stdin
# down.txt, output $T/NAME.out, errors $T/NAME.err; sets SPID, SPORT.
pipe_server() {
	local name=$1 i
	shift
	rm -f "$T/port"
	timeout 20 "$PIPE" server --psk-identity "$ID" --psk "$KEY" \
	    -l 127.0.0.1:0 --port-file "$T/port" "$@" \
	    <"$T/down.txt" >"$T/$name.out" 2>"$T/$name.err" &
	SPID=$!
	cleanup_pid "$SPID"
	for i in $(seq 50); do
		[ -s "$T/port" ] && break
		sleep 0.1
	done
	SPORT=$(cat "$T/port")
}
# pipe_client NAME PORT [options]: our client; stdin up.txt.
pipe_client() {
	local name=$1 port=$2
	shift 2
	timeout 20 "$PIPE" client --psk-identity "$ID" --psk "$KEY" \
	    -c "127.0.0.1:$port" "$@" \
	    <"$T/up.txt" >"$T/$name.out" 2>"$T/$name.err"
}
# s_server NAME PORT [options]: openssl s_server with down.txt to send;
# its stdin is a FIFO held open (s_server closes without close_notify at
# stdin EOF); close_s_server ends it.
s_server() {
	local name=$1 port=$2
	shift 2
	rm -f "$T/fifo"
	mkfifo "$T/fifo"
	timeout 20 openssl s_server -accept "127.0.0.1:$port" -naccept 1 \
	    -tls1_3 "$@" <"$T/fifo" >"$T/$name.out" 2>&1 &
	SSPID=$!
	cleanup_pid "$SSPID"
	exec 9>"$T/fifo"
	cat "$T/down.txt" >&9
	wait_port "$port" || diag "s_server $name: not listening on $port"
}
close_s_server() {
	exec 9>&-
	wait "$SSPID" 2>/dev/null
}

# --- ours to ours --------------------------------------------------------
pipe_server ours --expect "$UPLEN"
if pipe_client ours-c "$SPORT" --expect "$DOWNLEN" && wait "$SPID" &&
    cmp -s "$T/up.txt" "$T/ours.out" && cmp -s "$T/down.txt" "$T/ours-c.out" &&
    grep -q "established identity=$ID cipher=TLS_AES_128_GCM_SHA256" "$T/ours.err"; then
	ok "ours -> ours: data both ways, close_notify both ways"
else
	fail "ours -> ours"
	show "$T/ours.err" "$T/ours-c.err"
fi

pipe_server pend --expect "$UPLEN" --pending 300
if pipe_client pend-c "$SPORT" --expect "$DOWNLEN" && wait "$SPID" &&
    grep -q "lookup pending" "$T/pend.err" &&
    cmp -s "$T/up.txt" "$T/pend.out" && cmp -s "$T/down.txt" "$T/pend-c.out"; then
	ok "ours -> ours: lookup pending 300 ms, then the key: completes"
else
	fail "ours -> ours with a pending lookup"
	show "$T/pend.err" "$T/pend-c.err"
fi

pipe_server badkey
pipe_client badkey-c "$SPORT" --psk "$BADKEY"
rc=$?
wait "$SPID"
src=$?
if [ $rc -ne 0 ] && [ $src -ne 0 ] &&
    grep -q "binder does not verify" "$T/badkey.err"; then
	ok "ours -> ours: wrong key refused on both sides"
else
	fail "ours -> ours: wrong key (client $rc, server $src)"
	show "$T/badkey.err" "$T/badkey-c.err"
fi

pipe_server http
printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' >"/dev/tcp/127.0.0.1/$SPORT"
wait "$SPID"
src=$?
if [ $src -ne 0 ] && grep -q "error: handshake" "$T/http.err" &&
    [ ! -s "$T/http.out" ]; then
	ok "an HTTP request to our server: handshake error, nothing relayed"
else
	fail "HTTP request to our server (exit $src)"
	show "$T/http.err"
fi

# --- openssl s_client -> ours ---------------------------------------------
# s_client_run NAME [s_client options]: against a fresh pipe_server.
s_client_run() {
	local name=$1
	shift
	timeout 20 openssl s_client -connect "127.0.0.1:$SPORT" -tls1_3 \
	    -ign_eof "$@" <"$T/up.txt" >"$T/$name.out" 2>"$T/$name.stderr"
}

pipe_server sc --expect "$UPLEN"
s_client_run sc-c -psk "$KEY" -psk_identity "$ID"
rc=$?
wait "$SPID"
src=$?
if [ $rc -eq 0 ] && [ $src -eq 0 ] && cmp -s "$T/up.txt" "$T/sc.out" &&
    hexlines "$T/sc-c.out" | cmp -s - "$T/down.txt" &&
    grep -q "^Reused, TLSv1.3, Cipher is TLS_AES_128_GCM_SHA256" "$T/sc-c.out" &&
    grep -q "^Server Temp Key: X25519" "$T/sc-c.out"; then
	ok "openssl s_client -psk -> ours: data both ways, PSK + X25519 (psk_dhe_ke)"
else
	fail "openssl s_client -psk -> ours (s_client $rc, ours $src)"
	show "$T/sc.err" "$T/sc-c.out"
fi

pipe_server hrr --expect "$UPLEN"
s_client_run hrr-c -psk "$KEY" -psk_identity "$ID" \
    -groups ffdhe2048:X25519 -msg -msgfile "$T/hrr.msg"
rc=$?
wait "$SPID"
src=$?
if [ $rc -eq 0 ] && [ $src -eq 0 ] && cmp -s "$T/up.txt" "$T/hrr.out" &&
    [ "$(grep -c 'ClientHello' "$T/hrr.msg")" = 2 ] &&
    grep -q "^Server Temp Key: X25519" "$T/hrr-c.out"; then
	ok "openssl s_client (ffdhe2048 share first) -> ours: HelloRetryRequest to X25519, PSK kept"
else
	fail "HelloRetryRequest from our server (s_client $rc, ours $src)"
	show "$T/hrr.err" "$T/hrr-c.out"
fi

pipe_server nodhe --expect "$UPLEN" --pending 200
s_client_run nodhe-c -psk "$KEY" -psk_identity "$ID" -allow_no_dhe_kex
rc=$?
wait "$SPID"
src=$?
if [ $rc -eq 0 ] && [ $src -eq 0 ] && cmp -s "$T/up.txt" "$T/nodhe.out" &&
    grep -q "^Server Temp Key: X25519" "$T/nodhe-c.out"; then
	ok "openssl s_client -allow_no_dhe_kex -> ours (pending lookup): we still choose psk_dhe_ke"
else
	fail "s_client -allow_no_dhe_kex -> ours (s_client $rc, ours $src)"
	show "$T/nodhe.err" "$T/nodhe-c.out"
fi

# s_client_refused NAME WANT DESC [s_client options]
s_client_refused() {
	local name=$1 want=$2 desc=$3 rc src
	shift 3
	pipe_server "$name"
	s_client_run "$name-c" "$@"
	rc=$?
	wait "$SPID"
	src=$?
	if [ $src -ne 0 ] && grep -q "$want" "$T/$name.err" &&
	    [ ! -s "$T/$name.out" ] && ! grep -q '^Reused' "$T/$name-c.out"; then
		ok "$desc"
	else
		fail "$desc (s_client $rc, ours $src)"
		show "$T/$name.err"
	fi
}
s_client_refused sc-bad "binder does not verify" \
    "openssl s_client with a wrong key: refused" \
    -psk "$BADKEY" -psk_identity "$ID"
s_client_refused sc-unk "unknown psk identity" \
    "openssl s_client with an unknown identity: refused" \
    -psk "$KEY" -psk_identity kdc1-ffffffffffffffffffffffffffffffff
s_client_refused sc-nopsk "client offers no psk" \
    "openssl s_client without a PSK (certificate handshake): refused"
s_client_refused sc-384 "error: handshake" \
    "openssl s_client offering only TLS_AES_256_GCM_SHA384: refused" \
    -psk "$KEY" -psk_identity "$ID" -ciphersuites TLS_AES_256_GCM_SHA384

# --- ours -> openssl s_server ----------------------------------------------
port=$(free_port)
s_server ss "$port" -nocert -psk "$KEY" -psk_identity "$ID"
pipe_client ss-c "$port" --expect "$DOWNLEN"
rc=$?
close_s_server
if [ $rc -eq 0 ] && cmp -s "$T/down.txt" "$T/ss-c.out" &&
    hexlines "$T/ss.out" | cmp -s - "$T/up.txt" &&
    grep -q "established identity=$ID" "$T/ss-c.err"; then
	ok "ours -> openssl s_server -nocert -psk: data both ways, psk_dhe_ke"
else
	fail "ours -> openssl s_server (exit $rc)"
	show "$T/ss-c.err" "$T/ss.out"
fi

port=$(free_port)
s_server ssh "$port" -nocert -psk "$KEY" -psk_identity "$ID" -groups P-256 \
    -msg -msgfile "$T/ssh.msg"
pipe_client ssh-c "$port" --expect "$DOWNLEN"
rc=$?
close_s_server
if [ $rc -eq 0 ] && cmp -s "$T/down.txt" "$T/ssh-c.out" &&
    [ "$(grep -c 'ClientHello' "$T/ssh.msg")" = 2 ]; then
	ok "ours -> openssl s_server -groups P-256: HelloRetryRequest, PSK offered again"
else
	fail "ours -> s_server with HelloRetryRequest (exit $rc)"
	show "$T/ssh-c.err" "$T/ssh.out" "$T/ssh.msg"
fi

port=$(free_port)
s_server ssbad "$port" -nocert -psk "$BADKEY" -psk_identity "$ID"
pipe_client ssbad-c "$port"
rc=$?
close_s_server
if [ $rc -ne 0 ] && grep -q "error: handshake" "$T/ssbad-c.err" &&
    [ -z "$(hexlines "$T/ssbad.out")" ]; then
	ok "ours -> openssl s_server with another key: refused"
else
	fail "ours -> s_server with another key (exit $rc)"
	show "$T/ssbad-c.err"
fi

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj /CN=x -keyout "$T/k.pem" -out "$T/c.pem" -days 1 >/dev/null 2>&1
port=$(free_port)
s_server sscert "$port" -cert "$T/c.pem" -key "$T/k.pem"
pipe_client sscert-c "$port"
rc=$?
close_s_server
if [ $rc -ne 0 ] && grep -q "handshake: certificate verify failed" "$T/sscert-c.err" &&
    [ -z "$(hexlines "$T/sscert.out")" ]; then
	ok "ours -> a certificate-only server: refused (no PSK, no trust)"
else
	fail "ours -> a certificate-only server (exit $rc)"
	show "$T/sscert-c.err"
fi

# --- stunnel ---------------------------------------------------------------
if [ -z "$STUNNEL" ] || ! command -v socat >/dev/null 2>&1; then
	skip "stunnel client -> ours" "stunnel4 or socat not installed"
	skip "ours -> stunnel server" "stunnel4 or socat not installed"
	skip "stunnel client with another key" "stunnel4 or socat not installed"
else
	# stunnel_client NAME KEYFILE: stunnel (client) in front of SPORT.
	stunnel_client() {
		local name=$1 keyfile=$2
		STPORT=$(free_port)
		cat >"$T/$name.conf" <<-EOF
			foreground = yes
			pid =
			[c]
			client = yes
			accept = 127.0.0.1:$STPORT
			connect = 127.0.0.1:$SPORT
			PSKsecrets = $keyfile
			PSKidentity = $ID
			sslVersionMin = TLSv1.3
		EOF
		"$STUNNEL" "$T/$name.conf" >"$T/$name.log" 2>&1 &
		STPID=$!
		cleanup_pid "$STPID"
		wait_port "$STPORT"
	}

	pipe_server stc --expect "$UPLEN"
	stunnel_client stc-s "$T/key.cfg"
	timeout 20 socat -t 10 - "TCP:127.0.0.1:$STPORT" <"$T/up.txt" >"$T/stc-c.out"
	rc=$?
	wait "$SPID"
	src=$?
	kill "$STPID" 2>/dev/null
	if [ $rc -eq 0 ] && [ $src -eq 0 ] && cmp -s "$T/up.txt" "$T/stc.out" &&
	    cmp -s "$T/down.txt" "$T/stc-c.out" &&
	    grep -q "established identity=$ID" "$T/stc.err"; then
		ok "stunnel client (PSKsecrets = key.cfg) -> ours: data both ways, clean close"
	else
		fail "stunnel client -> ours (socat $rc, ours $src)"
		show "$T/stc.err" "$T/stc-s.log"
	fi

	printf '%s:%s\n' "$ID" "$BADKEY" >"$T/bad.cfg"
	chmod 600 "$T/bad.cfg"
	pipe_server stbad
	stunnel_client stbad-s "$T/bad.cfg"
	timeout 20 socat -t 10 - "TCP:127.0.0.1:$STPORT" <"$T/up.txt" >"$T/stbad-c.out"
	wait "$SPID"
	src=$?
	kill "$STPID" 2>/dev/null
	if [ $src -ne 0 ] && grep -q "binder does not verify" "$T/stbad.err" &&
	    [ ! -s "$T/stbad.out" ] && [ ! -s "$T/stbad-c.out" ]; then
		ok "stunnel client with another key -> ours: refused"
	else
		fail "stunnel client with another key (ours $src)"
		show "$T/stbad.err"
	fi

	EPORT=$(free_port)
	socat "TCP-LISTEN:$EPORT,bind=127.0.0.1,reuseaddr,fork" EXEC:cat &
	cleanup_pid $!
	wait_port "$EPORT"
	STPORT=$(free_port)
	cat >"$T/sts.conf" <<-EOF
		foreground = yes
		pid =
		debug = 5
		[s]
		accept = 127.0.0.1:$STPORT
		connect = 127.0.0.1:$EPORT
		PSKsecrets = $T/key.cfg
		sslVersionMin = TLSv1.3
	EOF
	"$STUNNEL" "$T/sts.conf" >"$T/sts.log" 2>&1 &
	STPID=$!
	cleanup_pid "$STPID"
	wait_port "$STPORT"
	pipe_client sts-c "$STPORT" --expect "$UPLEN"
	rc=$?
	kill "$STPID" 2>/dev/null
	if [ $rc -eq 0 ] && cmp -s "$T/up.txt" "$T/sts-c.out" &&
	    grep -q "established identity=$ID" "$T/sts-c.err"; then
		ok "ours -> stunnel server (no certificate) -> echo: data both ways, clean close"
	else
		fail "ours -> stunnel server (exit $rc)"
		show "$T/sts-c.err" "$T/sts.log"
	fi
fi

# --- gnutls ----------------------------------------------------------------
if ! command -v gnutls-cli >/dev/null 2>&1; then
	skip "gnutls-cli psk_ke only -> ours refused" "gnutls-bin not installed"
	skip "gnutls-cli ECDHE-PSK -> ours" "gnutls-bin not installed"
else
	pipe_server gke
	timeout 20 gnutls-cli --priority "NORMAL:-VERS-ALL:+VERS-TLS1.3:-KX-ALL:+PSK" \
	    --pskusername "$ID" --pskkey "$KEY" -p "$SPORT" 127.0.0.1 \
	    <"$T/up.txt" >"$T/gke-c.out" 2>&1
	rc=$?
	wait "$SPID"
	src=$?
	if [ $rc -ne 0 ] && [ $src -ne 0 ] &&
	    grep -q "client does not offer psk_dhe_ke" "$T/gke.err" &&
	    [ ! -s "$T/gke.out" ]; then
		ok "gnutls-cli +PSK only (psk_ke, no forward secrecy) -> ours: refused"
	else
		fail "gnutls-cli psk_ke only (gnutls $rc, ours $src)"
		show "$T/gke.err"
	fi

	pipe_server gdhe --expect "$UPLEN"
	timeout 20 gnutls-cli --priority "NORMAL:-VERS-ALL:+VERS-TLS1.3:-KX-ALL:+ECDHE-PSK" \
	    --pskusername "$ID" --pskkey "$KEY" -p "$SPORT" 127.0.0.1 \
	    <"$T/up.txt" >"$T/gdhe-c.out" 2>&1
	rc=$?
	wait "$SPID"
	src=$?
	if [ $rc -eq 0 ] && [ $src -eq 0 ] && cmp -s "$T/up.txt" "$T/gdhe.out" &&
	    hexlines "$T/gdhe-c.out" | cmp -s - "$T/down.txt"; then
		ok "gnutls-cli +ECDHE-PSK -> ours: data both ways"
	else
		fail "gnutls-cli ECDHE-PSK -> ours (gnutls $rc, ours $src)"
		show "$T/gdhe.err" "$T/gdhe-c.out"
	fi
fi

done_testing
