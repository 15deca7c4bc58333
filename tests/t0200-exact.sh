#!/bin/sh
# Exact accounting: the shim's figures (allocations, frees, bytes allocated,
# bytes and blocks in use at exit) equal valgrind's on the same programs:
# every C entry point with two threads freeing each other's blocks (heavy
# address reuse), every C++ new/delete form, with glibc, jemalloc and
# tcmalloc as the allocator behind the shim.
. "$(dirname "$0")/lib.sh"

traced() { # name allocator program args...
	name=$1 alloc=$2
	shift 2
	HEAPCREEP_OUTPUT=$TMP/$name.hct LD_PRELOAD="$LIB${alloc:+ $alloc}" "$@"
	totals "$TMP/$name.hct"
}

jemalloc=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
tcmalloc=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4

for prog in "allocs 20000" "cxx_new 3000"; do
	set -- $prog
	name=$1
	ref=$(vg_totals -- "$PROG/$@")
	got=$(traced "$name" "" "$PROG/$@")
	is "$got" "$ref" "$name: glibc: allocs frees bytes in-use-bytes in-use-blocks as valgrind"
	ref=$(VG_PRELOAD=$jemalloc vg_totals --soname-synonyms=somalloc='*jemalloc*' -- "$PROG/$@")
	got=$(traced "$name-je" "$jemalloc" "$PROG/$@")
	is "$got" "$ref" "$name: jemalloc next: same figures as valgrind"
	# tcmalloc's start-up self-test calls its own tc_malloc(1)/tc_free
	# twice, not malloc: valgrind sees those (it replaces tc_malloc too),
	# no interposer can. Everything else must match.
	ref=$(VG_PRELOAD=$tcmalloc vg_totals --soname-synonyms=somalloc='*tcmalloc*' -- "$PROG/$@" |
		awk '{print $1-2, $2-2, $3-2, $4, $5}')
	got=$(traced "$name-tc" "$tcmalloc" "$PROG/$@")
	is "$got" "$ref" "$name: tcmalloc next: same figures as valgrind (less its self-test)"
	is "$("$HC" report -f json "$TMP/$name.hct" | jq -r '.trace | "\(.complete) \(.lost_events) \(.unknown_frees)"')" \
		"true 0 0" "$name: trace complete, nothing lost, no unknown frees"
done

# The TSC trusted (HEAPCREEP_CLOCK=tsc): the main thread stamps without a
# fence until the second thread's first event; the figures stay valgrind's.
ref=$(vg_totals -- "$PROG/allocs" 20000)
got=$(HEAPCREEP_CLOCK=tsc traced allocs-tsc "" "$PROG/allocs" 20000)
is "$got" "$ref" "allocs, HEAPCREEP_CLOCK=tsc: same figures as valgrind"
is "$("$HC" report -f json "$TMP/allocs-tsc.hct" | jq -r '.trace | "\(.complete) \(.lost_events) \(.unknown_frees)"')" \
	"true 0 0" "allocs, HEAPCREEP_CLOCK=tsc: trace complete, nothing lost, no unknown frees"
# The trace says which clock stamped it.
"$HC" dump "$TMP/allocs-tsc.hct" 2>/dev/null | grep -o 'event clock: \(the TSC\|clock_gettime\)' >clock.tsc
HEAPCREEP_CLOCK=monotonic HEAPCREEP_OUTPUT=$TMP/mono.hct LD_PRELOAD="$LIB" "$PROG/allocs" 100 >/dev/null 2>&1
"$HC" dump "$TMP/mono.hct" 2>/dev/null | grep -o 'event clock: \(the TSC\|clock_gettime\)' >clock.mono
is "$(cat clock.tsc)|$(cat clock.mono)" "event clock: the TSC|event clock: clock_gettime" \
	"the trace names its clock: the TSC with tsc, clock_gettime with monotonic"

# A throwing new caught: the exception object and what follows are the
# program's, and nothing is left unmatched. valgrind cannot throw from its
# operator new, so the figures are the run without the throw plus exactly
# what the throw adds: the exception (136 bytes, freed) and new int(7).
base=$(traced nothrow "" "$PROG/cxx_new" 3000)
got=$(traced throw "" "$PROG/cxx_new" 3000 throw)
is "$got" "$(echo "$base" | awk '{print $1+2, $2+1, $3+140, $4+4, $5+1}')" \
	"cxx_new: a caught bad_alloc adds exactly the exception and one int"
is "$("$HC" report -f json "$TMP/throw.hct" | jq -r '.trace.unknown_frees')" 0 \
	"cxx_new: the exception's free matches its allocation"

# pvalloc: valgrind aborts the program, so the sizes are known here: kept
# pvalloc(5000) and valloc(100); pvalloc(1) freed. Requested bytes count.
got=$(traced pvalloc "" "$PROG/pvalloc")
is "$got" "3 1 5101 5100 2" "pvalloc/valloc: requested sizes, exact"

# jemalloc's extended API in a program linked with jemalloc: mallocx 100
# (dallocx'd), 256 (aligned, zeroed, kept), 40 then rallocx to 4000 (kept),
# 1000 then xallocx in place (kept), 3000 (sdallocx'd): 7 allocations,
# 4 frees, 9396 bytes, 5256 kept in 3 blocks. libjemalloc brings libstdc++,
# whose start-up emergency pool is one more block of 72704 bytes.
got=$(traced jemallocx "" "$PROG/jemallocx")
is "$got" "8 4 82100 77960 4" "jemalloc *allocx API: every call counted with its requested size"

done_testing
