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
lab_worker_lost worker1 "$t0" "its link went down"

t1=$(lab_now)
ip -n "${LAB_PREFIX}worker1" link set eth0 up || fail "link up"
lab_worker_back worker1 "$t1" "its link came back"
total=$(lab_total)
[ "$total" -eq "$LAB_AGENTS" ] || fail "the registry holds $total agents, not $LAB_AGENTS"
pass "all $LAB_AGENTS agents active; the registry holds all $total"
finish
