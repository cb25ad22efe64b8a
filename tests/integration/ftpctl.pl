# tests/integration/ftpctl.pl BIND HOST PORT SCRIPT (perl): one scripted
# FTP control session from BIND to HOST:PORT (used by 55-ftp-hostile.sh).
# It prints the greeting ("REPLY 220 ..."), then runs SCRIPT, whose lines
# are:
#   > TEXT          send TEXT CRLF, read one reply: "REPLY <final line>"
#   send FILE       send FILE's bytes as they are (no reply read)
#   reply           read one reply
#   abor            IAC IP, IAC (urgent), DM ABOR: "ABOR <reply codes>"
#   end SECS        read until EOF, each line as "LINE ...": "END eof|reset|timeout"
#   storm N VERB    N times: send VERB, read the reply: "STORM ok=<2xx> other=<n>"
#   burst N VERB    send N VERBs at once, then read N replies: same output
#   listen NAME BIND         data listener on BIND (any port)
#   port NAME / eprt NAME    "> PORT/EPRT" naming NAME's listener
#   portto A P / eprtto A P  "> PORT/EPRT" naming A:P (any address/port)
#   accept NAME SECS         accept on NAME's listener: "ACCEPT NAME ok|timeout"
#   connect NAME BIND        connect from BIND to the last 227/229 address
#                            (229: the control peer's address): "CONNECT NAME ok|fail"
#   read NAME FILE SECS [D]  read NAME into FILE until EOF (sleep D s per 64 KiB):
#                            "DATA NAME bytes=N end=eof|reset|timeout"
#   write NAME FILE          write FILE to NAME, then close it
#   sleep SECS / waitfile PATH / touch PATH
use strict; use warnings;
use IO::Socket::IP; use IO::Select; use Socket; use Errno qw(ECONNRESET EPIPE);
my ($bind, $host, $port, $script) = @ARGV;
$| = 1;
$SIG{PIPE} = 'IGNORE';
my $c = IO::Socket::IP->new(LocalHost => $bind, PeerHost => $host,
    PeerPort => $port, Timeout => 10) or do { print "CONNECTFAIL $@\n"; exit 1 };
