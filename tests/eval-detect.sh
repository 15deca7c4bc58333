#!/bin/sh
# The detection evaluation: workload families (tests/programs/families.c)
# with parameters drawn at random from wide ranges, run in parallel under
# the shim with time compressed, judged by `heapcreep report`; prints each
# case, the confusion table per family, and the errors of rate, onset and
# time to limit. Every case's seed is printed: `families FAMILY SEED SECONDS
# SPEED` under the shim replays it.
#
# usage: tests/eval-detect.sh [-n CASES] [-s SEED] [-j JOBS] [-x SPEED]
#                             [-m MIN_S] [-M MAX_S] [-f "FAMILIES"] [-o DIR]
#        tests/eval-detect.sh -r DIR   (the same cases' traces analysed again;
#                                       rebuilt programs lose their symbols)
#   CASES cases (default 200), families taken in turn; run lengths uniform in
#   [MIN_S, MAX_S] seconds of virtual time (15..180), run SPEED times faster
#   (4) with the interval, promotion age and horizon scaled alike; JOBS at
#   once (12: the cases mostly sleep). Exits 1 when a benign case is LEAK, a
#   leak is PASS, or fewer than 98% of the leaks are LEAK on their own sites.
#   HC_TEST_BUILD: the build (default build/).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${HC_TEST_BUILD:-$top/build}
HC=$build/bin/heapcreep
LIB=$build/lib/libheapcreep.so
FAM=$build/tests/programs/families
# Debian's interpreter where there is one (pyenv's python3 is a shell shim)
PY=${HC_EVAL_PYTHON:-$(for p in /usr/bin/python3.11 /usr/bin/python3; do [ -x $p ] && echo $p && break; done)}
PY=${PY:-python3}

if [ "${1:-}" = --case ] || [ "${1:-}" = --analyze ]; then
	# one case: --case DIR I FAMILY SEED SECONDS SPEED (--analyze: its
	# trace again, not the run)
	what=$1 dir=$2 i=$3 fam=$4 seed=$5 secs=$6 speed=$7
	interval=$(awk "BEGIN{printf \"%dms\", 1000 / $speed}")
	promote=$(awk "BEGIN{printf \"%dms\", 2000 / $speed}")
	horizon=$(awk "BEGIN{printf \"%ds\", 86400 / $speed}")
	case $fam in py_* | seed_*) set -- "$PY" "$top/tests/programs/families.py" ;; *) set -- "$FAM" ;; esac
	[ "$what" = --analyze ] ||
		HEAPCREEP_OUTPUT=$dir/$i.hct HEAPCREEP_INTERVAL=$interval HEAPCREEP_PROMOTE=$promote \
			FAMILIES_TRUTH=$dir/$i.truth LD_PRELOAD=$LIB "$@" "$fam" "$seed" "$secs" "$speed" ||
		{ echo "case $i: $fam seed $seed did not run" >&2; exit 0; }
	"$HC" report -f json --horizon "$horizon" "$dir/$i.hct" >"$dir/$i.json" 2>"$dir/$i.err"
	# Time to limit, on the C leaks that grow linearly, against what
	# happened: the limit is the RSS the program reached at its end (less
	# the shim's own memory, as the estimate counts it), the estimate is
	# made from the first 60% of the trace (a trace cut short reads as far
	# as it goes), the truth is when that RSS first reached it. Judged only
	# where it grew by 4 MiB and a fifth after the cut: below that, RSS is
	# the allocator's noise, not the leak.
	case $fam in steady | slow | mixed | doubling | xthread | multi | hidden)
		limit=$(jq '.windows.program_rss_max_bytes | last' "$dir/$i.json")
		truth=$(jq --argjson l "$limit" '[.windows.time_s, .windows.program_rss_max_bytes] | transpose |
			map(select(.[1] >= $l)) | first | .[0]' "$dir/$i.json")
		size=$(wc -c <"$dir/$i.hct")
		head -c $((size * 6 / 10)) "$dir/$i.hct" >"$dir/$i.part.hct"
		"$HC" report -f json --horizon "$horizon" --limit "$limit" "$dir/$i.part.hct" \
			>"$dir/$i.ttl.json" 2>/dev/null
		rm -f "$dir/$i.part.hct"
		cut=$(jq '.trace.analysis_end_s' "$dir/$i.ttl.json")
		jq -r --argjson c "$cut" --argjson l "$limit" --argjson tr "$truth" '
			[.windows.time_s, .windows.program_rss_max_bytes] | transpose |
			map(select(.[0] <= $c)) | last[1] as $r |
			if $l - $r >= ([4194304, 0.2 * $l] | max) then $tr else "small" end' \
			"$dir/$i.json" >"$dir/$i.ttltruth"
		;;
	esac
	exit 0
fi

cases=200 seed=$(date +%s) jobs=12 speed=4 min_s=15 max_s=180 only="" out="" again=""
while [ $# -gt 0 ]; do
	case $1 in
	-r) again=$2; shift 2 ;;
	-n) cases=$2; shift 2 ;;
	-s) seed=$2; shift 2 ;;
	-j) jobs=$2; shift 2 ;;
	-x) speed=$2; shift 2 ;;
	-m) min_s=$2; shift 2 ;;
	-M) max_s=$2; shift 2 ;;
	-f) only=$2; shift 2 ;;
	-o) out=$2; shift 2 ;;
	*) echo "usage: eval-detect.sh [-n CASES] [-s SEED] [-j JOBS] [-x SPEED] [-m MIN_S] [-M MAX_S] [-f FAMILIES] [-o DIR]" >&2; exit 2 ;;
	esac
