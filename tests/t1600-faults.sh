#!/bin/sh
# Faults in the shim never harm the traced program: a full disk, its output
# directory removed, no collector thread, no memory for the shim, a storm of
# signals (with a handler that does work, and one that mallocs), EINTR and
# short counts on every write, a disk that hangs. For each: the program's
# stdout and exit status are those of an untraced run, it does not hang,
# the shim says at most one line on stderr, and the trace (when there is
# one) reads back, with the reason in its notes when it could be written.
# Faults are injected by tests/programs/libfaults.so, preloaded after the
# shim so that only the shim's own write/mmap/pthread_create calls see them.
. "$(dirname "$0")/lib.sh"

FAULTS=$PROG/libfaults.so
W=$PROG/workload
# 40000 iterations a thread with a pause every 64: about 2 s, so that the
# faults land mid-run; promotion and snapshots at 100 ms give the trace
# some 300 KB to write.
ITER=40000
PAUSE=3000
LIMIT=60
export HEAPCREEP_PROMOTE=100ms HEAPCREEP_INTERVAL=100ms

"$W" $ITER $PAUSE >base.out 2>base.err
base_rc=$?
is "$base_rc $(wc -l <base.out) $(wc -c <base.err)" "3 1 0" "untraced run: exit 3, one line out, nothing on stderr"

# traced NAME [VAR=value...]: runs the workload under the shim (and the
# fault library) with a hard time limit; checks exit status, stdout and
# stderr. The stderr line is left in NAME.line (empty when none).
traced() {
	name=$1
	shift
	start=$(date +%s)
	timeout -s KILL $LIMIT env "$@" FAULTS_LOG="$TMP/$name.faults" \
		"$W" $ITER $PAUSE >"$name.out" 2>"$name.err"
	rc=$?
	secs=$(($(date +%s) - start))
	is "$rc" "$base_rc" "$name: exit status unchanged, no hang ($secs s)"
	ok "$(cmp -s base.out "$name.out"; echo $?)" "$name: stdout unchanged"
	lines=$(wc -l <"$name.err")
	ok "$([ "$lines" -le 1 ] && ! grep -qv '^heapcreep: ' "$name.err"; echo $?)" \
		"$name: at most one line on stderr, the shim's ($lines)"
	sed 's/^heapcreep: //' "$name.err" >"$name.line"
}

# faulted NAME KIND: how many calls of the shim the fault hit (FAULTS_LOG).
faulted() {
	awk -v k="$2" '$2 == k { n += $3 } END { print n + 0 }' "$1.faults" 2>/dev/null || echo 0
}

# readback NAME TRACE: the trace reads back; its JSON report is NAME.json.
readback() {
	"$HC" report -f json "$2" >"$1.json" 2>"$1.rerr"
	is "$?" 0 "$1: the trace reads back (report -f json exits 0)"
}

# stopped NAME: the trace ends with END (stopped) and a NOTE holding the
# shim's stderr line.
stopped() {
	is "$(jget "$1.json" '.trace | "\(.complete) \(.end_reason)"')" "true stopped" \
		"$1: the trace is whole and ends 'stopped'"
	is "$(jget "$1.json" '[.trace.notes[] | select(.level == "error") | .message] | join("|")')" \
		"$(cat "$1.line")" "$1: the note in the trace says why, as stderr did"
}

preload="$LIB $FAULTS"

# --- 1. the output device fills up ------------------------------------------

# A real one: a 64 KiB tmpfs (root only), filled by the trace mid-run.
mkdir full
trap 'umount "$TMP/full" 2>/dev/null; rm -rf "$TMP"' EXIT
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=64k hctest "$TMP/full" 2>/dev/null; then
	traced tmpfs HEAPCREEP_OUTPUT="$TMP/full/t.hct" LD_PRELOAD="$LIB"
	is "$(cat tmpfs.line)" "tracing stopped: cannot write trace '$TMP/full/t.hct': No space left on device" \
		"tmpfs: the one line says the disk is full"
	readback tmpfs full/t.hct
	stopped tmpfs
	ok "$(jget tmpfs.json '.trace.duration_s > 0.1 and .totals.allocations > 1000' | grep -qx true; echo $?)" \
		"tmpfs: the trace keeps what was written before ($(jget tmpfs.json .totals.allocations) allocations)"
	umount "$TMP/full"
else
	skip "full tmpfs" "cannot mount a tmpfs here (not root?); the injected ENOSPC below stands in"
fi

