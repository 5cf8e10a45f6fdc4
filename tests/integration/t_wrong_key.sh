# A worker with the wrong key never completes the handshake, and both sides
# log it once rather than on every retry.
. "$(dirname "$0")/lib.sh"

write_conf master1 master
write_conf worker1 worker
KEY=de6c102ce03db74e9d9eea23c9fada41 write_conf badkey worker
start master1
start worker1
wait_for 10 "worker1 connected" listed master1 worker1
start badkey

# Let it retry several times (reconnect_max is 1s).
sleep 4
not_listed master1 badkey || fail "worker with a wrong key was admitted"
pass "wrong key refused"

n=$(log_count master1 'Refused connection from 127\.0\.0\.1: TLS handshake')
[ "$n" -eq 1 ] || fail "master logged the failed handshake $n times, expected once"
n=$(log_count badkey 'wrong cluster key')
[ "$n" -eq 1 ] || fail "worker logged the failed handshake $n times, expected once"
pass "logged once on each side"

# The good worker was not disturbed.
listed master1 worker1 || fail "worker1 lost"
finish
