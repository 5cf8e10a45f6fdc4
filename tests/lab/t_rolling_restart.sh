# A rolling restart of the three workers, one after another, each stopped
# by SIGTERM: it drains (agent-check "up 0%", its agents asked to
# reconnect in paced chunks) and stops once empty, then starts again and
# gets agents back from the master's rebalancing before the next one.
# The agents send events throughout: every event they sent is archived
# (none lost), and no agent goes long without a manager.  Prints each
# worker's drain time, the longest time any agent went without a manager
# and the events the agents held meanwhile (what a real agent buffers).
. "$(dirname "$0")/testlib.sh"
LAB_EVENT_RATE=${LAB_EVENT_RATE:-1}
LAB_STATS_EVERY=1

lab_up
closed0=$(lab_agents_stat closed_by_peer)
for w in "${LAB_WORKERS[@]}"; do
	r=$(lab_restart_worker "$w") || fail "$w: restart did not complete: $(lab_workers | tr '\n' ' ')"
	grep -q "\[Drain\] Drained after" "$LAB_RUN/$w/logs/cluster.log" ||
		fail "$w stopped without draining: $(grep -h 'Drain' "$LAB_RUN/$w/logs/cluster.log" | tail -n 2)"
	pass "$w drained and stopped in ${r% *} s, served agents again ${r#* } s later ($(lab_workers | tr '\n' ' '))"
done
lab_wait 30 lab_all_ready "$(date +%s)" || fail "$(lab_ready "$(date +%s)") of $LAB_AGENTS agents active"
closed=$(( $(lab_agents_stat closed_by_peer) - closed0 ))
read -r sent archived held gap <<<"$(lab_events_end)"
[ "$archived" -eq "$sent" ] || fail "events lost: $sent sent, $archived archived"
[ "$closed" -eq 0 ] || fail "$closed agent connection(s) closed by a worker or balancer during the drains"
pass "rolling restart of ${#LAB_WORKERS[@]} workers: $sent events sent, all archived; longest without a manager $gap s; $held events held meanwhile; no connection cut"
finish
