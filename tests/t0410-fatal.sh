#!/bin/sh
# A process that dies young: tests/programs/dieyoung keeps 16 MiB and then,
# 5 ms after its start, aborts, faults, or faults into its own handler; or
# is killed with SIGKILL 300 ms in. The program ends exactly as it does
# without the shim (the same signal and status, its own handler's exit),
# and its trace holds the 16 MiB on leak_early and says how it ended.
. "$(dirname "$0")/lib.sh"

status() { # PRELOAD MODE TRACE: the exit status (128 + N for signal N)
	LD_PRELOAD="$1" HEAPCREEP_OUTPUT=$TMP/$3.hct "$PROG/dieyoung" "$2" >/dev/null 2>&1
	echo $?
}

for mode in abort:134:SIGABRT segv:139:SIGSEGV handled:3:; do
	m=${mode%%:*} rest=${mode#*:}
	want=${rest%%:*} sig=${rest#*:}
	bare=$(status "" "$m" "$m-bare")
	is "$bare" "$want" "$m: status $want without the shim"
	is "$(status "$LIB" "$m" "$m")" "$bare" "$m: the same status under the shim"
	"$HC" report -f json "$m.hct" >"$m.json" 2>/dev/null
	is "$(jget "$m.json" '.sites[0] | "\(.live_bytes_end) \(.frames[0].function)"')" "16777216 leak_early" \
		"$m: the trace holds the 16 MiB on its site"
	if [ -n "$sig" ]; then
		is "$(jget "$m.json" '.trace | "\(.complete) \(.end_reason) \(.end_signal)"')" "true signal $sig" \
			"$m: complete, ended by $sig"
		"$HC" report "$m.hct" | grep -q "complete (ended by $sig)"
		ok $? "$m: the text report says so"
	else
		is "$(jget "$m.json" '.trace | "\(.complete) \(.end_reason) \(.end_signal)"')" "true exit null" \
			"$m: the program's own handler ran and exited: an exit"
	fi
done

# SIGKILL at 300 ms: nothing can be flushed, but the early snapshots (50
# and 200 ms) have written the sites.
HEAPCREEP_OUTPUT=$TMP/kill.hct LD_PRELOAD="$LIB" "$PROG/dieyoung" wait >kill.out &
pid=$!
sleep 0.3
kill -9 $pid
wait $pid
is "$?" 137 "SIGKILL at 300 ms: killed"
"$HC" report -f json kill.hct >kill.json 2>/dev/null
is "$(jget kill.json '"\(.trace.complete) \(.sites[0].live_bytes_end) \(.sites[0].frames[0].function)"')" \
	"false 16777216 leak_early" "SIGKILL at 300 ms: an incomplete trace with the 16 MiB on its site"

done_testing
