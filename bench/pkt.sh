#!/usr/bin/env bash
# bench/pkt.sh - the packet encryptor benchmark (make bench; never part of
# make check).  Needs root (network namespaces, iptables, NFQUEUE).
#
# Two namespaces joined by one veth pair (10.78.0.1 - 10.78.0.2), iperf3
# (1 flow and FLOWS flows, DURATION s each) over:
#   plain       the veth, nothing in the path (TSO/GSO on)
#   accept      NFQUEUE accept-all on both hosts: bench/pkt/nfqaccept, built
#               from cryptgate-pktd's own queue module (src/pktd/nfq.c,
#               batched reads and verdicts), on cryptgate-pktd's own rules
#               (QUEUES queues, HMARK); bare verdicts
#   accept-copy the same, but every verdict carries the packet back, as
#               cryptgate-pktd's do (the cost of the copy without crypto)
#   pktd        cryptgate-pktd on both hosts, QUEUES queues each
#   wireguard-go  Debian's wireguard-go over TUN (10.78.1.1 - 10.78.1.2)
# RUNS runs, interleaved round-robin; the table shows medians.  The CPU
# cost per segment is the CPU time (user + system) of the two queue
# processes during the run divided by the segments they handled (each
# segment passes a queue on both hosts: pktd = in_pkts + out_pkts of both
# daemons).  The targets (issue 6): pktd 1-flow >= 0.8x accept-all and
# >= 2x wireguard-go.
#
# Usage: [VAR=value ...] bench/pkt.sh
#   BUILD=build  RUNS=3 (1: quick)  DURATION=5  FLOWS=4
#   QUEUES=<CPUs, at most 4>  PATHS="plain accept accept-copy pktd wireguard-go"
#   KEEP=1 (keep the scratch directory)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
RUNS=${RUNS:-3}
DURATION=${DURATION:-5}
FLOWS=${FLOWS:-4}
ncpu=$(nproc)
QUEUES=${QUEUES:-$((ncpu > 4 ? 4 : ncpu))}
PATHS=${PATHS:-"plain accept accept-copy pktd wireguard-go"}
export PATH=$PATH:/usr/sbin:/sbin

if [[ $(id -u) != 0 ]]; then
  echo "pkt.sh: skipped: needs root (network namespaces, iptables, NFQUEUE)" >&2
  exit 0
fi
for t in ip iptables iperf3; do
  command -v "$t" >/dev/null || { echo "pkt.sh: $t missing (mk/deps.sh)" >&2; exit 1; }
done
if [[ " $PATHS " == *" wireguard-go "* ]] &&
  ! { command -v wireguard-go && command -v wg; } >/dev/null; then
  echo "pkt.sh: installing wireguard-go wireguard-tools (the peer)" >&2
  { apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends wireguard-go wireguard-tools; } >&2 || true
fi
if [[ " $PATHS " == *" wireguard-go "* ]] &&
  ! { command -v wireguard-go && command -v wg; } >/dev/null; then
  echo "pkt.sh: wireguard-go or wg missing (apt-get install --no-install-recommends" \
    "wireguard-go wireguard-tools): no wireguard-go row" >&2
  PATHS=$(tr ' ' '\n' <<<"$PATHS" | grep -vx wireguard-go | tr '\n' ' ')
fi

NEED_PKTD=false
[[ " $PATHS " =~ " "(accept|accept-copy|pktd)" " ]] && NEED_PKTD=true
echo "building ($BUILD) ..." >&2
if $NEED_PKTD; then
  make --no-print-directory BUILD="$BUILD" "$BUILD/bin/cryptgate-pktd" "$BUILD/bin/cryptgate" >&2
fi
PKTD=$ROOT/$BUILD/bin/cryptgate-pktd
CG=$ROOT/$BUILD/bin/cryptgate
if nm "$PKTD" 2>/dev/null | grep __asan_init >/dev/null; then
  echo "pkt.sh: WARNING: $PKTD is a sanitized build; the figures mean nothing" >&2
fi

