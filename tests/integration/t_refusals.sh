# The master refuses, with a reason the worker logs: a duplicate node name,
# a wrong cluster name, and the master's own name.
. "$(dirname "$0")/lib.sh"

write_conf master1 master
write_conf worker1 worker
start master1
start worker1
wait_for 10 "worker1 connected" listed master1 worker1

# Same node name, other home.
write_conf dup worker
sed -i 's/^node_name dup$/node_name worker1/' "$T/dup.conf"
start dup
wait_for 10 "duplicate refused" log_has dup 'Master refused the connection: duplicate node name'
log_has master1 'Refused node worker1 from 127\.0\.0\.1: duplicate node name' || fail "master log"
pass "duplicate node name refused"

write_conf other worker
sed -i 's/^cluster_name itest$/cluster_name othercluster/' "$T/other.conf"
start other
wait_for 10 "cluster name refused" log_has other 'Master refused the connection: cluster name mismatch'
pass "wrong cluster name refused"

write_conf impostor worker
sed -i 's/^node_name impostor$/node_name master1/' "$T/impostor.conf"
start impostor
wait_for 10 "master name refused" log_has impostor "Master refused the connection: node name \"master1\" is the master's own name"
pass "master's own name refused"

out=$(ctl master1 -l)
[ "$(wc -l <<<"$out")" -eq 3 ] || fail "only master1 and worker1 expected: $out"
# The refused worker keeps retrying with backoff but logs the reason once.
sleep 2
n=$(log_count dup 'Master refused the connection')
[ "$n" -eq 1 ] || fail "refusal logged $n times"
pass "refusal logged once"
n=$(log_count master1 'Refused node worker1 from')
[ "$n" -eq 1 ] || fail "master logged the duplicate $n times, expected once"
pass "master logs each refusal once"
finish