done
for f in "$HC" "$LIB" "$FAM"; do
	[ -e "$f" ] || { echo "eval-detect: '$f' is missing: run make test-build" >&2; exit 2; }
done
command -v jq >/dev/null || { echo "eval-detect: jq is needed (make test installs it)" >&2; exit 2; }
if [ -n "$again" ]; then
	dir=$again
	echo "eval-detect: the cases in $dir analysed again"
	xargs -P "$jobs" -L 1 sh "$0" --analyze <"$dir/cases"
else
	dir=${out:-$(mktemp -d "${TMPDIR:-/tmp}/hceval.XXXXXX")}
	mkdir -p "$dir"
	fams=${only:-$( ("$FAM" --list; "$PY" "$top/tests/programs/families.py" --list) | cut -d' ' -f1 | tr '\n' ' ')}

	echo "eval-detect: $cases cases, master seed $seed, ${min_s}-${max_s} s runs at ${speed}x, $jobs at once; in $dir"
	# Cases: family in turn, seed and length drawn from the master seed.
	awk -v n="$cases" -v seed="$seed" -v fams="$fams" -v lo="$min_s" -v hi="$max_s" \
		-v speed="$speed" -v dir="$dir" 'BEGIN {
		srand(seed); nf = split(fams, f, " ")
		for (i = 0; i < n; i++) {
			s = int(rand() * 4294967295); len = lo + rand() * (hi - lo)
			printf "%s %d %s %.0f %.1f %s\n", dir, i, f[i % nf + 1], s, len, speed
		}
	}' >"$dir/cases"
	# Longest first, so the tail of the run is short cases.
	sort -k5,5 -n -r "$dir/cases" | xargs -P "$jobs" -L 1 sh "$0" --case
fi

