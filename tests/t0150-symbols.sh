#!/bin/sh
# Symbolization: `heapcreep symbolize` stores, for every frame of a trace's
# stacks, the function (demangled), file:line and inlined frames, found
# through DWARF, separate debug files (debuglink, build-id) or the symbol
# tables of stripped files; it never gives a rebuilt file's names; a second
# run adds nothing; the stored names outlive the binary; truncated traces are
# symbolized after their last whole chunk, corrupt ones refused.
. "$(dirname "$0")/lib.sh"
unset DEBUGINFOD_URLS # answers come from this machine's files, never the network
SRC=$(cd "$top" && pwd -P)/tests/programs
CC=${CC:-cc}

line_of() { grep -n -- "$2" "$1" | head -n 1 | cut -d: -f1; } # FILE TEXT

# site_frames DUMP LIVE_BYTES: the frames of the last site with those live bytes
site_frames() {
	st=$(awk -v lb="live_bytes=$2" '$1 == "site" && $3 == lb { sub("stack=", "", $2); s = $2 } END { print s }' "$1")
	awk -v id="id=$st" '$1 == "STACK" && $2 == id { sub(/.*frames=\[/, ""); sub(/\]$/, ""); print }' "$1"
}
frame() { site_frames "$1" "$2" | cut -d' ' -f"$3"; } # DUMP LIVE_BYTES N (1: innermost)
# fill DUMP N: frame N of fill_slot's site: 1000 bytes live, or 4006 when
# the compiler kept main's loop (one call site for the four blocks)
fill() { f=$(frame "$1" 1000 "$2"); [ -n "$f" ] || f=$(frame "$1" 4006 "$2"); echo "$f"; }
# symbol DUMP ADDR: what the last SYMBOLS record says of ADDR
symbol() { awk -v a="$2" '$1 == a { sub(/^ *[^ ]+ /, ""); s = $0 } END { print s }' "$1"; }
traced() { out=$1; shift; HEAPCREEP_OUTPUT=$TMP/$out LD_PRELOAD="$LIB" "$@"; } # TRACE CMD...

# --- C: function, file:line, the inlined frame --------------------------------
mkdir bin
cp "$PROG/symbols" bin/symbols
traced s.hct "$TMP/bin/symbols"
is "$?" 0 "symbols ran under the shim"
cp s.hct s0.hct
"$HC" symbolize s.hct 2>err
is "$?" 0 "symbolize exits 0"
n=$(sed -n "s/^heapcreep: 's.hct': \([0-9]*\) addresses, [0-9]* resolved ([0-9]* unknown); \([0-9]*\) stored in 1 SYMBOLS record$/\1 \2/p" err)
# shellcheck disable=SC2086
set -- $n
ok "$([ -n "$n" ] && [ "$1" = "$2" ] && [ "$1" -ge 8 ]; echo $?)" \
	"one stderr line: every address ($n) stored in one record: $(cat err)"
"$HC" dump s.hct >s.txt
is "$(symbol s.txt "$(fill s.txt 1)")" \
	"make_buffer ($SRC/symbols.c:$(line_of "$SRC/symbols.c" @inline-malloc)) <- fill_slot ($SRC/symbols.c:$(line_of "$SRC/symbols.c" @call-make-buffer))" \
	"malloc in an always_inline function: the inlined frame, then the function it sits in"
is "$(symbol s.txt "$(fill s.txt 2)")" "main ($SRC/symbols.c:$(line_of "$SRC/symbols.c" @main-fill))" \
	"its caller: main at the call's line"
is "$(symbol s.txt "$(frame s.txt 777 1)")" "direct_alloc ($SRC/symbols.c:$(line_of "$SRC/symbols.c" @direct-malloc))" \
	"a plain allocation site"
tail -n 1 s.txt | grep -q "^# [0-9]* records in [0-9]* chunks, $(stat -c %s s.hct) bytes: complete$"
ok $? "dump: the SYMBOLS record follows END, the trace is complete ($(tail -n 1 s.txt))"
is "$("$HC" report -f json s.hct | jq -r .trace.complete)" true "report: still complete after symbolize"

