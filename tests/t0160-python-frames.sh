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
	[ -x /usr/bin/python3.11 ] && echo "debian-3.11 /usr/bin/python3.11"
}
pythons >list
[ -s list ] || { skip "Python frames" "no CPython 3.10-3.13 here"; done_testing; }

# --- the layout table against the headers present -----------------------------
if (cd "$top" && sh tools/gen-pyoffsets --check) >gen.out 2>&1; then
	ok 0 "preload/pyoffsets.h agrees with every interpreter's headers found here"
else
	ok 1 "preload/pyoffsets.h agrees with the headers: $(cat gen.out)"
fi

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
done <list

done_testing
