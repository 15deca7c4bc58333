#!/bin/sh
# The machine formats of `report`: folded stacks (flamegraph.pl, speedscope,
# inferno) and pprof's gzip'd profile.proto. A C workload with one leaking
# site (shapes steady: shape_steady_alloc) is traced for 20 s; the folded
# lines must add up to the JSON report's live bytes exactly and name the
# leaking stack with its figures, and the pprof profile, read back by an
# independent decoder (protoc with the published schema in
# tests/data/profile.proto), must say the same. Bad input exits 2, and pprof's
# binary never goes to a terminal.
. "$(dirname "$0")/lib.sh"
proto=$top/tests/data
pdecode() { # FILE.pb.gz: the profile as protoc's text format
	gunzip -c "$1" | protoc --proto_path="$proto" --decode perftools.profiles.Profile \
		"$proto/profile.proto"
}

HEAPCREEP_OUTPUT=$TMP/s.hct LD_PRELOAD="$LIB" "$PROG/shapes" steady 1 20
"$HC" report -f json s.hct >s.json
is "$?" 0 "json report of the leaking workload: exit 0"
is "$(jget s.json '.sites[0] | "\(.verdict) \(.frames[0].function) \(.stacks)"')" \
	"leak shape_steady_alloc 1" "its top site: the leak at shape_steady_alloc, one stack"
live=$(jget s.json .totals.live_bytes_end)
site_live=$(jget s.json '.sites[0].live_bytes_end')
site_stack=$(jget s.json '[.sites[0].frames[].function] | reverse | join(";")')

# --- folded -----------------------------------------------------------------

"$HC" report -f folded s.hct >s.folded
is "$?" 0 "folded: exit 0"
is "$(grep -cv '^[^ ;][^;]*\(;[^;]\{1,\}\)* [1-9][0-9]*$' s.folded)" 0 \
	"folded: every line is frames joined by ';', a space and a positive integer"
is "$(sed 's/ [0-9]*$//' s.folded | sort | uniq -d | wc -l)" 0 "folded: no stack twice (merged)"
is "$(awk '{ s += $NF } END { printf "%.0f", s }' s.folded)" "$live" \
	"folded: the values add up to totals.live_bytes_end ($live)"
line=$(grep ';shape_steady_alloc [0-9]*$' s.folded)
is "$(printf '%s\n' "$line" | wc -l)" 1 "folded: one line ends at shape_steady_alloc"
is "${line% *}" "$site_stack" "folded: its frames, outermost first, are the JSON's reversed"
is "${line##* }" "$site_live" "folded: its value is the site's live bytes ($site_live)"

"$HC" report -f folded --value retained s.hct | cmp -s - s.folded
ok $? "folded: --value retained is the default"
"$HC" report -f folded --value growth s.hct >g.folded
is "$?" 0 "folded --value growth: exit 0"
is "$(grep -cv ' [1-9][0-9]*$' g.folded)" 0 "folded growth: positive values only"
gline=$(grep ';shape_steady_alloc [0-9]*$' g.folded)
is "${gline% *}" "$site_stack" "folded growth: the leaking stack is there"
rate=$(jget s.json '.sites[0].growth_bytes_per_s')
# The JSON prints 6 significant digits: equal once both are rounded there.
ok "$(awk -v f="${gline##* }" -v j="$rate" 'BEGIN {
	d = f - j; if (d < 0) d = -d
	e = j > 0 ? int(log(j) / log(10)) : 0
	exit !(d <= 0.5 + 0.5 * 10 ^ (e - 5)) }'; echo $?)" \
	"folded growth: ${gline##* } bytes/s, the JSON's growth rounded ($rate)"

# --- pprof ------------------------------------------------------------------

"$HC" report -f pprof s.hct >s.pb.gz
is "$?" 0 "pprof to a pipe or file: exit 0"
is "$(od -An -tx1 -N3 s.pb.gz | tr -d ' ')" 1f8b08 "pprof: gzip magic, deflate"
"$HC" report -f pprof -o o.pb.gz s.hct
cmp -s s.pb.gz o.pb.gz
ok $? "pprof -o: the same bytes as on standard output"
pdecode s.pb.gz >s.txt 2>decode.err
rc=$?
is "$rc" 0 "protoc decodes it as perftools.profiles.Profile"
[ "$rc" -eq 0 ] || diag "$(head -c 500 decode.err)"
is "$(wc -c <decode.err)" 0 "without a warning"

