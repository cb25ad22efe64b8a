# tests/integration/ftpevil.pl LOG (perl): a fake FTP server for
# 55-ftp-hostile.sh on 127.0.0.1 (its port on stdout), one session at a
# time.  It answers PASV with a 227 that names 127.0.0.9 (a malicious
# redirect): the port P it names has a trap listener on 127.0.0.9:P and
# the real data listener on 127.0.0.1:P (the control peer, where a
# gateway that ignores the 227 address connects).  LIST sends
# "evil-listing" on whatever connected to 127.0.0.1:P.  LOG gets
# "TRAPPED" for every connection to the trap and "DATA" for every one to
# the real listener, and "CMD <line>" (non-printable bytes as \xHH) for
# every command line it receives.  PWD is answered with a 257 followed by
# an unsolicited 227 naming 127.0.0.9 (a reply answering no PASV).
use strict; use warnings; use IO::Socket::IP; use IO::Select;
my $log = shift;
$| = 1;
$SIG{PIPE} = 'IGNORE';
my $l = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => 0,
    Listen => 8, ReuseAddr => 1) or die "listen: $@";
print $l->sockport, "\n";
open(my $lf, '>>', $log) or die "$log: $!";
$lf->autoflush(1);
my ($d, $trap);
sub check_trap {
	return unless $trap;
	while (IO::Select->new($trap)->can_read(0)) {
		my $t = $trap->accept or last;
		print $lf "TRAPPED\n";
		close $t;
	}
}
while (my $c = $l->accept) {
	syswrite($c, "220 evil FTP\r\n");
	my $buf = '';
	while (1) {
		check_trap();
		if ($buf !~ /\n/) {
			next unless IO::Select->new($c)->can_read(0.2);
			my $r = sysread($c, my $b, 4096);
			last unless $r;
			$buf .= $b;
			next;
		}
		$buf =~ s/^([^\n]*)\n//;
		(my $cmd = $1) =~ s/\r$//;
		(my $shown = $cmd) =~ s/([^\x20-\x7e])/sprintf("\\x%02x", ord($1))/ge;
		print $lf "CMD $shown\n";
		my $v = uc((split(' ', $cmd))[0] // '');
		if ($v eq 'USER') { syswrite($c, "230 Welcome.\r\n") }
		elsif ($v eq 'PASS') { syswrite($c, "230 Already.\r\n") }
		elsif ($v eq 'TYPE') { syswrite($c, "200 Type set.\r\n") }
		elsif ($v eq 'PWD') {
			syswrite($c, "257 \"/\"\r\n227 Entering Passive Mode (127,0,0,9,100,1).\r\n");
		}
		elsif ($v eq 'PASV') {
			for (1 .. 50) {
				close $d if $d; close $trap if $trap;
				$d = IO::Socket::IP->new(LocalHost => '127.0.0.1',
				    LocalPort => 0, Listen => 4, ReuseAddr => 1) or next;
				$trap = IO::Socket::IP->new(LocalHost => '127.0.0.9',
				    LocalPort => $d->sockport, Listen => 4, ReuseAddr => 1);
				last if $trap;
			}
			my $p = $d->sockport;
			syswrite($c, sprintf("227 Entering Passive Mode (127,0,0,9,%d,%d).\r\n",
			    $p >> 8, $p & 255));
		} elsif ($v eq 'LIST' || $v eq 'NLST') {
			syswrite($c, "150 Here it comes.\r\n");
			if ($d && IO::Select->new($d)->can_read(5)) {
				my $s = $d->accept;
				print $lf "DATA\n";
				syswrite($s, "evil-listing\r\n");
				close $s;
				syswrite($c, "226 Done.\r\n");
			} else {
				syswrite($c, "425 No data connection.\r\n");
			}
			check_trap();
		} elsif ($v eq 'QUIT') { syswrite($c, "221 Bye.\r\n"); last }
		else { syswrite($c, "502 Not here.\r\n") }
	}
	check_trap();
	close $c;
}
