#!/usr/bin/perl
# tests/helpers/docex.pl: extract the runnable examples of a document.
#
#   docex.pl [-o OUTDIR] [-r SRCDIR] FILE
#
# FILE is Markdown (*.md) or a roff man page (*.1 *.5 *.8 ...).  The
# markup (docs/STYLE.md, "Runnable examples"; /tmp/brief/docex.md):
#
#   Markdown: <!-- hosts: kdc=192.0.2.10 alice=192.0.2.21 -->   (once, before
#             the first runnable block)
#             <!-- run: HOST [expect-fail] [timeout=N] -->      (the line right
#             ```sh                                             before a fenced
#             ...                                               sh block)
#             ```
#             <!-- not run: REASON -->   before a shell block that is not run
#   roff:     .\" hosts: ...   .\" run: HOST ...   .\" not run: REASON
#             on the line before .EX ... .EE; the roff escapes \- \e \(aq
#             \(dq \(ga \(ti \(ha \& \fB \fI \fR \fP \f(CW \fC are undone.
#
# Checks (each error is printed as "FILE:LINE: message"; exit 1 if any): an
# unknown option, a run comment not followed by a block, a block host not
# declared, a hosts line that is malformed, repeated or after a runnable
# block, an unterminated fence, a Markdown shell block (sh, bash, shell or
# no info string) with neither a run nor a not-run comment, a not-run
# comment without a reason or naming a tests/integration/NN-name script
# that does not exist (checked when -r SRCDIR is given), an unknown roff
# escape or request inside a runnable roff block.
#
# With -o OUTDIR (created if missing), writes OUTDIR/NNN.sh (one file per
# runnable block, in document order, its text exactly as it will run) and
# OUTDIR/index, tab-separated lines:
#   hosts <TAB> name=addr name=addr ...
#   NNN <TAB> FILE:LINE <TAB> HOST <TAB> options (or -) <TAB> first command
# Without -o it only checks.  Exit 0: fine, 1: markup errors, 2: usage.
use strict;
use warnings;

my ($outdir, $srcdir);
while (@ARGV && $ARGV[0] =~ /^-/) {
	my $o = shift @ARGV;
	if ($o eq '-o' && @ARGV) { $outdir = shift @ARGV; }
	elsif ($o eq '-r' && @ARGV) { $srcdir = shift @ARGV; }
	elsif ($o eq '--') { last; }
	else { usage(); }
}
usage() unless @ARGV == 1;
my $file = $ARGV[0];

sub usage {
	print STDERR "usage: docex.pl [-o OUTDIR] [-r SRCDIR] FILE\n";
	exit 2;
}

open(my $fh, '<', $file) or do { print STDERR "$file: $!\n"; exit 2; };
my @lines = <$fh>;
close($fh);
chomp(@lines);

my @errors;
sub err { my ($ln, $msg) = @_; push @errors, "$file:$ln: $msg"; }

my %hosts;		# name -> address
my @hostorder;
my $hosts_line;		# line of the hosts declaration
my @blocks;		# { line, host, opts, text }

my $is_roff = $file =~ /\.[1-9][a-z]*$/;

# parse_hosts LINE TEXT: the declaration's "name=addr" words.
sub parse_hosts {
	my ($ln, $text) = @_;
	if (defined $hosts_line) {
		err($ln, "second hosts declaration (the first is on line $hosts_line)");
		return;
	}
	if (@blocks) {
		err($ln, "hosts declaration after the first runnable block (line $blocks[0]{line})");
	}
	$hosts_line = $ln;
	my @w = split ' ', $text;
	err($ln, "hosts declaration names no host") unless @w;
	for my $w (@w) {
		my ($n, $a) = $w =~ /^([a-z][a-z0-9]*)=(\S+)$/;
		if (!defined $n) {
			err($ln, "hosts: \"$w\" is not NAME=ADDRESS (NAME: [a-z][a-z0-9]*)");
			next;
		}
		if (!valid_addr($a)) {
			err($ln, "hosts: \"$a\" is not an IPv4 or IPv6 address");
			next;
		}
		if (exists $hosts{$n}) {
			err($ln, "hosts: $n declared twice");
			next;
		}
		for my $o (keys %hosts) {
			err($ln, "hosts: $n and $o have the same address $a")
			    if $hosts{$o} eq $a;
		}
		$hosts{$n} = $a;
		push @hostorder, $n;
	}
}

sub valid_addr {
	my ($a) = @_;
	if ($a =~ /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/) {
		return !grep { $_ > 255 } ($1, $2, $3, $4);
	}
	return $a =~ /^[0-9a-f:]+$/i && $a =~ /:/ && $a !~ /:::/;
}

