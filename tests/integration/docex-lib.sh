# shellcheck shell=bash
# tests/integration/docex-lib.sh: run the runnable examples of a document
# (Markdown or a roff man page) on simulated hosts; source it after lib.sh.
#
#   docex_run FILE...     for each FILE: check its markup, create its hosts,
#                         run its blocks in order, tear the hosts down
#
# or, to look at the hosts before or after the blocks (one FILE at a time):
#
#   docex_setup FILE      markup check (one TAP line) and the hosts
#   docex_exec HOST CMD...  run CMD on HOST, in the blocks' environment
#   docex_blocks          run the blocks (one TAP line each)
#   docex_teardown        kill everything, remove the hosts (one TAP line:
#                         no sanitizer report in the blocks' output)
#   docex_block_log TEXT  the output file of the first block containing TEXT
#
# DOCEX_SHOW=1 prints the output of the blocks that pass too.
#
# The markup is checked by tests/helpers/docex.pl (see its header).  Each
# HOST of the document's hosts comment is a network namespace (loopback
# and eth0 with the declared address, plugged into the bridge br0 of the
# namespace $DOCEX_SW, where nothing else runs) with a persistent mount
# namespace in which /etc, /var, /usr/local, /root and /run are overlays
# (lower: the real directory, upper: a tmpfs of this host), and a UTS
# namespace with the host's name.  On every host the names of all hosts
# resolve through /etc/hosts (NAME and NAME.example.net), and
# /root/cryptgate is the source tree (an overlay of $DOCEX_DIR/src, a copy of
# $SRCDIR made by docex_setup) whose build/ is an overlay of $BUILD: `make` there finds everything built and
# `make install` installs the test's programs into /usr/local.  Every host
# runs sshd on port 22 and root can ssh and scp to every other host by name
# (one key, known_hosts filled in) unless DOCEX_SSH is "no" or openssh is
# missing.
#
# A block runs as `bash -euo pipefail -c TEXT` under nsenter in its host's
# namespaces, cwd /root, stdin /dev/null, stdout and stderr into a file,
# with a clean environment: PATH ($BUILD/bin first unless DOCEX_BUILD_PATH
# is "no"), HOME=/root, USER, LOGNAME, SHELL, TERM=dumb, LANG=C.UTF-8,
# DOCEX_HOST, and the caller's ASAN_OPTIONS, UBSAN_OPTIONS (plus a log_path
# in $DOCEX_DIR/san, so that daemons that detach still report), LSAN_OPTIONS.
# /tmp is the real /tmp, shared by all hosts.  Default timeout: 60 s
# (DOCEX_TIMEOUT).  Processes a block leaves in the background keep
# running; docex_teardown (also run at exit) kills every process of the
# hosts' network namespaces by PID.

DOCEX_PL=$SRCDIR/tests/helpers/docex.pl
DOCEX_TIMEOUT=${DOCEX_TIMEOUT:-60}
DOCEX_BUILD_PATH=${DOCEX_BUILD_PATH:-yes}
DOCEX_SSH=${DOCEX_SSH:-yes}
DOCEX_N=0
DOCEX_FILE=
DOCEX_DIR=
DOCEX_HOSTS=()
DOCEX_SW=
DOCEX_SKIP=
export PATH=$PATH:/usr/sbin:/sbin

cleanup_cmd docex_teardown_quiet

# docex_prereq: true if the hosts can be simulated; else false with the
# reason in DOCEX_SKIP.
docex_prereq() {
	local t probe
	DOCEX_SKIP=
	if ! is_root; then
		DOCEX_SKIP="needs root (network and mount namespaces)"
		return 1
	fi
	for t in ip nsenter unshare mount umount timeout perl; do
		if ! command -v "$t" >/dev/null 2>&1; then
			DOCEX_SKIP="$t missing (mk/deps.sh)"
			return 1
		fi
	done
	probe=docex-$$-probe
	if ! ip netns add "$probe" 2>/dev/null; then
		DOCEX_SKIP="cannot create a network namespace"
		return 1
	fi
	ip netns del "$probe"
	if ! grep -qw overlay /proc/filesystems && ! modprobe overlay 2>/dev/null; then
		DOCEX_SKIP="no overlayfs in this kernel"
		return 1
	fi
	return 0
}

