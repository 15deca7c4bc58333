#!/bin/sh
# Anonymous mappings, traced as their own kind of allocation: every way
# tests/programs/mapper.c maps and unmaps (whole, cut at both ends, a hole,
# mremap'd, partly replaced by MAP_FIXED, handed to another thread to
# unmap) gives exact figures on top of valgrind's malloc-only ones, each
# live mapping at the function that made it, behind an [anonymous mmap]
# frame; file mappings, reservations and read-only ones are never traced,
# nor the mappings of the allocator behind the shim. Memory that grows
# where no hook sees it (a MAP_NORESERVE reservation touched over time)
# makes the report say RSS grows outside the traced heap.
. "$(dirname "$0")/lib.sh"

jemalloc=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
tcmalloc=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4

# The 20-second run first, in the background.
HEAPCREEP_OUTPUT=$TMP/reserve.hct LD_PRELOAD="$LIB" "$PROG/mapper" reserve 20 &
reserve=$!

N=200
ref=$(vg_totals -- "$PROG/mapper" $N)
HEAPCREEP_OUTPUT=$TMP/m.hct LD_PRELOAD="$LIB" "$PROG/mapper" $N >m.out
is "$(cat m.out)" "17 mappings kept" "the program's output is its own"
# Mappings on top of valgrind's malloc figures: 20 + N mapped (the pieces
# left of a cut are new blocks: trimmed 2, holed 2, decommit 1, grown's
# mremap 1), 6 + N unmapped, the bytes of every block, 6 037 504 bytes in
# 14 blocks kept.
mapped_bytes=$(( (2048 + 1024 + 9216 + 1792 + 576 + 1536 + 8) * 1024 + N * 65536 ))
is "$(totals m.hct)" "$(echo "$ref" | awk -v n=$N -v b=$mapped_bytes \
	'{print $1+20+n, $2+6+n, $3+b, $4+6037504, $5+14}')" \
	"allocs frees bytes unfreed-bytes unfreed-blocks: valgrind's plus the mappings, exactly"
is "$("$HC" report -f json m.hct | jq -r '.trace | "\(.complete) \(.lost_events) \(.unknown_frees) \(.dropped_events // 0)"')" \
	"true 0 0 0" "trace complete, nothing lost, no unknown frees"

# Live at the end, by the function that mapped (folded: full stacks).
"$HC" report -f folded m.hct >m.folded
by_fn() { # FOLDED: "function bytes" for each stack ending in the mapping frame
	sed -n 's/.*;main;\([a-z]*\);.*\[anonymous mmap\] \([0-9]*\)$/\1 \2/p' "$1" | sort
}
is "$(by_fn m.folded | tr '\n' ' ')" \
	"decommit 524288 grown 524288 holed 786432 kept 2097152 odd 8192 trimmed 2097152 " \
	"each live mapping at its function: kept, trimmed's middle, holed's two pieces, grown's mremap, decommit's front half, odd's two pages"
is "$(grep -c 'skipped' m.folded)" 0 "file mappings, reservations and read-only mappings are not traced"
is "$(grep -c '\[anonymous mmap\]' m.folded)" 6 "one stack per function; scratch and handed leave nothing"
"$HC" dump m.hct | grep -q '^STACK .*frames=\[mmap '
ok $? "dump shows the mapping frame"

# A run far too short to judge still lists its largest sites, with their
# stacks, in every report; the message gives the figures of this trace.
"$HC" report -f json m.hct >m.json
is "$(jget m.json '[.sites[:2][] | "\(.verdict) \(.live_bytes_end) \(.frames[0].kind) \(.frames[2].function)"] | join(", ")')" \
	"none 2097152 mmap kept, none 2097152 mmap trimmed" \
	"short run: JSON lists the largest sites, a mapping's first frame of kind mmap"
"$HC" report m.hct >m.txt
grep -A3 '^Largest sites (live at the end of the run; the run is too short to judge their growth)' m.txt |
	grep -q '^      \[anonymous mmap\]$'
ok $? "short run: the text report lists them too, under a heading that says growth was not judged"
HEAPCREEP_INTERVAL=250ms HEAPCREEP_OUTPUT=$TMP/q.hct LD_PRELOAD="$LIB" "$PROG/mapper" 10 >/dev/null
is "$("$HC" report -f json q.hct | jq -r .reason | sed 's/.*; //')" \
	"judging needs at least 12 (3.0 s at the 0.25 s interval)" "the too-short message's figures are this trace's"

# The allocator behind the shim maps its own memory (jemalloc through
# mmap, as reservations; tcmalloc by direct system calls): none of it is
# traced as a mapping; the program's mappings are, the same.
for a in "$jemalloc" "$tcmalloc"; do
	n=$(basename "$a" | cut -d. -f1)
	HEAPCREEP_OUTPUT=$TMP/$n.hct LD_PRELOAD="$LIB $a" "$PROG/mapper" $N >/dev/null
	"$HC" report -f folded "$n.hct" >"$n.folded"
	is "$(by_fn "$n.folded" | tr '\n' ' ')" "$(by_fn m.folded | tr '\n' ' ')" \
		"$n behind the shim: the program's mappings, and only those"
done

# Sampled: mappings are sampled as allocations are; the model stays whole.
HEAPCREEP_SAMPLE=256K HEAPCREEP_OUTPUT=$TMP/s.hct LD_PRELOAD="$LIB" "$PROG/mapper" 2000 >/dev/null
is "$("$HC" report -f json s.hct | jq -r '.trace | "\(.complete) \(.lost_events) \(.unknown_frees)"')" \
	"true 0 0" "sampled: trace complete, nothing lost, no unknown frees"
"$HC" report -f folded s.hct >s.folded
is "$(sed -n 's/.*;main;\([a-z]*\);.*\[anonymous mmap\] [0-9]*$/\1/p' s.folded | grep -cv '^\(decommit\|grown\|holed\|kept\|odd\|trimmed\)$')" 0 \
	"sampled: only the functions that keep mappings keep any"

wait $reserve
"$HC" report -f json reserve.hct >reserve.json
is "$(jget reserve.json .verdict)" inconclusive "a reservation touched over time: INCONCLUSIVE"
jget reserve.json .reason | grep -q 'RSS grows .* outside the traced heap'
ok $? "because RSS grows outside the traced heap: $(jget reserve.json .reason)"

done_testing
