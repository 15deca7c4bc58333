#!/bin/sh
# Sites by Python line: a service whose retained records and temporary
# replies are built by the same function is a LEAK on the retaining caller's
# line, never on the replies'; a registry of small dicts (under pymalloc's
# 512 bytes) is a LEAK on its line as heapcreep run traces it (every object
# through malloc), and with pymalloc kept it is a LEAK there too: of
# pymalloc's arenas, traced as anonymous mappings.
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$top" && pwd -P)/tests/programs
py=/usr/bin/python3
[ -x "$py" ] || { skip "Python sites" "no /usr/bin/python3"; done_testing; }
line_of() { grep -n -- "$2" "$SRC/$1" | head -n 1 | cut -d: -f1; } # FILE TEXT

# All three at once: each mostly sleeps.
"$HC" run -q -o svc.hct -- "$py" "$SRC/pyservice.py" 20 >svc.out &
"$HC" run -q -o small.hct -- "$py" "$SRC/pysmall.py" 20 >small.out &
"$HC" run -q --pymalloc -o smallp.hct -- "$py" "$SRC/pysmall.py" 20 >smallp.out
wait

"$HC" report -f json svc.hct >svc.json
keep=$(line_of pyservice.py 'HISTORY.append(build')
temp=$(line_of pyservice.py 'reply = build(')
built=$(line_of pyservice.py 'return {"kind"')
is "$(jget svc.json '.sites[0] | "\(.verdict) \(.frames[0].function):\(.frames[0].line) \(.frames[1].function):\(.frames[1].line)"')" \
	"leak build:$built handle:$keep" "service: a LEAK where build() is called to keep (line $keep)"
is "$(jget svc.json "[.sites[] | select(.verdict != \"none\") | select(any(.frames[]; .function == \"handle\" and .line == $temp))] | length")" 0 \
	"no finding on the replies' line ($temp), though the same line of build() makes them"
is "$(jget svc.json '.sites[0].growth_bytes_per_s / 200000 | . > 0.8 and . < 1.25')" true \
	"at the rate the records are kept ($(jget svc.json .sites[0].growth_bytes_per_s) B/s, about 200 KB/s)"

"$HC" report -f json small.hct >small.json
reg=$(line_of pysmall.py 'REGISTRY\[i\] = ')
# (not a leak: its reason goes with what the assertion got; a loaded run
# judged it INCONCLUSIVE once)
is "$(jget small.json '.sites[0] | "\(.verdict) \(.frames[0].function):\(.frames[0].line)" + if .verdict != "leak" then " [\(.reason); \(.live_bytes_end) B live]" else "" end')" "leak register:$reg" \
	"small dicts, every object traced: a LEAK on the registry's line ($reg)"

"$HC" report -f json smallp.hct >smallp.json
is "$(jget smallp.json '.sites[0] | "\(.verdict) \(.frames[0].kind) \(.frames[1].function):\(.frames[1].line)"')" \
	"leak mmap register:$reg" \
	"small dicts, pymalloc kept: a LEAK of pymalloc's arenas (anonymous mappings) on the registry's line"
is "$(jget smallp.json '.sites[0].growth_bytes_per_s / .sites[0].live_bytes_end * 20 | . > 0.8 and . < 1.25')" true \
	"growing all along ($(jget smallp.json .sites[0].growth_bytes_per_s) B/s, $(jget smallp.json .sites[0].live_bytes_end) B live at the end)"
is "$(jget smallp.json '.trace.python.every_object_traced')" false "it says pymalloc was kept"

# A run too short to judge lists its largest sites; a Python line whose
# blocks come through two C paths (a bytearray's object and its buffer) is
# one site of two stacks that share all of its frames, and is listed.
cat >short.py <<'PY'
import time
KEPT = []
def grow():
    KEPT.append(bytearray(10000))
for _ in range(300):
    grow()
time.sleep(1.5)
PY
"$HC" run -q -o short.hct -- "$py" short.py
"$HC" report -f json short.hct >short.json
is "$(jget short.json '"\(.verdict) \(.sites[0] | "\(.verdict) \(.frames[0].function):\(.frames[0].line) \(.frames[1].function):\(.frames[1].line) \(.stacks) \(.allocations) \(.live_bytes_end)")"')" \
	"inconclusive none grow:4 <module>:6 2 600 3017100" \
	"too short to judge: the largest site listed, grow:4 (two stacks: 300 objects and their 10 000-byte buffers)"
"$HC" report short.hct | grep -A 1 '^  2.9 MiB (peak 2.9 MiB)$' | grep -q '^      grow  .*short.py:4  \[py\]$'
ok $? "text: listed first, at grow's line"

done_testing
