#!/bin/sh
# `make bench`: every tool on every workload in the same run, interleaved
# (round r runs each tool once), several rounds; prints one table of
# medians and ratios to the no-tool baseline: wall time, CPU time, peak
# RSS, trace bytes, and the time to analyse the trace.
#
# Tools: baseline; heapcreep exact, sampled (512 KiB) and dormant (loaded,
# recording nothing until `heapcreep on`); heaptrack (Debian's
# 1.4: its interpreter runs out of memory beyond about 50 k operations, so
# `heaptrack -r` records raw data, its recording cost); jemalloc's profiler
# recording every allocation (lg_prof_sample:0) and at its default rate
# (512 KiB); valgrind massif. A tool that is not installed is skipped.
# Workloads: churn (bench/churn.c; 4 096 live blocks) at one and two
# threads, 40 frames deep and with realloc; churn-1g, 2 million live blocks
# (1.1 GB, a service's heap rather than a benchmark's: sampled mode's free
# path depends on it), for the baseline, sampled mode and jemalloc's
# sampling profiler only (a run takes 5 s); two Python workloads.
# BENCH_ROUNDS (default 5) and BENCH_SCALE (default 1.0) tune the run.
# Dormant mode costs about 2 % on churn, less than this machine's noise
# between two runs of the same command: its two CPUs differ in speed (a
# churn run takes 0.086 s on one, 0.115 s on the other), and a run lands on
# either. Its row is the median of BENCH_DORMANT_ROUNDS (default 31) pairs
# instead, each a baseline run and a dormant run back to back on the same
# CPU (taskset; pair r on CPU r mod the CPU count) where the workload has
# one thread: dormant mode has no thread of its own, so pinning changes
# nothing it costs. Unpinned, the preloaded run of a pair landed on the
# slow CPU more often (24 of 31 pairs against 12 of 31), which read as
# 1.03x to 1.29x. Times
# come from bench/timeit (to the microsecond, not /usr/bin/time's hundredths:
# a baseline churn run takes about 0.1 s). Ratios are the median over the
# rounds of each round's ratio to that round's baseline run.
bench=tools
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
rounds=${BENCH_ROUNDS:-5}
drounds=${BENCH_DORMANT_ROUNDS:-31}
ncpu=$(nproc)
scale=${BENCH_SCALE:-1}
LIB=$build/lib/libheapcreep.so
CHURN=$build/bench/churn
JEMALLOC=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
cd "$work" || exit 2

n() { awk -v s="$scale" -v n="$1" 'BEGIN { printf "%d", n * s }'; }
pairs=$(n 2000000)

cat >alloc.py <<'PY'
import json
rows = [{"id": i, "name": "row%d" % i, "tags": list(range(i % 13))} for i in range(30000)]
for _ in range(3):
    json.loads(json.dumps(rows))
PY
# 20 Python frames deep, then 200 000 bytearrays of 600 bytes (each two
# mallocs: the object and its buffer): what walking the frames adds to an
# allocation, from the loop's own thread CPU time (loop.txt), free of the
# start-up's imports.
cat >deep20.py <<'PY'
import itertools, time
def down(n):
    if n > 1:
        return down(n - 1)
    t = time.thread_time_ns()
    for _ in itertools.repeat(None, 200000):
        bytearray(599)
    open("loop.txt", "w").write(str(time.thread_time_ns() - t))
down(19)  # and <module>: 20 frames
PY
# The interpreter itself, not a wrapper (pyenv's shim is a bash script that
# the tools would trace instead); PYTHONMALLOC=malloc sends every object to
# malloc (pymalloc would serve small ones from its own arenas).
PY=$(python3 -c 'import os, sys; print(os.path.realpath(sys.executable))')
export PYTHONMALLOC=malloc

# name|command (the workload)
workloads="churn-1t|$CHURN $pairs 1
churn-2t|$CHURN $pairs 2
churn-deep|$CHURN $(n 1000000) 1 40
realloc|$CHURN $pairs 1 15 realloc
churn-1g|$CHURN $(n 4000000) 1 15 free 2000000
python3|$PY alloc.py
py-deep20|$PY deep20.py"

