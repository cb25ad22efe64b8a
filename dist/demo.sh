#!/usr/bin/env bash
# dist/demo.sh: the README's main-job command (make demo); see --help.
#
# On loopback, in a new directory: a KDC with its SQLite database, two hosts
# that enroll and are approved, a policy, cryptgate-kdcd, bob's server
# gateway in front of a service (a built-in echo service; vsftpd too when
# run as root), alice's client gateway, and between the two gateways a tap
# that records every byte.  A line and a file cross the pair (and, as root,
# FTP with curl); the summary shows the keys issued, the bytes carried, the
# TLS suite and group, and that the recorded bytes are TLS records that do
# not contain the plaintext.  Every process is started in its own process
# group and stopped by that group's id.
set -uo pipefail

usage() {
	cat <<'EOU'
usage: dist/demo.sh [--keep]
       make demo [ARGS=--keep]

Runs cryptgate's main job on loopback, in a new directory under
${TMPDIR:-/tmp}: a KDC (SQLite database), two hosts alice (client side)
and bob (server side) that enroll and are approved, a policy,
cryptgate-kdcd, bob's gateway in front of a built-in echo service (and
vsftpd, when run as root), alice's gateway, and a tap between the two
gateways that records the bytes they exchange.  A line and a 1 MiB file
cross the gateways (as root, curl also moves files through FTP).  The
summary shows the keys the KDC issued, the bytes each gateway carried,
the TLS suite and group negotiated, and checks that the recorded bytes
are TLS records without the plaintext.

Without --keep, the end of the run, Ctrl-C or SIGTERM stops every
process the demo started and removes the directory.

  --keep      leave the KDC, the gateways, the services and the tap
              running at the end, and print how to connect through the
              gateways, read their counters, and stop everything (a stop
              script in the directory).  make demo ARGS=--keep does the same.
  -h, --help  print this text

The programs are taken from $BUILD/bin (BUILD=build by default; make demo
builds them first).  Needs socat and perl; FTP needs root, vsftpd and curl
(mk/deps.sh installs them all).
EOU
}

keep=false
for a in "$@"; do
	case $a in
	--keep) keep=true ;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		usage >&2
		exit 2
		;;
	esac
done

cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$(pwd)/$BUILD ;; esac
CG=$BUILD/bin/cryptgate
KDCD=$BUILD/bin/cryptgate-kdcd
GWD=$BUILD/bin/cryptgate-gatewayd
for p in "$CG" "$KDCD" "$GWD"; do
	[ -x "$p" ] || {
		echo "demo: $p is missing: run make (or make demo) first" >&2
		exit 1
	}
done
for p in socat perl ss; do
	command -v "$p" >/dev/null || {
		echo "demo: $p is needed (mk/deps.sh installs it)" >&2
		exit 1
	}
done

