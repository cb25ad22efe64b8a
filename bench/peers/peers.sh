#!/usr/bin/env bash
# bench/peers/peers.sh - the peers of bench/gateway.sh (make bench), a copy of
# the project's shared relay-pair benchmark; bench/gateway.sh runs it with
# cryptgate-gatewayd as the "gateway" row and reads its table.
#
# peers.sh - loopback benchmark of "wrap a plaintext TCP service in encryption" peers.
#
# Topology per peer (all on 127.0.0.1):
#   iperf3 -c / connbench client -> A (client mode, encrypts) -> B (server mode,
#   decrypts) -> iperf3 -s / connbench echo
# Reports the median over RUNS of: iperf3 single-stream and -P 4 throughput
# (receiver side, Gbit/s); connection-setup rate + p50/p99 latency of CONNS
# sequential short connections (connect, send 1 byte, read echo, close); and
# the CPU time burnt by the two relays themselves (user+sys of the relay
# processes and their descendants, from /proc): CPU-seconds per GB in the
# single-stream test and CPU-ms per connection in the connection test.  The
# CPU columns are the most robust ones on a shared/noisy machine.
# Before each measurement it waits (at most QUIET_WAIT s) until the machine
# is idle (<20% busy), so foreign load hurts less; late starts are counted.
# Also prints `openssl speed` (16 KiB blocks, one core) as the crypto ceiling.
# Runs are interleaved round-robin across peers so drift hits every peer alike.
#
# Usage: [VAR=value ...] ./peers.sh [peer ...]        (run as root: apt + sshd)
#   peers: direct socat spiped stunnel-psk13-aes128 stunnel-psk12-aes256
#          stunnel-psk13-chacha stunnel-cert13-aes256 ssh gateway
#   default: all of them (ssh only when run as root); gateway is added
#   automatically when GATEWAY_CLIENT_CMD and GATEWAY_SERVER_CMD are set.
# Environment:
#   RUNS=3 DURATION=5 (iperf3 -t) CONNS=500 BASE_PORT=24000 QUIET_WAIT=20 PEERS="..."
#   RAW=1 (also print every per-run value)
#   GATEWAY_NAME=gateway
#   GATEWAY_CLIENT_CMD  relay A: listens on @LISTEN@, encrypts to 127.0.0.1:@CONNECT@
#   GATEWAY_SERVER_CMD  relay B: listens on @LISTEN@, decrypts to 127.0.0.1:@CONNECT@
#     Placeholders: @LISTEN@ / @CONNECT@ = port numbers; @DIR@ = scratch dir holding
#     psk.txt ("bench:<64 hex>"), psk.hex (64 hex chars) and key.bin (32 random bytes).
#     Commands must stay in the foreground; they are run in their own session
#     and the whole process group is killed afterwards. Example:
#       GATEWAY_CLIENT_CMD='ourgw client -l 127.0.0.1:@LISTEN@ -c 127.0.0.1:@CONNECT@ -k @DIR@/key.bin' \
#       GATEWAY_SERVER_CMD='ourgw server -l 127.0.0.1:@LISTEN@ -c 127.0.0.1:@CONNECT@ -k @DIR@/key.bin' \
#       ./peers.sh direct socat stunnel-psk13-aes128 gateway
# Notes: stunnel's PSKsecrets uses OpenSSL's legacy PSK callbacks, whose TLS 1.3
# handshake digest is fixed to SHA-256, so TLS_AES_256_GCM_SHA384 cannot be used
# with PSK; AES-256-GCM+PSK is therefore measured over TLS 1.2
# (PSK-AES256-GCM-SHA384) and AES-256-GCM over TLS 1.3 with an ECDSA cert.
set -euo pipefail
trap 'echo "peers.sh: error at line $LINENO" >&2' ERR

RUNS=${RUNS:-3}; DURATION=${DURATION:-5}; CONNS=${CONNS:-500}; BASE_PORT=${BASE_PORT:-24000}
QUIET_WAIT=${QUIET_WAIT:-20}; HZ=$(getconf CLK_TCK); NOISY=0
GATEWAY_NAME=${GATEWAY_NAME:-gateway}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DEFAULT_PEERS="direct socat spiped stunnel-psk13-aes128 stunnel-psk12-aes256 stunnel-psk13-chacha stunnel-cert13-aes256"
[[ $(id -u) == 0 ]] && DEFAULT_PEERS+=" ssh"
[[ -n "${GATEWAY_CLIENT_CMD:-}" && -n "${GATEWAY_SERVER_CMD:-}" ]] && DEFAULT_PEERS+=" gateway"
if (($#)); then PEERS="$*"; else PEERS=${PEERS:-$DEFAULT_PEERS}; fi
IPERF_PORT=$BASE_PORT; ECHO_PORT=$((BASE_PORT + 1)); NEXT_PORT=$((BASE_PORT + 10))

# ---------------------------------------------------------------- setup
need() {  # need <binary> <apt package>
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "installing $2 ..." >&2
  [[ -n "${APT_UPDATED:-}" ]] || { apt-get update -qq; APT_UPDATED=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null
}
need iperf3 iperf3; need gcc gcc; need ss iproute2; need openssl openssl; need setsid util-linux
for p in $PEERS; do case $p in
  socat) need socat socat ;; spiped) need spiped spiped ;; stunnel*) need stunnel stunnel4 ;;
  ssh) need ssh openssh-client; need /usr/sbin/sshd openssh-server ;; esac; done

