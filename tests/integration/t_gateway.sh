# The agent gateway: 200 simulated agents enrolled and connected across two
# workers show active with the right node; a stopped worker's agents become
# disconnected after agents_disconnection_time; an agent deleted on the
# master loses its connection and does not come back; legacy Blowfish
# agents are answered in Blowfish.
. "$(dirname "$0")/lib.sh"

SIM=$BIN/agentsim
write_conf master1 master "agents_disconnection_time 3s" "gateway yes"
write_conf worker1 worker "agents_disconnection_time 3s"
write_conf worker2 worker "agents_disconnection_time 3s"
start_cluster

# sim NODE PREFIX: 100 agents enrolled at NODE and connected to its gateway.
sim() {
	local eport
	eport=$(cat "$T/$1.enroll_port")
	"$SIM" -n 100 -P "$2" -e "$eport" -p $((eport + 100)) -k 1 -r 1 -R 1 \
		-s 1 127.0.0.1 > "$T/sim-$1.out" 2>&1 &
	PIDS+=("$!")
	eval "SIM_$1=$!"
}
sim worker1 w1-
sim worker2 w2-

count() {	# count NODE STATUS: agents of NODE in STATUS, per the master
	ctl master1 -a --json | python3 -c '
import json, sys
d = json.load(sys.stdin)["data"]
print(sum(1 for a in d if a["node_name"] == sys.argv[1] and a["status"] == sys.argv[2]))
' "$1" "$2"
}
both_active() { [ "$(count worker1 active)" = 100 ] && [ "$(count worker2 active)" = 100 ]; }
wait_for 30 "200 agents active on their workers" both_active
ctl master1 -a | grep -E "^[0-9]+ +w1-0000001 +any +10\.0\.0\.1 +127\.0\.0\.1 +active +Wazuh v4\.14\.7 +worker1$" >/dev/null \
	|| fail "agent row: $(ctl master1 -a | grep w1-0000001)"
ctl master1 -i | grep -q "Agents: 100 active of 100" || fail "health counts: $(ctl master1 -i)"
pass "200 agents enrolled and active, each with its worker as node"

# Events were archived as JSON lines on the workers.
wait_for 10 "events archived" test -s "$T/worker1/logs/archives/archives.json"
# Made under clusterd's umask 027, whatever the shell's.
[ "$(stat -c %a "$T/worker1/logs/archives/archives.json")" = 640 ] ||
	fail "archives.json mode $(stat -c %a "$T/worker1/logs/archives/archives.json")"
python3 - "$T/worker1/logs/archives/archives.json" <<'PY' || fail "archives"
import json, sys
# Writes are buffered: the last line may still be incomplete.
lines = [json.loads(l) for l in open(sys.argv[1]).read().split("\n")[:-1]]
e = lines[0]
assert e["agent"]["name"].startswith("w1-") and e["manager"]["name"] == "worker1", e
assert e["location"] == "/var/log/syslog" and "sshd" in e["full_log"], e
PY
pass "events archived with agent, node, location and full_log"

# An agent deleted on the master is cut off and cannot come back.
victim=$(ctl master1 -a --json | python3 -c '
import json, sys
print(next(a["id"] for a in json.load(sys.stdin)["data"] if a["name"] == "w2-0000007"))')
ctl master1 --remove-agent "$victim" >/dev/null || fail "remove"
wait_for 10 "rejections counted" sh -c "'$CTL' -H '$T/worker2' -i >/dev/null; \
	python3 -c \"
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect('$T/worker2/queue/cluster/c-socket')
s.sendall(b'{\\\"command\\\":\\\"status\\\"}\\n')
r = json.loads(s.makefile().read())['data']['gateway']['rejected']
sys.exit(0 if r.get('unknown agent id', 0) > 0 else 1)\""
sleep 2
ctl master1 -a | grep -q " w2-0000007 " && fail "the deleted agent came back"
pass "a deleted agent loses its connection and is refused"

# The master serves agents too when configured (gateway yes).
sim master1 m-
m_active() { [ "$(count master1 active)" = 100 ]; }
wait_for 30 "100 agents active on the master's own gateway" m_active
pass "the master serves agents when configured"

# worker1 stops: its agents become disconnected on the master.
kill -TERM "$(pid_of worker1)"
kill "$SIM_worker1"
w1_gone() { [ "$(count worker1 disconnected)" = 100 ]; }
wait_for 20 "worker1's agents disconnected" w1_gone
[ "$(count worker2 active)" = 99 ] || fail "worker2's agents affected: $(count worker2 active)"
pass "a stopped worker's agents become disconnected after the configured time"

# Legacy Blowfish agents get their acks in Blowfish (the simulator's -b
# agents count an AES answer as a bad message).
eport=$(cat "$T/worker2.enroll_port")
"$SIM" -b -n 5 -P bf- -e "$eport" -p $((eport + 100)) -k 1 -t 4 127.0.0.1 \
	> "$T/sim-bf.out" 2>&1 || fail "blowfish agents: $(cat "$T/sim-bf.out")"
python3 - "$T/sim-bf.out" <<'PY' || fail "blowfish answers: $(tail -1 "$T/sim-bf.out")"
import json, sys
s = json.loads(open(sys.argv[1]).read().strip().split("\n")[-1])["summary"]
assert s["enrolled"] == 5 and s["acks"] >= 10 and s["bad_messages"] == 0, s
PY
pass "Blowfish agents are answered in Blowfish"
finish
