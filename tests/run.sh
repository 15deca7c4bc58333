#!/bin/sh
# Runs every test and prints one line per test file and a summary:
# "N passed, N failed". Unit tests are C programs in $HC_TEST_BUILD/tests/unit,
# shell tests are tests/tNNNN-*.sh; both speak TAP. Exits non-zero when any
# test fails. HC_TEST_ONLY=pattern runs the files whose name matches. A file
# still running after HC_TEST_FILE_TIMEOUT seconds (900) is killed and fails:
# a hang costs one file, not the run.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${HC_TEST_BUILD:-$top/build}
export HC_TEST_BUILD="$build"
limit=${HC_TEST_FILE_TIMEOUT:-900}
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT
passed=0 failed=0 files=0 bad_files=""

run_one() { # name command...
	name=$1
	shift
	case "$name" in *"${HC_TEST_ONLY:-}"*) ;; *) return ;; esac
	files=$((files + 1))
	start=$(date +%s)
	timeout -k 10 "$limit" "$@" >"$log/out" 2>"$log/err"
	rc=$?
	[ "$rc" -eq 124 ] && echo "not ok - killed after $limit s" >>"$log/out"
	secs=$(($(date +%s) - start))
	p=$(grep -c '^ok ' "$log/out")
	f=$(grep -c '^not ok ' "$log/out")
	planned=$(sed -n 's/^1\.\.\([0-9]*\).*/\1/p' "$log/out" | tail -n 1)
	passed=$((passed + p))
	failed=$((failed + f))
	status=ok
	if [ "$f" -gt 0 ] || [ "$rc" -ne 0 ] || [ -z "$planned" ] || [ "$planned" -ne $((p + f)) ]; then
		status=FAIL
		bad_files="$bad_files $name"
		[ "$f" -eq 0 ] && failed=$((failed + 1)) # a crash or a short plan counts
	fi
	printf '%-34s %4d passed %3d failed %4ds  %s\n' "$name" "$p" "$f" "$secs" "$status"
	if [ "$status" = FAIL ]; then
		grep -A6 '^not ok' "$log/out" | sed 's/^/    /'
		[ -n "$planned" ] || echo "    (no plan: the test stopped early, exit $rc)"
		tail -n 15 "$log/err" | sed 's/^/    stderr: /'
	fi
}

for t in "$build"/tests/unit/test-* "$build"/tests/unit/tsan-*; do
	[ -x "$t" ] || continue
	run_one "unit/$(basename "$t")" "$t"
done
# The same unit tests built with ASan and UBSan, when make built them.
if [ -n "${HC_TEST_SAN_BUILD:-}" ]; then
	for t in "$HC_TEST_SAN_BUILD"/tests/unit/test-*; do
		[ -x "$t" ] || continue
		run_one "asan+ubsan/$(basename "$t")" "$t"
	done
fi
for t in "$top"/tests/t[0-9]*.sh; do
	[ -f "$t" ] || continue
	run_one "$(basename "$t")" sh "$t"
done

echo "$passed passed, $failed failed ($files test files)"
[ "$failed" -eq 0 ] || { echo "failing:$bad_files"; exit 1; }
