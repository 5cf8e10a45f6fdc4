# Silent clients through the balancers: connections that never send
# anything, to the VIP's agents' and enrollment ports (HAProxy opens one to
# a node for each), to the master's cluster port and to a worker's
# agent-check port, are closed after preauth_timeout (3 s here, 30 s by
# default) or at once (agent-check); the agents already connected are not
# hurt, and the log has one line per service, not one per connection.
LAB_NODE_EXTRA="preauth_timeout 3s"
. "$(dirname "$0")/testlib.sh"

agents_stat() {
	grep '"stats"' "$LAB_RUN/agents.log" | tail -n 1 |
	    python3 -c "import json,sys; print(json.load(sys.stdin)['stats']['$1'])"
}

lab_up
sleep 11
reconnects0=$(agents_stat reconnects)
# 40 silent connections to each target, from the agents' host; each is
# timed until the other side closes it.
ip netns exec "${LAB_PREFIX}agents" python3 - "$LAB_VIP" "${LAB_ADDR[master]}" \
	"${LAB_ADDR[worker1]}" > "$LAB_RUN/silent.out" 2>&1 <<'PY' ||
import socket, sys, threading, time
vip, master, worker = sys.argv[1:4]
targets = [("agents (VIP:1514)", vip, 1514), ("enrollment (VIP:1515)", vip, 1515),
           ("cluster (master:1516)", master, 1516),
           ("agent-check (worker1:1518)", worker, 1518)]
res = {}
def one(name, host, port):
    s = socket.create_connection((host, port), timeout=5)
    t0 = time.monotonic()
    s.settimeout(30)
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass
    res.setdefault(name, []).append(time.monotonic() - t0)
    s.close()
th = [threading.Thread(target=one, args=t) for t in targets for _ in range(40)]
for t in th: t.start()
for t in th: t.join()
bad = 0
for name, _, _ in targets:
    v = sorted(res.get(name, []))
    if len(v) != 40 or v[-1] > 10:
        bad = 1
    print("%s: %d closed, median %.2f s, max %.2f s" % (name, len(v), v[len(v) // 2], v[-1]))
sys.exit(bad)
PY
	fail "silent connections: $(tr '\n' ';' < "$LAB_RUN/silent.out")"
while read -r line; do pass "silent $line"; done < "$LAB_RUN/silent.out"
lab_wait 10 lab_all_ready "$(( $(date +%s) - 8 ))" ||
	fail "$(lab_ready "$(( $(date +%s) - 8 ))") of $LAB_AGENTS agents active"
reconnects=$(( $(agents_stat reconnects) - reconnects0 ))
sleep 11
reconnects=$(( $(agents_stat reconnects) - reconnects0 ))
[ "$reconnects" -eq 0 ] || fail "$reconnects agent reconnections"
pass "all $LAB_AGENTS agents active, none reconnected"
for n in master worker1 worker2 worker3; do
	c=$(grep -c "silent" "$LAB_RUN/$n/logs/cluster.log")
	[ "$c" -le 3 ] || fail "$n logged $c lines about silent connections"
done
pass "at most one line per service about them in each node's log"
finish
