# Out of file descriptors: a master whose limit is lowered (prlimit) is
# flooded on every service it serves (cluster port, enrollment, agents,
# agent-check, control socket) until accept fails.  Its listeners pause
# rather than spin: little CPU, one log line per listener.  Once the flood
# goes, every service answers again, with the limit still low.
. "$(dirname "$0")/lib.sh"

CHECK_PORT=$((PORT + 3))
write_conf master1 master "gateway yes" "agent_check_port $CHECK_PORT"
write_conf worker1 worker
write_conf worker2 worker
start master1
start worker1
wait_for 10 "worker1 connected" listed master1 worker1
M=$(pid_of master1)
EPORT=$(cat "$T/master1.enroll_port")
GPORT=$((EPORT + 100))

# Leave the master 16 descriptors to spare.
base=$(ls "/proc/$M/fd" | wc -l)
prlimit --pid "$M" --nofile=$((base + 16)): || fail "prlimit"
pass "master's descriptor limit lowered to $((base + 16)) ($base in use)"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# The flood: 100 connections to each TCP service and 30 to the control
# socket, held open for HOLD seconds; it says when all are connected.
HOLD=5
python3 - "$T/master1/queue/cluster/c-socket" "$HOLD" "$T/flood.ready" \
	"$PORT" "$EPORT" "$GPORT" "$CHECK_PORT" <<'PY' &
import socket, sys, time
path, hold, ready = sys.argv[1], float(sys.argv[2]), sys.argv[3]
socks = []
for port in map(int, sys.argv[4:]):
    for _ in range(100):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        socks.append(s)
for _ in range(30):
    s = socket.socket(socket.AF_UNIX)
    s.setblocking(False)
    s.connect_ex(path)
    socks.append(s)
open(ready, "w").close()
time.sleep(hold)
for s in socks:
    s.close()
PY
FLOOD=$!
PIDS+=("$FLOOD")
wait_for 10 "the flood connected" test -e "$T/flood.ready"
sleep 1
t0=$(cpu_ticks "$M")
sleep 3
t1=$(cpu_ticks "$M")
hz=$(getconf CLK_TCK)
cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" 'BEGIN{printf "%.2f", (b-a)/hz}')
awk -v c="$cpu" 'BEGIN{exit !(c < 1.5)}' ||
	fail "the master used ${cpu}s of CPU in 3s at the limit (a busy loop?)"
log_has master1 "Out of file descriptors" || fail "no log line at the limit"
lines=$(log_count master1 "Out of file descriptors")
[ "$lines" -le 5 ] || fail "$lines 'Out of file descriptors' lines (at most one per listener)"
pass "at the limit: ${cpu}s CPU in 3s, $lines log line(s) for 5 listeners"

wait "$FLOOD"
t_free=$SECONDS
# Every service again, the limit still low.
wait_for 10 "control socket answers" listed master1 worker1
enrolled() { enroll master1 "OSSEC A:'fd-agent'" | grep -q "^OSSEC K:'"; }
wait_for 10 "an enrollment answered" enrolled
check_answer() {
	python3 - "$CHECK_PORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
sys.exit(0 if s.recv(64).startswith(b"up") else 1)
PY
}
wait_for 10 "agent-check answers" check_answer
start worker2
wait_for 10 "worker2 joins over the cluster port" listed master1 worker1 worker2
"$BIN/agentsim" -n 5 -P fd- -e "$EPORT" -p "$GPORT" -k 1 -r 5 -R 1 \
	127.0.0.1 > "$T/sim.out" 2>&1 &
PIDS+=("$!")
active() {
	[ "$(ctl master1 -a --json | python3 -c '
import json, sys
print(sum(1 for a in json.load(sys.stdin)["data"]
          if a["name"].startswith("fd-") and a["status"] == "active"))')" = 5 ]
}
wait_for 20 "5 agents active on the master's gateway" active
pass "every service recovered in $((SECONDS - t_free))s, the limit still $((base + 16))"
finish
