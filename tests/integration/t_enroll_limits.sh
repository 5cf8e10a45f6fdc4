# Enrollment abuse limits: enrollment_max_agents caps the registry;
# enrollment_rate_limit closes an address's connections over its rate
# before TLS, on the real source address; 30 wrong passwords from one
# address make one log line, not 30.
. "$(dirname "$0")/lib.sh"

echo "s3cret-pass" > "$T/authd.pass"
write_conf master1 master "enrollment_password_file $T/authd.pass" \
	"enrollment_max_agents 3" "enrollment_rate_limit 1000"
write_conf worker1 worker "enrollment_rate_limit 5"
start master1
start worker1
wait_for 10 "worker1 connected" listed master1 worker1

for i in $(seq 1 30); do
	enroll master1 "OSSEC PASS: wrong OSSEC A:'bad-$i'" >/dev/null
done
n=$(log_count master1 "Refused agent 'bad-[0-9]+' from 127\.0\.0\.1: Invalid password")
[ "$n" -eq 1 ] || fail "30 wrong passwords logged $n times"
pass "30 wrong passwords, one log line"

for i in 1 2 3; do
	a=$(enroll master1 "OSSEC PASS: s3cret-pass OSSEC A:'cap-0$i'")
	[[ $a =~ ^OSSEC\ K: ]] || fail "agent $i under the cap: $a"
done
a=$(enroll master1 "OSSEC PASS: s3cret-pass OSSEC A:'cap-04'")
[ "$a" = "ERROR: The maximum number of agents has been reached" ] ||
	fail "a fourth agent: $a"
# A replacement does not grow the registry: allowed at the cap.
ctl master1 --remove-agent 003 >/dev/null || fail "remove"
a=$(enroll master1 "OSSEC PASS: s3cret-pass OSSEC A:'cap-04'")
[[ $a =~ ^OSSEC\ K: ]] || fail "under the cap again: $a"
pass "enrollment_max_agents caps the registry"

# worker1 allows 5 a minute from 127.0.0.1: of 12 requests in a row,
# 5 get an answer and the rest are closed unanswered.
answered=0
for i in $(seq 1 12); do
	a=$(enroll worker1 "OSSEC A:'rate-$i'" 2>/dev/null)
	[[ $a =~ ^(OSSEC|ERROR) ]] && answered=$((answered + 1))
done
[ "$answered" -eq 5 ] || fail "$answered of 12 answered, expected 5"
n=$(log_count worker1 "Refused enrollment connections from 127\.0\.0\.1: more than 5 a minute")
[ "$n" -eq 1 ] || fail "rate refusals logged $n times"
ctl worker1 --stats | grep -q 'clusterd_enrollments_total{result="rate_limited"} 7' ||
	fail "metric: $(ctl worker1 --stats | grep enrollments_total)"
pass "enrollment_rate_limit: 5 answered, 7 closed, logged once"
finish
