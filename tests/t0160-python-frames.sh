#!/bin/sh
# Python frames, on every CPython 3.10-3.13 this machine has (pyenv's and
# Debian's): the shim finds the interpreter and checks its layout row, the
# row still matches the interpreter's own headers (tools/gen-pyoffsets),
# and for each block that tests/programs/pygolden.py allocated at a known
# line, the trace's Python frames are exactly what sys._getframe() said
# there (function, file, line, innermost first, out to <module>), with no
# stack left uninterleaved. An interpreter the table does not know keeps its
# native frames and says why.
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$top" && pwd -P)/tests/programs

# The interpreters: name and path, one a line.
pythons() {
	root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
	for v in 10 11 12 13; do
		for p in "$root"/versions/3.$v.*/bin/python3.$v; do
			[ -x "$p" ] && echo "pyenv-3.$v $p"
		done
	done
	for p in /usr/bin/python3.1[0-3]; do
		[ -x "$p" ] && echo "debian-${p#/usr/bin/python} $p"
	done
}
pythons >list
[ -s list ] || { skip "Python frames" "no CPython 3.10-3.13 here"; done_testing; }

# --- the layout table against the headers present -----------------------------
(cd "$top" && sh tools/gen-pyoffsets --check) >gen.out 2>&1
case $? in
0) ok 0 "preload/pyoffsets.h agrees with every interpreter's headers found here" ;;
2) skip "the layout table against the headers" "$(cat gen.out)" ;;
*) ok 1 "preload/pyoffsets.h agrees with the headers: $(cat gen.out)" ;;
esac

# --- the golden walk, per interpreter -----------------------------------------
# compare EXPECTED STACKS: one line per expected block that is wrong or
# missing, then "checked N"
cat >compare.py <<'EOF'
import json, sys
want = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
by_size, cur = {}, None
for line in open(sys.argv[2], encoding="utf-8"):
    f = line.rstrip("\n").split("\t")
    if f[0] == "stack":
        cur = []
        for s in f[4].split(","):
            by_size.setdefault(int(s), []).append(cur)
    elif f[0] == "frame" and f[1] == "python":
        cur.append([f[3], f[4], int(f[5])])
bad = 0
for w in want:
    got = by_size.get(w["size"], [])
    if len(got) != 1 or got[0] != w["frames"]:
        bad += 1
        if bad <= 3:
            print("size %d: want %s" % (w["size"], w["frames"]))
            print("   got %s" % (got,))
print("checked %d wrong %d" % (len(want), bad))
EOF