# docex_setup FILE: the markup check (one TAP line: ok, or not ok with the
# errors), then the hosts.  False if the blocks cannot run (markup errors,
# prerequisites missing: one skip line, or a host could not be made).
docex_setup() {
	local file=$1 out n hosts w name addr
	docex_teardown_quiet
	DOCEX_N=$((DOCEX_N + 1))
	DOCEX_FILE=$file
	DOCEX_DIR=$TMPDIR_T/docex.$DOCEX_N
	mkdir -p "$DOCEX_DIR"
	if ! out=$(perl "$DOCEX_PL" -r "$SRCDIR" -o "$DOCEX_DIR/blocks" "$file" 2>&1); then
		fail "$file: runnable-example markup"
		printf '%s\n' "$out" | head -30 | sed 's/^/#   /'
		return 1
	fi
	n=$(grep -c '^[0-9]' "$DOCEX_DIR/blocks/index")
	ok "$file: runnable-example markup ($n runnable blocks)"
	[ "$n" -gt 0 ] || return 1
	if ! docex_prereq; then
		skip "$file: $n runnable blocks" "$DOCEX_SKIP"
		return 1
	fi
	hosts=$(sed -n 's/^hosts\t//p' "$DOCEX_DIR/blocks/index")
	DOCEX_HOSTS=()
	for w in $hosts; do
		DOCEX_HOSTS+=("${w%%=*}")
	done
	if [ "$DOCEX_SSH" != no ] && { [ ! -x /usr/sbin/sshd ] ||
	    ! command -v ssh-keygen >/dev/null 2>&1; }; then
		diag "$file: no /usr/sbin/sshd or ssh-keygen: the hosts get no ssh (openssh-server, openssh-client)"
		DOCEX_SSH=no
	fi
	DOCEX_SW=docex-$$-sw
	if ! out=$(_docex_mkhosts "$hosts" 2>&1); then
		fail "$file: simulated hosts ${DOCEX_HOSTS[*]}"
		printf '%s\n' "$out" | tail -20 | sed 's/^/#   /'
		return 1
	fi
	for w in $hosts; do
		name=${w%%=*} addr=${w#*=}
		diag "$file: host $name = $addr (netns docex-$$-$name)"
	done
	return 0
}

# _docex_mkhosts "name=addr ...": the namespaces (errors to stderr).
_docex_mkhosts() {
	local hosts=$1 w name addr i=0 o oaddr
	local d=$DOCEX_DIR
	set -e
	mkdir -p "$d/ns" "$d/layers" "$d/out" "$d/san"
	# A snapshot of the source tree (mtimes kept), so that edits made to
	# the tree while the blocks run do not reach them.
	mkdir -p "$d/src"
	tar -C "$SRCDIR" --exclude=./build --exclude=./.git -cf - . |
	    tar -C "$d/src" -xf -
	mount --bind "$d/ns" "$d/ns"
	mount --make-private "$d/ns"
	ip netns add "$DOCEX_SW"
	ip -n "$DOCEX_SW" link set lo up
	ip -n "$DOCEX_SW" link add br0 type bridge forward_delay 0 stp_state 0
	ip -n "$DOCEX_SW" link set br0 up
	{
		echo "127.0.0.1	localhost"
		echo "::1	localhost ip6-localhost ip6-loopback"
		for w in $hosts; do
			printf '%s\t%s.example.net %s\n' "${w#*=}" "${w%%=*}" "${w%%=*}"
		done
	} >"$d/hosts"
	for w in $hosts; do
		name=${w%%=*} addr=${w#*=} i=$((i + 1))
		local ns=docex-$$-$name
		ip netns add "$ns"
		ip -n "$ns" link set lo up
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0
		ip link add eth0 netns "$ns" type veth peer name "p$i" netns "$DOCEX_SW"
		ip -n "$DOCEX_SW" link set "p$i" master br0
		ip -n "$DOCEX_SW" link set "p$i" up
		case $addr in
		*:*) ip -n "$ns" addr add "$addr/128" dev eth0 nodad ;;
		*) ip -n "$ns" addr add "$addr/32" dev eth0 ;;
		esac
		ip -n "$ns" link set eth0 up
		for o in $hosts; do
			oaddr=${o#*=}
			[ "$oaddr" != "$addr" ] || continue
			ip -n "$ns" route add "$oaddr" dev eth0
		done
		mkdir -p "$d/layers/$name"
		touch "$d/ns/$name.mnt" "$d/ns/$name.uts"
		nsenter --net="/run/netns/$ns" -- unshare --mount="$d/ns/$name.mnt" \
		    --uts="$d/ns/$name.uts" --propagation private -- \
		    bash -euc "$_DOCEX_HOSTSETUP" docex-setup "$name" \
		    "$d/layers/$name" "$d/hosts" "$d/src" "$BUILD" "$d/ns"
	done
	[ "$DOCEX_SSH" = no ] || _docex_ssh "$hosts"
}

# _docex_ssh "name=addr ...": an sshd on port 22 of every host, and root's
# ~/.ssh on each (one key, authorized everywhere; known_hosts with every
# host's names and address), so that scp/ssh between hosts work as on
# machines one administers.
_docex_ssh() {
	local hosts=$1 w name d=$DOCEX_DIR/ssh hk
	mkdir -p "$d"
	ssh-keygen -q -t ed25519 -N '' -C docex -f "$d/id_ed25519"
	ssh-keygen -q -t ed25519 -N '' -C docex-host -f "$d/host_ed25519"
	cp "$d/id_ed25519.pub" "$d/authorized_keys"
	hk=$(cut -d' ' -f1,2 "$d/host_ed25519.pub")
	for w in $hosts; do
		name=${w%%=*}
		printf '%s,%s.example.net,%s %s\n' "$name" "$name" "${w#*=}" "$hk"
	done >"$d/known_hosts"
	cat >"$d/sshd_config" <<-EOF
		Port 22
		HostKey $d/host_ed25519
		AuthorizedKeysFile $d/authorized_keys
		PermitRootLogin prohibit-password
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		UsePAM no
		StrictModes no
		PidFile none
		Subsystem sftp internal-sftp
		LogLevel ERROR
	EOF
	for w in $hosts; do
		name=${w%%=*}
		# shellcheck disable=SC2016 # expanded by the inner bash
		docex_exec "$name" bash -euc '
			install -d -m 0700 /root/.ssh
			install -m 0600 "$1/id_ed25519" /root/.ssh/id_ed25519
			install -m 0644 "$1/id_ed25519.pub" /root/.ssh/id_ed25519.pub
			install -m 0644 "$1/known_hosts" /root/.ssh/known_hosts
			install -d -m 0755 /run/sshd
			/usr/sbin/sshd -f "$1/sshd_config"
			for _ in $(seq 1 50); do
				ss -Hltn "sport = :22" | grep -q . && exit 0
				sleep 0.1
			done
			echo "sshd does not listen on port 22" >&2
			exit 1' docex-ssh "$d"
	done
}

# Run inside a new host's namespaces: NAME LAYERDIR HOSTSFILE SRCDIR BUILD
# NSDIR.
# Layers in a tmpfs of the host (no upper inside a lower, any filesystem).
# shellcheck disable=SC2016 # expanded by the inner bash
_DOCEX_HOSTSETUP='
name=$1 l=$2 hostsfile=$3 src=$4 build=$5 nsdir=$6
# The namespace files of the other hosts are not ours to hold.
umount -l "$nsdir"
mount -t tmpfs -o mode=0700 "docex-$name" "$l"
ov() {
	mkdir -p "$l/$2.u" "$l/$2.w"
	mount -t overlay "docex-$name" \
	    -o "lowerdir=$1,upperdir=$l/$2.u,workdir=$l/$2.w" "$3"
}
# The source tree first (its lower may be under /root).
mkdir -p "$l/src"
ov "$src" src "$l/src"
mkdir -p "$l/src/build"
ov "$build" build "$l/src/build"
for d in etc var usr/local root run; do
	ov "/$d" "${d//\//_}" "/$d"
done
mkdir -p /root/cryptgate
mount --rbind "$l/src" /root/cryptgate
umount -l "$l/src"
cp "$hostsfile" /etc/hosts
echo "$name" >/etc/hostname
hostname "$name"
mount -t sysfs sysfs /sys
'

# docex_capture_start: capture every frame on the bridge into
# $DOCEX_DIR/bridge.pcap (sets CAP and TCPDUMP) until docex_capture_stop.
docex_capture_start() {
	CAP=$DOCEX_DIR/bridge.pcap
	: >"$DOCEX_DIR/tcpdump.log"
	ip netns exec "$DOCEX_SW" tcpdump -i any -n -U -s 0 -w "$CAP" \
	    >"$DOCEX_DIR/tcpdump.log" 2>&1 &
	TCPDUMP=$!
	cleanup_pid "$TCPDUMP"
	for _ in $(seq 1 50); do
		grep -q 'listening on' "$DOCEX_DIR/tcpdump.log" && break
		sleep 0.1
	done
}

# docex_capture_stop FROM TO MARKER: as a positive control, FROM sends the
# line MARKER in clear (UDP) to TO; then end the capture and write its
# text to $DOCEX_DIR/bridge.txt (the caller checks MARKER is in it).
docex_capture_stop() {
	# shellcheck disable=SC2016 # expanded by the inner bash
	docex_exec "$1" bash -c 'echo "$2" | socat -u - "UDP:$1:9"' x \
	    "$2" "$3" >/dev/null 2>&1
	sleep 1
	kill -INT "$TCPDUMP" 2>/dev/null
	for _ in $(seq 1 50); do
		kill -0 "$TCPDUMP" 2>/dev/null || break
		sleep 0.1
	done
	tcpdump -r "$CAP" -n -A >"$DOCEX_DIR/bridge.txt" 2>/dev/null
}

# docex_exec HOST CMD...: CMD on HOST (namespaces, cwd /root, the blocks'
# environment); its exit status.
docex_exec() {
	local host=$1 path
	shift
	path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	[ "$DOCEX_BUILD_PATH" = no ] || path=$BUILD/bin:$path
	nsenter --net="/run/netns/docex-$$-$host" \
	    --mount="$DOCEX_DIR/ns/$host.mnt" --uts="$DOCEX_DIR/ns/$host.uts" \
	    -- env -i -C /root PATH="$path" HOME=/root USER=root LOGNAME=root \
	    SHELL=/bin/bash TERM=dumb LANG=C.UTF-8 DOCEX_HOST="$host" \
	    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$DOCEX_DIR/san/asan" \
	    UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$DOCEX_DIR/san/ubsan" \
	    ${LSAN_OPTIONS+LSAN_OPTIONS="$LSAN_OPTIONS"} \
	    "$@"
}

# _docex_nsan: how many sanitizer reports the processes of the hosts wrote
# to log_path files (see docex_exec).
_docex_nsan() {
	grep -lE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' \
	    "$DOCEX_DIR"/san/* 2>/dev/null | wc -l
}

# docex_blocks: run the blocks of the file set up by docex_setup, one TAP
# line each (a failure shows the block's exit status and output).
docex_blocks() {
	local num where host opts first to expect rc out desc sanrep nsan
	while IFS=$'\t' read -r num where host opts first; do
		[[ $num == [0-9]* ]] || continue
		to=$DOCEX_TIMEOUT expect=0
		[[ " $opts " == *" expect-fail "* ]] && expect=1
		[[ " $opts " =~ \ timeout=([0-9]+)\  ]] && to=${BASH_REMATCH[1]}
		nsan=$(_docex_nsan)
		out=$DOCEX_DIR/out/$num.log
		docex_exec "$host" timeout -k 5 "$to" \
		    bash -euo pipefail -c "$(cat "$DOCEX_DIR/blocks/$num.sh")" \
		    </dev/null >"$out" 2>&1
		rc=$?
		desc="$where $host: $first"
		sanrep=no
		grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' \
		    "$out" && sanrep=yes
		# Reports of processes with ASAN_OPTIONS log_path (daemons too).
		[ "$(_docex_nsan)" -gt "$nsan" ] && sanrep=yes
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			fail "$desc (timed out after ${to}s)"
		elif [ "$sanrep" = yes ]; then
			fail "$desc (sanitizer report, exit $rc)"
		elif [ "$expect" = 1 ] && [ "$rc" -ne 0 ]; then
			ok "$desc (failed as expected, exit $rc)"
			_docex_show "$out"
			continue
		elif [ "$expect" = 0 ] && [ "$rc" -eq 0 ]; then
			ok "$desc"
			_docex_show "$out"
			continue
		elif [ "$expect" = 1 ]; then
			fail "$desc (expected to fail, exit 0)"
		else
			fail "$desc (exit $rc)"
		fi
		sed 's/^/#   /' "$DOCEX_DIR/blocks/$num.sh" | head -20
		if [ "$sanrep" = yes ]; then
			# shellcheck disable=SC2012 # our own file names
			ls -t "$DOCEX_DIR"/san/* 2>/dev/null |
			    head -n "$(($(_docex_nsan) - nsan))" |
			    while read -r f; do tail -n 30 "$f"; done |
			    sed 's/^/#   san: /'
		fi
		echo "#   -- output:"
		tail -n 40 "$out" | sed 's/^/#   | /'
	done <"$DOCEX_DIR/blocks/index"
}

# docex_block_log TEXT: the output file of the first block whose text
# contains TEXT (after docex_blocks); false if no block does.
docex_block_log() {
	local f
	for f in "$DOCEX_DIR"/blocks/[0-9]*.sh; do
		if grep -qF -- "$1" "$f"; then
			f=${f##*/}
			echo "$DOCEX_DIR/out/${f%.sh}.log"
			return 0
		fi
	done
	return 1
}

