#!/bin/sh
# The analyzer built with ASan and UBSan (build-san/) reads real traces,
# whole and cut at many offsets, without a sanitizer report: a report makes
# it exit non-zero (or abort), which fails here.
. "$(dirname "$0")/lib.sh"
san=${HC_TEST_SAN_BUILD:-}
SANCLI=$san/libexec/heapcreep/heapcreep-cli
if [ -z "$san" ] || [ ! -x "$SANCLI" ]; then
	skip "sanitized analyzer" "not built (make test builds it)"
	done_testing
fi
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
export UBSAN_OPTIONS=halt_on_error=1:exitcode=99

"$HC" run -q -o py.hct -- python3 -c 'import json; print(len(json.dumps([list(range(i % 50)) for i in range(20000)])))' >/dev/null
HEAPCREEP_INTERVAL=50ms HEAPCREEP_PROMOTE=10ms HEAPCREEP_OUTPUT=$TMP/g.hct LD_PRELOAD="$LIB" timeout -s KILL 1.5 "$PROG/grower" >/dev/null
for t in py.hct g.hct; do
	"$SANCLI" report -f json "$t" >/dev/null 2>err
	rc=$?
	ok "$([ $rc -eq 0 ]; echo $?)" "$t: sanitized report exits 0 (was $rc)"
	"$SANCLI" dump "$t" >/dev/null 2>err
	ok "$([ $? -eq 0 ]; echo $?)" "$t: sanitized dump exits 0"
	"$SANCLI" stacks "$t" >/dev/null 2>err
	ok "$([ $? -eq 0 ]; echo $?)" "$t: sanitized stacks exits 0"
done

# cuts TRACE N: TRACE cut at N offsets; the number of cuts on which the
# sanitized report exits other than 0 (whole or truncated) or 2 (corrupt),
# i.e. a sanitizer's 99 or a crash (each one described in cuts.log)
cuts() {
	size=$(stat -c %s "$1")
	bad=0
	i=0
	while [ $i -lt "$2" ]; do
		cut=$((i * size / $2 + i % 7))
		head -c $cut "$1" >cut.hct
		"$SANCLI" report -f json cut.hct >/dev/null 2>err
		rc=$?
		[ $rc -eq 0 ] || [ $rc -eq 2 ] || { bad=$((bad + 1)); diag "$1 cut at $cut: exit $rc: $(head -c 300 err)" >>cuts.log; }
		i=$((i + 1))
	done
	echo $bad
}
# py.hct holds Python frames, CODE and PYTHON records (each sanitized
# report of it takes about a second); g.hct BLOCK and FREE records.
is "$(cuts py.hct 25)" 0 "25 truncations of a trace with Python frames: exit 0 or 2, no sanitizer report"
is "$(cuts g.hct 200)" 0 "200 truncations of a real trace: exit 0 or 2, no sanitizer report"
[ -s cuts.log ] && cat cuts.log

done_testing