bdisp=${BUILD#"$(pwd)"/}
work=$(mktemp -d "${TMPDIR:-/tmp}/cryptgate-demo.XXXXXX") || exit 1
pids=""  # process group ids of what we started (each its own group)
names="" # "name=pid" words, for the messages
finished=false
log=$work/demo.log # the output of every command the demo runs

# stop_all: stop the process groups in $pids whose leader is ours (its
# command line names $work): SIGTERM, up to 5 s, then SIGKILL.  This
# function is also copied into the stop script of --keep.
stop_all() {
	local p ours="" i
	for p in $pids; do
		if tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" |
		    grep -qF "$work"; then
			ours="$ours $p"
			kill -TERM -- "-$p" 2>/dev/null
		fi
	done
	for p in $ours; do
		i=0
		while kill -0 -- "-$p" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL -- "-$p" 2>/dev/null
	done
	return 0
}

on_exit() {
	local rc=$?
	trap - EXIT
	trap '' INT TERM
	if $finished && $keep; then
		return
	fi
	stop_all
	rm -rf "$work"
	if [ -n "$pids" ]; then
		echo "demo: stopped pids$(printf ' %s' $pids), removed $work"
	else
		echo "demo: removed $work"
	fi
	exit $rc
}
trap on_exit EXIT
trap 'echo; echo "demo: interrupted" >&2; exit 130' INT
trap 'echo "demo: terminated" >&2; exit 143' TERM

# start NAME LOG CMD...: CMD in the background in a new session and process
# group of its own (setsid), output to LOG; its pid in $last_pid.
start() {
	local name=$1 out=$2
	shift 2
	setsid "$@" </dev/null >>"$out" 2>&1 &
	last_pid=$!
	pids="$pids $last_pid"
	names="$names $name=$last_pid"
}

step_n=0
# step TEXT: a step's header line: what it does and why.
step() {
	step_n=$((step_n + 1))
	printf '\n%2d. %s\n' "$step_n" "$*"
	printf '\n== step %d: %s\n' "$step_n" "$*" >>"$log"
}
# result TEXT: its result line.
result() { printf '    -> %s\n' "$*"; }

# fail TEXT [FILE...]: say what failed, show the end of the log of the
# commands and of the FILEs (daemon logs), and exit (which stops all).
fail() {
	local f
	printf '\ndemo: FAILED: %s\n' "$1" >&2
	shift
	for f in "$log" "$@"; do
		[ -s "$f" ] || continue
		printf -- '--- last lines of %s\n' "${f#"$work"/}" >&2
		tail -n 15 "$f" >&2
	done
	exit 1
}

# run CMD...: run CMD in the work directory, output into demo.log; its
# standard output is also in $out.  Fails the demo if CMD fails.
run() {
	printf '$ %s\n' "$*" >>"$log"
	out=$("$@" 2>>"$log")
	local rc=$?
	printf '%s\n' "$out" >>"$log"
	[ $rc -eq 0 ] || fail "$* (exit $rc)"
}

# refused CMD...: CMD must fail (the KDC refuses); its error in $out.
refused() {
	printf '$ %s   (must be refused)\n' "$*" >>"$log"
	if out=$("$@" 2>&1); then
		printf '%s\n' "$out" >>"$log"
		fail "$* was answered"
	fi
	printf '%s\n' "$out" >>"$log"
}

given_ports=" "
kport="" svc="" sec="" tapp="" cli="" ftp="" fsec="" fcli="" pasv=""
# free_ports VAR...: set each VAR to a loopback TCP port that nobody uses
# and that was not handed out before.
free_ports() {
	local v p
	for v in "$@"; do
		for _ in $(seq 1 200); do
			p=$((20000 + RANDOM % 12000))
			case $given_ports in *" $p "*) continue ;; esac
			[ -z "$(ss -Htan "sport = :$p" 2>/dev/null)" ] && break
		done
		given_ports="$given_ports$p "
		printf -v "$v" %s "$p"
	done
}

# wait_listen NAME PID PORT LOG: until process PID (NAME, logging to LOG)
# listens on PORT (10 s).
wait_listen() {
	for _ in $(seq 1 100); do
		# $2 or a child of it (the KDC's network process).
		ss -Hltnp "sport = :$3" 2>/dev/null |
		    grep -qE "pid=($2|$(pgrep -d'|' -P "$2"))," && return 0
		kill -0 "$2" 2>/dev/null || fail "$1 (pid $2) exited at start" "$4"
		sleep 0.1
	done
	fail "$1 (pid $2) does not listen on port $3" "$4"
}

# status_field FILE SERVICE FIELD: a counter of `cryptgate status -r`
# output FILE (the gateway line when SERVICE is "gateway").
status_field() {
	awk -v s="$2" -v f="$3" '($1 == "gateway" && s == "gateway") ||
	    $1 == "service=" s {
		for (i = 2; i <= NF; i++)
			if (index($i, f "=") == 1)
				print substr($i, length(f) + 2)
	}' "$1"
}

