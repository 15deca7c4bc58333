#!/bin/sh
# The shim's own memory stays out of the program's heap: tests/programs/
# heapshape allocates in a fixed pattern on two threads and prints where
# every block landed and the main arena's mallinfo2 figures. Under the shim
# (exact and sampled) the output is the same as without it, line for line:
# pthread_getattr_np's stdio and cpuset, the collector thread's DTV, dlsym's
# buffers all come from the shim's own heap. The baseline preloads the
# stand-in for the TLS modules the shim brings (its own and libunwind's,
# see lib.sh): each thread's DTV has one slot per module, 16 bytes each,
# the one difference no allocator can hide.
. "$(dirname "$0")/lib.sh"

LD_PRELOAD="$STANDIN" "$PROG/heapshape" >bare.out
is "$(grep -c '^main ' bare.out) $(grep -c '^thread ' bare.out) $(grep -c '^again ' bare.out)" \
	"217 217 217" "the program's output has its blocks on both threads"
is "$(head -n 1 bare.out)" "dlerror none" "no dlerror pending bare"

for sample in 0 4096 1048576; do
	HEAPCREEP_SAMPLE=$sample HEAPCREEP_OUTPUT=$TMP/s$sample.hct LD_PRELOAD="$LIB" \
		"$PROG/heapshape" >s$sample.out
	is "$(diff bare.out s$sample.out | grep -c '^[<>]')" 0 \
		"sample $sample: every block where it lands without the shim, mallinfo2 the same"
done
is "$(head -n 1 s0.out)" "dlerror none" "no dlerror pending under the shim"

# And the trace is the program's whole heap: valgrind's figures.
is "$(totals s0.hct)" "$(vg_totals -- "$PROG/heapshape")" \
	"exact: allocs frees bytes in-use-bytes in-use-blocks as valgrind"
done_testing
