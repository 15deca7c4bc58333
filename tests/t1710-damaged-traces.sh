#!/bin/sh
# Damaged and hostile traces never crash the analyzer, never make it
# allocate what the file does not back, and never pass for whole: real
# traces cut at every chunk boundary (and inside each chunk) and at random
# offsets, random bytes changed (with the checksums left wrong, and made
# right again so that the damage reaches zstd and the records), and crafted
# chunks that declare absurd sizes, counts and lengths (tests/tracetool.py
# lists them). Each gives either a clear error naming the file and the byte
# offset (exit 2) or a report marked incomplete; `report`, `gate` and `dump`
# each stay under 64 MB of memory.
. "$(dirname "$0")/lib.sh"

TOOL="python3 $top/tests/tracetool.py"
MAXKB=65536
# Real traces: zstd chunks (the default) and stored ones, with promoted
# blocks, frees, sites and threads; about 12 chunks in 1 s, and a smaller
# one for the many copies below.
export HEAPCREEP_PROMOTE=100ms HEAPCREEP_INTERVAL=100ms
HEAPCREEP_OUTPUT=$TMP/z.hct LD_PRELOAD="$LIB" "$PROG/workload" 20000 3000 >/dev/null
HEAPCREEP_OUTPUT=$TMP/s.hct HEAPCREEP_COMPRESS=0 LD_PRELOAD="$LIB" "$PROG/workload" 20000 3000 >/dev/null
HEAPCREEP_OUTPUT=$TMP/small.hct LD_PRELOAD="$LIB" "$PROG/workload" 6000 3000 >/dev/null
HEAPCREEP_OUTPUT=$TMP/small-s.hct HEAPCREEP_COMPRESS=0 LD_PRELOAD="$LIB" "$PROG/workload" 6000 3000 >/dev/null
for t in z s small small-s; do
	"$HC" report -f json $t.hct >$t.json 2>$t.err
	is "$?:$(jget $t.json .trace.complete)" "0:true" "$t.hct reads whole ($(stat -c %s $t.hct) bytes)"
done

# run ARGS...: the CLI with a time and memory bound; sets rc, kb (max RSS)
# and msg (its last stderr line).
run() {
	/usr/bin/time -f %M -o mem timeout -s KILL 30 "$CLI" "$@" >out 2>err
	rc=$?
	kb=$(tail -n 1 mem)
	case "$kb" in *[!0-9]* | "") kb=999999 ;; esac
	msg=$(tail -n 1 err)
}

# judge FILE FULL [gate]: the problems (one a line, in $TMP/problems) with
# report -f json and dump (and gate) on a damaged copy of a trace that was
# FULL bytes long (0: not cut).
judge() {
	: >problems
	size=$(stat -c %s "$1")
	run report -f json "$1"
	rrc=$rc
	stopped=null
	[ "$rc" -eq 0 ] || [ "$rc" -eq 2 ] || echo "crash: report exit $rc: $msg" >>problems
	[ "$kb" -le $MAXKB ] || echo "rss: report used $kb KB" >>problems
	if [ "$rc" -eq 0 ]; then
		jq -e . out >/dev/null 2>&1 || echo "json: report printed no valid JSON" >>problems
		complete=$(jq -r .trace.complete out 2>/dev/null)
		stopped=$(jq -r .trace.stopped_at_offset out 2>/dev/null)
		if [ "$size" -lt "$2" ] && [ "$complete" != false ]; then
			echo "whole: a trace cut to $size of $2 bytes is called complete" >>problems
		fi
		if [ "$complete" = false ] && ! grep -q "incomplete" err; then
			echo "quiet: an incomplete trace without a word on stderr" >>problems
		fi
	else
		case "$msg" in
		"heapcreep: '$1': "*"byte offset "[0-9]*) ;;
		*) echo "offset: no file and byte offset in '$msg'" >>problems ;;
		esac
	fi
	case "$msg" in *"malformed malformed"*) echo "wording: '$msg'" >>problems ;; esac
	run dump "$1"
	[ "$rc" -eq 0 ] || [ "$rc" -eq 2 ] || echo "crash: dump exit $rc: $msg" >>problems
	[ "$kb" -le $MAXKB ] || echo "rss: dump used $kb KB" >>problems
	# What dump finds corrupt, report must not take as sound.
	if [ "$rc" -eq 2 ] && [ "$rrc" -eq 0 ] && [ "$stopped" = null ]; then
		echo "silent: dump says '$msg'; report exits 0, no stop offset" >>problems
	fi
	[ "${3:-}" = gate ] || return 0
	run gate "$1"
	[ "$rc" -le 2 ] || echo "crash: gate exit $rc: $msg" >>problems
	[ "$kb" -le $MAXKB ] || echo "rss: gate used $kb KB" >>problems
}

