# The master is killed and restarted: workers notice and come back by
# themselves.
. "$(dirname "$0")/lib.sh"

conf_cluster
start_cluster

kill -9 "$(pid_of master1)"
wait_for 10 "worker1 notices" log_has worker1 'Connection with master lost'
ctl worker1 -l >/dev/null 2>&1 && fail "worker answered -l without a master"
pass "workers notice the master is gone"

sleep 1
start master1
wait_for 15 "workers reconnect" listed master1 worker1 worker2
pass "workers reconnected by themselves"
[ "$(log_count worker1 'Successfully connected to master')" -ge 2 ] || fail "no second connect in the log"
finish
