#!/usr/bin/env bash
# 74-install: make install DESTDIR=... PREFIX=/usr puts the programs of
# $BUILD (0755) in usr/bin and usr/sbin and every page of docs/man (0644)
# in usr/share/man/manN, and nothing else; the installed pages render
# without a warning (groff -ww, man -l); the installed cryptgate runs;
# make uninstall with the same DESTDIR and PREFIX removes every file
# install wrote and only those.  make runs with -o all: it installs what
# $BUILD holds and does not rebuild it (with other flags than it was built
# with).
. "$(dirname "$0")/lib.sh"

T=$TMPDIR_T
R=$T/root # DESTDIR
B=${BUILD#"$SRCDIR"/}

if ! command -v make >/dev/null; then
	skip "make install" "make not installed"
	done_testing
fi
if [ ! -x "$CG" ]; then
	skip "make install" "$CG not built"
	done_testing
fi

# mk ARGS...: make in the source tree with $B, its output into the log
# file $T/make.log.
mk() {
	make -C "$SRCDIR" --no-print-directory -o all BUILD="$B" \
	    DESTDIR="$R" PREFIX=/usr "$@" >>"$T/make.log" 2>&1
}

# The files install must write: "path mode source".
expected() {
	local p m
	echo "usr/bin/cryptgate 755 $CG"
	for p in "$CG_KDCD" "$CG_GATEWAYD" "$CG_PKTD"; do
		[ -x "$p" ] && echo "usr/sbin/${p##*/} 755 $p"
	done
	for m in "$SRCDIR"/docs/man/*.[158]; do
		[ -f "$m" ] &&
		    echo "usr/share/man/man${m##*.}/${m##*/} 644 $m"
	done
}
expected >"$T/expected"
npages=$(grep -c ' 644 ' "$T/expected")
if [ "$npages" -ge 6 ]; then
	ok "docs/man has $npages pages to install"
else
	fail "only $npages man pages in docs/man"
fi

if mk install; then
	ok "make install DESTDIR=... PREFIX=/usr BUILD=$B"
else
	fail "make install failed"
	tail -20 "$T/make.log" | sed 's/^/#   /'
	done_testing
fi

# Every expected file, with its mode and content.
bad=""
while read -r path mode src; do
	f=$R/$path
	if [ ! -f "$f" ]; then
		bad="$bad $path(missing)"
	elif [ "$(stat -c %a "$f")" != "$mode" ]; then
		bad="$bad $path(mode $(stat -c %a "$f"))"
	elif ! cmp -s "$f" "$src"; then
		bad="$bad $path(differs from $src)"
	fi
done <"$T/expected"
if [ -z "$bad" ]; then
	ok "programs 0755 and man pages 0644 where expected, same bytes"
else
	fail "installed files:$bad"
fi
(cd "$R" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort) >"$T/found"
extra=$(cut -d' ' -f1 "$T/expected" | sort | comm -13 - "$T/found")
if [ -z "$extra" ]; then
	ok "nothing else installed"
else
	fail "unexpected files installed: $extra"
fi
if v=$("$R/usr/bin/cryptgate" --version 2>&1); then
	ok "the installed cryptgate runs ($v)"
else
	fail "the installed cryptgate --version: $v"
fi

# Each installed page renders without a warning.
pages=$(grep ' 644 ' "$T/expected" | cut -d' ' -f1)
if command -v groff >/dev/null; then
	bad=""
	for p in $pages; do
		err=$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww "$R/$p" 2>&1 >"$T/page.txt")
		if [ -n "$err" ] || ! perl -pe 's/.\x08//g' "$T/page.txt" | grep -q '^NAME$'; then
			bad="$bad ${p##*/}"
			printf '%s\n' "$err" | head -5 | sed "s|^|#   ${p##*/}: |"
		fi
	done
	if [ -z "$bad" ]; then
		ok "groff -man -Tutf8 -ww renders each page without a warning"
	else
		fail "groff warnings or no NAME section:$bad"
	fi
else
	skip "groff renders the pages" "groff not installed (groff-base)"
fi
if command -v man >/dev/null; then
	bad=""
	for p in $pages; do
		err=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$R/$p" 2>&1 >"$T/page.txt")
		if [ -n "$err" ] || ! perl -pe 's/.\x08//g' "$T/page.txt" | grep -q '^NAME$'; then
			bad="$bad ${p##*/}"
			printf '%s\n' "$err" | head -5 | sed "s|^|#   ${p##*/}: |"
		fi
	done
	if [ -z "$bad" ]; then
		ok "man --warnings -l renders each page without a warning"
	else
		fail "man -l warnings or no NAME section:$bad"
	fi
else
	skip "man -l renders the pages" "man not installed (man-db)"
fi

# uninstall removes what install wrote, and only that: a file of another
# package next to ours stays.
echo other >"$R/usr/sbin/cryptgate-other"
echo other >"$R/usr/share/man/man8/cryptgate-other.8"
if mk uninstall; then
	ok "make uninstall with the same DESTDIR and PREFIX"
else
	fail "make uninstall failed"
	tail -20 "$T/make.log" | sed 's/^/#   /'
fi
left=$(cd "$R" && find . \( -type f -o -type l \) | sed 's|^\./||' | sort |
    grep -vx -e usr/sbin/cryptgate-other -e usr/share/man/man8/cryptgate-other.8)
if [ -z "$left" ]; then
	ok "no file of ours left behind"
else
	fail "left behind: $left"
fi
if [ -f "$R/usr/sbin/cryptgate-other" ] &&
    [ -f "$R/usr/share/man/man8/cryptgate-other.8" ]; then
	ok "files that install did not write are kept"
else
	fail "uninstall removed files that install did not write"
fi

done_testing
