#!/bin/sh
# Lifetimes as the trace tells them, for blocks held known times by one
# thread (tests/programs/holdfor.c): held 5.5 µs, 20 µs, across a burst of
# 200 pairs, across a 2 ms sleep, and freed at once. A thread that records
# alone takes most stamps from the TSC since its last clock read
# (internal.h, hc_stamp_between); a stamp may be early by under a
# microsecond, never late. So every block's lifetime (a histogram of powers
# of two ns per site) must be at least its hold less that, and the blocks
# freed at once must be temporaries. Each clock: CLOCK_MONOTONIC with stamps
# between reads, this machine's own choice, and the TSC trusted. (A build
# that takes the stamps between reads from a coarse clock and a count of
# events failed this: the sleeping blocks showed lifetimes of nanoseconds.)
. "$(dirname "$0")/lib.sh"

# sites FILE: per allocation size, "size allocs buckets...": every SITES
# record of the trace summed (a site's records are deltas), its histogram
# as one "bucket:count" word per bucket.
sites() {
	"$HC" dump "$1" | awk '
	$1 == "site" {
		for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
		if (f["allocs"] == 0) next
		size = f["bytes_allocated"] / f["allocs"]
		allocs[size] += f["allocs"]
		h = $0; sub(/.*hist=\{/, "", h); sub(/\}.*/, "", h)
		n = split(h, b, ",")
		for (i = 1; i <= n; i++) { split(b[i], bc, ":"); hist[size, bc[1]] += bc[2] }
	}
	END {
		for (s in allocs) {
			line = s " " allocs[s]
			for (k = 0; k < 64; k++) if (hist[s, k]) line = line " " k ":" hist[s, k]
			print line
		}
	}' | sort -n
}

# range SIZE: "allocs lowest-bucket highest-bucket blocks-at-or-under-10" of
# that size's site(s)
range() {
	awk -v s="$1" '$1 == s {
		lo = 99; hi = -1; under = 0
		for (i = 3; i <= NF; i++) {
			split($i, bc, ":")
			if (bc[1] + 0 < lo) lo = bc[1] + 0
			if (bc[1] + 0 > hi) hi = bc[1] + 0
			if (bc[1] + 0 <= 10) under += bc[2]
		}
		print $2, lo, hi, under
	}' sites.txt
}

# held SIZE COUNT HOW BUCKET WHAT: COUNT blocks of SIZE bytes, every one of
# them in bucket BUCKET (2^BUCKET ns) or above
held() {
	set -- "$@" $(range "$1")
	is "${6:-}" "$2" "clock $clock: $2 blocks $3"
	ok "$([ "${7:-0}" -ge "$4" ] && echo 0 || echo 1)" \
		"clock $clock: $5 (shortest bucket 2^${7:-?} ns, at least 2^$4)"
}

for clock in monotonic auto tsc; do
	rm -f h.hct*
	out=$(HEAPCREEP_CLOCK=$clock HEAPCREEP_OUTPUT="$TMP/h.hct" timeout 120 env LD_PRELOAD="$LIB" \
		"$PROG/holdfor" 2>err)
	rc=$?
	is "$rc:$(cat err)" "0:" "clock $clock: holdfor exits 0, nothing on stderr"
	set -- $out
	burst_lo=${2:-0}
	"$HC" report -f json h.hct >r.json 2>/dev/null
	is "$(jget r.json '.trace | "\(.complete) \(.lost_events) \(.unknown_frees)"')" "true 0 0" \
		"clock $clock: complete, nothing lost, no unknown free"
	sites h.hct >sites.txt

	held 40 2002 "held 5.5 µs" 12 "none of them lived under 4.1 µs"
	held 56 1003 "held 20 µs" 14 "none of them a temporary, under 16 µs"
	# a burst of 200 pairs: the block lived at least the shortest burst
	# the program timed, less a microsecond
	want=$(awk -v ns="$burst_lo" 'BEGIN { ns -= 1000; b = 0; while (2 ^ (b + 1) <= ns) b++; print b }')
	held 72 404 "held across a burst of 200 pairs" "$want" \
		"none lived under the shortest burst ($burst_lo ns) less 1 µs"
	held 88 205 "held across a 2 ms sleep" 20 "none lived under 1 ms"
	set -- $(range 24)
	is "$1" 100003 "clock $clock: 100003 blocks freed at once"
	# an interrupt or a preemption inside a pair makes a long one: 1 % may
	ok "$([ "$((${4:-0} * 100))" -ge $((100003 * 99)) ] && echo 0 || echo 1)" \
		"clock $clock: at least 99 % of them lived under 2 µs (${4:-0})"

	if [ $clock = monotonic ]; then
		# the stamps between reads were taken: most stamps, unless this
		# glibc registers no rseq area (the clock's note says so)
		set -- $(jget r.json '.trace.notes[].message' |
			sed -n 's/^event stamps: \([0-9]*\) taken while one thread recorded alone, \([0-9]*\) of them from a clock read.*/\1 \2/p')
		ok "$([ "${1:-0}" -ge 207234 ] && echo 0 || echo 1)" \
			"clock monotonic: the note counts every event's stamp (${1:-none}, at least 207234)"
		if jget r.json '.trace.notes[].message' | grep -q 'no rseq area'; then
			skip "clock monotonic: most stamps between clock reads" "this glibc registers no rseq area"
		else
			ok "$([ $((${2:-999999999} * 4)) -lt "${1:-0}" ] && echo 0 || echo 1)" \
				"clock monotonic: under a quarter of them read the clock (${2:-none})"
		fi
	fi
done

done_testing
