#!/usr/bin/env bash
# dist/demo.sh: the README's main-job command (make demo).
#
# Runs cryptgate's main job on this machine with the embedded defaults
# (SQLite, loopback), in a throwaway directory: a key distribution center,
# two hosts enrolled with it, a session key requested by one host (written
# to key.cfg) and retrieved by the other, as the original system's key
# server, request program and gateway did; then the gateways carry a
# line protocol and, as root with vsftpd, FTP with its data connections.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
CG=$(pwd)/$BUILD/bin/cryptgate
KDCD=$(pwd)/$BUILD/bin/cryptgate-kdcd
work=$(mktemp -d "${TMPDIR:-/tmp}/cryptgate-demo.XXXXXX")
kdcd_pid=
cleanup() {
	if [ -n "$kdcd_pid" ] && kill -0 "$kdcd_pid" 2>/dev/null; then
		kill "$kdcd_pid"
		wait "$kdcd_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }

# A free loopback port for the KDC.
port=
for _ in $(seq 1 50); do
	p=$((20000 + RANDOM % 10000))
	if ! ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; then
		port=$p
		break
	fi
done
[ -n "$port" ] || { echo "demo: no free port" >&2; exit 1; }

cd "$work"
mkdir kdc alice bob

step "1. The key distribution center: database, signing key, master key"
cat >kdc/kdc.conf <<EOC
[kdc]
name = kdc1
listen = 127.0.0.1:$port
database = kdc.db
signing_key = kdc.key
master_key = master.key
EOC
"$CG" kdc init -f kdc/kdc.conf
"$KDCD" -n -f kdc/kdc.conf

step "2. Two hosts create their identities (Ed25519 + X25519, Ed25519 + RSA-3072)"
"$CG" keygen -o alice/alice --comment alice
"$CG" keygen --type rsa3072 -o bob/bob --comment bob
openssl pkey -in alice/alice.key -noout && echo "openssl pkey reads alice.key (PKCS#8 PEM)"

step "3. The administrator adds them and allows alice to talk to bob's telnet"
"$CG" kdc host add -f kdc/kdc.conf alice/alice.pub
"$CG" kdc host add -f kdc/kdc.conf bob/bob.pub
"$CG" kdc policy allow -f kdc/kdc.conf alice bob telnet
"$CG" kdc policy allow -f kdc/kdc.conf alice bob ftp
"$CG" kdc host list -f kdc/kdc.conf

for h in alice bob; do
	cp kdc/kdc.pub "$h/kdc.pub"
	cat >"$h/$h.conf" <<EOC
[host]
name = $h
key = $h.key

[kdc]
name = kdc1
address = 127.0.0.1:$port
public_key = kdc.pub
EOC
done
bob_id=$(awk '{print $3}' bob/bob.pub)
printf '\n[peer bob]\nid = %s\n' "$bob_id" >>alice/alice.conf
"$CG" check-config alice/alice.conf

step "4. cryptgate-kdcd serves them on 127.0.0.1:$port"
"$KDCD" -d -f kdc/kdc.conf &
kdcd_pid=$!
for _ in $(seq 1 100); do
	ss -Hltn "sport = :$port" 2>/dev/null | grep -q . && break
	sleep 0.05
done

step "5. alice requests a session key for bob's telnet (signed request, key sealed to alice)"
(cd alice && "$CG" request -f alice.conf --peer bob --service telnet \
    --client-addr 127.0.0.1 -o key.cfg)
ls -l alice/key.cfg
key_id=$(cut -d: -f1 alice/key.cfg | sed 's/^kdc1-//')

step "6. bob's gateway retrieves the same key for alice's connection (sealed to bob, RSA-OAEP)"
(cd bob && "$CG" retrieve -f bob.conf --key-id "$key_id" \
    --client-addr 127.0.0.1 --service telnet -o key.cfg)
if cmp -s alice/key.cfg bob/key.cfg; then
	echo "alice and bob hold the same PSK (key.cfg is a stunnel PSKsecrets file)"
else
	echo "MISMATCH between alice/key.cfg and bob/key.cfg" >&2
	exit 1
fi

step "7. The wrong address, or a revoked key, is refused"
if (cd bob && "$CG" retrieve -f bob.conf --key-id "$key_id" \
    --client-addr 127.0.0.9 --service telnet -o other.cfg); then
	echo "a retrieve from the wrong address was answered" >&2
	exit 1
fi
"$CG" kdc key revoke -f kdc/kdc.conf "$key_id"
if (cd bob && "$CG" retrieve -f bob.conf --key-id "$key_id" \
    --client-addr 127.0.0.1 --service telnet -o other.cfg); then
	echo "a revoked key was answered" >&2
	exit 1
fi

step "8. The gateways: alice's plaintext client -> TLS 1.3 PSK -> bob's service"
free_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 10000))
		if ! ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; then
			echo "$p"
			return 0
		fi
	done
	return 1
}
svc=$(free_port) && sec=$(free_port) && cli=$(free_port)
# bob's "telnet" service: a line-reversing echo on loopback only.
socat "TCP-LISTEN:$svc,bind=127.0.0.1,reuseaddr,fork" EXEC:rev &
svc_pid=$!
cat >bob/gateway.conf <<EOC
[gateway]
host_config = bob.conf
status_socket = $work/bob/gw.sock
[service telnet]
role = server
listen = 127.0.0.1:$sec
backend = 127.0.0.1:$svc
EOC
cat >alice/gateway.conf <<EOC
[gateway]
host_config = alice.conf
status_socket = $work/alice/gw.sock
[service telnet]
role = client
listen = 127.0.0.1:$cli
connect = 127.0.0.1:$sec
peer = bob
EOC
GWD=$(dirname "$KDCD")/cryptgate-gatewayd
"$GWD" -d -f bob/gateway.conf 2>bob/gw.log &
bob_pid=$!
"$GWD" -d -f alice/gateway.conf 2>alice/gw.log &
alice_pid=$!
trap 'kill $svc_pid $bob_pid $alice_pid 2>/dev/null; cleanup' EXIT
for p in $sec $cli; do
	for _ in $(seq 1 100); do
		ss -Hltn "sport = :$p" 2>/dev/null | grep -q . && break
		sleep 0.05
	done
