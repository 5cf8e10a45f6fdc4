# Debug lines explain decisions, and per-task levels pick the tasks: with
# "log_level info,sync=debug,agents=debug,rebalance=debug,pools=debug" the
# master explains its sync plan, an enrollment, a rebalancing round and
# what it tells the balancers, while other tasks (Keep alive) stay at info.
. "$(dirname "$0")/lib.sh"

write_conf master1 master "log_level info,sync=debug,agents=debug,rebalance=debug,pools=debug" \
	"rebalance_interval 1s"
write_conf worker1 worker
write_conf worker2 worker
M=$T/master1
mkdir -p "$M/etc/rules"
for i in $(seq 1 25); do echo "<group name=\"r$i\"/>" > "$M/etc/rules/r$i.xml"; done
start master1
start worker1
start worker2
wait_for 30 "initial sync" converged master1 worker1 worker2

log_has master1 'DEBUG: \[Worker worker1\] \[Integrity sync\] Plan: create etc/rules/r[0-9]+\.xml\.' ||
	fail "no sync plan at debug"
log_has master1 'DEBUG: \[Worker worker1\] \[Integrity sync\] Plan: create [0-9]+ more\.' ||
	fail "the plan's tail is not summed up"
wait_for 10 "pools debug" log_has master1 'DEBUG: .*\[Pools\] To the balancers, the agents pool: worker[12] ready, worker[12] ready\.'
wait_for 10 "rebalance debug" log_has master1 'DEBUG: .*\[Rebalance\] Spread 0 \(0 to 0, average 0\)|DEBUG: .*\[Worker worker1\] \[Rebalance\] 0 active agent'
enroll worker1 "OSSEC A:'dbg-1'" | grep -q "^OSSEC K:" || fail "enroll"
log_has master1 "DEBUG: .*\[Agents\] Enrollment of 'dbg-1' from 127\.0\.0\.1: address any \(none asked\), groups '', version '', holding no key\." ||
	fail "no enrollment request at debug"
log_has master1 "DEBUG: .*\[Agents\] Accepting 'dbg-1': id 001" || fail "no enrollment decision at debug"
log_has master1 'DEBUG: .*\[Keep alive\]' && fail "Keep alive logged at debug: its level is info"
log_has worker1 'DEBUG:' && fail "worker1 (log_level info) logged debug lines"
pass "per-task debug: sync plan, enrollment, rebalancing and pools explained; other tasks and nodes quiet"
finish
