# Replays with enforce_counters yes: an agent served by worker1 moves to
# worker2 through a recording balancer; the last message it sent there,
# replayed byte for byte on a new connection to the worker it left
# (worker1), to one that never served it (worker3) and to worker2 itself,
# gets no answer: the counters went with the agent's reports through the
# master.  The same bytes on worker4, with enforce_counters no (Wazuh's
# default), are answered: they were a valid message.
. "$(dirname "$0")/lib.sh"

CAP=$BIN/../tests/integration/capture.py
[ -x "$CAP" ] || CAP=$TOP/tests/integration/capture.py
for n in master1 worker1 worker2 worker3; do
	if [ "$n" = master1 ]; then t=master; else t=worker; fi
	write_conf $n $t "enforce_counters yes"
done
write_conf worker4 worker "enforce_counters no"
start master1
start worker1
start worker2
start worker3
start worker4
wait_for 10 "workers connected" listed master1 worker1 worker2 worker3 worker4
gw() { echo $(($(cat "$T/$1.enroll_port") + 100)); }

# The balancer: to worker1 first.  Keepalives only (-r 0): they are the
# messages a gateway answers.
RELAY=$((PORT + 1))
gw worker1 > "$T/target"
"$CAP" relay "$RELAY" "$T/target" "$T/frames" > "$T/relay.out" 2>&1 &
PIDS+=("$!")
wait_for 10 "relay listening" grep -q listening "$T/relay.out"

"$BIN/agentsim" -n 1 -P rp- -e "$(cat "$T/worker1.enroll_port")" \
	-p "$RELAY" -k 1 -r 0 -R 1 127.0.0.1 > "$T/sim.out" 2>&1 &
SIM=$!
PIDS+=("$SIM")

node_of() {	# node_of NAME: "node status" of agent NAME, per the master
	ctl master1 -a --json | python3 -c '
import json, sys
for a in json.load(sys.stdin)["data"]:
    if a["name"] == sys.argv[1]:
        print(a["node_name"], a["status"])
' "$1"
}
on() { [ "$(node_of rp-0000001)" = "$1 active" ]; }
sent_to() { [ "$(grep -c "^$1 " "$T/frames" 2>/dev/null)" -ge "$2" ]; }
wait_for 30 "agent active on worker1" on worker1
wait_for 20 "messages through worker1" sent_to "$(gw worker1)" 5
pass "agent active on worker1 through the balancer"

# It moves to worker2, sends a few messages there, and stops: worker2
# reports its last counters with the closed connection.
gw worker2 > "$T/target.new" && mv "$T/target.new" "$T/target"
wait_for 30 "agent active on worker2" on worker2
wait_for 20 "messages through worker2" sent_to "$(gw worker2)" 5
{ kill -9 "$SIM"; wait "$SIM"; } 2>/dev/null	# no shutdown message: the last
						# one is a keepalive
pass "agent moved to worker2 and stopped"
frame=$(grep "^$(gw worker2) " "$T/frames" | tail -n 1 | cut -d' ' -f2)
[ -n "$frame" ] || fail "no frame captured"
sleep 3		# generous: the counters' report, and the master's delta

for n in worker1 worker3 worker2; do
	r=$("$CAP" replay "$(gw $n)" "$frame")
	[ "$r" = silent ] || fail "replay to $n: $r (expected silent)"
done
[ "$(node_of rp-0000001 | cut -d' ' -f1)" = worker2 ] ||
	fail "a replay moved the agent: $(node_of rp-0000001)"
pass "the replayed message is refused on the worker left, a new one and the last"

# The control: the same bytes are a valid message, answered where
# counters are not enforced.
r=$("$CAP" replay "$(gw worker4)" "$frame")
[ "$r" = answered ] || fail "replay to worker4 (enforce_counters no): $r"
pass "without enforce_counters the same bytes are answered"
finish
