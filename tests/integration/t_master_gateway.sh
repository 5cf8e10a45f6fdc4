# The master's own gateway (gateway yes) reports as a worker's does: with
# simulated agents on the master and on a worker, every view shows the two
# nodes alike -- -l, -i (agent counts), -a and -a --id (node, status, OS,
# addresses, group sync), --gateway counters, --stats, --pools, the
# agent-check answer and --lb-state, disconnection after
# agents_disconnection_time when the agents hang (a quiet failure), and
# rebalancing, which moves agents off the master as off a worker.
. "$(dirname "$0")/lib.sh"

SIM=$BIN/agentsim
CM=$((PORT + 3))	# agent-check ports: the master's, the worker's
CW=$((PORT + 4))
write_conf master1 master "agents_disconnection_time 3s" "gateway yes" \
	"agent_check_port $CM" "rebalance_interval 2s" "rebalance_tolerance 50"
write_conf worker1 worker "agents_disconnection_time 3s" "agent_check_port $CW"
start master1
start worker1
wait_for 10 "worker1 connected" listed master1 worker1

# sim NODE PREFIX N: N agents enrolled at NODE and connected to its gateway.
sim() {
	local eport
	eport=$(cat "$T/$1.enroll_port")
	"$SIM" -n "$3" -P "$2" -e "$eport" -p $((eport + 100)) -k 1 -r 1 -R 1 \
		127.0.0.1 > "$T/sim-$2.out" 2>&1 &
	PIDS+=("$!")
	LAST_SIM=$!
}
count() {	# count NODE STATUS: agents of NODE in STATUS, per the master
	ctl master1 -a --json | python3 -c '
import json, sys
d = json.load(sys.stdin)["data"]
print(sum(1 for a in d if a["node_name"] == sys.argv[1] and a["status"] == sys.argv[2]))
' "$1" "$2"
}
stat_of() { ctl "$1" --stats | awk -v m="$2" '$1 == m { print $2 }'; }
check() {
	python3 -c "
import socket
print(socket.create_connection(('127.0.0.1', $1), 3).recv(256).decode().strip())"
}

sim master1 m- 4
SIM_M=$LAST_SIM
sim worker1 w- 4
SIM_W=$LAST_SIM
both() { [ "$(count master1 "$1")" = 4 ] && [ "$(count worker1 "$1")" = 4 ]; }
wait_for 30 "4 agents active on each node" both active
pass "4 agents active on the master's gateway, 4 on worker1's"

# -a: the same row, each with its own node.
for n in master1:m- worker1:w-; do
	ctl master1 -a | grep -qE "^[0-9]+ +${n#*:}0000001 +any +10\.0\.0\.1 +127\.0\.0\.1 +active +Wazuh v4\.14\.7 +${n%%:*}$" ||
		fail "-a row of ${n#*:}0000001: $(ctl master1 -a)"
