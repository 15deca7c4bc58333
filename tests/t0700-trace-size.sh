#!/bin/sh
# A long run's trace stays small: short-lived blocks cost counters, not
# trace bytes. 3 million allocations freed almost at once (plus 1000 kept)
# must write a small fraction of a full event log (16 bytes an event would
# be 96 MB; heaptrack writes 8.9 MB per million allocations here).
. "$(dirname "$0")/lib.sh"

"$HC" run -q -o churn.hct "$PROG/churn" 3000000
is "$(totals churn.hct)" "3001000 3000000 796564000 64000 1000" \
	"churn: every allocation counted, 1000 blocks of 64 bytes left"
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
