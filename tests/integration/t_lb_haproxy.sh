# Real HAProxy in front of the workers, on loopback addresses: agents
# enroll and connect through its VIP and spread over both workers; a
# worker drained through clusterd's agent-check answer gets no new agents;
# once it is back, the master rebalances the agents within the tolerance.
# HAProxy's PROXY v2 headers give the nodes each agent's own address, and
# its health checks carry one where the nodes expect it.
. "$(dirname "$0")/lib.sh"

command -v haproxy >/dev/null || fail "haproxy is not installed"
E=$((PORT + 1)) G=$((PORT + 2)) C=$((PORT + 3)) S=$((PORT + 4))
VIP=127.0.0.10

# node NAME TYPE ADDRESS: every service of NAME on its own 127.0.0.x.
node() {
	write_conf "$1" "$2"
	sed -i -E "s/^(enrollment_address|gateway_address) .*/\1 $3/; \
		s/^enrollment_port .*/enrollment_port $E/; \
		s/^gateway_port .*/gateway_port $G/" "$T/$1.conf"
	echo "agent_check_port $C" >> "$T/$1.conf"
	# HAProxy sends PROXY v2 headers, from 127.0.0.1.
	echo "proxy_from 127.0.0.1" >> "$T/$1.conf"
}
node master1 master 127.0.0.1
echo "rebalance_interval 2s" >> "$T/master1.conf"
node worker1 worker 127.0.0.2
node worker2 worker 127.0.0.3
start_cluster

cat > "$T/cluster.json" <<JSON
{ "cluster": "itest", "interface": "eth0",
  "vip": { "agents": "$VIP/8", "agents_router_id": 51,
           "master": "127.0.0.11/8", "master_router_id": 52 },
  "unicast": false,
  "balancers": [ { "name": "lb1", "address": "127.0.0.1", "priority": 150 } ],
  "master": { "name": "master1", "address": "127.0.0.1" },
  "workers": [ { "name": "worker1", "address": "127.0.0.2" },
               { "name": "worker2", "address": "127.0.0.3" } ],
  "ports": { "agents": $G, "enrollment": $E, "agent_check": $C },
  "haproxy": { "stats_socket": "$T/haproxy.sock", "stats_page": "127.0.0.1:$S",
               "state_file": "$T/server-state", "maxconn": 4000 } }
JSON
python3 "$TOP/lb/render.py" --cluster "$T/cluster.json" --balancer lb1 \
	--out "$T/lb1" || fail "render"
haproxy -db -f "$T/lb1/haproxy.cfg" > "$T/haproxy.stderr" 2>&1 &
PIDS+=("$!")

# hastat SERVER [COLUMN]: HAProxy's status (or COLUMN) of SERVER in the
# agents' pool.
hastat() {
	python3 - "$T/haproxy.sock" "$1" "${2:-status}" <<'PY'
import csv, io, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"show stat\n")
data = s.makefile().read()
for row in csv.DictReader(io.StringIO(data.lstrip("# "))):
    if row["pxname"] == "workers_agents" and row["svname"] == sys.argv[2]:
        print(row[sys.argv[3]])
PY
}
up() { [ "$(hastat worker1)" = UP ] && [ "$(hastat worker2)" = UP ]; }
wait_for 20 "HAProxy sees both workers up" up
pass "HAProxy checks both workers through their agent-check port"

count() {
	ctl master1 -a --json | python3 -c '
import json, sys
print(sum(1 for a in json.load(sys.stdin)["data"]
          if a["node_name"] == sys.argv[1] and a["status"] == "active"))' "$1"
}
"$BIN/agentsim" -n 40 -P a- -e $E -p $G -k 1 -R 1 $VIP > "$T/sim1" 2>&1 &
PIDS+=("$!")
spread() { [ $(( $(count worker1) + $(count worker2) )) -eq 40 ] &&
	[ "$(count worker1)" -gt 5 ] && [ "$(count worker2)" -gt 5 ]; }
wait_for 30 "40 agents spread over both workers" spread
pass "agents enroll and connect through the VIP, spread: worker1 $(count worker1), worker2 $(count worker2)"

# An agent on 127.0.0.5 enrolls through the VIP: the node that serves it
# registers 127.0.0.5, the header's source, not HAProxy's 127.0.0.1.
a=$(python3 "$TOP/tests/integration/pp.py" --from 127.0.0.5 --to $VIP --none "$E" \
	enroll "OSSEC A:'via-vip' IP:'src'" 2>&1)
[[ $a =~ ^OSSEC\ K:\'[0-9]+\ via-vip\ 127\.0\.0\.5\  ]] || fail "IP:'src' through HAProxy: $a"
for n in master1 worker1 worker2; do
	log_has $n "PROXY header" && fail "$n refused a connection from HAProxy: $(grep 'PROXY header' "$T/$n/logs/cluster.log" | head -n 1)"
done
pass "through HAProxy's PROXY v2 header, a node sees the agent's address; checks pass"

ctl worker1 --lb-state drain >/dev/null || fail "lb-state"
drained() { [ "$(hastat worker1 weight)" = 0 ]; }
wait_for 20 "HAProxy gives worker1 weight 0 (agent-check: up 0%)" drained
before=$(count worker1)
"$BIN/agentsim" -n 20 -P b- -e $E -p $G -k 1 -R 1 $VIP > "$T/sim2" 2>&1 &
PIDS+=("$!")
more() { [ "$(count worker2)" -ge $((40 - before + 20)) ]; }
wait_for 30 "20 more agents, all on worker2" more
[ "$(count worker1)" -eq "$before" ] || fail "a drained worker got new agents"
pass "a drained worker gets no new agents"

ctl worker1 --lb-state ready >/dev/null
ready() { [ "$(hastat worker1)" = UP ] && [ "$(hastat worker1 weight)" -gt 0 ]; }
wait_for 20 "worker1 back in the pool" ready
pass "ready puts it back"

# worker1 now holds fewer agents than worker2: the master evens them out.
w1=$(count worker1) w2=$(count worker2)
[ $((w2 - w1)) -gt 6 ] || fail "no imbalance to correct ($w1/$w2)"
even() {
	local a b
	a=$(count worker1) b=$(count worker2)
	[ $((a + b)) -eq 60 ] && [ $(( (a > b ? a - b : b - a) * 100 )) -le $(( 10 * (a + b + 1) / 2 )) ]
}
wait_for 40 "agents rebalanced within 10%" even
log_has master1 '\[Rebalance\] Asking it to move' || fail "no rebalance logged"
pass "rebalanced from $w1/$w2 to $(count worker1)/$(count worker2) within the tolerance"
finish
