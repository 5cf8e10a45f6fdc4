# Behind a balancer that weighs nothing: HAProxy as a plain L4 balancer
# (balance roundrobin, no agent-check, a TCP connect as the health check,
# no balancer role), standing in for a cloud one.  A fourth worker, in the
# balancer's configuration from the start as a cloud target group would
# have it, starts: the master's rebalancing alone (each worker's share,
# arrivals over it sent on) brings every worker within 10% of the
# average.  Prints the time to converge and the agents moved against the
# fewest that had to move.
. "$(dirname "$0")/testlib.sh"
LAB_L4=1
LAB_STATS_EVERY=1
python3 - "$LAB_JSON" > "$LAB_RUN/lab4.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["workers"].append({"name": "worker4", "address": "198.18.0.14"})
json.dump(c, sys.stdout, indent=1)
PY
LAB_JSON=$LAB_RUN/lab4.json
. "$(dirname "$0")/lablib.sh"
# The agents start once the balancers know worker4 is not there yet (a
# server starts UP in HAProxy until its checks fail).
worker4_down() {
	local lb b
	for lb in "${LAB_BALANCERS[@]}"; do
		for b in workers_agents nodes_enrollment; do
			lab_wait 30 lab_server_is "$lb" "$b" worker4 DOWN || return 1
		done
	done
}
LAB_BEFORE_AGENTS=worker4_down

lab_up
grep -q "balance roundrobin" "$LAB_RUN/lb1/haproxy.cfg" && ! grep -q "agent-check agent-port" "$LAB_RUN/lb1/haproxy.cfg" ||
	fail "the L4 variant of haproxy.cfg still weighs the workers"
lab_host_add worker4 198.18.0.14 || fail "cannot add worker4's namespace"
lab_node_conf worker4 worker
need=$(lab_min_moves)
forced0=$(lab_sim_stat force_reconnects)
closed0=$(lab_sim_stat closed_by_peer)
before=$(lab_workers | tr '\n' ' ')
t0=$(lab_now)
lab_clusterd_start worker4 || fail "clusterd did not start on worker4"
lab_wait 20 lab_server_is lb1 workers_agents worker4 UP || fail "worker4 not UP: $(lab_server lb1 workers_agents worker4)"
lab_wait 120 lab_within 10 || fail "not within 10% of the average after 120 s: $(lab_workers | tr '\n' ' ')"
t=$(lab_elapsed "$t0" "$(lab_now)")
sleep 2	# a stats line after the last move
moved=$(( $(lab_sim_stat force_reconnects) - forced0 ))
pass "from $before to $(lab_workers | tr '\n' ' ') in $t s: $moved agents moved, $need at least"
[ "$moved" -le $((4 * LAB_AGENTS)) ] || fail "$moved moves for $LAB_AGENTS agents"
# Settled: a whole rebalance interval later, still within 10%, few moves.
sleep 12
lab_within 10 || fail "drifted: $(lab_workers | tr '\n' ' ')"
after=$(( $(lab_sim_stat force_reconnects) - forced0 ))
pass "still within 10% a rebalance interval later ($((after - moved)) more moves); $(( $(lab_sim_stat closed_by_peer) - closed0 )) connections closed by the nodes"
finish