# _docex_show LOG: with DOCEX_SHOW=1, the output of a block that passed.
_docex_show() {
	[ "${DOCEX_SHOW:-0}" = 1 ] || return 0
	sed 's/^/#   | /' "$1"
}

# docex_teardown: kill every process of the hosts (TERM, then KILL after
# 5 s), remove the namespaces; then one TAP line: no sanitizer report in
# the output of the blocks (background processes write there until they
# are killed).
docex_teardown() {
	local f found=""
	[ -n "$DOCEX_SW" ] || return 0
	docex_teardown_quiet
	for f in "$DOCEX_DIR"/out/*.log "$DOCEX_DIR"/san/*; do
		[ -f "$f" ] || continue
		grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' \
		    "$f" && found="$found $f"
	done
	if [ -z "$found" ]; then
		ok "$DOCEX_FILE: no sanitizer report from the examples' processes"
	else
		fail "$DOCEX_FILE: sanitizer report from the examples' processes"
		for f in $found; do
			grep -E -A12 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' \
			    "$f" | head -30 | sed "s|^|#   ${f##*/}: |"
		done
	fi
}

# docex_teardown_quiet: docex_teardown without the TAP line (the exit
# trap).  Only processes in our namespaces are killed, by PID.
docex_teardown_quiet() {
	local h ns pids p="" d=$DOCEX_DIR
	[ -n "$DOCEX_SW" ] || return 0
	pids=""
	for h in "${DOCEX_HOSTS[@]}" sw; do
		ns=docex-$$-$h
		[ "$h" = sw ] && ns=$DOCEX_SW
		pids="$pids $(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')"
	done
	for p in $pids; do
		kill -TERM "$p" 2>/dev/null
	done
	for _ in $(seq 1 50); do
		for p in $pids; do
			kill -0 "$p" 2>/dev/null && break
			p=""
		done
		[ -z "$p" ] && break
		sleep 0.1
	done
	for p in $pids; do
		kill -KILL "$p" 2>/dev/null
	done
	for h in "${DOCEX_HOSTS[@]}"; do
		umount "$d/ns/$h.mnt" "$d/ns/$h.uts" 2>/dev/null
		ip netns del "docex-$$-$h" 2>/dev/null
	done
	ip netns del "$DOCEX_SW" 2>/dev/null
	umount "$d/ns" 2>/dev/null
	DOCEX_SW=
	DOCEX_HOSTS=()
	return 0
}

# docex_run FILE...: check, set up, run and tear down each FILE in turn.
docex_run() {
	local f
	for f in "$@"; do
		if docex_setup "$f"; then
			docex_blocks
			docex_teardown
		fi
	done
}
