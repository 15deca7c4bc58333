#!/bin/sh
# Detection on the workload shapes of DESIGN §5, each on top of background
# churn, each site in its own function (tests/programs/shapes.c): every leak
# shape is a LEAK with the right site at the top; no benign shape gets a
# LEAK. Several seeds per shape run at once (they mostly sleep); the
# confusion table is printed. HC_TEST_LONG=1 (make test-long): more seeds,
# longer runs.
. "$(dirname "$0")/lib.sh"

leaks="steady stepped slow late hidden"
benign="warmup lru sawtooth batch startup saturating churn"
if [ -n "${HC_TEST_LONG:-}" ]; then seeds="1 2 3 4 5 6 7 8"; secs=60; else seeds="1 2 3"; secs=24; fi

for seed in $seeds; do
	for shape in $leaks $benign; do
		HEAPCREEP_OUTPUT=$TMP/$shape.$seed.hct LD_PRELOAD="$LIB" "$PROG/shapes" "$shape" "$seed" "$secs" &
	done
	# Launch seeds a little apart: start-up work would all fall together.
	sleep 0.3
done
wait

tp=0 fn=0 fp=0 tn=0 wrong_site=0 inconclusive=0
for seed in $seeds; do
	for shape in $leaks $benign; do
		"$HC" report -f json "$shape.$seed.hct" >r.json 2>/dev/null
		verdict=$(jget r.json .verdict)
		top=$(jget r.json '[.sites[] | select(.verdict == "leak")][0].frames[0].function // "-"')
		case " $leaks " in
		*" $shape "*)
			if [ "$verdict" = leak ] && [ "$top" = "shape_${shape}_alloc" ]; then
				tp=$((tp + 1))
			else
				fn=$((fn + 1))
				[ "$verdict" = leak ] && wrong_site=$((wrong_site + 1))
				diag "MISSED: $shape seed $seed: verdict $verdict, top $top: $(jget r.json '[.sites[] | select(.verdict != "none") | .reason] | join("; ")')"
			fi
			;;
		*)
			if [ "$verdict" = leak ]; then
				fp=$((fp + 1))
				diag "FALSE LEAK: $shape seed $seed at $top: $(jget r.json '[.sites[] | select(.verdict == "leak") | .reason][0]')"
			else
				tn=$((tn + 1))
				[ "$verdict" = inconclusive ] && inconclusive=$((inconclusive + 1))
			fi
			;;
		esac
		printf '%s %s %s %s\n' "$shape" "$seed" "$verdict" "$top" >>table.txt
	done
done

diag "confusion table ($(echo $seeds | wc -w) seeds x $secs s per shape):"
diag "                  called LEAK   not LEAK"
diag "  leak shapes     $(printf '%11d %10d' $tp $fn)"
diag "  benign shapes   $(printf '%11d %10d' $fp $tn)   ($inconclusive of them inconclusive)"
while read -r shape seed verdict top; do diag "  $shape seed $seed: $verdict ($top)"; done <table.txt

n_leak=$(( $(echo $leaks | wc -w) * $(echo $seeds | wc -w) ))
n_benign=$(( $(echo $benign | wc -w) * $(echo $seeds | wc -w) ))
is "$tp" "$n_leak" "every leak shape found, with its own site on top"
is "$fp" 0 "no false LEAK on $n_benign benign runs"

done_testing
