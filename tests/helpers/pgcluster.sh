#!/bin/sh
# tests/helpers/pgcluster.sh: a throwaway PostgreSQL cluster for the store
# tests (tests/unit/pg_fixture.h).
#
#   pgcluster.sh start DIR OWNERPID   initdb + pg_ctl start in DIR (empty or
#                                     missing), Unix socket in DIR only (no
#                                     TCP); prints the conninfo to reach it.
#                                     A watcher (pgcluster.sh watch) stops the
#                                     cluster and removes DIR when OWNERPID
#                                     exits, however it ends.
#   pgcluster.sh stop DIR             stop it now (immediate) and remove DIR.
#   pgcluster.sh bindir               the PostgreSQL binaries' directory.
#
# As root the cluster runs as "nobody" (PostgreSQL refuses root).  Exit
# status 77 if the PostgreSQL server binaries are missing.
set -eu

bindir() {
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/psql" ]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

# as CMD...: run CMD as the cluster's owner.
as() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u nobody -- "$@"
	else
		"$@"
	fi
}

stop() {
	dir=$1
	if [ -f "$dir/data/postmaster.pid" ]; then
		as "$BIN/pg_ctl" -D "$dir/data" -m immediate -w -t 20 stop \
			>/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
}

case "${1:-}" in
bindir)
	bindir
	;;
start)
	[ $# -eq 3 ] || { echo "usage: $0 start DIR OWNERPID" >&2; exit 2; }
	dir=$2 owner=$3
	BIN=$(bindir) || { echo "PostgreSQL server binaries missing (apt-get install postgresql)" >&2; exit 77; }
	mkdir -p "$dir"
	user=$(id -un)
	if [ "$(id -u)" = 0 ]; then
		chown nobody "$dir"
		user=nobody
	fi
	chmod 700 "$dir"
	# The watcher, first and in a session of its own (so that a kill of
	# our process group spares it): when the owner goes, so does the
	# cluster, and the directory.
	setsid "$0" watch "$dir" "$owner" </dev/null >/dev/null 2>&1 &
	as "$BIN/initdb" -D "$dir/data" -U "$user" -A trust -E UTF8 \
		--locale=C --no-sync >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; exit 1; }
	# No TCP at all: the socket in $dir, reachable by its owner (and root).
	as "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		-o "-c listen_addresses= -c unix_socket_directories=$dir -c max_connections=40 -c shared_buffers=16MB" \
		start >/dev/null ||
		{ cat "$dir/server.log" >&2; exit 1; }
	echo "host=$dir port=5432 user=$user"
	;;
watch)
	[ $# -eq 3 ] || exit 2
	BIN=$(bindir) || exit 0
	while kill -0 "$3" 2>/dev/null && [ -d "$2" ]; do
		sleep 1
	done
	[ ! -d "$2" ] || stop "$2"
	;;
stop)
	[ $# -eq 2 ] || { echo "usage: $0 stop DIR" >&2; exit 2; }
	BIN=$(bindir) || exit 0
	stop "$2"
	;;
*)
	echo "usage: $0 start DIR OWNERPID | stop DIR | bindir" >&2
	exit 2
	;;
esac
