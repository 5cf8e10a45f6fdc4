# A worker that cannot store its agents' events (its archive file over the
# process's file size limit: EFBIG, as a full disk's ENOSPC) stops taking
# agents: agent-check says "down #reason", its agents' connections are
# closed and new ones refused, the failure is logged once and the events
# not stored are counted; the master shows the reason in -l and --pools.
# Once the limit is lifted it comes back by itself: agent-check "up",
# agents active on it again, the archive file has only whole lines.
. "$(dirname "$0")/lib.sh"

CHECK_PORT=$((PORT + 3))
write_conf master1 master
write_conf worker1 worker "agent_check_port $CHECK_PORT"
start master1
start worker1
wait_for 10 "worker1 connected" listed master1 worker1
EPORT=$(cat "$T/worker1.enroll_port")
ARCH=$T/worker1/logs/archives/archives.json
LOG=$T/worker1/logs/cluster.log

check() {
	python3 -c "
import socket
print(socket.create_connection(('127.0.0.1', $CHECK_PORT), 3).recv(256).decode().strip())"
}
stat_of() { ctl worker1 --stats | awk -v m="$1" '$1 == m { print $2 }'; }
active() {
	ctl master1 -a --json | python3 -c '
import json, sys
print(sum(1 for a in json.load(sys.stdin)["data"] if a["status"] == "active" and a["node_name"] == "worker1"))'
}
all_active() { [ "$(active)" = 20 ]; }

"$BIN/agentsim" -n 20 -e "$EPORT" -p $((EPORT + 100)) -k 1 -r 20 -R 1 \
	127.0.0.1 > "$T/sim.out" 2>&1 & PIDS+=("$!")
wait_for 30 "20 agents active on worker1" all_active
wait_for 10 "events archived" test -s "$ARCH"
[ "$(check)" = "up 100%" ] || fail "agent-check before: $(check)"
[ "$(stat_of clusterd_gateway_storing)" = 1 ] || fail "storing before"
pass "20 agents sending events to worker1; agent-check: up 100%"

# The archive file may grow 64 KiB more, then its writes fail.
limit=$(( $(stat -c %s "$ARCH") + 65536 ))
[ "$limit" -gt "$(stat -c %s "$LOG")" ] || limit=$(( $(stat -c %s "$LOG") + 65536 ))
t0=$(date +%s.%N)
prlimit --pid "$(pid_of worker1)" --fsize="$limit:" || fail "prlimit"
down() { [[ $(check) == "down #cannot write logs/archives/archives.json: File too large" ]]; }
wait_for 10 "agent-check says down" down
pass "agent-check: '$(check)' $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s after the limit"
none() { [ "$(stat_of clusterd_gateway_agents)" = 0 ]; }
wait_for 10 "worker1s agents connections closed" none
pass "worker1 closed its agents' connections $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s after the limit"
unhealthy() { ctl master1 -l | grep -qE '^worker1 .* cannot write logs/archives/archives\.json: File too large$'; }
wait_for 5 "-l shows worker1's health" unhealthy
ctl master1 --pools | grep -qE '^worker1 .* cannot write logs/archives/archives\.json: File too large$' ||
	fail "--pools: $(ctl master1 --pools)"
ctl master1 --pools | grep -qE '^master1 .* ok$' || fail "--pools, master: $(ctl master1 --pools)"
pass "the master shows the reason in -l and --pools"
sleep 3	# agents keep trying meanwhile: each is refused, nothing logged
[ "$(stat_of clusterd_gateway_agents)" = 0 ] || fail "agents served while failing"
refused=$(stat_of 'clusterd_gateway_rejected_total{reason="not_storing"}')
unstored=$(stat_of clusterd_gateway_events_unstored_total)
[ "${refused:-0}" -gt 0 ] || fail "no connection refused while failing"
[ "${unstored:-0}" -gt 0 ] || fail "no event counted as not stored"
[ "$(stat_of clusterd_gateway_storing)" = 0 ] || fail "storing while failing"
[ "$(log_count worker1 "Cannot store agents' events")" = 1 ] ||
	fail "failure logged $(log_count worker1 "Cannot store agents' events") times"
pass "failing: $refused connections refused, $unstored events counted not stored, logged once"

t1=$(date +%s.%N)
prlimit --pid "$(pid_of worker1)" --fsize=unlimited: || fail "prlimit"
up() { [ "$(check)" = "up 100%" ]; }
wait_for 10 "agent-check up again" up
pass "agent-check up again $(awk -v a="$t1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s after the limit was lifted"
wait_for 30 "20 agents active on worker1 again" all_active
healthy() { ctl master1 -l | grep -qE '^worker1 .* ok$'; }
wait_for 5 "-l shows worker1 ok" healthy
[ "$(log_count worker1 "stored again")" = 1 ] || fail "recovery not logged once"
[ "$(log_count worker1 "Cannot store agents' events")" = 1 ] || fail "failure logged again"
pass "worker1 takes its 20 agents again $(awk -v a="$t1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s after the limit was lifted; the master shows it ok"

# Only whole lines: the line cut by the failed write was cut back.
n0=$(wc -l < "$ARCH")
wait_for 10 "events archived again" sh -c "[ \$(wc -l < '$ARCH') -gt $n0 ]"
python3 - "$ARCH" <<'PY' || fail "archive lines"
import json, sys
lines = open(sys.argv[1]).read().split("\n")[:-1]
for i, l in enumerate(lines):
    json.loads(l)
print(len(lines), "lines, all JSON")
PY
pass "every line of the archive file is whole JSON"
finish
