#!/bin/sh
# Bad configuration never harms the program: one clear line on stderr,
# tracing off, the program's output and exit status unchanged.
. "$(dirname "$0")/lib.sh"

bad() { # description expected-stderr-line VAR=value...
	desc=$1 line=$2
	shift 2
	env "$@" LD_PRELOAD="$LIB" sh -c 'echo out; echo err >&2; exit 7' >out 2>err
	is "$?" 7 "$desc: exit status unchanged"
	is "$(cat out)" out "$desc: stdout unchanged"
	is "$(grep -v '^err$' err)" "$line" "$desc: one line on stderr"
	is "$(ls *.hct 2>/dev/null | wc -l)" 0 "$desc: no trace written"
}

bad "malformed size" "heapcreep: bad HEAPCREEP_SAMPLE 'lots': expected a size such as 512K (0: every allocation); tracing off" \
	HEAPCREEP_SAMPLE=lots
bad "malformed duration" "heapcreep: bad HEAPCREEP_INTERVAL '1 s': expected a duration from 10ms to 1h such as 1s; tracing off" \
	"HEAPCREEP_INTERVAL=1 s"
bad "ring not a power of two" "heapcreep: bad HEAPCREEP_RING '100K': expected a power of two from 64K to 256M; tracing off" \
	HEAPCREEP_RING=100K
bad "unknown clock" "heapcreep: bad HEAPCREEP_CLOCK 'rdtsc': expected auto, tsc or monotonic; tracing off" \
	HEAPCREEP_CLOCK=rdtsc
bad "unknown variable" "heapcreep: unknown variable 'HEAPCREEP_SAMPEL'; tracing off" \
	HEAPCREEP_SAMPEL=512K
bad "output in a missing directory" "heapcreep: cannot create trace '/nonexistent/dir/x.hct': No such file or directory; tracing off" \
	HEAPCREEP_OUTPUT=/nonexistent/dir/x.hct
bad "output under a file" "heapcreep: cannot create trace '/etc/passwd/x.hct': Not a directory; tracing off" \
	HEAPCREEP_OUTPUT=/etc/passwd/x.hct

# An existing file is never overwritten (nor a link followed): the next
# name is taken.
echo precious >x.hct
ln -s /etc/hostname link.hct
env HEAPCREEP_OUTPUT=$TMP/x.hct LD_PRELOAD="$LIB" true
env HEAPCREEP_OUTPUT=$TMP/link.hct LD_PRELOAD="$LIB" true
is "$(cat x.hct)" precious "an existing file is left alone"
ok "$(test -s x.1.hct && test -s link.1.hct; echo $?)" "the trace goes to x.1.hct, link.1.hct"
is "$(stat -c %a x.1.hct)" 600 "traces are created with mode 0600"

# Nothing from the environment is recorded but our own variables: not in
# the records, not in the file's bytes (stored chunks, so nothing hides in
# zstd), whatever else the environment holds.
env HC_SECRET_TOKEN=s3cr3t-2b9f HEAPCREEP_OUTPUT=$TMP/env.hct HEAPCREEP_COMPRESS=0 LD_PRELOAD="$LIB" \
	sh -c 'echo "$HC_SECRET_TOKEN" >/dev/null'
"$HC" dump env.hct >env.dump
ok "$(grep -q 'HEAPCREEP_COMPRESS' env.dump; echo $?)" "the trace records our own variables"
ok "$(! grep -q 's3cr3t-2b9f' env.dump env.hct; echo $?)" "and no other variable of the environment"

# `heapcreep run` with an unusable output directory runs the command
# untraced, with its status.
"$HC" run -o /nonexistent/dir/x.hct -- sh -c 'echo out; exit 9' >out 2>err
is "$?" 9 "run: unusable -o: the command still runs, with its exit status"
is "$(cat out)" out "run: unusable -o: its stdout"
is "$(cat err)" "heapcreep: cannot write traces in '/nonexistent/dir': No such file or directory; running without tracing" \
	"run: one line says why there is no trace"
"$HC" run --sample lots -- true 2>err
is "$?" 2 "run: a malformed option is a usage error (exit 2)"
is "$(head -n 1 err)" "heapcreep: run: bad --sample 'lots': expected a size such as 512K" "run: says which option"

done_testing
