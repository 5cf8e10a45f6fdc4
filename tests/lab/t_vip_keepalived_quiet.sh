# VIP failover when lb1's keepalived fails quietly, its HAProxy left
# running: killed outright (SIGKILL to both its processes: no priority-0
# advert, no notify script, the VIP left on lb1's interface), then hung
# (SIGSTOP of the VRRP process).  lb2 takes the VIP when lb1's adverts
# stop (3 x 0.2 s); lb1's balancer role sees keepalived gone or stopped,
# pauses the agents' frontends and shuts their sessions, so no agent is
# left on lb1's stale sessions.
. "$(dirname "$0")/testlib.sh"

has_vip() { ip -n "$LAB_PREFIX$1" -4 addr show dev eth0 | grep -q "inet $LAB_VIP/"; }
lb2_serves() { has_vip lb2 && lab_server_is lb2 workers_agents worker1 UP; }
paused() { grep -q "keepalived is gone" "$LAB_RUN/lb1/clusterd/logs/cluster.log"; }

lab_up
[ -s "$LAB_RUN/lb1/clusterd/var/run/clusterd.pid" ] ||
	fail "lb1 runs no balancer role (see $LAB_RUN/start.log)"

# 1. Killed outright.
t0=$(lab_now)
kill -9 "$(lab_pidof lb1/vrrp.pid)" "$(lab_pidof lb1/keepalived.pid)" ||
	fail "no keepalived on lb1"
lab_wait 10 has_vip lb2 || fail "lb2 did not take the VIP (holder: $(lab_vip_holder))"
pass "VIP on lb2 $(lab_elapsed "$t0" "$(lab_now)") s after lb1's keepalived was killed outright (holders: $(lab_vip_holder))"
lab_wait 5 paused || fail "lb1's balancer role did not notice"
pass "lb1 stopped serving $(lab_elapsed "$t0" "$(lab_now)") s after the kill"
limit=$((LAB_RETRY + 10))
lab_wait "$limit" lab_all_ready "$(since "$t0")" ||
	fail "$(lab_ready "$(since "$t0")") of $LAB_AGENTS agents active after ${limit}s"
pass "all $LAB_AGENTS agents active again $(lab_elapsed "$t0" "$(lab_now)") s after the kill"

t1=$(lab_now)
lab_keepalived_start lb1 || fail "keepalived did not start again on lb1"
lab_wait 20 lab_vip_on lb1 || fail "the VIP did not return to lb1 alone (holder: $(lab_vip_holder))"
pass "VIP back on lb1 alone $(lab_elapsed "$t1" "$(lab_now)") s after its keepalived restarted"
lab_wait 30 lab_all_ready "$(since "$t1")" ||
	fail "$(lab_ready "$(since "$t1")") of $LAB_AGENTS agents active after the return"
pass "all $LAB_AGENTS agents active through lb1 again $(lab_elapsed "$t1" "$(lab_now)") s after the restart"

# 2. Hung: the VRRP process stopped.
sleep 2
vrrp=$(lab_pidof lb1/vrrp.pid)
t2=$(lab_now)
kill -STOP "$vrrp" || fail "no VRRP process on lb1"
lab_wait 10 has_vip lb2 || { kill -CONT "$vrrp"; fail "lb2 did not take the VIP"; }
pass "VIP on lb2 $(lab_elapsed "$t2" "$(lab_now)") s after lb1's VRRP process was stopped"
lab_wait "$limit" lab_all_ready "$(since "$t2")" ||
	{ kill -CONT "$vrrp"; fail "$(lab_ready "$(since "$t2")") of $LAB_AGENTS agents active after ${limit}s"; }
pass "all $LAB_AGENTS agents active again $(lab_elapsed "$t2" "$(lab_now)") s after SIGSTOP"
t3=$(lab_now)
kill -CONT "$vrrp"
lab_wait 20 lab_vip_on lb1 || fail "the VIP did not return to lb1 alone (holder: $(lab_vip_holder))"
pass "VIP back on lb1 alone $(lab_elapsed "$t3" "$(lab_now)") s after SIGCONT"
lab_wait 30 lab_all_ready "$(since "$t3")" ||
	fail "$(lab_ready "$(since "$t3")") of $LAB_AGENTS agents active after SIGCONT"
pass "all $LAB_AGENTS agents active again $(lab_elapsed "$t3" "$(lab_now)") s after SIGCONT"
finish
