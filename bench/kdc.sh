#!/usr/bin/env bash
# bench/kdc.sh - the KDC benchmark (make bench; never part of make check).
#
# Builds cryptgate (make BUILD=$BUILD), sets up a throwaway KDC in a temp dir
# (cryptgate kdc init, HOSTS host identities made with cryptgate keygen and
# registered with cryptgate kdc host add --addr 127.0.0.1, and a policy
# allowing host I to ask for keys to host I+1 for service "bench").  Memory
# check first: cryptgate-kdcd is filled with FILL keys (kdcload -m fill) and
# its VmRSS/VmHWM compared with 64 MiB, then read again after a restart and
# 5 s of load.  Then RUNS runs, each on a fresh copy of that filled database:
# start cryptgate-kdcd -d on a free 127.0.0.1 port and run bench/kdcload (C,
# libcryptgate) for REQUEST and RETRIEVE at THREADS clients for DURATION s
# each, once per client mode:
#   full   the load generator does a real client's work on every response
#          (strict decode, KDC signature, open the sealed key): the row that
#          compares to krb5load, which does its full client work too
#   light  it only checks the response type, nonce and req_hash, so more of
#          the two shared cores is left to the KDC (informational)
# After each run it runs bench/peers/krb5kdc.sh once (MIT krb5kdc, AS and TGS
# at the same THREADS, single process and -w 2), and at the end prints one
# table: medians of the runs side by side, ratios REQUEST/AS (ops/s, p99) and
# RETRIEVE/TGS, the targets at 64 clients, and the memory figures.
# docs/PERFORMANCE.md explains the method and holds the results.
#
# Usage: [VAR=value ...] bench/kdc.sh
#   BUILD=build  RUNS=3  DURATION=10  THREADS=1,16,64  CLIENT_MODES="full light"
#   HOSTS=64  FILL=100000  KRB5=1 (0: skip the krb5kdc peer)
#   KRB5_WORKERS="0 2"  KEEP=1 (keep the temp dir)  RAW=1 (every run's table)
# Everything listens on and connects to 127.0.0.1 only.  The krb5kdc peer
# installs its Debian packages with apt-get if they are missing (root).
set -euo pipefail
trap 'echo "kdc.sh: error at line $LINENO" >&2' ERR

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build}; RUNS=${RUNS:-3}; DURATION=${DURATION:-10}
THREADS=${THREADS:-1,16,64}; CLIENT_MODES=${CLIENT_MODES:-"full light"}
HOSTS=${HOSTS:-64}; FILL=${FILL:-100000}; KRB5=${KRB5:-1}
KRB5_WORKERS=${KRB5_WORKERS:-"0 2"}; SERVICE=bench
export PATH=$PATH:/usr/sbin:/sbin
cd "$ROOT"

echo "building ($BUILD) ..." >&2
make --no-print-directory BUILD="$BUILD" "$BUILD/bin/cryptgate" "$BUILD/bin/cryptgate-kdcd" \
  "$BUILD/bench/kdcload" >&2
CG=$ROOT/$BUILD/bin/cryptgate; KDCD=$ROOT/$BUILD/bin/cryptgate-kdcd
LOAD=$ROOT/$BUILD/bench/kdcload
[[ -x $KDCD ]] || { echo "kdc.sh: $KDCD not built (no src/kdcd yet?)" >&2; exit 1; }
if nm "$KDCD" 2>/dev/null | grep __asan_init >/dev/null; then
  echo "kdc.sh: WARNING: $KDCD is a sanitized build; the figures mean nothing" >&2
fi

