#!/usr/bin/env bash
# dist/demo.sh: the README's main-job command (make demo).
#
# Runs what cryptgate has today on this machine, in a throwaway directory,
# on loopback only.  Today: host identities and configuration.  Each part
# that lands (KDC, gateway, packet encryptor) adds its step here.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
CG=$BUILD/bin/cryptgate
work=$(mktemp -d "${TMPDIR:-/tmp}/cryptgate-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT

step() { printf '\n== %s\n' "$*"; }

step "1. Two hosts create their identities (Ed25519 signing key + sealing key)"
"$CG" keygen -o "$work/alice" --comment alice
"$CG" keygen --type rsa3072 -o "$work/bob" --comment bob
ls -l "$work"

step "2. The private key files are plain PKCS#8 PEM that OpenSSL reads"
openssl pkey -in "$work/alice.key" -noout && echo "openssl pkey: alice.key OK"
openssl pkey -in "$work/bob.key" -noout && echo "openssl pkey: bob.key OK"

step "3. The public identity is recomputed from the private key"
"$CG" pubkey "$work/alice.key"
if [ "$("$CG" pubkey "$work/alice.key")" = "$(cat "$work/alice.pub")" ]; then
	echo "matches alice.pub"
else
	echo "MISMATCH with alice.pub" >&2
	exit 1
fi

step "4. A key file that others can read is refused"
chmod 0644 "$work/bob.key"
if "$CG" pubkey "$work/bob.key"; then
	echo "a 0644 key file was accepted" >&2
	exit 1
fi
chmod 0600 "$work/bob.key"

step "5. Configuration files are checked against their schema"
cp dist/examples/host.conf "$work/host.conf"
cp "$work/alice.pub" "$work/kdc.pub"
"$CG" check-config "$work/host.conf"
printf '[host]\nname = alice\nkey = alice.key\nkye = typo\n' >"$work/bad.conf"
"$CG" check-config "$work/bad.conf" || echo "(bad.conf refused, as it must be)"

printf '\ndemo finished: the key distribution center and the gateway add their steps here as they land\n'
