# A worker's graceful drain behind a real HAProxy: on SIGTERM it answers
# agent-check "up 0%", asks its agents to reconnect in paced chunks and
# stops once none is left; every agent is then served by the other worker,
# all moved by #!-force_reconnect (none cut off), and every event the agents
# sent is archived by one worker or the other.  Then cluster_control
# --drain, named for the worker it runs on, drains as SIGTERM does, and a
# second SIGTERM during a drain stops the worker at once.
. "$(dirname "$0")/lib.sh"

command -v haproxy >/dev/null || fail "haproxy is not installed"
E=$((PORT + 1)) G=$((PORT + 2)) C=$((PORT + 3)) S=$((PORT + 4))
VIP=127.0.0.10

node() {
	write_conf "$1" "$2"
	sed -i -E "s/^(enrollment_address|gateway_address) .*/\1 $3/; \
		s/^enrollment_port .*/enrollment_port $E/; \
		s/^gateway_port .*/gateway_port $G/" "$T/$1.conf"
	echo "agent_check_port $C" >> "$T/$1.conf"
	echo "proxy_from 127.0.0.1" >> "$T/$1.conf"
}
node master1 master 127.0.0.1
echo "rebalance_interval 2s" >> "$T/master1.conf"
node worker1 worker 127.0.0.2
node worker2 worker 127.0.0.3
# 10 agents a second: the 20 of worker1 leave over 2 s.
echo "drain_rate 10" >> "$T/worker1.conf"
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

hastat() {
	echo "show stat" | socat -t 2 stdio "unix-connect:$T/haproxy.sock" |
	    awk -F, -v s="$1" '$1 == "workers_agents" && $2 == s { print $18 }'
}
up() { [ "$(hastat worker1)" = UP ] && [ "$(hastat worker2)" = UP ]; }
wait_for 20 "HAProxy sees both workers up" up

count() {
	ctl master1 -a --json | python3 -c '
import json, sys
print(sum(1 for a in json.load(sys.stdin)["data"]
          if a["node_name"] == sys.argv[1] and a["status"] == "active"))' "$1"
}
# stat KEY: the agents' counter KEY in agentsim's last stats line.
stat() {
	grep '"stats"' "$T/sim" | tail -n 1 |
	    python3 -c 'import json, sys; print(json.load(sys.stdin)["stats"][sys.argv[1]])' "$1"
}
archived() { cat "$T"/worker*/logs/archives/archives.json 2>/dev/null | grep -c 'sshd\[' || true; }

"$BIN/agentsim" -n 40 -P a- -e $E -p $G -k 1 -R 1 -r 2 -s 0.5 $VIP > "$T/sim" 2>&1 &
SIM=$!
PIDS+=("$SIM")
even() { [ "$(count worker1)" -eq 20 ] && [ "$(count worker2)" -eq 20 ]; }
wait_for 40 "40 agents, 20 on each worker" even
pass "40 agents through HAProxy: worker1 $(count worker1), worker2 $(count worker2)"

closed0=$(stat closed_by_peer) forced0=$(stat force_reconnects)
t0=$(date +%s.%N)
kill -TERM "$(pid_of worker1)"
gone() { ! kill -0 "$(pid_of worker1)" 2>/dev/null; }
wait_for 30 "worker1 stops once drained" gone
t1=$(date +%s.%N)
log_has worker1 '\[Drain\] Drained after' ||
	fail "worker1 stopped without draining: $(grep Drain "$T/worker1/logs/cluster.log")"
pass "SIGTERM: worker1 drained and stopped in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s ($(grep -o 'Drained after.*' "$T/worker1/logs/cluster.log"))"
log_has master1 'worker1.*Draining before it stops' || fail "the master was not told of the drain"
all2() { [ "$(count worker2)" -eq 40 ]; }
wait_for 20 "every agent on worker2" all2
sleep 1
[ "$(stat closed_by_peer)" -eq "$closed0" ] ||
	fail "agents were cut off: closed_by_peer $closed0 -> $(stat closed_by_peer)"
[ "$(stat force_reconnects)" -ge $((forced0 + 20)) ] ||
	fail "force_reconnects $forced0 -> $(stat force_reconnects)"
pass "every agent on worker2, all 20 moved by #!-force_reconnect, none cut off (longest without a manager: $(stat manager_gap_max) s)"

kill -TERM "$SIM"
wait "$SIM" 2>/dev/null
sent=$(grep '"summary"' "$T/sim" | python3 -c 'import json, sys; print(json.load(sys.stdin)["summary"]["events"])')
all_archived() { [ "$(archived)" -eq "$sent" ]; }
wait_for 10 "$sent events archived (have $(archived))" all_archived
pass "all $sent events the agents sent were archived across the drain"

# --drain NODE on worker1 itself; a long drain_wait keeps it draining.
echo "drain_wait 60s" >> "$T/worker1.conf"
start worker1
wait_for 10 "worker1 back" listed master1 worker1
wait_for 20 "HAProxy sees worker1 up" up
"$BIN/agentsim" -n 10 -P b- -e $E -p $G -k 1 -R 1 $VIP > "$T/sim2" 2>&1 &
PIDS+=("$!")
some() { [ "$(count worker1)" -gt 0 ]; }
wait_for 30 "agents on worker1 again" some
out=$(ctl worker1 --drain worker2 2>&1) && fail "--drain of another node accepted"
grep -q "this is worker1" <<<"$out" || fail "--drain worker2 on worker1: $out"
ctl worker1 --drain worker1 > "$T/drain.out" || fail "--drain worker1"
grep -q "worker1 is draining" "$T/drain.out" || fail "drain answer: $(cat "$T/drain.out")"
wait_for 5 "the drain logged" log_has worker1 '\[Drain\] Draining'
sleep 1
gone && fail "worker1 stopped during drain_wait"
pass "cluster_control --drain worker1 drains it (and refuses another node's name)"
t0=$(date +%s.%N)
kill -TERM "$(pid_of worker1)"
wait_for 5 "a second SIGTERM stops worker1 at once" gone
log_has worker1 'again: stopping now' || fail "second signal not logged"
pass "a second SIGTERM stops a drain in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
finish