done
reply=$(echo "hello through cryptgate" | socat -t 5 - "TCP:127.0.0.1:$cli")
echo "sent:  hello through cryptgate"
echo "got:   $reply"
if [ "$reply" != "etagtpyrc hguorht olleh" ]; then
	echo "the gateway pair did not relay" >&2
	sed 's/^/  bob: /' bob/gw.log >&2
	sed 's/^/  alice: /' alice/gw.log >&2
	exit 1
fi
"$CG" status -s "$work/bob/gw.sock"

step "9. FTP through the gateways: every data connection encrypted too (PASV and PORT)"
if [ "$(id -u)" != 0 ] || ! command -v vsftpd >/dev/null ||
    ! command -v curl >/dev/null || ! id ftp >/dev/null 2>&1; then
	echo "skipped: needs root, vsftpd and curl (mk/deps.sh installs them)"
else
	ftp=$(free_port) && fsec=$(free_port) && fcli=$(free_port) &&
	    pasv=$(free_port)
	mkdir -p ftp/root/pub ftp/empty
	chmod 755 ftp/root
	chmod 555 ftp/empty
	chown ftp:ftp ftp/root/pub
	head -c 5000000 /dev/urandom >ftp/root/pub/report.bin
	chmod 644 ftp/root/pub/report.bin
	cat >ftp/vsftpd.conf <<EOC
listen=YES
listen_address=127.0.0.1
listen_port=$ftp
background=NO
anonymous_enable=YES
local_enable=NO
no_anon_password=YES
anon_root=$work/ftp/root
write_enable=YES
anon_upload_enable=YES
anon_umask=022
pasv_address=127.0.0.1
pasv_min_port=$pasv
pasv_max_port=$pasv
secure_chroot_dir=$work/ftp/empty
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
xferlog_enable=NO
syslog_enable=NO
EOC
	setsid vsftpd ftp/vsftpd.conf >ftp/vsftpd.log 2>&1 &
	ftp_pid=$!
	printf '[service ftp]\nrole = server\nprotocol = ftp\nlisten = 127.0.0.1:%s\nbackend = 127.0.0.1:%s\n' \
	    "$fsec" "$ftp" >>bob/gateway.conf
	printf '[service ftp]\nrole = client\nprotocol = ftp\nlisten = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\npeer = bob\n' \
	    "$fcli" "$fsec" >>alice/gateway.conf
	trap 'kill $svc_pid $bob_pid $alice_pid 2>/dev/null; pkill -s "$ftp_pid" 2>/dev/null; cleanup' EXIT
	kill -HUP "$bob_pid" "$alice_pid"
	for p in $ftp $fsec $fcli; do
		for _ in $(seq 1 100); do
			ss -Hltn "sport = :$p" 2>/dev/null | grep -q . && break
			sleep 0.05
		done
	done
	url=ftp://127.0.0.1:$fcli/pub
	curl -sS --max-time 30 --epsv -o ftp/got.bin "$url/report.bin"
	curl -sS --max-time 30 -P 127.0.0.1 -T ftp/got.bin "$url/back.bin"
	a=$(sha256sum <ftp/root/pub/report.bin | cut -c1-16)
	b=$(sha256sum <ftp/got.bin | cut -c1-16)
	c=$(sha256sum <ftp/root/pub/back.bin | cut -c1-16)
	echo "download (EPSV) and upload (PORT) of 5 MB through alice's and bob's gateways"
	echo "sha256: on the server $a, downloaded $b, uploaded back $c"
	if [ "$a" != "$b" ] || [ "$a" != "$c" ]; then
		echo "the FTP transfers through the gateways differ" >&2
		exit 1
	fi
	"$CG" status -s "$work/bob/gw.sock" | sed -n '/service ftp/,$p'
fi

step "10. The audit log (hash-chained, no key material) verifies"
"$CG" kdc audit show -f kdc/kdc.conf | tail -5
"$CG" kdc audit verify -f kdc/kdc.conf

printf '\ndemo finished\n'
