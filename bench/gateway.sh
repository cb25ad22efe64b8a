#!/usr/bin/env bash
# bench/gateway.sh - the gateway benchmark (make bench; never part of make check).
#
# Builds cryptgate-gatewayd (make BUILD=$BUILD; use an optimized, unsanitized
# tree) and runs bench/peers/peers.sh with PEERS (direct, socat, spiped,
# stunnel TLS 1.3 PSK AES-128-GCM, ssh -L, and our gateway as the "gateway"
# row), RUNS runs interleaved round-robin, all on 127.0.0.1:
#   iperf3/connbench -> gateway client role (plaintext in, TLS 1.3 PSK out)
#                    -> gateway server role (TLS in, plaintext out) -> backend
# Each gateway is `cryptgate-gatewayd -d -f gw-<role>-<port>.conf`, written by
# this script itself (--side, below) in peers.sh's scratch dir, with a
# key_file holding "kdc1-<32 zero hex>:<psk.hex>" (KDC-less mode).
# Then the idle-memory check: a fresh pair, a warm-up of 200 short
# connections, the two daemons' VmRSS as the baseline, IDLE_CONNS connections
# opened through the pair (each sends one byte and reads the echo, so the
# handshake and the backend connection are done) and held idle; the figure is
# (VmRSS of both daemons - baseline) / IDLE_CONNS.
# At the end it prints the targets as ratios of the medians of this run.
#
# Usage: [VAR=value ...] bench/gateway.sh
#   BUILD=build  RUNS=5  DURATION=5 (iperf3 -t)  CONNS=500  QUIET_WAIT=20
#   BASE_PORT=24000  RAW=1 (peers.sh: every run's values)
#   PEERS="direct socat spiped stunnel-psk13-aes128 ssh gateway" (ssh: root only)
#   IDLE_CONNS=5000 (0: no memory check)  GW_WORKERS=0 (gateway workers, 0: one
#   per core)  GW_CONF_EXTRA="buffer_size = 256k" (more [gateway] lines)
# peers.sh installs iperf3, socat, spiped, stunnel4, openssh-server/client
# with apt-get when missing (root).  Every process started here is stopped by
# its PID (peers.sh: by its process group) on exit.
#
# Internal: bench/gateway.sh --side client|server LISTEN CONNECT DIR writes
# DIR/gw-<role>-<LISTEN>.conf and execs the daemon ($GWD) in the foreground;
# it is what GATEWAY_CLIENT_CMD / GATEWAY_SERVER_CMD run.
set -euo pipefail

if [[ ${1:-} == --side ]]; then
  role=$2 listen=$3 connect=$4 dir=$5
  conf=$dir/gw-$role-$listen.conf key=$dir/gw-key.cfg
  umask 077
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  maxc=${GW_MAX_CONNS:-12000}  # the daemon wants 2 * maxc + 80 descriptors
  nofile=$(ulimit -n); [[ $nofile == unlimited ]] || ((maxc <= (nofile - 200) / 2)) ||
    maxc=$(((nofile - 200) / 2))
  printf 'kdc1-00000000000000000000000000000000:%s\n' "$(tr -d '\n' <"$dir/psk.hex")" \
    >"$key.$$"
  mv -f "$key.$$" "$key"
  {
    printf '[gateway]\nstatus_socket = %s/gw-%s-%s.sock\n' "$dir" "$role" "$listen"
    printf 'max_connections = %s\nworkers = %s\n' "$maxc" "${GW_WORKERS:-0}"
    [[ -z ${GW_CONF_EXTRA:-} ]] || printf '%s\n' "$GW_CONF_EXTRA"
    printf '\n[service bench]\nrole = %s\nlisten = 127.0.0.1:%s\n' "$role" "$listen"
    if [[ $role == client ]]; then
      printf 'connect = 127.0.0.1:%s\n' "$connect"
    else
      printf 'backend = 127.0.0.1:%s\n' "$connect"
    fi
    printf 'key_file = %s\n' "$key"
  } >"$conf"
  exec "$GWD" -d -f "$conf"
fi