# parse_run LINE TEXT: { host, opts } of a run comment, or undef.
sub parse_run {
	my ($ln, $text) = @_;
	my @w = split ' ', $text;
	if (!@w) {
		err($ln, "run comment without a host");
		return undef;
	}
	my $host = shift @w;
	if ($host !~ /^[a-z][a-z0-9]*$/) {
		err($ln, "run: \"$host\" is not a host name ([a-z][a-z0-9]*)");
		return undef;
	}
	my @opts;
	my %seen;
	for my $w (@w) {
		if ($w eq 'expect-fail') {
			push @opts, $w;
		} elsif ($w =~ /^timeout=(\d+)$/ && $1 >= 1 && $1 <= 3600) {
			push @opts, $w;
		} elsif ($w =~ /^timeout=/) {
			err($ln, "run: \"$w\": the timeout is 1 to 3600 seconds");
			return undef;
		} else {
			err($ln, "run: unknown option \"$w\" (known: expect-fail, timeout=N)");
			return undef;
		}
		my ($k) = $w =~ /^([a-z-]+)/;
		if ($seen{$k}++) {
			err($ln, "run: option $k given twice");
			return undef;
		}
	}
	return { host => $host, opts => \@opts };
}

# check_not_run LINE REASON
sub check_not_run {
	my ($ln, $reason) = @_;
	if ($reason !~ /\S/) {
		err($ln, "not-run comment without a reason");
		return;
	}
	return unless defined $srcdir;
	while ($reason =~ /\b(\d\d-[a-z0-9][a-z0-9-]*[a-z0-9])\b/g) {
		my $t = $1;
		err($ln, "not run: names tests/integration/$t.sh, which does not exist")
		    unless -f "$srcdir/tests/integration/$t.sh";
	}
}

sub add_block {
	my ($run, $ln, $text) = @_;
	push @blocks, { line => $ln, host => $run->{host},
	    opts => $run->{opts}, text => $text };
}

if ($is_roff) { parse_roff(); } else { parse_md(); }

sub parse_md {
	my $i = 0;
	my $pending;		# { line, run or undef (not run) }
	while ($i < @lines) {
		my $l = $lines[$i];
		my $ln = $i + 1;
		if ($l =~ /^\s*<!--\s*hosts:(.*?)-->\s*$/) {
			parse_hosts($ln, $1);
			$i++;
			next;
		}
		if ($l =~ /^\s*<!--\s*run:(.*?)-->\s*$/) {
			my $run = parse_run($ln, $1);
			$pending = { line => $ln, run => $run, ok => defined $run };
			$i++;
			if ($i >= @lines || $lines[$i] !~ /^ *(`{3,}|~{3,})/) {
				err($ln, "run comment not followed by a fenced block on the next line");
				$pending = undef;
			}
			next;
		}
		if ($l =~ /^\s*<!--\s*not run:(.*?)-->\s*$/) {
			check_not_run($ln, $1);
			$pending = { line => $ln, notrun => 1 };
			$i++;
			if ($i >= @lines || $lines[$i] !~ /^ *(`{3,}|~{3,})/) {
				err($ln, "not-run comment not followed by a fenced block on the next line");
				$pending = undef;
			}
			next;
		}
		if ($l =~ /^\s*<!--\s*(run|not run|hosts)\b/) {
			err($ln, "malformed $1 comment (one line: <!-- $1: ... -->)");
		}
		if ($l =~ /^( *)(`{3,}|~{3,})\s*([^`\s]*)/) {
			my ($ind, $fence, $info) = (length $1, $2, $3);
			my $start = $ln;
			my @body;
			$i++;
			my $closed = 0;
			my $fc = substr($fence, 0, 1);
			my $fl = length $fence;
			while ($i < @lines) {
				if ($lines[$i] =~ /^ *(\Q$fc\E{$fl,})\s*$/) {
					$closed = 1;
					last;
				}
				my $b = $lines[$i];
				$b =~ s/^ {0,$ind}//;
				push @body, $b;
				$i++;
			}
			$i++;
			if (!$closed) {
				err($start, "fenced block not closed");
				last;
			}
			my $shellish = $info eq '' || $info =~ /^(sh|bash|shell|zsh)$/;
			if ($pending && $pending->{run}) {
				if ($info ne 'sh') {
					err($start, "runnable block has info string \"$info\" (must be sh)");
				} elsif (!exists $hosts{$pending->{run}{host}}) {
					err($pending->{line}, "run: host \"$pending->{run}{host}\" is not declared in a hosts comment before it");
				} else {
					add_block($pending->{run}, $start + 1,
					    join("\n", @body) . "\n");
				}
			} elsif (!$pending && $shellish) {
				err($start, $info eq ''
				    ? "fenced block without an info string (text, ini, console ... or sh with a run/not-run comment)"
				    : "$info block with neither a run nor a not-run comment");
			}
			$pending = undef;
			next;
		}
		$i++;
	}
}