my $rbuf = '';
my (%lis, %dat, $last);
sub readline_t {
	my ($t) = @_;
	my $sel = IO::Select->new($c);
	while ($rbuf !~ /\n/) {
		return ('timeout') unless $sel->can_read($t);
		my $r = sysread($c, my $b, 65536);
		return ('reset') if !defined $r;
		return ('eof') if $r == 0;
		$rbuf .= $b;
	}
	$rbuf =~ s/^([^\n]*\n)//;
	my $l = $1; $l =~ s/\r?\n$//;
	return ('line', $l);
}
sub reply {
	my $code;
	while (1) {
		my ($k, $l) = readline_t($ENV{FTPCTL_T} || 10);
		return "REPLY " . uc($k) if $k ne 'line';
		if (!defined $code) {
			next unless $l =~ /^(\d{3})([ -])/;
			$code = $1;
			if ($2 eq ' ') { $last = $l; return "REPLY $l"; }
		} elsif ($l =~ /^$code /) { $last = $l; return "REPLY $l"; }
	}
}
sub send_line { my $s = shift; syswrite($c, "$s\r\n"); }
sub hp { my ($a, $p) = @_; join(',', split(/\./, $a), $p >> 8, $p & 255) }
sub fam { $_[0] =~ /:/ ? 2 : 1 }
print reply(), "\n"; # the greeting
open(my $sf, '<', $script) or die "$script: $!";
while (my $line = <$sf>) {
	chomp $line;
	next if $line =~ /^\s*(#|$)/;
	my ($op, @a) = split(' ', $line);
	if ($op eq '>') {
		(my $t = $line) =~ s/^>\s?//;
		send_line($t);
		print reply(), "\n";
	} elsif ($op eq 'send') {
		open(my $f, '<', $a[0]) or die; binmode $f;
		local $/; my $b = <$f>; close $f;
		my $off = 0;
		while ($off < length $b) {
			my $w = syswrite($c, $b, 65536, $off);
			last unless $w; $off += $w;
		}
		print "SENT $off\n";
	} elsif ($op eq 'abor') {
		# RFC 959 4.1.3: Telnet IP, then the Synch (IAC urgent, DM),
		# then ABOR, as BSD ftp clients send it; then the replies
		# until the one that ends the abort (225/226) or a timeout.
		send($c, "\xff\xf4\xff", MSG_OOB);
		syswrite($c, "\xf2ABOR\r\n");
		my @codes;
		for (1 .. 2) {
			my $r = reply();
			push @codes, ($r =~ /^REPLY (\d{3})/ ? $1 : $r);
			last if $r !~ /^REPLY (4\d\d|1\d\d)/;
		}
		print "ABOR @codes\n";
	} elsif ($op eq 'reply') {
		print reply(), "\n";
	} elsif ($op eq 'end') {
		my $r;
		while (1) {
			my ($k, $l) = readline_t($a[0]);
			if ($k ne 'line') { $r = $k; last }
			print "LINE $l\n";
		}
		print "END $r\n";
	} elsif ($op eq 'storm' || $op eq 'burst') {
		my ($n, $v) = @a; my ($ok, $other) = (0, 0);
		if ($op eq 'burst') { syswrite($c, "$v\r\n" x $n); }
		for (1 .. $n) {
			send_line($v) if $op eq 'storm';
			my $r = reply();
			if ($r =~ /^REPLY 2\d\d /) { $ok++ } else { $other++; last if $r !~ /^REPLY \d/ }
		}
		print "STORM ok=$ok other=$other\n";
	} elsif ($op eq 'listen') {
		$lis{$a[0]} = IO::Socket::IP->new(LocalHost => $a[1], LocalPort => 0,
		    Listen => 4, ReuseAddr => 1) or die "listen $a[1]: $@";
		print "LISTEN $a[0] ", $lis{$a[0]}->sockport, "\n";
	} elsif ($op eq 'port' || $op eq 'eprt') {
		my $l = $lis{$a[0]};
		my ($la, $lp) = ($l->sockhost, $l->sockport);
		send_line($op eq 'port' ? "PORT " . hp($la, $lp) : "EPRT |" . fam($la) . "|$la|$lp|");
		print reply(), "\n";
	} elsif ($op eq 'portto') {
		send_line("PORT " . hp($a[0], $a[1])); print reply(), "\n";
	} elsif ($op eq 'eprtto') {
		send_line("EPRT |" . fam($a[0]) . "|$a[0]|$a[1]|"); print reply(), "\n";
	} elsif ($op eq 'accept') {
		my $l = $lis{$a[0]};
		if (IO::Select->new($l)->can_read($a[1])) {
			$dat{$a[0]} = $l->accept; print "ACCEPT $a[0] ok\n";
		} else { print "ACCEPT $a[0] timeout\n"; }
	} elsif ($op eq 'connect') {
		my ($da, $dp);
		if ($last =~ /^227 .*?(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)/) {
			($da, $dp) = ("$1.$2.$3.$4", $5 * 256 + $6);
		} elsif ($last =~ /^229 .*\((.)\1\1(\d+)\1\)/) {
			($da, $dp) = ($c->peerhost, $2);
		} else { print "CONNECT $a[0] noaddr\n"; next; }
		$dat{$a[0]} = IO::Socket::IP->new(LocalHost => $a[1], PeerHost => $da,
		    PeerPort => $dp, Timeout => 5);
		print "CONNECT $a[0] ", ($dat{$a[0]} ? "ok" : "fail"), " $da $dp\n";
	} elsif ($op eq 'read') {
		my ($n, $end) = (0, 'timeout');
		my $s = $dat{$a[0]};
		open(my $f, '>', $a[1]) or die; binmode $f;
		if ($s) {
			my $sel = IO::Select->new($s);
			while ($sel->can_read($a[2])) {
				my $r = sysread($s, my $b, 65536);
				if (!defined $r) { $end = $!{ECONNRESET} ? 'reset' : "error:$!"; last }
				if ($r == 0) { $end = 'eof'; last }
				syswrite($f, $b); $n += $r;
				select(undef, undef, undef, $a[3]) if $a[3];
			}
			close $s; delete $dat{$a[0]};
		} else { $end = 'nosocket' }
		close $f;
		print "DATA $a[0] bytes=$n end=$end\n";
	} elsif ($op eq 'write') {
		my $s = $dat{$a[0]};
		open(my $f, '<', $a[1]) or die; binmode $f;
		local $/; my $b = <$f>; close $f;
		my $off = 0;
		while ($s && $off < length $b) {
			my $w = syswrite($s, $b, 65536, $off);
			last unless $w; $off += $w;
		}
		close $s if $s; delete $dat{$a[0]};
		print "WROTE $a[0] $off\n";
	} elsif ($op eq 'sleep') {
		select(undef, undef, undef, $a[0]);
	} elsif ($op eq 'waitfile') {
		for (1 .. 600) { last if -e $a[0]; select(undef, undef, undef, 0.1) }
	} elsif ($op eq 'touch') {
		open(my $f, '>', $a[0]); close $f;
	} else { die "bad op $op" }
}
close $c;
