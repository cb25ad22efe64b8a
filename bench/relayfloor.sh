#!/usr/bin/env bash
# bench/relayfloor.sh: what a plain relay pair costs on this machine, the
# floor under any user-space relay (docs/PERFORMANCE.md, "Summary").
#
# iperf3 -c -> socat A -> socat B -> iperf3 -s on 127.0.0.1, one stream,
# for each buffer size (socat -b): Gbit/s, and the relay CPU-s per GB (user
# + system time of the two socat children that carry the stream, from
# /proc, over the middle of the run).  No encryption: add the cipher's cost
# (2 x 8 Gbit / its Gbit/s per core) for a TLS relay pair's floor.
#
# Usage: [DURATION=8] [BUFS="16384 65536 262144"] [BASE_PORT=25200] bench/relayfloor.sh
# Needs iperf3, socat and perl (JSON::PP).  Stops what it started (trap).
set -euo pipefail
DURATION=${DURATION:-8}
BUFS=${BUFS:-"16384 65536 131072 262144"}
BASE_PORT=${BASE_PORT:-25200}
for c in iperf3 socat perl; do
	command -v "$c" >/dev/null || { echo "relayfloor: $c is needed" >&2; exit 1; }
done
W=$(mktemp -d "${TMPDIR:-/tmp}/relayfloor.XXXXXX")
pids=()
cleanup() {
	[ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$W"
}
trap cleanup EXIT
ticks() { # ticks PID...: utime + stime of the PIDs
	local t=0 p
	for p in "$@"; do
		t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo "$t"
}
hz=$(getconf CLK_TCK)
printf '%-8s %9s %12s\n' buffer Gbit/s relayCPU_s/GB
for buf in $BUFS; do
	s=$BASE_PORT b=$((BASE_PORT + 1)) a=$((BASE_PORT + 2))
	iperf3 -s -1 -p "$s" >/dev/null 2>&1 & pids+=($!)
	socat -b"$buf" "TCP4-LISTEN:$b,bind=127.0.0.1,reuseaddr,fork" "TCP4:127.0.0.1:$s" 2>/dev/null &
	sb=$!; pids+=("$sb")
	socat -b"$buf" "TCP4-LISTEN:$a,bind=127.0.0.1,reuseaddr,fork" "TCP4:127.0.0.1:$b" 2>/dev/null &
	sa=$!; pids+=("$sa")
	sleep 0.5
	iperf3 -c 127.0.0.1 -p "$a" -t "$DURATION" -J >"$W/out.json" 2>/dev/null &
	ic=$!
	sleep 2
	kids=$(pgrep -P "$sa"; pgrep -P "$sb")
	# shellcheck disable=SC2086 # a list of PIDs
	t0=$(ticks $kids)
	m0=$(date +%s.%N)
	sleep $((DURATION - 4))
	# shellcheck disable=SC2086
	t1=$(ticks $kids)
	m1=$(date +%s.%N)
	wait "$ic" || true
	kill "$sa" "$sb" 2>/dev/null || true
	wait "$sa" "$sb" 2>/dev/null || true
	perl -MJSON::PP -e '
		my ($f, $buf, $dt, $hz, $m0, $m1) = @ARGV;
		my $secs = $m1 - $m0;
		open(my $h, "<", $f) or die; local $/; my $j = decode_json(<$h>);
		my $bps = $j->{end}{sum_received}{bits_per_second};
		my $gb = $bps / 8 / 1e9 * $secs;
		printf "%-8s %9.2f %12.2f\n", $buf, $bps / 1e9, ($dt / $hz) / $gb;
	' "$W/out.json" "$buf" $((t1 - t0)) "$hz" "$m0" "$m1"
	pids=()
	sleep 0.5
done
