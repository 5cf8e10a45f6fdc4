# Operators' pool edits in the lab, on both balancers: a drained worker
# gets no new agents; a HAProxy reload keeps the edit; a removed worker
# leaves both pools; ready brings it back.
. "$(dirname "$0")/testlib.sh"

lab_up
lab_ctl --pool-state drain --node worker2 >/dev/null || fail "pool-state drain"
for lb in lb1 lb2; do
	lab_wait 15 lab_server_is "$lb" workers_agents worker2 DRAIN ||
		fail "worker2 not drained on $lb: $(lab_server "$lb" workers_agents worker2)"
done
grep -q "Pool edit: worker2 set to drain" "$LAB_RUN/master/logs/cluster.log" ||
	fail "the edit is not logged on the master"
pass "a drain of worker2 reaches both balancers"

before=$(lab_workers | awk '$1 == "worker2" { print $2 }')
setsid ip netns exec "${LAB_PREFIX}agents" "$LAB_BIN/agentsim" -n 20 -P new- \
	-e 1515 -p 1514 -k "$LAB_KEEPALIVE" -R "$LAB_RETRY" "$LAB_VIP" \
	>>"$LAB_RUN/agents2.log" 2>&1 </dev/null &
echo $! > "$LAB_RUN/agents2.pid"
disown
more() { [ "$(lab_total)" -eq $((LAB_AGENTS + 20)) ] &&
	[ "$(lab_workers | awk '{ s += $2 } END { print s }')" -eq $((LAB_AGENTS + 20)) ]; }
lab_wait 60 more || fail "20 more agents not active: $(lab_workers | tr '\n' ' ')"
after=$(lab_workers | awk '$1 == "worker2" { print $2 }')
[ "$after" -le "$before" ] || fail "drained worker2 went from $before to $after agents"
pass "the drained worker gets none of 20 new agents ($(lab_workers | tr '\n' ' '))"

lab_haproxy_reload lb1 || fail "HAProxy reload on lb1"
sleep 1
lab_server_is lb1 workers_agents worker2 DRAIN ||
	fail "after a reload: $(lab_server lb1 workers_agents worker2)"
pass "a HAProxy reload on lb1 keeps worker2 drained"

lab_ctl --pool-state remove --node worker2 >/dev/null || fail "pool-state remove"
for lb in lb1 lb2; do
	lab_wait 90 lab_server_is "$lb" workers_agents worker2 absent ||
		fail "worker2 still in $lb's pool: $(lab_server "$lb" workers_agents worker2)"
	lab_server_is "$lb" nodes_enrollment worker2 absent ||
		fail "worker2 still in $lb's enrollment pool"
	grep -q "server worker2 " "$LAB_RUN/$lb/haproxy.cfg" && fail "worker2 still in $lb's haproxy.cfg"
done
pass "a removed worker leaves both pools and both configurations"

lab_ctl --pool-state ready --node worker2 >/dev/null || fail "pool-state ready"
for lb in lb1 lb2; do
	lab_wait 20 lab_server_is "$lb" workers_agents worker2 UP ||
		fail "worker2 not back on $lb: $(lab_server "$lb" workers_agents worker2)"
done
pass "ready brings worker2 back into both pools"
finish
