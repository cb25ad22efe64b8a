#!/usr/bin/env bash
# 75-help: every program, every `cryptgate` command and every sub-command
# answers --help and -h with exit 0 and a usage text on stdout (nothing on
# stderr) that names all the options the code accepts, or, for a command
# group, all its commands; every option the usage text names is documented
# in the command's man page (in its own section); an unknown option (or
# unknown command, for a group) exits 2 with one line on stderr naming it
# and nothing on stdout.
#
# The list of commands and of their options is derived from the sources,
# so a new command or option that lacks help or documentation fails here:
#   src/tool/main.c       the subcommand table and the top-level options
#   src/tool/kdc_*.c      the `cryptgate kdc` leaves, with their KDC_OPT_*
#                         flags (kdc_int.h names the option of each flag)
#   src/tool/<cmd>.c      getopt_long() option strings and longopts tables
#   src/<daemon>/main.c   the daemons' getopt() strings
. "$(dirname "$0")/lib.sh"

for p in "$CG" "$CG_KDCD" "$CG_GATEWAYD" "$CG_PKTD"; do
	if [ ! -x "$p" ]; then
		skip "help texts" "$p not built"
		done_testing
	fi
done

# The command table: one line per command,
#   WORDS;OPTIONS;SUBCOMMANDS;MANPAGE;SECTIONS
# WORDS: the program and its command words ("cryptgate kdc host add");
# OPTIONS: what it accepts ("-f --config -h --help ..."); SUBCOMMANDS: for a
# group, the words its help must list; SECTIONS: the man page headings
# (".SS add" style, '|' between several) in which its options must be
# documented, or "*" for the whole page.
DERIVE=$(
	cat <<'EOF'
use strict;
use warnings;
sub slurp { my ($f) = @_; open(my $fh, '<', $f) or die "$f: $!\n"; local $/; my $t = <$fh>; close($fh); return $t; }
# opts_of(FILE): the options of the getopt()/getopt_long() calls of FILE.
sub opts_of {
	my ($f) = @_;
	my $t = slurp($f);
	my (%o, @o);
	while ($t =~ /\bgetopt(?:_long)?\s*\([^"]*"([^"]*)"/g) {
		my $s = $1;
		$s =~ s/[:+]//g;
		$o{"-$_"} = 1 for split(//, $s);
	}
	while ($t =~ /\{\s*"([a-z][a-z0-9-]*)",\s*(?:no|required|optional)_argument/g) {
		$o{"--$1"} = 1;
	}
	return join(' ', sort keys %o);
}
my @rows;
# Daemons.
for my $d (['cryptgate-kdcd', 'src/kdcd/main.c', 'cryptgate-kdcd.8'],
    ['cryptgate-gatewayd', 'src/gatewayd/main.c', 'cryptgate-gatewayd.8'],
    ['cryptgate-pktd', 'src/pktd/main.c', 'cryptgate-pktd.8']) {
	push(@rows, [$d->[0], opts_of($d->[1]) . ' --help', '', $d->[2], '.SH OPTIONS']);
}
# cryptgate: the subcommand table and the options main() compares argv[1] to.
my $m = slurp('src/tool/main.c');
my @subs;
push(@subs, $1) while ($m =~ /\{\s*"([a-z][a-z-]*)",\s*\w+_main,/g);
die "no subcommands in src/tool/main.c\n" unless @subs;
my %top;
$top{$1} = 1 while ($m =~ /strcmp\(argv\[1\],\s*"(-[^"]+)"\)/g);
# A group's help need only name the long form of an option that has one.
my @long = grep { /^--/ } sort keys %top;
push(@rows, ['cryptgate', join(' ', @long), join(' ', @subs),
    'cryptgate.1', '*']);
for my $s (@subs) {
	if ($s eq 'kdc') {
		next;
	} elsif ($s eq 'pkt') {
		my $o = opts_of('src/tool/pkt.c');
		my $p = slurp('src/tool/pkt.c');
		my %w;
		$w{$1} = 1 while ($p =~ /strcmp\(what,\s*"([a-z]+)"\)/g);
		delete $w{help};
		push(@rows, ['cryptgate pkt', '--help', join(' ', sort keys %w),
		    'cryptgate.1', '.SS pkt']);
		push(@rows, ["cryptgate pkt $_", $o, '', 'cryptgate.1', '.SS pkt'])
		    for sort keys %w;
	} else {
		(my $f = $s) =~ tr/-/_/;
		push(@rows, ["cryptgate $s", opts_of("src/tool/$f.c"), '',
		    'cryptgate.1', ".SS $s"]);
	}
}
# cryptgate kdc: the leaves of every table, their options from the flags.
my %flag;
my $ki = slurp('src/tool/kdc_int.h');
$flag{$1} = $2 while ($ki =~
    /#define (KDC_OPT_\w+) 0x[0-9a-f]+ \/\* (--[a-z-]+)/g);
die "no KDC_OPT_* in src/tool/kdc_int.h\n" unless %flag;
# The options every leaf takes: those of kdc.c's parser that no flag governs.
my %byflag = reverse %flag;
my @kdc_common = grep { !$byflag{$_} } split(/ /, opts_of('src/tool/kdc.c'));
my (@leaves, %groups);
for my $f (sort glob('src/tool/kdc_*.c')) {
	my $t = slurp($f);
	while ($t =~ /\{\s*(NULL|"([a-z]+)"),\s*"([a-z]+)",\s*"(?:[^"\\]|\\.)*",(.*?),\s*\d+,\s*\d+,\s*kdc_\w+\s*\}/gs) {
		my ($g, $n, $body) = ($2, $3, $4);
		$body =~ /((?:KDC_OPT_\w+(?:\s*\|\s*)?)+|0),\s*(?:KDC_CMD_\w+|0)\s*$/
		    or die "$f: cannot read the flags of $n\n";
		my @o = @kdc_common;
		for my $k (split(/\s*\|\s*/, $1)) {
			next if $k eq '0';
			die "$f: $k has no option in kdc_int.h\n" unless $flag{$k};
			push(@o, $flag{$k});
		}
		my $w = defined($g) ? "$g $n" : $n;
		push(@leaves, [$w, join(' ', @o)]);
		push(@{$groups{$g}}, $n) if defined($g);
	}
}
die "no kdc leaves in src/tool/kdc_*.c\n" unless @leaves;
my (%seen, @top);
for my $l (@leaves) {
	my $w = (split(/ /, $l->[0]))[0];
	push(@top, $w) unless $seen{$w}++;
}
push(@rows, ['cryptgate kdc', '--help', join(' ', @top),
    'cryptgate-kdc.1', '.SH OPTIONS']);
for my $g (sort keys %groups) {
	push(@rows, ["cryptgate kdc $g", '--help', join(' ', @{$groups{$g}}),
	    'cryptgate-kdc.1', '.SH OPTIONS']);
}
for my $l (@leaves) {
	push(@rows, ["cryptgate kdc $l->[0]", $l->[1], '', 'cryptgate-kdc.1',
	    ".SS $l->[0]|.SH OPTIONS"]);
}
print join(";", @$_), "\n" for @rows;
EOF
)

# SECTION: print the text of the sections SECTIONS ('|'-separated
# headings, or "*") of the man page FILE with the roff escapes undone.
SECTION=$(
	cat <<'EOF'
use strict;
use warnings;
my ($file, $want) = @ARGV;
open(my $fh, '<', $file) or die "$file: $!\n";
my @want = split(/\|/, $want);
my ($in, $level, $out) = (0, '', '');
while (my $l = <$fh>) {
	if ($l =~ /^\.(SH|SS)\s+(.*?)\s*$/) {
		my ($lv, $h) = ($1, $2);
		$h =~ s/\\-/-/g;
		$h =~ s/"//g;
		if ($in && ($lv eq 'SH' || $level eq 'SS')) {
			$in = 0;
		}
		for my $w (@want) {
			my ($wl, $wh) = $w =~ /^\.(SH|SS) (.*)$/ or next;
			if ($wl eq $lv && $wh eq $h) {
				($in, $level) = (1, $lv);
			}
		}
	}
	next unless $in || $want eq '*';
	$l =~ s/\\-/-/g;
	$l =~ s/\\f[BIRP]//g;
	$l =~ s/\\\(aq/'/g;
	$l =~ s/\\&//g;
	$l =~ s/\\e/\\/g;
	$out .= $l;
}
print $out;
EOF
)

# opts_in FILE: the options (-x, --long-name) a text names.
opts_in() {
	perl -ne 'while (/(?<![\w\-\\])(--[a-z][a-z0-9-]*[a-z0-9]|-[a-zA-Z])(?![\w-])/g) { print "$1\n" }' "$1" |
	    sort -u
}

# has_word OPT FILE: FILE names OPT as an option (not inside a longer word).
has_word() {
	OPT=$1 perl -e '
	    local $/; my $t = <STDIN>; my $o = quotemeta($ENV{OPT});
	    exit($t =~ /(?<![\w\-])$o(?![\w-])/ ? 0 : 1);' <"$2"
}

table=$(perl -e "$DERIVE")
if [ -z "$table" ]; then
	fail "derive the command list from src/"
	done_testing
fi
ncmd=$(printf '%s\n' "$table" | wc -l)
diag "$ncmd commands derived from src/"
[ "$ncmd" -ge 30 ] && ok "at least 30 commands derived from src/ ($ncmd)" ||
    fail "only $ncmd commands derived from src/"

OUT=$TMPDIR_T/out
ERR=$TMPDIR_T/err
OUT2=$TMPDIR_T/out2
SECT=$TMPDIR_T/sect

# bin WORD: the binary of a program name.
bin() { echo "$BUILD/bin/$1"; }

# show: the output of the last run as TAP comments.
show() {
	sed 's/^/#   out: /' "$OUT" | head -8
	sed 's/^/#   err: /' "$ERR" | head -8
}

while IFS=';' read -r words opts subs man sections; do
	read -r -a w <<<"$words"
	prog=$(bin "${w[0]}")
	args=("${w[@]:1}")

	# 1. --help: exit 0, a usage text on stdout, nothing on stderr.
	"$prog" "${args[@]}" --help >"$OUT" 2>"$ERR"
	rc=$?
	if [ $rc -eq 0 ] && [ ! -s "$ERR" ] &&
	    grep -qiE '^(usage:|SYNOPSIS)' "$OUT" && grep -qF -- "$words" "$OUT"; then
		ok "$words --help: exit 0, usage on stdout"
	else
		fail "$words --help: exit $rc, a usage text naming '$words' on stdout, nothing on stderr"
		show
	fi

	# 2. -h: the same text.
	"$prog" "${args[@]}" -h >"$OUT2" 2>"$ERR"
	rc=$?
	if [ $rc -eq 0 ] && [ ! -s "$ERR" ] && [ -s "$OUT2" ] && cmp -s "$OUT" "$OUT2"; then
		ok "$words -h: exit 0, the same text as --help"
	else
		fail "$words -h: exit $rc, not the text of --help"
		sed 's/^/#   out: /' "$OUT2" | head -4
		sed 's/^/#   err: /' "$ERR" | head -4
	fi
	# The help text, whichever of the two gave one, for the checks below.
	[ -s "$OUT" ] || cp "$OUT2" "$OUT"

	# 3. The help names every option the code accepts and every command
	# of a group.
	missing=
	for o in $opts $subs; do
		has_word "$o" "$OUT" || missing="$missing $o"
	done
	if [ -z "$missing" ]; then
		ok "$words: the help names every option and command ($opts${subs:+; $subs})"
	else
		fail "$words: the help does not name:$missing"
	fi

	# 4. Every option the help names is in the man page's section.
	if [ ! -f "docs/man/$man" ]; then
		fail "$words: no man page docs/man/$man"
	else
		perl -e "$SECTION" "docs/man/$man" "$sections" >"$SECT"
		if [ ! -s "$SECT" ]; then
			fail "$words: no section '$sections' in docs/man/$man"
		else
			undoc=
			for o in $(opts_in "$OUT"); do
				has_word "$o" "$SECT" || undoc="$undoc $o"
			done
			if [ -z "$undoc" ]; then
				ok "$words: every option of the help is in $man ($sections)"
			else
				fail "$words: options of the help not documented in $man ($sections):$undoc"
			fi
		fi
	fi

	# 5. An unknown long and short option (an unknown command for a
	# group): exit 2, nothing on stdout, one line on stderr naming it.
	for bad in --no-such-option -Z; do
		"$prog" "${args[@]}" "$bad" >"$OUT" 2>"$ERR"
		rc=$?
		nerr=$(wc -l <"$ERR")
		short=${bad#-}
		if [ $rc -eq 2 ] && [ ! -s "$OUT" ] && [ "$nerr" -eq 1 ] &&
		    { grep -qF -- "$bad" "$ERR" || grep -qF -- "'$short'" "$ERR"; } &&
		    ! grep -qE 'Sanitizer|runtime error' "$ERR"; then
			ok "$words $bad: exit 2, one line on stderr"
		else
			fail "$words $bad: exit $rc (want 2), $nerr lines on stderr (want 1 naming $bad), stdout $(wc -c <"$OUT") bytes (want 0)"
			show
		fi
	done
done <<<"$table"

done_testing