# heapcreep-nopy: the shim with Python frames off (HEAPCREEP_PYTHON=0), on
# the Python workloads only. heapcreep-tsc: exact mode with the TSC trusted
# (HEAPCREEP_CLOCK=tsc, where the kernel keeps time with another clock:
# kvm-clock here), on churn only.
tools="baseline heapcreep heapcreep-tsc heapcreep-nopy heapcreep-512k heapcreep-dormant heaptrack-r jemalloc-prof-all jemalloc-prof-512k massif"

have() { command -v "$1" >/dev/null 2>&1; }
tool_ok() { # TOOL WORKLOAD
	# churn-1g (a service's heap, 5 s a run): sampled mode and its peer
	case $2/$1 in
	churn-1g/baseline | churn-1g/heapcreep-512k | churn-1g/jemalloc-prof-512k) ;;
	churn-1g/*) return 1 ;;
	esac
	case $1 in
	heapcreep-nopy) case $2 in python3 | py-*) true ;; *) false ;; esac ;;
	heapcreep-tsc) case $2 in churn-1g) false ;; churn-*) true ;; *) false ;; esac ;;
	heaptrack-r) have heaptrack ;;
	jemalloc-prof*) [ -f "$JEMALLOC" ] ;;
	massif) have valgrind ;;
	*) true ;;
	esac
}

# run TOOL WORKLOAD-CMD OUT [PIN]: runs once (under PIN, a taskset command,
# if given), appends "wall cpu rss_kb trace_bytes analyse_s"
run() {
	tool=$1 cmd=$2 out=$3 pin=${4:-}
	rm -rf t && mkdir t
	case $tool in
	baseline) pre='env' ;; # started the way the shim's runs are
	heapcreep) pre="env HEAPCREEP_OUTPUT=$work/t/%p.hct LD_PRELOAD=$LIB" ;;
	heapcreep-tsc) pre="env HEAPCREEP_CLOCK=tsc HEAPCREEP_OUTPUT=$work/t/%p.hct LD_PRELOAD=$LIB" ;;
	heapcreep-nopy) pre="env HEAPCREEP_PYTHON=0 HEAPCREEP_OUTPUT=$work/t/%p.hct LD_PRELOAD=$LIB" ;;
	heapcreep-512k) pre="env HEAPCREEP_SAMPLE=512K HEAPCREEP_OUTPUT=$work/t/%p.hct LD_PRELOAD=$LIB" ;;
	# loaded and recording nothing until `heapcreep on` (never, here)
	heapcreep-dormant) pre="env HEAPCREEP_DORMANT=1 LD_PRELOAD=$LIB" ;;
	heaptrack-r) pre="heaptrack -r -o $work/t/ht" ;;
	jemalloc-prof-all) pre="env LD_PRELOAD=$JEMALLOC MALLOC_CONF=prof:true,lg_prof_sample:0,prof_final:true,prof_prefix:$work/t/jeprof" ;;
	jemalloc-prof-512k) pre="env LD_PRELOAD=$JEMALLOC MALLOC_CONF=prof:true,lg_prof_sample:19,prof_final:true,prof_prefix:$work/t/jeprof" ;;
	massif) pre="valgrind -q --tool=massif --massif-out-file=$work/t/massif.out" ;;
	esac
	rm -f loop.txt
	# shellcheck disable=SC2086
	"$build/bench/timeit" time.txt $pin $pre $cmd >/dev/null 2>err.txt
	loop=$(cat loop.txt 2>/dev/null || echo -)
	read -r wall user sys rss <time.txt
	bytes=$(du -cb t 2>/dev/null | tail -n 1 | cut -f1)
	ana=-
	case $tool in
	heapcreep*)
		f=$(ls -S t/*.hct 2>/dev/null | head -n 1)
		if [ -n "$f" ]; then
			"$build/bench/timeit" ana.txt "$HC" report -f json "$f" >/dev/null 2>&1
			ana=$(cut -d' ' -f1 ana.txt)
		fi
		;;
	esac
	echo "$wall $(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }') $rss $bytes $ana $loop" >>"$out"
}

echo "heapcreep bench: $(date -u +%Y-%m-%d), $(nproc) CPUs, $rounds rounds ($drounds pairs for heapcreep-dormant), $pairs pairs per churn thread" >&2

echo "$workloads" | while IFS='|' read -r wname wcmd; do
	r=1
	while [ "$r" -le "$rounds" ]; do
		for tool in $tools; do
			[ "$tool" = heapcreep-dormant ] && continue
			tool_ok "$tool" "$wname" && run "$tool" "$wcmd" "res.$wname.$tool"
		done
		r=$((r + 1))
	done
	r=1
	[ "$wname" = churn-1g ] && r=$((drounds + 1)) # no dormant row: 5 minutes
	while [ "$r" -le "$drounds" ]; do
		pin=
		case $wname in *-2t) ;; *) have taskset && pin="taskset -c $(((r - 1) % ncpu))" ;; esac
		run baseline "$wcmd" "res.$wname.baseline-paired" "$pin"
		run heapcreep-dormant "$wcmd" "res.$wname.heapcreep-dormant" "$pin"
		r=$((r + 1))
	done
	printf '.' >&2
done
echo >&2

printf '%-11s %-19s %9s %7s %7s %7s %9s %11s %9s\n' workload tool wall_s wall_x cpu_x rss_MB trace_MB "MB/Mpair" analyse_s
echo "$workloads" | while IFS='|' read -r wname wcmd; do
	for tool in $tools; do
		f=res.$wname.$tool
		[ -f "$f" ] || continue
		wall=$(median 1 "$f")
		rss=$(median 3 "$f")
		bytes=$(median 4 "$f")
		ana=$(median 5 "$f")
		case $wname in churn-2t) mp=$((2 * pairs)) ;; churn-deep) mp=$(n 1000000) ;; churn-1g) mp=$(n 4000000) ;; python3 | py-*) mp=0 ;; *) mp=$pairs ;; esac
		base=res.$wname.baseline
		[ "$tool" = heapcreep-dormant ] && base=res.$wname.baseline-paired
		wall_x=$(ratio 1 "$f" "$base")
		cpu_x=$(ratio 2 "$f" "$base")
		awk -v w="$wname" -v t="$tool" -v wall="$wall" -v wx="$wall_x" -v cx="$cpu_x" \
			-v rss="$rss" -v bytes="$bytes" -v ana="$ana" -v mp="$mp" 'BEGIN {
			per = (t == "baseline" || mp == 0) ? "-" : sprintf("%.3f", bytes / 1e6 / (mp / 1e6));
			a = (ana == "-") ? "-" : sprintf("%.3f", ana);
			printf "%-11s %-19s %9.3f %7.2f %7.2f %7.1f %9.3f %11s %9s\n", w, t, wall, wx,
				cx, rss / 1024, (t == "baseline") ? 0 : bytes / 1e6, per, a
		}'
	done
done
# Dormant mode's wall ratios to three decimals (its bound, 1.03, is at the
# table's second), with the quartiles of the pairs' ratios.
line=
for wname in $(echo "$workloads" | cut -d'|' -f1); do
	f=res.$wname.heapcreep-dormant
	[ -f "$f" ] || continue
	q=$(printf '%.3f (%s)' "$(ratio 1 "$f" "res.$wname.baseline-paired")" \
		"$(ratios 1 "$f" "res.$wname.baseline-paired" | quartiles)")
	line="$line${line:+, }$wname $q"
done
[ -n "$line" ] && echo "dormant, wall, median (quartiles) of $drounds pairs: $line"
# What the Python frames cost: the 20-frame loop's thread CPU time with
# them less without, per allocation (400 000), the median over rounds.
if [ -f res.py-deep20.heapcreep ] && [ -f res.py-deep20.heapcreep-nopy ]; then
	# per_alloc COL_A COL_B: the median of (a - b) / 400 000 over rounds
	per_alloc() {
		paste -d' ' res.py-deep20.heapcreep res.py-deep20.heapcreep-nopy res.py-deep20.baseline |
			awk -v a="$1" -v b="$2" '{ print ($a - $b) / 400000 }' | sort -n |
			awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
	}
	printf 'python frames: +%.0f ns per allocation 20 Python frames deep (the shim without them: +%.0f ns; loop thread CPU, median of %d rounds)\n' \
		"$(per_alloc 6 12)" "$(per_alloc 12 18)" "$rounds"
fi
"$build/bench/clock"