# Twice: nothing added. Binary moved away: the stored names are used.
"$HC" symbolize s.hct 2>err2
is "$?:$(sed 's/; all already stored, trace unchanged$//' err2)" "0:$(sed 's/; [0-9]* stored in 1 SYMBOLS record$//' err)" \
	"second run: same figures"
grep -q "all already stored, trace unchanged" err2
ok $? "second run: nothing added ($(cat err2))"
mv bin gone
cp s.hct s1.hct
"$HC" symbolize s.hct 2>err3
is "$(sed 's/; .*//' err3)" "$(sed 's/; .*//' err)" "binary moved away: every address still resolved, from the stored symbols"
cmp -s s.hct s1.hct
ok $? "binary moved away: trace unchanged"
cp s0.hct gone.hct
"$HC" symbolize gone.hct 2>/dev/null
"$HC" dump gone.hct >gone.txt
is "$(symbol gone.txt "$(fill gone.txt 1)")" "[unknown]" \
	"binary moved away, trace never symbolized: [unknown] (the names came from the trace)"
mv gone bin
"$HC" symbolize gone.hct 2>gone.err
"$HC" dump gone.hct >gone.txt
is "$(symbol gone.txt "$(fill gone.txt 1)")" "$(symbol s.txt "$(fill s.txt 1)")" \
	"binary back: the addresses stored unresolved are resolved and stored again"
grep -q "; [1-9][0-9]* stored in 1 SYMBOLS record$" gone.err
ok $? "... in one more record ($(cat gone.err))"