done
# -a --id: the same fields and values (OS, addresses, sums, group sync),
# but for the name, id, node and times.
synced() {	# synced NAME: the agent's group files are in sync
	local id
	id=$(ctl master1 -a --json | python3 -c '
import json, sys
print(next(a["id"] for a in json.load(sys.stdin)["data"] if a["name"] == sys.argv[1]))' "$1")
	ctl master1 -a --id "$id" --json | grep -q '"group_config_status":"synced"'
}
wait_for 20 "group sync reported" synced m-0000001
wait_for 20 "group sync reported" synced w-0000001
ctl master1 -a --json > "$T/list.json"
python3 - "$T/list.json" "$CTL" "$T/master1" <<'PY' || fail "agent details differ"
import json, subprocess, sys
lst = json.load(open(sys.argv[1]))["data"]
ids = {a["name"]: a["id"] for a in lst}
def detail(name):
    out = subprocess.run([sys.argv[2], "-H", sys.argv[3], "-a", "--id", ids[name],
                          "--json"], capture_output=True, check=True).stdout
    return json.loads(out)["data"]
m, w = detail("m-0000001"), detail("w-0000001")
assert m["node_name"] == "master1" and w["node_name"] == "worker1", (m, w)
for k in ("os_name", "os_platform", "reported_ip", "source_ip", "merged_sum",
          "config_sum", "status", "version"):
    assert m.get(k), (k, m)
assert m["group_config_status"] == "synced", m
def norm(a):
    a = dict(a)
    for k in ("id", "name", "node_name", "date_add", "last_keepalive", "os_uname"):
        a.pop(k, None)
    a["labels"] = {k: v for k, v in a.get("labels", {}).items() if k != "index"}
    return a
assert norm(m) == norm(w), (norm(m), norm(w))
print("same:", ", ".join(sorted(norm(m))))
PY
pass "-a and -a --id show the master's agent as a worker's (node, status, OS, addresses, group sync)"

# -l: both ok, the same fields.  -i: each with its agent counts.
ctl master1 -l | grep -qE '^master1 +master .* ok$' || fail "-l: $(ctl master1 -l)"
ctl master1 -l | grep -qE '^worker1 +worker .* ok$' || fail "-l: $(ctl master1 -l)"
ctl master1 -i > "$T/health.txt"
for n in master1 worker1; do
	awk -v n="$n" '/^    [a-z]/ { cur = $1 } cur == n && /Agents: 4 active of 4$/ { found = 1 }
		END { exit !found }' "$T/health.txt" || fail "-i, $n: $(cat "$T/health.txt")"
done
ctl master1 -i --json | python3 -c '
import json, sys
n = {x["name"]: x for x in json.load(sys.stdin)["data"]["nodes"]}
assert n["master1"]["agent_counts"] == n["worker1"]["agent_counts"] == {"total": 4, "active": 4}, n
assert n["master1"]["health"] == n["worker1"]["health"] == "ok", n
' || fail "-i --json agent counts"
pass "-l shows both ok; -i counts 4 active of 4 for the master as for worker1"

# --gateway: the same counters, the same values for the same load.
ctl master1 --gateway --json > "$T/gm.json" || fail "--gateway on the master"
ctl worker1 --gateway --json > "$T/gw.json" || fail "--gateway on worker1"
python3 - "$T/gm.json" "$T/gw.json" <<'PY' || fail "--gateway differs"
import json, sys
m, w = (json.load(open(f))["data"]["gateway"] for f in sys.argv[1:3])
assert set(m) == set(w), set(m) ^ set(w)
for k in ("served", "connections"):
    assert m[k] == w[k] == 4, (k, m[k], w[k])
for k in ("health", "balancer_state", "draining"):
    assert m[k] == w[k], (k, m[k], w[k])
assert m["messages"] > 0 and m["events"] > 0, m
PY
pass "--gateway: the same counters on the master as on worker1, 4 agents each"

# --stats: each node's active agents; the same gateway metrics on both.
[ "$(stat_of master1 'clusterd_peer_agents_active{peer="master1"}')" = 4 ] ||
	fail "metrics: $(ctl master1 --stats | grep peer_agents_active)"
[ "$(stat_of master1 'clusterd_peer_agents_active{peer="worker1"}')" = 4 ] ||
	fail "metrics: $(ctl master1 --stats | grep peer_agents_active)"
diff <(ctl master1 --stats | awk '$1 ~ /^clusterd_gateway_/ { sub(/[{ ].*/, "", $1); print $1 }' | sort -u) \
     <(ctl worker1 --stats | awk '$1 ~ /^clusterd_gateway_/ { sub(/[{ ].*/, "", $1); print $1 }' | sort -u) ||
	fail "gateway metrics differ"
for n in master1 worker1; do
	[ "$(stat_of $n clusterd_gateway_agents)" = 4 ] || fail "clusterd_gateway_agents on $n"
done
pass "--stats: 4 active agents for master1 and worker1; the same gateway metrics"

# --pools: both members alike but for name, type and ports.
ctl master1 --pools --json | python3 -c '
import json, sys
m = {x["name"]: x for x in json.load(sys.stdin)["data"]["members"]}
def norm(x):
    x = json.loads(json.dumps(x))
    for k in ("name", "type", "check_port"):
        x.pop(k)
    for p in ("agents", "enrollment"):
        x[p].pop("port")
    return x
assert norm(m["master1"]) == norm(m["worker1"]), (m["master1"], m["worker1"])
assert m["master1"]["agents"]["state"] == "ready" and m["master1"]["agents"]["in_pool"], m
' || fail "--pools: $(ctl master1 --pools --json)"
pass "--pools shows the master as worker1"

# agent-check, and --lb-state on each node.
[ "$(check $CM)" = "up 100%" ] && [ "$(check $CW)" = "up 100%" ] ||
	fail "agent-check: master $(check $CM), worker $(check $CW)"
ctl master1 --lb-state drain >/dev/null || fail "--lb-state on the master"
ctl worker1 --lb-state drain >/dev/null || fail "--lb-state on worker1"
[ "$(check $CM)" = "$(check $CW)" ] && [ "$(check $CM)" = "up 0%" ] ||
	fail "drained: master $(check $CM), worker $(check $CW)"
ctl master1 --lb-state maint >/dev/null && ctl worker1 --lb-state maint >/dev/null ||
	fail "--lb-state maint"
[ "$(check $CM)" = "$(check $CW)" ] || fail "maint: master $(check $CM), worker $(check $CW)"
ctl master1 --lb-state ready >/dev/null && ctl worker1 --lb-state ready >/dev/null ||
	fail "--lb-state ready"
[ "$(check $CM)" = "up 100%" ] && [ "$(check $CW)" = "up 100%" ] || fail "ready again"
pass "agent-check answers alike, and --lb-state sets it on the master as on worker1"

# The agents hang (stopped, connections left open): both nodes' agents
# become disconnected after agents_disconnection_time, and active again.
t0=$(date +%s.%N)
kill -STOP "$SIM_M" "$SIM_W"
wait_for 20 "both nodes' agents disconnected" both disconnected
pass "hung agents disconnected on both nodes $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s after they stopped (agents_disconnection_time 3s)"
ctl master1 -a --json | python3 -c '
import json, sys
for a in json.load(sys.stdin)["data"]:
    assert a["node_name"] in ("master1", "worker1") and a["status"] == "disconnected", a
' || fail "disconnected rows"
t0=$(date +%s.%N)
kill -CONT "$SIM_M" "$SIM_W"
wait_for 30 "4 agents active on each node again" both active
pass "active again on both nodes $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s after they resumed"

# Rebalancing: 8 more agents on the master (12 against 4), and it is asked
# to move its excess as a worker is; then the same the other way round.
asked() {	# asked NODE: rounds that asked NODE to move agents, in the master's log
	log_count master1 "\\[$(ctx_of "$1") $1\\] \\[Rebalance\\] Asking it to move [0-9]+ of its"
}
ctx_of() { [ "$1" = master1 ] && echo Master || echo Worker; }
shed() { log_count "$1" "Rebalancing: asked [0-9]+ agents to reconnect"; }
moves0=$(stat_of master1 clusterd_rebalance_moves_total)
a0=$(asked master1)
s0=$(shed master1)
sim master1 mx- 8
SIM_MX=$LAST_SIM
more_asked() { [ "$(asked "$1")" -gt "$2" ]; }
more_shed() { [ "$(shed "$1")" -gt "$2" ]; }
wait_for 30 "the master asked to move agents" more_asked master1 "$a0"
wait_for 10 "the master's gateway moved agents" more_shed master1 "$s0"
[ "$(stat_of master1 clusterd_rebalance_moves_total)" -gt "$moves0" ] || fail "moves not counted"
pass "rebalancing moves agents off the master: $(grep -E 'Master master1\] \[Rebalance\] Asking it' "$T/master1/logs/cluster.log" | tail -1 | sed 's/.*INFO: //')"
kill "$SIM_MX"
gone() {	# gone PREFIX: none of those agents is active any more
	ctl master1 -a --json | python3 -c '
import json, sys
sys.exit(any(a["name"].startswith(sys.argv[1]) and a["status"] == "active"
             for a in json.load(sys.stdin)["data"]))' "$1"
}
wait_for 20 "the extra agents gone" gone mx-
a0=$(asked worker1)
s0=$(shed worker1)
sim worker1 wx- 8
SIM_WX=$LAST_SIM
wait_for 30 "worker1 asked to move agents" more_asked worker1 "$a0"
wait_for 10 "worker1's gateway moved agents" more_shed worker1 "$s0"
pass "and off worker1 alike: $(grep -E 'Worker worker1\] \[Rebalance\] Asking it' "$T/master1/logs/cluster.log" | tail -1 | sed 's/.*INFO: //')"

# Their simulator killed: connections closed, no shutdown message.  The
# agents become disconnected after agents_disconnection_time (3 s).
t0=$(date +%s.%N)
kill -9 "$SIM_WX"
wait_for 20 "the killed simulator's agents disconnected" gone wx-
pass "agents whose connections closed without a shutdown disconnected $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s later"
finish
