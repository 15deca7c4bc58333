#!/bin/sh
# Detection on cases the rules were once blind to, made to order with the
# evaluation's workload families (tests/programs/families.c, .py), and a
# fixed subset of the randomized evaluation (tests/eval-detect.sh; the
# whole runs in make eval-detect and make test-long):
#  - a site serving temporaries and retained objects, 2% of requests
#    evicting a random retained one (Python): LEAK, at the true rate;
#  - a leak starting at 11 s of a 20-s run: never PASS, the onset within
#    10% of the run; at 15 s of a 30-s run: LEAK since then;
#  - 4.7 MiB leaked over 1.8 s at a 50-ms interval: INCONCLUSIVE with what
#    would settle it, gate --strict fails; with that advice taken, LEAK.
. "$(dirname "$0")/lib.sh"
FAM=$PROG/families
PYFAM=$top/tests/programs/families.py
# Debian's interpreter where there is one (pyenv's python3 is a shell shim)
PY=$(for p in /usr/bin/python3.11 /usr/bin/python3; do [ -x $p ] && echo $p && break; done)
PY=${PY:-python3}

between() { # got lo hi description
	ok "$(awk -v g="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(g != "null" && g + 0 >= lo && g + 0 <= hi) }'; echo $?)" "$4"
}

# All made-to-order cases at once: they mostly sleep.
FAMILIES_RATE=2300000 FAMILIES_KEPT=0.3 FAMILIES_EVICT=0.02 \
	"$HC" run -q --interval 500ms --promote 1s -o hist.hct -- "$PY" "$PYFAM" py_history 5 30 2 2>hist.truth &
FAMILIES_RATE=6291456 FAMILIES_ONSET=11 "$HC" run -q -o late20.hct -- "$FAM" onset 1 20 2>late20.truth &
FAMILIES_RATE=2097152 FAMILIES_ONSET=15 "$HC" run -q -o late30.hct -- "$FAM" onset 2 30 2>late30.truth &
FAMILIES_RATE=2737000 "$HC" run -q --interval 50ms -o short.hct -- "$FAM" steady 1 1.8 2>short.truth
FAMILIES_RATE=2737000 "$HC" run -q --interval 50ms --promote 0.4s -o short2.hct -- "$FAM" steady 1 1.8 2>short2.truth
wait

# --- mixed lifetimes, Python --------------------------------------------------
# Time runs twice as fast: the horizon is halved too.
"$HC" report -f json --horizon 12h hist.hct >r.json
is "$(jget r.json .verdict)" leak "history with 2% evictions through one native stack: LEAK"
rate=$(jget r.json '[.sites[] | select(.verdict == "leak") | .growth_bytes_per_s] | add / 2 | floor')
diag "reported $rate B/s (virtual), true 2300000 B/s: $(jget r.json '[.sites[] | select(.verdict == "leak")][0].reason')"
between "$rate" 2070000 2530000 "its growth rate within 10% of the truth"

# --- late onsets ----------------------------------------------------------------
"$HC" report -f json late20.hct >r.json
v=$(jget r.json .verdict)
ok "$([ "$v" != pass ]; echo $?)" "onset at 11 s of 20 s: not PASS ($v: $(jget r.json '[.sites[] | select(.verdict != "none")][0].reason'))"
since=$(jget r.json '[.sites[] | select(.verdict != "none")][0].since_s')
between "$since" 9 13 "since ${since} s: within 2 s (10% of the run) of 11 s"
"$HC" report -f json late30.hct >r.json
is "$(jget r.json .verdict)" leak "onset at 15 s of 30 s: LEAK"
is "$(jget r.json '[.sites[] | select(.verdict == "leak")][0].frames[0].function')" fam_onset_alloc \
	"at its own site"
since=$(jget r.json '[.sites[] | select(.verdict == "leak")][0].since_s')
between "$since" 12 18 "since ${since} s: within 3 s (10% of the run) of 15 s"

# --- a short run --------------------------------------------------------------------
"$HC" report -f json short.hct >r.json
is "$(jget r.json .verdict)" inconclusive "4.7 MiB over 1.8 s at 50 ms: INCONCLUSIVE, not PASS"
why=$(jget r.json '[.sites[] | select(.verdict == "inconclusive")][0].reason')
diag "$why"
ok "$(echo "$why" | grep -q -- '--promote'; echo $?)" "the reason says what would settle it (--promote)"
"$HC" gate short.hct >/dev/null 2>&1
is "$?" 0 "gate: exit 0 (inconclusive is no leak)"
"$HC" gate --strict short.hct >/dev/null 2>&1
is "$?" 1 "gate --strict: exit 1"
"$HC" report -f json short2.hct >r.json
is "$(jget r.json .verdict)" leak "with --promote 0.4s as advised: LEAK"

# --- a fixed subset of the randomized evaluation ----------------------------------
# Every family once (27 cases), 15..40 s of virtual time at 4x, one seed;
# with HC_TEST_LONG (make test-long), the whole: 200 cases, 15 s to 3 min.
if [ -n "${HC_TEST_LONG:-}" ]; then
	set -- -n 200 -s "$(date +%s)"
else
	set -- -n 27 -s 20261204 -m 15 -M 40
fi
sh "$top/tests/eval-detect.sh" "$@" -j 12 -o "$TMP/eval" >eval.out 2>&1
rc=$?
while read -r line; do diag "$line"; done <eval.out
# on a failure, the families that failed go with the exit status (the
# summary of a full run shows only what an assertion got)
bad=$(awk '$2 == "leak" && $3 ~ /^[0-9]+$/ && $4 != $3 || $2 == "benign" && $4 > 0 { printf " [%s]", $0 }' eval.out)
is "$rc$bad" 0 "the evaluation's subset: no benign LEAK, no leak PASS, leaks LEAK on their own sites"

done_testing