# --- a rebuilt binary: a different build-id at the same path ---------------
if command -v "$CC" >/dev/null 2>&1; then
	mkdir rb
	cp "$PROG/symbols" rb/symbols
	traced rb.hct "$TMP/rb/symbols"
	"$CC" -std=gnu11 -O0 -g -o rb/symbols "$SRC/symbols.c"
	"$HC" symbolize rb.hct 2>rb.err
	is "$?" 0 "rebuilt binary: symbolize exits 0"
	"$HC" dump rb.hct >rb.txt
	is "$(symbol rb.txt "$(fill rb.txt 1)") $(symbol rb.txt "$(fill rb.txt 2)")" \
		"[unknown] [unknown]" "rebuilt binary (other build-id): [unknown], not the new file's names"
	# The binary's own addresses are the ones the original resolved to
	# symbols.c or _start; nothing else may turn unknown.
	is "$(grep -c '^  0x[0-9a-f]* \[unknown\]$' rb.txt)" \
		"$(sed -n '/^SYMBOLS/,$p' s.txt | grep -c -e "($SRC/symbols.c:" -e '^  0x[0-9a-f]* _start$')" \
		"rebuilt binary: only its own addresses are [unknown], other modules still resolve"

	# A non-PIE executable (ET_EXEC: no load bias).
	"$CC" -std=gnu11 -O1 -g -fomit-frame-pointer -no-pie -o nopie "$SRC/symbols.c"
	traced np.hct "$TMP/nopie"
	"$HC" symbolize np.hct 2>/dev/null
	"$HC" dump np.hct >np.txt
	is "$(symbol np.txt "$(fill np.txt 1)")" "$(symbol s.txt "$(fill s.txt 1)")" \
		"non-PIE executable: the same inlined frames"
else
	skip "rebuilt binary" "no C compiler ($CC)"
	skip "non-PIE executable" "no C compiler ($CC)"
fi
# clang emits no .debug_aranges: units are found by their address ranges.
if command -v clang >/dev/null 2>&1; then
	clang -std=gnu11 -O1 -g -fomit-frame-pointer -o symclang "$SRC/symbols.c"
	traced cl.hct "$TMP/symclang"
	"$HC" symbolize cl.hct 2>/dev/null
	"$HC" dump cl.hct >cl.txt
	is "$(grep -o ' make_buffer .*' cl.txt)" " $(symbol s.txt "$(fill s.txt 1)")" \
		"built by clang (no .debug_aranges): the same inlined frames"
else
	skip "built by clang" "no clang"
fi

# --- separate debug files ----------------------------------------------------
# .gnu_debuglink next to a stripped binary.
mkdir dl
objcopy --only-keep-debug "$PROG/symbols" dl/symbols.debug &&
	strip --strip-all -o dl/symbols "$PROG/symbols" &&
	objcopy --add-gnu-debuglink=dl/symbols.debug dl/symbols
traced dl.hct "$TMP/dl/symbols"
"$HC" symbolize dl.hct 2>/dev/null
"$HC" dump dl.hct >dl.txt
is "$(symbol dl.txt "$(fill dl.txt 1)")" "$(symbol s.txt "$(fill s.txt 1)")" \
	"stripped binary with a .gnu_debuglink: names, lines and inlined frames from its debug file"
# By build-id under /usr/lib/debug: libc's frames, when libc6-dbg is installed.
libc_id=$(sed -n 's/.*path="[^"]*libc\.so\.6" build_id=\([0-9a-f]*\).*/\1/p' s.txt | head -n 1)
debug=/usr/lib/debug/.build-id/$(echo "$libc_id" | cut -c1-2)/$(echo "$libc_id" | cut -c3-).debug
if [ -n "$libc_id" ] && [ -r "$debug" ]; then
	grep -q '^  0x[0-9a-f]* __libc_start_call_main ([^ ]*sysdeps/nptl/libc_start_call_main.h:[1-9][0-9]*)$' s.txt
	ok $? "libc frame, file and line from its build-id debug file: $(grep -o '__libc_start_call_main .*' s.txt)"
else
	skip "libc frame from its build-id debug file" "no $debug"
fi

# --- C++: demangled names ----------------------------------------------------
traced c.hct "$PROG/symbols_cxx"
cp c.hct c0.hct
"$HC" symbolize c.hct 2>/dev/null
"$HC" dump c.hct >c.txt
is "$(symbol c.txt "$(frame c.txt 120 1)")" \
	"ns::Widget<int>::make(unsigned long) ($SRC/symbols_cxx.cc:$(line_of "$SRC/symbols_cxx.cc" @cxx-make))" \
	"class template in a namespace: demangled"
is "$(symbol c.txt "$(frame c.txt 96 1)")" \
	"ns::Pool::grab(unsigned long) ($SRC/symbols_cxx.cc:$(line_of "$SRC/symbols_cxx.cc" @cxx-grab))" \
	"member function: demangled"

# --- dlopen'ed libraries, with and without symbols -------------------------
HEAPCREEP_INTERVAL=50ms traced pl.hct "$PROG/plugins" "$PROG/libplugin.so"
cp pl.hct pl0.hct
"$HC" symbolize pl.hct 2>/dev/null
"$HC" dump pl.hct >pl.txt
is "$(symbol pl.txt "$(frame pl.txt 15003 1)")" \
	"plugin_alloc ($SRC/libplugin.c:$(line_of "$SRC/libplugin.c" 'void \*p = malloc(n);'))" \
	"dlopen'ed library: its function and line"
cp "$PROG/libplugin.so" libstripped.so
strip --strip-all libstripped.so
HEAPCREEP_INTERVAL=50ms traced ps.hct "$PROG/plugins" "$TMP/libstripped.so"
cp ps.hct ps0.hct
"$HC" symbolize ps.hct 2>/dev/null
"$HC" dump ps.hct >ps.txt
is "$(symbol ps.txt "$(frame ps.txt 15003 1)")" "plugin_alloc" \
	"stripped library (--strip-all): the exported function's name from .dynsym"

# --- files that cannot be used -----------------------------------------------
for what in text truncated; do
	mkdir "$what"
	cp "$PROG/symbols" "$what/symbols"
	traced "$what.hct" "$TMP/$what/symbols"
	cp "$what.hct" "${what}0.hct"
	if [ $what = text ]; then
		echo "not an ELF file" >"$what/symbols"
	else
		head -c 3000 "$PROG/symbols" >"$what/symbols"
	fi
	"$HC" symbolize "$what.hct" 2>/dev/null
	rc=$?
	"$HC" dump "$what.hct" >"$what.txt"
	is "$rc $(symbol "$what.txt" "$(fill "$what.txt" 1)")" "0 [unknown]" \
		"binary replaced by a $what file: exit 0, [unknown]"
done

# --- truncated and corrupt traces ------------------------------------------
# Cut inside its last chunk (the one with END): the STACK records before
# it are whole, the torn chunk goes, the symbols follow the whole ones.
size=$(stat -c %s pl0.hct)
head -c $((size - 5)) pl0.hct >torn0.hct
cp torn0.hct torn.hct
"$HC" symbolize torn.hct 2>torn.err
is "$?" 0 "torn trace: symbolize exits 0"
grep -q "^heapcreep: 'torn.hct': trace is incomplete: ends inside a chunk at byte offset [0-9]*; the torn chunk is cut off" torn.err
ok $? "torn trace: says so ($(head -n 1 torn.err))"
"$HC" dump torn.hct >torn.txt 2>torn.derr
rc=$?
tail -n 1 torn.txt | grep -q "^# [0-9]* records in [0-9]* chunks, $(stat -c %s torn.hct) bytes: ends at a chunk boundary, no END record$"
ok "$(( rc | $? ))" "torn trace: the torn chunk cut off, the SYMBOLS chunk follows the last whole one ($(tail -n 1 torn.txt))"
is "$(symbol torn.txt "$(frame pl.txt 15003 1)")" "$(symbol pl.txt "$(frame pl.txt 15003 1)")" \
	"torn trace: its addresses are symbolized"

# A trace its process is still writing: appending would interleave chunks.
HEAPCREEP_INTERVAL=50ms HEAPCREEP_OUTPUT=$TMP/live.hct LD_PRELOAD="$LIB" "$PROG/grower" >live.out &
pid=$!
for _ in $(seq 100); do grep -q ready live.out 2>/dev/null && break; sleep 0.05; done
sleep 0.2
"$HC" symbolize live.hct 2>live.err
rc=$?
kill -KILL $pid
wait $pid 2>/dev/null
is "$rc:$(cat live.err)" "2:heapcreep: 'live.hct': process $pid is still writing it; symbolize it when that process has ended" \
	"a trace still being written: refused"
"$HC" symbolize live.hct 2>/dev/null
is "$?" 0 "... and symbolized once its process is gone"

size=$(stat -c %s s0.hct)
cp s0.hct bad.hct
flip_byte bad.hct $((size - 3))
cp bad.hct bad0.hct
"$HC" symbolize bad.hct 2>bad.err
is "$?" 2 "corrupt trace: refused with exit 2"
grep -q "^heapcreep: 'bad.hct': corrupt chunk at byte offset [0-9]*: checksum mismatch$" bad.err
ok $? "corrupt trace: names the file and the byte offset ($(cat bad.err))"
cmp -s bad.hct bad0.hct
ok $? "corrupt trace: left as it was"
"$HC" symbolize nosuch.hct 2>/dev/null
is "$?" 2 "missing trace: exit 2"

# --- the analyzer under ASan and UBSan --------------------------------------
SANCLI=${HC_TEST_SAN_BUILD:-}/libexec/heapcreep/heapcreep-cli
if [ -n "${HC_TEST_SAN_BUILD:-}" ] && [ -x "$SANCLI" ]; then
	export ASAN_OPTIONS=detect_leaks=1:exitcode=99 UBSAN_OPTIONS=halt_on_error=1:exitcode=99
	bad=
	for t in s0 c0 pl0 ps0 text0 truncated0 torn0 bad0; do
		cp $t.hct san-$t.hct
		want=0
		[ $t = bad0 ] && want=2
		"$SANCLI" symbolize san-$t.hct 2>/dev/null
		[ $? = $want ] || bad="$bad $t:symbolize"
		"$SANCLI" symbolize san-$t.hct 2>/dev/null
		[ $? = $want ] || bad="$bad $t:again"
		"$SANCLI" dump san-$t.hct >/dev/null 2>&1
		[ $? = $want ] || bad="$bad $t:dump"
	done
	is "$bad" "" "sanitized analyzer: symbolize (twice) and dump exit as they should on every trace"
	unset ASAN_OPTIONS UBSAN_OPTIONS
else
	skip "sanitized analyzer" "not built (make test builds it)"
fi

done_testing