trap 'echo "gateway.sh: error at line $LINENO" >&2' ERR
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SELF=$ROOT/bench/gateway.sh
BUILD=${BUILD:-build}; RUNS=${RUNS:-5}; IDLE_CONNS=${IDLE_CONNS:-5000}
PEERS=${PEERS:-"direct socat spiped stunnel-psk13-aes128 ssh gateway"}
export DURATION=${DURATION:-5} CONNS=${CONNS:-500} QUIET_WAIT=${QUIET_WAIT:-20}
export BASE_PORT=${BASE_PORT:-24000}
export PATH=$PATH:/usr/sbin:/sbin
cd "$ROOT"
if [[ $(id -u) != 0 && " $PEERS " == *" ssh "* ]]; then
  echo "gateway.sh: not root: no ssh peer (sshd needs root)" >&2
  PEERS=$(tr ' ' '\n' <<<"$PEERS" | grep -vx ssh | tr '\n' ' ')
fi

echo "building ($BUILD) ..." >&2
make --no-print-directory BUILD="$BUILD" "$BUILD/bin/cryptgate-gatewayd" >&2
export GWD=$ROOT/$BUILD/bin/cryptgate-gatewayd
[[ -x $GWD ]] || { echo "gateway.sh: $GWD not built" >&2; exit 1; }
if nm "$GWD" 2>/dev/null | grep __asan_init >/dev/null; then
  echo "gateway.sh: WARNING: $GWD is a sanitized build; the figures mean nothing" >&2
fi
export GATEWAY_NAME=gateway
export GATEWAY_CLIENT_CMD="'$SELF' --side client @LISTEN@ @CONNECT@ @DIR@"
export GATEWAY_SERVER_CMD="'$SELF' --side server @LISTEN@ @CONNECT@ @DIR@"

W=$(mktemp -d -t cg-gw-bench.XXXXXX); MYPIDS=()
cleanup() {
  local p
  for p in "${MYPIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${MYPIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [[ -n "${KEEP:-}" ]]; then echo "kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "cryptgate $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?')," \
  "$(nproc) CPUs, $(uname -r), runs=$RUNS duration=${DURATION}s conns=$CONNS," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg)"

# --- peers.sh: throughput, CPU, connection rate and latency ----------------
# shellcheck disable=SC2086
RUNS=$RUNS bash "$ROOT/bench/peers/peers.sh" $PEERS | tee "$W/peers.out"

col() {  # col PEER N: column N of PEER's row in the peers.sh table (or NA)
  awk -v p="$1" -v n="$2" '/^peer / {t = 1; next} t && $1 == p {v = $n} END {print (v == "" ? "NA" : v)}' \
    "$W/peers.out"
}

