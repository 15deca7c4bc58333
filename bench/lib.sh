# shellcheck shell=sh disable=SC2034,SC2154 # HC, top: for the scripts that source this; bench: set by them
# Shared by the bench scripts (sourced, after setting bench=NAME): the
# build under test, a work directory removed on exit, and medians.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${HC_TEST_BUILD:-$top/build}
HC=$build/bin/heapcreep
work=$(mktemp -d "${TMPDIR:-/tmp}/hcbench-$bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

mid() { # the median of the numbers on stdin, one a line; "-" for none
	sort -g | awk '{ v[NR] = $1 } END { if (!NR) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

median() { # column file: the median of that column, "-" entries left out
	awk -v c="$1" '$c != "-" { print $c }' "$2" | mid
}

# ratios column file base: files of one line a round, as many columns each;
# each round's ratio to the baseline run of the same round, one a line (the
# runs of a round are close in time: a machine whose speed drifts over
# minutes moves both).
ratios() {
	paste -d' ' "$2" "$3" | awk -v c="$1" '{ print $c / $(c + NF / 2) }'
}

# ratio column file base: the median of those ratios over the rounds.
ratio() {
	ratios "$@" | mid
}

# quartiles: the first and third quartiles of the numbers on stdin, "Q1-Q3".
quartiles() {
	sort -g | awk '{ v[NR] = $1 } END { printf "%.3f-%.3f", v[int((NR + 3) / 4)], v[int((3 * NR + 3) / 4)] }'
}
