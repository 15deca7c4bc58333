# Shared by the shell tests (tNNNN-*.sh): TAP output and the paths of the
# build under test. A test sources this, calls ok/is/... and ends with
# done_testing. Every assertion states an exact expected value.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${HC_TEST_BUILD:-$top/build}
HC=$build/bin/heapcreep
CLI=$build/libexec/heapcreep/heapcreep-cli
LIB=$build/lib/libheapcreep.so
PROG=$build/tests/programs
TMP=$(mktemp -d "${TMPDIR:-/tmp}/hctest.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 2
_n=0
_failed=0

ok() { # status description
	_n=$((_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $_n - $2"
	else
		echo "not ok $_n - $2"
		_failed=$((_failed + 1))
	fi
}

is() { # got expected description
	_n=$((_n + 1))
	if [ "$1" = "$2" ]; then
		echo "ok $_n - $3"
	else
		echo "not ok $_n - $3"
		echo "#   got:      '$1'"
		echo "#   expected: '$2'"
		_failed=$((_failed + 1))
	fi
}

skip() { # description reason
	_n=$((_n + 1))
	echo "ok $_n - $1 # SKIP $2"
}

diag() { echo "# $*"; }

done_testing() {
	echo "1..$_n"
	[ "$_failed" -eq 0 ]
	exit $?
}

# flip_byte FILE OFFSET: the byte there replaced by its complement, so the
# file surely changes (a fixed byte may be the one already there).
flip_byte() {
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf '%b' "\\0$(printf %o $((b ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

# jget FILE FILTER: one value from a JSON file (jq syntax).
jget() { jq -r "$2" "$1"; }

# counts_check TRACE COUNTS NAME: the trace read whole by `heapcreep dump`,
# nothing lost, and exactly the figures its process counted itself
# (COUNTS/counts.PID.IMAGE, written by tests/programs/stress.c and
# handoff.c; compared by tests/counts.py).
counts_check() {
	"$HC" dump "$1" >dump.txt 2>dump.err
	is "$?" 0 "$3: dump reads it whole"
	python3 "$top/tests/counts.py" "$2" <dump.txt >check.txt 2>check.err
	sed -n 1,3p check.txt | sed "s/^/# /"
	is "$(sed -n 's/.*: lost //p' check.txt)" 0 "$3: no event lost"
	got=$(sed -n 's/^trace: *//p' check.txt)
	want=$(sed -n 's/^program: *//p' check.txt)
	is "${got:-none}" "${want:-no counts}" "$3: exactly the program's own figures"
	[ -s check.err ] && sed 's/^/#   /' check.err
}

# totals TRACE: "allocs frees bytes unfreed_bytes unfreed_blocks" from the report.
totals() {
	"$HC" report -f json "$1" | jq -r '.totals | "\(.allocations) \(.frees) \(.bytes_allocated) \(.unfreed_at_end_bytes) \(.unfreed_at_end_blocks)"'
}

# Figures valgrind gives for the same numbers, same order. The stand-in
# preload gives the process the TLS modules the shim brings (libheapcreep,
# libunwind), so ld.so's per-thread DTV has the same size in both runs.
STANDIN="$(ldconfig -p | sed -n 's/.*libunwind.so.8 (libc6,x86-64) => //p' | head -n 1) $PROG/libtlsstandin.so"
vg_totals() { # [valgrind options] -- program args
	opts=
	while [ "$1" != -- ]; do opts="$opts $1"; shift; done
	shift
	# shellcheck disable=SC2086
	LD_PRELOAD="$STANDIN ${VG_PRELOAD:-}" valgrind --run-libc-freeres=no --run-cxx-freeres=no $opts "$@" 2>&1 |
		sed -n 's/,//g; s/.*in use at exit: \([0-9]*\) bytes in \([0-9]*\) blocks/U \1 \2/p; s/.*total heap usage: \([0-9]*\) allocs \([0-9]*\) frees \([0-9]*\) bytes allocated/T \1 \2 \3/p' |
		awk '$1=="U"{u=$2" "$3} $1=="T"{t=$2" "$3" "$4} END{print t, u}'
}
