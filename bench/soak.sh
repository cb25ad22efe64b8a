#!/usr/bin/env bash
# bench/soak.sh - the soak benchmark: a KDC, a gateway pair and CLIENTS
# connections at once for DURATION seconds, with random disconnects, a KDC
# restart and a backend restart; RSS and descriptors must stay flat, no byte
# may come back wrong, no daemon may die.  Not part of make check, and not
# run by make bench unless SOAK=1 (it takes DURATION + about a minute).
#
# On 127.0.0.1, in a temp dir: a KDC (kdc1, SQLite, key_lifetime 60s, so the
# client gateway asks for a new key about every 45 s) with two hosts alice
# and bob added by `cryptgate kdc host add` and the policy alice -> bob for
# services "soak" and "soakkdc"; cryptgate-kdcd; the backend (soakecho, an
# echo server); bob's gateway (server role, key_cache_ttl 10s, so it
# RETRIEVEs the key again every 10 s) in front of it; alice's gateway
# (client role) in front of bob's.  Then:
#   - soakclient (bench/soakclient.c) runs CLIENTS connections at once
#     through alice's gateway for DURATION s: each sends a seeded PRNG blob
#     (SIZE_MIN..SIZE_MAX bytes, log-uniform) paced at RATE bytes/s, reads
#     the echo, checks every byte and the SHA-256; CUT_PCT percent are cut
#     at a random point (close or RST);
#   - alice requests a key for bob's "soakkdc" with `cryptgate request` and
#     bob retrieves it with `cryptgate retrieve` every KDC_EVERY s (both
#     key.cfg files compared): the KDC keeps issuing keys all along;
#   - at DURATION/3 the KDC is stopped (SIGTERM; its exit status must be 0),
#     left down KDC_DOWN s and started again on the same database; at
#     2*DURATION/3 the backend likewise (BACKEND_DOWN s);
#   - every SAMPLE s: VmRSS and open descriptors of cryptgate-kdcd (the sum
#     over its process and every descendant: it may run several processes),
#     of each gatewayd and of the backend, and whether each is alive.
# Verdict (exit 1 if any fails):
#   - rss: per daemon, the drift: the slope of VmRSS over time between the
#     disturbances (least squares within each of the segments from WARMUP to
#     the KDC stop, from SETTLE s after its restart to the backend stop, and
#     from SETTLE s after that restart to the end), times the run after
#     WARMUP, below RSS_PCT percent of the base (the mean of the WIN s after
#     WARMUP; the KDC: after its restart); and the growth of the mean of the
#     last WIN s over that base below RSS_TOTAL_PCT percent (a looser limit:
#     the gateways' RSS steps up at a disturbance, when connections fail and
#     are replaced at once, and does not come down: the allocator keeps its
#     high-water mark, which repeated restarts raise less and less);
#   - fds: per daemon, quiet descriptors (no client connection) before the
#     load and after it (QUIET s after the last connection): at most FD_MAX
#     more;
#   - data: no corrupt connection (soakclient's count, and its exit status);
#   - alive: no daemon died or logged a sanitizer report (run it with a
#     SANITIZE=1 build for LeakSanitizer's verdict at the daemons' exit); each
#     exits 0 on SIGTERM, the KDC at its restart and all at the end;
#   - errors: failed connections (connfail, reset, short, stall) outside the
#     restart windows (from the stop to SETTLE s after the restart) at most
#     ERR_PCT percent of the connections; in each window counted and shown;
#     connections succeed again after each window; the KDC operations fail
#     only inside the KDC's window.
#
# Usage: [VAR=value ...] bench/soak.sh
#   BUILD=build  DURATION=600  CLIENTS=200  SEED=(random, printed)
#   RATE=262144 (bytes/s per connection; 0: unpaced)  CUT_PCT=10
#   SIZE_MIN=1024  SIZE_MAX=4194304  THINK_MS=100  KDC_EVERY=1
#   KDC_DOWN=5  BACKEND_DOWN=2  SAMPLE=10  SETTLE=20  QUIET=5
#   WARMUP=(DURATION/5)  WIN=(DURATION/10, at least 2*SAMPLE)
#   RSS_PCT=10  RSS_TOTAL_PCT=40  FD_MAX=5  ERR_PCT=1  KEEP=1 (keep the temp dir)
# Below DURATION=300 or so the windows overlap and the RSS figures mean
# little: DURATION=60 checks the script, not the daemons.
# Every process it starts runs in a process group of its own and is stopped
# by that group's id at the end (or on Ctrl-C).  docs/PERFORMANCE.md ("Soak")
# holds a full-length run.
# shellcheck disable=SC2317 # functions run by traps and bash -c
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build}
DURATION=${DURATION:-600}; CLIENTS=${CLIENTS:-200}
SEED=${SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
RATE=${RATE:-262144}; CUT_PCT=${CUT_PCT:-10}; THINK_MS=${THINK_MS:-100}
SIZE_MIN=${SIZE_MIN:-1024}; SIZE_MAX=${SIZE_MAX:-4194304}
KDC_EVERY=${KDC_EVERY:-1}; KDC_DOWN=${KDC_DOWN:-5}; BACKEND_DOWN=${BACKEND_DOWN:-2}
SAMPLE=${SAMPLE:-10}; SETTLE=${SETTLE:-20}; QUIET=${QUIET:-5}
WARMUP=${WARMUP:-$((DURATION / 5))}; WIN=${WIN:-$((DURATION / 10))}
((WIN >= 2 * SAMPLE)) || WIN=$((2 * SAMPLE))
RSS_PCT=${RSS_PCT:-10}; RSS_TOTAL_PCT=${RSS_TOTAL_PCT:-40}; FD_MAX=${FD_MAX:-5}
ERR_PCT=${ERR_PCT:-1}
export PATH=$PATH:/usr/sbin:/sbin
cd "$ROOT" || exit 1

echo "building ($BUILD) ..." >&2
# (BUILD as given: the dependency files name the objects relative to ROOT)
make --no-print-directory BUILD="$BUILD" "$BUILD/bin/cryptgate" \
  "$BUILD/bin/cryptgate-kdcd" "$BUILD/bin/cryptgate-gatewayd" \
  "$BUILD/bench/soakclient" "$BUILD/bench/soakecho" >&2 || exit 1
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
CG=$BUILD/bin/cryptgate; KDCD=$BUILD/bin/cryptgate-kdcd
GWD=$BUILD/bin/cryptgate-gatewayd; SOAK=$BUILD/bench/soakclient
ECHO=$BUILD/bench/soakecho
SANITIZED=false
if nm "$GWD" 2>/dev/null | grep __asan_init >/dev/null; then
  SANITIZED=true
  echo "soak.sh: a sanitized build: RSS not judged (ASan's own), leak reports are" >&2
  echo "soak.sh: checked when the daemons exit" >&2
fi
for p in ss ps setsid; do
  command -v "$p" >/dev/null || { echo "soak.sh: $p is needed" >&2; exit 1; }
done

W=$(mktemp -d "${TMPDIR:-/tmp}/cg-soak.XXXXXX") || exit 1
GROUPS_=""  # process group ids of what we started
stop_group() {  # stop_group PGID: TERM the group, KILL it after 15 s
  local i
  kill -TERM -- "-$1" 2>/dev/null || return 0
  for ((i = 0; i < 150; i++)); do
    kill -0 -- "-$1" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL -- "-$1" 2>/dev/null || true
}
cleanup() {
  local p
  trap - EXIT
  trap '' INT TERM
  for p in $GROUPS_; do stop_group "$p"; done
  wait 2>/dev/null
  if [[ -n ${KEEP:-} ]]; then echo "soak.sh: kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'echo "soak.sh: interrupted" >&2; exit 130' INT TERM

# start LOG CMD...: CMD in the background in a process group of its own
# (setsid execs it: same pid), output appended to LOG; the pid in $last.
start() {
  local out=$1
  shift
  setsid "$@" </dev/null >>"$out" 2>&1 &
  last=$!
  GROUPS_="$GROUPS_ $last"
}
forget() { GROUPS_=$(tr ' ' '\n' <<<"$GROUPS_" | grep -vx "$1" | tr '\n' ' '); }

given=" "
free_port() {  # free_port VAR: a free TCP port below the ephemeral range
  local p i
  for ((i = 0; i < 200; i++)); do
    p=$((21000 + RANDOM % 9000))
    [[ $given == *" $p "* ]] && continue
    [[ -z $(ss -Htan "( sport = :$p )" 2>/dev/null) ]] && break
  done
  given="$given$p "
  printf -v "$1" %s "$p"
}

# tree PID: PID and its descendants.
tree() {
  ps -e -o pid=,ppid= | awk -v r="$1" '{ p[$1] = $2 } END {
    t[r] = 1
    do { ch = 0; for (c in p) if (!(c in t) && (p[c] in t)) { t[c] = 1; ch = 1 } } while (ch)
    for (c in t) print c }'
}
wait_listen() {  # wait_listen PID PORT: until PID or a child listens on PORT (15 s)
  local i
  for ((i = 0; i < 150; i++)); do
    ss -Hltnp "sport = :$2" 2>/dev/null | grep -E "pid=($(tree "$1" | paste -sd'|'))," >/dev/null &&
      return 0
    kill -0 "$1" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

die() {  # die TEXT [LOG...]
  local f
  echo "soak.sh: FAILED: $1" >&2
  shift
  for f in "$@"; do [[ -s $f ]] && { echo "--- $f" >&2; tail -15 "$f" >&2; }; done
  exit 1
}

now() { date +%s; }
el() { echo $(($(now) - T0)); }

# --- Setup -----------------------------------------------------------------
free_port KPORT; free_port EPORT; free_port BPORT; free_port APORT
mkdir -p "$W/kdc" "$W/alice" "$W/bob"
cat >"$W/kdc/kdc.conf" <<EOF
[kdc]
name = kdc1
listen = 127.0.0.1:$KPORT
database = kdc.db
signing_key = kdc.key
master_key = master.key
key_lifetime = 60s
EOF
{
  "$CG" kdc init -f "$W/kdc/kdc.conf" &&
    for h in alice bob; do
      "$CG" keygen -c "$h" -o "$W/$h/$h" &&
        cat >"$W/$h/$h.conf" <<EOF &&
[host]
name = $h
key = $h.key

[kdc]
name = kdc1
address = 127.0.0.1:$KPORT
public_key = $W/kdc/kdc.pub
timeout = 2s
EOF
        "$CG" kdc host add -f "$W/kdc/kdc.conf" --addr 127.0.0.1 "$W/$h/$h.pub"
    done &&
    "$CG" kdc policy allow -f "$W/kdc/kdc.conf" alice bob soak &&
    "$CG" kdc policy allow -f "$W/kdc/kdc.conf" alice bob soakkdc
} >"$W/setup.log" 2>&1 || die "setup" "$W/setup.log"
printf '\n[peer bob]\nid = %s\n' "$(cut -d' ' -f3 "$W/bob/bob.pub")" >>"$W/alice/alice.conf"
cat >"$W/bob/gateway.conf" <<EOF
[gateway]
host_config = bob.conf
status_socket = $W/bob/gw.sock
key_cache_ttl = 10s
drain_timeout = 2s

[service soak]
role = server
listen = 127.0.0.1:$BPORT
backend = 127.0.0.1:$EPORT
EOF
cat >"$W/alice/gateway.conf" <<EOF
[gateway]
host_config = alice.conf
status_socket = $W/alice/gw.sock
drain_timeout = 2s

[service soak]
role = client
listen = 127.0.0.1:$APORT
connect = 127.0.0.1:$BPORT
peer = bob
EOF

KDC_PID=; ECHO_PID=; BOB_PID=; ALICE_PID=
start_kdc() {
  start "$W/kdc/kdcd.log" "$KDCD" -d -f "$W/kdc/kdc.conf"
  KDC_PID=$last
  wait_listen "$KDC_PID" "$KPORT" || die "cryptgate-kdcd does not start" "$W/kdc/kdcd.log"
}
start_echo() {
  start "$W/echo.log" "$ECHO" "127.0.0.1:$EPORT"
  ECHO_PID=$last
  wait_listen "$ECHO_PID" "$EPORT" || die "the backend does not start" "$W/echo.log"
}
start_kdc
start_echo
start "$W/bob/gw.log" "$GWD" -d -f "$W/bob/gateway.conf"
BOB_PID=$last
wait_listen "$BOB_PID" "$BPORT" || die "bob's gateway does not start" "$W/bob/gw.log"
start "$W/alice/gw.log" "$GWD" -d -f "$W/alice/gateway.conf"
ALICE_PID=$last
wait_listen "$ALICE_PID" "$APORT" || die "alice's gateway does not start" "$W/alice/gw.log"

# --- Measuring -------------------------------------------------------------
# measure PID: "NPROC RSS_KB FDS" summed over the live processes of tree PID.
measure() {
  local n=0 rss=0 fds=0 p r f
  for p in $(tree "$1"); do
    r=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null) || continue
    [[ -n $r ]] || continue
    f=$(find "/proc/$p/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    n=$((n + 1)); rss=$((rss + r)); fds=$((fds + f))
  done
  echo "$n $rss $fds"
}
cpu_idle() { awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }
cpu_s() {  # cpu_s PID: user+system CPU seconds of PID (threads included)
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%.1f", ($12 + $13) / hz }' \
    "/proc/$1/stat" 2>/dev/null || echo "?"
}
alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; }
quiet_sample() {  # quiet_sample TAG: descriptors and RSS with no client connection
  local d
  for d in kdc:$KDC_PID alice:$ALICE_PID bob:$BOB_PID echo:$ECHO_PID; do
    echo "$1 ${d%%:*} $(measure "${d#*:}")"
  done >>"$W/quiet"
}

# A few connections through the pair: keys fetched, lazy allocations done.
"$SOAK" -c "127.0.0.1:$APORT" -n 4 -d 2 -M 65536 -b 0 -i 60 -s 1 >"$W/warmup.log" 2>&1 ||
  die "warm-up connections failed" "$W/warmup.log" "$W/alice/gw.log" "$W/bob/gw.log"
grep -q '^T .* ok=[1-9]' "$W/warmup.log" ||
  die "no connection got through the gateways" "$W/warmup.log" "$W/alice/gw.log" "$W/bob/gw.log"
sleep 3
quiet_sample start

# --- The run ---------------------------------------------------------------
kdc_ops() {  # every KDC_EVERY s: alice REQUESTs, bob RETRIEVEs, compare
  local rq rt kid
  trap 'exit 0' TERM
  while :; do
    rm -f "$W/alice/key.cfg" "$W/bob/key.cfg"
    (cd "$W/alice" && "$CG" request -f alice.conf --peer bob --service soakkdc \
      --client-addr 127.0.0.1 -o key.cfg) >/dev/null 2>>"$W/kdcops.err"
    rq=$?; rt=-
    if ((rq == 0)); then
      kid=$(cut -d: -f1 "$W/alice/key.cfg" | sed 's/^kdc1-//')
      (cd "$W/bob" && "$CG" retrieve -f bob.conf --key-id "$kid" \
        --client-addr 127.0.0.1 --service soakkdc -o key.cfg) >/dev/null 2>>"$W/kdcops.err"
      rt=$?
      ((rt != 0)) || cmp -s "$W/alice/key.cfg" "$W/bob/key.cfg" || rt=differ
    fi
    echo "t=$(date +%s) request=$rq retrieve=$rt"
    sleep "$KDC_EVERY"
  done
}

idle0=$(cpu_idle)
echo "cryptgate $(git describe --always --dirty 2>/dev/null || echo '?'), $(nproc) CPUs," \
  "$(uname -r); load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "soak: DURATION=${DURATION}s CLIENTS=$CLIENTS SEED=$SEED RATE=${RATE}B/s CUT_PCT=$CUT_PCT" \
  "sizes $SIZE_MIN..$SIZE_MAX; KDC restart at $((DURATION / 3))s (down ${KDC_DOWN}s)," \
  "backend restart at $((2 * DURATION / 3))s (down ${BACKEND_DOWN}s); in $W"
T0=$(now)
start "$W/kdcops.log" bash -c "$(declare -f kdc_ops); W='$W' CG='$CG' KDC_EVERY='$KDC_EVERY' kdc_ops"
OPS_PID=$last
start "$W/client.log" "$SOAK" -c "127.0.0.1:$APORT" -n "$CLIENTS" -d "$DURATION" \
  -s "$SEED" -b "$RATE" -x "$CUT_PCT" -m "$SIZE_MIN" -M "$SIZE_MAX" -t "$THINK_MS" \
  -i "$SAMPLE"
CLIENT_PID=$last

: >"$W/events"; : >"$W/samples"; deaths=""; kdc_rc=; echo_rc=
event() { echo "$(now) $(el) $*" >>"$W/events"; echo "  [$(el) s] $*"; }
# stop_daemon PID: SIGTERM its group, wait (15 s); the exit status (137: killed).
stop_daemon() {
  local i
  kill -TERM -- "-$1" 2>/dev/null
  for ((i = 0; i < 150; i++)); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$1" 2>/dev/null && kill -KILL -- "-$1" 2>/dev/null
  wait "$1" 2>/dev/null
}
restart_kdc() {
  event "kdc stop (SIGTERM pid $KDC_PID)"
  stop_daemon "$KDC_PID"; kdc_rc=$?
  forget "$KDC_PID"
  event "kdc exited with status $kdc_rc"
  sleep "$KDC_DOWN"
  start_kdc
  event "kdc started (pid $KDC_PID)"
}
restart_echo() {
  event "backend stop (SIGTERM pid $ECHO_PID)"
  stop_daemon "$ECHO_PID"; echo_rc=$?
  forget "$ECHO_PID"
  sleep "$BACKEND_DOWN"
  start_echo
  event "backend started (pid $ECHO_PID, the old one exited with $echo_rc)"
}

printf '%6s %5s %9s %7s %9s %6s %9s %6s %9s %6s %6s %5s\n' el kdc_n kdc_rssMiB kdc_fd \
  alice_MiB a_fd bob_MiB b_fd echo_MiB e_fd active load1
sample() {
  local e k a b c act
  e=$(el)
  k=$(measure "$KDC_PID"); a=$(measure "$ALICE_PID"); b=$(measure "$BOB_PID")
  c=$(measure "$ECHO_PID")
  act=$(awk '/^I / { for (i = 2; i <= NF; i++) if ($i ~ /^active=/) a = substr($i, 8) } END { print a + 0 }' \
    "$W/client.log")
  for d in kdc:$KDC_PID alice:$ALICE_PID bob:$BOB_PID; do
    alive "${d#*:}" || { deaths="$deaths ${d%%:*}@$e"; event "${d%%:*} (pid ${d#*:}) is not running"; }
  done
  echo "$e $k $a $b $c $act $(cut -d' ' -f1 /proc/loadavg)" >>"$W/samples"
  tail -1 "$W/samples" | awk '{ printf "%6s %5s %9.1f %7s %9.1f %6s %9.1f %6s %9.1f %6s %6s %5s\n",
    $1, $2, $3 / 1024, $4, $6 / 1024, $7, $9 / 1024, $10, $12 / 1024, $13, $14, $15 }'
}

next=$SAMPLE; kdc_done=false; echo_done=false
while alive "$CLIENT_PID"; do
  e=$(el)
  if ! $kdc_done && ((e >= DURATION / 3)); then kdc_done=true; restart_kdc; fi
  if ! $echo_done && ((e >= 2 * DURATION / 3)); then echo_done=true; restart_echo; fi
  if ((e >= next)); then sample; next=$((next + SAMPLE)); fi
  sleep 1
done
wait "$CLIENT_PID"; client_rc=$?
forget "$CLIENT_PID"
stop_group "$OPS_PID"; wait "$OPS_PID" 2>/dev/null; forget "$OPS_PID"
event "the clients ended (exit $client_rc); quiet for ${QUIET}s"
sleep "$QUIET"
quiet_sample end
idle1=$(cpu_idle)
for g in alice bob; do "$CG" status -r -s "$W/$g/gw.sock" >"$W/$g/status" 2>&1; done
for d in kdc:$KDC_PID alice:$ALICE_PID bob:$BOB_PID; do
  alive "${d#*:}" || deaths="$deaths ${d%%:*}@end"
done
ALICE_CPU=$(cpu_s "$ALICE_PID"); BOB_CPU=$(cpu_s "$BOB_PID")
# Stop them as a service manager would (SIGTERM): each must exit 0 (and a
# sanitized build reports its leaks then).
exits=""
for d in alice:$ALICE_PID bob:$BOB_PID kdc:$KDC_PID echo:$ECHO_PID; do
  stop_daemon "${d#*:}"
  exits="$exits ${d%%:*}=$?"
  forget "${d#*:}"
done

# --- Figures and verdict ---------------------------------------------------
fails=""
fail_if() { fails="$fails; $1"; }
ev_time() { awk -v w="$1" 'index($0, w) { print $1; exit }' "$W/events"; }
ev_el() { awk -v w="$1" 'index($0, w) { print $2; exit }' "$W/events"; }
kdc_from=$(ev_time "kdc stop"); kdc_to=$(ev_time "kdc started")
echo_from=$(ev_time "backend stop"); echo_to=$(ev_time "backend started")
kdc_up_el=$(ev_el "kdc started"); kdc_stop_el=$(ev_el "kdc stop")
echo_stop_el=$(ev_el "backend stop"); echo_up_el=$(ev_el "backend started")
[[ -n $kdc_to && -n $echo_to ]] || fail_if "the restarts did not happen (DURATION too short?)"
kdc_from=${kdc_from:-0}; kdc_to=${kdc_to:-0}; echo_from=${echo_from:-0}; echo_to=${echo_to:-0}

echo
# Segments between the disturbances, for the drift: [WARMUP, KDC stop),
# [KDC start + SETTLE, backend stop), [backend start + SETTLE, DURATION].
segs="$WARMUP ${kdc_stop_el:-0} $((${kdc_up_el:-0} + SETTLE)) ${echo_stop_el:-0}"
segs="$segs $((${echo_up_el:-0} + SETTLE)) $((DURATION + 1))"
echo "RSS under load (MiB; base and end: means of the samples in a ${WIN}s window; growth: end"
echo "against base, limit ${RSS_TOTAL_PCT}%; drift: the slope of RSS between the restarts (least"
# shellcheck disable=SC2086 # the words of $segs wanted
echo "squares within each segment $(printf '[%s,%s) [%s,%s) [%s,%s)' $segs)) times the"
echo "$((DURATION - WARMUP))s after the warm-up, against base, limit ${RSS_PCT}%)"
printf '  %-16s %-9s %8s %-9s %8s %8s %10s %8s  %s\n' daemon base_win base end_win end growth \
  drift_MiB drift verdict
rss_row() {  # rss_row NAME COLUMN BASE_FROM_EL [info]
  local r v=ok
  r=$(awk -v c="$2" -v f="$3" -v w="$WIN" -v d="$DURATION" -v segs="$segs" -v run="$((DURATION - WARMUP))" '
    BEGIN { ns = split(segs, sb, " ") / 2 }
    $1 >= f && $1 < f + w { bs += $c; bn++ }
    $1 > d - w && $1 <= d { es += $c; en++ }
    { for (k = 1; k <= ns; k++) if ($1 >= sb[2 * k - 1] && $1 < sb[2 * k]) {
        n[k]++; sx[k] += $1; sy[k] += $c; sxx[k] += $1 * $1; sxy[k] += $1 * $c } }
    END { if (!bn || !en) { print "- - - - - nodata"; exit }
      for (k = 1; k <= ns; k++) if (n[k] >= 2) {
        xy += sxy[k] - sx[k] * sy[k] / n[k]; xx += sxx[k] - sx[k] * sx[k] / n[k] }
      b = bs / bn / 1024; e = es / en / 1024; dr = xx > 0 ? xy / xx * run / 1024 : 0
      printf "%.1f %.1f %+.1f %+.2f %+.1f ok\n", b, e, 100 * (e - b) / b, dr, 100 * dr / b }' "$W/samples")
  # shellcheck disable=SC2086 # the words of $r wanted
  set -- "$1" "$2" "$3" "${4:-}" $r
  if [[ ${10} == nodata ]]; then
    v="no samples"; [[ -n $4 ]] || fail_if "$1: no RSS samples"
  elif [[ -n $4 ]] || $SANITIZED; then
    v="(not judged)"
  else
    if awk -v g="$7" -v l="$RSS_TOTAL_PCT" 'BEGIN { exit !(g >= l) }'; then
      v=FAIL; fail_if "$1 RSS grew $7% (limit $RSS_TOTAL_PCT%)"
    fi
    if awk -v g="$9" -v l="$RSS_PCT" 'BEGIN { exit !(g >= l) }'; then
      v=FAIL; fail_if "$1 RSS drifted $9% between the restarts (limit $RSS_PCT%)"
    fi
  fi
  printf '  %-16s %-9s %8s %-9s %8s %7s%% %10s %7s%%  %s\n' "$1" "$3-$(($3 + WIN))s" "$5" \
    "$((DURATION - WIN))-${DURATION}s" "$6" "$7" "$8" "$9" "$v"
}
rss_row cryptgate-kdcd 3 "$((${kdc_up_el:-0} + SETTLE))"
rss_row "alice's gateway" 6 "$WARMUP"
rss_row "bob's gateway" 9 "$WARMUP"
rss_row backend 12 "$WARMUP" info

echo
echo "Descriptors and RSS with no client connection (before the load, ${QUIET}s after it; limit: fds +$FD_MAX)"
printf '  %-16s %6s %6s %6s %9s %9s %6s  %s\n' daemon procs fd0 fd1 rss0MiB rss1MiB procs1 verdict
for d in kdc:cryptgate-kdcd "alice:alice's gateway" "bob:bob's gateway" echo:backend; do
  n=${d%%:*}
  read -r _ _ p0 r0 f0 < <(grep "^start $n " "$W/quiet")
  read -r _ _ p1 r1 f1 < <(grep "^end $n " "$W/quiet")
  v=ok
  if [[ $n != echo ]] && ((f1 - f0 > FD_MAX)); then
    v=FAIL; fail_if "${d#*:}: $((f1 - f0)) more descriptors after the load"
  fi
  [[ $n == echo ]] && v="(not judged)"
  printf '  %-16s %6s %6s %6s %9.1f %9.1f %6s  %s\n' "${d#*:}" "$p0" "$f0" "$f1" \
    "$(awk -v r="$r0" 'BEGIN { print r / 1024 }')" "$(awk -v r="$r1" 'BEGIN { print r / 1024 }')" \
    "$p1" "$v"
done

echo
echo "Connections per minute (soakclient; ttfb: connect to the first echoed byte; total: to the verified end; ms)"
printf '  %4s %7s %5s %7s %6s %8s %9s %9s %10s %10s\n' min ok cut corrupt failed MiB/s ttfb_p50 ttfb_p99 \
  total_p50 total_p99
awk '/^M / { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
  printf "  %4s %7s %5s %7s %6s %8s %9s %9s %10s %10s\n", v["min"], v["ok"], v["cut"], v["corrupt"],
    v["connfail"] + v["reset"] + v["short"] + v["stall"], v["MiBps"], v["ttfb_p50"], v["ttfb_p99"],
    v["total_p50"], v["total_p99"] }' "$W/client.log"
tot=$(grep '^T ' "$W/client.log")
echo "  all: ${tot#T t=* }"
val() { tr ' ' '\n' <<<"$tot" | sed -n "s/^$1=//p"; }
corrupt=$(val corrupt)
[[ -n $tot ]] || fail_if "soakclient printed no totals (exit $client_rc)"
[[ ${corrupt:-0} == 0 && $client_rc == 0 ]] ||
  fail_if "CORRUPTION: ${corrupt:-?} connections (soakclient exit $client_rc): $(grep CORRUPT "$W/client.log" | head -1)"

echo
echo "Failed connections (connfail+reset+short+stall) around the restarts (a window: from the stop"
echo "to ${SETTLE}s after the restart; clean: the first ${SAMPLE}s interval after the restart without any)"
# windows: per I line (an interval of SAMPLE s ending at t), the window it
# overlaps (KDC first), or outside: "name failed ended first_el last_el clean_el".
windows() {
  awk -v s="$SAMPLE" -v st="$SETTLE" -v kf="$kdc_from" -v kt="$kdc_to" -v ef="$echo_from" \
    -v et="$echo_to" '/^I / {
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    bad = v["connfail"] + v["reset"] + v["short"] + v["stall"]
    all = bad + v["ok"] + v["cut"] + v["corrupt"]
    e = v["t"]; b = e - s
    w = (b < kt + st && e >= kf) ? "kdc" : (b < et + st && e >= ef) ? "backend" : "outside"
    f[w] += bad; n[w] += all
    if (bad) { if (!(w in first)) first[w] = v["el"]; last[w] = v["el"] }
    if (!("kdc" in clean) && b >= kt && !bad && v["ok"]) clean["kdc"] = v["el"]
    if (!("backend" in clean) && b >= et && !bad && v["ok"]) clean["backend"] = v["el"]
  } END { split("kdc backend outside", ws, " ")
    for (i = 1; i <= 3; i++) { w = ws[i]
      printf "%s %d %d %s %s %s\n", w, f[w], n[w], (w in first) ? first[w] : "-",
        (w in last) ? last[w] : "-", (w in clean) ? clean[w] : "-" } }' "$W/client.log"
}
windows >"$W/windows"
while read -r w wf wn w1 w2 wc; do
  case $w in
  kdc) what="KDC restart ($(ev_el 'kdc stop')-$(ev_el 'kdc started')s)"; up=$(ev_el 'kdc started') ;;
  backend) what="backend restart ($(ev_el 'backend stop')-$(ev_el 'backend started')s)"; up=$(ev_el 'backend started') ;;
  *) what="outside the windows"; up= ;;
  esac
  line=$(printf '  %-30s %6s failed of %7s ended' "$what" "$wf" "$wn")
  ((wf == 0)) || line="$line, between $((w1 - SAMPLE)) and ${w2}s"
  if [[ -n $up ]]; then
    line="$line; clean by ${wc}s"
    [[ $wc != - ]] || fail_if "the connections did not recover after the $w restart"
  else
    line="$line (limit $ERR_PCT%)"
    awk -v b="$wf" -v a="$wn" -v l="$ERR_PCT" 'BEGIN { exit !(a > 0 && 100 * b / a > l) }' &&
      fail_if "$wf failed connections outside the restart windows"
  fi
  echo "$line"
