# Shared configuration to many agents: N agents (1000) on one worker, in
# default; default's agent.conf edited to about 30 KB on the master; prints
# the time until the master's registry shows every agent synced with the
# new merged.mg, and what the worker sent.  RATE sets shared_push_rate
# (1M).  Usage: [N=1000] [RATE=1M] bash tests/bench/shared_bench.sh
. "$(dirname "$0")/../integration/lib.sh"

SIM=$BIN/agentsim
N=${N:-1000}
RATE=${RATE:-1M}
write_conf master1 master
write_conf worker1 worker "shared_push_rate $RATE"
start master1
start worker1
wait_for 10 "worker connected" listed master1 worker1
eport=$(cat "$T/worker1.enroll_port")
"$SIM" -n "$N" -P b- -e "$eport" -p $((eport + 100)) -k 5 -R 1 -s 5 \
	127.0.0.1 > "$T/sim.out" 2>&1 &
PIDS+=("$!")

# synced_count SUM: agents the registry shows synced with merged sum SUM.
synced_count() {
	python3 - "$T/master1/queue/db/global.db" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=5)
print(db.execute("SELECT count(*) FROM agent WHERE merged_sum = ? AND "
                 "group_config_status = 'synced'", (sys.argv[2],)).fetchone()[0])
PY
}
all_synced() { [ "$(synced_count "$1")" -eq "$N" ]; }
M=$T/master1/etc/shared/default/merged.mg

wait_for 120 "every agent synced with the first merged.mg" \
	all_synced "$(md5sum < "$M" | cut -c1-32)"
{
	echo "<agent_config>"
	for i in $(seq 1 400); do
		echo "  <!-- line $i: padding to make the shared file about thirty kilobytes -->"
	done
	echo "</agent_config>"
} > "$T/master1/etc/shared/default/agent.conf"
t0=$(date +%s.%N)
sleep 1
echo "merged.mg: $(stat -c %s "$M") bytes"
wait_for 300 "every agent synced after the edit" \
	all_synced "$(md5sum < "$M" | cut -c1-32)"
awk -v a="$t0" -v b="$(date +%s.%N)" -v n="$N" -v r="$RATE" 'BEGIN {
	printf "shared_push_rate %s: all %d agents synced %.1f s after the edit\n", r, n, b - a }'
python3 - "$T/worker1/queue/cluster/c-socket" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b'{"command":"status"}\n')
g = json.loads(s.makefile().read())["data"]["gateway"]
print("worker1 sent %d merged.mg files, %d bytes" % (g["shared_pushes"], g["shared_bytes"]))
PY
finish
