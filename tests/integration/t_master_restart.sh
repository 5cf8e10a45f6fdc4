# The master is killed and restarted: workers notice and come back by
# themselves.
. "$(dirname "$0")/lib.sh"

write_conf master1 master
write_conf worker1 worker
write_conf worker2 worker
start master1
start worker1
start worker2
wait_for 10 "workers connected" listed master1 worker1 worker2

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