W=$(mktemp -d -t cg-pkt-bench.XXXXXX)
NA=cgpkb-$$-a NB=cgpkb-$$-b
MYPIDS=()
PKTD_a='' PKTD_b='' ACC_a='' ACC_b=''
cleanup() {
  local p n
  for p in "${MYPIDS[@]+"${MYPIDS[@]}"}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${MYPIDS[@]+"${MYPIDS[@]}"}"; do wait "$p" 2>/dev/null || true; done
  for n in "$NA" "$NB"; do
    for p in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
  done
  sleep 0.2
  ip netns del "$NA" 2>/dev/null || true
  ip netns del "$NB" 2>/dev/null || true
  if [[ -n ${KEEP:-} ]]; then echo "kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "pkt.sh: error at line $LINENO" >&2' ERR

echo "building the accept-all baseline ..." >&2
# shellcheck disable=SC2046
$NEED_PKTD && gcc -std=c11 -D_GNU_SOURCE -O2 -g -Iinclude -Isrc/pktd -o "$W/nfqaccept" \
  bench/pkt/nfqaccept.c src/pktd/nfq.c "$BUILD/libcryptgate.a" \
  $(pkg-config --libs libnetfilter_queue libmnl libssl libcrypto) -lpthread

nsx() { local n=$1; shift; ip netns exec "$n" "$@"; }

# --- namespaces -------------------------------------------------------------------
ip netns add "$NA"
ip netns add "$NB"
ip link add ve0 netns "$NA" type veth peer name ve0 netns "$NB"
nsx "$NA" ip addr add 10.78.0.1/24 dev ve0
nsx "$NB" ip addr add 10.78.0.2/24 dev ve0
for n in "$NA" "$NB"; do nsx "$n" ip link set lo up; nsx "$n" ip link set ve0 up; done

umask 077
printf 'kdc1-%s:%s\n' "$(openssl rand -hex 16)" "$(openssl rand -hex 32)" >"$W/key.cfg"
KID=$(cut -d: -f1 "$W/key.cfg")
for h in a:10.78.0.2 b:10.78.0.1; do
  cat >"$W/${h%%:*}.conf" <<EOF
[pkt]
queues = $QUEUES
queue_num = 0
status_socket = $W/${h%%:*}.sock

[policy bench]
peer = ${h#*:}/32
ports = 5201
direction = both
key_file = $W/key.cfg
key_identity = $KID
EOF
done

# iperf3 servers in B: 5201 (protected by the rules), 5300 (plain, wg).
for p in 5201 5300; do
  nsx "$NB" iperf3 -s -p "$p" >"$W/iperf-s-$p.log" 2>&1 &
  MYPIDS+=($!)
done

# wireguard-go between the namespaces (its interfaces stay up throughout).
wg_setup() {
  local h i n
  nsx "$NA" wg genkey >"$W/wga.key"; nsx "$NA" wg pubkey <"$W/wga.key" >"$W/wga.pub"
  nsx "$NB" wg genkey >"$W/wgb.key"; nsx "$NB" wg pubkey <"$W/wgb.key" >"$W/wgb.pub"
  for h in a b; do
    n=$NA; [[ $h == b ]] && n=$NB
    WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 ip netns exec "$n" \
      wireguard-go -f "wg$h" >"$W/wg$h.log" 2>&1 &
    MYPIDS+=($!)
  done
  for i in $(seq 1 50); do
    nsx "$NA" ip link show wga >/dev/null 2>&1 && nsx "$NB" ip link show wgb >/dev/null 2>&1 && break
    sleep 0.1
  done
  nsx "$NA" wg set wga private-key "$W/wga.key" listen-port 51820 \
    peer "$(cat "$W/wgb.pub")" allowed-ips 10.78.1.2/32 endpoint 10.78.0.2:51820
  nsx "$NB" wg set wgb private-key "$W/wgb.key" listen-port 51820 \
    peer "$(cat "$W/wga.pub")" allowed-ips 10.78.1.1/32 endpoint 10.78.0.1:51820
  nsx "$NA" ip addr add 10.78.1.1/24 dev wga
  nsx "$NB" ip addr add 10.78.1.2/24 dev wgb
  nsx "$NA" ip link set wga up
  nsx "$NB" ip link set wgb up
}
if [[ " $PATHS " == *" wireguard-go "* ]]; then
  wg_setup || { echo "pkt.sh: wireguard-go setup failed: no wireguard-go row" >&2
    PATHS=$(tr ' ' '\n' <<<"$PATHS" | grep -vx wireguard-go | tr '\n' ' '); }
fi

# --- helpers ----------------------------------------------------------------------
cpu_ticks() { # cpu_ticks PID...: user + system clock ticks of the processes
  local p t=0 v
  for p in "$@"; do
    v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)
    t=$((t + v))
  done
  echo "$t"
}
stat_sum() { # stat_sum KEY: KEY of the total line of both daemons, summed
  local s=0 v h
  for h in a b; do
    v=$("$CG" status -r -s "$W/$h.sock" 2>/dev/null | grep '^queue=total' |
      tr ' ' '\n' | sed -n "s/^$1=//p")
    s=$((s + ${v:-0}))
  done
  echo "$s"
}
pktd_start() { # pktd_start: both daemons, wait for their status sockets
  local h n
  for h in a b; do
    n=$NA; [[ $h == b ]] && n=$NB
    ip netns exec "$n" "$PKTD" -d -f "$W/$h.conf" >>"$W/pktd-$h.log" 2>&1 &
    eval "PKTD_$h=$!"
    MYPIDS+=($!)
  done
  for _ in $(seq 1 100); do
    "$CG" status -r -s "$W/a.sock" >/dev/null 2>&1 &&
      "$CG" status -r -s "$W/b.sock" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "pkt.sh: cryptgate-pktd did not start (see $W/pktd-*.log)" >&2
  tail -3 "$W"/pktd-*.log >&2
  return 1
}
pktd_stop() {
  kill -TERM "$PKTD_a" "$PKTD_b" 2>/dev/null || true
  wait "$PKTD_a" "$PKTD_b" 2>/dev/null || true
}
accept_start() { # accept_start [-e]
  local n
  for n in a b; do
    local ns=$NA; [[ $n == b ]] && ns=$NB
    ip netns exec "$ns" "$W/nfqaccept" "$@" 0 "$QUEUES" >"$W/acc-$n.out" 2>"$W/acc-$n.err" &
    eval "ACC_$n=$!"
    MYPIDS+=($!)
  done
  for _ in $(seq 1 50); do
    grep -q bound "$W/acc-a.err" && grep -q bound "$W/acc-b.err" && return 0
    sleep 0.1
  done
  echo "pkt.sh: nfqaccept did not start" >&2; cat "$W"/acc-*.err >&2
  return 1
}
accept_stop() {
  kill -TERM "$ACC_a" "$ACC_b" 2>/dev/null || true
  wait "$ACC_a" "$ACC_b" 2>/dev/null || true
}
accept_packets() {
  cat "$W/acc-a.out" "$W/acc-b.out" | sed -n 's/^packets=\([0-9]*\).*/\1/p' |
    awk '{s += $1} END {print s + 0}'
}
iperf() { # iperf ADDR PORT FLOWS: Gbit/s received (or NA)
  local out
  out=$(nsx "$NA" timeout $((DURATION + 20)) iperf3 -c "$1" -p "$2" -P "$3" \
    -t "$DURATION" -f m 2>&1) || { echo NA; return 0; }
  awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") v = $(i - 1) }
    END { if (v == "") print "NA"; else printf "%.3f\n", v / 1000 }' <<<"$out"
}

# --- the runs ---------------------------------------------------------------------
# The rules: cryptgate-pktd installs them once; they stay while it is
# stopped and carry the accept-all baseline too.
if $NEED_PKTD; then pktd_start; pktd_stop; fi
TCK=$(getconf CLK_TCK)
echo "cryptgate $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?')," \
  "$ncpu CPUs, $(uname -r), runs=$RUNS duration=${DURATION}s flows=1,$FLOWS queues=$QUEUES," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg)"
