#!/bin/sh
# Dormant mode's allocation calls past the shim (preload/bypass.c): while
# dormant, the program's own GOT slots for the allocating entry points lead
# to libc's functions, free's to the shim (whose hook `heapcreep on` wakes);
# a window points them all back at the shim before its first event, so that
# it records every allocation made after `on` returned, exactly; its end
# points them away again; the read-only pages stay read-only. Both with
# slots bound at their first call (lazy) and bound at start in read-only
# pages (-z now, full RELRO).
. "$(dirname "$0")/lib.sh"

AWAY="self: malloc=libc.so.6 calloc=libc.so.6 realloc=libc.so.6 free=libheapcreep.so posix_memalign=libc.so.6"
SHIM="self: malloc=libheapcreep.so calloc=libheapcreep.so realloc=libheapcreep.so free=libheapcreep.so posix_memalign=libheapcreep.so"
BARE="self: malloc=libc.so.6 calloc=libc.so.6 realloc=libc.so.6 free=libc.so.6 posix_memalign=libc.so.6"

# start NAME PROGRAM [ENV...]: runs PROGRAM reading commands from fifo
# NAME.in on descriptor 3 (one program at a time), its answers in NAME.out.
start() {
	name=$1 program=$2
	shift 2
	rm -f "$name.in" "$name.out"
	mkfifo "$name.in"
	env "$@" "$program" <"$name.in" >"$name.out" 2>"$name.err" &
	pid=$!
	exec 3>"$name.in"
}

# ask COMMAND: sends it, prints the answer (waits up to 10 s).
ask() {
	want=$(($(wc -l <"$out") + 1))
	echo "$1" >&3
	for _ in $(seq 200); do
		[ "$(wc -l <"$out")" -ge "$want" ] && break
		sleep 0.05
	done
	sed -n "${want}p" "$out"
}

# perms: the permissions of the program's own mappings, in order.
perms() { awk -v p="$exe" '$6 == p { printf "%s ", $2 }' "/proc/$pid/maps"; }

# Without the shim, and traced from the start: nothing is pointed away.
exe=$PROG/gotslots-now
start bare "$exe"
out=bare.out
is "$(ask "show self")" "$BARE" "without the shim: every slot leads to libc"
bare_perms=$(perms)
echo quit >&3
exec 3>&-
wait "$pid"
start traced "$exe" HEAPCREEP_OUTPUT="$PWD/traced.hct" LD_PRELOAD="$LIB"
out=traced.out
is "$(ask "show self")" "$SHIM" "traced from the start: every slot leads to the shim"
echo quit >&3
exec 3>&-
wait "$pid"

for prog in gotslots gotslots-now; do
	exe=$PROG/$prog
	start "$prog" "$exe" HEAPCREEP_DORMANT=1 LD_PRELOAD="$LIB"
	out=$prog.out
	is "$(ask "show self")" "$AWAY" "$prog dormant: allocating slots lead to libc, free to the shim"
	is "$(perms)" "$bare_perms" "$prog dormant: its mappings as without the shim"
	for w in 1 2; do
		"$HC" on -o "$PWD/$prog.w$w.hct" "$pid" >on.out 2>on.err &
		on=$!
		sleep 0.3
		ask "temp 1" >/dev/null # its free reaches the shim, which wakes
		wait "$on"
		is "$?" 0 "$prog window $w: on, woken by a free"
		is "$(ask "show self")" "$SHIM" "$prog window $w: every slot leads to the shim"
		[ "$prog" = gotslots-now ] && is "$(perms)" "$bare_perms" "$prog window $w: its read-only pages read-only again"
		keep=$((w * 300 + 3))
		ask "keep $keep" >/dev/null
		ask "temp 500" >/dev/null
		"$HC" off "$pid" >/dev/null
		is "$(ask "show self")" "$AWAY" "$prog window $w off: the allocating slots lead to libc again"
		[ "$prog" = gotslots-now ] && is "$(perms)" "$bare_perms" "$prog window $w off: read-only pages read-only"
		# keep: a third each by malloc, calloc and realloc of a malloc'd 16
		"$HC" report -f json "$prog.w$w.hct" >w.json
		is "$(jget w.json '.totals | "\(.allocations) \(.frees) \(.live_blocks_end) \(.live_bytes_end)"')" \
			"$((keep + keep / 3 + 500)) $((keep / 3 + 500)) $keep $((keep * 4321))" \
			"$prog window $w: exactly the allocations made after on: $keep kept, 500 temporaries"
		is "$(jget w.json '"\(.trace.unknown_frees) \(.trace.lost_events)"')" "0 0" \
			"$prog window $w: no unknown free, nothing lost"
	done
	echo quit >&3
	exec 3>&-
	wait "$pid"
	is "$?" 0 "$prog: exit 0"
done

# An object whose RELRO pages are writable, as while the loader relocates
# it, is left alone: its slots stay where they lead until the pages are
# read-only again (here the program's own, made writable in a window).
start relro "$PROG/gotslots-now" HEAPCREEP_DORMANT=1 LD_PRELOAD="$LIB"
out=relro.out
# the program answers: its shim is loaded and dormant (a `heapcreep on`
# sent before that finds no dormant process to switch on, and fails)
ask "show self" >/dev/null
# on: a window, opened at a free made after `heapcreep on` asked for it (a
# free made earlier opens nothing: under load `on` may take longer than any
# fixed sleep), so frees are made until it answers; asked again (three
# times at most) if it failed, what it said kept in on.err. Only where the
# window's figures are not checked.
on() {
	for _ in 1 2 3; do
		"$HC" on "$pid" >/dev/null 2>>on.err &
		on=$!
		for _ in $(seq 100); do
			sleep 0.1
			kill -0 "$on" 2>/dev/null || break
			ask "temp 1" >/dev/null
		done
		wait "$on" && return 0
	done
	diag "heapcreep on failed three times: $(cat on.err)"
	return 1
}
window() { # COMMAND...: a window around the program's answers to them
	on
	for c in "$@"; do ask "$c" >/dev/null; done
	"$HC" off "$pid" >/dev/null
}
window "relro rw"
is "$(ask "show self")" "$SHIM" "RELRO writable at the window's end: the slots stay on the shim"
is "$(ask "relro ro")" "relro ro" "read-only again"
window
is "$(ask "show self")" "$AWAY" "at the next window's end: the allocating slots lead to libc"
echo quit >&3
exec 3>&-
wait "$pid"

# Windows opened and closed while another thread opens and closes a library
# with read-only slots in a loop: the slots of an object the loader is
# still relocating are left alone (its RELRO pages are not read-only yet;
# made read-only early, the loader's next write would fault).
exe=$PROG/gotslots-now
start loop "$exe" HEAPCREEP_DORMANT=1 LD_PRELOAD="$LIB"
out=loop.out
is "$(ask "dlloop $PROG/libplugin-now.so")" dlloop "a thread opens and closes libplugin-now.so"
cycles=0
for i in $(seq 12); do
	on || break
	"$HC" off "$pid" >/dev/null || break
	cycles=$((cycles + 1))
done
is "$cycles" 12 "12 windows on and off while it runs"
is "$(ask "show self")" "$AWAY" "the process answers, its allocating slots on libc again"
loops=$(ask loops | sed 's/^loops //')
ok "$([ "$loops" -gt 1000 ]; echo $?)" "the loop went on all along ($loops opens)"
echo quit >&3
exec 3>&-
wait "$pid"
is "$?" 0 "exit 0"
rm -f "/tmp/heapcreep-$(id -u)/$pid".w*.hct

done_testing
