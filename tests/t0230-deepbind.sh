#!/bin/sh
# Plugins opened with RTLD_DEEPBIND: tests/programs/deepbind opens
# libdeep.so so, and blocks cross between the two both ways (made there
# and freed here, made here and freed there, grown there, kept there,
# mapped and unmapped there). Under the shim the figures are valgrind's
# (plus the two anonymous mappings the shim also traces), with no unknown
# free; the plugin's leak is on its own function; the plugin's malloc is
# the program's; no dlerror() is left pending. Opened by a bare name found
# only along the program's RUNPATH, or by $ORIGIN, it is the same library.
# A plugin with an allocator of its own keeps it; a dlmopen namespace runs.
. "$(dirname "$0")/lib.sh"

dir=$PROG
# the two mappings: 64 KiB mapped and unmapped, 128 KiB kept
plus_maps() { awk '{print $1 + 2, $2 + 1, $3 + 196608, $4 + 131072, $5 + 1}'; }

for mode in path lazy bare origin; do
	HEAPCREEP_OUTPUT=$TMP/$mode.hct LD_PRELOAD="$LIB" "$PROG/deepbind" $mode "$dir" >$mode.out
	is "$?:$(cat $mode.out)" "0:same" "$mode: exit 0, the plugin's malloc is the program's, no dlerror pending"
	"$HC" report -f json $mode.hct >$mode.json
	is "$(jget $mode.json '.trace | "\(.complete) \(.lost_events) \(.unknown_frees)"')" "true 0 0" \
		"$mode: complete, nothing lost, no unknown free"
	is "$(jget $mode.json '[.sites[] | select(.frames[0].function == "deep_keep")] | "\(map(.live_bytes_end) | add) \(map(.allocations) | add)"')" \
		"22500 3" "$mode: the plugin's 3 kept blocks on deep_keep"
done
ref=$(vg_totals -- "$PROG/deepbind" path "$dir" | plus_maps)
is "$(totals path.hct)" "$ref" "path: allocs frees bytes in-use-bytes in-use-blocks as valgrind (+ the mappings)"
is "$(totals lazy.hct)" "$(vg_totals -- "$PROG/deepbind" lazy "$dir" | plus_maps)" \
	"lazy binding: the same as valgrind"
# A bare name or $ORIGIN is resolved as the caller would: the path along its
# RUNPATH is what dlopen gets, so ld.so keeps that path as the name asked
# for: the figures are those of the open by that path.
is "$(totals bare.hct)" "$ref" "bare name: the figures of the open by the path the RUNPATH gives"
is "$(totals origin.hct)" "$ref" "\$ORIGIN: the same"

HEAPCREEP_OUTPUT=$TMP/own.hct LD_PRELOAD="$LIB" "$PROG/deepbind" own "$dir" >own.out
is "$?:$(cat own.out)" "0:own" "a plugin's own malloc and free stay its own"
HEAPCREEP_OUTPUT=$TMP/ns.hct LD_PRELOAD="$LIB" "$PROG/deepbind" ns "$dir" >ns.out
is "$?:$(cat ns.out)" "0:ns" "a dlmopen namespace runs its own allocator, untouched"
is "$(jget "$("$HC" report -f json ns.hct >ns.json; echo ns.json)" '.trace.unknown_frees')" 0 \
	"and none of its frees reaches the shim"
# Every name the shim interposes (its dynamic symbols) is one a deep-bound
# plugin is pointed back for, but __libc_start_main (no library calls it).
exported=$(nm -D --defined-only "$LIB" | awk '{print $3}' | grep -v '^__libc_start_main$' | sort | tr '\n' ' ')
listed=$(sed -n '/^static const char \*const names\[\] = {/,/^};/p' "$top/preload/hooks_dl.c" |
	grep -o '"[^"]*"' | tr -d '"' | sort | tr '\n' ' ')
is "$listed" "$exported" "hooks_dl.c lists exactly the interposed names"
done_testing
