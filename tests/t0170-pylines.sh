#!/bin/sh
# Python line tables: for every code unit of thousands of code objects of each
# CPython 3.10-3.13 on this machine, hc_pylines_line() (analyzer/pylines.c)
# gives the line that CPython's own co_lines() gives (tests/pylines-dump.py
# writes CPython's answers, pylines_check compares), on cut tables too, and
# never reads outside a table (the check again under ASan and UBSan).
. "$(dirname "$0")/lib.sh"
CHECK=$PROG/pylines_check
DUMP=$top/tests/pylines-dump.py
CC=${CC:-cc}

if command -v pyenv >/dev/null 2>&1; then
	pyroot=$(pyenv root)
else
	pyroot=$HOME/.pyenv
fi

if ! [ -x "$CHECK" ]; then
	skip "line tables against co_lines()" "$CHECK not built (make test-build)"
	done_testing
fi

# The same checker with ASan and UBSan: every table is in a buffer of
# exactly its length, so a read past it stops the run.
ASAN_CHECK=
if "$CC" -std=c11 -D_GNU_SOURCE -Wall -Wextra -O1 -g -fsanitize=address,undefined \
	-fno-sanitize-recover=all -o asan-check "$top/tests/programs/pylines_check.c" 2>asan.err; then
	ASAN_CHECK=$TMP/asan-check
fi

n=0
check() { # INTERPRETER
	py=$1
	n=$((n + 1))
	v=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
	name="$v ($py)"
	"$py" "$DUMP" >dump$n.txt 2>dump.err
	is "$?:$(head -c 500 dump.err)" "0:" "$name: co_lines() of every code unit dumped"
	"$CHECK" <dump$n.txt >check$n.out 2>&1
	rc=$?
	sed 's/^/# /' check$n.out
	summary=$(sed -n 's/^\([0-9]*\) code objects, \([0-9]*\) instructions checked (\([0-9]*\) with a line.*, \([0-9]*\) mismatches$/\1 \2 \3 \4/p' check$n.out)
	# shellcheck disable=SC2086
	set -- $summary 0 0 0 -1
	is "$rc:$4" "0:0" "$name: hc_pylines_line agrees with co_lines() on every instruction and index -1"
	ok "$([ "$2" -ge 100000 ] && [ "$1" -ge 2000 ]; echo $?)" \
		"$name: at least 100000 instructions of 2000 code objects checked ($2 of $1)"
	is "$(sed -n 's/^versions: //p' check$n.out)" "$v" "$name: the dump is of its version"
	# every kind of table entry was among those checked
	if [ "$v" = 3.10 ]; then
		forms=$(sed -n 's/^3.10 pairs: [0-9]*, empty ranges \([0-9]*\), no-line \([0-9]*\), negative line deltas \([0-9]*\)$/\1 \2 \3/p' check$n.out)
		what="empty ranges, no-line pairs, negative line deltas"
	else
		forms=$(sed -n 's/^location entries: short \([0-9]*\), one-line \([0-9]*\), no-column \([0-9]*\), long \([0-9]*\), none \([0-9]*\)$/\1 \2 \3 \4 \5/p' check$n.out)
		what="short, one-line, no-column, long and no-location entries"
	fi
	ok "$(echo "$forms" | awk 'NF >= 3 { for (i = 1; i <= NF; i++) if ($i < 1) exit 1; exit 0 } { exit 1 }'; echo $?)" \
		"$name: $what all checked ($forms)"
	if [ -n "$ASAN_CHECK" ]; then
		ASAN_OPTIONS=detect_leaks=1:exitcode=99 UBSAN_OPTIONS=halt_on_error=1:exitcode=99 \
			"$ASAN_CHECK" <dump$n.txt >asan.out 2>asan.err
		is "$?:$(head -c 500 asan.err)" "0:" "$name: under ASan and UBSan: no read outside a table"
	fi
}

for m in 10 11 12 13; do
	found=
	for py in "$pyroot"/versions/3."$m".*/bin/python3."$m"; do
		[ -x "$py" ] || continue
		found=1
		check "$py"
	done
	[ -n "$found" ] || skip "CPython 3.$m" "no $pyroot/versions/3.$m.*/bin/python3.$m"
done
if [ -x /usr/bin/python3.11 ]; then
	check /usr/bin/python3.11
else
	skip "Debian's CPython 3.11" "no /usr/bin/python3.11"
fi
[ -n "$ASAN_CHECK" ] || skip "line tables under ASan and UBSan" "$CC cannot build with them: $(head -n 1 asan.err)"

# The checker itself: the first dump relabelled as an unknown version, for
# which the decoder gives no line, must fail on exactly the instructions
# that have one.
if [ "$n" -gt 0 ]; then
	sed 's/^1[0-3] /9 /' dump1.txt | "$CHECK" >unknown.out 2>&1
	rc=$?
	with=$(sed -n 's/.*instructions checked (\([0-9]*\) with a line.*/\1/p' check1.out)
	is "$rc:$(sed -n 's/.*, \([0-9]*\) mismatches$/\1/p' unknown.out)" "1:$with" \
		"unknown version: every instruction with a line is a mismatch, exit 1"
	grep -q '^mismatch: 3.9 .*: index [0-9]*: CPython says [1-9][0-9]*, hc_pylines_line 0$' unknown.out
	ok $? "... detailed: $(grep -m 1 '^mismatch' unknown.out)"
else
	skip "the checker's own failure" "no CPython 3.10-3.13 found"
fi

done_testing
