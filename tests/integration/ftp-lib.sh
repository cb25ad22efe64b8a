# tests/integration/ftp-lib.sh: vsftpd and the three FTP clients (curl,
# lftp, tnftp) for the FTP scenarios (54, 55) and bench/ftp.sh.  Source it
# after lib.sh (or, outside the test harness, after defining cleanup_cmd,
# cleanup_pid and $T).  See /work/shared/research/ftp.md section 5.
#
# vsftpd: anonymous, a writable pub/, loopback only, port_promiscuous=NO
# and pasv_promiscuous=NO, so a data connection that bypasses the
# gateways (client on 127.0.0.5, vsftpd on 127.0.0.1) fails.  Its
# per-session processes call setsid: they are found as descendants of the
# listener by PID and killed by ftp_vsftpd_stop (registered at start).
#
# Modes: PORT EPRT PASV EPSV.  ftp_run CLIENT MODE ... runs one client
# (list, upload, download) and writes its verbose log; ftp_modes LOG prints
# the data-connection commands the client really sent (clients fall back
# silently, so a test asserts this).

# free_port: a TCP port in 20000-31999 nobody uses (if the scenario did not
# define one).
if ! declare -F free_port >/dev/null; then
	free_port() {
		local p
		for _ in $(seq 1 200); do
			p=$((20000 + RANDOM % 12000))
			if [ -z "$(ss -Htan "sport = :$p" 2>/dev/null)" ]; then
				echo "$p"
				return 0
			fi
		done
		return 1
	}
fi

# ftp_free_range N: the first of N consecutive free ports in 20000-31999.
ftp_free_range() {
	local p busy
	for _ in $(seq 1 100); do
		p=$((20000 + RANDOM % (12000 - $1)))
		busy=$(ss -Htan 2>/dev/null | awk -v lo="$p" -v hi=$((p + $1 - 1)) '
			{ n = split($4, a, ":"); q = a[n] + 0
			  if (q >= lo && q <= hi) { print q; exit } }')
		if [ -z "$busy" ]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# ftp_descendants PID: PID's descendants (not PID), deepest last.
ftp_descendants() {
	local c
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		echo "$c"
		ftp_descendants "$c"
	done
}

# ftp_vsftpd_start NAME PORT [ADDR]: vsftpd for ADDR:PORT (default
# 127.0.0.1; ::1 for IPv6) in $T/NAME: root $T/NAME/root (pub/ writable by ftp), log
# $T/NAME/vsftpd.log (log_ftp_protocol: every command), passive ports
# from a free range of 16.  Sets VSFTPD_PID_<NAME>.  Returns non-zero if
# it does not listen within 5 s.
ftp_vsftpd_start() {
	local name=$1 port=$2 addr=${3:-127.0.0.1} d=$T/$1 pasv pid
	mkdir -p "$d/root/pub" "$d/empty"
	chmod 755 "$d" "$d/root"
	chmod 555 "$d/empty"
	# Anonymous sessions run as the user ftp (the vsftpd package makes it).
	chown ftp:ftp "$d/root/pub" 2>/dev/null
	chmod 755 "$d/root/pub"
	pasv=$(ftp_free_range 16) || return 1
	{
		case $addr in
		*:*) printf 'listen=NO\nlisten_ipv6=YES\nlisten_address6=%s\n' "$addr" ;;
		*)
			printf 'listen=YES\nlisten_ipv6=NO\nlisten_address=%s\n' "$addr"
			printf 'pasv_address=%s\n' "$addr"
			;;
		esac
		cat <<EOF
listen_port=$port
background=NO
anonymous_enable=YES
local_enable=NO
no_anon_password=YES
anon_root=$d/root
write_enable=YES
anon_upload_enable=YES
anon_umask=022
allow_writeable_chroot=YES
pasv_enable=YES
pasv_min_port=$pasv
pasv_max_port=$((pasv + 15))
port_enable=YES
connect_from_port_20=NO
port_promiscuous=NO
pasv_promiscuous=NO
secure_chroot_dir=$d/empty
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
xferlog_enable=YES
xferlog_std_format=NO
log_ftp_protocol=YES
vsftpd_log_file=$d/vsftpd.log
syslog_enable=NO
max_clients=2000
max_per_ip=2000
async_abor_enable=YES
anon_other_write_enable=YES
EOF
	} >"$d/vsftpd.conf"
	touch "$d/vsftpd.log"
	vsftpd "$d/vsftpd.conf" >"$d/vsftpd.out" 2>&1 </dev/null &
	pid=$!
	eval "VSFTPD_PID_$name=$pid"
	cleanup_cmd "ftp_vsftpd_stop $name"
	for _ in $(seq 1 50); do
		ss -Hltnp "sport = :$port" 2>/dev/null | grep -q "pid=$pid," &&
		    return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# ftp_vsftpd_stop NAME: kill vsftpd NAME and every session process it
# started (collected by PID before the kill).
ftp_vsftpd_stop() {
	local pid kids
	pid=$(eval echo "\${VSFTPD_PID_$1:-}")
	[ -n "$pid" ] || return 0
	kids=$(ftp_descendants "$pid")
	# shellcheck disable=SC2086
	kill -9 "$pid" $kids 2>/dev/null
	wait "$pid" 2>/dev/null
	eval "VSFTPD_PID_$1="
	return 0
}

# ftp_vsftpd_sessions NAME: vsftpd NAME's session processes now.
ftp_vsftpd_sessions() {
	local pid
	pid=$(eval echo "\${VSFTPD_PID_$1:-}")
	if [ -n "$pid" ]; then
		ftp_descendants "$pid" | wc -l
	else
		echo 0
	fi
}

# ftp_put_file NAME FILE AS: place FILE in vsftpd NAME's pub/ as AS
# (readable by the anonymous user).
ftp_put_file() {
	cp "$2" "$T/$1/root/pub/$3" && chmod 644 "$T/$1/root/pub/$3"
}

# ftp_url_host HOST: HOST as it goes in a URL ([::1] for IPv6).
ftp_url_host() {
	case $1 in *:*) echo "[$1]" ;; *) echo "$1" ;; esac
}

