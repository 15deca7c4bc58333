#!/bin/sh
# The whole project builds warning-free (-Werror) with clang too, not only
# with the gcc the other tests use.
. "$(dirname "$0")/lib.sh"

# make demo installs what the demo needs (the build and a Python), not the
# test suite's servers, browsers and reference tools.
demo=$(sh "$top/scripts/install-deps" --list demo)
is "$demo" "$(sh "$top/scripts/install-deps" --list build) python3" "make demo wants the build's packages and python3"
for p in chromium nginx redis-server valgrind libjemalloc-dev; do
	case " $(sh "$top/scripts/install-deps" --list test) " in *" $p "*) in_test=1 ;; *) in_test=0 ;; esac
	case " $demo " in *" $p "*) in_demo=1 ;; *) in_demo=0 ;; esac
	is "$in_test$in_demo" 10 "$p: installed for make test, not for make demo"
done
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
