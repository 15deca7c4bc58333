#!/bin/sh
# diff and gate --baseline: sites are matched across runs by their symbols
# (never addresses), and each is new, faster, same, slower or fixed. The
# seed's leak is a new site against its fix (and fixed the other way); two
# steady leaks at different rates are one site, faster or slower; gate
# --baseline passes growth the baseline already had and fails new or faster
# growth; soak --baseline too. Every workload runs at once (they mostly
# sleep): about 25 s.
. "$(dirname "$0")/lib.sh"
seed=$top/tests/seed
shape() { # name seed trace
	HEAPCREEP_OUTPUT=$TMP/$3 LD_PRELOAD="$LIB" "$PROG/shapes" "$1" "$2" 20
}

# A copy of shapes.c three lines lower, built elsewhere: a rebuild whose
# lines moved (its sites match by function names).
{ printf '/*\n * moved\n */\n'; cat "$top/tests/programs/shapes.c"; } >moved.c
${CC:-cc} -std=gnu11 -O1 -g -fomit-frame-pointer -o moved moved.c 2>cc.err
moved_built=$?

# Steady-leak rates per seed (KiB/s): 1: 34.9, 2: 35.0, 7: 20.3.
"$HC" run -q -o leak.hct -- python3 "$seed/imagecache_leak.py" 80 0.25 &
"$HC" run -q -o fixed.hct -- python3 "$seed/imagecache_fixed.py" 80 0.25 &
shape steady 1 steady1.hct &
shape steady 2 steady2.hct &
shape steady 7 steady7.hct &
shape churn 1 churn.hct &
shape slow 1 slow.hct &
[ $moved_built -eq 0 ] && HEAPCREEP_OUTPUT=$TMP/moved.hct LD_PRELOAD="$LIB" ./moved steady 2 20 &
# The baseline (steady2.hct) is written at 20 s, before the soak ends.
"$HC" soak --duration 23s -o soaked.hct --baseline "$TMP/steady2.hct" -- "$PROG/shapes" steady 1 600 \
	2>soak.err
soak_rc=$?
wait

# The seed: the bytearray buffers are a new site against the fix.
"$HC" diff -f json fixed.hct leak.hct >seed.json
is "$?" 0 "diff fixed.hct leak.hct: exit 0"
# Every Python object is traced: the cache's thumbnails and entries are new
# growing sites too, the buffers the fastest.
is "$(jq -r '.counts | "\(.new >= 1) \(.faster) \(.fixed)"' seed.json)" "true 0 0" \
	"new sites ($(jget seed.json .counts.new)), none faster or fixed"