# protoc's text format into a summary, by a few lines of Python.
cat >summary.py <<'EOF'
import json, sys

def value(v):
    if v.startswith('"'):  # C escapes, \ooo for each byte that is not ASCII
        return v[1:-1].encode('latin-1').decode('unicode_escape').encode('latin-1').decode('utf-8')
    if v in ('true', 'false'):
        return v == 'true'
    return int(v)

root = {}
stack = [root]
for ln in open(sys.argv[1]):
    ln = ln.strip()
    if ln.endswith('{'):
        d = {}
        stack[-1].setdefault(ln[:-1].strip(), []).append(d)
        stack.append(d)
    elif ln == '}':
        stack.pop()
    elif ln:
        k, v = ln.split(':', 1)
        stack[-1].setdefault(k, []).append(value(v.strip()))

one = lambda m, k, d=0: m.get(k, [d])[0]
st = root['string_table']
s = lambda i: st[i] if 0 <= i < len(st) else None
funcs = {one(f, 'id'): f for f in root.get('function', [])}
maps = {one(m, 'id'): m for m in root.get('mapping', [])}
locs = {one(l, 'id'): l for l in root.get('location', [])}
samples = root.get('sample', [])
bad = []
for l in locs.values():
    m = maps.get(one(l, 'mapping_id'))
    if one(l, 'mapping_id') and not m:
        bad.append('location %d: no mapping' % one(l, 'id'))
    elif m and not one(m, 'memory_start') <= one(l, 'address') < one(m, 'memory_limit'):
        bad.append('location %d: address outside its mapping' % one(l, 'id'))
    for ln in l.get('line', []):
        f = funcs.get(one(ln, 'function_id'))
        if not f or s(one(f, 'name')) is None or s(one(f, 'filename')) is None:
            bad.append('location %d: bad function' % one(l, 'id'))
for x in samples:
    if len(x.get('value', [])) != 3 or any(i not in locs for i in x.get('location_id', [])):
        bad.append('a sample with bad values or locations')

def names(loc_id):  # the location's functions, innermost first
    return [s(one(funcs[one(ln, 'function_id')], 'name')) for ln in locs[loc_id].get('line', [])]

def stack_of(x):  # outermost first, as folded prints it
    out = []
    for i in reversed(x['location_id']):
        out += reversed(names(i))
    return ';'.join(out)

top = max(samples, key=lambda x: x['value'][2])
labels = {s(one(b, 'key')): s(one(b, 'str')) for b in top.get('label', [])}
m0 = root['mapping'][0]
print(json.dumps({
    'string0': st[0],
    'types': ' '.join('%s/%s' % (s(one(t, 'type')), s(one(t, 'unit'))) for t in root['sample_type']),
    'default': s(one(root, 'default_sample_type')),
    'retained': sum(x['value'][0] for x in samples),
    'objects': sum(x['value'][1] for x in samples),
    'top': {'leaf': names(top['location_id'][0])[0], 'values': top['value'],
            'stack': stack_of(top), 'verdict': labels.get('verdict')},
    'mapping0': {'file': s(one(m0, 'filename')), 'build_id': s(one(m0, 'build_id')),
                 'has_functions': one(m0, 'has_functions', False)},
    'comments': [s(i) for i in root.get('comment', [])],
    'bad': bad,
    'samples': [{'values': x['value'], 'stack': stack_of(x),
                 'leaf': ['%s:%d' % (s(one(funcs[one(ln, 'function_id')], 'name')), one(ln, 'line'))
                          for ln in locs[x['location_id'][0]].get('line', [])]}
                for x in samples],
}))
EOF
python3 summary.py s.txt >pp.json
is "$?" 0 "pprof: the decoded profile summarized"
is "$(jget pp.json .string0)" "" "pprof: string_table[0] is the empty string"
is "$(jget pp.json .types)" "retained_space/bytes retained_objects/count growth_rate/bytes_per_second" \
	"pprof: the three sample types"
is "$(jget pp.json .default)" retained_space "pprof: default_sample_type retained_space"
is "$(jget pp.json .retained)" "$live" "pprof: retained_space adds up to totals.live_bytes_end"
is "$(jget pp.json .objects)" "$(jget s.json .totals.live_blocks_end)" \
	"pprof: retained_objects adds up to totals.live_blocks_end"
