#!/bin/sh
# Writes the fuzzing seed corpus (tests/fuzz/corpus/): small real traces of
# the shapes a reader meets, made by the shim from the test programs. Run
# after `make test-build`; the corpus is committed, so run it again only
# when the trace format changes. Keeps the whole corpus under 200 KB.
# usage: tests/fuzz/make-corpus.sh
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${HC_TEST_BUILD:-$top/build}
LIB=$build/lib/libheapcreep.so
PROG=$build/tests/programs
HC=$build/bin/heapcreep
out=$top/tests/fuzz/corpus
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -rf "$out"
mkdir -p "$out"
# Short intervals: many record types in few bytes.
export HEAPCREEP_INTERVAL=20ms HEAPCREEP_PROMOTE=10ms

shim() { # NAME [VAR=value...] -- program args: one trace, as NAME
	name=$1
	shift
	vars=
	while [ "$1" != -- ]; do vars="$vars $1"; shift; done
	shift
	# shellcheck disable=SC2086
	env HEAPCREEP_OUTPUT="$tmp/$name.%p.hct" LD_PRELOAD="$LIB" $vars "$@" >/dev/null 2>&1 || true
	n=0
	for f in "$tmp/$name".*.hct; do
		[ -e "$f" ] || continue
		cp "$f" "$out/$name$( [ $n -gt 0 ] && echo "-$n")"
		n=$((n + 1))
	done
}

# Every C entry point, two threads; stored chunks (the fuzzer can change
# records directly) and zstd ones.
shim allocs-stored HEAPCREEP_COMPRESS=0 -- "$PROG/allocs" 300
shim allocs-zstd -- "$PROG/allocs" 300
# The fault tests' workload: promoted blocks, frees, sites with lifetimes.
shim workload HEAPCREEP_COMPRESS=0 -- "$PROG/workload" 1000 3000
shim workload-zstd -- "$PROG/workload" 2000 2000
# C++ new/delete; many short-lived threads (THREAD records).
shim cxx -- "$PROG/cxx_new" 100
shim threads HEAPCREEP_COMPRESS=0 -- "$PROG/threads" 40
# Promoted blocks and their frees (BLOCK, FREE), stopped by SIGKILL: a
# trace without END, its last chunk torn.
HEAPCREEP_OUTPUT="$tmp/grower.hct" HEAPCREEP_COMPRESS=0 LD_PRELOAD="$LIB" "$PROG/grower" >/dev/null &
pid=$!
sleep 0.4
kill -KILL $pid
wait $pid 2>/dev/null || true
head -c -7 "$tmp/grower.hct" >"$out/grower-killed"
# An exec chain (EXEC, END exec) and fork children (forked-child header).
shim execer HEAPCREEP_COMPRESS=0 -- "$PROG/execer" 2
shim forker -- "$PROG/forker"
# Tracing stopped by a full disk: NOTE and END (stopped).
shim stopped HEAPCREEP_COMPRESS=0 FAULTS_DISK=1500 LD_PRELOAD="$LIB:$PROG/libfaults.so" -- "$PROG/allocs" 300
# SYMBOLS records, as `heapcreep run` appends them.
"$HC" run -q -o "$tmp/run.hct" -- "$PROG/allocs" 200 >/dev/null 2>&1
cp "$tmp/run.hct" "$out/symbolized"

# Large ones are no use as seeds: the fuzzer works on small inputs.
for f in "$out"/*; do
	[ "$(stat -c %s "$f")" -le 40000 ] || rm -f "$f"
done
du -sb "$out" | awk '{ print "corpus: " $1 " bytes" }'
ls -l "$out" | awk 'NR > 1 { print "  " $5, $9 }'
