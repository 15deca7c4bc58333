#!/bin/sh
# Blocks handed between threads at once (tests/programs/handoff.c): every
# block is freed on the other thread within nanoseconds of its allocation
# (the first 64 the moment the second thread starts, after the first
# allocated 100 000 pairs alone),
# and an address freed on one thread is allocated again on the other
# straight away, a million times each way (twenty million in `make
# test-long`); halfway the process forks and the child does the same. The
# collector orders events of different threads by their time stamps: a
# stamp read before the load that received the block would show it freed
# before it was allocated. Each process's trace must hold exactly the
# allocations, frees, bytes and live set the program counted, with no
# unknown free and nothing lost. (A build whose stamps are per-thread
# counters, HC_MEASURE_COUNTER_STAMPS, fails it: 2 488 unknown frees in the
# child's trace of a 200 000-round run.)
. "$(dirname "$0")/lib.sh"

rounds=1000000
[ "${HC_TEST_LONG:-}" = 1 ] && rounds=20000000

# check TRACE NAME: the trace against the counts of its process.
check() {
	counts_check "$1" "$TMP/counts" "$2"
	"$HC" report -f json "$1" >r.json 2>/dev/null
	is "$(jget r.json '.trace | "\(.complete) \(.unknown_frees) \(.lost_events)"')" "true 0 0" \
		"$2: complete, no unknown free, nothing lost"
}

# Each clock, whatever this machine's kernel keeps time with: clock_gettime
# (HEAPCREEP_CLOCK=monotonic), where the calling thread, while it alone
# records, takes its stamps from the TSC between clock reads, and the TSC
# trusted (HEAPCREEP_CLOCK=tsc), where it stamps without a fence; both
# until B starts.
for clock in monotonic tsc; do
rm -rf t counts && mkdir t counts
start=$(date +%s)
timeout -s KILL 300 env HEAPCREEP_CLOCK=$clock HEAPCREEP_OUTPUT="$TMP/t/%p.hct" LD_PRELOAD="$LIB" \
	"$PROG/handoff" $rounds "$TMP/counts" >out 2>err
rc=$?
is "$rc:$(cat err)" "0:" "clock $clock: handoff, $rounds rounds: exit 0, nothing on stderr ($(($(date +%s) - start)) s)"
# each side keeps every 4096th block it receives, in each half
kept=$((2 * (rounds / 2 / 4096) + 2 * ((rounds - rounds / 2) / 4096)))
is "$(cat out)" "$((2 * rounds + 128)) blocks handed over, $kept kept; the child: exit 0" \
	"clock $clock: the parent's threads handed over $((2 * rounds + 128)) blocks and kept $kept; the child exited 0"
is "$(ls counts | wc -l) $(ls t | wc -l)" "2 2" "clock $clock: two processes counted, two traces"
for f in t/*.hct; do
	pid=$(basename "$f" .hct)
	# each rounds_of also allocates 100 000 + 64 blocks alone
	case $(sed -n 's/^allocs //p' "counts/counts.$pid.0" 2>/dev/null) in
	$((2 * rounds + 2 * 100064))) who="clock $clock: the parent" ;;
	$((rounds / 2 + 100064))) who="clock $clock: the fork child" ;;
	*) who="clock $clock: process $pid (counts: none or unexpected)" ;;
	esac
	check "$f" "$who"
done
done

done_testing
