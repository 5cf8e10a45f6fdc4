# VIP failover on a dead keepalived: lb1's keepalived is killed (its HAProxy
# keeps running); its VRRP process leaves the VIP and lb2 takes it at once.
# The agents' connections through lb1 are then dead; their next keepalive
# meets lb2, which resets them, and they reconnect through lb2.
. "$(dirname "$0")/testlib.sh"

lab_up
t0=$(lab_now)
kill -9 "$(lab_pidof lb1/keepalived.pid)" || fail "no keepalived on lb1"
lab_wait 20 lab_vip_on lb2 || fail "the VIP did not move to lb2 (holder: $(lab_vip_holder))"
pass "VIP on lb2 only, $(lab_elapsed "$t0" "$(lab_now)") s after lb1's keepalived was killed"
lab_alive lb1/haproxy.pid || fail "lb1's HAProxy stopped too"
# Bound: a keepalive interval to meet lb2's reset, a retry, and the
# workers' connection_overtake_time (15 s) for the connections through
# lb1, which stay open on the workers.
lab_wait 60 lab_all_ready "$(since "$t0")" ||
	fail "$(lab_ready "$(since "$t0")") of $LAB_AGENTS agents active again"
pass "all $LAB_AGENTS agents active again $(lab_elapsed "$t0" "$(lab_now)") s after the kill"

t1=$(lab_now)
lab_keepalived_start lb1 || fail "keepalived did not start again on lb1"
lab_wait 20 lab_vip_on lb1 || fail "the VIP did not return to lb1 (holder: $(lab_vip_holder))"
pass "VIP back on lb1 $(lab_elapsed "$t1" "$(lab_now)") s after its keepalived restarted"
finish
