# A worker dies (SIGKILL): HAProxy loses its connections to it and closes
# the agents' side; the agents reconnect through the VIP and land on the
# other workers, where they are active again within their retry interval
# plus slack.  The master's registry keeps every agent.
. "$(dirname "$0")/testlib.sh"

lab_up
lab_ids worker1 > "$LAB_RUN/worker1.ids"
before=$(wc -w < "$LAB_RUN/worker1.ids")
[ "$before" -gt 0 ] || fail "worker1 serves no agent"
t0=$(lab_now)
kill -9 "$(lab_pidof worker1/var/run/clusterd.pid)" || fail "no clusterd on worker1"
# Slack: HAProxy still tries worker1 until three checks (2 s apart) fail,
# and a refused connection is redispatched.
limit=$((LAB_RETRY + 10))
lab_wait "$limit" lab_moved "$(since "$t0")" worker1 "$LAB_RUN/worker1.ids" ||
	fail "worker1's agents are not all active elsewhere after ${limit}s: $(lab_workers | tr '\n' ' ')"
pass "worker1's $before agents active on the others $(lab_elapsed "$t0" "$(lab_now)") s after its kill ($(lab_workers | tr '\n' ' '))"
lab_wait 10 lab_all_ready "$(since "$t0")" worker1 ||
	fail "$(lab_ready "$(since "$t0")" worker1) of $LAB_AGENTS agents active on worker2 and worker3"
lab_wait 5 lab_node_gone worker1 || fail "the master still lists worker1"
total=$(lab_total)
[ "$total" -eq "$LAB_AGENTS" ] || fail "the registry holds $total agents, not $LAB_AGENTS"
pass "all $LAB_AGENTS agents active on worker2 and worker3; the master's registry still holds all $total"
finish
