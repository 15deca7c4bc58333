#!/bin/sh
# Dormant mode: the shim loaded, recording nothing and running no thread,
# until `heapcreep on PID` opens a window; each window is a trace of its own
# that starts at the window (mid-life), judged alone: a leak is found in the
# window where it grows, and a full cache turning over, which looks like
# growth from zero when tracing starts mid-life, is at most inconclusive.
. "$(dirname "$0")/lib.sh"

threads() { awk '/^Threads:/ { print $2 }' "/proc/$1/status"; }

# phases: a cache of 1 500 entries replaced at 100 a second all along, a
# leak of 400 KiB/s from 20 s to 45 s.
"$HC" run --dormant -- "$PROG/phases" 45 20 45 >phases.out 2>run.err &
run=$!
for _ in $(seq 100); do grep -q usable phases.out 2>/dev/null && break; sleep 0.05; done
pid=$(sed -n 's/.*pid \([0-9]*\) runs dormant.*/\1/p' run.err)
usable=$(awk '/^usable/ { print $2 }' phases.out)
ok "$([ -n "$pid" ] && [ -n "$usable" ]; echo $?)" "run --dormant names the pid ($pid) on stderr"
sleep 0.5
is "$(threads "$pid")" 1 "dormant: no thread of the shim's"
ctl=/tmp/heapcreep-$(id -u)
is "$(ls "$ctl" 2>/dev/null | grep -c "^$pid\.")" 0 "dormant: nothing written"

# Window 1 (about 0.6 to 15 s): the cache turns over, nothing leaks.
"$HC" on --duration 14s -o "$PWD/w1.hct" "$pid" >on1.out 2>on1.err
is "$?" 0 "on --duration: exit 0 once the window closed"
is "$(cat on1.out)" "window of process $pid on: $PWD/w1.hct
window of process $pid ended: $PWD/w1.hct" "on --duration says where, and when it ended"
sleep 0.3
is "$(threads "$pid")" 1 "after the window: the collector thread is gone"
"$HC" report -f json w1.hct >w1.json
is "$(jget w1.json '.trace | "\(.complete) \(.end_reason) \(.window.number)"')" "true window 1" \
	"window 1: a complete trace, ended by the window's end"
is "$(jget w1.json '.verdict')" inconclusive "window 1: the cache is not called a leak"
is "$(jget w1.json '[.sites[] | select(.frames[0].function == "leak_site")] | length')" 0 \
	"window 1: no leak_site (it leaks later)"
is "$(jget w1.json '[.sites[] | select(.verdict == "inconclusive")][0].frames[0].function')" \
	cache_entry "the cache's site is the inconclusive one"
jget w1.json '[.sites[] | select(.frames[0].function == "cache_entry")][0].reason' |
	grep -q "blocks from before the window were freed in it"
ok $? "and the reason: blocks from before the window freed in it (displacement)"
n=$(jget w1.json .trace.unknown_frees)
bytes=$(jget w1.json .trace.window.unknown_free_bytes)
ok "$(awk -v n="$n" -v b="$bytes" -v u="$usable" \
	'BEGIN { exit !(n >= 1250 && n <= 1500 && b >= (n - 2) * u && b <= n * u + 8192) }'; echo $?)" \
	"window 1: $n blocks from before it freed, $bytes bytes (entries of $usable usable bytes)"
after=$(jget w1.json .trace.window.after_process_start_s)
ok "$(awk -v a="$after" 'BEGIN { exit !(a >= 0.3 && a < 3) }'; echo $?)" \
	"window 1 began $after s after the process started"
"$HC" report w1.hct | grep -Eq '^  mid-life      window 1 of a dormant process, from .*, [0-9.]+ s after the process started; blocks allocated before it are unknown \([0-9]+ of them freed in it, [0-9.]+ [KM]iB\)$'
ok $? "text: the window, and what is unknown"
"$HC" report -f html w1.hct | grep -q "window 1 of a dormant process"
ok $? "HTML: the same"

# Window 2 (about 15 to 30 s), switched on and off: the leak starts in it (20 s).
"$HC" on "$pid" >on2.out 2>on2.err
is "$?" 0 "on: exit 0 at once"
w2=$(sed -n 's/^window of process [0-9]* on: //p' on2.out)
is "$w2" "$ctl/$pid.w2.hct" "without -o: the trace in the control directory"
is "$(threads "$pid")" 2 "a window: the collector thread"
"$HC" on "$pid" >/dev/null 2>again.err
is "$?" 2 "on again: refused"
grep -q "is not dormant: a window is on" again.err
ok $? "saying a window is on"
sleep 15
"$HC" off "$pid" >off.out
is "$(cat off.out)" "window of process $pid ended: $w2" "off: says where the trace is"
"$HC" report -f json "$w2" >w2.json
is "$(jget w2.json '.trace | "\(.complete) \(.end_reason) \(.window.number)"')" "true window 2" \
	"window 2: its own trace"
