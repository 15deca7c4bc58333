#!/bin/sh
# Real servers under real load, traced by `heapcreep run`, each started and
# stopped here on a free loopback port: redis (redis-benchmark) and nginx
# with two forked workers (ab). They keep serving without an error, their
# traces (every process's) read back whole, and a steady workload gets no
# LEAK from `gate`; then redis with a keyspace that only grows (random keys,
# no expiry) is called a leak, at a site in redis's own code, with every
# stack that holds 10% of the growth reported; with keys that expire, not.
# A server or load tool that is not installed is skipped with the reason
# (scripts/install-deps test installs them all).
. "$(dirname "$0")/lib.sh"

STEADY=13  # seconds of each steady workload
GROW=20    # seconds of the growing one

pids=
cleanup() {
	for f in "$TMP"/*.pid; do
		[ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
	done
	for p in $pids; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT

# wait_bounded PID SECS: waits for a child of this shell (the wrapper), its
# status in rc; a server still there after SECS is killed.
wait_bounded() {
	n=0
	while [ $n -lt $(($2 * 10)) ]; do
		state=$(sed 's/.*) //' /proc/"$1"/stat 2>/dev/null | cut -c1)
		[ -z "$state" ] || [ "$state" = Z ] && break
		sleep 0.1
		n=$((n + 1))
	done
	if [ $n -ge $(($2 * 10)) ]; then
		diag "still running after $2 s: killed"
		for f in "$TMP"/*.pid; do
			[ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
		done
	fi
	wait "$1"
	rc=$?
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

missing() { # commands...: the first one not installed
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || { echo "$c"; return; }
	done
}

# traces_ok NAME TRACE...: each reads back whole, with nothing lost.
traces_ok() {
	name=$1
	shift
	for t in "$@"; do
		"$HC" report -f json "$t" >r.json 2>r.err
		rc=$?
		is "$rc $(jget r.json '.trace | "\(.complete) \(.end_reason) \(.lost_events)"')" "0 true exit 0" \
			"$name: $(basename "$t") reads back whole, nothing lost ($(jget r.json .totals.allocations) allocations)"
	done
}

# --- redis -------------------------------------------------------------------

# redis_start NAME: redis under `heapcreep run`, no persistence; sets port
# and wrapper.
redis_start() {
	port=$(free_port)
	"$HC" run -o "$TMP/$1.hct" -- redis-server --port "$port" --bind 127.0.0.1 --save '' \
		--appendonly no --dir "$TMP" --pidfile "$TMP/$1.pid" --logfile "$TMP/$1.log" \
		>"$1.out" 2>"$1.err" &
	wrapper=$!
	pids="$pids $wrapper"
	for _ in $(seq 100); do
		[ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && return 0
		sleep 0.1
	done
	return 1
}

# bursts ARGS...: for GROW seconds, bursts of 5000 requests on random keys
# out of 10^8 (redis-benchmark ARGS), half a second apart; counts runs and
# the bursts that failed (bad).
bursts() {
	start=$(date +%s) runs=0 bad=0
	while [ $(($(date +%s) - start)) -lt $GROW ]; do
		redis-benchmark -p "$port" -q -n 5000 -c 10 -r 100000000 "$@" >bench.out 2>&1 ||
			bad=$((bad + 1))
		grep -qi 'error' bench.out && bad=$((bad + 1))
		runs=$((runs + 1))
		sleep 0.5
	done
}
redis_stop() { # NAME: shuts redis down; the wrapper's exit status in rc
	redis-cli -p "$port" shutdown nosave >/dev/null 2>&1
	wait_bounded "$wrapper" 30
}

m=$(missing redis-server redis-cli redis-benchmark)
if [ -n "$m" ]; then
	skip "redis under load" "'$m' is not installed (apt-get install redis-server redis-tools)"
else
	redis_start redis
	ok $? "redis answers under heapcreep run (port $port)"
	# A fixed keyspace (-r 1000): the data plateaus, the churn does not stop.
	start=$(date +%s) runs=0 bad=0
	while [ $(($(date +%s) - start)) -lt $STEADY ]; do
		redis-benchmark -p "$port" -q -n 20000 -c 20 -r 1000 -t set,get,incr,hset,sadd >bench.out 2>&1 ||
			bad=$((bad + 1))
		grep -qi 'error' bench.out && bad=$((bad + 1))
		runs=$((runs + 1))
	done
	rps=$(tr '\r' '\n' <bench.out | sed -n 's/^SET: \([0-9.]*\) requests per second.*/\1/p' | cut -d. -f1)
	is "$bad" 0 "redis-benchmark: $runs runs of 100000 requests, each exit 0 and no error (SET at ${rps:-?}/s)"
	keys=$(redis-cli -p "$port" dbsize)
	# key:N (SET) and counter:N (INCR), N < 1000; myhash, myset
	ok "$([ "$keys" -le 2002 ]; echo $?)" "the keyspace stays bounded ($keys keys)"
	redis_stop redis
	is "$rc" 0 "redis shuts down cleanly; run exits 0"
	traces_ok redis redis.hct
	"$HC" gate redis.hct >gate.out 2>gate.err
	is "$?" 0 "redis, steady load: gate passes ($(cat gate.err))"

	# A keyspace that only grows: bursts of SETs on random keys out of 10^8.
	redis_start grow
	ok $? "redis answers again (port $port)"
	bursts -d 64 -t set
	keys=$(redis-cli -p "$port" dbsize)
	is "$bad" 0 "redis-benchmark: $runs bursts of 5000 SETs on random keys, no error"
	ok "$([ "$keys" -ge $((runs * 4000)) ]; echo $?)" "the keyspace grows ($keys keys)"
	redis_stop grow
	is "$rc" 0 "redis shuts down cleanly; run exits 0"
	traces_ok grow grow.hct
	"$HC" report -f json grow.hct >grow.json 2>/dev/null
	is "$(jget grow.json .verdict)" leak "report: the growing keyspace is a leak"
	top=$(jget grow.json '[.sites[] | select(.verdict == "leak")][0].frames | map(.function) | join(" ")')
	diag "top leak: +$(jget grow.json '[.sites[] | select(.verdict == "leak")][0].growth_bytes_per_s | floor') B/s at $top"
	ok "$(echo " $top " | grep -Eq ' (zmalloc|zmalloc_usable|zcalloc|dictAdd|dictAddRaw|_sdsnewlen|sdsnewlen|createStringObject|dbAdd|setKey) '; echo $?)" \
		"the leak is at a site in redis (zmalloc, dictAdd, sdsnewlen...)"
	"$HC" gate grow.hct >/dev/null 2>&1
	is "$?" 1 "gate fails it (exit 1)"
	# Every stack holding 10% or more of the heap's growth after warm-up is
	# reported (it, or the caller node it is attributed to, is a LEAK), and
	# the reported rates (LEAK and INCONCLUSIVE) add up to the heap trough's
	# slope (least squares after warm-up) within 20%.
	jq -r '
		(.windows.time_s | map(. >= $w) | index(true)) as $k0 |
		(.windows.heap_min_bytes) as $h | (.windows.time_s) as $t |
		(($h | last) - $h[$k0]) as $grew |
		([$t[$k0:], $h[$k0:]] | transpose) as $p |
		($p | map(.[0]) | add / length) as $mx | ($p | map(.[1]) | add / length) as $my |
		(($p | map((.[0] - $mx) * (.[1] - $my)) | add) /
		 ($p | map((.[0] - $mx) * (.[0] - $mx)) | add)) as $slope |
		[.sites[] | select(.verdict == "leak") | .frames | map(.address)] as $leaks |
		([.sites[] | select(.verdict != "none") | .growth_bytes_per_s] | add) as $sum |
		[.sites[] | select(.verdict == "none") |
		 select(((.live_bytes_series | last) - .live_bytes_series[$k0]) >= 0.1 * $grew) |
		 (.frames | map(.address)) as $f |
		 select([$leaks[] | . as $l | $f[0:($l | length)] == $l] | any | not) |
		 .frames[0].function] as $missed |
		"\($slope | floor) \($sum | floor) \($missed | length) \($missed | join(","))"' \
		--argjson w "$(jget grow.json .settings.warmup_s)" grow.json >share.out
	read -r slope sum nmissed missed <share.out
	diag "heap trough +$slope B/s after warm-up; reported leaks add up to +$sum B/s"
	is "$nmissed" 0 "every stack holding 10% of the heap's growth is reported${missed:+ (missed: $missed)}"
	ok "$(awk -v a="$sum" -v b="$slope" 'BEGIN { exit !(b > 0 && a >= 0.8 * b && a <= 1.2 * b) }'; echo $?)" \
		"the reported rates add up to the heap's slope within 20%"
	# The same load with keys that expire after 2 s: the keyspace turns over.
	redis_start expire
	ok $? "redis answers again (port $port)"
	bursts SET 'key:__rand_int__' "$(printf '%064d' 0)" EX 2
	keys=$(redis-cli -p "$port" dbsize)
	is "$bad" 0 "redis-benchmark: $runs bursts of 5000 SETs with a 2-s expiry, no error"
	ok "$([ "$keys" -le 30000 ]; echo $?)" "the keyspace stays bounded ($keys keys)"
	redis_stop expire
	is "$rc" 0 "redis shuts down cleanly; run exits 0"
	"$HC" report -f json expire.hct >expire.json 2>/dev/null
	v=$(jget expire.json .verdict)
	ok "$([ "$v" != leak ]; echo $?)" "expiring keys: no LEAK ($v$(jget expire.json '[.sites[] | select(.verdict != "none") | .reason] | map("; " + .) | join("")'))"
fi

# --- nginx ---------------------------------------------------------------------

m=$(missing nginx ab)
if [ -n "$m" ]; then
	skip "nginx under load" "'$m' is not installed (apt-get install nginx apache2-utils)"
else
	port=$(free_port)
	# The workers drop to user nobody: they must be able to read the files.
	chmod 755 "$TMP"
	mkdir www logs
	head -c 6000 /dev/urandom | base64 >www/index.html
	cat >nginx.conf <<-EOF
		daemon off;
		master_process on;
		worker_processes 2;
		pid $TMP/nginx.pid;
		error_log $TMP/logs/error.log;
		events { worker_connections 512; }
		http {
		    access_log off;
		    client_body_temp_path $TMP/tmp-body;
		    proxy_temp_path $TMP/tmp-proxy;
		    fastcgi_temp_path $TMP/tmp-fastcgi;
		    uwsgi_temp_path $TMP/tmp-uwsgi;
		    scgi_temp_path $TMP/tmp-scgi;
		    server {
		        listen 127.0.0.1:$port;
		        root $TMP/www;
		    }
		}
	EOF
	"$HC" run -o "$TMP/nginx.hct" -- nginx -p "$TMP" -c "$TMP/nginx.conf" >nginx.out 2>nginx.err &
	wrapper=$!
	pids="$pids $wrapper"
	for _ in $(seq 100); do
		python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$port" 2>/dev/null && break
		sleep 0.1
	done
	ab -t $STEADY -n 10000000 -c 20 "http://127.0.0.1:$port/index.html" >ab.out 2>&1
	abrc=$?
	done_n=$(sed -n 's/^Complete requests:[[:space:]]*//p' ab.out)
	failed=$(sed -n 's/^Failed requests:[[:space:]]*//p' ab.out)
	non2xx=$(sed -n 's/^Non-2xx responses:[[:space:]]*//p' ab.out)
	is "$abrc ${failed:-?} ${non2xx:-0}" "0 0 0" "ab: ${done_n:-0} requests in $STEADY s, 0 failed, 0 non-2xx"
	kill -QUIT "$(cat nginx.pid)" # graceful stop
	wait_bounded "$wrapper" 30
	is "$rc" 0 "nginx stops gracefully; run exits 0"
	is "$(grep -c '\[\(alert\|crit\|emerg\)\]' logs/error.log)" 0 "nginx logged no alert"
	is "$(ls nginx.traces 2>/dev/null | wc -l)" 2 "three processes traced: the master and two workers (nginx.traces/ holds two)"
	traces_ok nginx nginx.hct nginx.traces/*.hct
	served=0 gated=0
	for t in nginx.hct nginx.traces/*.hct; do
		n=$("$HC" report -f json "$t" 2>/dev/null | jq .totals.allocations)
		[ "$n" -ge 10000 ] && served=$((served + 1))
		"$HC" gate "$t" >/dev/null 2>&1 || gated=$((gated + 1))
	done
	is "$served" 2 "both workers' traces hold the requests they served"
	is "$gated" 0 "nginx, steady load: gate passes on every process"
fi

done_testing
