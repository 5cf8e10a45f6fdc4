# The balancer role keeps two real HAProxies' pools equal to the cluster
# (loopback addresses): a worker the rendered configuration lacks is added,
# a server the cluster lacks is deleted, operators' edits (drain, remove,
# ready) reach both balancers, a HAProxy reload keeps them, a new worker
# enters both pools by itself and a gone one leaves them.  The balancers'
# metrics count HAProxy's servers by state and see HAProxy go and return.
. "$(dirname "$0")/lib.sh"

command -v haproxy >/dev/null || fail "haproxy is not installed"

# Every node on 127.0.0.1 with its own ports (lib.sh); agent-check on +50;
# HAProxy (send-proxy-v2) connects from 127.0.0.1.
node() {
	write_conf "$1" "$2" "pool_leave_after 3s" "proxy_from 127.0.0.1"
	[ "$2" = worker ] && echo "agent_check_port $(($(cat "$T/$1.enroll_port") + 50))" >> "$T/$1.conf"
}
node master1 master
node worker1 worker
echo "max_agents 20" >> "$T/worker1.conf"
node worker2 worker
start_cluster
E1=$(cat "$T/worker1.enroll_port") G1=$(($(cat "$T/worker1.enroll_port") + 100))

# Two balancers, each with its HAProxy on its own address, rendered from a
# description that has worker1 (at the wrong port) and a "ghost" the
# cluster does not have, but not worker2.
cat > "$T/cluster.json" <<JSON
{ "cluster": "itest", "interface": "eth0",
  "vip": { "agents": "127.0.0.10/8", "agents_router_id": 51,
           "master": "127.0.0.11/8", "master_router_id": 52 },
  "unicast": false,
  "balancers": [ { "name": "lb1", "address": "127.0.0.1", "priority": 150 },
                 { "name": "lb2", "address": "127.0.0.1", "priority": 100 } ],
  "master": { "name": "master1", "address": "127.0.0.1" },
  "workers": [ { "name": "worker1", "address": "127.0.0.1" },
               { "name": "ghost", "address": "127.0.0.1" } ],
  "ports": { "agents": $((G1 + 1)), "enrollment": $E1, "agent_check": $((E1 + 50)) },
  "haproxy": { "stats_socket": "SOCK", "stats_page": "127.0.0.1:STATS",
               "state_file": "STATE", "maxconn": 2000 } }
JSON
for i in 1 2; do
	d=$T/lb$i
	mkdir -p "$d"
	sed "s|SOCK|$d/admin.sock|; s|STATS|$((PORT + 2 + i))|; s|STATE|$d/server-state|" \
		"$T/cluster.json" > "$d/cluster.json"
	python3 "$TOP/lb/render.py" --cluster "$d/cluster.json" --balancer "lb$i" \
		--out "$d" || fail "render lb$i"
	sed -i "s/127\.0\.0\.10:/127.0.0.$((10 * i)):/" "$d/haproxy.cfg"
	haproxy -D -f "$d/haproxy.cfg" -p "$d/haproxy.pid" 2> "$T/haproxy$i.stderr" ||
		fail "haproxy lb$i: $(cat "$T/haproxy$i.stderr")"
	PIDS+=("$(cat "$d/haproxy.pid")")
	write_conf "lb$i" balancer "haproxy_socket $d/admin.sock" \
		"haproxy_config $d/haproxy.cfg" "haproxy_state_file $d/server-state" \
		"pool_check_interval 500ms" "pool_drain_timeout 2s"
	start "lb$i"
done
wait_for 10 "balancers connected" listed master1 lb1 lb2
ctl master1 -l | grep -qE '^lb1 +balancer ' || fail "lb1 not listed as a balancer"

# srv LB BACKEND SERVER: "admin address:port" in LB's HAProxy, or "absent".
srv() {
	python3 - "$T/$1/admin.sock" "$2" "$3" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"show servers state %s\n" % sys.argv[2].encode())
lines = s.makefile().read().splitlines()
cols = lines[1][2:].split()
for l in lines[2:]:
    f = dict(zip(cols, l.split()))
    if f and f["srv_name"] == sys.argv[3]:
        a = int(f["srv_admin_state"])
        print("maint" if a & 0x67 else "drain" if a & 0x18 else "ready",
              "%s:%s" % (f["srv_addr"], f["srv_port"]))
        sys.exit(0)
