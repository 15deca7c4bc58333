#!/bin/sh
# The trace at the path `run -o` names, from the start: a link to the trace
# the command's process writes, so the verdict can be had while it runs
# (every format says it is running, and how old the last snapshot is), and
# the trace is there after a SIGKILL of run and command together. When the
# command ends, the trace itself takes the link's place.
. "$(dirname "$0")/lib.sh"

wait_for() { # FILE: up to 2 s
	for _ in $(seq 40); do [ -e "$1" ] && return 0; sleep 0.05; done
	return 1
}

"$HC" run -q -o live.hct -- "$PROG/dieyoung" wait >out &
run=$!
wait_for live.hct
ok $? "live.hct is there within 2 s of the start"
sleep 0.3 # past the 200-ms snapshot
cmd=$(pgrep -P $run)
is "$(readlink live.hct)" "$(ls -a | grep '^\.heapcreep-run\.')/$cmd.hct" \
	"a link to the command's own trace in run's directory"
"$HC" report -f json live.hct >live.json 2>live.err
is "$(jget live.json '.trace | "\(.complete) \(.running)"')" "false true" "JSON: not complete, running"
age=$(jget live.json .trace.last_snapshot_age_s)
ok "$(awk -v a="$age" 'BEGIN { exit !(a >= 0 && a < 2) }'; echo $?)" "JSON: the last snapshot $age s ago"
is "$(jget live.json '.sites[0] | "\(.live_bytes_end) \(.frames[0].function)"')" "16777216 leak_early" \
	"the 16 MiB on leak_early already"
grep -q "is still running: reporting the trace as written so far (last snapshot" live.err
ok $? "stderr says it is still running"
"$HC" report live.hct 2>/dev/null | grep -Eq '^  trace .*, running \(pid [0-9]+\): last snapshot [0-9.]+ s ago$'
ok $? "text: running, and the last snapshot's age"
"$HC" report -f html live.hct 2>/dev/null | grep -Eq 'running \(pid [0-9]+\): last snapshot [0-9.]+ s ago'
ok $? "HTML: the same"
"$HC" gate live.hct >/dev/null 2>gate.err
grep -q "is still running" gate.err
ok $? "gate says so too"

# The command killed: run places the trace itself at live.hct.
kill -KILL "$cmd"
wait $run
is "$?" 137 "run dies as its command did"
[ -f live.hct ] && [ ! -L live.hct ]
ok $? "live.hct is now the trace itself"
"$HC" report -f json live.hct >after.json 2>/dev/null
is "$(jget after.json '.trace | "\(.complete) \(.running) \(.last_snapshot_age_s)"')" "false false null" \
	"cut short, not running"
is "$(ls -a | grep -c '^\.heapcreep-run\.')" 0 "run's directory is gone"

# report --follow in a terminal (script gives it one): the report drawn
# again each interval over the last, until the process ends.
"$HC" run -q -o fol.hct -- "$PROG/dieyoung" wait >out3 &
run=$!
wait_for fol.hct
sleep 0.3
cmd=$(pgrep -P $run)
(sleep 2.5; kill -KILL "$cmd") &
script -qfec "\"$HC\" report --follow fol.hct" /dev/null >follow.out 2>&1
is "$?" 0 "report --follow ends when the process does, exit 0"
wait $run
draws=$(grep -o "$(printf '\033\\[H\033\\[2J')" follow.out | wc -l)
ok "$([ "$draws" -ge 3 ]; echo $?)" "--follow drew the report $draws times (the interval is 1 s)"
grep -c "running (pid $cmd): last snapshot" follow.out >running.n
ok "$([ "$(cat running.n)" -ge 2 ]; echo $?)" "$(cat running.n) of them say it is running"
tail -n +1 follow.out | tr -d '\r' | awk '/\033\[H\033\[2J/ { last = "" } { last = last $0 "\n" } END { printf "%s", last }' >last.screen
grep -q "incomplete: no END record" last.screen
ok $? "the last draw: the trace cut short (the process was killed)"
"$HC" report --follow -f json fol.hct >/dev/null 2>&1
is "$?" 2 "--follow is for the text report"

# Without -o, when a wrapper's child did the work, the trace is named after
# that child: the link named after the wrapper's pid does not stay behind.
mkdir wrap && (cd wrap && "$HC" run -q -- sh -c "\"$PROG/allocs\" 2000; true")
is "$(cd wrap && find . -maxdepth 1 -name 'heapcreep.*.hct' -type l | wc -l) $(cd wrap && ls heapcreep.*.hct | wc -l)" "0 1" \
	"a wrapper's run: one trace, no link left"

# SIGKILL of run and command together (a container stopped, a unit's
# control group killed): the link stays, and leads to the trace.
setsid "$HC" run -q -o grp.hct -- "$PROG/dieyoung" wait >out2 &
run=$!
wait_for grp.hct
sleep 0.3
pgid=$(ps -o pgid= -p "$(pgrep -x dieyoung | head -n 1)" | tr -d ' ')
is "$(ps -o pgid= -p "$(pgrep -f 'heapcreep-cli run -q -o grp.hct' | head -n 1)" | tr -d ' ')" "$pgid" \
	"run and its command in one process group"
kill -9 "-$pgid"
sleep 0.2
[ -L grp.hct ]
ok $? "after kill -9 of the process group, grp.hct is there"
"$HC" report -f json grp.hct >grp.json 2>/dev/null
is "$(jget grp.json '"\(.trace.complete) \(.trace.running) \(.sites[0].live_bytes_end) \(.sites[0].frames[0].function)"')" \
	"false false 16777216 leak_early" "and reads: cut short, the 16 MiB on leak_early"
done_testing
