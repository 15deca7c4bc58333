#!/bin/sh
# Stress (tests/programs/stress.c): worker threads allocating, reallocating
# and freeing each other's blocks while short-lived threads are created and
# joined, two forks (one child execs the program again) in the middle; 10 s
# in `make test`, 60 s in `make test-long`. No hang, nothing lost, and
# every process image's trace holds EXACTLY the allocations, frees, bytes
# and live set that the program counted itself (at the sites whose
# innermost frame is in the program: libc's own allocations, such as a new
# thread's TLS, are not the program's).
. "$(dirname "$0")/lib.sh"

secs=10
[ "${HC_TEST_LONG:-}" = 1 ] && secs=60

mkdir counts
start=$(date +%s)
timeout -s KILL $((secs * 6 + 60)) "$HC" run -o "$TMP/stress.hct" -- "$PROG/stress" $secs "$TMP/counts" >out 2>err
rc=$?
took=$(($(date +%s) - start))
is "$rc" 0 "stress for $secs s under heapcreep run: exit 0, no hang (took $took s)"
diag "$(cat out)"
ok "$([ $took -le $((secs * 3 + 10)) ]; echo $?)" "it took $took s for $secs s of work (at most 3x + 10 s)"
is "$(ls counts | wc -l)" 4 "four process images counted their allocations (parent, two children, one exec)"
is "$(ls stress.traces 2>/dev/null | wc -l)" 3 "and each left a trace (stress.hct and three in stress.traces/)"

# check TRACE: the trace against the counts of its process image.
check() {
	counts_check "$1" "$TMP/counts" "$(basename "$1")"
	"$HC" report -f json "$1" >r.json 2>/dev/null
	is "$?:$(jget r.json .trace.complete)" "0:true" "$(basename "$1"): report reads it, complete"
}

for t in stress.hct stress.traces/*.hct; do
	[ -f "$t" ] && check "$t"
done

# Again with the TSC trusted (HEAPCREEP_CLOCK=tsc; kvm-clock here), where a
# thread stamps without a fence while it alone records: a fork child's one
# thread records alone again until its own threads start.
rm -rf counts stress.traces stress.hct && mkdir counts
HEAPCREEP_CLOCK=tsc timeout -s KILL $((secs * 6 + 60)) "$HC" run -o "$TMP/stress.hct" -- \
	"$PROG/stress" $secs "$TMP/counts" >out 2>err
is "$?:$(ls counts | wc -l):$(ls stress.traces 2>/dev/null | wc -l)" "0:4:3" \
	"HEAPCREEP_CLOCK=tsc: stress exit 0, four process images counted, three traces in stress.traces/"
for t in stress.hct stress.traces/*.hct; do
	[ -f "$t" ] && check "$t"
done

# Heavy thread churn on one CPU for the program and the collector (a busy
# machine): the shim may slow the program down but must keep up and keep
# its memory bounded. The untraced run sets the bar.
/usr/bin/time -f "%M %e" -o base.time taskset -c 0 "$PROG/stress" 1 "$TMP/counts" heavy >/dev/null 2>&1
HEAPCREEP_OUTPUT="$TMP/one.%p.hct" LD_PRELOAD="$LIB" timeout -s KILL 20 \
	/usr/bin/time -f "%M %e" -o one.time taskset -c 0 "$PROG/stress" 1 "$TMP/counts" heavy >/dev/null 2>&1
rc=$?
read -r base_kb base_s <base.time
read -r one_kb one_s <one.time 2>/dev/null || one_kb=999999999 one_s=20
[ $rc -eq 137 ] && one_kb=999999999 one_s=20
diag "heavy churn, one CPU, 1 s of work: untraced $base_s s, $base_kb KB; traced $one_s s, $one_kb KB (exit $rc)"
# Exiting threads' rings wait for the collector; past 16 of them a new
# thread waits for one to be recycled rather than map another.
is "$rc" 0 "heavy churn, one CPU: the traced run ends (exit 0)"
ok "$([ "$one_kb" -le $((base_kb + 262144)) ]; echo $?)" \
	"heavy churn, one CPU: at most 256 MB more memory ($one_kb KB against $base_kb KB)"
ok "$(awk -v t="$one_s" -v b="$base_s" 'BEGIN { exit !(t <= 5 * b + 2) }'; echo $?)" \
	"heavy churn, one CPU: within 5x + 2 s ($one_s s against $base_s s)"

done_testing
