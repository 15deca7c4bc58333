#!/bin/sh
# A long run's trace stays small: short-lived blocks cost counters, not
# trace bytes. 3 million allocations freed almost at once (plus 1000 kept)
# must write a small fraction of a full event log (16 bytes an event would
# be 96 MB; heaptrack writes 8.9 MB per million allocations here).
. "$(dirname "$0")/lib.sh"

"$HC" run -q -o churn.hct "$PROG/churn" 3000000
is "$(totals churn.hct)" "3001000 3000000 796564000 64000 1000" \
	"churn: every allocation counted, 1000 blocks of 64 bytes left"
# One thread: the collector applies every free at once (merge.c), so its
# model of the heap is exact at every event, the peak included: the most
# the program's own loop ever holds (replayed here), not a figure inflated
# by frees applied late.
peak=$(awk 'BEGIN { for (i = 0; i < 3000000; i++) {
	k = i % 16; live += 16 + (i * 7919 % 500) - ring[k]; ring[k] = 16 + (i * 7919 % 500)
	if (i % 3000 == 0 && i / 3000 < 1000) live += 64
	if (live > peak) peak = live } print peak }')
is "$("$HC" report -f json churn.hct | jq -r '.totals.peak_live_bytes')" "$peak" \
	"churn: the heap's peak exactly, $peak bytes"
size=$(stat -c %s churn.hct)
diag "trace: $size bytes for 3 million allocations ($((size / 3)) bytes per million)"
ok "$([ "$size" -lt 100000 ]; echo $?)" "churn trace under 100 KB (was $size bytes)"

# Spread over 4 seconds: snapshots every second cost a few hundred bytes
# each, whatever the churn rate.
"$HC" run -q -o slow.hct "$PROG/churn" 3000000 4
size=$(stat -c %s slow.hct)
diag "4 s churn trace: $size bytes"
ok "$([ "$size" -lt 100000 ]; echo $?)" "4 s of churn: trace under 100 KB (was $size bytes)"
is "$("$HC" report -f json slow.hct | jq -r '.trace.lost_events')" 0 "no event lost"

done_testing
