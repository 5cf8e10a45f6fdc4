# Standby masters follow the active master's files (docs/ha.md): two
# master-eligible nodes with a one-member etcd on loopback and a
# nodes_file listing them as masters, one worker.  A rule edited, a group
# created and a multigroup made on the active master reach the standby;
# the active master lists it as a standby with its sync state and gives it
# no agents.  After --promote, and after the new active master hangs
# (SIGSTOP, the quiet failure), the master elected has every file, the
# worker's first check with it finds it in sync (nothing transferred), and
# the old master comes back as a standby that follows the new one.
. "$(dirname "$0")/lib.sh"

start_etcd

printf 'master1 master\nmaster2 master\nworker1 worker\n' > "$T/nodes"
M=("ha_etcd 127.0.0.1:$EC" "ha_lease_ttl 2s" "nodes_file $T/nodes" "sync_interval 2s")
write_conf master1 master "${M[@]}"
write_conf master2 master "${M[@]}"
sed -i 's/^bind_address .*/bind_address 127.0.0.2/' "$T/master2.conf"
KEY=$("$CLUSTERD" -c "$T/master1.conf" --node-key worker1) write_conf worker1 worker "sync_interval 2s"
sed -i 's/^master_address .*/master_address 127.0.0.1,127.0.0.2/' \
	"$T/master1.conf" "$T/master2.conf" "$T/worker1.conf"