# write_helper: helper.pl, the built-in echo service, the tap and the
# analysis of what the tap recorded (one Perl program).
write_helper() {
	cat >helper.pl <<'EOP'
# helper.pl (written by dist/demo.sh): "echo PORT DIR": an echo service on
# 127.0.0.1:PORT that keeps a copy of what each connection sent in
# DIR/conn-N.in; "tap PORT UPSTREAM DIR": a relay from 127.0.0.1:PORT to
# 127.0.0.1:UPSTREAM that records each direction of each connection in
# DIR/conn-N.c2s and .s2c; "analyze TAPDIR SVCDIR FILE MARKER": the
# summary's proof lines; exits 1 if a check fails.
use strict;
use warnings;
use IO::Socket::INET;
use Socket qw(SHUT_WR);

sub listener {
	return IO::Socket::INET->new(LocalAddr => '127.0.0.1',
	    LocalPort => $_[0], Listen => 64, ReuseAddr => 1)
	    || die "listen on 127.0.0.1:$_[0]: $!\n";
}

# copy(FROM, TO, RECORD): FROM to TO until end of stream, then half-close.
sub copy {
	my ($from, $to, $path) = @_;
	open(my $rec, '>:raw', $path) || die "$path: $!\n";
	my $buf;
	while (1) {
		my $n = sysread($from, $buf, 65536);
		last if !defined($n) || $n == 0;
		print $rec $buf;
		for (my $off = 0; $off < $n;) {
			my $w = syswrite($to, $buf, $n - $off, $off);
			return if !defined($w);
			$off += $w;
		}
	}
	close($rec);
	shutdown($to, SHUT_WR);
}

# serve(LISTENER, SUB): SUB(socket, n) in a child for each connection.
sub serve {
	my ($l, $sub) = @_;
	my $n = 0;
	$SIG{CHLD} = 'IGNORE';
	while (1) {
		my $c = $l->accept() || next;
		$n++;
		my $pid = fork();
		if (defined($pid) && $pid == 0) {
			$SIG{CHLD} = 'DEFAULT';
			close($l);
			$sub->($c, $n);
			exit(0);
		}
		close($c);
	}
}

sub slurp {
	open(my $f, '<:raw', $_[0]) || die "$_[0]: $!\n";
	local $/;
	my $d = <$f>;
	return defined($d) ? $d : '';
}

sub hex_of { join(' ', map { sprintf('%02x', $_) } unpack('C*', $_[0])) }

my %rtype = (20 => 'change_cipher_spec', 21 => 'alert',
    22 => 'handshake', 23 => 'application_data');
my %suite = (0x1301 => 'TLS_AES_128_GCM_SHA256',
    0x1302 => 'TLS_AES_256_GCM_SHA384',
    0x1303 => 'TLS_CHACHA20_POLY1305_SHA256');
my %group = (0x1d => 'x25519', 0x17 => 'P-256', 0x18 => 'P-384',
    0x19 => 'P-521', 0x1e => 'x448');

# records(DATA): the TLS records of a stream, [type, version, body];
# undef if DATA is not a sequence of whole TLS records.
sub records {
	my ($d) = @_;
	my @r;
	my $pos = 0;
	while ($pos + 5 <= length($d)) {
		my ($t, $v, $len) = unpack('Cnn', substr($d, $pos, 5));
		return undef if !$rtype{$t} || ($v != 0x0301 && $v != 0x0303) ||
		    $len > 16384 + 256 || $pos + 5 + $len > length($d);
		push(@r, [$t, $v, substr($d, $pos + 5, $len), $pos]);
		$pos += 5 + $len;
	}
	return $pos == length($d) ? \@r : undef;
}

# extensions(BODY, OFFSET): hash of extension type => data.
sub extensions {
	my ($b, $p) = @_;
	my %e;
	my $end = $p + 2 + unpack('n', substr($b, $p, 2));
	for ($p += 2; $p + 4 <= $end;) {
		my ($t, $l) = unpack('nn', substr($b, $p, 4));
		$e{$t} = substr($b, $p + 4, $l);
		$p += 4 + $l;
	}
	return \%e;
}

sub analyze {
	my ($tapdir, $svcdir, $file, $marker) = @_;
	my $ok = 1;
	my (@c2s, @s2c);
	for my $f (sort { ($a =~ /(\d+)/)[0] <=> ($b =~ /(\d+)/)[0] }
	    glob("$tapdir/conn-*.c2s")) {
		(my $g = $f) =~ s/\.c2s$/.s2c/;
		push(@c2s, slurp($f));
		push(@s2c, -e $g ? slurp($g) : '');
	}
	my $nc = @c2s;
	my ($bc, $bs) = (0, 0);
	$bc += length($_) for @c2s;
	$bs += length($_) for @s2c;
	printf("  %-26s %s\n", 'between the gateways',
	    "the tap recorded $nc connections: $bc bytes alice->bob, " .
	    "$bs bytes bob->alice (tap/)");
	if ($nc == 0) {
		print("  nothing was recorded\n");
		return 0;
	}
	my (%count, $bad, $v17);
	for my $s (@c2s, @s2c) {
		my $r = records($s);
		if (!defined($r)) {
			$bad++;
			next;
		}
		for (@$r) {
			$count{$_->[0]}++;
			$v17++ if $_->[0] == 23 && $_->[1] != 0x0303;
		}
	}
	my $what = join(', ', map { "$count{$_} $rtype{$_}" }
	    grep { $count{$_} } (22, 20, 21, 23));
	if ($bad || $v17 || !$count{22} || !$count{23}) {
		$ok = 0;
		printf("  %-26s %s\n", 'TLS records', "NOT only TLS records: " .
		    ($bad // 0) . " streams do not parse; $what");
	} else {
		printf("  %-26s %s\n", 'TLS records', "all the recorded " .
		    "bytes parse as TLS records: $what (all 03 03)");
	}
	# The first connection: ClientHello, ServerHello, an encrypted record.
	my $rc = records($c2s[0]) || [];
	my $rs = records($s2c[0]) || [];
	my ($ch) = grep { $_->[0] == 22 } @$rc;
	my ($sh) = grep { $_->[0] == 22 } @$rs;
	my ($ad) = grep { $_->[0] == 23 } @$rc;
	my $identity = '?';
	if ($ch && unpack('C', $ch->[2]) == 1) {
		my $b = $ch->[2];
		my $p = 4 + 2 + 32;
		$p += 1 + unpack('C', substr($b, $p, 1));
		$p += 2 + unpack('n', substr($b, $p, 2));
		$p += 1 + unpack('C', substr($b, $p, 1));
		my $e = extensions($b, $p);
		if (defined(my $psk = $e->{41})) {
			my $l = unpack('n', substr($psk, 2, 2));
			$identity = substr($psk, 4, $l);
		}
	}
	my ($cs, $grp, $ver) = ('?', '?', '?');
	if ($sh && unpack('C', $sh->[2]) == 2) {
		my $b = $sh->[2];
		my $p = 4 + 2 + 32;
		$p += 1 + unpack('C', substr($b, $p, 1));
		my $c = unpack('n', substr($b, $p, 2));
		$cs = $suite{$c} // sprintf('0x%04x', $c);
		my $e = extensions($b, $p + 3);
		$ver = 'TLS 1.3' if ($e->{43} // '') eq "\x03\x04";
		if (defined($e->{51})) {
			my $g = unpack('n', $e->{51});
			$grp = $group{$g} // sprintf('0x%04x', $g);
		}
	}
	$ok = 0 if $ver ne 'TLS 1.3' || $cs eq '?' || $grp eq '?';
	printf("  %-26s %s\n", 'negotiated (ServerHello)',
	    "$ver, $cs, key exchange $grp (psk_dhe_ke: forward secret)");
	printf("  %-26s %s\n", 'seen in clear', "the ClientHello's PSK " .
	    "identity " . substr($identity, 0, 13) . "...: it names the key, " .
	    "it is not the key");
	my $h = substr($c2s[0], 0, 5);
	printf("  %-26s %s ...\n  %-26s (%s)\n", 'hex, alice->bob, start',
	    hex_of(substr($c2s[0], 0, 12)), '',
	    sprintf('%s: handshake record, %s: its version, %s: %d bytes; ' .
	    '01: ClientHello', hex_of(substr($h, 0, 1)),
	    hex_of(substr($h, 1, 2)), hex_of(substr($h, 3, 2)),
	    unpack('n', substr($h, 3, 2))));
	if ($ad) {
		$h = substr($c2s[0], $ad->[3], 5);
		printf("  %-26s %s ...\n  %-26s (%s)\n",
		    'hex, alice->bob, later', hex_of(substr($c2s[0], $ad->[3],
		    12)), '', sprintf('%s: application_data, %s: TLS 1.3 ' .
		    'records say 1.2, %s: %d bytes of ciphertext',
		    hex_of(substr($h, 0, 1)), hex_of(substr($h, 1, 2)),
		    hex_of(substr($h, 3, 2)), length($ad->[2])));
	}
	# The plaintext: at the service, not between the gateways.
	my $plain = slurp($file);
	my $at_svc = 0;
	$at_svc += () = slurp($_) =~ /\Q$marker\E/g for glob("$svcdir/conn-*.in");
	my $in_file = () = $plain =~ /\Q$marker\E/g;
	my $on_wire = 0;
	$on_wire += () = $_ =~ /\Q$marker\E/g for @c2s, @s2c;
	$ok = 0 if $on_wire || $at_svc < $in_file;
	printf("  %-26s %s\n", 'plaintext marker', "$marker: in the file " .
	    "$in_file times, at bob's service $at_svc, between the " .
	    "gateways: " . ($on_wire ? "FOUND $on_wire times" : "not found"));
	my (%block, $found);
	for (my $i = 0; $i + 32 <= length($plain); $i += 32) {
		$block{substr($plain, $i, 32)} = 1;
	}
	for my $s (@c2s, @s2c) {
		for (my $i = 0; $i + 32 <= length($s); $i++) {
			$found++ if $block{substr($s, $i, 32)};
		}
	}
	$ok = 0 if $found;
	printf("  %-26s %s\n", 'file content', 'its ' .
	    scalar(keys(%block)) . ' distinct 32-byte blocks, between the ' .
	    'gateways: ' . ($found ? "FOUND $found times" : 'not found'));
	return $ok;
}

my $mode = shift(@ARGV) // '';
if ($mode eq 'echo') {
	my ($port, $dir) = @ARGV;
	serve(listener($port), sub {
		copy($_[0], $_[0], "$dir/conn-$_[1].in");
	});
} elsif ($mode eq 'tap') {
	my ($port, $up, $dir) = @ARGV;
	serve(listener($port), sub {
		my ($c, $n) = @_;
		my $u = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
		    PeerPort => $up) || exit(1);
		# One process per direction: neither waits for the other.
		my $pid = fork();
		if (defined($pid) && $pid == 0) {
			copy($c, $u, "$dir/conn-$n.c2s");
			exit(0);
		}
		copy($u, $c, "$dir/conn-$n.s2c");
		waitpid($pid, 0) if defined($pid);
	});
} elsif ($mode eq 'analyze') {
	exit(analyze(@ARGV) ? 0 : 1);
} else {
	die "usage: helper.pl echo|tap|analyze ...\n";
}
EOP
}

cd "$work" || exit 1
mkdir kdc alice bob svc tap
umask 077

printf 'cryptgate demo, in %s (%s at the end)\n' "$work" \
    "$($keep && echo "left running" || echo "removed")"
printf 'programs: %s; commands and their output: demo.log there\n' \
    "$bdisp/bin"

if [ "$(id -u)" = 0 ] && command -v vsftpd >/dev/null &&
    command -v curl >/dev/null && id ftp >/dev/null 2>&1; then
	have_ftp=true
else
	have_ftp=false
fi

free_ports kport

step "Create the KDC, which will hand out the keys: database, signing key, master key"
cat >kdc/kdc.conf <<EOC
[kdc]
name = kdc1
listen = 127.0.0.1:$kport
database = kdc.db
signing_key = kdc.key
master_key = master.key
EOC
run "$CG" kdc init -f kdc/kdc.conf
kdc_id=$(awk '{ print $3 }' kdc/kdc.pub)
result "kdc1 (id ${kdc_id:0:8}...): SQLite kdc/kdc.db, Ed25519 kdc/kdc.key (hosts pin kdc.pub), kdc/master.key"

step "Start cryptgate-kdcd on 127.0.0.1:$kport, where hosts enroll and get their keys"
start kdcd kdc/kdcd.log "$KDCD" -d -f "$work/kdc/kdc.conf"
kdcd_pid=$last_pid
wait_listen cryptgate-kdcd "$kdcd_pid" "$kport" kdc/kdcd.log
result "cryptgate-kdcd pid $kdcd_pid listening (log kdc/kdcd.log)"

step "Create the hosts' identities: alice (client side), bob (server side)"
run "$CG" keygen -o alice/alice -c alice
run "$CG" keygen -t rsa3072 -o bob/bob -c bob
alice_id=$(awk '{ print $3 }' alice/alice.pub)
bob_id=$(awk '{ print $3 }' bob/bob.pub)
for h in alice bob; do
	cp kdc/kdc.pub "$h/kdc.pub"
	cat >"$h/$h.conf" <<EOC
[host]
name = $h
key = $h.key

[kdc]
name = kdc1
address = 127.0.0.1:$kport
public_key = kdc.pub
EOC
done
printf '\n[peer bob]\nid = %s\n' "$bob_id" >>alice/alice.conf
run "$CG" check-config alice/alice.conf bob/bob.conf
result "alice ${alice_id:0:8}... (Ed25519 + X25519), bob ${bob_id:0:8}... (Ed25519 + RSA-3072), keys mode 0$(stat -c %a alice/alice.key)"

step "alice and bob enroll with the KDC (each request signed with the host's new key)"
run "$CG" enroll -f alice/alice.conf
st_alice=$out
run "$CG" enroll -f bob/bob.conf
result "alice: $st_alice; bob: $out"

step "The administrator approves them and lets alice get keys for bob's echo and ftp"
run "$CG" kdc host approve -f kdc/kdc.conf alice
run "$CG" kdc host approve -f kdc/kdc.conf bob
run "$CG" kdc policy allow -f kdc/kdc.conf alice bob echo
run "$CG" kdc policy allow -f kdc/kdc.conf alice bob ftp
run "$CG" kdc host list -f kdc/kdc.conf
nactive=$(printf '%s\n' "$out" | awk '$4 == "active"' | wc -l)
[ "$nactive" = 2 ] || fail "kdc host list does not show 2 active hosts"
result "alice and bob active; policy: alice -> bob echo, alice -> bob ftp"

step "By hand, as the gateways will: alice requests a key for bob's echo, bob fetches it"
(cd alice && run "$CG" request -f alice.conf --peer bob --service echo \
    --client-addr 127.0.0.1 -o key.cfg) || exit 1
key_id=$(cut -d: -f1 alice/key.cfg | sed 's/^kdc1-//')
(cd bob && run "$CG" retrieve -f bob.conf --key-id "$key_id" \
    --client-addr 127.0.0.1 --service echo -o key.cfg) || exit 1
cmp -s alice/key.cfg bob/key.cfg ||
    fail "alice/key.cfg and bob/key.cfg differ"
refused "$CG" retrieve -f bob/bob.conf --key-id "$key_id" \
    --client-addr 127.0.0.9 --service echo -o bob/other.cfg
why_addr=${out##*(}
run "$CG" kdc key revoke -f kdc/kdc.conf "$key_id"
refused "$CG" retrieve -f bob/bob.conf --key-id "$key_id" \
    --client-addr 127.0.0.1 --service echo -o bob/other.cfg
why_rev=${out##*(}
result "alice/key.cfg = bob/key.cfg (kdc1-${key_id:0:8}...); from another address: (${why_addr}; once revoked: (${why_rev}"

free_ports svc sec tapp cli
$have_ftp && free_ports ftp fsec fcli pasv
write_helper

step "bob's plaintext services, on loopback: a built-in echo service$($have_ftp && echo ", vsftpd")"
start echo svc/echo.log perl "$work/helper.pl" echo "$svc" "$work/svc"
echo_pid=$last_pid
wait_listen "the echo service" "$echo_pid" "$svc" svc/echo.log
if $have_ftp; then
	mkdir -p ftp/root/pub ftp/empty
	chmod 755 ftp ftp/root ftp/root/pub
	chmod 555 ftp/empty
	chown ftp:ftp ftp/root/pub
	head -c 5000000 /dev/urandom >ftp/root/pub/report.bin
	chmod 644 ftp/root/pub/report.bin
	cat >ftp/vsftpd.conf <<EOC
listen=YES
listen_address=127.0.0.1
listen_port=$ftp
background=NO
anonymous_enable=YES
local_enable=NO
no_anon_password=YES
anon_root=$work/ftp/root
write_enable=YES
anon_upload_enable=YES
anon_umask=022
pasv_address=127.0.0.1
pasv_min_port=$pasv
pasv_max_port=$pasv
secure_chroot_dir=$work/ftp/empty
seccomp_sandbox=NO
isolate=NO
isolate_network=NO
xferlog_enable=NO
syslog_enable=NO
EOC
	chmod 644 ftp/vsftpd.conf
	start vsftpd ftp/vsftpd.log vsftpd "$work/ftp/vsftpd.conf"
	vsftpd_pid=$last_pid
	wait_listen vsftpd "$vsftpd_pid" "$ftp" ftp/vsftpd.log
	result "echo :$svc pid $echo_pid (keeps a copy in svc/), vsftpd :$ftp pid $vsftpd_pid (pub/report.bin, 5 MB)"
else
	result "echo :$svc pid $echo_pid (keeps a copy in svc/); vsftpd: not as $(id -un) (needs root, vsftpd, curl)"
fi

step "Start the gateways, and a tap between them that records the bytes they exchange"
cat >bob/gateway.conf <<EOC
[gateway]
host_config = bob.conf
status_socket = $work/bob/gw.sock
drain_timeout = 2s

[service echo]
role = server
listen = 127.0.0.1:$sec
backend = 127.0.0.1:$svc
EOC
cat >alice/gateway.conf <<EOC
[gateway]
host_config = alice.conf
status_socket = $work/alice/gw.sock
drain_timeout = 2s

[service echo]
role = client
listen = 127.0.0.1:$cli
connect = 127.0.0.1:$tapp
peer = bob
EOC
if $have_ftp; then
	printf '\n[service ftp]\nrole = server\nprotocol = ftp\nlisten = 127.0.0.1:%s\nbackend = 127.0.0.1:%s\n' \
	    "$fsec" "$ftp" >>bob/gateway.conf
	printf '\n[service ftp]\nrole = client\nprotocol = ftp\nlisten = 127.0.0.1:%s\nconnect = 127.0.0.1:%s\npeer = bob\n' \
	    "$fcli" "$fsec" >>alice/gateway.conf
fi
run "$CG" check-config bob/gateway.conf alice/gateway.conf
# -vv: the logs name each connection and the TLS suite of each handshake.
start bob-gateway bob/gw.log "$GWD" -d -vv -f "$work/bob/gateway.conf"
bob_pid=$last_pid
wait_listen "bob's gateway" "$bob_pid" "$sec" bob/gw.log
start tap tap/tap.log perl "$work/helper.pl" tap "$tapp" "$sec" "$work/tap"
tap_pid=$last_pid
wait_listen "the tap" "$tap_pid" "$tapp" tap/tap.log
start alice-gateway alice/gw.log "$GWD" -d -vv -f "$work/alice/gateway.conf"
alice_pid=$last_pid
wait_listen "alice's gateway" "$alice_pid" "$cli" alice/gw.log
result "client -> alice :$cli pid $alice_pid -> tap :$tapp pid $tap_pid -> bob :$sec pid $bob_pid -> echo :$svc"
GWLOGS=(bob/gw.log alice/gw.log tap/tap.log svc/echo.log)

step "A line through the gateways (socat as the client; alice's gateway gets a key)"
marker="CG-DEMO-PLAINTEXT-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
line="hello through cryptgate, $marker"
printf '$ echo "%s" | socat - TCP:127.0.0.1:%s\n' "$line" "$cli" >>"$log"
reply=$(echo "$line" | timeout 20 socat -t 10 -T 15 - "TCP:127.0.0.1:$cli" 2>>"$log")
[ "$reply" = "$line" ] ||
    fail "the line did not come back through the gateways (got \"$reply\")" \
        "${GWLOGS[@]}"
result "sent \"$line\", got it back"

step "A 1 MiB file through the gateways, the marker on each line, echoed back"
perl -e 'for my $i (1 .. 16384) {
	printf("line %05d of the demo file, %s %s\n", $i, $ARGV[0],
	    "." x 7) }' "$marker" >file.txt
printf '$ socat - TCP:127.0.0.1:%s <file.txt >file.back\n' "$cli" >>"$log"
timeout 60 socat -t 30 -T 30 - "TCP:127.0.0.1:$cli" <file.txt \
    >file.back 2>>"$log" || fail "socat failed" "${GWLOGS[@]}"
h_sent=$(sha256sum <file.txt | cut -c1-16)
h_back=$(sha256sum <file.back | cut -c1-16)
h_svc=$(sha256sum <"$(ls -S svc/conn-*.in | head -1)" | cut -c1-16)
[ "$h_sent" = "$h_back" ] && [ "$h_sent" = "$h_svc" ] ||
    fail "the file differs: sent $h_sent, at the service $h_svc, back $h_back" \
        "${GWLOGS[@]}"
result "$(wc -c <file.txt) bytes, sha256 sent $h_sent, at bob's service $h_svc, back $h_back"

step "FTP: curl downloads (EPSV) and uploads (PORT) 5 MB through the gateways"
if $have_ftp; then
	url=ftp://127.0.0.1:$fcli/pub
	run curl -sS --max-time 30 --epsv -o ftp/got.bin "$url/report.bin"
	run curl -sS --max-time 30 -P 127.0.0.1 -T ftp/got.bin "$url/back.bin"
	a=$(sha256sum <ftp/root/pub/report.bin | cut -c1-16)
	b=$(sha256sum <ftp/got.bin | cut -c1-16)
	c=$(sha256sum <ftp/root/pub/back.bin | cut -c1-16)
	[ "$a" = "$b" ] && [ "$a" = "$c" ] ||
	    fail "the FTP transfers differ" "${GWLOGS[@]}" ftp/vsftpd.log
	result "sha256 on the server $a, downloaded $b, uploaded back $c"
else
	result "skipped: needs root, vsftpd and curl (mk/deps.sh installs them)"
fi

step "Check the KDC's audit log: hash-chained, without key material"
run "$CG" kdc audit verify -f kdc/kdc.conf
result "$out"

# The summary.
run "$CG" kdc key list -f kdc/kdc.conf
keys=$out
"$CG" kdc audit show -f kdc/kdc.conf >kdc/audit.txt 2>>"$log"
for g in alice bob; do
	run "$CG" status -r -s "$work/$g/gw.sock"
	printf '%s\n' "$out" >"$g/status.txt"
done
nkeys=$(printf '%s\n' "$keys" | awk 'NR > 1 && NF' | wc -l)
nrev=$(printf '%s\n' "$keys" | grep -c ' revoked' || true)
nreq=$(grep -c 'op="REQUEST".*result=0' kdc/audit.txt || true)
nret=$(grep -c 'op="RETRIEVE".*result=0' kdc/audit.txt || true)
nden=$(grep -c 'op="RETRIEVE".*refused' kdc/audit.txt || true)

printf '\nSummary: what happened\n'
printf '  %-26s %s\n' 'keys issued by the KDC' \
    "$nkeys ($nrev revoked); audit log: $nreq REQUEST and $nret RETRIEVE answered, $nden refused"
printf '%s\n' "$keys" | awk 'NR > 1 && NF {
	printf "  %-26s %s %s -> %s, %s, %s\n", "", substr($1, 1, 8) "...", $2, $3, $4, $NF }'
services="echo"
$have_ftp && services="echo ftp"
for g in alice bob; do
	for s in $services; do
		f=$g/status.txt
		extra=""
		[ "$s" = ftp ] &&
		    extra=" (of which $(status_field "$f" ftp ftp_data) FTP data)"
		printf '  %-26s %s\n' "$g's gateway, $s" \
		    "$(status_field "$f" "$s" accepted) connections$extra, $(status_field "$f" "$s" handshakes) TLS handshakes, bytes $(status_field "$f" "$s" bytes_in) in, $(status_field "$f" "$s" bytes_out) out"
	done
done
printf '  %-26s %s\n' '' "(cryptgate status; in: from the side that opened the connection)"
hs=$(grep -m1 'handshake done' bob/gw.log |
    sed 's/.*handshake done, //; s/\(kdc1-[0-9a-f]\{8\}\)[0-9a-f]*/\1.../')
printf '  %-26s %s\n' "the gateways' logs (-vv)" "bob: handshake done, ${hs:-(no such line)} (no group logged)"
perl helper.pl analyze tap svc file.txt "$marker" ||
    fail "the bytes between the gateways are not what they should be" \
        "${GWLOGS[@]}"

if $keep; then
	cat >stop <<EOS
#!/usr/bin/env bash
# Written by dist/demo.sh --keep: stops what the demo left running and
# removes $work.
set -u
work=$work
pids="$pids"
$(declare -f stop_all)
stop_all
rm -rf "\$work"
echo "stopped pids\$(printf ' %s' \$pids), removed \$work"
EOS
	chmod 755 stop
	finished=true
	printf '\nLeft running (--keep), in %s:%s\n' "$work" "$(printf ' %s' $names)"
	printf '  %-26s %s\n' 'a line through the pair' \
	    "echo hello | socat - TCP:127.0.0.1:$cli"
	$have_ftp && printf '  %-26s %s\n' 'FTP through the pair' \
	    "curl ftp://127.0.0.1:$fcli/pub/"
	printf '  %-26s %s\n' "alice's gateway counters" \
	    "$CG status -s $work/alice/gw.sock"
	printf '  %-26s %s\n' "bob's gateway counters" \
	    "$CG status -s $work/bob/gw.sock"
	printf '  %-26s %s\n' 'keys at the KDC' \
	    "$CG kdc key list -f $work/kdc/kdc.conf"
	printf '  %-26s %s\n' 'the recorded bytes' "ls $work/tap"
	printf '  %-26s %s\n' 'logs' "$work/{kdc/kdcd,alice/gw,bob/gw}.log"
	printf '  %-26s %s\n' 'stop everything' "$work/stop"
else
	finished=true
	printf '\ndemo finished\n'
fi
exit 0
