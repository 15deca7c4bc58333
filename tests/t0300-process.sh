#!/bin/sh
# Processes that fork (also while another thread allocates), exec, create
# and end 10 000 threads, or allocate in TLS destructors: every process's
# trace has exact totals, and nothing hangs.
. "$(dirname "$0")/lib.sh"

report() { "$HC" report -f json "$1" | jq -r "$2"; }

# --- fork -----------------------------------------------------------------
mkdir fork
HEAPCREEP_OUTPUT=$TMP/fork/%p.hct timeout 60 env LD_PRELOAD="$LIB" "$PROG/forker"
is "$?" 0 "forker ran to its end"
is "$(ls fork | wc -l)" 5 "one trace for the parent and one for each of 4 children"
parent=$(ls fork | sort -n | head -n 1)
# The parent keeps malloc(111), malloc(222) and its churner thread's DTV
# (304 bytes): valgrind says the same.
is "$(report "fork/$parent" '.totals | "\(.unfreed_at_end_bytes) \(.unfreed_at_end_blocks) \(.allocations - .frees)"')" \
	"$(vg_totals --trace-children=no -- "$PROG/forker" | awk '{print $4, $5, $5}')" \
	"parent: in use at exit as valgrind, allocations - frees = blocks left"
is "$(report "fork/$parent" '.trace | "\(.complete) \(.lost_events) \(.unknown_frees)"')" "true 0 0" \
	"parent: complete, nothing lost, no unknown frees despite forks mid-allocation"
# Child `which` (1..4): 1000 churned blocks of 32 + i % 64 bytes (63020 in
# all) and 5 + which kept blocks of 1000 + which bytes; blocks inherited from
# the parent are not the child's.
expect=
for which in 1 2 3 4; do
	kept=$((5 + which))
	expect="$expect$((1000 + kept)) 1000 $((63020 + kept * (1000 + which))) $((kept * (1000 + which))) $kept true 0;"
done
got=
for f in $(ls fork | sort -n | tail -n 4); do
	got="$got$(report "fork/$f" '"\(.totals.allocations) \(.totals.frees) \(.totals.bytes_allocated) \(.totals.unfreed_at_end_bytes) \(.totals.unfreed_at_end_blocks) \(.trace.complete) \(.trace.lost_events)"');"
done
is "$got" "$expect" "children: exactly their own allocations, each trace complete"
is "$(report "fork/$(ls fork | sort -n | tail -n 1)" '.trace.ppid')" "${parent%.hct}" \
	"a child's trace names its parent"

# HEAPCREEP_FORK=off: children are not traced.
mkdir nofork
HEAPCREEP_FORK=off HEAPCREEP_OUTPUT=$TMP/nofork/%p.hct LD_PRELOAD="$LIB" "$PROG/forker"
is "$(ls nofork | wc -l)" 1 "HEAPCREEP_FORK=off: only the parent's trace"

# --- fork while other threads unwind code they have not met -----------------
# Two threads allocate from 4 096 sites in turn (and, with jit, from copies of
# a stub in anonymous memory), so the shim looks up frame descriptions all
# the time; the main thread forks 100 times. A fork that caught a thread
# inside the loader's list left the child waiting for its lock forever: the
# shim before its fork gate hung 3 and 9 children of 100 in these two runs.
# Each child must end, with exactly its own 11 allocations and 1 block kept.
for mode in sites jit; do
	mkdir "fu-$mode"
	out=$(HEAPCREEP_OUTPUT=$TMP/fu-$mode/%p.hct timeout 600 env LD_PRELOAD="$LIB" \
		"$PROG/forkunwind" 100 2 "$mode")
	is "$out" "forks 100 hung 0" "$mode: 100 forks while threads unwind new code, no child hangs"
	is "$(ls "fu-$mode" | wc -l)" 101 "$mode: a trace for the parent and each child"
	# the parent: the trace some other trace names as its parent (pids wrap)
	parent=
	for f in $(ls "fu-$mode" | head -n 2); do
		p=$(report "fu-$mode/$f" '.trace.ppid')
		[ -e "fu-$mode/$p.hct" ] && parent=$p
	done
	got=$(for f in $(ls "fu-$mode" | grep -vx "$parent.hct"); do
		report "fu-$mode/$f" '"\(.totals.unfreed_at_end_bytes - 5000) \(.totals.allocations) \(.totals.frees) \(.totals.bytes_allocated - .totals.unfreed_at_end_bytes) \(.trace.complete) \(.trace.lost_events) \(.trace.unknown_frees)"'
	done | awk '$1 >= 0 && $1 < 100 { k[$1] = 1 } { $1 = ""; n[$0]++ } END { for (r in n) print length(k), n[r], r }')
	is "$got" "100 100  11 10 640 true 0 0" \
		"$mode: children 0..99 each kept 5000 + k bytes; 11 allocations, 10 frees of 640 bytes"
	is "$(report "fu-$mode/$parent.hct" \
		'"\(.trace.complete) \(.trace.lost_events) \(.trace.unknown_frees) \([.trace.notes[].message | select(test("end early"))] | length)"')" \
		"true 0 0 0" "$mode: parent complete, nothing lost, no stack cut short"
done

# --- exec -----------------------------------------------------------------
# Image k of execer keeps k + 1 blocks of 1000 + k bytes and churns 500
# blocks of 64 bytes; each image gets its own file (.1, .2 after the first).
mkdir exec
HEAPCREEP_OUTPUT=$TMP/exec/e.hct LD_PRELOAD="$LIB" "$PROG/execer" 3
is "$(ls exec | tr '\n' ' ')" "e.1.hct e.2.hct e.hct " "three images, three traces"
got=
for f in e.hct e.1.hct e.2.hct; do
	got="$got$(report "exec/$f" '"\(.totals.allocations) \(.totals.frees) \(.totals.bytes_allocated) \(.totals.unfreed_at_end_bytes) \(.totals.unfreed_at_end_blocks) \(.trace.end_reason)"');"