print("absent")
PY
}
both() {	# both BACKEND SERVER EXPECTED-PREFIX
	[[ "$(srv lb1 "$1" "$2")" == "$3"* ]] && [[ "$(srv lb2 "$1" "$2")" == "$3"* ]]
}
G2=$(($(cat "$T/worker2.enroll_port") + 100))
wait_for 15 "worker2 added to both balancers" both workers_agents worker2 "ready 127.0.0.1:$G2"
wait_for 15 "the ghost deleted" both workers_agents ghost absent
wait_for 15 "worker1 moved to its port" both workers_agents worker1 "ready 127.0.0.1:$G1"
both nodes_enrollment master1 ready || fail "master not in the enrollment pool"
both workers_agents master1 absent || fail "the master is in the agents' pool"
log_has lb1 'Added workers_agents/worker2' || fail "no add logged"
log_has lb1 'Deleted workers_agents/ghost' || fail "no delete logged"
log_has lb1 'workers_agents/worker1 moved to' || fail "no move logged"
log_has lb1 'HAProxy refused' && fail "HAProxy refused a command: $(grep refused "$T/lb1/logs/cluster.log")"
# hastatus LB SERVER: HAProxy's status of SERVER in LB's agents' pool.
hastatus() {
	echo "show stat -1 4 -1" | socat - "unix-connect:$T/$1/admin.sock" |
		awk -F, -v s="$2" '$1 == "workers_agents" && $2 == s { print $18 }'
}
wait_for 15 "worker2 UP in lb2's HAProxy (health and agent checks)" eval '[ "$(hastatus lb2 worker2)" = UP ]'
pass "both balancers' pools follow the cluster: worker2 added, ghost deleted, worker1 moved, master kept out of 1514"

grep -q "server worker2 127.0.0.1:$G2 send-proxy-v2 check" "$T/lb1/haproxy.cfg" || fail "haproxy.cfg not rewritten"
grep -q "server ghost" "$T/lb1/haproxy.cfg" && fail "ghost still in haproxy.cfg"
haproxy -c -f "$T/lb1/haproxy.cfg" >/dev/null 2>&1 || fail "rewritten haproxy.cfg invalid"
pass "the persisted haproxy.cfg is rewritten and valid"

out=$(ctl master1 --pools) || fail "--pools"
grep -qE '^worker2 +worker +yes' <<<"$out" || fail "--pools members: $out"
grep -qE 'Balancer lb2 \(connected' <<<"$out" || fail "--pools balancers: $out"
grep -qE 'workers_agents +worker2 ' <<<"$out" || fail "--pools servers: $out"
pass "cluster_control --pools lists members and each balancer's servers"

ctl master1 --pool-state drain --node worker2 >/dev/null || fail "pool-state drain"
wait_for 10 "worker2 drained on both" both workers_agents worker2 drain
log_has master1 'Pool edit: worker2 set to drain in both pools' || fail "edit not logged"
count() {
	ctl master1 -a --json | python3 -c '
import json, sys
print(sum(1 for a in json.load(sys.stdin)["data"]
          if a["node_name"] == sys.argv[1] and a["status"] == "active"))' "$1"
}
"$BIN/agentsim" -n 10 -P d- -e "$E1" -p $((G1 + 1)) -k 1 -R 1 127.0.0.10 > "$T/sim.out" 2>&1 &
PIDS+=("$!")
wait_for 30 "10 agents through lb1" eval '[ "$(count worker1)" -eq 10 ]'
[ "$(count worker2)" -eq 0 ] || fail "the drained worker2 got agents"
pass "a drain reaches both balancers; the drained worker gets none of 10 new agents"
ans=$(python3 -c 'import socket,sys; print(socket.create_connection(("127.0.0.1", int(sys.argv[1]))).recv(64).decode().strip())' $((E1 + 50)))
[ "$ans" = "up 50%" ] || fail "worker1's agent-check answer with 10 of max_agents 20: $ans"
pass "agent-check answers a weight from max_agents: $ans"

# The balancers' metrics (cluster_control --stats): the pools as HAProxy
# holds them, worker1 up and worker2 drained, and the master's lists.
lbstat() {	# lbstat NODE SERIES: its value in NODE's --stats
	ctl "$1" --stats > "$T/$1.stats" &&
		python3 "$TOP/tests/integration/metrics.py" --file "$T/$1.stats" "$2"
}
lbis() { [ "$(lbstat "$1" "$2")" = "$3" ]; }
for lb in lb1 lb2; do
	wait_for 10 "$lb: one agents server drained" lbis $lb 'clusterd_balancer_servers{pool="agents",state="drain"}' 1
	wait_for 10 "$lb: one agents server up" lbis $lb 'clusterd_balancer_servers{pool="agents",state="up"}' 1
	lbis $lb 'clusterd_balancer_pool_servers{pool="agents"}' 2 || fail "$lb: agents pool"
	lbis $lb 'clusterd_balancer_pool_servers{pool="enrollment"}' 3 || fail "$lb: enrollment pool"
	lbis $lb clusterd_balancer_haproxy_up 1 || fail "$lb: haproxy_up"
	lbis $lb clusterd_balancer_serving 1 || fail "$lb: serving"
	lbis $lb clusterd_uplink_up 1 || fail "$lb: uplink_up"
	[ "$(lbstat $lb clusterd_balancer_edits_total)" -ge 2 ] || fail "$lb: edits"
	lbis master1 "clusterd_peer_up{peer=\"$lb\",type=\"balancer\"}" 1 || fail "master: $lb up"