# One line a case: family leak? verdict found-own-sites rate-err onset-err ttl-err seed secs
: >"$dir/results"
while read -r d i fam s secs sp; do
	if ! [ -s "$d/$i.truth" ] || ! [ -s "$d/$i.json" ]; then
		echo "$fam ? error 0 - - - $s $secs" >>"$dir/results"
		continue
	fi
	jq -r --slurpfile tr "$d/$i.truth" --argjson sp "$sp" '
		$tr[0] as $t |
		[.sites[] | select(.verdict == "leak")] as $leaks |
		# Python families name no sites (their native stacks are the
		# interpreter'"'"'s): any LEAK site counts, and all of them add up
		(if $t.sites == null then ($leaks | length) > 0
		 else ($t.sites | map(. as $fn | $leaks | any(.frames[0].function == $fn)) | all) end) as $own |
		([$leaks[] | select($t.sites == null or (.frames[0].function as $f | $t.sites | index($f))) | .growth_bytes_per_s] | add // 0) as $got |
		[$t.family, (if $t.excluded then "excluded" elif $t.leak then "leak" else "benign" end), .verdict,
		 (if $t.leak and $own then 1 else 0 end),
		 (if $t.leak and $got > 0 then (($got / ($t.rate * $sp)) - 1) * 100 | floor | tostring else "-" end),
		 (if $t.family == "onset" and ([$leaks[] | .since_s] | length) > 0
		  then ((([$leaks[] | .since_s] | min) * $sp - $t.onset_s) / $t.seconds * 100 | floor | tostring)
		  else "-" end),
		 $t.seed, $t.seconds] | map(tostring) | join(" ")' "$d/$i.json" >"$d/$i.line" 2>/dev/null ||
		echo "$fam ? error 0 - - $s $secs" >"$d/$i.line"
	ttl=-
	if [ -s "$d/$i.ttl.json" ] && [ "$(cat "$d/$i.ttltruth")" != small ]; then
		ttl=$(jq -r --argjson tr "$(cat "$d/$i.ttltruth")" \
			'if .time_to_limit_s == null then "none" else
			 ((.time_to_limit_s - $tr) / ($tr - .trace.analysis_end_s) * 100 | floor | tostring) end' \
			"$d/$i.ttl.json")
	fi
	# fields: family kind verdict own rate-err onset-err ttl-err seed secs
	awk -v ttl="$ttl" '{ print $1, $2, $3, $4, $5, $6, ttl, $7, $8 }' "$d/$i.line" >>"$dir/results"
done <"$dir/cases"

awk -v speed="$speed" '
function abs(x) { return x < 0 ? -x : x }
$2 == "excluded" { # the draw is not of its family (families.py says why)
	out[++nout] = sprintf("  left out: %s seed %s %s s (%s)", $1, $8, $9, $3)
	next
}
{
	fam[$1] = 1; kind[$1] = $2; n[$1]++; v[$1, $3]++
	if ($2 == "leak") {
		leaks++
		if ($3 == "leak" && $4 == 1) { found++; own[$1]++ }
		else {
			miss[++nmiss] = sprintf("  missed: %s seed %s %s s: %s%s", $1, $8, $9, $3,
			    $3 == "leak" ? " (not on its own site)" : "")
			if ($3 == "pass") leak_pass++
		}
		if ($5 != "-") { re[++nre] = abs($5) }
		if ($6 != "-") { oe[++noe] = abs($6) }
		if ($7 != "-" && $7 != "none") { te[++nte] = abs($7) }
		if ($7 == "none") ttl_none++
	} else {
		benign++
		if ($3 == "leak") { fp++; falses[++nf] = sprintf("  FALSE LEAK: %s seed %s %s s", $1, $8, $9) }
		if ($3 == "inconclusive") binc++
	}
}
function pct(a, k, q,   i, j, t, m) { # the q-quantile of a[1..k] (sorts a)
	for (i = 2; i <= k; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	m = int(q * (k - 1) + 0.5) + 1; return k ? a[m] : "-"
}
END {
	printf "\n%-12s %6s %5s %6s %13s %5s\n", "family", "kind", "cases", "LEAK", "INCONCLUSIVE", "PASS"
	for (f in fam) line[f] = sprintf("%-12s %6s %5d %6d %13d %5d", f, kind[f], n[f], v[f, "leak"], v[f, "inconclusive"], v[f, "pass"])
	for (f in fam) if (kind[f] == "leak") print line[f]
	for (f in fam) if (kind[f] != "leak") print line[f]
	printf "\nleaks: %d of %d LEAK on their own sites (%.1f%%), %d PASS\n", found, leaks, leaks ? 100 * found / leaks : 100, leak_pass
	printf "benign: %d of %d called LEAK, %d inconclusive\n", fp, benign, binc
	if (nre) printf "rate error (|reported/true - 1|, %%): median %s, 90th %s, max %s over %d leaks\n", pct(re, nre, 0.5), pct(re, nre, 0.9), pct(re, nre, 1), nre
	if (noe) printf "onset error (%% of the run): median %s, 90th %s, max %s over %d onset leaks\n", pct(oe, noe, 0.5), pct(oe, noe, 0.9), pct(oe, noe, 1), noe
	if (nte) printf "time to limit error (%% of the time left at the estimate): median %s, 90th %s, max %s over %d; no estimate on %d\n", pct(te, nte, 0.5), pct(te, nte, 0.9), pct(te, nte, 1), nte, ttl_none
	for (i = 1; i <= nout; i++) print out[i]
	for (i = 1; i <= nmiss; i++) print miss[i]
	for (i = 1; i <= nf; i++) print falses[i]
	ok = fp == 0 && leak_pass == 0 && (leaks == 0 || found >= 0.98 * leaks)
	print ok ? "eval-detect: PASSED" : "eval-detect: FAILED"
	exit ok ? 0 : 1
}' "$dir/results"