is "$(jget pp.json .top.leaf)" shape_steady_alloc \
	"pprof: the fastest-growing sample's leaf location resolves to shape_steady_alloc"
is "$(jget pp.json .top.stack)" "$site_stack" "pprof: its whole stack is the folded one"
is "$(jget pp.json '.top.values | "\(.[0]) \(.[2])"')" "$site_live ${gline##* }" \
	"pprof: its retained_space and growth_rate are the folded figures"
is "$(jget pp.json .top.verdict)" leak "pprof: labelled verdict=leak"
is "$(jget pp.json '.bad | join(", ")')" "" \
	"pprof: every location has its mapping and functions, every sample 3 values"
is "$(jget pp.json .mapping0.file)" "$PROG/shapes" "pprof: mapping[0] is the main binary"
is "$(jget pp.json .mapping0.build_id)" \
	"$(readelf -n "$PROG/shapes" | sed -n 's/^ *Build ID: //p')" \
	"pprof: with its build-id in hex, as readelf reads it"
is "$(jget pp.json .mapping0.has_functions)" true "pprof: symbolized: has_functions"
is "$(jget pp.json '.comments[0]')" "heapcreep report for s.hct" "pprof: the comments say what"

# Inlined frames, and sites too small to be tracked (JSON lists no site):
# symbols keeps 4006 bytes from make_buffer(), inlined into fill_slot(), and
# 777 from direct_alloc().
HEAPCREEP_OUTPUT=$TMP/sym.hct LD_PRELOAD="$LIB" "$PROG/symbols"
"$HC" report -f folded sym.hct >sym.folded
is "$(sed 's/^.*;main;/main;/' sym.folded)" \
	"main;direct_alloc 777
main;fill_slot;make_buffer 4006" "folded: untracked sites too, the inlined function after its caller"
is "$(awk '{ s += $NF } END { printf "%.0f", s }' sym.folded)" \
	"$("$HC" report -f json sym.hct | jq .totals.live_bytes_end)" "folded: adding up to totals.live_bytes_end"
"$HC" report -f pprof sym.hct | gunzip | protoc --proto_path="$proto" \
	--decode perftools.profiles.Profile "$proto/profile.proto" >sym.txt &&
	python3 summary.py sym.txt >sym.json
is "$?" 0 "pprof of the same: decoded"
src=$top/tests/programs/symbols.c
# main's loop may be unrolled: up to four stacks, which folded merges.
jq -c '[.samples[] | select(.leaf[0] | startswith("make_buffer:"))] |
	[(map(.leaf | join(" ")) | unique), (map(.stack) | unique), (map(.values[0]) | add)]' \
	sym.json >mb.json
is "$(jq -r '.[0] | join(",")' mb.json)" \
	"make_buffer:$(grep -n @inline-malloc "$src" | cut -d: -f1) fill_slot:$(grep -n @call-make-buffer "$src" | cut -d: -f1)" \
	"pprof: the leaf is one location, two lines: the inlined make_buffer first, then fill_slot"
is "$(jq -r '"\(.[1] | join(",")) \(.[2])"' mb.json)" "$(grep ';make_buffer ' sym.folded)" \
	"pprof: the stack and the bytes the folded line shows"

# Frames without symbols: a copy of the program, removed before the report.
cp "$PROG/shapes" gone-shapes
HEAPCREEP_OUTPUT=$TMP/u.hct LD_PRELOAD="$LIB" ./gone-shapes steady 1 3
rm gone-shapes
"$HC" report -f folded u.hct >u.folded
is "$(grep -c ';\[unknown\] gone-shapes+0x[0-9a-f]* [0-9]*$' u.folded)" \
	"$(grep -c . u.folded)" "folded, no symbols: each stack ends in '[unknown] gone-shapes+0xOFFSET'"
"$HC" report -f pprof -o u.pb.gz u.hct && pdecode u.pb.gz >u.txt
is "$?" 0 "pprof, no symbols: decodes"
is "$(awk '/^mapping \{/ { n++ } n == 1 && /has_functions/' u.txt)" "" \
	"pprof, no symbols: the program's mapping (the first) does not claim functions"
