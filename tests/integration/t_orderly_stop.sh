# An orderly stop is told from a lost connection: the stopping side ends
# TLS with close_notify, so a worker whose master stops logs a WARNING
# (not an ERROR) and reconnects, and a master whose worker stops logs no
# SSL "unexpected eof".  A killed master is still an ERROR.
. "$(dirname "$0")/lib.sh"

conf_cluster
start_cluster

# The master serves no agents here: it joins the enrollment pool only.
log_has master1 '\[Pools\] master1 joins the pools \(enrollment 127\.0\.0\.1:[0-9]+\)\.' ||
	fail "the master's own pool line: $(grep 'master1 joins' "$T/master1/logs/cluster.log")"
log_has master1 'port 0' && fail "a pool line still names port 0"

kill "$(pid_of worker2)"
wait "$(pid_of worker2)" 2>/dev/null
wait_for 10 "worker2 gone" not_listed master1 worker2
log_has master1 '\[Worker worker2\] \[Main\] Disconnected: read: connection closed by peer \(orderly\)' ||
	fail "the master did not see worker2's orderly close"
log_has master1 'unexpected eof' && fail "the master logged an SSL unexpected eof for a worker's stop"
pass "a worker's stop: the master logs an orderly close, no SSL error"

kill "$(pid_of master1)"
wait "$(pid_of master1)" 2>/dev/null
wait_for 10 "worker1 notices" log_has worker1 'WARNING: .*The master closed the connection \(stopping or restarting\?\)'
sleep 2	# several reconnection attempts, refused
after=$(sed -n '/The master closed the connection/,$p' "$T/worker1/logs/cluster.log")
grep -q 'WARNING: .*Could not connect to master' <<<"$after" || fail "no refused reconnection logged"
grep ERROR <<<"$after" && fail "worker1 logged an ERROR after the master's orderly stop"
pass "the master's stop: the worker warns and reconnects, no ERROR"

start master1
wait_for 15 "worker1 reconnects" listed master1 worker1
kill -9 "$(pid_of master1)"
wait_for 10 "worker1 notices the kill" log_has worker1 'ERROR: .*Connection with master lost'
pass "a killed master is still an ERROR on the worker"
finish
