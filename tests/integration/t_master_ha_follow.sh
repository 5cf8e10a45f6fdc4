# A standby master's live copy of the registry (docs/ha.md): one etcd
# member and two master-eligible nodes on loopback.  Agents enrolled on
# the active master appear in the standby's -a and etc/client.keys, a
# group assignment and a removal follow, the standby answers read-only
# commands from its copy (and refuses writes), shows its lag, which goes
# to 0; its link to etcd hung (a stopped relay), it shows a growing lag
# and catches up once the link is back; the pools' operator states are mirrored; on takeover it reads
# only what changed since its copy, and the promoted master has every
# agent and the pools' states.  Times are printed, not asserted.
. "$(dirname "$0")/lib.sh"

command -v etcd >/dev/null || { echo "FAIL: no etcd (scripts/deps.sh installs etcd-server)"; finish; exit 1; }

EC=$((PORT + 3)) EP=$((PORT + 4))
etcd --name e1 --data-dir "$T/etcd" --log-level error \
	--listen-client-urls "http://127.0.0.1:$EC" --advertise-client-urls "http://127.0.0.1:$EC" \
	--listen-peer-urls "http://127.0.0.1:$EP" --initial-advertise-peer-urls "http://127.0.0.1:$EP" \
	--initial-cluster "e1=http://127.0.0.1:$EP" >"$T/etcd.stderr" 2>&1 &
PIDS+=("$!")
wait_for 20 "etcd up" curl -sf "http://127.0.0.1:$EC/health"

# master2 reaches etcd through a relay that the test hangs (SIGSTOP): a
# quiet cut of the standby's link to etcd.
RELAY=$((PORT + 1))
python3 "$TOP/tests/integration/pp.py" --none "$EC" relay "$RELAY" >/dev/null &
RELAY_PID=$!
PIDS+=("$RELAY_PID")

write_conf master1 master "ha_etcd 127.0.0.1:$EC" "ha_lease_ttl 2s"
write_conf master2 master "ha_etcd 127.0.0.1:$RELAY" "ha_lease_ttl 2s"
sed -i 's/^bind_address .*/bind_address 127.0.0.2/' "$T/master2.conf"

