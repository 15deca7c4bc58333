#!/bin/sh
# `make bench-parts`: a malloc+free pair of bench/churn taken apart, in ns of
# CPU time. Builds two measurement-only variants of the shim next to the
# real one (stamps from a per-thread counter: HC_MEASURE_COUNTER_STAMPS;
# stacks of the caller's address alone: HC_MEASURE_NO_STACK; and both),
# then runs, interleaved, the bare program and each shim, at one thread (and
# the bare program and the real shim at two). The program threads' time is
# the process's CPU time (bench/timeit) less the collector's (from the
# trace); the variants' collector figures mean nothing (their stamps are not
# times) and are not printed. Medians; the wall ratio is the median of each
# round's ratio to that round's bare run.
# BENCH_ROUNDS (default 21: at 11, parts of 10-20 ns drown in this kind of
# machine's noise) and BENCH_PAIRS (default 3000000) tune the run.
bench=parts
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
rounds=${BENCH_ROUNDS:-21}
pairs=${BENCH_PAIRS:-3000000}
CHURN=$build/bench/churn

flags=${CFLAGS:--O2 -g}
for v in counter:-DHC_MEASURE_COUNTER_STAMPS nostack:-DHC_MEASURE_NO_STACK \
	neither:"-DHC_MEASURE_COUNTER_STAMPS -DHC_MEASURE_NO_STACK"; do
	name=${v%%:*}
	make -s -C "$top" BUILD="$work/$name" CFLAGS="$flags ${v#*:}" \
		"$work/$name/lib/libheapcreep.so" >/dev/null || exit 2
done

# one THREADS NAME LIB: runs once, appends "wall cpu collector" to $work/res.THREADS.NAME
one() {
	rm -f "$work"/t.hct*
	if [ "$3" = - ]; then
		"$build/bench/timeit" "$work/time" env "$CHURN" "$pairs" "$1" >/dev/null || exit 2
		col=0
	else
		HEAPCREEP_OUTPUT="$work/t.hct" "$build/bench/timeit" "$work/time" \
			env LD_PRELOAD="$3" "$CHURN" "$pairs" "$1" >/dev/null || exit 2
		col=$("$HC" report -f json "$work/t.hct" | jq -r '.totals.collector_cpu_s // 0')
	fi
	read -r wall user sys _ <"$work/time"
	echo "$wall $user $sys $col" | awk '{ print $1, $2 + $3, $4 }' >>"$work/res.$1.$2"
}

echo "heapcreep parts bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $rounds rounds, $pairs pairs a thread" >&2
r=1
while [ "$r" -le "$rounds" ]; do
	one 1 bare -
	one 1 shim "$build/lib/libheapcreep.so"
	one 1 counter "$work/counter/lib/libheapcreep.so"
	one 1 nostack "$work/nostack/lib/libheapcreep.so"
	one 1 neither "$work/neither/lib/libheapcreep.so"
	one 2 bare -
	one 2 shim "$build/lib/libheapcreep.so"
	printf '.' >&2
	r=$((r + 1))
done
echo >&2

# program THREADS NAME: the program threads' ns a pair
program() { awk -v n="$((pairs * $1))" '{ print ($2 - $3) / n * 1e9 }' "$work/res.$1.$2" | mid; }
collector() { awk -v n="$((pairs * $1))" '{ print $3 / n * 1e9 }' "$work/res.$1.$2" | mid; }

printf '%-9s %-16s %9s %10s %7s\n' threads shim "program" collector wall_x
for t in 1 2; do
	for name in bare shim counter nostack neither; do
		[ -f "$work/res.$t.$name" ] || continue
		col=-
		[ "$name" = shim ] && col=$(collector "$t" shim)
		case $name in
		bare) label="none (bare)" ;; shim) label="heapcreep" ;; counter) label="counter stamps" ;;
		nostack) label="no stack" ;; neither) label="neither" ;;
		esac
		printf '%-9s %-16s %9.0f %10s %7.2f\n' "$t" "$label" "$(program "$t" "$name")" \
			"$([ "$col" = - ] && echo - || printf '%.0f' "$col")" \
			"$(ratio 1 "$work/res.$t.$name" "$work/res.$t.bare")"
	done
done
shim=$(program 1 shim)
awk -v s="$shim" -v b="$(program 1 bare)" -v c="$(program 1 counter)" -v u="$(program 1 nostack)" \
	-v nb="$(program 1 neither)" 'BEGIN {
	printf "one thread, ns a pair: the shim adds %.0f; the stamps %.0f, the stack %.0f, the rest %.0f\n",
		s - b, s - c, s - u, nb - b }'
# The collector's heap model alone (bench/model.c: no rings, no threads): the
# part of the collector's figure above that is its tables' bookkeeping.
printf "the collector's heap model alone (bench/model, 4096 live blocks): %s ns a pair\n" \
	"$("$build/bench/model" "$pairs" 5)"

# Sampled mode's floor: what a process pays before any sample is taken.
# Interleaved rounds of churn at make bench's size (BENCH_SAMPLED_PAIRS,
# default 2000000), one thread: the bare program; a library that only starts
# one sleeping thread (bench/sleeper.c: glibc's allocator takes its locks
# once a process has a second thread, and the collector is one); the shim
# dormant (loaded, interposing, no thread); sampled at 1 GiB (the collector
# thread, the trace's start and end, the entry points' countdown and filter,
# and no sample at all); sampled at 512 KiB (make bench's row).
spairs=${BENCH_SAMPLED_PAIRS:-2000000}
sone() { # NAME ENV...: one run, its wall time appended to $work/floor.NAME
	name=$1
	shift
	rm -f "$work"/f.hct*
	env "$@" HEAPCREEP_OUTPUT="$work/f.hct" "$build/bench/timeit" "$work/time" \
		"$CHURN" "$spairs" 1 >/dev/null || exit 2
	awk '{ print $1 }' "$work/time" >>"$work/floor.$name"
}
lib=$build/lib/libheapcreep.so
r=1
while [ "$r" -le "$rounds" ]; do
	sone bare X=1
	sone thread LD_PRELOAD="$build/bench/libsleeper.so"
	sone dormant HEAPCREEP_DORMANT=1 LD_PRELOAD="$lib"
	sone s1g HEAPCREEP_SAMPLE=1G LD_PRELOAD="$lib"
	sone s512k HEAPCREEP_SAMPLE=512K LD_PRELOAD="$lib"
	printf '.' >&2
	r=$((r + 1))
done
echo >&2
printf "sampled mode's floor, churn %s pairs, one thread (wall, x the bare run's):\n" "$spairs"
for name in thread dormant s1g s512k; do
	case $name in
	thread) label="one sleeping thread, nothing else" ;; dormant) label="heapcreep dormant" ;;
	s1g) label="heapcreep --sample 1G (no sample)" ;; s512k) label="heapcreep --sample 512K" ;;
	esac
	printf '  %-36s %.3f\n' "$label" "$(ratio 1 "$work/floor.$name" "$work/floor.bare")"
done
# The set of sampled blocks alone (bench/sampledset.c): a free whose counter
# is not zero but whose block was not sampled, as a long run's samples come
# and go (2 000 live sampled blocks: 1 GB of live heap at 512 KiB).
echo "the set of sampled blocks alone (bench/sampledset, 2 000 live), a free of a block not sampled:"
"$build/bench/sampledset" 2000 | sed 's/^/  /'
