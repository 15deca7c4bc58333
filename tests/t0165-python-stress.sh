#!/bin/sh
# The Python frame walker under stress, on every CPython 3.10-3.13 here:
# every allocation walked (PYTHONMALLOC=malloc) while threads run JSON,
# regex, zlib and sqlite3 (the GIL released in C), the collector runs,
# finalizers allocate, a child is forked and a daemon thread still
# allocates at exit (tests/programs/pystress.py). Five runs each (two in
# make test, five in make test-long, HC_STRESS_RUNS to choose): no crash,
# the program's output and exit status as without the shim, both traces
# (parent and child) readable, with Python frames.
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$top" && pwd -P)/tests/programs
RUNS=${HC_STRESS_RUNS:-$([ -n "${HC_TEST_LONG:-}" ] && echo 5 || echo 2)}

root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
for v in 10 11 12 13; do
	for p in "$root"/versions/3.$v.*/bin/python3.$v; do
		[ -x "$p" ] && echo "pyenv-3.$v $p"
	done
done >list
for p in /usr/bin/python3.1[0-3]; do
	[ -x "$p" ] && echo "debian-${p#/usr/bin/python} $p"
done >>list
[ -s list ] || { skip "Python stress" "no CPython 3.10-3.13 here"; done_testing; }

while read -r name py; do
	"$py" -W ignore "$SRC/pystress.py" 0.5 >ref.out 2>ref.err
	ref_rc=$?
	is "$ref_rc $(wc -l <ref.out)" "0 3" "$name: the stress program runs (untraced)"
	bad=
	for run in $(seq 1 "$RUNS"); do
		rm -rf "d$run" && mkdir "d$run"
		# a hang (its fork child, say) fails here instead of holding the run up
		HEAPCREEP_OUTPUT=$TMP/d$run/%p.hct PYTHONMALLOC=malloc timeout 120 env LD_PRELOAD="$LIB" \
			"$py" -W ignore "$SRC/pystress.py" 0.5 >run.out 2>run.err
		rc=$?
		[ "$rc" = 124 ] && rc="124 (hung: killed after 120 s)"
		[ "$rc" = 0 ] || bad="$bad run $run: exit $rc;"
		cmp -s ref.out run.out || bad="$bad run $run: output differs;"
		[ -s run.err ] && bad="$bad run $run: stderr: $(head -c 200 run.err);"
		n=$(ls "d$run" | wc -l)
		[ "$n" = 2 ] || bad="$bad run $run: $n traces;"
		for t in "d$run"/*.hct; do
			"$HC" report -f json "$t" >r.json 2>r.err ||
				bad="$bad run $run: report on $t failed: $(head -c 200 r.err);"
			[ "$(jget r.json '.trace.python.stacks > 0')" = true ] ||
				bad="$bad run $run: $t has no Python frames;"
		done
	done
	is "$bad" "" "$name: $RUNS runs, each as without the shim, two traces with Python frames"
done <list

done_testing