W=$(mktemp -d -t peers-bench.XXXXXX)
PIDS=()          # process-group ids of everything we started
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM -- "-$p" 2>/dev/null || true; done
  sleep 0.3
  for p in "${PIDS[@]}"; do kill -KILL -- "-$p" 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

spawn() {  # spawn <logname> <cmd...>: own session, so the group can be killed by id
  local n=$1; shift
  setsid "$@" >>"$W/$n.log" 2>&1 < /dev/null &
  LAST_PID=$!; PIDS+=("$LAST_PID")
}
spawn_sh() { local n=$1; shift; spawn "$n" bash -c "exec $*"; }  # for templated commands
killgrp() { local p; for p in "$@"; do kill -TERM -- "-$p" 2>/dev/null || true; done; }
port_busy() { [[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]]; }
wait_port() {  # wait up to 10 s for a listener on 127.0.0.1:$1
  local i; for ((i = 0; i < 100; i++)); do port_busy "$1" && return 0; sleep 0.1; done
  echo "port $1 never started listening" >&2; return 1
}

gcc -O2 -pthread -o "$W/connbench" "$HERE/connbench.c"
openssl rand -hex 32 > "$W/psk.hex"; echo "bench:$(cat "$W/psk.hex")" > "$W/psk.txt"
head -c 32 /dev/urandom > "$W/key.bin"; chmod 600 "$W/psk.txt" "$W/key.bin"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=bench -keyout "$W/cert.key" -out "$W/cert.pem" 2>/dev/null

if port_busy "$IPERF_PORT" || port_busy "$ECHO_PORT"; then
  echo "port $IPERF_PORT or $ECHO_PORT already in use; pick another BASE_PORT" >&2; exit 1; fi
spawn iperf3-server iperf3 -s -B 127.0.0.1 -p "$IPERF_PORT" --idle-timeout 30
spawn echo-server "$W/connbench" echo "$ECHO_PORT"
wait_port "$IPERF_PORT"; wait_port "$ECHO_PORT"

# ---------------------------------------------------------------- relay pairs
stunnel_conf() {  # stunnel_conf <file> <client yes|no> <accept> <connect> <tls lines...>
  local f=$1 cl=$2 acc=$3 con=$4; shift 4
  { printf 'foreground = quiet\npid =\nsyslog = no\ndebug = warning\noutput = %s.log\n' "$f"
    printf '[svc]\nclient = %s\naccept = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\n' "$cl" "$acc" "$con"
    printf '%s\n' "$@"; } > "$f"
}
ssh_setup() {
  [[ -f "$W/ssh_host" ]] && return 0
  mkdir -p /run/sshd
  ssh-keygen -q -t ed25519 -N '' -f "$W/ssh_host"; ssh-keygen -q -t ed25519 -N '' -f "$W/ssh_user"
  cp "$W/ssh_user.pub" "$W/authorized_keys"
  printf 'HostKey %s\nAuthorizedKeysFile %s\nPasswordAuthentication no\nUsePAM no\nPermitRootLogin prohibit-password\nPidFile none\nListenAddress 127.0.0.1\nStrictModes no\n' \
    "$W/ssh_host" "$W/authorized_keys" > "$W/sshd_config"
}

