# Enrollment through the master and through a worker, duplicates refused
# and replaced per policy, keys, deletions and groups replicated to every
# worker, and an immediate error when the master is down.
. "$(dirname "$0")/lib.sh"

not_in_keys() { ! grep -q "^$1 " "$T/master1/etc/client.keys"; }

# No retry window: the duplicates below come from the same address within
# minutes, which would otherwise count as retries of a lost answer
# (t_enroll_crash.sh tests those).
write_conf master1 master "force_after_registration_time 8s" "worker_writes yes" \
	"enrollment_retry_window 0"
write_conf worker1 worker
write_conf worker2 worker
start_cluster

a=$(enroll master1 "OSSEC A:'web-01' V:'v4.14.7'")
registered=$SECONDS
re="^OSSEC K:'001 web-01 any [0-9a-f]{64}'\$"
[[ $a =~ $re ]] || fail "via master: $a"
b=$(enroll worker1 "OSSEC A:'web-02' IP:'10.1.2.3'")
re="^OSSEC K:'002 web-02 10\.1\.2\.3 [0-9a-f]{64}'\$"
[[ $b =~ $re ]] || fail "via worker: $b"
c=$(enroll worker2 "OSSEC A:'web-03' IP:'src'")
re="^OSSEC K:'003 web-03 127\.0\.0\.1 "
[[ $c =~ $re ]] || fail "IP:'src': $c"
pass "enrolled through the master and through workers"

# TLS 1.2 offers ECDHE with AEAD only: a CBC or SHA-1 suite is refused.
python3 - "$(cat "$T/master1.enroll_port")" <<'PY' || fail "enrollment TLS suites"
import socket, ssl, sys
port = int(sys.argv[1])
def hs(cipher):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(cipher)
    try:
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), 5)) as s:
            return s.cipher()[0]
    except ssl.SSLError:
        return None
for bad in ("ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA",
            "ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA256",
            "AES256-GCM-SHA384:AES128-SHA"):
    assert hs(bad) is None, bad
got = hs("HIGH:!ADH:!EXP:!MD5:!RC4:!3DES:!CAMELLIA:@STRENGTH")
assert got.startswith("ECDHE-") and ("GCM" in got or "CHACHA" in got), got
PY
pass "TLS 1.2: ECDHE with AEAD only (CBC, SHA-1 and RSA key exchange refused)"

key1=$(sed -E "s/^OSSEC K:'001 web-01 any ([0-9a-f]+)'$/\1/" <<<"$a")
wait_for 5 "client.keys rewritten" grep -qx "001 web-01 any $key1" "$T/master1/etc/client.keys"
[ "$(stat -c %a "$T/master1/etc/client.keys")" = 640 ] || fail "client.keys mode"
# The registry holds the keys too: no access for others.
[ "$(stat -c %a "$T/master1/queue/db/global.db")" = 640 ] ||
	fail "global.db mode $(stat -c %a "$T/master1/queue/db/global.db")"
wait_for 5 "keys on every worker" agents_agree worker1 worker2
# Each worker writes its own client.keys from the master's deltas.
wait_for 5 "worker2's client.keys" grep -qx "001 web-01 any $key1" "$T/worker2/etc/client.keys"
[ "$(stat -c %a "$T/worker2/etc/client.keys")" = 640 ] || fail "worker2 client.keys mode"
pass "keys reach every worker (memory and disk) and client.keys"

# Errors, as agents expect them.
[ "$(enroll worker1 "OSSEC A:'web-01'")" = "ERROR: Duplicate agent name: web-01. Unable to add agent" ] \
	|| fail "duplicate name via worker: $(enroll worker1 "OSSEC A:'web-01'")"
[ "$(enroll master1 "OSSEC A:'other' IP:'10.1.2.3'")" = "ERROR: Duplicate IP: 10.1.2.3" ] \
	|| fail "duplicate IP: $(enroll master1 "OSSEC A:'other' IP:'10.1.2.3'")"
[ "$(enroll worker1 "OSSEC A:'new' V:'v9.0.0'")" = "ERROR: Agent version must be lower or equal to manager version" ] \
	|| fail "version"
[ "$(enroll worker1 "OSSEC A:'new' G:'nosuch'")" = "ERROR: Invalid group: nosuch" ] || fail "group"
[ "$(enroll worker1 "OSSEC A:'bad name'")" = "ERROR: Invalid agent name: bad name" ] || fail "name"
[ "$(enroll worker1 "hello")" = "ERROR: Invalid request for new agent" ] || fail "garbage"
pass "refusals answered with the known errors"