# Injected: the shim's file may not pass 30000 bytes (a short write, then
# ENOSPC), as on a nearly full disk.
traced enospc HEAPCREEP_OUTPUT="$TMP/enospc.hct" LD_PRELOAD="$preload" FAULTS_DISK=30000
ok "$([ "$(faulted enospc enospc)" -ge 1 ]; echo $?)" "enospc: the fault reached the shim's write() ($(faulted enospc enospc) calls)"
is "$(cat enospc.line)" "tracing stopped: cannot write trace '$TMP/enospc.hct': No space left on device" \
	"enospc: the one line says the disk is full"
readback enospc enospc.hct
stopped enospc
ok "$([ "$(stat -c %s enospc.hct)" -le 30000 ]; echo $?)" "enospc: the file stays within the device ($(stat -c %s enospc.hct) bytes)"

# --- 2. the output directory is removed mid-run -------------------------------

# The open file lives on, unlinked: nothing to say, nothing to read.
mkdir gone
(sleep 0.7; rm -rf "$TMP/gone") >/dev/null 2>&1 &
traced rmdir HEAPCREEP_OUTPUT="$TMP/gone/t.hct" LD_PRELOAD="$LIB"
wait
is "$(cat rmdir.line)" "" "rmdir: no complaint (the open trace is written to its unlinked file)"

# Through `heapcreep run`: its private directory goes with it.
mkdir gone
(sleep 0.7; rm -rf "$TMP/gone") >/dev/null 2>&1 &
start=$(date +%s)
timeout -s KILL $LIMIT "$HC" run -o "$TMP/gone/r.hct" -- "$W" $ITER $PAUSE >run.out 2>run.err
rc=$?
wait
is "$rc" "$base_rc" "run, directory removed: exit status unchanged ($(($(date +%s) - start)) s)"
ok "$(cmp -s base.out run.out; echo $?)" "run, directory removed: stdout unchanged"
is "$(cat run.err)" "heapcreep: no trace was written" "run, directory removed: one line says there is no trace"

# --- 3. the collector thread cannot be created ----------------------------

# The shim's pthread_create fails (EAGAIN); the program's own succeeds.
traced thread HEAPCREEP_OUTPUT="$TMP/thread.hct" LD_PRELOAD="$preload" FAULTS_THREAD=1
is "$(faulted thread eagain)" 1 "thread: the shim's pthread_create got EAGAIN"
is "$(cat thread.line)" "tracing stopped: cannot start the collector thread for '$TMP/thread.hct': Resource temporarily unavailable" \
	"thread: the one line says why"
readback thread thread.hct
stopped thread

# --- 4. no memory for the shim ----------------------------------------------

# Every mmap of the shim fails, from the first (its writer's buffers).
traced nomem HEAPCREEP_OUTPUT="$TMP/nomem.hct" LD_PRELOAD="$preload" FAULTS_MMAP_AFTER=0
ok "$([ "$(faulted nomem enomem)" -ge 1 ]; echo $?)" "nomem: the fault reached the shim's mmap() ($(faulted nomem enomem) calls)"
is "$(cat nomem.line)" "tracing stopped: cannot start trace '$TMP/nomem.hct': Cannot allocate memory; no trace left" \
	"nomem: the one line says why"
ok "$([ ! -e nomem.hct ]; echo $?)" "nomem: no unreadable file is left behind"

# Later, mid-run: the shim's tables and rings cannot grow. Events are lost,
# and counted; the trace stays whole.
traced nomem_late HEAPCREEP_OUTPUT="$TMP/nomem_late.hct" LD_PRELOAD="$preload" FAULTS_MMAP_AFTER=16
ok "$([ "$(faulted nomem_late enomem)" -ge 1 ]; echo $?)" "nomem_late: the fault reached the shim ($(faulted nomem_late enomem) calls)"
readback nomem_late nomem_late.hct
ok "$(jget nomem_late.json '.trace.complete and .trace.lost_events > 0' | grep -qx true; echo $?)" \
	"nomem_late: the trace is whole and counts the lost events ($(jget nomem_late.json .trace.lost_events))"
is "$(jget nomem_late.json '[.trace.notes[] | select(.level == "warning") | .message | test("^[0-9]+ events lost so far: the collector.s tables could not grow \\(out of memory\\)$")] | any')" \
	true "nomem_late: a NOTE says why events were lost"
"$HC" report nomem_late.hct >nomem_late.txt 2>&1
ok "$(grep -q '^  shim said     at [0-9.]* [a-z]*: [0-9]* events lost so far: ' nomem_late.txt; echo $?)" \
	"nomem_late: and the terminal report shows it"

