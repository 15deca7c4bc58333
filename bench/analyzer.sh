#!/bin/sh
# `make bench-analyzer`: the analyzer on a big trace made for the purpose
# (bench/bigtrace: a service that promotes RATE blocks a second, frees them
# 3 to 20 s later, and leaks 2000 blocks a second at one site). Prints the
# trace's size, the time and peak RSS of `heapcreep report -f json` (median
# of BENCH_ROUNDS runs, default 3), its throughput, and its memory per live
# block at the end. BENCH_SECONDS (default 200) and BENCH_RATE (default
# 500000) size the trace: about 1.3 GB for the defaults.
bench=analyzer
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
secs=${BENCH_SECONDS:-200}
rate=${BENCH_RATE:-500000}
rounds=${BENCH_ROUNDS:-3}

trace=$work/big.hct
echo "heapcreep analyzer bench: $(date -u +%Y-%m-%d), $secs s at $rate blocks/s" >&2
blocks=$("$build/bench/bigtrace" "$trace" "$secs" "$rate") || exit 2
bytes=$(wc -c <"$trace")
r=1
while [ "$r" -le "$rounds" ]; do
	/usr/bin/time -f "%e %U %S %M" -o "$work/time.$r" "$build/bin/heapcreep" report -f json "$trace" \
		>"$work/report.json" || exit 2
	r=$((r + 1))
done
cat "$work"/time.* | sort -g | awk -v n="$rounds" 'NR == int((n + 1) / 2)' >"$work/median"
read -r wall user sys rss <"$work/median"
live=$(jq -r '.totals.live_blocks_end // empty' "$work/report.json" 2>/dev/null)
awk -v b="$bytes" -v w="$wall" -v u="$user" -v s="$sys" -v rss="$rss" -v blocks="$blocks" \
	-v live="$live" 'BEGIN {
	printf "%-28s %12.1f\n", "trace MB", b / 1e6
	printf "%-28s %12.1f\n", "promoted blocks (millions)", blocks / 1e6
	printf "%-28s %12.2f\n", "analysis wall s (median)", w
	printf "%-28s %12.2f\n", "analysis CPU s", u + s
	printf "%-28s %12.1f\n", "throughput MB/s", b / 1e6 / w
	printf "%-28s %12.1f\n", "blocks per second (millions)", blocks / 1e6 / w
	printf "%-28s %12.0f\n", "peak RSS MB", rss / 1024
	if (live != "" && live > 0) printf "%-28s %12.0f\n", "RSS bytes per live block", rss * 1024 / live
}'