# ha FIELD...: a field of the node's "ha" answer (a.b for nested ones).
ha() {
	ctl_json "$1" '{"command":"ha"}' | python3 -c '
import json, sys
d = json.load(sys.stdin)["data"]
for k in sys.argv[1].split("."):
    d = d[k]
print(json.dumps(d) if isinstance(d, (bool, dict, list)) else d)' "$2"
}
is_active() { [ "$(ha "$1" state)" = active ]; }
is_standby() { [ "$(ha "$1" state)" = standby ]; }
# count HOME: agents in HOME's -a (its registry, or a standby's copy).
count() {
	ctl_json "$1" '{"command":"agents"}' | python3 -c \
		'import json,sys; print(len(json.load(sys.stdin)["data"]))'
}
has_count() { [ "$(count "$1")" -eq "$2" ]; }
keys_of() { grep -h "OSSEC K:" "$@" | sed -E "s/^[^ ]+ OSSEC K:'(.*)'$/\1/" | sort; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.2f", b-a}'; }

start master1
wait_for 15 "master1 active" is_active master1
start master2
wait_for 10 "master2 standby" is_standby master2

E="python3 $TOP/tests/integration/enroll.py"
t0=$(now)
$E --many 30 --concurrency 5 --prefix a --timeout 10 --out "$T/via-1" \
	127.0.0.1 "$(cat "$T/master1.enroll_port")"
[ "$(grep -c "OSSEC K:" "$T/via-1")" -eq 30 ] || fail "enrollments on master1 failed"
wait_for 10 "30 agents in the standby's -a" has_count master2 30
echo "figure: 30 enrollments answered to all in the standby's copy: $(since "$t0")s"
keys_of "$T"/via-* > "$T/keys.answered"
has_all() { [ "$(comm -23 "$T/keys.answered" <(sort "$T/$1/etc/client.keys") | wc -l)" -eq 0 ]; }
wait_for 10 "every key in the standby's client.keys" has_all master2
ctl master2 -a | grep -q " a0001 " || fail "the standby's -a does not list a0001"
ctl master2 -a --id 001 | grep -q "a00" || fail "the standby does not show agent 001 (-a --id)"
ctl master2 -g >/dev/null || fail "the standby refuses -g"
pass "agents enrolled on the active master are in the standby's copy (-a, -a --id, client.keys)"

ctl master2 --remove-agent 002 2>&1 | grep -q "standby master; the active master is master1" ||
	fail "a standby does not refuse a write with the active master's name"
ctl master1 --create-group web >/dev/null || fail "group creation refused"
ctl master1 --assign-group web --agent 003 >/dev/null || fail "group assignment refused"
ctl master1 --remove-agent 002 >/dev/null || fail "removal refused"
ctl master1 --pool-state maint --node master1 >/dev/null || fail "pool state refused"
in_web() { ctl master2 -a --id 003 | grep -q "web"; }
wait_for 10 "agent 002 gone from the standby's -a" has_count master2 29
ctl_json master2 '{"command":"agent","agent":"002"}' | grep -q "does not exist" ||
	fail "the removed agent is still in the standby's copy"
wait_for 10 "agent 003 in group web on the standby" in_web
wait_for 10 "002 gone from the standby's client.keys" sh -c "! grep -q '^002 ' '$T/master2/etc/client.keys'"
pools_mirrored() { grep -q '"maint"' "$T/master2/var/pools.json"; }
wait_for 10 "the pools' states mirrored on the standby" pools_mirrored
pass "a removal (tombstone), a group change and a pool state reach the standby"

caught_up() { [ "$(ha master2 replication.lag_seconds)" = 0 ] && [ "$(ha master2 replication.revisions_behind)" = 0 ]; }
wait_for 10 "the standby's lag at 0" caught_up
ctl master2 --stats | grep -qx "clusterd_ha_standby_lag_seconds 0" || fail "no clusterd_ha_standby_lag_seconds 0 on the standby"
ctl master2 --stats | grep -qx "clusterd_ha_standby_revisions_behind 0" || fail "no clusterd_ha_standby_revisions_behind 0"
ctl master1 -l | grep -qE "^master2 +standby .* 0\.0s, 0 revisions" || fail "-l does not show the standby's lag: $(ctl master1 -l)"
ctl master2 --ha | grep -q "copy of the registry: lag 0.0s, 0 revisions behind" || fail "--ha on the standby does not show its lag"
pass "the standby's lag is shown (--ha, -l, metrics) and at 0"

# The standby's link to etcd hangs while agents enroll: its lag grows and
# shows; once the link is back, it catches up.
t0=$(now)
kill -STOP "$RELAY_PID"
$E --many 5 --concurrency 5 --prefix c --timeout 10 --out "$T/via-3" \
	127.0.0.1 "$(cat "$T/master1.enroll_port")"
[ "$(grep -c "OSSEC K:" "$T/via-3")" -eq 5 ] || fail "enrollments while the standby is cut off failed"
lagging() { awk -v l="$(ha master2 replication.lag_seconds)" 'BEGIN { exit !(l >= 1) }'; }
wait_for 15 "the standby's lag growing while cut off" lagging
ctl master2 --stats | grep -qE "^clusterd_ha_standby_lag_seconds [1-9]" ||
	fail "clusterd_ha_standby_lag_seconds does not show the lag: $(ctl master2 --stats | grep standby_lag)"
ctl master2 --ha | grep -qE "copy of the registry: lag [1-9]" || fail "--ha on the standby does not show its lag"
echo "figure: the standby's link to etcd hung to its lag shown: $(since "$t0")s"
t0=$(now)
kill -CONT "$RELAY_PID"
wait_for 20 "the standby caught up after its link came back" caught_up
echo "figure: link back to the standby caught up: $(since "$t0")s"
has_count master2 34 || fail "the standby has $(count master2) agents after catching up, not 34"
pass "a standby cut off from etcd shows its lag, and catches up once the link is back"

# Takeover: the standby, stopped while more agents enroll, reads only the
# changes since its copy when elected.
kill -STOP "$(pid_of master2)"
$E --many 5 --concurrency 5 --prefix b --timeout 10 --out "$T/via-2" \
	127.0.0.1 "$(cat "$T/master1.enroll_port")"
[ "$(grep -c "OSSEC K:" "$T/via-2")" -eq 5 ] || fail "enrollments while the standby is stopped failed"
t0=$(now)
kill -9 "$(pid_of master1)"
kill -CONT "$(pid_of master2)"
wait_for 20 "master2 active" is_active master2
echo "figure: kill -9 of the active master to the standby active: $(since "$t0")s"
[ "$(ha master2 restore.full)" = false ] || fail "the promoted standby read every record: $(ha master2 restore)"
[ "$(ha master2 restore.records)" -lt 39 ] || fail "the promoted standby read more than the tail: $(ha master2 restore)"
echo "info: promotion read $(ha master2 restore.records) records since revision $(ha master2 restore.since_revision) in $(ha master2 restore.seconds)s"
log_has master2 "registry: the tail" || fail "no promotion log line naming the tail"
keys_of "$T"/via-* | grep -v "^002 " > "$T/keys.answered"
wait_for 10 "every key on the promoted master" has_all master2
has_count master2 39 || fail "the promoted master has $(count master2) agents, not 39"
ctl master2 -a --id 003 | grep -q web || fail "the promoted master lost agent 003's group"
ctl master2 --pools | grep -E "^master1 " | grep -q maint || fail "the promoted master lost the pool state: $(ctl master2 --pools)"
pass "the promoted standby read only the tail and has every agent and the pools' states"
finish