# Earlier: the trace starts, then no thread can map its ring. Each thread
# asks again every 10 ms, not on every event.
traced noring HEAPCREEP_OUTPUT="$TMP/noring.hct" LD_PRELOAD="$preload" FAULTS_MMAP_AFTER=12
readback noring noring.hct
ok "$(jget noring.json '.trace.complete and .trace.lost_events > 10000' | grep -qx true; echo $?)" \
	"noring: the trace is whole and counts the lost events ($(jget noring.json .trace.lost_events))"
is "$(jget noring.json '[.trace.notes[].message | test("^[0-9]+ events lost so far: a thread could get no ring \\([0-9]+ times no memory to map one, 0 times all 4096 rings in use, 0 times the collector stuck\\)$")] | any')" \
	true "noring: a NOTE says why events were lost"
ok "$([ "$(faulted noring enomem)" -ge 50 ] && [ "$(faulted noring enomem)" -le 1000 ]; echo $?)" \
	"noring: the failed mappings are retried every 10 ms, not per event ($(faulted noring enomem) in 2 s)"

# Address space (RLIMIT_AS) is not tested here: the shim's own mappings
# (rings, collector stack, zstd) come out of the program's budget, so a
# limit the program just fits in untraced can fail it traced
# (docs/reliability.md has the figures).

# --- 5. a storm of signals during allocation ---------------------------------

# storm NAME MODE [VAR=value...]: the workload with a SIGUSR1 handler, sent
# 20000 signals (one every 50 us) once the handler is installed.
storm() {
	name=$1 mode=$2
	shift 2
	env "$@" WORKLOAD_SIGLOG="$TMP/$name.sigs" "$W" $ITER $PAUSE "$mode" >"$name.out" 2>"$name.err" &
	pid=$!
	# The watchdog ends with the program (tail --pid), or kills it.
	(timeout $LIMIT tail --pid=$pid -f /dev/null || kill -KILL $pid) >/dev/null 2>&1 &
	dog=$!
	# Wait for the handler: SIGUSR1 (10) is bit 9 of SigCgt.
	for _ in $(seq 500); do
		mask=$(sed -n 's/^SigCgt:[[:space:]]*//p' /proc/$pid/status 2>/dev/null)
		[ -n "$mask" ] && [ $((0x$mask & 0x200)) -ne 0 ] && break
		sleep 0.01
	done
	sent=$("$PROG/sigstorm" $pid 20000 50)
	wait $pid
	rc=$?
	wait $dog
	got=$(cat "$name.sigs" 2>/dev/null || echo 0)
	is "$rc" "$base_rc" "$name: exit status unchanged, no hang"
	ok "$(cmp -s base.out "$name.out"; echo $?)" "$name: stdout unchanged"
	ok "$([ "$got" -ge 1000 ]; echo $?)" "$name: $got of $sent signals handled mid-allocation"
	lines=$(wc -l <"$name.err")
	ok "$([ "$lines" -le 1 ] && ! grep -qv '^heapcreep: ' "$name.err"; echo $?)" \
		"$name: at most one line on stderr, the shim's ($lines)"
}

storm sigwork sigwork HEAPCREEP_OUTPUT="$TMP/sigwork.hct" LD_PRELOAD="$LIB"
readback sigwork sigwork.hct
is "$(jget sigwork.json '.trace | "\(.complete) \(.lost_events)"')" "true 0" "sigwork: the trace is whole, nothing lost"

# A handler that mallocs. glibc's malloc is not async-signal-safe: it
# deadlocks on its arena lock when the signal lands inside it, with or
# without the shim. libbumpalloc.so is, so behind the shim it leaves the
# shim's own re-entrancy alone on trial.
BUMP=$PROG/libbumpalloc.so
storm sigmalloc_base sigmalloc LD_PRELOAD="$BUMP"
storm sigmalloc sigmalloc HEAPCREEP_OUTPUT="$TMP/sigmalloc.hct" LD_PRELOAD="$LIB $BUMP"
readback sigmalloc sigmalloc.hct
is "$(jget sigmalloc.json '.trace | "\(.complete) \(.lost_events)"')" "true 0" "sigmalloc: the trace is whole, nothing lost"
# The handler's blocks are traced, but for those whose signal interrupted
# the shim's own work on that thread (passed through, by design).
ok "$(jget sigmalloc.json ".totals.allocations > $(jget sigwork.json .totals.allocations)" | grep -qx true; echo $?)" \
	"sigmalloc: the handler's allocations are in the trace ($(jget sigmalloc.json .totals.allocations) vs $(jget sigwork.json .totals.allocations))"

