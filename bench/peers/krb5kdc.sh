#!/usr/bin/env bash
# bench/peers/krb5kdc.sh - the peer of bench/kdc.sh (make bench), a copy of the
# project's shared MIT Kerberos benchmark; bench/kdc.sh runs it in the same
# run as cryptgate-kdcd and reads its raw results (RESULTS=FILE).
#
# krb5kdc.sh - same-machine anchor for the cryptgate KDC: MIT krb5kdc serving
# AS requests (keytab keys, encrypted-timestamp preauth) and TGS requests.
#
# Builds a throwaway realm BENCH.TEST entirely inside a temp dir (its own
# krb5.conf + kdc.conf via KRB5_CONFIG / KRB5_KDC_PROFILE, a db2 database made
# with kdb5_util -s create and a random master password, a free 127.0.0.1
# port); /etc/krb5.conf, /etc/krb5kdc and system services are not used.
# Creates CLIENTS principals (+requires_preauth, random keys, exported to a
# keytab) and one service principal, then for every KDC mode in WORKERS
# (0 = single process, the default; N = krb5kdc -w N worker processes) starts
# krb5kdc -n on loopback and runs krb5load.c (next to this script): T threads
# for DURATION s per phase. Phases: "as" (one op = AS-REQ, PREAUTH_REQUIRED,
# AS-REQ with PA-ENC-TIMESTAMP, AS-REP: 2 KDC round trips) and "tgs" (one op =
# TGS-REQ for the service with a TGT fetched beforehand). Runs are interleaved
# across KDC modes; the table is the median over RUNS of every column.
# KDC settings are Debian's kdc.conf template (db2 backend, +preauth default,
# no [dbmodules] section so disable_last_success = disable_lockout = false:
# every successful preauth AS-REQ rewrites the client's principal record
# (last_success) and db2 fsyncs it). The KDC keeps no replay cache (only its
# in-memory lookaside cache of request->reply). The one deviation: the KDC
# logs to a file in the temp dir instead of syslog (there may be no syslogd).
#
# Usage: [VAR=value ...] ./krb5kdc.sh          (as root: installs packages)
#   RUNS=3 DURATION=10 THREADS=1,16,64 MODES=as,tgs (as|tgs|both) CLIENTS=64
#   WORKERS="0 2"  LAST_SUCCESS=1 (0: set disable_last_success = true, to
#   measure what the per-request DB write costs; not a Debian default)
#   RAW=1 (print every run's table too)   KEEP=1 (keep the temp dir)
#   RESULTS=FILE (also write every run's raw "R ..." lines of krb5load to FILE)
set -euo pipefail
trap 'echo "krb5kdc.sh: error at line $LINENO" >&2' ERR