: >"$W/results"
for ((r = 1; r <= RUNS; r++)); do
  for path in $PATHS; do
    for fl in 1 "$FLOWS"; do
      cost=NA
      case $path in
      plain) g=$(iperf 10.78.0.2 5300 "$fl") ;;
      accept | accept-copy)
        if [[ $path == accept ]]; then a=; else a=-e; fi
        if ! accept_start $a; then
          echo "$path $fl NA NA" >>"$W/results"; continue
        fi
        t0=$(cpu_ticks "$ACC_a" "$ACC_b")
        g=$(iperf 10.78.0.2 5201 "$fl")
        t1=$(cpu_ticks "$ACC_a" "$ACC_b")
        accept_stop
        segs=$(accept_packets)
        cost=$(awk -v t=$((t1 - t0)) -v k="$TCK" -v s="$segs" \
          'BEGIN { if (s > 0) printf "%.2f", t / k / s * 1e6; else print "NA" }')
        ;;
      pktd)
        if ! pktd_start; then
          echo "$path $fl NA NA" >>"$W/results"; continue
        fi
        s0=$(($(stat_sum in_pkts) + $(stat_sum out_pkts)))
        t0=$(cpu_ticks "$PKTD_a" "$PKTD_b")
        g=$(iperf 10.78.0.2 5201 "$fl")
        t1=$(cpu_ticks "$PKTD_a" "$PKTD_b")
        sleep 0.6 # the workers publish their counters a few times a second
        segs=$(($(stat_sum in_pkts) + $(stat_sum out_pkts) - s0))
        mf=$(stat_sum mac_failures)
        pktd_stop
        cost=$(awk -v t=$((t1 - t0)) -v k="$TCK" -v s="$segs" \
          'BEGIN { if (s > 0) printf "%.2f", t / k / s * 1e6; else print "NA" }')
        [[ $mf == 0 ]] || echo "pkt.sh: pktd counted $mf MAC failures" >&2
        ;;
      wireguard-go)
        g=$(iperf 10.78.1.2 5300 "$fl")
        ;;
      esac
      echo "run $r: $path, $fl flow(s): $g Gbit/s, CPU us/segment $cost" >&2
      echo "$path $fl $g $cost" >>"$W/results"
    done
  done
