#!/bin/sh
# mk/deps.sh: install the Debian packages cryptgate's build and tests need.
# Idempotent and quick when everything is present (no apt-get at all then).
# Needs root (or sudo) only when something is missing.
set -eu

# Build: compiler, pkg-config and the libraries (see docs/STYLE.md, "Dependencies").
BUILD_PKGS="gcc make pkg-config libc6-dev libssl-dev libinih-dev libsqlite3-dev libpq-dev libseccomp-dev libnetfilter-queue-dev libmnl-dev"
# Tests: unit framework, JSON for the known-answer vectors, real peers.
TEST_PKGS="libcmocka-dev libcjson-dev openssl sqlite3 iproute2 procps psmisc stunnel4 socat gnutls-bin iptables util-linux"
# FTP through the gateways (tests/integration/54-55), packets (60-).
TEST_PKGS="$TEST_PKGS vsftpd curl lftp tnftp iperf3 tcpdump ethtool"
# Documentation (70-76: example hosts reach each other by ssh; man pages render; units verify).
TEST_PKGS="$TEST_PKGS openssh-client openssh-server groff-base man-db systemd"
# The KDC's confinement (45-kdc-privsep probes its processes with gdb).
TEST_PKGS="$TEST_PKGS gdb passwd"
# The KDC store on PostgreSQL (test_store* start a throwaway cluster).
TEST_PKGS="$TEST_PKGS postgresql"
# Fuzzing and lint (make fuzz, make lint, make format-check).
TOOL_PKGS="clang libclang-rt-14-dev cppcheck clang-tidy clang-format git valgrind"

PKGS="$BUILD_PKGS $TEST_PKGS $TOOL_PKGS ${CRYPTGATE_EXTRA_PKGS:-}"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
	    grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null 2>&1 || {
		echo "deps: need root to install:$missing" >&2
		exit 1
	}
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
# Packages such as vsftpd would start their service on install: a
# policy-rc.d that says no (only while we install, only if none exists).
prc=/usr/sbin/policy-rc.d
ours=""
if [ ! -e "$prc" ]; then
	printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$prc" >/dev/null
	$SUDO chmod 755 "$prc"
	ours=1
fi
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
[ -z "$ours" ] || $SUDO rm -f "$prc"
