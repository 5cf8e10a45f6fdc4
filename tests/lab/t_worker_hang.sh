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
lab_worker_lost worker1 "$t0" SIGSTOP 'kill -CONT "$pid"'

t1=$(lab_now)
kill -CONT "$pid"
lab_worker_back worker1 "$t1" SIGCONT
pass "all $LAB_AGENTS agents active again"
finish
