#!/bin/sh
# The HTML report of the seed scenario, rendered in headless Chromium: one
# self-contained file (no network reference), every string from the trace
# escaped, and every chart drawn: the page's own self-check measures each
# SVG and the length of each series and writes the result into
# #hc-selfcheck, read back with --dump-dom. A screenshot is kept in
# $HC_TEST_BUILD/artifacts/report-seed.png. Without Chromium (a dev box),
# the browser checks are skipped; CI installs it (scripts/install-deps test).
. "$(dirname "$0")/lib.sh"

# As root, without a sandbox; without the background-networking flags it
# tries to reach the network, which may be closed.
browser() { # out-of-band: stderr to browser.err
	timeout 120 "$browser_cmd" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--hide-scrollbars --user-data-dir="$(mktemp -d "$TMP/profile.XXXXXX")" "$@" \
		2>>browser.err
}

"$HC" run -q -o leak.hct -- python3 "$top/tests/seed/imagecache_leak.py" 80 0.25
"$HC" report -f html --limit 2G -o report.html leak.hct
is "$?" 0 "report -f html -o report.html exits 0"
is "$(head -c 15 report.html)" "<!DOCTYPE html>" "it is an HTML document"
"$HC" report -f html --limit 2G leak.hct >stdout.html
cmp -s report.html stdout.html
ok $? "without -o the same page goes to standard output"

# What a manager reads first.
sentence=$(sed -n 's/.*<p class="sentence">\([^<]*\)<\/p>.*/\1/p' report.html)
diag "$sentence"
# Every Python object traced: the buffers, and the thumbnails and entries
# the cache keeps too (a few KiB/s).
echo "$sentence" | grep -Eq '^Memory leak: ([0-9]+ allocation sites keep growing, together by (3\.[89]|4\.[0-2]) MiB per second \(the fastest by (3\.[89]|4\.[01]) MiB per second\)|one allocation site keeps growing by (3\.[89]|4\.[01]) MiB per second) since the start; at that rate the 2\.0 GiB limit is reached about [0-9.]+ minutes after start'
ok $? "the verdict and the time to limit in one sentence"
grep -q '<span class="fn">ImageCache.__init__</span> <span class="tag py">py</span>' report.html
ok $? "the growing site's Python frame is in the page, marked"

# Self-contained: no resource outside the file. URLs may appear only as
# text; no attribute or style loads anything.
is "$(grep -Eio '(src|href|srcset|action|poster|data)[[:space:]]*=[[:space:]]*["'\'']?[[:space:]]*(https?:|//|file:)' report.html | wc -l)" 0 \
	"no src=/href= to the network"
is "$(grep -Eio '(url\(|@import)[[:space:]]*["'\'']?[[:space:]]*(https?:|//)' report.html | wc -l)" 0 \
	"no url() or @import to the network in the styles"
is "$(grep -Eic '<(link|img|iframe|object|embed|audio|video|source)[[:space:]>]' report.html)" 0 \
	"no element that loads a resource"
is "$(grep -Eic '<script[^>]*src' report.html)" 0 "scripts are inline"
grep -q "http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'" report.html
ok $? "a Content-Security-Policy forbids loading anything"

# Strings from the trace are escaped: a command line with markup in it.
"$HC" run -q -o markup.hct -- python3 -c pass '<script>alert(1)</script>' 'a&b "q" '"'"'s'"'" 2>/dev/null
"$HC" report -f html -o markup.html markup.hct
grep -q '&lt;script&gt;alert(1)&lt;/script&gt; a&amp;b &quot;q&quot; &apos;s&apos;' markup.html
ok $? "the command line is HTML-escaped"
is "$(grep -c '<script>alert' markup.html)" 0 "no markup from the trace reaches the page"

# Rendered: the self-check lines, one per chart.
browser_cmd=
for c in ${CHROMIUM:-chromium chromium-browser}; do
	command -v "$c" >/dev/null 2>&1 && browser_cmd=$c && break
done
if [ -z "$browser_cmd" ]; then
	skip "the page rendered in headless Chromium" "chromium is not installed (apt-get install chromium)"
	done_testing
fi
browser --dump-dom "file://$TMP/report.html" >dom.html
is "$?" 0 "chromium renders the page (--dump-dom)"
sed -n '/id="hc-selfcheck"/,/<\/pre>/p' dom.html | sed 's/<[^>]*>//g' >check.txt
while read -r line; do diag "$line"; done <check.txt
grep -q '^selfcheck ok charts [0-9]' check.txt
ok $? "every chart has a size and every series is drawn"
grep -q '<html lang="en" class="[^"]*js' dom.html
ok $? "the inline script ran"
size() { sed -n "s/^chart $1 \([0-9]*\)x\([0-9]*\) .*/\1 \2/p" check.txt; }
for c in chart-memory chart-growth-1 chart-icicle-retained chart-icicle-growth chart-lifetime-1; do
	set -- $(size "$c")
	ok "$([ "${1:-0}" -ge 200 ] && [ "${2:-0}" -ge 18 ]; echo $?)" "$c is drawn, ${1:-0}x${2:-0} px"
done
is "$(sed -n 's/^chart chart-memory .* series \([0-9/]*\) .*/\1/p' check.txt)" 3/3 \
	"memory chart: heap band, heap and RSS drawn"
is "$(sed -n 's/^chart chart-growth-1 .* series \([0-9/]*\) .*/\1/p' check.txt)" 4/4 \
	"growing site: live band, live bytes, aged floor and fitted slope drawn"
len=$(sed -n 's/^chart chart-growth-1 .* length \([0-9]*\) .*/\1/p' check.txt)
ok "$([ "${len:-0}" -gt 500 ]; echo $?)" "its paths have length ($len px in all)"
frames=$(sed -n 's/^chart chart-icicle-retained .* frames \([0-9]*\)\/\([0-9]*\) .*/\1 \2/p' check.txt)
ok "$(set -- $frames; [ "${1:-0}" -ge 10 ] && [ "$1" = "$2" ]; echo $?)" \
	"icicle of retained bytes: every frame visible ($frames)"

# On a phone-sized screen too.
browser --window-size=390,2000 --dump-dom "file://$TMP/report.html" |
	sed -n 's/^\(selfcheck [a-zA-Z]*\) charts .*/\1/p' >phone.txt
is "$(cat phone.txt)" "selfcheck ok" "drawn at phone width (390 px)"

# A screenshot for people (and the README).
mkdir -p "$build/artifacts"
png=$build/artifacts/report-seed.png
rm -f "$png"
browser --screenshot="$png" --window-size=1200,2400 "file://$TMP/report.html" >/dev/null
is "$(od -An -tx1 -N8 "$png" 2>/dev/null | tr -d ' \n')" 89504e470d0a1a0a "screenshot is a PNG"
is "$(od -An -tu1 -j16 -N8 "$png" 2>/dev/null | awk '{ print $3 * 256 + $4, $7 * 256 + $8 }')" \
	"1200 2400" "of 1200x2400 pixels"
bytes=$(wc -c <"$png" 2>/dev/null || echo 0)
ok "$([ "$bytes" -gt 60000 ]; echo $?)" "and not blank ($bytes bytes): $png"

if [ "$_failed" -ne 0 ] && [ -s browser.err ]; then
	diag "chromium's stderr:"
	tail -n 5 browser.err | while read -r line; do diag "$line"; done
fi
done_testing