PAIR=()
start_pair() {  # start_pair <peer> <target port>; sets A_PORT, PAIR
  local peer=$1 t=$2 a b
  while port_busy "$NEXT_PORT" || port_busy $((NEXT_PORT + 1)); do NEXT_PORT=$((NEXT_PORT + 2)); done
  a=$NEXT_PORT; b=$((NEXT_PORT + 1)); NEXT_PORT=$((NEXT_PORT + 2))
  A_PORT=$a; PAIR=()
  local psk="PSKsecrets = $W/psk.txt"
  case $peer in
    direct) A_PORT=$t; return 0 ;;
    socat)
      spawn socat-b socat "TCP4-LISTEN:$b,bind=127.0.0.1,reuseaddr,fork" "TCP4:127.0.0.1:$t"; PAIR+=("$LAST_PID")
      spawn socat-a socat "TCP4-LISTEN:$a,bind=127.0.0.1,reuseaddr,fork" "TCP4:127.0.0.1:$b"; PAIR+=("$LAST_PID") ;;
    spiped)
      spawn spiped-b spiped -d -F -n 2000 -s "[127.0.0.1]:$b" -t "[127.0.0.1]:$t" -k "$W/key.bin"; PAIR+=("$LAST_PID")
      spawn spiped-a spiped -e -F -n 2000 -s "[127.0.0.1]:$a" -t "[127.0.0.1]:$b" -k "$W/key.bin"; PAIR+=("$LAST_PID") ;;
    stunnel-*)
      local tls=()
      case $peer in
        stunnel-psk13-aes128) tls=("$psk" "sslVersionMin = TLSv1.3" "ciphersuites = TLS_AES_128_GCM_SHA256") ;;
        stunnel-psk12-aes256) tls=("$psk" "sslVersionMax = TLSv1.2" "ciphers = PSK-AES256-GCM-SHA384") ;;
        stunnel-psk13-chacha) tls=("$psk" "sslVersionMin = TLSv1.3" "ciphersuites = TLS_CHACHA20_POLY1305_SHA256") ;;
        stunnel-cert13-aes256) tls=("sslVersionMin = TLSv1.3" "ciphersuites = TLS_AES_256_GCM_SHA384") ;;
        *) echo "unknown peer $peer" >&2; return 1 ;;
      esac
      local stls=("${tls[@]}")
      [[ $peer == *cert* ]] && stls+=("cert = $W/cert.pem" "key = $W/cert.key")
      stunnel_conf "$W/st-b-$b.conf" no "$b" "$t" "${stls[@]}"
      stunnel_conf "$W/st-a-$a.conf" yes "$a" "$b" "${tls[@]}"
      spawn stunnel-b stunnel "$W/st-b-$b.conf"; PAIR+=("$LAST_PID")
      spawn stunnel-a stunnel "$W/st-a-$a.conf"; PAIR+=("$LAST_PID") ;;
    ssh)
      ssh_setup
      spawn sshd /usr/sbin/sshd -D -e -f "$W/sshd_config" -p "$b"; PAIR+=("$LAST_PID"); wait_port "$b"
      spawn ssh ssh -N -T -p "$b" -i "$W/ssh_user" -c aes256-gcm@openssh.com -o BatchMode=yes \
        -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ExitOnForwardFailure=yes \
        -L "127.0.0.1:$a:127.0.0.1:$t" "$(id -un)@127.0.0.1"; PAIR+=("$LAST_PID") ;;
    gateway)
      local c=${GATEWAY_CLIENT_CMD//@LISTEN@/$a} s=${GATEWAY_SERVER_CMD//@LISTEN@/$b}
      c=${c//@CONNECT@/$b}; s=${s//@CONNECT@/$t}; c=${c//@DIR@/$W}; s=${s//@DIR@/$W}
      spawn_sh gateway-b "$s"; PAIR+=("$LAST_PID")
      spawn_sh gateway-a "$c"; PAIR+=("$LAST_PID") ;;
    *) echo "unknown peer $peer" >&2; return 1 ;;
  esac
  wait_port "$a"; [[ $peer == ssh ]] || wait_port "$b"
}
stop_pair() { ((${#PAIR[@]})) && killgrp "${PAIR[@]}"; PAIR=(); sleep 0.2; }

# ---------------------------------------------------------------- measurements
iperf_gbps() {  # iperf_gbps <port> <streams> -> receiver Gbit/s (or NA)
  local out
  out=$(timeout $((DURATION + 20)) iperf3 -c 127.0.0.1 -p "$1" -P "$2" -t "$DURATION" -f m \
        --connect-timeout 3000 2>&1) || { echo NA; return 0; }
  awk '/receiver/ {v = $(NF-2)} END {if (v == "") print "NA"; else printf "%.2f\n", v / 1000}' <<<"$out"
}
relay_ticks() {  # CPU ticks (user+sys, incl. reaped children) of PAIR processes + descendants
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v roots="${PAIR[*]}" '
    { match($0, /.*\) /); split(substr($0, RLENGTH + 1), f, " ")
      pp[$1] = f[2]; t[$1] = f[12] + f[13] + f[14] + f[15] }
    END { n = split(roots, r, " "); for (i = 1; i <= n; i++) in_[r[i]] = 1
          for (k = 0; k < 6; k++) for (p in pp) if (pp[p] in in_) in_[p] = 1
          for (p in in_) s += t[p]; print s + 0 }'
}
wait_quiet() {  # wait until the whole machine is <20% busy over 1 s (bounded by QUIET_WAIT)
  local end=$((SECONDS + QUIET_WAIT)) a b
  while :; do
    a=$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat); sleep 1
    b=$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN {split(a, x); split(b, y); exit !((y[1]-x[1]) < 0.2 * (y[2]-x[2]))}' && return 0
    ((SECONDS < end)) || { NOISY=$((NOISY + 1)); return 0; }
  done
}
median() {  # median of the numeric args, ignoring NA
  printf '%s\n' "$@" | grep -v '^NA$' | sort -g |
    awk '{a[NR] = $1} END {if (!NR) print "NA"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2] + a[NR/2+1]) / 2}'
}
kv() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$res" | grep . || echo NA; }  # field of connbench output
declare -A S1 S4 CPG CPS P50 P99 CPC
for ((r = 1; r <= RUNS; r++)); do
  for p in $PEERS; do
    echo "run $r/$RUNS: $p" >&2
    if start_pair "$p" "$IPERF_PORT"; then
      wait_quiet; t0=$(relay_ticks); g=$(iperf_gbps "$A_PORT" 1); sleep 0.3; t1=$(relay_ticks)
      S1[$p]+=" $g"; CPG[$p]+=" $(awk -v g="$g" -v t=$((t1 - t0)) -v d="$DURATION" -v hz="$HZ" \
        'BEGIN {if (g == "NA" || g <= 0) print "NA"; else printf "%.2f\n", t / hz / (g * d / 8)}')"
      wait_quiet; S4[$p]+=" $(iperf_gbps "$A_PORT" 4)"
    else S1[$p]+=" NA"; S4[$p]+=" NA"; CPG[$p]+=" NA"; fi
    stop_pair
    res=""; t0=0; t1=0
    if start_pair "$p" "$ECHO_PORT"; then
      wait_quiet; t0=$(relay_ticks)
      res=$(timeout 90 "$W/connbench" client "$A_PORT" "$CONNS" 60 || true); sleep 0.3; t1=$(relay_ticks)
    fi
    stop_pair
    CPS[$p]+=" $(kv conn_per_s)"; P50[$p]+=" $(kv p50_ms)"; P99[$p]+=" $(kv p99_ms)"
    CPC[$p]+=" $(awk -v n="$(kv ok)" -v t=$((t1 - t0)) -v hz="$HZ" \
      'BEGIN {if (n == "NA" || n <= 0) print "NA"; else printf "%.3f\n", t / hz * 1000 / n}')"
    [[ "$(kv fail)" =~ ^(0|NA)$ ]] || echo "  $p: $(kv fail) failed connections" >&2
  done
done

# ---------------------------------------------------------------- report
ssl_speed() {  # ssl_speed <evp cipher> -> median Gbit/s of RUNS x `openssl speed` (16 KiB, 1 core)
  local i v=(); for ((i = 0; i < RUNS; i++)); do
    v+=("$(openssl speed -evp "$1" -bytes 16384 -seconds 2 -mr 2>/dev/null | awk -F: '/^\+F:/ {printf "%.2f", $4 * 8 / 1e9}')"); done
  median "${v[@]}"
}
echo
echo "# peers.sh: $(date -u +%FT%TZ) $(uname -r) cores=$(nproc) runs=$RUNS t=${DURATION}s conns=$CONNS (medians)"
echo "# $(openssl version) | $(iperf3 --version | head -1) | measurements started on a busy machine: $NOISY"
F='%-22s %8s %8s %8s %8s %7s %7s %8s\n'
# shellcheck disable=SC2059
printf "$F" peer "1-stream" "4-stream" "relayCPU" "conn/s" "p50" "p99" "relayCPU"
# shellcheck disable=SC2059
printf "$F" "" "Gbit/s" "Gbit/s" "s/GB" "" "ms" "ms" "ms/conn"
for p in $PEERS; do
  name=$p; [[ $p == gateway ]] && name=$GATEWAY_NAME
  # shellcheck disable=SC2086
  # shellcheck disable=SC2059
  printf "$F" "$name" "$(median ${S1[$p]})" "$(median ${S4[$p]})" "$(median ${CPG[$p]})" \
    "$(median ${CPS[$p]})" "$(median ${P50[$p]})" "$(median ${P99[$p]})" "$(median ${CPC[$p]})"
done
echo
echo "crypto ceiling (openssl speed -evp, 16 KiB blocks, 1 core, Gbit/s):"
echo "  aes-256-gcm        $(ssl_speed aes-256-gcm)"
echo "  aes-128-gcm        $(ssl_speed aes-128-gcm)"
echo "  chacha20-poly1305  $(ssl_speed chacha20-poly1305)"
if [[ -n "${RAW:-}" ]]; then
  echo; echo "raw per-run values:"
  for p in $PEERS; do
    echo "  $p: s1=[${S1[$p]# }] s4=[${S4[$p]# }] cpu/GB=[${CPG[$p]# }] cps=[${CPS[$p]# }]" \
         "p99=[${P99[$p]# }] cpu/conn=[${CPC[$p]# }]"; done
fi
