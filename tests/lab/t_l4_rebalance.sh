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
LAB_JSON=$(lab_json_with worker4 198.18.0.14) || fail "cannot write the description"
. "$(dirname "$0")/lablib.sh"
LAB_BEFORE_AGENTS="lab_down_everywhere worker4"

lab_up
grep -q "balance roundrobin" "$LAB_RUN/lb1/haproxy.cfg" && ! grep -q "agent-check agent-port" "$LAB_RUN/lb1/haproxy.cfg" ||
	fail "the L4 variant of haproxy.cfg still weighs the workers"
lab_host_add worker4 198.18.0.14 || fail "cannot add worker4's namespace"
closed0=$(lab_agents_stat closed_by_peer)
r=$(lab_join worker4) || fail "not within 10% of the average after 120 s: $(lab_workers | tr '\n' ' ')"
read -r t moved need _ <<<"$r"
pass "from ${r#* * * } in $t s: $moved agents moved, $need at least"
[ "$moved" -le $((4 * LAB_AGENTS)) ] || fail "$moved moves for $LAB_AGENTS agents"
# Settled: a whole rebalance interval later, still within 10%, few moves.
forced=$(lab_agents_stat force_reconnects)
sleep 12
lab_within 10 || fail "drifted: $(lab_workers | tr '\n' ' ')"
pass "still within 10% a rebalance interval later ($(( $(lab_agents_stat force_reconnects) - forced )) more moves); $(( $(lab_agents_stat closed_by_peer) - closed0 )) connections closed by the nodes"
finish