# ftp_run CLIENT MODE HOST PORT BIND UP AS DOWN OUT LOG: with CLIENT (curl,
# lftp, tnftp) in MODE (PORT EPRT PASV EPSV), as anonymous on HOST:PORT
# from address BIND: upload file UP as pub/AS, list pub/ (into OUT.list),
# download pub/DOWN into OUT.  Verbose output (commands and replies) goes
# to LOG.  FTP_TIMEOUT (default 60 s) bounds each client run.  Return 0
# if the client reported success for all three.
ftp_run() {
	local cl=$1 mode=$2 host=$3 port=$4 bind=$5 up=$6 as=$7 down=$8 out=$9
	local log=${10} uh to=${FTP_TIMEOUT:-60} rc=0
	uh=$(ftp_url_host "$host")
	# (clients run in $T: nothing they write lands in the source tree)
	cd "$T" || return 2
	rm -f "$out" "$out.list"
	: >"$log"
	case $cl in
	curl)
		local -a o=(-sS -v --connect-timeout 10 --max-time "$to"
		    --interface "$bind")
		case $mode in
		PORT) o+=(--ftp-port "$bind" --disable-eprt) ;;
		EPRT) o+=(--ftp-port "$bind" --eprt) ;;
		PASV) o+=(--disable-epsv --no-ftp-skip-pasv-ip) ;;
		EPSV) o+=(--epsv) ;;
		esac
		curl "${o[@]}" -T "$up" "ftp://$uh:$port/pub/$as" >>"$log" 2>&1 ||
		    rc=1
		curl "${o[@]}" -o "$out.list" "ftp://$uh:$port/pub/" >>"$log" 2>&1 ||
		    rc=1
		curl "${o[@]}" -o "$out" "ftp://$uh:$port/pub/$down" >>"$log" 2>&1 ||
		    rc=1
		;;
	lftp)
		local pm=yes ep=no bset
		case $mode in
		PORT | EPRT) pm=no ;;
		EPSV) ep=yes ;;
		esac
		case $bind in
		*:*) bset="set net:socket-bind-ipv6 $bind" ;;
		*) bset="set net:socket-bind-ipv4 $bind" ;;
		esac
		timeout -k 5 "$to" lftp -c "set net:max-retries 1;
		    set net:reconnect-interval-base 1; set net:timeout 20;
		    set cmd:fail-exit yes; set ftp:ssl-allow no; $bset;
		    set ftp:passive-mode $pm; set ftp:prefer-epsv $ep;
		    set xfer:clobber yes;
		    debug -o $log 9; open ftp://anonymous:x@$uh:$port;
		    cd pub; put $up -o $as; cls -1 > $out.list;
		    get $down -o $out" >>"$log.out" 2>&1 || rc=1
		cat "$log.out" >>"$log" 2>/dev/null
		;;
	tnftp)
		local pas=on ep=off
		case $mode in
		PORT) pas=off ;;
		EPRT) pas=off ep=on ;;
		EPSV) ep=on ;;
		esac
		printf '%s\n' "user anonymous x" binary "passive $pas" \
		    "epsv4 $ep" "epsv6 on" "cd pub" "put $up $as" \
		    "ls . $out.list" "get $down $out" quit |
		    timeout -k 5 "$to" tnftp -i -n -v -d -s "$bind" "$host" "$port" \
		    >>"$log" 2>&1 || rc=1
		# tnftp exits 0 after a failed transfer: its replies tell.
		grep -qE '^(4[0-9][0-9]|5[0-9][0-9])[ -]' "$log" && rc=1
		grep -q '^226 ' "$log" || rc=1
		;;
	*) return 2 ;;
	esac
	[ -s "$out" ] && [ -s "$out.list" ] || rc=1
	cd "$SRCDIR" || return 2
	return $rc
}

# ftp_modes LOG: the data-connection commands (PORT EPRT PASV EPSV LPRT
# LPSV) the client sent, as found in its verbose LOG, unique, in order of
# first use, space separated.
ftp_modes() {
	grep -oE '(^|[]> ])(> |---> )(PORT|EPRT|PASV|EPSV|LPRT|LPSV)\b' "$1" |
	    grep -oE '(PORT|EPRT|PASV|EPSV|LPRT|LPSV)$' | awk '!s[$0]++' |
	    tr '\n' ' ' | sed 's/ $//'
}

# ftp_server_modes NAME: the same, as vsftpd NAME received them (its
# log_ftp_protocol log).
ftp_server_modes() {
	grep -oE 'FTP command: Client "[^"]*", "(PORT|EPRT|PASV|EPSV|LPRT|LPSV)\b' \
	    "$T/$1/vsftpd.log" | grep -oE '(PORT|EPRT|PASV|EPSV|LPRT|LPSV)$' |
	    awk '!s[$0]++' | tr '\n' ' ' | sed 's/ $//'
}

# ftp_server_clients NAME: the client addresses vsftpd NAME saw (unique).
ftp_server_clients() {
	grep -oE 'Client "[^"]*"' "$T/$1/vsftpd.log" | sort -u |
	    sed 's/Client "\(.*\)"/\1/' | tr '\n' ' ' | sed 's/ $//'
}
