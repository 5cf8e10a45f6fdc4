# A worker's link goes down (no FIN, no RST: `ip link set eth0 down` in
# its namespace).  HAProxy's checks mark it down within seconds and shut
# its sessions, so its agents reconnect through the VIP to the other
# workers; the master, hearing no keepalive from it, shows none of them
# active there.  When the link returns, the worker rejoins and the
# master's rebalancing gives it agents again.  Both balancers' HAProxy
# are reloaded first: the servers of the reloaded configuration (rewritten
# by the balancer role) must behave the same, and the old processes end
# after hard-stop-after (30 s), their agents moving to the new ones.
. "$(dirname "$0")/testlib.sh"

lab_up
old=$(lab_pidof lb1/haproxy.pid)
tr=$(lab_now)
for lb in lb1 lb2; do
	lab_haproxy_reload "$lb" || fail "HAProxy reload on $lb"
done
lab_wait 40 eval '! kill -0 "$old" 2>/dev/null' ||
	fail "lb1's old HAProxy still runs 40 s after the reload"
lab_wait 20 lab_all_ready "$(since "$(lab_now)")" || fail "agents not back after the reloads"
pass "HAProxy reloaded: the old process ended and every agent reconnected $(lab_elapsed "$tr" "$(lab_now)") s after the reload"
lab_ids worker1 > "$LAB_RUN/worker1.ids"
before=$(wc -w < "$LAB_RUN/worker1.ids")
[ "$before" -gt 0 ] || fail "worker1 serves no agent"
t0=$(lab_now)
ip -n "${LAB_PREFIX}worker1" link set eth0 down || fail "link down"
lab_wait 15 lab_server_is lb1 workers_agents worker1 DOWN ||
	fail "lb1 still has worker1 $(lab_server lb1 workers_agents worker1)"
pass "HAProxy marked worker1 down $(lab_elapsed "$t0" "$(lab_now)") s after its link went down"
lab_wait 30 lab_moved "$(since "$t0")" worker1 "$LAB_RUN/worker1.ids" ||
	fail "worker1's agents are not all active elsewhere: $(lab_workers | tr '\n' ' ')"
pass "worker1's $before agents active on the others $(lab_elapsed "$t0" "$(lab_now)") s after its link went down"
lab_wait 30 lab_none_active worker1 ||
	fail "the master still shows $(lab_active worker1) agents active on worker1"
pass "the master shows no agent active on worker1 $(lab_elapsed "$t0" "$(lab_now)") s after its link went down"
lab_wait 15 lab_node_gone worker1 || fail "the master still lists worker1"
pass "the master dropped worker1 $(lab_elapsed "$t0" "$(lab_now)") s after its link went down (keepalive_timeout 8 s)"
lab_wait 15 lab_all_ready "$(since "$t0")" worker1 ||
	fail "$(lab_ready "$(since "$t0")" worker1) of $LAB_AGENTS agents active on worker2 and worker3"

t1=$(lab_now)
ip -n "${LAB_PREFIX}worker1" link set eth0 up || fail "link up"
lab_wait 40 lab_node_up worker1 || fail "worker1 did not rejoin the master"
pass "worker1 rejoined the master $(lab_elapsed "$t1" "$(lab_now)") s after its link came back"
lab_wait 20 lab_server_is lb1 workers_agents worker1 UP ||
	fail "lb1 has worker1 $(lab_server lb1 workers_agents worker1)"
# Rebalancing (every 10 s in the lab) moves agents back to it.
lab_wait 60 lab_some_active worker1 ||
	fail "worker1 got no agent back: $(lab_workers | tr '\n' ' ')"
pass "worker1 serves agents again $(lab_elapsed "$t1" "$(lab_now)") s after its link came back ($(lab_workers | tr '\n' ' '))"
lab_wait 30 lab_all_ready "$(since "$t1")" ||
	fail "$(lab_ready "$(since "$t1")") of $LAB_AGENTS agents active"
total=$(lab_total)
[ "$total" -eq "$LAB_AGENTS" ] || fail "the registry holds $total agents, not $LAB_AGENTS"
pass "all $LAB_AGENTS agents active; the registry holds all $total"
finish