# Replacement: after force_after_registration_time a never-connected agent
# of the same name is replaced, unless it presents the same key hash.
[ $((SECONDS - registered)) -lt 8 ] || fail "too slow to test the refusal window"
sleep $((9 - (SECONDS - registered)))
hash=$(printf '%s' "001web-01$key1" | sha1sum | cut -c1-40)
[ "$(enroll worker1 "OSSEC A:'web-01' K:'$hash'")" = "ERROR: Duplicate agent name: web-01. Unable to add agent" ] \
	|| fail "same key hash should not replace"
r=$(enroll worker1 "OSSEC A:'web-01' K:'0000000000000000000000000000000000000000'")
re="^OSSEC K:'004 web-01 any "
[[ $r =~ $re ]] || fail "replacement: $r"
wait_for 5 "old agent 001 gone from client.keys" not_in_keys 001
wait_for 5 "replacement replicated" agents_agree worker1 worker2
pass "replaced per policy; the old agent is gone everywhere"

# Removal and groups through cluster_control on a worker.
ctl worker2 --remove-agent 002 >/dev/null || fail "remove"
ctl worker2 --remove-agent 999 >/dev/null 2>&1 && fail "removing an unknown agent succeeded"
wait_for 5 "removal replicated" agents_agree worker1 worker2
[ "$(ctl master1 -a --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]))')" = 2 ] \
	|| fail "agent count after removal"
ctl worker1 --create-group linux >/dev/null || fail "create group"
ctl worker1 --assign-group linux --agent 003 >/dev/null || fail "assign"
ctl worker1 --assign-group nosuch --agent 003 >/dev/null 2>&1 && fail "assigned an unknown group"
wait_for 5 "group change replicated" agents_agree worker1 worker2
wait_for 10 "group folder synced" test -d "$T/worker2/etc/shared/linux"
ctl master1 -a | grep -qE '^003 ' || fail "agent list"
ctl master1 -g | grep -qE '^linux +1$' || fail "group list: $(ctl master1 -g)"
g=$(enroll worker2 "OSSEC A:'db-01' G:'linux,linux'")
[[ $g == "OSSEC K:"* ]] || fail "enroll into a group: $g"
ctl master1 -g | grep -qE '^linux +2$' || fail "group count after enrollment"
ctl worker1 --delete-group linux >/dev/null || fail "delete group"
wait_for 10 "group removal synced" test ! -d "$T/worker2/etc/shared/linux"
wait_for 5 "memberships replicated" agents_agree worker1 worker2
pass "removal and group changes reach every worker"

keys_equal() { cmp -s "$T/master1/etc/client.keys" "$T/worker2/etc/client.keys"; }
# A worker's client.keys follows removals and groups as the master's does,
# and its replica survives a restart (snapshot and journal of deltas):
# the digest it comes back with is the master's, so nothing is resent.
wait_for 5 "client.keys equal on worker2" keys_equal
kill "$(pid_of worker2)"
wait_for 10 "worker2 stopped" not_listed master1 worker2
: > "$T/worker2/logs/cluster.log"
start worker2
wait_for 10 "worker2 back" listed master1 worker2
wait_for 5 "worker2 agrees" agents_agree worker2
log_has worker2 "$(ctl master1 -a --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]))') agent keys loaded" \
	|| fail "worker2 did not load its replica: $(grep 'keys loaded' "$T/worker2/logs/cluster.log")"
! log_has worker2 'Agents resynchronized' || fail "worker2 needed the whole table after a restart"
# Each node writes its file about a second after a change: wait for both.
wait_for 5 "client.keys equal after a restart" keys_equal
pass "a worker's client.keys equals the master's; its replica survives a restart without a resync"

# The master is down: a worker holds the request for a master
# (request_timeout, 2 s here), then refuses it.
kill -9 "$(pid_of master1)"
wait_for 10 "worker1 notices" log_has worker1 'Connection with master lost'
t0=$(date +%s.%N)
e=$(enroll worker1 "OSSEC A:'late'")
t1=$(date +%s.%N)
[[ $e == "ERROR: Unable to reach the master node" ]] || fail "master down: $e"
pass "master down: the worker answers $e after $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')s"
# A master back within that time answers the request the worker held.
enroll worker1 "OSSEC A:'held'" > "$T/held.out" &
held=$!
sleep 0.3
start master1
wait "$held"
grep -q "^OSSEC K:'[0-9]* held " "$T/held.out" || fail "the held enrollment: $(cat "$T/held.out")"
pass "the master restarted: the enrollment the worker held got its key ($(cut -c1-20 "$T/held.out")...)"
finish
