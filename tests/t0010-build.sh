#!/bin/sh
# The whole project builds warning-free (-Werror) with clang too, not only
# with the gcc the other tests use.
. "$(dirname "$0")/lib.sh"
if ! command -v clang >/dev/null 2>&1; then
	skip "clang build" "clang not installed"
	done_testing
fi
make -s -C "$top" CC=clang CXX=clang++ DEVELOPER=1 BUILD="$TMP/clang" all >out 2>&1
rc=$?
ok $rc "make CC=clang DEVELOPER=1 all"
[ $rc -eq 0 ] || sed 's/^/# /' out | tail -n 20
is "$(grep -c 'warning:' out)" 0 "no warnings"
"$TMP/clang/bin/heapcreep" run -q -o c.hct -- true
is "$?" 0 "the clang-built shim and CLI run a command"
is "$("$TMP/clang/bin/heapcreep" report -f json c.hct | jq -r .trace.complete)" true "and read its trace"
done_testing
