#!/bin/sh
# The analyzer's progress line: on a terminal only, erased when the analysis
# ends, never on standard output; HEAPCREEP_PROGRESS=0 turns it off, =1 shows
# it from the start, and the shim ignores the variable.
. "$(dirname "$0")/lib.sh"

HEAPCREEP_PROGRESS=1 "$HC" run -q -o t.hct -- "$PROG/allocs" 20000 2>run.err
is "$?" 0 "a traced run with HEAPCREEP_PROGRESS set exits 0"
is "$(wc -c <run.err | tr -d ' ')" 0 "the shim says nothing about HEAPCREEP_PROGRESS"
"$HC" dump t.hct >t.dump
grep -q '^END' t.dump
ok $? "and the trace is whole"

"$HC" report -f json t.hct >plain.json 2>plain.err
is "$?" 0 "report with standard error not a terminal: exit 0"

# Runs the report with standard error on a terminal: the exit status on
# standard output, the bytes the terminal got in tty.err, the report in
# tty.json.
tty_report() { # HEAPCREEP_PROGRESS value ("unset" for none)
	python3 - "$1" "$HC" <<'PY'
import os, pty, subprocess, sys
env = dict(os.environ)
env.pop("HEAPCREEP_PROGRESS", None)
if sys.argv[1] != "unset":
    env["HEAPCREEP_PROGRESS"] = sys.argv[1]
m, s = pty.openpty()
p = subprocess.Popen([sys.argv[2], "report", "-f", "json", "t.hct"], env=env,
                     stdout=open("tty.json", "w"), stderr=s, stdin=subprocess.DEVNULL)
os.close(s)
got = b""
while True:
    try:
        d = os.read(m, 65536)
    except OSError:
        break
    if not d:
        break
    got += d
p.wait()
open("tty.err", "wb").write(got)
print(p.returncode)
PY
}

is "$(tty_report 1)" 0 "on a terminal with HEAPCREEP_PROGRESS=1: exit 0"
tr '\r' '\n' <tty.err >draws
for pass in 1 2 3; do
	grep -q "^heapcreep: analysing t.hct: pass $pass of 3, *[0-9]*%$" draws
	ok $? "the terminal shows pass $pass of 3 with a percentage"
done
is "$(tail -c 1 tty.err | od -An -c | tr -d ' ')" '\r' "the last byte is a carriage return"
wide=$(grep heapcreep draws | awk '{ if (length($0) > w) w = length($0) } END { print w }')
is "$(tail -n 1 draws | tr -d ' \n' | wc -c | tr -d ' ')" 0 "the line is erased with spaces at the end"
is "$(tail -n 1 draws | wc -c | tr -d ' ')" $((wide + 1)) "as many as the widest line ($wide)"
is "$(grep -c . tty.err)" 1 "all of it on one terminal line (no newline)"
cmp -s tty.json plain.json
ok $? "standard output is the same report byte for byte"

is "$(tty_report 0)" 0 "HEAPCREEP_PROGRESS=0: exit 0"
is "$(wc -c <tty.err | tr -d ' ')" 0 "and nothing on the terminal"
cmp -s tty.json plain.json
ok $? "and the same report"
tty_report unset >/dev/null
is "$(wc -c <tty.err | tr -d ' ')" 0 "by default a report done within half a second shows nothing"
tty_report maybe >/dev/null
printf "heapcreep: HEAPCREEP_PROGRESS 'maybe' is neither 0 nor 1; ignored\r\n" >expect
cmp -s tty.err expect
ok $? "a value other than 0 or 1: one line saying it is ignored"

HEAPCREEP_PROGRESS=1 "$HC" report -f json t.hct >file.json 2>file.err
is "$(wc -c <file.err | tr -d ' ')" 0 "standard error not a terminal, HEAPCREEP_PROGRESS=1: nothing on it"
cmp -s file.json plain.json
ok $? "and the same report"
is "$(wc -c <plain.err | tr -d ' ')" 0 "nor by default"

done_testing