done
is "$got" "501 500 33000 1000 1 exec;502 500 34002 2002 2 exec;503 500 35006 3006 3 exit;" \
	"each image's own figures; the first two end at exec, the last at exit"

# --- threads ----------------------------------------------------------------
got=$(HEAPCREEP_OUTPUT=$TMP/t500.hct LD_PRELOAD="$LIB" "$PROG/threads" 500 && totals t500.hct)
is "$got" "$(vg_totals -- "$PROG/threads" 500)" "500 threads: same figures as valgrind"
# 10 000 threads (valgrind needs minutes for these): each keeps 24 + n % 8
# bytes, the main thread frees the odd ones: 135000 bytes in 5000 blocks,
# plus the 80000-byte array, plus glibc's per-thread DTVs of 304 bytes that
# stay with cached thread stacks.
start=$(date +%s)
HEAPCREEP_OUTPUT=$TMP/t10k.hct timeout 120 env LD_PRELOAD="$LIB" "$PROG/threads" 10000
is "$?" 0 "10 000 threads created and ended under the shim, no hang"
diag "10 000 threads: $(($(date +%s) - start)) s"
set -- $(totals t10k.hct)
is "$(($1 - $2))" "$5" "10 000 threads: allocations - frees = blocks left"
is "$4" "$((80000 + 135000 + 304 * ($5 - 5001)))" "10 000 threads: bytes left are exactly the kept blocks and DTVs"
is "$1" 115005 "10 000 threads: 115005 allocations, as valgrind counts them"
is "$(report t10k.hct '.trace | "\(.complete) \(.lost_events) \(.unknown_frees)"')" "true 0 0" \
	"10 000 threads: complete, nothing lost"

# --- TLS destructors --------------------------------------------------------
got=$(HEAPCREEP_OUTPUT=$TMP/tls.hct LD_PRELOAD="$LIB" "$PROG/tlsdtor" && totals tls.hct)
is "$got" "$(vg_totals -- "$PROG/tlsdtor")" "allocations in TLS destructors: same figures as valgrind"

# --- dlopen and thread names -----------------------------------------------
# A library loaded after start gets a MODULES record covering the frames of
# the allocations made in it; a named thread gets a THREAD record.
HEAPCREEP_INTERVAL=50ms HEAPCREEP_OUTPUT=$TMP/pl.hct LD_PRELOAD="$LIB" "$PROG/plugins" "$PROG/libplugin.so"
is "$?" 0 "plugins ran"
"$HC" dump pl.hct >pl.txt
grep -q '^THREAD .* name="plugin-worker"' pl.txt
ok $? "the worker's name is in a THREAD record"
# The site of the three 5000-byte blocks: its innermost frame must lie in
# the libplugin.so mapping of a MODULES record.
stack=$(awk '$1 == "site" && /live_bytes=15003 / { sub("stack=", "", $2); print $2 }' pl.txt | tail -n 1)
frame=$(awk -v id="id=$stack" '$1 == "STACK" && $2 == id { sub(/.*frames=\[/, ""); print $1 }' pl.txt)
inside=no
for range in $(sed -n 's/.*start=\(0x[0-9a-f]*\) end=\(0x[0-9a-f]*\) .*libplugin.so.*/\1-\2/p' pl.txt); do
	[ $((frame >= ${range%-*} && frame < ${range#*-})) = 1 ] && inside=yes
done
is "$inside" yes "the plugin's allocation site ($frame, stack $stack) is in a libplugin.so mapping"

# A CPython 3.12 or later reads its thread count from /proc/self/stat just
# after os.fork() and warns (a DeprecationWarning on stderr) when it finds
# more than one: the collector is paused across its forks. fakepython
# passes for such an interpreter (its frames refused) and prints the count
# as 3.12 reads it; the trace is whole, with the figures of a run that did
# not pause (a 3.11, where the collector stays).
CC=${CC:-cc}
SRC=$(cd "$top" && pwd -P)/tests/programs
for v in 0x030c01f0 0x030b07f0; do
	$CC -O1 -rdynamic -DFAKE_VERSION="$v" -o fake$v "$SRC/fakepython.c" || exit 2
	is "$(./fake$v fork | tr '\n' ' ')" "threads 1 1 " "fake $v bare: one thread after the fork"
	rm -rf f$v && mkdir f$v
	HEAPCREEP_OUTPUT=$TMP/f$v/%p.hct HEAPCREEP_PROMOTE=10ms HEAPCREEP_INTERVAL=10ms LD_PRELOAD="$LIB" \
		./fake$v fork >f$v.out
	is "$(ls f$v | wc -l)" 1 "fake $v: one trace (the child allocated nothing)"
	"$HC" report -f json f$v/*.hct >f$v.json
	is "$(jget f$v.json '.trace | "\(.complete) \(.lost_events) \(.unknown_frees)"')" "true 0 0" \
		"fake $v: the parent's trace complete, nothing lost"
done
is "$(tr '\n' ' ' <f0x030c01f0.out)" "threads 1 1 " "3.12: one thread just after the fork under the shim too"
is "$(tr '\n' ' ' <f0x030b07f0.out)" "threads 2 1 " "3.11: the collector stays (two threads)"
is "$(totals f0x030c01f0/*.hct)" "$(totals f0x030b07f0/*.hct)" "paused or not, the same figures"
done_testing
