# The enrollment password on workers: a worker with
# enrollment_password_file answers a missing or wrong password itself,
# as the master does, without relaying it (even with the master down); a
# right one is relayed and enrolled; a worker without the option relays
# and the master refuses; a changed file applies on SIGHUP.
. "$(dirname "$0")/lib.sh"

echo "s3cret-pass" > "$T/authd.pass"
write_conf master1 master "enrollment_password_file $T/authd.pass"
write_conf worker1 worker "enrollment_password_file $T/authd.pass"
write_conf worker2 worker
start_cluster

a=$(enroll worker1 "OSSEC PASS: s3cret-pass OSSEC A:'good-01'")
[[ $a =~ ^OSSEC\ K:\'001\ good-01\ any\ [0-9a-f]{64}\'$ ]] || fail "right password: $a"
pass "a right password is relayed and the agent enrolled"

b=$(enroll worker1 "OSSEC PASS: s3cret-pasS OSSEC A:'bad-01'")
[ "$b" = "ERROR: Invalid password" ] || fail "wrong password: $b"
c=$(enroll worker1 "OSSEC A:'bad-02'")
[ "$c" = "ERROR: Invalid password" ] || fail "no password: $c"
log_has worker1 "Refused agent 'bad-01' from 127.0.0.1: Invalid password\." ||
	fail "worker1 did not log its refusal"
# bad-02's refusal, from the same address within the minute, is counted
# for the minute's tally rather than logged (t_enroll_limits).
log_has worker1 "Refused agent 'bad-02'" && fail "a second refusal logged"
log_has master1 "Refused agent 'bad-0" && fail "a wrong password reached the master"
pass "a worker refuses a wrong or missing password itself"

d=$(enroll worker2 "OSSEC PASS: wrong OSSEC A:'bad-03'")
[ "$d" = "ERROR: Invalid password" ] || fail "via worker2: $d"
wait_for 5 "master's refusal" log_has master1 "Refused agent 'bad-03' from 127.0.0.1: Invalid password\."
pass "a worker without the option relays, and the master refuses"

kill -STOP "$(pid_of master1)"
e=$(enroll worker1 "OSSEC PASS: nope OSSEC A:'bad-04'")
kill -CONT "$(pid_of master1)"
[ "$e" = "ERROR: Invalid password" ] || fail "with the master stopped: $e"
pass "the refusal needs no master"

echo "n3w-pass" > "$T/authd.pass"
kill -HUP "$(pid_of worker1)" "$(pid_of master1)"
wait_for 5 "worker1 reloaded" log_has worker1 'Configuration reloaded'
wait_for 5 "master1 reloaded" log_has master1 'Configuration reloaded'
f=$(enroll worker1 "OSSEC PASS: s3cret-pass OSSEC A:'bad-05'")
[ "$f" = "ERROR: Invalid password" ] || fail "old password after reload: $f"
g=$(enroll worker1 "OSSEC PASS: n3w-pass OSSEC A:'good-02'")
[[ $g =~ ^OSSEC\ K:\'[0-9]+\ good-02\ any\ [0-9a-f]{64}\'$ ]] || fail "new password: $g"
pass "a changed password file applies on SIGHUP"
finish