# --- idle memory per connection ---------------------------------------------
free_port() {  # a free TCP port below the ephemeral range
  local i p
  for ((i = 0; i < 200; i++)); do
    p=$((21000 + RANDOM % 9000))
    [[ -z $(ss -Htan "( sport = :$p )" 2>/dev/null) ]] && { echo "$p"; return 0; }
  done
  echo "gateway.sh: no free port" >&2; return 1
}
wait_port() {  # wait_port PORT: up to 10 s for a listener on it
  local i
  for ((i = 0; i < 100; i++)); do
    [[ -n $(ss -Htln "( sport = :$1 )" 2>/dev/null) ]] && return 0; sleep 0.1
  done
  echo "gateway.sh: port $1 never started listening" >&2; return 1
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

MEM_KIB=NA; MEM_LINE="(memory check not run)"
mem_check() {
  local d=$W/mem pe pb pa ga gb h base a b i held est
  mkdir -p "$d"; openssl rand -hex 32 >"$d/psk.hex"
  gcc -O2 -pthread -o "$W/connbench" "$ROOT/bench/peers/connbench.c"
  pe=$(free_port); pb=$(free_port); pa=$(free_port)
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  "$W/connbench" echo "$pe" 900 >"$d/echo.log" 2>&1 </dev/null &
  MYPIDS+=($!)
  "$SELF" --side server "$pb" "$pe" "$d" >"$d/gw-b.log" 2>&1 </dev/null &
  gb=$!; MYPIDS+=("$gb")
  "$SELF" --side client "$pa" "$pb" "$d" >"$d/gw-a.log" 2>&1 </dev/null &
  ga=$!; MYPIDS+=("$ga")
  wait_port "$pe"; wait_port "$pb"; wait_port "$pa"
  "$W/connbench" client "$pa" 200 30 >"$d/warm.out" || true
  sleep 1
  base=$(($(rss_kb "$ga") + $(rss_kb "$gb")))
  echo "memory check: holding $IDLE_CONNS idle connections ..." >&2
  "$W/connbench" hold "$pa" "$IDLE_CONNS" 600 >"$d/hold.out" 2>&1 </dev/null &
  h=$!; MYPIDS+=("$h")
  for ((i = 0; i < 3000; i++)); do
    grep -q '^held=' "$d/hold.out" 2>/dev/null && break
    kill -0 "$h" 2>/dev/null || break; sleep 0.1
  done
  sleep 2
  a=$(rss_kb "$ga"); b=$(rss_kb "$gb")
  held=$(sed -n 's/^held=\([0-9]*\).*/\1/p' "$d/hold.out"); held=${held:-0}
  est=$(ss -Htn state established "( dport = :$pa )" 2>/dev/null | wc -l)
  kill -TERM "$h" 2>/dev/null || true
  MEM_LINE="$(head -1 "$d/hold.out" 2>/dev/null); still established at the client gateway: $est"
  if ((held > 0)); then
    MEM_KIB=$(awk -v a="$a" -v b="$b" -v z="$base" -v n="$held" 'BEGIN {printf "%.1f", (a + b - z) / n}')
  fi
  echo
  echo "Idle memory: $IDLE_CONNS connections through a fresh pair (warmed up with 200 short ones)"
  echo "  $MEM_LINE"
  printf '  VmRSS KiB   baseline %d (both)   held: client role %d, server role %d   per connection %s KiB\n' \
    "$base" "$a" "$b" "$MEM_KIB"
  ((held == IDLE_CONNS)) || echo "gateway.sh: only $held of $IDLE_CONNS connections held" >&2
  kill -TERM "$ga" "$gb" 2>/dev/null || true
}
if ((IDLE_CONNS > 0)) && [[ " $PEERS " == *" gateway "* ]]; then mem_check; fi

# --- targets ------------------------------------------------------------------
# peers.sh columns: 2 1-stream Gbit/s, 3 4-stream, 4 relay CPU s/GB, 5 conn/s,
# 6 p50 ms, 7 p99 ms, 8 relay CPU ms/conn.
ST=stunnel-psk13-aes128
target() {  # target DESC A B OP GOAL: ratio A/B against GOAL (OP >= or <=)
  awk -v d="$1" -v a="$2" -v b="$3" -v op="$4" -v g="$5" 'BEGIN {
    if (a == "NA" || b == "NA" || b + 0 <= 0) { printf "  %-50s %8s  (target %s %sx)  n/a\n", d, "NA", op, g; exit }
    r = a / b; ok = (op == ">=") ? (r >= g) : (r <= g)
    printf "  %-50s %7.2fx  (target %s %sx)  %s\n", d, r, op, g, ok ? "PASS" : "FAIL" }'
}
echo
echo "Gateway targets (ratios of this run's medians; gateway = cryptgate-gatewayd):"
target "single stream Gbit/s, gateway / $ST" "$(col gateway 2)" "$(col $ST 2)" ">=" 2
target "single stream Gbit/s, gateway / ssh -L" "$(col gateway 2)" "$(col ssh 2)" ">=" 1.1
target "relay CPU s per GB, gateway / $ST" "$(col gateway 4)" "$(col $ST 4)" "<=" 0.5
target "conn/s, gateway / $ST" "$(col gateway 5)" "$(col $ST 5)" ">=" 3
target "conn/s, gateway / ssh -L" "$(col gateway 5)" "$(col ssh 5)" ">=" 1.3
target "p99 connect latency, gateway / ssh -L" "$(col gateway 7)" "$(col ssh 7)" "<=" 1
awk -v m="$MEM_KIB" 'BEGIN {
  if (m == "NA") { printf "  %-50s %8s  (target <= 48 KiB)  n/a\n", "idle memory per connection", "NA"; exit }
  printf "  %-50s %6.1f KiB (target <= 48 KiB)  %s\n", "idle memory per connection (both gateways)", m,
    (m <= 48) ? "PASS" : "FAIL" }'
echo "Informational: 4 streams gateway / $ST" \
  "$(awk -v a="$(col gateway 3)" -v b="$(col $ST 3)" 'BEGIN {if (a == "NA" || b == "NA" || b <= 0) print "NA"; else printf "%.2fx", a / b}'),"\
  "relay CPU ms/conn gateway / $ST" \
  "$(awk -v a="$(col gateway 8)" -v b="$(col $ST 8)" 'BEGIN {if (a == "NA" || b == "NA" || b <= 0) print "NA"; else printf "%.2fx", a / b}')"
