#!/bin/sh
# SIGKILL mid-run: the trace reads back, says it is incomplete, and holds
# everything up to the last flush (at most one snapshot interval lost).
. "$(dirname "$0")/lib.sh"

# grower keeps one 4 KiB block every 10 ms (no stdio: nothing else lives).
HEAPCREEP_OUTPUT=$TMP/k.hct LD_PRELOAD="$LIB" "$PROG/grower" >out &
pid=$!
for _ in $(seq 100); do grep -q ready out 2>/dev/null && break; sleep 0.05; done
sleep 2.5
kill -KILL $pid
wait $pid 2>/dev/null
"$HC" report -f json k.hct >k.json 2>k.err
is "$?" 0 "report on the killed process's trace exits 0"
is "$(jget k.json '.trace | "\(.complete) \(.end_reason)"')" "false null" "trace flagged incomplete, no end"
grep -q "incomplete" k.err
ok $? "report says on stderr that the trace is incomplete"
# The last snapshot may catch one of the 100-byte churn blocks between its
# malloc and its free; everything else live is a kept 4 KiB block.
blocks=$(jget k.json '.totals.unfreed_at_end_blocks')
bytes=$(jget k.json '.totals.unfreed_at_end_bytes')
ok "$([ "$bytes" = $((blocks * 4096)) ] || [ "$bytes" = $(((blocks - 1) * 4096 + 100)) ]; echo $?)" \
	"what was live at the last snapshot: exactly the 4 KiB blocks ($blocks blocks, $bytes bytes)"
# Killed about 3.5 s in, snapshots every second: the last one is at least
# 2.5 s in, and held at least the blocks of its first 2 seconds.
ok "$(jget k.json '.trace.duration_s >= 2.4 and .totals.unfreed_at_end_blocks >= 150' | grep -qx true; echo $?)" \
	"the last flush is recent: $(jget k.json .trace.duration_s) s, $blocks blocks"
"$HC" dump k.hct >dump.txt 2>dump.err
is "$?" 0 "dump reads the whole trace"
is "$(grep -c '^SNAPSHOT' dump.txt)" "$(jget k.json '.trace.duration_s | floor + 2')" \
	"two early snapshots (50 and 200 ms in), then one per second of the run"

# Through `heapcreep run`: the wrapper reports the command's death by the
# same signal, and still hands over the trace.
"$HC" run -q -o r.hct "$PROG/grower" >out2 &
wrapper=$!
for _ in $(seq 100); do grep -q ready out2 2>/dev/null && break; sleep 0.05; done
sleep 1.5
pkill -KILL -P $wrapper
wait $wrapper
is "$?" 137 "run exits as its command did (killed by SIGKILL: 137)"
is "$("$HC" report -f json r.hct 2>/dev/null | jq -r '.trace.complete')" false "the trace is in place, incomplete"
ok "$(test ! -e .heapcreep-run.* ; echo $?)" "no private directory left behind"

done_testing