ha_state() {
	ctl_json "$1" '{"command":"ha"}' | python3 -c \
		'import json,sys; print(json.load(sys.stdin)["data"]["state"])'
}
is_active() { [ "$(ha_state "$1")" = active ]; }
is_standby() { [ "$(ha_state "$1")" = standby ]; }
# tree_all HOME: every synchronized file, multigroups included, with its mode.
tree_all() {
	(cd "$T/$1" && find etc/rules etc/decoders etc/lists etc/shared etc/multigroups \
		-type f ! -name '.clusterd-sync.*' -printf '%p %m ' -exec md5sum {} \; 2>/dev/null | sort)
}
same_files() { local a; a=$(tree_all "$1"); shift; for n; do [ "$(tree_all "$n")" = "$a" ] || return 1; done; }
# standby_row ACTIVE NAME: -l on ACTIVE shows NAME as a standby in sync.
standby_row() { ctl "$1" -l | grep -qE "^$2 +standby +[^ ]+ +[^ ]+ +files in sync$"; }
# checks_in_sync HOME WORKER: HOME, as active master, has found WORKER in sync.
checks_in_sync() { log_has "$1" "\[Worker $2\] \[Integrity check\] Finished in .*Files are in sync"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.2f", b-a}'; }

mkdir -p "$T/master1/etc/rules" "$T/master1/etc/decoders"
echo '<group name="local,"><rule id="100001" level="3"><match>one</match></rule></group>' \
	> "$T/master1/etc/rules/local_rules.xml"
echo '<decoder name="local"><prematch>local</prematch></decoder>' \
	> "$T/master1/etc/decoders/local_decoder.xml"
start master1
wait_for 15 "master1 active" is_active master1
start master2
wait_for 10 "master2 standby" is_standby master2
start worker1
wait_for 15 "master2 has master1's files" same_files master1 master2
wait_for 10 "master1 lists master2 as a standby in sync" standby_row master1 master2
wait_for 10 "worker1 on master1" listed master1 worker1
log_has master2 "Following the active master's files through 127.0.0.1,127.0.0.2" ||
	fail "master2 does not say it follows"
ctl master1 -i | grep -A8 "^    master2 " | grep -q "In sync: yes" || fail "-i: master2's sync state"
ctl_json master2 '{"command":"status"}' | grep -q '"node_type":"standby".*"in_sync":true' ||
	fail "master2's status: $(ctl_json master2 '{"command":"status"}')"
# No agents, pools or rebalancing for a standby.
ctl master1 --pools --json | grep -q master2 && fail "master2 in the pools"
ctl master1 --stats | grep -q 'clusterd_peer_agents_active{peer="master2"}' && fail "master2 counted as a worker"
ctl master1 --stats | grep -q 'clusterd_peer_up{peer="master2",type="standby"} 1' || fail "clusterd_peer_up of the standby"
pass "the standby holds the active master's files and is listed as a standby, not a worker"

# Live changes: a rule edited, a group created, a multigroup made by an
# enrollment into two groups.
t0=$(now)
echo '<group name="local,"><rule id="100001" level="5"><match>two</match></rule></group>' \
	> "$T/master1/etc/rules/local_rules.xml"
ctl master1 --create-group g1 >/dev/null || fail "create-group"
enroll master1 "OSSEC A:'multi1' G:'g1,default'" | grep -q "OSSEC K:" || fail "enroll into g1,default"
wait_for 15 "a multigroup on master1" eval "ls $T/master1/etc/multigroups/*/merged.mg"
wait_for 15 "master2 has the edit, g1 and the multigroup" same_files master1 master2 worker1
echo "figure: rule edit, group and multigroup to the standby and the worker: $(since "$t0")s"
grep -q "level=\"5\"" "$T/master2/etc/rules/local_rules.xml" || fail "master2: old rule"
[ -f "$T/master2/etc/shared/g1/agent.conf" ] && [ -f "$T/master2/etc/shared/g1/merged.mg" ] ||
	fail "master2: no group g1"
pass "a rule edit, a new group and a multigroup reach the standby"

# A planned promotion: master2 serves the same files; the worker's first
# check with it finds it in sync.
t0=$(now)
ctl master2 --promote | grep -q "Taking over" || fail "--promote refused"
wait_for 20 "master2 active" is_active master2
wait_for 20 "worker1 on master2" listed master2 worker1
wait_for 10 "master2 found worker1 in sync" checks_in_sync master2 worker1
echo "figure: --promote to the worker found in sync by the new master: $(since "$t0")s"
log_has master2 "\[Worker worker1\] \[Integrity (check|sync)\] (Finished in .*Sync required|Pushing changes)" &&
	fail "the new master sent files to worker1"
log_has master2 "Stopped following|No longer following the active master's files" || fail "master2 did not stop following"
ctl master2 -g | grep -q "g1" || fail "master2 does not list g1"
same_files master2 worker1 || fail "worker1's files differ from master2's"
pass "after --promote the new master has the files; the worker's next check transfers nothing"

# The old master comes back as a standby and follows the new one.
wait_for 20 "master1 standby" is_standby master1
echo '<decoder name="after"><prematch>after</prematch></decoder>' \
	> "$T/master2/etc/decoders/after_decoder.xml"
wait_for 20 "master1 follows master2" same_files master2 master1 worker1
wait_for 10 "master2 lists master1 as a standby in sync" standby_row master2 master1
pass "the old master follows the new one as a standby"

# The quiet failure: the active master hangs.  master1 is elected with
# every file, and the worker finds it in sync.
INSYNC="\[Worker worker1\] \[Integrity check\] Finished in .*Files are in sync"
SENT="\[Worker worker1\] \[Integrity (check|sync)\] (Finished in .*Sync required|Pushing changes)"
insync=$(log_count master1 "$INSYNC") sent=$(log_count master1 "$SENT")
t0=$(now)
kill -STOP "$(pid_of master2)"
wait_for 20 "master1 active" is_active master1
echo "figure: SIGSTOP of the active master to the standby active: $(since "$t0")s (the standby stepped down by --promote stays out of elections for 3 lease times)"
wait_for 20 "worker1 on master1" listed master1 worker1
wait_for 10 "master1 found worker1 in sync" log_count_gt master1 "$INSYNC" "$insync"
echo "figure: SIGSTOP of the active master to the worker found in sync by the new one: $(since "$t0")s"
[ -f "$T/master1/etc/decoders/after_decoder.xml" ] || fail "master1 lacks the decoder added on master2"
[ "$(log_count master1 "$SENT")" -eq "$sent" ] || fail "master1 sent files to worker1"
kill -CONT "$(pid_of master2)"
wait_for 15 "master2 standby again" is_standby master2
is_active master1 || fail "master1 not active after master2 resumed"
wait_for 15 "master2 follows master1" standby_row master1 master2
pass "a hung active master: the elected one has every file; the worker's next check transfers nothing"
finish
