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

# py.hct holds Python frames, CODE and PYTHON records: cut at 25 offsets
# (each sanitized report of it takes about a second).
size=$(stat -c %s py.hct)
bad=0
i=0
while [ $i -lt 25 ]; do
	cut=$((i * size / 25 + i % 5))
	head -c $cut py.hct >cut.hct
	"$SANCLI" report -f json cut.hct >/dev/null 2>err
	rc=$?
	[ $rc -eq 0 ] || [ $rc -eq 2 ] || { bad=$((bad + 1)); diag "cut at $cut: exit $rc: $(head -c 300 err)"; }
	i=$((i + 1))
done
is "$bad" 0 "25 truncations of a trace with Python frames: exit 0 or 2, no sanitizer report"

# Cut g.hct (with BLOCK and FREE records) at 200 offsets: 0 (whole or
# truncated) or 2 (corrupt), never a sanitizer's 99 or a crash.
size=$(stat -c %s g.hct)
bad=0
i=0
while [ $i -lt 200 ]; do
	cut=$((i * size / 200 + i % 7))
	head -c $cut g.hct >cut.hct
	"$SANCLI" report -f json cut.hct >/dev/null 2>err
	rc=$?
	[ $rc -eq 0 ] || [ $rc -eq 2 ] || { bad=$((bad + 1)); diag "cut at $cut: exit $rc: $(head -c 300 err)"; }
	i=$((i + 1))
done
is "$bad" 0 "200 truncations of a real trace: exit 0 or 2, no sanitizer report"

done_testing
