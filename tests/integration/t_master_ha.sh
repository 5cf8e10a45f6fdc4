# Master high availability through etcd (docs/ha.md): two master-eligible
# nodes and a one-member etcd on loopback, two workers listing both
# masters.  kill -9 of the active master during concurrent enrollments
# through the workers: the standby becomes active, enrollments go on,
# every acknowledged key is on the new master and the workers, no id is
# given twice; the old master comes back as a standby.  Then a hung
# active master (SIGSTOP): it is deposed, and when it runs again it stops
# acting as master at once and exactly one active master remains.  Then a
# planned step-down.  Recovery times are printed, not asserted.
. "$(dirname "$0")/lib.sh"

start_etcd

HA=("ha_etcd 127.0.0.1:$EC" "ha_lease_ttl 2s")
write_conf master1 master "${HA[@]}"
write_conf master2 master "${HA[@]}"
sed -i 's/^bind_address .*/bind_address 127.0.0.2/' "$T/master2.conf"
write_conf worker1 worker
write_conf worker2 worker
sed -i 's/^master_address .*/master_address 127.0.0.1,127.0.0.2/' "$T/master1.conf" "$T/master2.conf" \
	"$T/worker1.conf" "$T/worker2.conf"

# ha_state HOME: "active" or "standby", as the node says.
ha_state() {
	ctl_json "$1" '{"command":"ha"}' | python3 -c \
		'import json,sys; print(json.load(sys.stdin)["data"]["state"])'
}
is_active() { [ "$(ha_state "$1")" = active ]; }
is_standby() { [ "$(ha_state "$1")" = standby ]; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.2f", b-a}'; }
keys_of() { grep -h "OSSEC K:" "$@" | sed -E "s/^[^ ]+ OSSEC K:'(.*)'$/\1/" | sort; }

start master1
wait_for 15 "master1 active" is_active master1
start master2
wait_for 10 "master2 standby" is_standby master2
ctl master2 --create-group web 2>&1 | grep -q "standby master; the active master is master1" ||
	fail "a standby does not say who is active"
ctl master2 -l | grep -qE "^master1 +active" || fail "a standby's -l does not show master1 active"
start worker1
start worker2
wait_for 15 "workers on master1" listed master1 worker1 worker2
ctl master1 --stats | grep -qx "clusterd_ha_active 1" || fail "master1's clusterd_ha_active is not 1"
ctl master2 --stats | grep -qx "clusterd_ha_active 0" || fail "master2's clusterd_ha_active is not 0"
pass "master1 active, master2 standby, workers connected to master1"

E="python3 $TOP/tests/integration/enroll.py"
$E --many 200 --concurrency 10 --prefix a --timeout 10 --out "$T/via-w1" \
	127.0.0.1 "$(cat "$T/worker1.enroll_port")" &
c1=$!
$E --many 200 --concurrency 10 --prefix b --timeout 10 --out "$T/via-w2" \
	127.0.0.1 "$(cat "$T/worker2.enroll_port")" &
c2=$!
answered() { [ "$(cat "$T"/via-* 2>/dev/null | grep -c "OSSEC K:")" -ge "$1" ]; }
wait_for 60 "60 keys handed out" answered 60
t0=$(now)
kill -9 "$(pid_of master1)"
wait_for 20 "master2 active" is_active master2
echo "figure: kill -9 to standby active: $(since "$t0")s"
before=$(cat "$T"/via-* | grep -c "OSSEC K:")
# The first enrollment answered after the kill, through a worker.
first_after() {
	[ "$(cat "$T"/via-* | grep -c "OSSEC K:")" -gt "$before" ] && return 0
	local name=probe-$RANDOM
	echo "$name $(enroll worker1 "OSSEC A:'$name'")" >> "$T/via-probe"
	[ "$(cat "$T"/via-* | grep -c "OSSEC K:")" -gt "$before" ]
}
wait_for 30 "an enrollment answered after the kill" first_after
echo "figure: kill -9 to first enrollment answered through a worker: $(since "$t0")s"
wait "$c1" "$c2"
echo "info: $(cat "$T"/via-w* | grep -c "OSSEC K:") of 400 concurrent enrollments answered with a key (the others: an error while no master was active)"
# Each worker finds the new master by itself (its list, then backoff);
# once both have, no enrollment is refused.
wait_for 15 "workers on master2" listed master2 worker1 worker2
$E --many 100 --concurrency 10 --prefix c --timeout 10 --out "$T/via-w3" \
	127.0.0.1 "$(cat "$T/worker2.enroll_port")"
[ "$(grep -c "OSSEC K:" "$T/via-w3")" -eq 100 ] || fail "enrollments after the takeover failed: $(grep -v "OSSEC K:" "$T/via-w3" | head -3)"
dups=$(grep -ho "OSSEC K:'[0-9]*" "$T"/via-* | sort | uniq -d | wc -l)
[ "$dups" -eq 0 ] || fail "$dups ids handed out twice"
keys_of "$T"/via-* > "$T/keys.answered"
has_all() { [ "$(comm -23 "$T/keys.answered" <(sort "$T/$1/etc/client.keys") | wc -l)" -eq 0 ]; }
wait_for 10 "every answered key on master2" has_all master2
wait_for 10 "every answered key on worker1" has_all worker1
wait_for 10 "every answered key on worker2" has_all worker2
dupreg=$(cut -d' ' -f1 "$T/master2/etc/client.keys" | sort | uniq -d | wc -l)
[ "$dupreg" -eq 0 ] || fail "duplicate ids in master2's registry"
pass "standby took over; every acknowledged key on the new master and the workers; ids unique"

start master1
wait_for 15 "master1 back as standby" is_standby master1
ctl_json master1 '{"command":"ha"}' | grep -q '"leader":"master2"' || fail "master1 does not see master2 as active"
pass "the old master came back as a standby"

# A hung active master.
t0=$(now)
kill -STOP "$(pid_of master2)"
wait_for 20 "master1 active again" is_active master1
echo "figure: SIGSTOP to standby active: $(since "$t0")s"
n=$(enroll worker1 "OSSEC A:'during-hang'")
for i in 1 2 3 4 5 6 7 8 9 10; do
	grep -q "OSSEC K:" <<<"$n" && break
	sleep 1
	n=$(enroll worker1 "OSSEC A:'during-hang'")
done
grep -q "OSSEC K:" <<<"$n" || fail "no enrollment while master2 hangs: $n"
echo "figure: SIGSTOP to first enrollment answered: $(since "$t0")s"
kill -CONT "$(pid_of master2)"
wait_for 15 "master2 deposed" log_has master2 "No longer the active master"
wait_for 15 "master2 standby again" is_standby master2
is_active master1 || fail "master1 not active after master2 resumed"
is_active master2 && fail "two active masters"
wait_for 10 "every answered key on master1" has_all master1
pass "a hung master is deposed; exactly one active master when it resumes"

# A planned step-down.
t0=$(now)
ctl master2 --step-down >/dev/null 2>&1 && fail "a standby accepted --step-down"
ctl master1 --ha-check || fail "--ha-check: the active master says it is not"
ctl master2 --ha-check && fail "--ha-check: a standby says it is active"
ctl master1 --step-down | grep -q "Stepping down" || fail "step-down refused"
wait_for 20 "master2 active after the step-down" is_active master2
wait_for 15 "master1 standby after the step-down" is_standby master1
echo "figure: step-down to the other master active: $(since "$t0")s"
wait_for 15 "workers follow" listed master2 worker1 worker2
n=$(enroll worker2 "OSSEC A:'after-step-down'")
grep -q "OSSEC K:" <<<"$n" || fail "no enrollment after the step-down: $n"
pass "a planned step-down moves the role"

# A planned promotion of the standby.
t0=$(now)
ctl master1 --promote | grep -q "Taking over" || fail "--promote refused"
wait_for 20 "master1 active after --promote" is_active master1
wait_for 15 "master2 standby after --promote" is_standby master2
echo "figure: --promote to the standby active: $(since "$t0")s"
wait_for 15 "workers follow" listed master1 worker1 worker2
shows() { ctl worker1 -l | grep -qE "^$1 +$2 "; }
wait_for 10 "-l through a worker shows master1 active" shows master1 active
wait_for 10 "-l through a worker shows master2 standby" shows master2 standby
n=$(enroll worker2 "OSSEC A:'after-promote'")
grep -q "OSSEC K:" <<<"$n" || fail "no enrollment after --promote: $n"
pass "--promote moves the role to the standby; -l shows the master-eligible nodes"

# The store hangs: the active master cannot renew its lease and steps down
# by itself (nobody can tell it to); once the store answers again, exactly
# one master is elected.
before=$(log_count master1 "No longer the active master")
t0=$(now)
kill -STOP "$ETCD_PID"
wait_for 15 "master1 steps down without etcd" log_count_gt master1 "No longer the active master" "$before"
echo "figure: etcd hung to the active master stepping down: $(since "$t0")s"
wait_for 10 "master1 standby" is_standby master1
is_active master2 && fail "master2 active without etcd"
kill -CONT "$ETCD_PID"
one_active() { is_active master1 && is_standby master2 || { is_active master2 && is_standby master1; }; }
wait_for 20 "one master active once etcd answers" one_active
pass "without the store no master serves; with it back, exactly one"

# A master elected makes its registry equal to etcd's records: an agent
# its SQLite holds but etcd does not (never acknowledged) is dropped, one
# etcd holds but it does not is added.
if command -v etcdctl >/dev/null; then
	E_CTL() { ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:$EC" "$@"; }
	kill -9 "$(pid_of master1)" "$(pid_of master2)"
	victim=$(head -1 "$T/keys.answered" | cut -d' ' -f1)
	E_CTL del "/clusterd/itest/a/$victim" | grep -qx 1 || fail "etcdctl del"
	E_CTL put "/clusterd/itest/a/999" '{"id":"999","name":"only-in-etcd","ip":"any","register_ip":"any","key":"'"$(printf 'a%.0s' $(seq 64))"'","groups":"","version":"","enroll_src":"","date_add":1765000000}' >/dev/null || fail "etcdctl put"
	start master1
	wait_for 20 "master1 active" is_active master1
	keys_has() { grep -q "^$1 " "$T/master1/etc/client.keys"; }
	wait_for 10 "the agent only in etcd in client.keys" keys_has 999
	keys_has "$victim" && fail "agent $victim, not in etcd, still in the registry"
	# Dropped by the first read of its copy as a standby, or when elected.
	log_has master1 "registry equal to the cluster store.* 1 (removed or )?dropped" ||
		log_has master1 "Registry equal to the cluster store.* 1 (removed or )?dropped" || fail "no drop logged"
	pass "the elected master's registry equals etcd's records (one added, one dropped)"
fi
finish
