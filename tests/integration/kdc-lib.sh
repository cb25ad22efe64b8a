# tests/integration/kdc-lib.sh: KDC scaffolding shared by the 4x-kdc-*
# scenarios; source it after lib.sh (set KDC_EXTRA first for extra [kdc] keys).
T=$TMPDIR_T
K=$T/kdc
POKE=$BUILD/tests/helpers/kdcpoke
DB=$K/kdc.db
KDC_EXTRA=${KDC_EXTRA:-}
KDCD_PID=
PORT=
HOSTS=()
mkdir -p "$K"


write_kdc_conf() {
	cat >"$K/kdc.conf" <<EOC
[kdc]
name = kdc1
listen = 127.0.0.1:$PORT
database = $DB
signing_key = kdc.key
master_key = master.key
$KDC_EXTRA
EOC
}

# write_host_conf NAME: $T/NAME/NAME.conf for host NAME (its key NAME.key).
write_host_conf() {
	cat >"$T/$1/$1.conf" <<EOC
[host]
name = $1
key = $1.key

[kdc]
name = kdc1
address = 127.0.0.1:$PORT
public_key = $K/kdc.pub
timeout = 5s
EOC
}

# mkhost NAME [x25519|rsa3072]: a host key pair and host.conf under $T/NAME.
mkhost() {
	mkdir -p "$T/$1"
	"$CG" keygen -t "${2:-x25519}" -c "$1" -o "$T/$1/$1" >/dev/null \
	    2>"$T/$1/keygen.err" || return 1
	HOSTS+=("$1")
	write_host_conf "$1"
}

# hid NAME: the host id of NAME (32 hex).
hid() { cut -d' ' -f3 "$T/$1/$1.pub"; }

# kdc_cli ARGS...: cryptgate kdc ARGS with -f kdc.conf after the command
# words, e.g. kdc_cli host add --addr 127.0.0.1 FILE.pub
kdc_cli() {
	local words=()
	while [ $# -gt 0 ]; do
		case $1 in
		host | policy | key | audit | token | init | add | approve | \
		    remove | revoke | list | allow | deny | purge | verify | \
		    show | create)
			words+=("$1")
			shift
			;;
		*) break ;;
		esac
	done
	"$CG" kdc "${words[@]}" -f "$K/kdc.conf" "$@"
}

# add_host NAME: register NAME (active) with address 127.0.0.1.
add_host() {
	kdc_cli host add --addr 127.0.0.1 "$T/$1/$1.pub" >/dev/null
}

# listening: true if our daemon listens on $PORT.
listening() {
	# The network process (a child of the daemon) holds the sockets.
	ss -Hltnp "sport = :$PORT" 2>/dev/null |
	    grep -qE "pid=($KDCD_PID|$(pgrep -d'|' -P "$KDCD_PID")),"
}

# kdc_start: start the daemon in the foreground mode in the background,
# wait (bounded) until it listens.  On a port clash, pick another port and
# rewrite every configuration (3 tries).  0 or 1.
kdc_start() {
	local i
	for _ in 1 2 3; do
		"$CG_KDCD" -f "$K/kdc.conf" -d >>"$K/kdcd.log" 2>&1 &
		KDCD_PID=$!
		cleanup_pid "$KDCD_PID"
		for i in $(seq 1 $((150 * CG_SLOW))); do
			listening && return 0
			kill -0 "$KDCD_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$KDCD_PID" 2>/dev/null
		wait "$KDCD_PID" 2>/dev/null
		# Someone else took the port?  Then move.
		ss -Hltn "sport = :$PORT" | grep -q . || return 1
		PORT=$(free_port) || return 1
		write_kdc_conf
		for i in "${HOSTS[@]+"${HOSTS[@]}"}"; do
			write_host_conf "$i"
		done
	done
	return 1
}

# kdc_stop: SIGTERM, wait up to 15 s; returns the daemon's exit status
# (137 if it had to be killed).
kdc_stop() {
	local i rc
	[ -n "$KDCD_PID" ] || return 0
	kill -TERM "$KDCD_PID" 2>/dev/null
	for i in $(seq 1 $((150 * CG_SLOW))); do
		kill -0 "$KDCD_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$KDCD_PID" 2>/dev/null; then
		kill -9 "$KDCD_PID" 2>/dev/null
		wait "$KDCD_PID" 2>/dev/null
		KDCD_PID=
		return 137
	fi
	wait "$KDCD_PID" 2>/dev/null
	rc=$?
	KDCD_PID=
	return $rc
}

# alive: our daemon is still running.
alive() { [ -n "$KDCD_PID" ] && kill -0 "$KDCD_PID" 2>/dev/null; }

# poke NAME ARGS...: kdcpoke as host NAME against our KDC.
poke() {
	local n=$1
	shift
	"$POKE" -a "127.0.0.1:$PORT" -k "$T/$n/$n.key" -K "$K/kdc.pub" "$@"
}

# expect_poke DESC REGEX NAME ARGS...: ok if kdcpoke's first line matches
# the extended REGEX (anchored at the start).  The output is in $POKE_OUT.
expect_poke() {
	local desc=$1 re=$2
	shift 2
	POKE_OUT=$(poke "$@" 2>&1)
	if printf '%s\n' "$POKE_OUT" | head -1 | grep -qE "^($re)"; then
		ok "$desc"
		return 0
	fi
	fail "$desc"
	printf '%s\n' "$POKE_OUT" | head -5 | sed 's/^/#   got: /'
	return 1
}

# field KEY LINE: the value of KEY=VALUE in a kdcpoke line.
field() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -1; }

# now_ms: unix time in milliseconds.
now_ms() { date +%s%3N; }

# sanitizer_clean FILE: no ASan/UBSan report in FILE.
sanitizer_clean() { ! grep -qE 'Sanitizer|runtime error' "$1"; }

# integrity_ok: sqlite3 PRAGMA integrity_check says ok (waiting up to 10 s
# for a lock: the daemon may be recovering the WAL after a crash).
integrity_ok() {
	local out
	out=$(sqlite3 -cmd '.timeout 10000' "$DB" 'PRAGMA integrity_check' 2>&1)
	[ "$out" = ok ] && return 0
	printf '%s\n' "$out" | head -5
	return 1
}

# need_kdcd: skip the whole scenario only if the daemon binary does not
# exist; anything else missing is a failure.
need_kdcd() {
	if [ ! -x "$CG_KDCD" ]; then
		skip "$1" "cryptgate-kdcd not built"
		done_testing
	fi
	if [ ! -x "$POKE" ] || [ ! -x "$CG" ]; then
		fail "$POKE or $CG not built"
		done_testing
	fi
	if ! command -v sqlite3 >/dev/null || ! command -v ss >/dev/null; then
		fail "sqlite3 and ss (iproute2) are needed"
		done_testing
	fi
}

# kdc_setup: kdc.conf on a free port, then cryptgate kdc init.
kdc_setup() {
	PORT=$(free_port) || return 1
	write_kdc_conf
	kdc_cli init >"$K/init.out" 2>&1
}
