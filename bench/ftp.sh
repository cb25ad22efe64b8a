#!/usr/bin/env bash
# bench/ftp.sh - FTP through the gateway pair (protocol = ftp) against
# direct vsftpd (make bench; never part of make check).
#
# Builds cryptgate-gatewayd (make BUILD=$BUILD; use an optimized,
# unsanitized tree), starts vsftpd on 127.0.0.1 (tests/integration/ftp-lib.sh:
# anonymous, writable pub/) and a key_file gateway pair in front of it:
#   curl (from 127.0.0.5) -> client gateway -> server gateway -> vsftpd
# Then RUNS runs, each one, for every mode in MODES (EPSV: passive, PORT:
# active), a SIZE_MB download (to /dev/null) and upload (from a file in the
# page cache) with curl, direct and through the pair, interleaved.  Prints
# every run's MB/s, the medians and the ratio gateway / direct (target
# >= 0.6x).  vsftpd writes uploads to disk in both cases; each uploaded
# file is deleted at once.
#
# Usage: [VAR=value ...] bench/ftp.sh
#   BUILD=build  RUNS=3  SIZE_MB=200  MODES="EPSV PORT"  GW_WORKERS=0
#   KEEP=1 (keep the temp dir)
# Loopback only; vsftpd (root) and every process started here is stopped
# by its PID at exit (vsftpd's session processes: as its descendants).
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build}; RUNS=${RUNS:-3}; SIZE_MB=${SIZE_MB:-200}
MODES=${MODES:-"EPSV PORT"}
export PATH=$PATH:/usr/sbin:/sbin
cd "$ROOT" || exit 1

for p in vsftpd curl ss; do
  command -v "$p" >/dev/null || { echo "ftp.sh: $p not installed" >&2; exit 1; }
done
[[ $(id -u) == 0 ]] || { echo "ftp.sh: vsftpd needs root" >&2; exit 1; }

echo "building ($BUILD) ..." >&2
make --no-print-directory BUILD="$BUILD" "$BUILD/bin/cryptgate-gatewayd" >&2 || exit 1
GWD=$ROOT/$BUILD/bin/cryptgate-gatewayd
if nm "$GWD" 2>/dev/null | grep __asan_init >/dev/null; then
  echo "ftp.sh: WARNING: $GWD is a sanitized build; the figures mean nothing" >&2
fi

