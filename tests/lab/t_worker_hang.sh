# A worker's clusterd hangs (SIGSTOP): its kernel still completes TCP
# handshakes, but nothing answers.  HAProxy's health check reads the
# agent-check port, so the worker is marked down and its sessions shut;
# its agents reconnect to the other workers, and the master, hearing no
# keepalive, drops it.  After SIGCONT it rejoins and gets agents again.
. "$(dirname "$0")/testlib.sh"

lab_up
lab_ids worker1 > "$LAB_RUN/worker1.ids"
before=$(wc -w < "$LAB_RUN/worker1.ids")
[ "$before" -gt 0 ] || fail "worker1 serves no agent"
pid=$(lab_pidof worker1/var/run/clusterd.pid)
t0=$(lab_now)
kill -STOP "$pid" || fail "no clusterd on worker1"
lab_wait 15 lab_server_is lb1 workers_agents worker1 DOWN ||
	{ kill -CONT "$pid"; fail "lb1 still has worker1 $(lab_server lb1 workers_agents worker1)"; }
pass "HAProxy marked the hung worker1 down $(lab_elapsed "$t0" "$(lab_now)") s after SIGSTOP"
lab_wait 30 lab_moved "$(since "$t0")" worker1 "$LAB_RUN/worker1.ids" ||
	{ kill -CONT "$pid"; fail "worker1's agents are not all active elsewhere: $(lab_workers | tr '\n' ' ')"; }
pass "worker1's $before agents active on the others $(lab_elapsed "$t0" "$(lab_now)") s after SIGSTOP"
lab_wait 15 lab_node_gone worker1 ||
	{ kill -CONT "$pid"; fail "the master still lists worker1"; }
pass "the master dropped worker1 $(lab_elapsed "$t0" "$(lab_now)") s after SIGSTOP"
lab_none_active worker1 ||
	{ kill -CONT "$pid"; fail "the master shows $(lab_active worker1) agents active on worker1"; }

t1=$(lab_now)
kill -CONT "$pid"
lab_wait 30 lab_node_up worker1 || fail "worker1 did not rejoin the master"
pass "worker1 rejoined the master $(lab_elapsed "$t1" "$(lab_now)") s after SIGCONT"
lab_wait 20 lab_server_is lb1 workers_agents worker1 UP ||
	fail "lb1 has worker1 $(lab_server lb1 workers_agents worker1)"
lab_wait 60 lab_some_active worker1 ||
	fail "worker1 got no agent back: $(lab_workers | tr '\n' ' ')"
pass "worker1 serves agents again $(lab_elapsed "$t1" "$(lab_now)") s after SIGCONT ($(lab_workers | tr '\n' ' '))"
lab_wait 30 lab_all_ready "$(since "$t1")" ||
	fail "$(lab_ready "$(since "$t1")") of $LAB_AGENTS agents active"
pass "all $LAB_AGENTS agents active again"
finish