is "$(jq -r '.sites[0] | "\(.change) \(.new.verdict) \(.base.verdict // "absent")"' seed.json)" "new leak none" \
	"worst first: the leak, new (present but not growing in the fix)"
is "$(jq -r '[.sites[0].frames[] | select(.kind == "python") | .function] | join(" < ")' seed.json)" \
	"ImageCache.__init__ < process_uploads < main < <module>" \
	"its frames are the bytearray buffer's line and its callers, in Python"
is "$(jget seed.json .worse)" true "worse: true"
"$HC" diff fixed.hct leak.hct >seed.txt
grep -q '^new .* LEAK ' seed.txt
ok $? "text: the new site's row"
is "$(awk 'length($0) > 80' seed.txt | wc -l)" 0 "text fits 80 columns"
"$HC" diff -f json leak.hct fixed.hct >rev.json
is "$(jq -r '.counts | "\(.new) \(.faster) \(.fixed >= 1)"' rev.json)" "0 0 true" \
	"the other way: fixed sites ($(jget rev.json .counts.fixed))"
is "$(jq -r '[.sites[] | select(.change == "fixed") | select(.frames[0].function == "ImageCache.__init__")] | length' rev.json)" 1 \
	"the bytearray buffer's line is among them"
is "$(jget rev.json .worse)" false "worse: false"

# Two steady leaks at different rates: one site, matched by symbols (ASLR
# moved the addresses), faster one way and slower the other.
site() { # json: the change, match and verdicts of the shape_steady_alloc site
	jq -r '[.sites[] | select(.frames[0].function == "shape_steady_alloc")] |
		map("\(.change) \(.match) \(.base.verdict // "absent") \(.new.verdict // "absent")") | join(",")' "$1"
}
"$HC" diff -f json steady7.hct steady1.hct >faster.json
is "$(site faster.json)" "faster symbols leak leak" \
	"20 KiB/s, then 35 KiB/s: one site, faster ($(jq -r '[.sites[0].base.growth_bytes_per_s, .sites[0].new.growth_bytes_per_s] | map(floor) | join(" -> ")' faster.json) B/s)"
is "$(jq -r '.counts.new' faster.json)" 0 "not new"
"$HC" diff -f json steady1.hct steady7.hct >slower.json
is "$(site slower.json)" "slower symbols leak leak" "the other way: slower"
"$HC" diff -f json steady2.hct steady1.hct >same.json
is "$(site same.json)" "same symbols leak leak" "35 KiB/s in both (seeds 1 and 2): same"
is "$(jq -r '.counts | "\(.new) \(.faster) \(.slower) \(.fixed)"' same.json)" "0 0 0 0" "nothing new, faster, slower or fixed"
if [ $moved_built -eq 0 ]; then
	"$HC" diff -f json steady1.hct moved.hct >moved.json
	is "$(site moved.json)" "same functions leak leak" \
		"a rebuild with the lines moved: matched by function names ($(jq -r '.sites[0].frames[0] | "\(.file | sub(".*/"; "")):\(.line)"' moved.json))"
else
	skip "a rebuild with the lines moved" "cannot build it: $(head -n 1 cc.err)"
fi

# The JSON has the documented fields.
jq -e '
	(keys - ["heapcreep_diff", "worse", "base", "new", "settings", "counts", "sites"] == []) and
	.heapcreep_diff == 1 and
	(.base | has("path") and has("verdict") and has("reason") and has("complete") and
		has("duration_s") and has("analysis_end_s") and has("findings")) and
	(.settings | has("budget_bytes") and has("horizon_s") and has("min_change_bytes_per_s") and
		has("faster_ratio")) and
	(.counts | keys == ["faster", "fixed", "new", "same", "slower"]) and
	(.sites | length > 0) and
	all(.sites[]; has("change") and has("match") and has("growth_change_bytes_per_s") and
		has("live_change_bytes") and has("depth") and has("base") and has("new") and
		(.frames | length > 0) and
		all(.frames[]; has("function") and has("file") and has("line") and has("module") and
			has("offset") and has("inlined"))) and
	(.sites[0].new | has("verdict") and has("growth_bytes_per_s") and
		(.growth_interval_bytes_per_s | length == 2) and has("live_bytes_end") and
		has("since_s") and has("nodes") and has("reason"))
' faster.json >/dev/null
ok $? "diff -f json: the documented fields"

# gate --baseline.
"$HC" gate steady1.hct 2>/dev/null
is "$?" 1 "gate on a steady leak: exit 1"
"$HC" gate --baseline steady2.hct steady1.hct 2>known.err
is "$?" 0 "gate --baseline, the same leak at a similar rate in the baseline: exit 0"
grep -q "^heapcreep: LEAK: .* at shape_steady_alloc .*: known, +3[0-9.]* KiB/s in the baseline 'steady2.hct'" known.err
ok $? "one line says it is known: $(head -n 1 known.err)"
"$HC" gate --baseline churn.hct slow.hct 2>new.err
is "$?" 1 "gate --baseline, a leak at a site the baseline does not have: exit 1"
grep -q "^heapcreep: LEAK: .* at shape_slow_alloc .*: new, not in the baseline 'churn.hct'" new.err
ok $? "its line says new: $(head -n 1 new.err)"
"$HC" gate --baseline steady7.hct steady1.hct 2>faster.err
is "$?" 1 "gate --baseline, the leak grows faster than in the baseline: exit 1"
grep -q ": faster, +20.[0-9] KiB/s in the baseline" faster.err
ok $? "its line says faster: $(head -n 1 faster.err)"
"$HC" gate --baseline fixed.hct --junit seed.xml leak.hct 2>/dev/null
is "$?" 1 "gate --baseline on the seed: new growth, exit 1"
"$HC" gate --baseline steady2.hct --junit known.xml steady1.hct 2>/dev/null
is "$(python3 -c 'import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot(); print(len(r.findall(".//testcase")), len(r.findall(".//failure")), len(r.findall(".//skipped")))' known.xml)" \
	"1 0 1" "JUnit XML: the known leak's testcase is skipped, not failed"
is "$soak_rc" 0 "soak --baseline on a steady leak the baseline has: exit 0"
grep -q ": known, .* in the baseline" soak.err
ok $? "and says it is known"

# Bad input and usage: 2, naming the file and byte offset.
"$HC" diff steady1.hct 2>/dev/null
is "$?" 2 "diff with one trace: usage, exit 2"
"$HC" diff -f yaml steady1.hct steady2.hct 2>/dev/null
is "$?" 2 "diff -f yaml: exit 2"
"$HC" diff steady1.hct /nonexistent.hct 2>err
is "$?" 2 "diff with a missing trace: exit 2"
size=$(stat -c %s steady1.hct)
cp steady1.hct bad.hct
flip_byte bad.hct $((size / 2))
"$HC" diff bad.hct steady2.hct >/dev/null 2>err
is "$?" 2 "diff with a corrupt base: exit 2"
grep -q "^heapcreep: 'bad.hct': .*byte offset [0-9]" err
ok $? "naming the file and byte offset: $(head -n 1 err)"
"$HC" diff steady2.hct bad.hct >/dev/null 2>err
is "$?" 2 "diff with a corrupt new trace: exit 2"
"$HC" gate --baseline bad.hct steady1.hct 2>err
is "$?" 2 "gate --baseline with a corrupt baseline: exit 2"
grep -q "'bad.hct': .*byte offset" err
ok $? "naming it"

done_testing