T=$(mktemp -d -t cg-ftp-bench.XXXXXX)
MYPIDS=(); CLEANUP=()
cleanup_pid() { MYPIDS+=("$1"); }
cleanup_cmd() { CLEANUP+=("$1"); }
cleanup() {
  local c p
  for c in "${CLEANUP[@]}"; do eval "$c" >/dev/null 2>&1 || true; done
  for p in "${MYPIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${MYPIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [[ -n ${KEEP:-} ]]; then echo "kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
SRCDIR=$ROOT
# shellcheck source=../tests/integration/ftp-lib.sh
. "$ROOT/tests/integration/ftp-lib.sh"

wait_port() {  # wait_port PORT: up to 10 s for a listener on it
  local i
  for ((i = 0; i < 100; i++)); do
    [[ -n $(ss -Htln "( sport = :$1 )" 2>/dev/null) ]] && return 0; sleep 0.1
  done
  echo "ftp.sh: port $1 never started listening" >&2; return 1
}

PV=$(free_port) && PS=$(free_port) && PC=$(free_port) || exit 1
ftp_vsftpd_start v "$PV" || { echo "ftp.sh: vsftpd does not start" >&2; exit 1; }
head -c $((SIZE_MB * 1000000)) /dev/urandom >"$T/v/root/pub/big.bin"
chmod 644 "$T/v/root/pub/big.bin"
cp "$T/v/root/pub/big.bin" "$T/up.bin"
printf 'kdc1-00000000000000000000000000000000:%s\n' "$(openssl rand -hex 32)" >"$T/key.cfg"
chmod 600 "$T/key.cfg"
for role in server client; do
  {
    printf '[gateway]\nworkers = %s\nstatus_socket = %s/%s.sock\n' "${GW_WORKERS:-0}" "$T" "$role"
    printf '[service ftp]\nrole = %s\nprotocol = ftp\nkey_file = key.cfg\n' "$role"
    if [[ $role == server ]]; then
      printf 'listen = 127.0.0.1:%s\nbackend = 127.0.0.1:%s\n' "$PS" "$PV"
    else
      printf 'listen = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\n' "$PC" "$PS"
    fi
  } >"$T/$role.conf"
  "$GWD" -d -f "$T/$role.conf" >"$T/$role.log" 2>&1 </dev/null &
  cleanup_pid $!
done
wait_port "$PS" && wait_port "$PC" || { cat "$T"/*.log >&2; exit 1; }

# xfer PATH MODE DIR: one transfer with curl; prints MB/s (or NA).
#   PATH direct|gateway, DIR down|up
xfer() {
  local path=$1 mode=$2 dir=$3 port=$PV bind=127.0.0.1 t0 t1 name
  local -a o=(-sS --max-time 600 --interface)
  if [[ $path == gateway ]]; then port=$PC; bind=127.0.0.5; fi
  o+=("$bind")
  case $mode in
  EPSV) o+=(--epsv) ;;
  PASV) o+=(--disable-epsv) ;;
  PORT) o+=(--ftp-port "$bind" --disable-eprt) ;;
  EPRT) o+=(--ftp-port "$bind" --eprt) ;;
  esac
  name=up-$path-$mode.bin
  t0=$(date +%s%N)
  if [[ $dir == down ]]; then
    curl "${o[@]}" -o /dev/null "ftp://127.0.0.1:$port/pub/big.bin" 2>>"$T/curl.err" ||
      { echo NA; return; }
  else
    curl "${o[@]}" -T "$T/up.bin" "ftp://127.0.0.1:$port/pub/$name" 2>>"$T/curl.err" ||
      { echo NA; return; }
  fi
  t1=$(date +%s%N)
  if [[ $dir == up ]]; then
    [[ $(stat -c %s "$T/v/root/pub/$name" 2>/dev/null) == $((SIZE_MB * 1000000)) ]] ||
      { echo NA; return; }
    rm -f "$T/v/root/pub/$name"
  fi
  awk -v b=$((SIZE_MB * 1000000)) -v ns=$((t1 - t0)) 'BEGIN { printf "%.0f", b / 1e6 / (ns / 1e9) }'
}
median() { tr ' ' '\n' | grep -v '^$' | grep -v NA | sort -n | awk '{ v[NR] = $1 } END {
  if (NR == 0) print "NA"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "cryptgate $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?')," \
  "$(nproc) CPUs, $(uname -r), FTP ${SIZE_MB} MB, runs=$RUNS, modes: $MODES," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A R
for ((r = 1; r <= RUNS; r++)); do
  for mode in $MODES; do
    for dir in down up; do
      for path in direct gateway; do
        v=$(xfer "$path" "$mode" "$dir")
        R[$mode,$dir,$path]="${R[$mode,$dir,$path]:-} $v"
        printf 'run %d  %-4s %-4s %-7s %6s MB/s\n' "$r" "$mode" "$dir" "$path" "$v"
      done
    done
  done
done
echo
echo "FTP through the gateway pair vs direct vsftpd (medians of $RUNS runs, MB/s):"
rc=0
for mode in $MODES; do
  for dir in down up; do
    d=$(median <<<"${R[$mode,$dir,direct]}")
    g=$(median <<<"${R[$mode,$dir,gateway]}")
    awk -v m="$mode" -v dir="$dir" -v d="$d" -v g="$g" 'BEGIN {
      w = (dir == "down") ? "download" : "upload"
      if (d == "NA" || g == "NA" || d <= 0) { printf "  %-4s %-8s direct %6s  gateway %6s  ratio NA  (target >= 0.6x)  FAIL\n", m, w, d, g; exit 1 }
      r = g / d
      printf "  %-4s %-8s direct %6d  gateway %6d  ratio %.2fx  (target >= 0.6x)  %s\n", m, w, d, g, r, (r >= 0.6) ? "PASS" : "FAIL"
      exit (r >= 0.6) ? 0 : 1 }' || rc=1
  done
done
[[ -s $T/curl.err ]] && { echo "curl errors:" >&2; head -5 "$T/curl.err" >&2; }
exit $rc
