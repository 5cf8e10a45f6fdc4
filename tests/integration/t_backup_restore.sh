# The master's agent registry: an online backup (cluster_control --backup),
# a restore of that older backup by the documented procedure, and agent ids
# never reused after it: the old client.keys, or the workers' replicas when
# client.keys is gone too, tell the master which ids were spent; the master
# says loudly that agents were dropped.
. "$(dirname "$0")/lib.sh"

write_conf master1 master
write_conf worker1 worker
start master1
start worker1
wait_for 10 "worker1 connected" listed master1 worker1

# enroll_id NAME: enroll NAME through worker1, print the id it got.
enroll_id() {
	enroll worker1 "OSSEC A:'$1'" | sed -n "s/^OSSEC K:'\([0-9]*\) .*/\1/p"
}
# replica_has N: worker1's replica holds N agents.
replica_has() {
	[ "$(ctl_json worker1 '{"command":"status"}' | python3 -c \
		'import json,sys; print(json.load(sys.stdin)["data"]["agents"]["count"])')" = "$1" ]
}
stop_master() {
	kill "$(pid_of master1)"
	wait "$(pid_of master1)" 2>/dev/null
}
restore() {
	cp "$T/backup.db" "$T/master1/queue/db/global.db"
	rm -f "$T/master1/queue/db/global.db-wal" "$T/master1/queue/db/global.db-shm"
}

[ "$(enroll_id bk-1)" = 001 ] && [ "$(enroll_id bk-2)" = 002 ] || fail "first enrollments"
out=$(ctl master1 --backup "$T/backup.db") || fail "backup: $out"
[ "$out" = "Registry backed up to $T/backup.db." ] || fail "backup said: $out"
[ "$(stat -c %a "$T/backup.db")" = 600 ] || fail "backup mode $(stat -c %a "$T/backup.db")"
n=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from agent").fetchone()[0])' "$T/backup.db")
[ "$n" = 2 ] || fail "backup holds $n agents"
out=$(ctl master1 --backup "$T/backup.db" 2>&1) && fail "backup over an existing file: $out"
grep -q "backup failed: cannot create" <<<"$out" || fail "message: $out"
out=$(ctl worker1 --backup "$T/w.db" 2>&1) && fail "backup from a worker: $out"
grep -q "a backup is made on the master" <<<"$out" || fail "message: $out"
(cd "$T" && "$CTL" -H "$T/master1" --backup rel.db >/dev/null) || fail "relative path"
[ -s "$T/rel.db" ] || fail "relative backup not written in the current folder"
pass "--backup: an online copy, owner-only, never over a file, only on the master, relative paths"

# Enrolled after the backup: lost by the restore.
[ "$(enroll_id bk-3)" = 003 ] && [ "$(enroll_id bk-4)" = 004 ] || fail "later enrollments"
wait_for 10 "worker1 has 4 agents" replica_has 4

# Restore with the old client.keys in place: it names 003 and 004.
stop_master
restore
start master1
wait_for 10 "worker1 back" listed master1 worker1
log_has master1 "etc/client.keys knows agent ids up to 004, past the registry's next id 003" ||
	fail "no warning about client.keys' ids"
wait_for 10 "worker1 warned" log_has master1 "Worker worker1 holds agents up to id 004, the registry only up to 002"
wait_for 10 "worker1 resynchronized" replica_has 2
log_has worker1 "The master's agents lack 2 this worker knew, up to id 004" ||
	fail "worker1 did not warn about dropped agents"
id=$(enroll_id bk-5)
[ "$id" = 005 ] || fail "after a restore, a new agent got id $id (003 and 004 were given before)"
pass "restore: old client.keys keeps 003-004 spent; new agent 005; master and worker warn of dropped agents"

# Restore again with client.keys gone too (a new master host): worker1's
# replica (001 002 005) tells.
wait_for 10 "worker1 has 3 agents" replica_has 3
stop_master
restore
rm -f "$T/master1/etc/client.keys"
start master1
wait_for 10 "worker1 back" listed master1 worker1
wait_for 10 "worker1's ids taken" log_has master1 "Worker worker1 knows agent ids up to 005"
id=$(enroll_id bk-6)
[ "$id" = 006 ] || fail "with client.keys gone, a new agent got id $id"
# The next id is durable: a restart keeps it.
stop_master
start master1
wait_for 10 "worker1 back" listed master1 worker1
id=$(enroll_id bk-7)
[ "$id" = 007 ] || fail "after a restart, a new agent got id $id"
pass "restore without client.keys: the workers' replicas keep ids spent (006, then 007 after a restart)"
finish
