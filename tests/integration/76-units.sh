#!/usr/bin/env bash
# 76-units: the systemd units in dist/systemd, checked offline (CI runs
# no systemd): systemd-analyze verify finds no unknown or unparsable
# setting; systemd-analyze security --offline rates each unit's exposure
# at most its bound (the KDC and the gateway need no capability but
# binding a low port; pktd needs CAP_NET_ADMIN only); the
# hardening settings issue 7 names are there; ExecStart and ExecStartPre
# run the daemon where make install (PREFIX=/usr/local) puts it, with -d
# (foreground) and -n (check), on /etc/cryptgate/NAME.conf, whose example
# dist/NAME.conf passes cryptgate check-config.
. "$(dirname "$0")/lib.sh"

if ! command -v systemd-analyze >/dev/null; then
	skip "systemd units" "systemd-analyze not installed (Debian package systemd)"
	done_testing
fi

# unit daemon config bound
units="cryptgate-kdcd kdc 2.0
cryptgate-gatewayd gateway 2.0
cryptgate-pktd pkt 4.5"

while read -r d conf bound; do
	u=$SRCDIR/dist/systemd/$d.service
	if [ ! -f "$u" ]; then
		fail "$d.service: missing"
		continue
	fi
	# verify: messages caused by this machine (no systemd running, the
	# daemon not installed here) are not the unit's.
	out=$(systemd-analyze verify "$u" 2>&1 |
	    grep -vE 'sysinit\.target|is not executable|Command .man |Failed to create .*/start')
	if [ -z "$out" ]; then
		ok "$d.service: systemd-analyze verify finds nothing wrong"
	else
		fail "$d.service: systemd-analyze verify"
		printf '%s\n' "$out" | head -10 | sed 's/^/#   /'
	fi
	lvl=$(systemd-analyze security --offline=true "$u" 2>/dev/null |
	    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	if [ -n "$lvl" ] && awk -v l="$lvl" -v b="$bound" 'BEGIN { exit !(l <= b) }'; then
		ok "$d.service: exposure $lvl (systemd-analyze security, at most $bound)"
	else
		fail "$d.service: exposure '${lvl:-?}' above $bound"
	fi
	miss=
	for k in NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes \
	    ProtectHome=yes CapabilityBoundingSet= RestrictAddressFamilies= \
	    SystemCallFilter=; do
		grep -q "^$k" "$u" || miss="$miss $k"
	done
	if [ -z "$miss" ]; then
		ok "$d.service: NoNewPrivileges, ProtectSystem=strict, PrivateTmp, ProtectHome, capability, address family and system call limits"
	else
		fail "$d.service: missing$miss"
	fi
	if grep -qx "ExecStart=/usr/local/sbin/$d -d -f /etc/cryptgate/$conf.conf" "$u" &&
	    grep -qx "ExecStartPre=/usr/local/sbin/$d -n -f /etc/cryptgate/$conf.conf" "$u" &&
	    grep -qxF 'PREFIX ?= /usr/local' "$SRCDIR/Makefile" &&
	    grep -qxF 'SBINDIR ?= $(PREFIX)/sbin' "$SRCDIR/Makefile"; then
		ok "$d.service: runs /usr/local/sbin/$d (make install's place) -d, and -n first"
	else
		fail "$d.service: ExecStart/ExecStartPre"
		grep '^Exec' "$u" | sed 's/^/#   /'
	fi
	if "$CG" check-config "$SRCDIR/dist/$conf.conf" >/dev/null 2>&1; then
		ok "$d.service: its example configuration dist/$conf.conf checks OK"
	else
		fail "dist/$conf.conf: cryptgate check-config"
	fi
done <<<"$units"
done_testing
