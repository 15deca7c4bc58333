#!/bin/sh
# Fuzzes the trace reader, the summary and every record decoder
# (tests/fuzz/fuzz-reader.c, built by `make fuzz` with ASan and UBSan) from
# the seed corpus of real traces in tests/fuzz/corpus/: 20 s in `make test`,
# 10 minutes in `make test-long`. Any crash, sanitizer report, leak, timeout
# or allocation over the limit fails, and the input that did it is kept.
# Reproduce one with: build-fuzz/fuzz-reader FILE
. "$(dirname "$0")/lib.sh"

FUZZ=${HC_TEST_FUZZ:-$top/build-fuzz/fuzz-reader}
corpus=$top/tests/fuzz/corpus
if [ ! -x "$FUZZ" ]; then
	skip "fuzzing the trace reader" "build-fuzz/fuzz-reader not built (make fuzz; needs clang and libclang-rt-14-dev)"
	done_testing
fi

secs=20
[ "${HC_TEST_LONG:-}" = 1 ] && secs=600
ok "$([ "$(ls "$corpus" | wc -l)" -ge 10 ]; echo $?)" "the seed corpus is there: $(ls "$corpus" | wc -l) real traces"
ok "$([ "$(du -sb "$corpus" | cut -f1)" -lt 200000 ]; echo $?)" "the seed corpus stays small ($(du -sb "$corpus" | cut -f1) bytes)"

# The seeds alone first: each must read cleanly (-runs=0 runs them once).
"$FUZZ" -runs=0 "$corpus" >seeds.log 2>&1
is "$?" 0 "every seed reads without a sanitizer report"

mkdir new
keep=${TMPDIR:-/tmp}/heapcreep-fuzz.$$
mkdir -p "$keep"
# New inputs go to the first directory, never into the committed corpus.
# -rss_limit_mb also bounds any one allocation (malloc_limit_mb defaults to
# it): a declared size the file does not back must never be allocated.
timeout -s KILL $((secs + 120)) "$FUZZ" -max_total_time=$secs -rss_limit_mb=512 -timeout=10 \
	-print_final_stats=1 -artifact_prefix="$keep/" new "$corpus" >fuzz.log 2>&1
rc=$?
runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1/p' fuzz.log)
peak=$(sed -n 's/^stat::peak_rss_mb:[[:space:]]*//p' fuzz.log)
is "$rc" 0 "fuzzing for $secs s: no crash, leak, timeout or oversized allocation"
ok "$([ -n "$runs" ] && [ "$runs" -gt 1000 ]; echo $?)" "fuzzing ran: ${runs:-no} executions, peak RSS ${peak:-?} MB, $(ls new | wc -l) new inputs"
diag "fuzz-reader survived ${runs:-0} executions in $secs s"
if [ $rc -ne 0 ]; then
	grep -E 'ERROR|SUMMARY|runtime error|#[0-9]+ 0x' fuzz.log | head -n 30 | sed 's/^/#   /'
	diag "the input is kept in $keep: $(ls "$keep")"
else
	rm -rf "$keep"
fi

done_testing
