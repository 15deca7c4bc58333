#!/usr/bin/env python3
"""counts.py COUNTS < DUMP: a program's own figures in a trace (from
`heapcreep dump`), and those it counted itself (COUNTS/counts.PID.IMAGE,
written by tests/programs/stress.c and handoff.c): allocations, frees and
bytes at the sites whose innermost frame is in the program itself (libc's
own allocations, such as a new thread's TLS, are not the program's), and
the live set at the last snapshot. Prints three lines: the events lost, the
trace's figures, the program's (t1900-stress.sh, t1910-handoff.sh)."""
import re, sys
pid = seq = exe = None
mods = []          # executable mappings of the program itself
first = {}         # stack id -> innermost frame
allocs = frees = nbytes = 0
live = {}          # stack id -> (live bytes, live blocks), the last seen
lost = None
in_modules = False
for line in sys.stdin:
    if line.startswith("HEADER "):
        pid = int(re.search(r" pid=(\d+)", line).group(1))
        seq = int(re.search(r" exec_seq=(\d+)", line).group(1))
        exe = re.search(r' exe="([^"]*)"', line).group(1)
    elif line.startswith("MODULES "):
        in_modules, mods = True, []
    elif line.startswith("  module "):
        if in_modules and re.search(r' path="([^"]*)"', line).group(1) == exe:
            mods.append((int(re.search(r"start=0x([0-9a-f]+)", line).group(1), 16),
                         int(re.search(r"end=0x([0-9a-f]+)", line).group(1), 16)))
    elif line.startswith("STACK "):
        in_modules = False
        sid = int(re.search(r"id=(\d+)", line).group(1))
        fr = re.findall(r"0x([0-9a-f]+)", line)
        first[sid] = int(fr[0], 16) if fr else None
    elif line.startswith("  site "):
        f = dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", line))
        a = first.get(f["stack"])
        if a is None or not any(lo <= a < hi for lo, hi in mods):
            continue  # not the program's own call
        allocs += f["allocs"]
        frees += f["frees"]
        nbytes += f["bytes_allocated"]
        live[f["stack"]] = (f["live_bytes"], f["live_blocks"])
    elif line.startswith("SNAPSHOT "):
        in_modules = False
        lost = int(re.search(r" lost_events=(\d+)", line).group(1))
    elif not line.startswith("  "):
        in_modules = False
want = {}
with open("%s/counts.%d.%d" % (sys.argv[1], pid, seq)) as f:
    for l in f:
        k, v = l.split()
        want[k] = int(v)
lb = sum(v[0] for v in live.values())
lk = sum(v[1] for v in live.values())
print("pid %d image %d: lost %s" % (pid, seq, lost))
print("trace:   allocs %d frees %d bytes %d live_blocks %d live_bytes %d" % (allocs, frees, nbytes, lk, lb))
print("program: allocs %d frees %d bytes %d live_blocks %d live_bytes %d" % (
    want["allocs"], want["frees"], want["bytes"], want["live_blocks"], want["live_bytes"]))
