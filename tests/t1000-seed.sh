#!/bin/sh
# The seed scenario (../shared/seed/imagecache.txt), scaled down: an
# lru_cache on a method pins every ImageCache and its 1 MiB buffer; an upload
# every 0.25 s, 80 uploads (the 256-entry cache never fills). heapcreep must
# call it a LEAK at the bytearray buffer's allocation, growing about 4 MiB/s,
# although all of it is freed at interpreter shutdown; the seed's fix (a
# per-instance cache, freed by the cycle collector in a sawtooth) must pass.
. "$(dirname "$0")/lib.sh"
seed=$top/tests/seed

# Both at once: each mostly sleeps.
"$HC" run -q -o leak.hct -- python3 "$seed/imagecache_leak.py" 80 0.25 &
"$HC" run -q -o fixed.hct -- python3 "$seed/imagecache_fixed.py" 80 0.25
wait

"$HC" report -f json leak.hct >leak.json
is "$?" 0 "report on the leaking run exits 0"
is "$(jget leak.json .verdict)" leak "leaking run: verdict leak"
is "$(jget leak.json '.sites[0].verdict')" leak "its top site is a LEAK"
# Python frames: the site is the line that made the buffer, then its callers.
bline=$(grep -n 'self.buffer = bytearray(size)' "$seed/imagecache_leak.py" | cut -d: -f1)
is "$(jget leak.json '[.sites[0].frames[] | select(.kind == "python") | .function] | join(" <- ")')" \
	"ImageCache.__init__ <- process_uploads <- main <- <module>" \
	"the top site is the bytearray buffer's line and its callers, in Python"
is "$(jget leak.json '.sites[0].frames[0] | "\(.kind) \(.file | split("/") | last):\(.line)"')" \
	"python imagecache_leak.py:$bline" "its first frame is imagecache_leak.py:$bline, self.buffer = bytearray(size)"
is "$(jget leak.json '.trace.python.every_object_traced')" true \
	"heapcreep run made every Python object visible (PYTHONMALLOC=$(jget leak.json .trace.python.pythonmalloc))"
rate=$(jget leak.json '.sites[0].growth_bytes_per_s')
is "$(jget leak.json '.sites[0].growth_bytes_per_s / 4194304 | . > 0.9 and . < 1.1')" true \
	"growth about 4 MiB/s ($rate bytes/s)"
is "$(jget leak.json '.totals.unfreed_at_end_bytes < 4194304')" true \
	"yet almost nothing is unfreed at exit ($(jget leak.json .totals.unfreed_at_end_bytes) bytes): the leak is invisible there"
is "$(jget leak.json '.trace.teardown.freed_bytes > 75000000')" true \
	"teardown found: $(jget leak.json .trace.teardown.freed_bytes) bytes freed from $(jget leak.json .trace.teardown.start_s) s"

"$HC" report -f json fixed.hct >fixed.json
is "$(jget fixed.json .verdict)" pass "the seed's fix (a sawtooth): verdict pass"
is "$(jget fixed.json '[.sites[] | select(.verdict == "leak")] | length')" 0 "no site called a leak"

# Time to limit. In-sample: with a limit the run crossed (RSS 60 MiB), the
# estimate must fall near the time RSS really crossed it; out of sample
# (1 GiB), near what the growth rate says.
# The program's own RSS: less the shim's memory, which the estimate leaves out.
"$HC" dump leak.hct | sed -n 's/^SNAPSHOT ts=\([0-9.]*\) rss=\([0-9]*\) .* shim_bytes=\([0-9]*\).*/\1 \2 \3/p' |
	awk '{ print $1, $2 - $3 }' >rss.txt
crossed=$(awk '$2 >= 62914560 { print $1; exit }' rss.txt)
"$HC" report -f json --limit 60M leak.hct >lim.json
ttl=$(jget lim.json .time_to_limit_s)
ok "$(awk -v a="$ttl" -v b="$crossed" 'BEGIN { d = a - b; exit !(d < 2 && d > -2) }'; echo $?)" \
	"--limit 60M: reached at $ttl s by the estimate, RSS crossed it at $crossed s"
"$HC" report -f json --limit 1G leak.hct >lim2.json
expect=$(jq -r --argjson rss "$(tail -n 1 rss.txt | awk '{print $2}')" \
	'.trace.analysis_end_s + (1073741824 - $rss) / .sites[0].growth_bytes_per_s' lim2.json)
ttl=$(jget lim2.json .time_to_limit_s)
ok "$(awk -v a="$ttl" -v b="$expect" 'BEGIN { exit !(a > 0.9 * b && a < 1.1 * b) }'; echo $?)" \
	"--limit 1G: about $ttl s after start, as the growth from the last RSS says ($expect s)"
is "$(jget lim2.json '.time_to_limit_interval_s | length')" 2 "with an interval"
"$HC" report --limit 1G leak.hct >lim2.txt
grep -q "limit 1.0 GiB reached at about" lim2.txt
ok $? "the text report says when the limit is reached"

# gate: exit status, one line per finding, JUnit XML.
"$HC" gate --junit leak.xml leak.hct 2>gate.err
is "$?" 1 "gate on the leak: exit 1"
nleak=$(jget leak.json '[.sites[] | select(.verdict == "leak")] | length')
nfind=$(jget leak.json '[.sites[] | select(.verdict != "none")] | length')
is "$(grep -c '^heapcreep: LEAK: ' gate.err)" "$nleak" "one LEAK line on stderr per leaking site ($nleak)"
grep '^heapcreep: LEAK: ' gate.err | head -n 1 | grep -q 'ImageCache.__init__'
ok $? "the first names ImageCache.__init__: $(head -n 1 gate.err)"
"$HC" gate --junit fixed.xml fixed.hct 2>gate2.err
is "$?" 0 "gate on the fix: exit 0"
is "$(python3 -c 'import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot(); cases = r.findall(".//testcase")
print(len(cases), len(r.findall(".//failure")), len(r.findall(".//skipped")), cases[0].find("failure").get("type"))' leak.xml)" \
	"$nfind $nleak $((nfind - nleak)) leak" \
	"JUnit XML for the leak: well-formed, a testcase per finding ($nfind), failing for each leak ($nleak), skipped for the rest, the first a leak"
is "$(python3 -c 'import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot(); print(len(r.findall(".//testcase")), len(r.findall(".//failure")))' fixed.xml)" "1 0" \
	"JUnit XML for the fix: one passing testcase"

done_testing