# roff_text LINE TEXT: TEXT with the roff escapes undone, or undef.
sub roff_text {
	my ($ln, $t) = @_;
	my $out = '';
	while (length $t) {
		if ($t =~ s/^([^\\]+)//) { $out .= $1; next; }
		if ($t =~ s/^\\-//) { $out .= '-'; next; }
		if ($t =~ s/^\\e//) { $out .= '\\'; next; }
		if ($t =~ s/^\\&//) { next; }
		if ($t =~ s/^\\\(aq//) { $out .= "'"; next; }
		if ($t =~ s/^\\\(dq//) { $out .= '"'; next; }
		if ($t =~ s/^\\\(ga//) { $out .= '`'; next; }
		if ($t =~ s/^\\\(ti//) { $out .= '~'; next; }
		if ($t =~ s/^\\\(ha//) { $out .= '^'; next; }
		if ($t =~ s/^\\\(rs//) { $out .= '\\'; next; }
		if ($t =~ s/^\\ //) { $out .= ' '; next; }
		if ($t =~ s/^\\~//) { $out .= ' '; next; }
		if ($t =~ s/^\\f(\(..|\[[^\]]*\]|[BIRPC])//) { next; }
		if ($t =~ s/^\\".*//) { next; }
		my ($e) = $t =~ /^(\\.?.?.?)/;
		err($ln, "unknown roff escape \"$e\" in a runnable block (write a backslash as \\e)");
		return undef;
	}
	return $out;
}

sub parse_roff {
	my $i = 0;
	while ($i < @lines) {
		my $l = $lines[$i];
		my $ln = $i + 1;
		if ($l =~ /^\.\\"\s*hosts:(.*)$/) {
			parse_hosts($ln, $1);
			$i++;
			next;
		}
		if ($l =~ /^\.\\"\s*not run:(.*)$/) {
			check_not_run($ln, $1);
			err($ln, "not-run comment not followed by .EX on the next line")
			    unless $i + 1 < @lines && $lines[$i + 1] =~ /^\.EX\b/;
			$i++;
			next;
		}
		if ($l =~ /^\.\\"\s*run:(.*)$/) {
			my $run = parse_run($ln, $1);
			$i++;
			if ($i >= @lines || $lines[$i] !~ /^\.EX\b/) {
				err($ln, "run comment not followed by .EX on the next line");
				next;
			}
			my $start = $i + 1;
			$i++;
			my @body;
			my $closed = 0;
			my $bad = 0;
			while ($i < @lines) {
				my $b = $lines[$i];
				if ($b =~ /^\.EE\b/) { $closed = 1; last; }
				$i++;
				next if $b =~ /^\.\\"/;
				if ($b =~ /^[.']/) {
					err($i, "roff request \"$b\" inside a runnable block");
					$bad = 1;
					next;
				}
				my $t = roff_text($i, $b);
				if (!defined $t) { $bad = 1; next; }
				push @body, $t;
			}
			$i++;
			if (!$closed) {
				err($start - 1, ".EX without .EE");
				last;
			}
			next unless $run;
			if (!exists $hosts{$run->{host}}) {
				err($ln, "run: host \"$run->{host}\" is not declared in a hosts comment before it");
				next;
			}
			add_block($run, $start + 1, join("\n", @body) . "\n") unless $bad;
			next;
		}
		if ($l =~ /^\.\\"\s*(run|not run|hosts)\b/) {
			err($ln, "malformed $1 comment (\.\\\" $1: ...)");
		}
		$i++;
	}
}

if (@blocks && !defined $hosts_line) {
	err($blocks[0]{line}, "runnable blocks but no hosts declaration");
}
for my $b (@blocks) {
	err($b->{line}, "empty runnable block") unless $b->{text} =~ /\S/;
}

if (@errors) {
	print STDERR "$_\n" for @errors;
	exit 1;
}
exit 0 unless defined $outdir;

mkdir $outdir unless -d $outdir;
-d $outdir or die "docex.pl: $outdir: $!\n";
open(my $ix, '>', "$outdir/index") or die "docex.pl: $outdir/index: $!\n";
print $ix "hosts\t", join(' ', map { "$_=$hosts{$_}" } @hostorder), "\n";
my $n = 0;
for my $b (@blocks) {
	$n++;
	my $name = sprintf('%03d', $n);
	open(my $o, '>', "$outdir/$name.sh") or die "docex.pl: $outdir/$name.sh: $!\n";
	print $o $b->{text};
	close($o) or die "docex.pl: $outdir/$name.sh: $!\n";
	my ($first) = grep { /\S/ && !/^\s*#/ } split /\n/, $b->{text};
	$first = '' unless defined $first;
	$first =~ s/^\s+|\s+$//g;
	$first =~ s/\t/ /g;
	$first =~ s/#/\\#/g;	# no "#" in a TAP description (SKIP/TODO)
	my $opts = @{$b->{opts}} ? join(' ', @{$b->{opts}}) : '-';
	print $ix join("\t", $name, "$file:$b->{line}", $b->{host}, $opts, $first), "\n";
}
close($ix) or die "docex.pl: $outdir/index: $!\n";
exit 0;