RUNS=${RUNS:-3}; DURATION=${DURATION:-10}; THREADS=${THREADS:-1,16,64}
MODES=${MODES:-as,tgs}; CLIENTS=${CLIENTS:-64}; WORKERS=${WORKERS:-"0 2"}
LAST_SUCCESS=${LAST_SUCCESS:-1}; REALM=BENCH.TEST; SERVICE=host/bench.test
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Note: a first install of krb5-config (pulled in by krb5-user) writes a
# default /etc/krb5.conf if none exists; this script itself never reads it.
apt_install() {
  echo "installing $1 ..." >&2
  [[ -n "${APT_UPDATED:-}" ]] || { apt-get update -qq; APT_UPDATED=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$1" >/dev/null
}
need() { command -v "$1" >/dev/null 2>&1 || apt_install "$2"; }  # need <command> <package>
export PATH=$PATH:/usr/sbin:/sbin
need krb5kdc krb5-kdc; need kdb5_util krb5-kdc; need kadmin.local krb5-admin-server
need kinit krb5-user; need gcc gcc; need pkg-config pkg-config; need ss iproute2
need setsid util-linux
pkg-config --exists krb5 2>/dev/null || apt_install libkrb5-dev

W=$(mktemp -d -t krb5kdc-bench.XXXXXX); KDC_PID=
stop_kdc() {  # TERM the KDC (its supervisor forwards to -w workers), then KILL
  [[ -n $KDC_PID ]] || return 0
  local kids i; kids=$(ps -o pid= --ppid "$KDC_PID" 2>/dev/null || true)
  kill -TERM "$KDC_PID" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do kill -0 "$KDC_PID" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$KDC_PID" 2>/dev/null && { kill -KILL "$KDC_PID" $kids 2>/dev/null || true; }
  wait "$KDC_PID" 2>/dev/null || true; KDC_PID=
}
cleanup() { stop_kdc; [[ -n "${KEEP:-}" ]] && echo "kept $W" >&2 || rm -rf "$W"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free port (UDP and TCP) below the ephemeral range.
PORT=
for ((i = 0; i < 200; i++)); do
  p=$((21000 + RANDOM % 9000))
  [[ -z $(ss -Htuan "( sport = :$p )" 2>/dev/null) ]] && { PORT=$p; break; }
done
[[ -n $PORT ]] || { echo "no free port" >&2; exit 1; }

gcc -O2 -Wall -Wextra -pthread -o "$W/krb5load" "$HERE/krb5load.c" \
  $(pkg-config --cflags --libs krb5) -lm

export KRB5_CONFIG=$W/krb5.conf KRB5_KDC_PROFILE=$W/kdc.conf KRB5CCNAME=FILE:$W/ccache
export KRB5_KTNAME=FILE:$W/none.keytab
cat >"$W/krb5.conf" <<EOF
[libdefaults]
	default_realm = $REALM
	dns_lookup_kdc = false
	dns_lookup_realm = false
	rdns = false
[realms]
	$REALM = {
		kdc = 127.0.0.1:$PORT
	}
EOF
# Debian's /etc/krb5kdc/kdc.conf template, with paths in $W and our port.
cat >"$W/kdc.conf" <<EOF
[kdcdefaults]
    kdc_listen = 127.0.0.1:$PORT
    kdc_tcp_listen = 127.0.0.1:$PORT
[realms]
    $REALM = {
        database_name = $W/principal
        admin_keytab = FILE:$W/kadm5.keytab
        acl_file = $W/kadm5.acl
        key_stash_file = $W/stash
        kdc_listen = 127.0.0.1:$PORT
        kdc_tcp_listen = 127.0.0.1:$PORT
        max_life = 10h 0m 0s
        max_renewable_life = 7d 0h 0m 0s
        default_principal_flags = +preauth
    }
[logging]
    kdc = FILE:$W/kdc.log
EOF
if [[ $LAST_SUCCESS == 0 ]]; then
  printf '[dbmodules]\n    %s = {\n        disable_last_success = true\n    }\n' \
    "$REALM" >>"$W/kdc.conf"
fi
: >"$W/kadm5.acl"

kdb5_util -r "$REALM" -P "$(head -c 24 /dev/urandom | base64)" create -s >/dev/null
for ((i = 0; i < CLIENTS; i++)); do
  echo "addprinc -randkey +requires_preauth client$i"
done >"$W/setup.kadmin"
echo "addprinc -randkey $SERVICE" >>"$W/setup.kadmin"
kadmin.local -r "$REALM" <"$W/setup.kadmin" >"$W/setup.log" 2>&1
kadmin.local -r "$REALM" -q "ktadd -k $W/clients.keytab -norandkey -glob client*" \
  >>"$W/setup.log" 2>&1
n=$(klist -k "$W/clients.keytab" | grep -c "@$REALM" || true)
echo "realm $REALM on 127.0.0.1:$PORT (udp+tcp), $CLIENTS clients, keytab entries: $n," \
  "krb5 $(dpkg-query -W -f='${Version}' krb5-kdc 2>/dev/null || echo '?')," \
  "disable_last_success=$([[ $LAST_SUCCESS == 0 ]] && echo true || echo false)," \
  "disable_lockout=false, $(nproc) CPUs"
((n >= CLIENTS)) || { echo "keytab incomplete, see setup.log" >&2; cat "$W/setup.log" >&2; exit 1; }

start_kdc() {  # start_kdc <workers>; waits (max 10 s) until it serves
  local w=$1 args=(-n -r "$REALM") i want=1
  ((w > 0)) && { args+=(-w "$w"); want=$w; }
  : >"$W/kdc.out"; : >"$W/kdc.log"
  setsid krb5kdc "${args[@]}" >"$W/kdc.out" 2>&1 </dev/null &
  KDC_PID=$!
  for ((i = 0; i < 100; i++)); do
    (( $(grep -c 'starting' "$W/kdc.out" || true) >= want )) && break
    kill -0 "$KDC_PID" 2>/dev/null || break
    sleep 0.1
  done
  if ! kill -0 "$KDC_PID" 2>/dev/null || (( i == 100 )); then
    echo "krb5kdc did not start:" >&2; cat "$W/kdc.out" "$W/kdc.log" >&2; exit 1
  fi
  # Smoke test with the stock client before measuring.
  kinit -k -t "$W/clients.keytab" "client0@$REALM" && kvno -q "$SERVICE" >/dev/null &&
    kdestroy -q
}

echo "runs=$RUNS duration=${DURATION}s threads=$THREADS modes=$MODES workers=\"$WORKERS\""
: >"$W/results"
for ((run = 1; run <= RUNS; run++)); do
  for w in $WORKERS; do
    start_kdc "$w"
    label=$([[ $w == 0 ]] && echo "1proc" || echo "w$w")
    out=$("$W/krb5load" -k "$W/clients.keytab" -r "$REALM" -c client -n "$CLIENTS" \
      -s "$SERVICE@$REALM" -p "$KDC_PID" -t "$THREADS" -d "$DURATION" -m "$MODES" \
      -l "$label" 2>"$W/load.err") || { cat "$W/load.err" >&2; echo "krb5load reported errors" >&2; }
    grep '^R ' "$W/load.err" >>"$W/results" || true
    grep -v '^R ' "$W/load.err" >&2 || true
    [[ -n "${RAW:-}" ]] && { echo "--- run $run, $label"; echo "$out"; }
    # Evidence of per-request work in the KDC log: NEEDED_PREAUTH + ISSUE lines.
    echo "run $run $label: kdc.log AS NEEDED_PREAUTH=$(grep -c 'AS_REQ.*NEEDED_PREAUTH' \
"$W/kdc.log" || true) AS ISSUE=$(grep -c 'AS_REQ.*ISSUE' "$W/kdc.log" || true)" \
      "TGS ISSUE=$(grep -c 'TGS_REQ.*ISSUE' "$W/kdc.log" || true)"
    stop_kdc
  done
done
kadmin.local -r "$REALM" -q "getprinc client0" 2>/dev/null | grep -E 'Last successful' || true
[[ -n "${RESULTS:-}" ]] && cp "$W/results" "$RESULTS"

# Median over runs of every column, per (KDC mode, op, threads).
median() { sort -g | awk '{a[NR]=$1} END{if(NR%2)print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
echo
echo "median of $RUNS runs (op: as = one AS exchange = 2 KDC requests; kdc_us/op = krb5kdc user+sys CPU per op;"
echo " cli_us/op = load generator CPU per op; kdc_wB/op = KDC write_bytes per op; idle% = whole machine)"
printf '%-6s %-4s %3s %9s %8s %8s %9s %9s %9s %6s %6s\n' kdc op T ops/s p50_ms p99_ms \
  kdc_us/op cli_us/op kdc_wB/op idle% errors
awk '{print $2, $3, $4}' "$W/results" | awk '!seen[$0]++' | while read -r lab op t; do
  sel() { awk -v l="$lab" -v o="$op" -v t="$t" -v c="$1" '$2==l && $3==o && $4==t {print $c}' \
    "$W/results" | median; }
  printf '%-6s %-4s %3s %9.0f %8.2f %8.2f %9.0f %9.0f %9.0f %6.1f %6.0f\n' "$lab" "$op" "$t" \
    "$(sel 6)" "$(sel 7)" "$(sel 8)" "$(sel 9)" "$(sel 10)" "$(sel 11)" "$(sel 12)" "$(sel 13)"
done