is "$(awk '/^location \{/ { l = 1; n = 0 } l && /^  line \{/ { n++ } /^}/ && l { if (!n) c++; l = 0 } END { print (c > 0) }' u.txt)" 1 \
	"pprof, no symbols: its locations have no lines, for pprof to symbolize"

# --- bad input and usage ----------------------------------------------------

size=$(stat -c %s s.hct)
cp s.hct bad.hct
flip_byte bad.hct $((size / 2))
"$HC" report -f pprof bad.hct >bad.pb.gz 2>bad.err
is "$?" 2 "pprof on a corrupt trace: exit 2"
grep -q "^heapcreep: 'bad.hct': corrupt chunk at byte offset [0-9]*" bad.err
ok $? "naming the byte offset ($(head -n 1 bad.err))"
"$HC" report -f folded bad.hct >/dev/null 2>&1
is "$?" 2 "folded on a corrupt trace: exit 2"
"$HC" report -f pprof /nonexistent.hct >/dev/null 2>&1
is "$?" 2 "pprof on a missing file: exit 2"

# Standard output on a terminal: refused before any work, nothing written.
tty_run() { # args...: "exit status|bytes the terminal got|stderr"
	python3 - "$HC" "$@" <<'EOF'
import os, pty, subprocess, sys
m, s = pty.openpty()
r = subprocess.run(sys.argv[1:], stdout=s, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
os.close(s)
os.set_blocking(m, False)
try:
    got = os.read(m, 65536)
except OSError:
    got = b''
print('%d|%d|%s' % (r.returncode, len(got), r.stderr.decode().strip()))
EOF
}
is "$(tty_run report -f pprof s.hct)" \
	"2|0|heapcreep: report: pprof output is gzip'd binary: give -o FILE or redirect standard output" \
	"pprof to a terminal without -o: refused, exit 2"
is "$(tty_run report -f pprof -o tty.pb.gz s.hct)" "0|0|" "pprof to a terminal with -o: written to the file"
cmp -s tty.pb.gz s.pb.gz
ok $? "the same profile"
is "$(tty_run report -f folded s.hct | cut -d'|' -f1)" 0 "folded to a terminal: fine (text)"

"$HC" report -f json --value growth s.hct >/dev/null 2>err
is "$?" 2 "--value with -f json: exit 2"
is "$(head -n 1 err)" "heapcreep: report: --value 'growth' is for -f folded only" "saying why"
"$HC" report -f folded --value peak s.hct >/dev/null 2>err
is "$?" 2 "--value peak: exit 2"
is "$(head -n 1 err)" "heapcreep: report: unknown --value 'peak' (retained, growth)" "saying why"
"$HC" report -f svg s.hct >/dev/null 2>err
is "$?" 2 "an unknown format: exit 2"
grep -q "^heapcreep: report: unknown format 'svg' (text, json, .*folded, pprof)$" err
ok $? "listing folded and pprof ($(head -n 1 err))"

# The sanitized analyzer (make test builds it) writes the same bytes, and
# reads the trace cut at 30 offsets with exit 0 or 2, never a sanitizer's 99.
SANCLI=${HC_TEST_SAN_BUILD:-/nonexistent}/libexec/heapcreep/heapcreep-cli
if [ -x "$SANCLI" ]; then
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
	export UBSAN_OPTIONS=halt_on_error=1:exitcode=99
	"$SANCLI" report -f pprof s.hct >san.pb.gz && cmp -s san.pb.gz s.pb.gz
	ok $? "sanitized: the same pprof profile"
	"$SANCLI" report -f folded --value growth s.hct | cmp -s - g.folded
	ok $? "sanitized: the same folded growth"
	bad=0
	i=1
	while [ $i -le 30 ]; do
		head -c $((i * size / 31)) s.hct >cut.hct
		for f in folded pprof; do
			"$SANCLI" report -f $f cut.hct >/dev/null 2>err
			rc=$?
			[ $rc -eq 0 ] || [ $rc -eq 2 ] ||
				{ bad=$((bad + 1)); diag "cut $i, $f: exit $rc: $(head -c 300 err)"; }
		done
		i=$((i + 1))
	done
	is "$bad" 0 "sanitized: 30 truncations, folded and pprof: exit 0 or 2"
else
	skip "sanitized analyzer" "not built (make test builds it)"
fi

done_testing