is "$(jget w2.json '"\(.verdict) \(.sites[0].verdict) \(.sites[0].frames[0].function)"')" \
	"leak leak leak_site" "window 2: the leak found, at leak_site"
rate=$(jget w2.json '.sites[0].growth_bytes_per_s')
ok "$(awk -v r="$rate" 'BEGIN { exit !(r > 300000 && r < 500000) }'; echo $?)" \
	"window 2: leak_site grows $rate B/s (400 KiB/s)"
"$HC" off "$pid" >/dev/null 2>off2.err
is "$?" 2 "off with no window on: exit 2"
grep -q "has no window on" off2.err
ok $? "saying so"
wait $run
is "$?" 0 "the program ran to its end, exit 0"

# Not dormant: refused, and nothing happens to the process.
"$HC" run -q -o traced.hct -- "$PROG/phases" 4 9 9 >/dev/null &
run=$!
sleep 1
cmd=$(pgrep -P $run)
"$HC" on "$cmd" >/dev/null 2>notd.err
is "$?" 2 "on a process traced from its start: exit 2"
grep -q "is not dormant" notd.err
ok $? "saying it is not dormant"
wait $run
is "$?" 0 "and it runs on to its end"
"$HC" on 1 >/dev/null 2>init.err
is "$?" 2 "on a process without the shim: exit 2"
grep -q "does not run under heapcreep" init.err
ok $? "saying so"

# Bad configuration: one line, the program runs untouched.
HEAPCREEP_DORMANT=2 LD_PRELOAD="$LIB" "$PROG/phases" 0.2 9 9 >/dev/null 2>bad.err
is "$?" 0 "HEAPCREEP_DORMANT=2: the program runs, exit 0"
is "$(cat bad.err)" "heapcreep: bad HEAPCREEP_DORMANT '2': expected 1 (record nothing until switched on) or 0; tracing off" \
	"one line on stderr"

# CPython 3.12+ warns at os.fork() in a process with threads: a dormant one
# has none of the shim's, so nothing is printed.
py=$(ls "$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"/versions/3.1[23].*/bin/python3.1[23] \
	2>/dev/null | head -n 1)
if [ -n "$py" ]; then
	LD_PRELOAD="$LIB" HEAPCREEP_DORMANT=1 "$py" -c '
import os, threading
pid = os.fork()
if pid == 0:
    os._exit(0)
os.waitpid(pid, 0)
print(threading.active_count(), len(os.listdir("/proc/self/task")))' >pyfork.out 2>pyfork.err
	is "$(cat pyfork.out) $(wc -c <pyfork.err)" "1 1 0" \
		"dormant $(basename "$py"): one thread, os.fork() prints nothing"
else
	skip "dormant CPython 3.12+: os.fork() prints nothing" "no pyenv 3.12 or 3.13 here"
fi

# Another mount namespace (a container's): its control directory is its own
# (a tmpfs over the host's, which the build under test may live beside in
# /tmp); root on the host reaches it through /proc/PID/root and copies the
# trace out.
if unshare -m true 2>/dev/null; then
	mkdir -p "$ctl" && chmod 700 "$ctl"
	LD_PRELOAD="$LIB" HEAPCREEP_DORMANT=1 unshare -m sh -c \
		'mount -t tmpfs -o mode=0700 none "$1" && exec "$0" 30 0 30' "$PROG/phases" "$ctl" \
		>ns.out &
	ns=$!
	for _ in $(seq 100); do grep -q usable ns.out 2>/dev/null && break; sleep 0.05; done
	"$HC" on --duration 13s -o ns.hct "$ns" >ns.on 2>ns.err
	is "$?" 0 "another mount namespace: on --duration, exit 0"
	grep -q "^window of process $ns on: /proc/$ns/root/tmp/heapcreep-$(id -u)/$ns.w1.hct$" ns.on
	ok $? "the trace inside it, named from the host"
	[ ! -e "$ctl/$ns.w1.hct" ]
	ok $? "not in the host's control directory"
	"$HC" report -f json ns.hct >ns.json
	is "$(jget ns.json '"\(.verdict) \(.sites[0].frames[0].function)"')" "leak leak_site" \
		"copied out as ns.hct: the leak found"
	kill "$ns"
	wait "$ns" 2>/dev/null
else
	for what in "another mount namespace: on --duration" "the trace inside it" \
		"not in the host's control directory" "copied out: the leak found"; do
		skip "$what" "unshare -m is not allowed here"
	done
fi

done_testing