# --- cuts at every chunk boundary, and inside each chunk -----------------

for t in z s; do
	full=$(stat -c %s $t.hct)
	$TOOL chunks $t.hct >chunks
	n=0 bad=0
	: >all
	while read -r off codec stored raw; do
		# At the boundary, inside the header (zstd only), inside the payload.
		cuts="$off $((off + 7)) $((off + 20 + stored / 2))"
		[ $t = s ] && cuts="$off $((off + 20 + stored / 2))"
		for cut in $cuts; do
			head -c $cut $t.hct >cut.hct
			judge cut.hct "$full"
			n=$((n + 1))
			[ -s problems ] && { bad=$((bad + 1)); sed "s/^/cut at $cut: /" problems >>all; }
		done
	done <chunks
	is "$bad" 0 "$t.hct: $n cuts at and inside its $(wc -l <chunks) chunks: each read as incomplete, no crash, under 64 MB"
	[ "$bad" -eq 0 ] || head -n 5 all | sed 's/^/#   /'
done

# --- random cuts ---------------------------------------------------------

full=$(stat -c %s z.hct)
bad=0
: >all
for cut in $(awk -v n="$full" 'BEGIN { srand(1700); for (i = 0; i < 20; i++) print int(rand() * n) }'); do
	head -c $cut z.hct >cut.hct
	judge cut.hct "$full"
	[ -s problems ] && { bad=$((bad + 1)); sed "s/^/cut at $cut: /" problems >>all; }
done
is "$bad" 0 "20 random cuts: each read as incomplete, no crash, under 64 MB"
[ "$bad" -eq 0 ] || head -n 5 all | sed 's/^/#   /'

# --- random bytes changed ------------------------------------------------

# With the checksums as they fall (the reader stops at the chunk), and made
# right again (the damage reaches zstd and the record decoders).
for t in small small-s; do
	for fix in 0 1; do
		$TOOL flips $t.hct 15 $fix flip
		bad=0
		: >all
		for k in $(seq 1 15); do
			judge flip.$k 0
			# A changed number inside a record may well go unnoticed by
			# both; what dump finds corrupt, report must find so too.
			[ -s problems ] && { bad=$((bad + 1)); sed "s/^/copy $k: /" problems >>all; }
		done
		is "$bad" 0 "$t.hct, 15 copies with 1-8 bytes changed, checksums fixed: $fix: no crash, clear errors, under 64 MB"
		[ "$bad" -eq 0 ] || head -n 5 all | sed 's/^/#   /'
	done
done

# --- hostile chunks: absurd sizes, counts and lengths --------------------

for where in hostile inside; do
	for c in $($TOOL cases); do
		$TOOL $where "$c" small.hct h.hct
		judge h.hct 0 gate
		desc="$c ($( [ $where = hostile ] && echo "after the END" || echo "inside the run")): no crash, clear error or marked incomplete, under 64 MB"
		if [ -s problems ]; then
			ok 1 "$desc"
			head -n 3 problems | sed 's/^/#   /'
		else
			ok 0 "$desc"
		fi
	done
done

# A pipe: the reader cannot know the size, so it must not trust the
# declared one either (16 MiB declared, 100 bytes there).
$TOOL hostile stored-16m-unbacked small.hct h.hct
/usr/bin/time -f %M -o mem sh -c 'cat h.hct | "$1" report -f json /dev/stdin >out 2>err' _ "$CLI"
is "$?:$(jq -r .trace.complete out)" "0:false" "a pipe declaring a 16 MiB chunk it does not hold: read as incomplete"
ok "$([ "$(tail -n 1 mem)" -le $MAXKB ]; echo $?)" "... without allocating it ($(tail -n 1 mem) KB)"

done_testing
