# A killed worker disappears from the list; a hung one (stopped, socket
# still open) is dropped after keepalive_timeout.
. "$(dirname "$0")/lib.sh"

conf_cluster
start_cluster

kill -9 "$(pid_of worker1)"
wait_for 10 "killed worker removed" not_listed master1 worker1
log_has master1 '\[Worker worker1\] \[Main\] Disconnected' || fail "no disconnect line"
pass "killed worker removed"

kill -STOP "$(pid_of worker2)"
sleep 1.5
listed master1 worker2 || fail "worker2 dropped before its timeout"
wait_for 10 "hung worker dropped" not_listed master1 worker2
log_has master1 '\[Worker worker2\] \[Main\] Disconnected: no keep alive received in 3s' || fail "no timeout line"
pass "hung worker dropped after keepalive_timeout"

kill -CONT "$(pid_of worker2)"
wait_for 15 "worker2 back" listed master1 worker2
pass "resumed worker reconnects"
finish