# --- 6. EINTR and short counts on every write --------------------------------

traced eintr HEAPCREEP_OUTPUT="$TMP/eintr.hct" LD_PRELOAD="$preload" FAULTS_EINTR=1
ok "$([ "$(faulted eintr eintr)" -ge 10 ]; echo $?)" "eintr: every write of the shim was interrupted once ($(faulted eintr eintr) calls)"
is "$(cat eintr.line)" "" "eintr: nothing on stderr"
readback eintr eintr.hct
is "$(jget eintr.json '.trace | "\(.complete) \(.end_reason) \(.lost_events)"')" "true exit 0" "eintr: the trace is whole"

traced short HEAPCREEP_OUTPUT="$TMP/short.hct" LD_PRELOAD="$preload" FAULTS_SHORT=7
ok "$([ "$(faulted short short)" -ge 1000 ]; echo $?)" "short: writes of at most 7 bytes ($(faulted short short) calls cut)"
readback short short.hct
is "$(jget short.json '.trace | "\(.complete) \(.end_reason) \(.lost_events)"')" "true exit 0" "short: the trace is whole"
is "$(jget short.json .totals.allocations)" "$(jget eintr.json .totals.allocations)" "short: the same allocations as any other run"

# --- 7. the disk hangs --------------------------------------------------------

# Once 20000 bytes are out, the shim's writes block for good (a dead NFS
# server). The program may slow down, but must end: each thread waits for
# room in its ring at most HEAPCREEP_WAIT, and exit waits for the collector
# at most 5 s. A small ring and a short wait; the usual run (2 s).
HANG_LIMIT=15
start=$(date +%s)
timeout -s KILL $HANG_LIMIT env HEAPCREEP_OUTPUT="$TMP/hang.hct" LD_PRELOAD="$preload" FAULTS_HANG=20000 \
	HEAPCREEP_RING=64K HEAPCREEP_WAIT=50ms "$W" $ITER $PAUSE >hang.out 2>hang.err
rc=$?
secs=$(($(date +%s) - start))
# Once a wait has timed out, a ring drops at once until the collector moves.
is "$rc" "$base_rc" "hang: the program ends despite a hung disk, with its status ($secs s)"
ok "$(cmp -s base.out hang.out; echo $?)" "hang: stdout unchanged"

# --- 8. libzstd cannot be loaded --------------------------------------------

# The shim opens libzstd when its trace begins, not when it is loaded. When
# it cannot (a library removed, a broken container image; here an empty
# file bound over it in a mount namespace of the run's own), the program
# runs as it would untraced, the shim says so in one line, and the trace is
# whole, only uncompressed.
zstd=$(ldconfig -p | sed -n 's/.*libzstd\.so\.1 (libc6,x86-64) => //p' | head -n 1)
codecs() { python3 "$top/tests/tracetool.py" chunks "$1" | awk '{ print $2 }' | sort -u | tr '\n' ' '; }
if [ -n "$zstd" ] && unshare -m true 2>/dev/null; then
	timeout -s KILL $LIMIT unshare -m sh -c 'mount --bind /dev/null "$1" && shift && exec env "$@"' \
		sh "$zstd" HEAPCREEP_OUTPUT="$TMP/nozstd.hct" LD_PRELOAD="$LIB" "$W" $ITER $PAUSE \
		>nozstd.out 2>nozstd.err
	is "$?" "$base_rc" "no libzstd: exit status unchanged"
	ok "$(cmp -s base.out nozstd.out; echo $?)" "no libzstd: stdout unchanged"
	is "$(cat nozstd.err)" \
		"heapcreep: cannot load 'libzstd.so.1': $zstd: file too short; the trace is written uncompressed" \
		"no libzstd: one line on stderr, saying so"
	readback nozstd nozstd.hct
	is "$(jget nozstd.json '.trace | "\(.complete) \(.end_reason) \(.lost_events)"')" "true exit 0" \
		"no libzstd: the trace is whole"
	is "$(jget nozstd.json .totals.allocations)" "$(jget eintr.json .totals.allocations)" \
		"no libzstd: the same allocations as any other run"
	is "$(codecs nozstd.hct)/$(codecs eintr.hct)" "0 /1 " \
		"no libzstd: every chunk stored (codec 0); with it, chunks compressed (codec 1)"
else
	for what in "no libzstd: exit status" "stdout" "one line" "reads back" "whole" "the same allocations" "stored"; do
		skip "no libzstd: $what" "unshare -m is not allowed here"
	done
fi

done_testing