W=$(mktemp -d -t cg-kdc-bench.XXXXXX); KDC_PID=; KDC_DIR=; PORT=
stop_kdc() {  # TERM our KDC, KILL it after 5 s
  [[ -n $KDC_PID ]] || return 0
  local i
  kill -TERM "$KDC_PID" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do kill -0 "$KDC_PID" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$KDC_PID" 2>/dev/null && { kill -KILL "$KDC_PID" 2>/dev/null || true; }
  wait "$KDC_PID" 2>/dev/null || true; KDC_PID=
}
cleanup() { stop_kdc; [[ -n "${KEEP:-}" ]] && echo "kept $W" >&2 || rm -rf "$W"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {  # a free TCP port below the ephemeral range
  local i p
  for ((i = 0; i < 200; i++)); do
    p=$((21000 + RANDOM % 9000))
    [[ -z $(ss -Htan "( sport = :$p )" 2>/dev/null) ]] && { echo "$p"; return 0; }
  done
  echo "kdc.sh: no free port" >&2; return 1
}

# A KDC directory: kdc.conf (relative paths), database, keys, HOSTS hosts.
setup_kdc() {  # setup_kdc DIR
  local d=$1 i
  mkdir -p "$d"
  cat >"$d/kdc.conf" <<EOF
[kdc]
name = bench
listen = 127.0.0.1:7441
database = kdc.db
signing_key = kdc.key
master_key = master.key
EOF
  "$CG" kdc init -f "$d/kdc.conf" >"$d/setup.log"
  for ((i = 0; i < HOSTS; i++)); do
    "$CG" kdc host add -f "$d/kdc.conf" --name "host$i" --addr 127.0.0.1 \
      "$W/hosts/host$i.pub" >>"$d/setup.log"
  done
  for ((i = 0; i < HOSTS; i++)); do
    "$CG" kdc policy allow -f "$d/kdc.conf" "host$i" "host$(((i + 1) % HOSTS))" \
      "$SERVICE" >>"$d/setup.log"
  done
}

start_kdc() {  # start_kdc DIR: on a fresh free port; waits (max 10 s) to listen
  local d=$1 i
  PORT=$(free_port); KDC_DIR=$d
  sed -i "s/^listen = .*/listen = 127.0.0.1:$PORT/" "$d/kdc.conf"
  "$KDCD" -f "$d/kdc.conf" -d -v >>"$d/kdcd.log" 2>&1 </dev/null &  # -v: stats at exit
  KDC_PID=$!
  for ((i = 0; i < 100; i++)); do
    [[ -n $(ss -Htln "( sport = :$PORT )" 2>/dev/null) ]] && break
    kill -0 "$KDC_PID" 2>/dev/null || break
    sleep 0.1
  done
  if ! kill -0 "$KDC_PID" 2>/dev/null || ((i == 100)); then
    echo "kdc.sh: cryptgate-kdcd did not start:" >&2; tail -20 "$d/kdcd.log" >&2; exit 1
  fi
}

load() {  # load ARGS...: kdcload against the running KDC
  "$LOAD" -a "127.0.0.1:$PORT" -k "$KDC_DIR/kdc.pub" -D "$W/hosts" -p "$KDC_PID" \
    -n "$HOSTS" -s "$SERVICE" "$@"
}

median() { sort -g | awk '{a[NR]=$1} END{if(NR%2)print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# --- Setup ---------------------------------------------------------------
echo "setting up $HOSTS hosts in $W ..." >&2
mkdir -p "$W/hosts"
for ((i = 0; i < HOSTS; i++)); do
  "$CG" keygen -o "$W/hosts/host$i" -c "host$i" >/dev/null
done
setup_kdc "$W/base"

idle_before=$(awk '/^cpu /{print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat)
sleep 1
idle_before=$(awk -v b="$idle_before" '/^cpu /{split(b, x, " ");
  printf "%.0f", 100 * ($5 + $6 - x[1]) / ($2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 - x[2])}' /proc/stat)
echo "cryptgate $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?')," \
  "$(nproc) CPUs, $(uname -r), runs=$RUNS duration=${DURATION}s threads=$THREADS" \
  "client modes: $CLIENT_MODES; machine idle before the run: ${idle_before}%"
((idle_before >= 90)) ||
  echo "kdc.sh: WARNING: the machine is busy (${idle_before}% idle): the figures will be low" >&2

# --- Memory: a fresh KDC filled with FILL keys -----------------------------
# The filled database is also the starting point of every run below.
echo "memory check: filling a fresh KDC with $FILL keys ..." >&2
start_kdc "$W/base"
load -m fill -c "$FILL" -t 64 --light -l fill >/dev/null 2>"$W/fill.err" ||
  { echo "kdc.sh: fill reported errors:" >&2; grep -v '^F ' "$W/fill.err" >&2 || true; }
filled=; read -r _ _ _ filled fill_s fill_rss fill_hwm fill_err < <(grep '^F ' "$W/fill.err") || true
stop_kdc
# Restarted on that database (no replay entries in memory), under load.
start_kdc "$W/base"
load -m request,retrieve -t 64 -d 5 --light -l rss >/dev/null 2>"$W/rss.err" || true
rr=(); read -r -a rr < <(grep '^R rss retrieve' "$W/rss.err") || true
stop_kdc

# --- cryptgate-kdcd --------------------------------------------------------
# Every run starts from a copy of the filled database.
: >"$W/results"; : >"$W/krb5.results"
for ((run = 1; run <= RUNS; run++)); do
  rm -rf "$W/run"; cp -a "$W/base" "$W/run"
  start_kdc "$W/run"
  if ((run == 1)); then  # smoke test: one client, both ops, full checks
    load -m request,retrieve -t 1 -d 1 --verify -l smoke >"$W/smoke.out" 2>&1 || {
      echo "kdc.sh: smoke test failed:" >&2; cat "$W/smoke.out" >&2
      tail -20 "$W/run/kdcd.log" >&2; exit 1; }
  fi
  for mode in $CLIENT_MODES; do
    out=$(load -m request,retrieve -t "$THREADS" -d "$DURATION" "--$mode" \
      -l "$mode" 2>"$W/load.err") || echo "kdc.sh: run $run $mode: kdcload reported errors" >&2
    grep '^R ' "$W/load.err" >>"$W/results" || true
    grep -v '^R ' "$W/load.err" >&2 || true
    if [[ -n "${RAW:-}" ]]; then echo "--- run $run, $mode"; echo "$out"; fi
  done
  stop_kdc
  grep 'served' "$W/run/kdcd.log" | tail -1 | sed "s/^/run $run: /" >&2 || true
  nkeys=$("$CG" kdc key list -f "$W/run/kdc.conf" 2>/dev/null | grep -c ' valid$' || true)
  echo "run $run: the KDC holds $nkeys valid keys" >&2

  # The peer, right after (runs interleaved, so both see the same machine).
  if [[ $KRB5 != 0 ]]; then
    echo "run $run: MIT krb5kdc (bench/peers/krb5kdc.sh) ..." >&2; rm -f "$W/krb5.run"
    KEEP='' RAW='' RUNS=1 DURATION=$DURATION THREADS=$THREADS MODES=as,tgs WORKERS=$KRB5_WORKERS \
      RESULTS=$W/krb5.run bash "$ROOT/bench/peers/krb5kdc.sh" >"$W/krb5.out" 2>&1 ||
      { echo "kdc.sh: krb5kdc.sh failed:" >&2; tail -20 "$W/krb5.out" >&2; }
    cat "$W/krb5.run" >>"$W/krb5.results" 2>/dev/null || true
    grep -E '^realm|^run ' "$W/krb5.out" | sed "s/^/run $run: krb5kdc.sh: /" >&2 || true
    if [[ -n "${RAW:-}" ]]; then echo "--- run $run, krb5kdc"; sed -n '/^median/,$p' "$W/krb5.out"; fi
  fi
done

# --- Tables ----------------------------------------------------------------
# kdcload R: label op T n ops/s p50 p99 kdc_us gen_us kdc_wB rss_kB hwm_kB idle errors
# krb5load R: label op T n ops/s p50 p99 kdc_us cli_us kdc_wB idle errors
col() {  # col FILE LABEL OP T COLUMN: median over the runs
  awk -v l="$2" -v o="$3" -v t="$4" -v c="$5" '$2==l && $3==o && $4==t {print $c}' "$1" | median
}
echo
echo "cryptgate-kdcd, median of $RUNS runs x ${DURATION}s (kdc_us/op: the KDC's user+sys CPU per op;"
echo " gen_us/op: the load generator's CPU per op, same 2 cores; wB/op: KDC write_bytes per op)"
printf '%-6s %-8s %3s %9s %7s %7s %9s %9s %7s %7s %5s %6s\n' client op T ops/s p50_ms p99_ms \
  kdc_us/op gen_us/op wB/op rssMiB idle% errors
for mode in $CLIENT_MODES; do for op in request retrieve; do
  for t in ${THREADS//,/ }; do
    printf '%-6s %-8s %3s %9.0f %7.2f %7.2f %9.0f %9.0f %7.0f %7.1f %5.1f %6.0f\n' "$mode" \
      "$op" "$t" "$(col "$W/results" "$mode" "$op" "$t" 6)" \
      "$(col "$W/results" "$mode" "$op" "$t" 7)" "$(col "$W/results" "$mode" "$op" "$t" 8)" \
      "$(col "$W/results" "$mode" "$op" "$t" 9)" "$(col "$W/results" "$mode" "$op" "$t" 10)" \
      "$(col "$W/results" "$mode" "$op" "$t" 11)" \
      "$(col "$W/results" "$mode" "$op" "$t" 12 | awk '{print $1 / 1024}')" \
      "$(col "$W/results" "$mode" "$op" "$t" 14)" "$(col "$W/results" "$mode" "$op" "$t" 15)"
  done
done; done

K=$W/krb5.results
if [[ -s ${K:-} ]]; then
  echo
  echo "MIT krb5kdc (bench/peers/krb5kdc.sh), median of $RUNS runs x ${DURATION}s" \
    "(as = one AS exchange = 2 KDC requests)"
  printf '%-6s %-8s %3s %9s %7s %7s %9s %9s %7s %5s %6s\n' kdc op T ops/s p50_ms p99_ms \
    kdc_us/op cli_us/op wB/op idle% errors
  for lab in $(awk '{print $2}' "$K" | awk '!s[$0]++'); do for op in as tgs; do
    for t in ${THREADS//,/ }; do
      printf '%-6s %-8s %3s %9.0f %7.2f %7.2f %9.0f %9.0f %7.0f %5.1f %6.0f\n' "$lab" "$op" \
        "$t" "$(col "$K" "$lab" "$op" "$t" 6)" "$(col "$K" "$lab" "$op" "$t" 7)" \
        "$(col "$K" "$lab" "$op" "$t" 8)" "$(col "$K" "$lab" "$op" "$t" 9)" \
        "$(col "$K" "$lab" "$op" "$t" 10)" "$(col "$K" "$lab" "$op" "$t" 11)" \
        "$(col "$K" "$lab" "$op" "$t" 12)" "$(col "$K" "$lab" "$op" "$t" 13)"
    done
  done; done

  # Side by side: for each (op, T) the krb5kdc mode with the higher median
  # ops/s; the "full" client rows are the ones held to the targets.
  echo
  echo "Side by side (krb5kdc: the faster of single process / -w 2 per row; ratios = cryptgate / krb5kdc;"
  echo " targets at 64 clients, full client rows: REQUEST >= 1.4x AS/s with p99 <= 0.6x, RETRIEVE >= 1.0x TGS/s)"
  printf '%-13s %3s %-6s | %8s %7s %7s %7s | %-5s %8s %7s %7s %7s | %6s %6s | %s\n' pair T client \
    ops/s p50_ms p99_ms kdc_us krb5 ops/s p50_ms p99_ms kdc_us ops_x p99_x target
  for pair in request:as retrieve:tgs; do
    op=${pair%%:*}; kop=${pair##*:}
    for t in ${THREADS//,/ }; do
      best=; bops=-1
      for lab in $(awk '{print $2}' "$K" | awk '!s[$0]++'); do
        o=$(col "$K" "$lab" "$kop" "$t" 6)
        [[ -n $o ]] && awk "BEGIN{exit !($o > $bops)}" && { best=$lab; bops=$o; }
      done
      [[ -n $best ]] || continue
      kp50=$(col "$K" "$best" "$kop" "$t" 7); kp99=$(col "$K" "$best" "$kop" "$t" 8)
      kcpu=$(col "$K" "$best" "$kop" "$t" 9)
      for mode in $CLIENT_MODES; do
        ops=$(col "$W/results" "$mode" "$op" "$t" 6); p50=$(col "$W/results" "$mode" "$op" "$t" 7)
        p99=$(col "$W/results" "$mode" "$op" "$t" 8); cpu=$(col "$W/results" "$mode" "$op" "$t" 9)
        [[ -n $ops ]] || continue
        rx=$(awk "BEGIN{printf \"%.2f\", $ops / $bops}")
        px=$(awk "BEGIN{printf \"%.2f\", ($kp99 > 0) ? $p99 / $kp99 : 0}")
        verdict=-
        if ((t == 64)); then
          if [[ $op == request ]]; then
            ok=$(awk "BEGIN{print ($rx >= 1.4 && $px <= 0.6) ? \"PASS\" : \"FAIL\"}")
            want=">=1.4x, p99<=0.6x"
          else
            ok=$(awk "BEGIN{print ($rx >= 1.0) ? \"PASS\" : \"FAIL\"}"); want=">=1.0x"
          fi
          [[ $mode == full ]] && verdict="$want: $ok" || verdict="($want: $ok, info)"
        fi
        printf '%-13s %3s %-6s | %8.0f %7.2f %7.2f %7.0f | %-5s %8.0f %7.2f %7.2f %7.0f | %6s %6s | %s\n' \
          "${op^^}/${kop^^}" "$t" "$mode" "$ops" "$p50" "$p99" "$cpu" "$best" "$bops" "$kp50" \
          "$kp99" "$kcpu" "$rx" "$px" "$verdict"
      done
    done
  done
else
  echo; echo "(no krb5kdc results: KRB5=0 or the peer failed)"
fi

echo
if [[ -n ${filled:-} ]]; then
  awk -v n="$filled" -v s="$fill_s" -v r="$fill_rss" -v h="$fill_hwm" -v e="$fill_err" 'BEGIN{
    printf "Memory: %d keys issued into a fresh KDC in %.1f s (%.0f/s, 64 clients, %d errors):\n", n, s, n / s, e
    printf "  after the fill  VmRSS %.1f MiB, VmHWM %.1f MiB (target <= 64 MiB: %s)\n", r / 1024, h / 1024,
      (h <= 65536) ? "PASS" : "FAIL" }'
  if ((${#rr[@]} > 13)); then
    awk -v r="${rr[11]}" -v h="${rr[12]}" 'BEGIN{
      printf "  restarted on that database, after 5 s of REQUEST + RETRIEVE at 64 clients: VmRSS %.1f MiB, VmHWM %.1f MiB\n",
      r / 1024, h / 1024 }'
  fi
else
  echo "Memory: the fill did not complete (see above)"
fi
