#!/bin/sh
# Wrappers that exec the real program (sh -c, env, the pyenv shim python3
# often is on PATH) must not cost the user the trace of the program that did
# the work: `run -o FILE` leads to it, and the other traces are kept, named
# by pid and program, in STEM.traces/ (FILE less its .hct).
. "$(dirname "$0")/lib.sh"

cat >big.py <<'PY'
blocks = [bytearray(4096) for _ in range(3000)]
print(len(blocks))
PY
py=$(python3 -c 'import sys, os; print(os.path.realpath(sys.executable))')

check() { # name expected-exe command...
	name=$1 exe=$2
	shift 2
	"$HC" run -o "$name.hct" -- "$@" >"$name.out" 2>"$name.err"
	is "$?" 0 "$name: exit status 0"
	is "$(cat "$name.out")" 3000 "$name: the program's output"
	is "$("$HC" report -f json "$name.hct" | jq -r .trace.exe)" "$exe" "$name: FILE is the trace of $(basename "$exe")"
	is "$("$HC" report -f json "$name.hct" | jq -r '.totals.allocations >= 3000')" true \
		"$name: with the program's 3000 buffers"
	if [ -d "$name.traces" ]; then
		bad=0
		for f in "$name.traces"/*.hct; do
			case "$(basename "$f")" in [0-9]*.[0-9]*.*.hct) ;; *) bad=1 ;; esac
			"$HC" report -f json "$f" >/dev/null 2>&1 || bad=1
		done
		is "$bad" 0 "$name: the $(ls "$name.traces" | wc -l) other traces are named PID.N.PROGRAM.hct and readable"
		nosym=0
		for f in "$name.traces"/*.hct; do
			"$HC" dump "$f" 2>/dev/null | grep -q '^SYMBOLS' || nosym=1
		done
		is "$nosym" 0 "$name: each holds its symbols, as the main trace does"
		grep -q "other traced process" "$name.err"
		ok $? "$name: run says where the other traces are"
	else
		is "$(wc -l <"$name.err")" 1 "$name: a single trace, one line on stderr"
	fi
}

check direct "$py" "$py" big.py
check sh-c "$py" sh -c "exec '$py' big.py"
check sh-c-child "$py" sh -c "'$py' big.py; true"
check env "$py" env A=1 "$py" big.py
# python3 from PATH: on this machine a pyenv shim (bash scripts that fork
# helpers and exec the interpreter in the end).
check path-python3 "$py" python3 big.py

# Sampling: a helper of many small blocks (200 000 x 16 B) before the
# program of a few big ones (64 x 1 MiB). Counted in allocations, the
# helper's few sampled blocks would stand for about 200 000 and win; in
# bytes the program's 64 MiB do.
"$HC" run -q --sample 512K -o smp.hct -- sh -c "'$PROG/sizes' 200000 16; exec '$PROG/sizes' 64 1048576"
is "$?" 0 "sampled, a helper then the program: exit 0"
"$HC" report -f json smp.hct >smp.json
is "$(jq -r .trace.exe smp.json)" "$PROG/sizes" "FILE is a trace of sizes"
is "$(jq -r '.totals.bytes_allocated > 33554432' smp.json)" true \
	"the program's: $(jq -r .totals.bytes_allocated smp.json) bytes estimated (64 MiB true)"
is "$(jq -r '.trace.cmdline | join(" ")' smp.json)" "$PROG/sizes 64 1048576" "with the program's arguments"

done_testing
