# Groups and shared files: the default group exists from the start; agents
# enroll into a group named with G:, into default without it, and are
# refused for a group that does not exist; the master merges each group
# into merged.mg, the worker receives it by file sync, its gateway pushes
# it to agents whose keepalive shows another sum, and the registry shows
# them synced.  An edit of agent.conf on the master, and a group added to
# an agent (a multigroup), reach the connected agents without a restart.
. "$(dirname "$0")/lib.sh"

SIM=$BIN/agentsim
write_conf master1 master
write_conf worker1 worker
start master1
start worker1
wait_for 10 "worker connected" listed master1 worker1

M=$T/master1
W=$T/worker1
[ -s "$M/etc/shared/default/agent.conf" ] || fail "no default agent.conf"
wait_for 10 "default merged.mg on the master" test -s "$M/etc/shared/default/merged.mg"
head -1 "$M/etc/shared/default/merged.mg" | grep -qx "#default" || fail "tag line"
wait_for 10 "default merged.mg on the worker" cmp -s "$M/etc/shared/default/merged.mg" \
	"$W/etc/shared/default/merged.mg"
pass "the default group and its merged.mg exist from the start and reach the worker"

ctl master1 --create-group linux >/dev/null || fail "create-group"
printf '<agent_config>\n  <labels><label key="g">linux</label></labels>\n</agent_config>\n' \
	> "$M/etc/shared/linux/agent.conf"
wait_for 10 "linux merged.mg on the worker" sh -c "grep -q 'key=\"g\"' '$W/etc/shared/linux/merged.mg'"

eport=$(cat "$T/worker1.enroll_port")
mkdir -p "$T/files"
# sim PREFIX N [G]: N agents on worker1, keepalives every second.
sim() {
	"$SIM" -n "$2" -P "$1" ${3:+-G "$3"} -m "$T/files" -e "$eport" \
		-p $((eport + 100)) -k 1 -R 1 -s 1 127.0.0.1 > "$T/sim-$1.out" 2>&1 &
	PIDS+=("$!")
}
sim l- 3 linux
sim d- 1

agent_json() {	# agent_json NAME: cluster_control -a --id on the master, JSON
	local id
	id=$(ctl master1 -a -j | python3 -c '
import json, sys
print(next(a["id"] for a in json.load(sys.stdin)["data"] if a["name"] == sys.argv[1]))' "$1") || return 1
	ctl master1 -a --id "$id" -j
}
# synced NAME FILE: the registry shows NAME synced with FILE's MD5.
synced() {
	local sum
	sum=$(md5sum < "$2" | cut -d' ' -f1)
	agent_json "$1" | python3 -c '
import json, sys
a = json.load(sys.stdin)["data"]
sys.exit(0 if a["merged_sum"] == sys.argv[1] and a["group_config_status"] == "synced" else 1)' "$sum"
}
wait_for 30 "linux agents synced" synced l-0000001 "$M/etc/shared/linux/merged.mg"
for n in l-0000002 l-0000003; do
	wait_for 10 "$n synced" synced $n "$M/etc/shared/linux/merged.mg"
done
cmp -s "$T/files/l-0000001.merged.mg" "$M/etc/shared/linux/merged.mg" ||
	fail "the agent's file differs from the master's merged.mg"
agent_json l-0000001 | python3 -c '
import json, sys
a = json.load(sys.stdin)["data"]
assert a["groups"] == "linux", a
assert a["os_name"] == "Debian GNU/Linux" and a["os_platform"] == "debian", a
assert a["labels"]["env"] == "sim" and a["config_sum"] != "", a' || fail "agent detail: $(agent_json l-0000001)"
ctl master1 -a --id "$(agent_json l-0000001 | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["id"])')" |
	grep -E "^Group config +synced$" >/dev/null || fail "cluster_control -a --id text"
ctl worker1 -a --id "$(agent_json l-0000001 | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["id"])')" -j |
	grep -q '"group_config_status":"synced"' || fail "cluster_control -a --id on the worker"
wait_for 10 "default agent synced" synced d-0000001 "$M/etc/shared/default/merged.mg"
[ "$(agent_json d-0000001 | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["groups"])')" = default ] ||
	fail "an agent enrolled without G: is not in default"
pass "agents enroll into their groups (default without G:), receive merged.mg, and show synced"

# A group that does not exist is refused, as Wazuh's authd does.
"$SIM" -n 1 -P bad- -G nosuch -e "$eport" -p $((eport + 100)) -t 2 127.0.0.1 \
	> "$T/sim-bad.out" 2>&1
python3 - "$T/sim-bad.out" <<'PY' || fail "unknown group: $(tail -1 "$T/sim-bad.out")"
import json, sys
s = json.loads(open(sys.argv[1]).read().strip().split("\n")[-1])["summary"]
assert s["enrolled"] == 0 and s["enroll_errors"] >= 1, s
PY
log_has master1 "no group nosuch" || fail "refusal not logged"
pass "an unknown group is refused"

# An edit of agent.conf on the master reaches the connected agents.
start_edit=$SECONDS
printf '<agent_config>\n  <labels><label key="g">linux-2</label></labels>\n</agent_config>\n' \
	> "$M/etc/shared/linux/agent.conf"
wait_for 10 "new merged.mg" sh -c "grep -q linux-2 '$M/etc/shared/linux/merged.mg'"
for n in l-0000001 l-0000002 l-0000003; do
	wait_for 30 "$n synced after the edit" synced $n "$M/etc/shared/linux/merged.mg"
done
grep -q linux-2 "$T/files/l-0000003.merged.mg" || fail "agent file not updated"
echo "    edit to every agent synced: $((SECONDS - start_edit)) s"
pass "an edit of a group's agent.conf reaches every agent without a restart"

# A group added to an agent: its multigroup merge is made and pushed.
ctl master1 --create-group extra >/dev/null || fail "create extra"
echo "extra" > "$M/etc/shared/extra/extra.txt"
id1=$(agent_json l-0000001 | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["id"])')
ctl master1 --assign-group extra --agent "$id1" >/dev/null || fail "assign"
H=$(printf 'linux,extra' | sha256sum | cut -c1-8)
wait_for 10 "multigroup merged.mg" test -s "$M/etc/multigroups/$H/merged.mg"
head -1 "$M/etc/multigroups/$H/merged.mg" | grep -qx "#$H" || fail "multigroup tag"
grep -q "<!-- Source file: extra/agent.conf -->" "$M/etc/multigroups/$H/merged.mg" ||
	fail "multigroup agent.conf"
wait_for 30 "multigroup agent synced" synced l-0000001 "$M/etc/multigroups/$H/merged.mg"
cmp -s "$T/files/l-0000001.merged.mg" "$M/etc/multigroups/$H/merged.mg" || fail "multigroup file"
synced l-0000002 "$M/etc/shared/linux/merged.mg" || fail "another agent moved too"
pass "an agent given a second group receives the multigroup's merge"

# The worker counts what it sent.
python3 - "$W/queue/cluster/c-socket" <<'PY' || fail "push counters"
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b'{"command":"status"}\n')
g = json.loads(s.makefile().read())["data"]["gateway"]
assert g["shared_pushes"] >= 8 and g["shared_bytes"] > 0, g
print("    worker1 sent %d merged.mg files, %d bytes" % (g["shared_pushes"], g["shared_bytes"]))
PY
pass "the worker counts the files it sent"

finish