done
pass "the balancers' metrics: servers by state, the master's pools, HAProxy and the uplink up"

# A reload keeps the edit (server-state file) and the added server (config).
old=$(cat "$T/lb1/haproxy.pid")
haproxy -D -f "$T/lb1/haproxy.cfg" -p "$T/lb1/haproxy.pid" -x "$T/lb1/admin.sock" \
	-sf "$old" 2>> "$T/haproxy1.stderr" || fail "reload"
PIDS+=("$(cat "$T/lb1/haproxy.pid")")
sleep 0.5
[ "$(srv lb1 workers_agents worker2)" = "drain 127.0.0.1:$G2" ] ||
	fail "after reload: $(srv lb1 workers_agents worker2)"
pass "a HAProxy reload keeps the drained worker2"

# Back to ready: the drain is lifted although worker2 answers agent-check
# (the agent speaks only of weight, so the admin state is the operator's).
ctl master1 --pool-state ready --node worker2 >/dev/null || fail "pool-state ready"
wait_for 10 "worker2 ready again on both" both workers_agents worker2 ready
ctl master1 --pool-state drain --node worker2 >/dev/null || fail "pool-state drain again"
wait_for 10 "worker2 drained again on both" both workers_agents worker2 drain
pass "drain, ready and drain again follow the operator on both balancers"

ctl master1 --pool-state remove --node worker2 >/dev/null || fail "remove"
wait_for 15 "worker2 out of both pools" both workers_agents worker2 absent
wait_for 5 "worker2 out of enrollment" both nodes_enrollment worker2 absent
grep -q "server worker2 " "$T/lb2/haproxy.cfg" && fail "worker2 left in haproxy.cfg"
pass "a removed worker leaves both pools and both configs"

ctl master1 --pool-state ready --node worker2 >/dev/null || fail "ready"
wait_for 15 "worker2 back" both workers_agents worker2 ready
pass "ready brings it back"

node worker3 worker
start worker3
W3=$(pid_of worker3)
G3=$(($(cat "$T/worker3.enroll_port") + 100))
wait_for 15 "worker3 joins both pools" both workers_agents worker3 "ready 127.0.0.1:$G3"
pass "a new worker enters both balancers' pools by itself"
kill -9 "$W3"
wait_for 20 "worker3 leaves both pools" both workers_agents worker3 absent
log_has master1 'worker3 has been gone 3s: it leaves the pools' || fail "leave not logged"
pass "a worker gone longer than pool_leave_after leaves both pools"

# A HAProxy restart (not a reload) finds the pools in the rewritten
# configuration; the balancer notices the outage once and the recovery.
kill -9 "$(cat "$T/lb2/haproxy.pid")"
wait_for 10 "lb2 notices HAProxy is gone" log_has lb2 'HAProxy: .*admin.sock'
wait_for 5 "lb2's metrics say so" lbis lb2 clusterd_balancer_haproxy_up 0
# HAProxy replaces its stale socket (it binds a temporary name and
# renames it): removing it first would show the balancer a second error.
haproxy -D -f "$T/lb2/haproxy.cfg" -p "$T/lb2/haproxy.pid" 2>> "$T/haproxy2.stderr" ||
	fail "haproxy lb2 restart"
PIDS+=("$(cat "$T/lb2/haproxy.pid")")
[ "$(srv lb2 workers_agents worker2)" = "ready 127.0.0.1:$G2" ] ||
	fail "after a restart: $(srv lb2 workers_agents worker2)"
wait_for 10 "lb2 sees HAProxy again" log_has lb2 'HAProxy answers again'
wait_for 5 "and its metrics" lbis lb2 clusterd_balancer_haproxy_up 1
[ "$(log_count lb2 'HAProxy: .*admin.sock')" -eq 1 ] || fail "the outage is logged more than once"
pass "a HAProxy restart keeps the pools (rewritten haproxy.cfg); the outage is logged once"

# Balancers keep the pools when the master goes away.
kill -9 "$(pid_of master1)"
sleep 2
both workers_agents worker2 ready || fail "pools changed without a master"
pass "without the master the balancers keep their pools"
finish
