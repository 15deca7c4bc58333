#!/bin/sh
# Real programs run unchanged under the shim (same stdout, same exit
# status), and their traces read back complete and without error.
. "$(dirname "$0")/lib.sh"

same() { # name command... : runs with and without heapcreep, compares
	name=$1
	shift
	"$@" >"$name.plain" 2>"$name.plain.err"
	plain=$?
	"$HC" run -q -o "$name.hct" -- "$@" >"$name.traced" 2>"$name.traced.err"
	traced=$?
	is "$traced" "$plain" "$name: same exit status ($plain)"
	cmp -s "$name.plain" "$name.traced"
	ok $? "$name: same stdout ($(wc -c <"$name.plain") bytes)"
	"$HC" report -f json "$name.hct" >"$name.json" 2>"$name.report.err"
	is "$?" 0 "$name: trace reads back"
	is "$(jget "$name.json" '"\(.trace.complete) \(.trace.lost_events) \(.totals.allocations > 0)"')" \
		"true 0 true" "$name: trace complete, nothing lost, allocations recorded"
}

cat >work.py <<'PY'
import json, sys
rows = [{"id": i, "name": "row%d" % i, "tags": list(range(i % 7))} for i in range(20000)]
text = json.dumps(rows)
back = json.loads(text)
print(len(text), sum(len(r["tags"]) for r in back))
sys.exit(3)
PY
same python3 python3 work.py

same perl perl -e 'my %h; $h{$_} = "x" x ($_ % 50) for 1..50000; my $n = 0; $n += length($h{$_}) for keys %h; print "$n\n"; exit 5'

mkdir repo
cd repo
same git-init git init -q .
i=0
while [ $i -lt 50 ]; do echo "line $i" >"f$i.txt"; i=$((i + 1)); done
same git-add git add .
# The commit's hash depends on the time: fix it, so both runs print the same.
export GIT_AUTHOR_DATE="2026-01-01T00:00:00Z" GIT_COMMITTER_DATE="2026-01-01T00:00:00Z"
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.org GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.org
"$HC" run -q -o ../git-commit.hct -- git commit -q -m "first" >../commit.out
is "$?" 0 "git commit under the shim succeeds"
is "$(git log --format=%s)" "first" "the commit is there"
same git-log git log --stat
cd ..
is "$("$HC" report -f json git-commit.hct | jq -r .trace.complete)" true \
	"git commit: trace complete"

{
	echo "create table t (id integer primary key, name text, v real);"
	echo "begin;"
	i=0
	while [ $i -lt 3000 ]; do echo "insert into t (name, v) values ('name$i', $i.5);"; i=$((i + 1)); done
	echo "commit;"
	echo "select count(*), sum(v), max(name) from t;"
} >inserts.sql
# A fresh database file for each run (the shell's child does the work).
same sqlite3 sh -c 'rm -f db.sqlite && sqlite3 db.sqlite ".read inserts.sql"'
is "$(jget sqlite3.json .trace.exe)" "$(readlink -f "$(command -v sqlite3)")" \
	"sqlite3 behind sh -c: the trace handed over is sqlite3's"
same sqlite3-memory sqlite3 :memory: ".read inserts.sql"

done_testing
