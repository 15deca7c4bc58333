#!/bin/sh
# The peer-program study, with programs of our own making in the spirit of
# the suites it used (heaptrack's manual tests, bytehound's integration
# tests, LeakSanitizer's cases): each runs under valgrind (with
# --run-libc-freeres=no --run-cxx-freeres=no, the fair baseline for a
# preload tracer) and under the shim, and the figures must be the same:
# allocations, frees, bytes, and bytes and blocks in use at exit. For
# leakkinds, every function valgrind holds a block in use at exit on holds
# the same bytes in the trace.
. "$(dirname "$0")/lib.sh"

jemalloc=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
# name|program and arguments|figures added under the shim (its anonymous
# mappings, which valgrind's malloc counts do not hold)
while IFS='|' read -r name cmd extra; do
	[ -n "$name" ] || continue
	# shellcheck disable=SC2086
	ref=$(vg_totals -- $cmd)
	# shellcheck disable=SC2086
	HEAPCREEP_OUTPUT=$TMP/$name.hct LD_PRELOAD="$LIB" $cmd >/dev/null 2>&1
	rc=$?
	[ -z "$extra" ] || ref=$(echo "$ref $extra" | awk '{print $1 + $6, $2 + $7, $3 + $8, $4 + $9, $5 + $10}')
	is "$rc $(totals $name.hct)" "0 $ref" "$name: exit 0; allocs frees bytes in-use-bytes in-use-blocks as valgrind"
	diag "$name: $ref"
done <<LIST
allocs|$PROG/allocs 5000|
cxx_new|$PROG/cxx_new 500|
threads|$PROG/threads 200|
tlsdtor|$PROG/tlsdtor|
plugins|$PROG/plugins $PROG/libplugin.so|
leakkinds|$PROG/leakkinds|
heapshape|$PROG/heapshape|
deepbind|$PROG/deepbind path $PROG|2 1 196608 131072 1
deepbind-lazy|$PROG/deepbind lazy $PROG|2 1 196608 131072 1
LIST

# The same leaks named: valgrind's loss records (direct bytes) and the
# trace's stacks (folded, bytes in use at the end), by the innermost
# function of leakkinds.c.
LD_PRELOAD="$STANDIN" valgrind --run-libc-freeres=no --run-cxx-freeres=no --leak-check=full \
	--show-leak-kinds=all "$PROG/leakkinds" 2>&1 |
	awk '/bytes in .* blocks are/ { b = $2; if (match($0, /\([0-9,]+ direct/)) b = substr($0, RSTART + 1, RLENGTH - 8)
					gsub(",", "", b); want = 1; next }
	     want && /leakkinds.c:/ { match($0, /: [a-z_]+ \(leakkinds/); f = substr($0, RSTART + 2, RLENGTH - 13)
				       sum[f] += b; want = 0 }
	     END { for (f in sum) print f, sum[f] }' | sort >vg-leaks
"$HC" report -f folded leakkinds.hct |
	awk '{ n = split($1, fr, ";"); for (i = n; i > 0; i--) if (fr[i] ~ /^(leak_|tls_thread)/) { sum[fr[i]] += $2; break } }
	     END { for (f in sum) print f, sum[f] }' | sort >hc-leaks
is "$(wc -l <vg-leaks)" 11 "valgrind holds blocks on 11 functions of leakkinds"
is "$(cat hc-leaks)" "$(cat vg-leaks)" "the trace holds the same bytes on each"
diag "$(tr '\n' ',' <hc-leaks)"

# With jemalloc as the allocator behind the shim (valgrind replaces it).
ref=$(VG_PRELOAD=$jemalloc vg_totals --soname-synonyms=somalloc='*jemalloc*' -- "$PROG/leakkinds")
HEAPCREEP_OUTPUT=$TMP/lk-je.hct LD_PRELOAD="$LIB $jemalloc" "$PROG/leakkinds"
is "$(totals lk-je.hct)" "$ref" "leakkinds, jemalloc next: as valgrind"
done_testing
