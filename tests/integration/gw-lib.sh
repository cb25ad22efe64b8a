# tests/integration/gw-lib.sh: helpers shared by the gateway scenarios
# (51-55); source it after lib.sh.  The scenario sets $T and $GW (the
# gateway binary), and GW_VERBOSE if it wants other than "-v".

# gw_start NAME PORT: the gateway with $T/NAME.conf in the foreground
# (log $T/NAME.log, pid in $PID_NAME); true once it listens on PORT.
gw_start() {
	local pid
	# shellcheck disable=SC2086 # GW_VERBOSE is a list of flags
	"$GW" -d ${GW_VERBOSE:--v} -f "$T/$1.conf" >>"$T/$1.log" 2>&1 &
	pid=$!
	cleanup_pid "$pid"
	eval "PID_$1=$pid"
	wait_listen "$pid" "$2"
}

# gw_stop NAME: SIGTERM, wait (20 s); the exit status (137: killed).
gw_stop() {
	local pid
	pid=$(eval echo "\$PID_$1")
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 1 $((200 * CG_SLOW))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -9 "$pid"
		wait "$pid" 2>/dev/null
		return 137
	fi
	wait "$pid"
}

# show FILE...: the end of files, into the log after a failure.
show() {
	local f
	for f in "$@"; do
		[ -f "$f" ] && tail -15 "$f" | sed "s|^|#   ${f##*/}: |"
	done
}

# sha FILE: its SHA-256 in hex.  hexkey: 32 random bytes in hex.
sha() { sha256sum <"$1" | cut -c1-64; }
hexkey() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# wait_listen PID PORT: until process PID listens on PORT (5 s).
wait_listen() {
	for _ in $(seq 1 $((50 * CG_SLOW))); do
		# PID or a child of it (the KDC's network process).
		ss -Hltnp "sport = :$2" 2>/dev/null |
		    grep -qE "pid=($1|$(pgrep -d'|' -P "$1"))," && return 0
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# gw_kdc_setup: a KDC in $T/kdc ($K, port $KPORT, pid $KDCD) with hosts
# alice and bob ($T/NAME/NAME.conf; ids in $ALICE and $BOB; alice knows
# [peer bob]) and the policy "alice may get keys for bob, service web".
# Sets setup_ok=false if any step failed.
gw_kdc_setup() {
	K=$T/kdc
	mkdir -p "$K"
	KPORT=$(free_port) || { fail "free port"; done_testing; }
cat >"$K/kdc.conf" <<EOF
[kdc]
name = kdc1
listen = 127.0.0.1:$KPORT
database = kdc.db
signing_key = kdc.key
master_key = master.key
EOF
setup_ok=true
"$CG" kdc init -f "$K/kdc.conf" >"$K/init.out" 2>&1 || setup_ok=false
for h in alice bob; do
	mkdir -p "$T/$h"
	"$CG" keygen -t x25519 -c "$h" -o "$T/$h/$h" >/dev/null 2>&1 ||
	    setup_ok=false
	cat >"$T/$h/$h.conf" <<EOF
[host]
name = $h
key = $h.key
[kdc]
name = kdc1
address = 127.0.0.1:$KPORT
public_key = $K/kdc.pub
timeout = 2s
EOF
	"$CG" kdc host add -f "$K/kdc.conf" --addr 127.0.0.1 "$T/$h/$h.pub" \
	    >/dev/null 2>&1 || setup_ok=false
done
"$CG" kdc policy allow -f "$K/kdc.conf" alice bob web >/dev/null 2>&1 ||
    setup_ok=false
BOB=$(cut -d' ' -f3 "$T/bob/bob.pub")
ALICE=$(cut -d' ' -f3 "$T/alice/alice.pub")
printf '[peer bob]\nid = %s\n' "$BOB" >>"$T/alice/alice.conf"
"$CG_KDCD" -d -f "$K/kdc.conf" >"$K/kdcd.log" 2>&1 &
KDCD=$!
cleanup_pid "$KDCD"
wait_listen "$KDCD" "$KPORT" || setup_ok=false
}