while read -r name py; do
	rm -f "g.$name.hct"
	HEAPCREEP_OUTPUT=$TMP/g.$name.hct HEAPCREEP_PROMOTE=10ms HEAPCREEP_INTERVAL=10ms \
		PYTHONMALLOC=malloc LD_PRELOAD="$LIB" "$py" "$SRC/pygolden.py" "want.$name" \
		>out.$name 2>err.$name
	is "$?" 0 "$name: pygolden.py ran under the shim"
	"$HC" dump "g.$name.hct" >dump.$name 2>/dev/null
	ok "$(grep -q 'level=info message="Python 3\.[0-9]*[.0-9]* in .*: Python frames on"' \
		dump.$name; echo $?)" "$name: the trace says the Python frames are on"
	"$HC" stacks "g.$name.hct" >stacks.$name 2>stacks.err
	is "$?" 0 "$name: heapcreep stacks reads the trace"
	/usr/bin/python3 compare.py "want.$name" "stacks.$name" >cmp.$name
	res=$(tail -n 1 cmp.$name)
	n=$(wc -l <"want.$name")
	is "$res" "checked $n wrong 0" "$name: the Python frames of all $n blocks are those sys._getframe() gave"
	[ "$res" = "checked $n wrong 0" ] || sed 's/^/# /' cmp.$name | head -n 8
	"$HC" report -f json "g.$name.hct" >rep.$name.json 2>/dev/null
	# A stack whose eval loop sits in a part of it the interpreter's
	# symbols do not cover (Debian's build splits off a cold part, where
	# exceptions are raised) cannot be interleaved: it is counted, and
	# shown native first. The pyenv builds have none.
	fb=$(jget rep.$name.json '.trace.python.fallback_stacks')
	st=$(jget rep.$name.json '.trace.python.stacks')
	case $name in
	pyenv-*) is "$fb" 0 "$name: every one of $st stacks with Python frames interleaved" ;;
	*) ok "$([ "$st" -ge 500 ] && [ $((fb * 100)) -le "$st" ]; echo $?)" \
		"$name: at most 1% of $st stacks with Python frames not interleaved ($fb)" ;;
	esac
	is "$(jget rep.$name.json '.trace.python.pythonmalloc')" malloc \
		"$name: the report says every object was traced (PYTHONMALLOC=malloc)"
	# A fork child: its own trace, its own code records, its frames. And
	# no DeprecationWarning on stderr from 3.12's os.fork() (shown by
	# default in __main__) about the collector thread: it is paused
	# across the fork.
	rm -rf fork && mkdir fork
	HEAPCREEP_OUTPUT=$TMP/fork/%p.hct HEAPCREEP_PROMOTE=10ms HEAPCREEP_INTERVAL=10ms \
		PYTHONMALLOC=malloc LD_PRELOAD="$LIB" "$py" "$SRC/pyfork.py" 2>fork.err
	is "$?:$(cat fork.err)" "0:" "$name: os.fork() under the shim: exit 0, nothing on stderr"
	got=
	for t in fork/*.hct; do
		"$HC" stacks "$t" 2>/dev/null | awk -F'\t' '
			$1 == "stack" { want = ("," $5 ",") ~ /,333332,/ }
			want && $1 == "frame" && $2 == "python" { n = split($5, p, "/"); printf "%s %s:%s;", $4, p[n], $6 }'
	done >fork.got
	is "$(cat fork.got)" "child_work pyfork.py:$(grep -n 'bytearray(333331)' "$SRC/pyfork.py" | cut -d: -f1);<module> pyfork.py:$(grep -n '^    child_work()' "$SRC/pyfork.py" | cut -d: -f1);" \
		"$name: a fork child's block carries the child's Python frames"

	# -X perf (3.12+): every call through a trampoline the native walk
	# cannot pass: the Python frames stay exact, the merge falls back,
	# counted, never interleaved wrongly.
	# (3.13 in make test, 3.12 too in make test-long)
	perf=$name
	[ -n "${HC_TEST_LONG:-}" ] || case $name in *3.12) perf=no ;; esac
	case $perf in
	*3.12 | *3.13)
		rm -f perf.hct
		HEAPCREEP_OUTPUT=$TMP/perf.hct HEAPCREEP_PROMOTE=10ms HEAPCREEP_INTERVAL=10ms \
			PYTHONMALLOC=malloc LD_PRELOAD="$LIB" "$py" -X perf "$SRC/pygolden.py" want.perf \
			>/dev/null 2>&1
		"$HC" stacks perf.hct >stacks.perf 2>/dev/null
		is "$(/usr/bin/python3 compare.py want.perf stacks.perf | tail -n 1)" \
			"checked $(wc -l <want.perf) wrong 0" "$name -X perf: the Python frames are still exact"
		"$HC" report -f json perf.hct >perf.json 2>/dev/null
		ok "$([ "$(jget perf.json .trace.python.fallback_stacks)" -gt 0 ]; echo $?)" \
			"$name -X perf: $(jget perf.json .trace.python.fallback_stacks) stacks fell back, counted"
		;;
	esac
	# An interpreter loaded late by an embedding program (dlopen): found
	# at a later module scan, its frames as exact.
	# (3.12 in make test, every pyenv version in make test-long)
	lib=$(ls "$(dirname "$py")"/../lib/libpython3.*.so.1.0 2>/dev/null | head -n 1)
	case $name in pyenv-3.12) ;; *) [ -n "${HC_TEST_LONG:-}" ] || lib= ;; esac
	if [ -n "$lib" ]; then
		rm -f emb.hct
		HEAPCREEP_OUTPUT=$TMP/emb.hct HEAPCREEP_PROMOTE=10ms HEAPCREEP_INTERVAL=10ms \
			PYTHONMALLOC=malloc LD_PRELOAD="$LIB" "$PROG/pyembed" "$lib" "$SRC/pygolden.py" \
			want.emb >/dev/null 2>&1
		is "$?" 0 "$name embedded: a C program that dlopens $(basename "$lib") runs the golden script"
		"$HC" stacks emb.hct >stacks.emb 2>/dev/null
		is "$(/usr/bin/python3 compare.py want.emb stacks.emb | tail -n 1)" \
			"checked $(wc -l <want.emb) wrong 0" "$name embedded: its Python frames are exact"
	fi
done <list

# --- interpreters the walker must refuse ----------------------------------------
# A program that exports what an interpreter does, with a version or a layout
# the table does not describe: Python frames off, one NOTE, native frames on.
CC=${CC:-cc}
for case in "0x036300f0 no frame layout is known for this version" \
	"0x030c01f0 the code object's size differs from the table" \
	"0x030d00f0 its _Py_DebugOffsets cookie is not 'xdebugpy'"; do
	v=${case%% *}
	why=${case#* }
	$CC -O1 -rdynamic -DFAKE_VERSION="$v" -o fake "$SRC/fakepython.c" || exit 2
	rm -f fake.hct
	out=$(HEAPCREEP_OUTPUT=$TMP/fake.hct HEAPCREEP_PROMOTE=10ms HEAPCREEP_INTERVAL=10ms \
		LD_PRELOAD="$LIB" ./fake)
	is "$out" 1 "fake interpreter $v: runs, its output unchanged"
	"$HC" report fake.hct >fake.txt 2>/dev/null
	grep -q "Python frames off ($why" fake.txt
	ok $? "fake $v: the report says Python frames are off: $why"
	"$HC" stacks fake.hct >fake.st 2>/dev/null
	grep -q "^frame	native	outer	main	" fake.st
	ok $? "fake $v: its block still has its native frames (main)"
done

done_testing
