# VIP failover on a dead HAProxy: lb1's HAProxy is killed, keepalived's
# check fails and lb2 takes the VIP; the agents reconnect through lb2 and
# are all active again.  With lb1's HAProxy back, lb1 (higher priority, no
# nopreempt) takes the VIP back and the agents follow.  HAProxy and
# keepalived's scripts run as their own users.
. "$(dirname "$0")/testlib.sh"

lab_up
t0=$(lab_now)
kill -9 "$(lab_pidof lb1/haproxy.pid)" || fail "no HAProxy on lb1"
lab_wait 20 lab_vip_on lb2 || fail "the VIP did not move to lb2 (holder: $(lab_vip_holder))"
t1=$(lab_now)
pass "VIP on lb2 $(lab_elapsed "$t0" "$t1") s after lb1's HAProxy was killed"
lab_wait 60 lab_all_ready "$(since "$t0")" ||
	fail "$(lab_ready "$(since "$t0")") of $LAB_AGENTS agents active again"
pass "all $LAB_AGENTS agents active again $(lab_elapsed "$t0" "$(lab_now)") s after the kill ($(lab_workers | tr '\n' ' '))"

t2=$(lab_now)
lab_haproxy_start lb1 || fail "HAProxy did not start again on lb1"
lab_wait 20 lab_vip_on lb1 || fail "the VIP did not return to lb1 (holder: $(lab_vip_holder))"
t3=$(lab_now)
pass "VIP back on lb1 $(lab_elapsed "$t2" "$t3") s after its HAProxy restarted (keepalived preempts)"
lab_wait 60 lab_all_ready "$(since "$t3")" ||
	fail "$(lab_ready "$(since "$t3")") of $LAB_AGENTS agents active after the VIP returned"
pass "all $LAB_AGENTS agents active again $(lab_elapsed "$t3" "$(lab_now)") s after the VIP returned"

# The balancers' own users: HAProxy serves as haproxy (lb1's, restarted);
# keepalived's notify.sh, run as keepalived_script, logged lb1's
# transitions, the return to MASTER included.
[ "$(ps -o user= -p "$(lab_pidof lb1/haproxy.pid)")" = haproxy ] ||
	fail "lb1's HAProxy runs as $(ps -o user= -p "$(lab_pidof lb1/haproxy.pid)")"
lab_wait 5 grep -q "agents_vip MASTER" "$LAB_RUN/lb1/notify.log" ||
	fail "notify.log: $(cat "$LAB_RUN/lb1/notify.log")"
[ "$(stat -c %U "$LAB_RUN/lb1/notify.log")" = keepalived_script ] ||
	fail "notify.log owner"
pass "HAProxy runs as haproxy; keepalived's scripts as keepalived_script"
finish