done <"$W/windows"

echo
read -r qn qok qbad qin < <(awk -v f="$kdc_from" -v t="$((kdc_to + SETTLE))" '/^t=/ {
    split($1, a, "="); ok = ($2 == "request=0" && $3 == "retrieve=0")
    n++; if (ok) g++; else if (a[2] >= f && a[2] <= t) w++; else o++ }
  END { print n + 0, g + 0, o + 0, w + 0 }' "$W/kdcops.log")
echo "KDC operations beside (cryptgate request + retrieve, key.cfg compared, every ${KDC_EVERY}s):" \
  "$qn pairs, $qok ok, $qin failed in the KDC window, $qbad failed outside it"
((qbad == 0)) || fail_if "$qbad KDC operations failed outside the KDC window"
((qok > 0)) || fail_if "no KDC operation succeeded"
nkeys=$("$CG" kdc key list -f "$W/kdc/kdc.conf" 2>/dev/null | awk 'NR > 1 && NF' | wc -l)
echo "keys in the KDC's database at the end: $nkeys"
for g in alice:$ALICE_CPU bob:$BOB_CPU; do
  echo "${g%%:*}'s gateway: $(grep '^service=soak ' "$W/${g%%:*}/status" |
    tr ' ' '\n' | grep -E '^(accepted|hs_|handshake|backend_fail|resets|refused)' | grep -v '=0$' |
    tr '\n' ' ')(non-zero counters; CPU ${g#*:} s)"
done
read -r i0 a0 <<<"$idle0"; read -r i1 a1 <<<"$idle1"
echo "machine: $(awk -v i="$((i1 - i0))" -v a="$((a1 - a0))" 'BEGIN { printf "%.0f", 100 * i / a }')% idle" \
  "during the run; load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

echo
[[ -n $kdc_rc && $kdc_rc != 0 ]] && fail_if "cryptgate-kdcd exited with $kdc_rc on SIGTERM"
echo "exit statuses on SIGTERM at the end:$exits (the KDC at its restart: ${kdc_rc:-?})"
for x in $exits; do
  [[ ${x#*=} == 0 ]] || fail_if "${x%%=*} exited with ${x#*=} on SIGTERM at the end"
done
[[ -z $deaths ]] || fail_if "daemons not running:$deaths"
if grep -lE 'Sanitizer|runtime error' "$W"/kdc/kdcd.log "$W"/*/gw.log "$W"/echo.log 2>/dev/null; then
  fail_if "sanitizer reports (files above)"
fi
if [[ -z $fails ]]; then
  what="RSS and fds flat"
  ! $SANITIZED || what="fds flat, no sanitizer report"
  echo "soak: PASS: ${DURATION}s, $CLIENTS clients, $(val conns) connections, 0 corrupt, $what, no daemon died"
  exit 0
fi
echo "soak: FAIL${fails}"
exit 1
