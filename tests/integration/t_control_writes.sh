# Cluster-wide changes through cluster_control: made on the master, and
# from a worker's control socket only when the master allows it
# (worker_writes); every change is logged with the node and the local user
# (SO_PEERCRED) who asked.  Reads work from any node either way.
. "$(dirname "$0")/lib.sh"

write_conf master1 master
write_conf worker1 worker
start master1
start worker1
wait_for 10 "worker1 connected" listed master1 worker1
me=$(id -un)

# From a worker, refused by default, with a clear message.
out=$(ctl worker1 --create-group web 2>&1) && fail "a worker created a group: $out"
grep -q "cluster-wide changes are made on the master" <<<"$out" || fail "message: $out"
wait_for 5 "refusal logged" log_has master1 "Refused command group_create from worker worker1: cluster-wide changes are made on the master"
log_has worker1 "\[Control\] Command group_create from user $me \(uid [0-9]+, pid [0-9]+\)" ||
	fail "worker1 did not log who asked"
ctl worker1 -l >/dev/null || fail "a read from a worker"
pass "from a worker, a change is refused (worker_writes no), a read answered; both nodes log who asked"

# On the master itself: made, and logged with the user.
ctl master1 --create-group web >/dev/null || fail "create on the master"
log_has master1 "\[Control\] Command group_create from user $me \(uid [0-9]+, pid [0-9]+\)" ||
	fail "the master did not log who asked"
pass "on the master, a change is made and logged with the local user"

# worker_writes yes: accepted from the worker, logged with node and user.
echo "worker_writes yes" >> "$T/master1.conf"
kill -HUP "$(cat "$T/master1/var/run/clusterd.pid")"
wait_for 5 "reload" log_has master1 "Configuration reloaded"
ctl worker1 --create-group db >/dev/null || fail "create through the worker with worker_writes yes"
wait_for 5 "origin logged" log_has master1 "\[Worker worker1\] \[Control\] Command group_create from user $me \(uid [0-9]+, pid [0-9]+\)"
pass "with worker_writes yes, a worker's change is made; the master logs the node and the user"
finish