done

# --- summary ----------------------------------------------------------------------
med() { # med PATH FLOWS COLUMN: the median of a column over the runs
  awk -v p="$1" -v f="$2" -v c="$3" '$1 == p && $2 == f && $c != "NA" { v[n++] = $c }
    END { if (n == 0) { print "NA"; exit }
      for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
      if (n % 2) print v[int(n / 2)]; else printf "%.3f\n", (v[n / 2 - 1] + v[n / 2]) / 2 }' "$W/results"
}
echo
echo "Packet encryptor across a veth pair (Gbit/s, median of $RUNS; us/seg: CPU microseconds of the queue processes per packet queued, each segment being queued once on each host):"
printf '  %-14s %14s %14s %16s %16s\n' path "1 flow" "$FLOWS flows" "us/seg 1 flow" "us/seg $FLOWS flows"
for path in $PATHS; do
  printf '  %-14s %14s %14s %16s %16s\n' "$path" "$(med "$path" 1 3)" "$(med "$path" "$FLOWS" 3)" \
    "$(med "$path" 1 4)" "$(med "$path" "$FLOWS" 4)"
done
target() { # target DESC A B GOAL: A/B against ">= GOAL"
  awk -v d="$1" -v a="$2" -v b="$3" -v g="$4" 'BEGIN {
    if (a == "NA" || b == "NA" || b + 0 <= 0) { printf "  %-46s %8s  (target >= %sx)  n/a\n", d, "NA", g; exit }
    r = a / b; printf "  %-46s %7.2fx  (target >= %sx)  %s\n", d, r, g, (r >= g) ? "PASS" : "FAIL" }'
}
echo
echo "Packet encryptor targets (ratios of this run's medians):"
target "1 flow, pktd / NFQUEUE accept-all" "$(med pktd 1 3)" "$(med accept 1 3)" 0.8
target "1 flow, pktd / wireguard-go" "$(med pktd 1 3)" "$(med wireguard-go 1 3)" 2
echo "Informational: 1 flow pktd / accept-copy" \
  "$(awk -v a="$(med pktd 1 3)" -v b="$(med accept-copy 1 3)" 'BEGIN {if (a == "NA" || b == "NA" || b <= 0) print "NA"; else printf "%.2fx", a / b}'),"\
  "$FLOWS flows pktd / accept-all" \
  "$(awk -v a="$(med pktd "$FLOWS" 3)" -v b="$(med accept "$FLOWS" 3)" 'BEGIN {if (a == "NA" || b == "NA" || b <= 0) print "NA"; else printf "%.2fx", a / b}'),"\
  "$FLOWS flows pktd / wireguard-go" \
  "$(awk -v a="$(med pktd "$FLOWS" 3)" -v b="$(med wireguard-go "$FLOWS" 3)" 'BEGIN {if (a == "NA" || b == "NA" || b <= 0) print "NA"; else printf "%.2fx", a / b}')"
nsx "$NA" "$PKTD" -x -f "$W/a.conf" >/dev/null 2>&1 || true
nsx "$NB" "$PKTD" -x -f "$W/b.conf" >/dev/null 2>&1 || true
