#!/bin/sh
# `heapcreep run` is transparent: the command's stdin, stdout and exit
# status are its own, it dies of the signal that kills it, termination
# signals sent to heapcreep reach it, and an LD_PRELOAD the user has stays.
. "$(dirname "$0")/lib.sh"

"$HC" run -q -o a.hct -- sh -c 'exit 42'
is "$?" 42 "exit status passed through"
echo "from stdin" | "$HC" run -q -o b.hct -- cat >out
is "$(cat out)" "from stdin" "stdin reaches the command, stdout is its own"
"$HC" run -o c.hct -- true >out 2>err
is "$(wc -c <out)" 0 "nothing of heapcreep's own on stdout"
sh -c "\"$HC\" run -q -o d.hct -- sh -c 'kill -SEGV \$\$'" 2>/dev/null
is "$?" 139 "a command killed by SIGSEGV: run dies of SIGSEGV too (139)"

# SIGTERM to heapcreep is passed to the command, which can react.
cat >trap.sh <<'SH'
trap 'echo got TERM; exit 3' TERM
echo started
while :; do sleep 0.05; done
SH
"$HC" run -q -o e.hct -- sh trap.sh >out &
pid=$!
for _ in $(seq 100); do grep -q started out && break; sleep 0.05; done
kill -TERM $pid
wait $pid
is "$?" 3 "SIGTERM forwarded: the command's handler ran and chose the status"
is "$(tail -n 1 out)" "got TERM" "the command saw the signal"

# The user's own LD_PRELOAD stays, after the shim.
"$HC" run -q -o f.hct -- sh -c 'echo "$LD_PRELOAD"' >out
is "$(cat out)" "$(readlink -f "$LIB")" "LD_PRELOAD is the shim"
LD_PRELOAD=$PROG/libtlsstandin.so "$HC" run -q -o g.hct -- sh -c 'echo "$LD_PRELOAD"' >out
is "$(cat out)" "$(readlink -f "$LIB"):$PROG/libtlsstandin.so" "an existing LD_PRELOAD is kept, after the shim"
"$HC" run -q -o h.hct --allocator jemalloc -- sh -c 'echo "$LD_PRELOAD"' >out
is "$(cat out)" "$(readlink -f "$LIB"):/usr/lib/x86_64-linux-gnu/libjemalloc.so.2" "--allocator jemalloc: jemalloc right behind the shim"

# Without -o: heapcreep.PID.hct in the current directory, PID the command's.
"$HC" run -- true 2>err
f=$(ls heapcreep.*.hct)
is "$(wc -l <err)" 1 "one line on stderr"
is "$(cat err)" "heapcreep: trace of 'true' (pid $(echo "$f" | cut -d. -f2)) in '$TMP/$f'" "it names the trace"
"$HC" run -q -- /nonexistent/program 2>err
is "$?" 127 "a command that does not exist: 127, as a shell says"
is "$(cat err)" "heapcreep: cannot run '/nonexistent/program': No such file or directory" "and why"

done_testing
