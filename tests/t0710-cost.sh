#!/bin/sh
# Every trace says what tracing cost the process: the collector thread's CPU
# time and the whole process's since the trace began (SNAPSHOT's last two
# fields), shown in every report. The process's figure is checked against
# what the kernel reports to the parent for the same run.
. "$(dirname "$0")/lib.sh"

(
	HEAPCREEP_OUTPUT=cost.hct LD_PRELOAD="$LIB" "$PROG/churn" 3000000 >/dev/null
	times
) >times.txt
# times: the shell's own user and system time, then its children's
kernel=$(awk 'NR == 2 { split($1, u, "m"); split($2, s, "m")
	printf "%.3f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' times.txt)
"$HC" report -f json cost.hct >cost.json
collector=$(jget cost.json '.totals.collector_cpu_s')
process=$(jget cost.json '.totals.process_cpu_s')
diag "collector $collector s, process $process s, the kernel's figure for the process $kernel s"
is "$(awk -v c="$collector" -v p="$process" 'BEGIN { print (c > 0 && c < p) }')" 1 \
	"the collector's CPU time is above 0 and below the process's"
# Left out of the trace's figure: the process's time before the trace began
# and after its last snapshot. The kernel counts in ticks.
is "$(awk -v p="$process" -v k="$kernel" 'BEGIN { d = p - k; if (d < 0) d = -d
	print (d <= 0.03 + 0.05 * k) }')" 1 \
	"the process's CPU time is the kernel's ($process s against $kernel s)"
line=$("$HC" report cost.hct | grep '^  collector ')
is "$(echo "$line" | sed 's/[0-9][0-9.]*/N/g')" \
	"  collector     N s of CPU, N% of the process's N s" \
	"text report: the collector's CPU time and its share"

done_testing
