# Node identities and message scopes: with a nodes_file, each node joins
# with its own credential.  A peer holding worker2's credential (stolen)
# cannot join under worker1's name, cannot pose as a balancer, cannot
# report for an agent worker1 serves, cannot relay enrollments as a node
# that does not serve them; an unlisted name, the cluster key itself and
# a revoked generation are refused; refusals are logged once per kind.
. "$(dirname "$0")/lib.sh"

ROGUE=$BIN/roguepeer
SIM=$BIN/agentsim
printf 'worker1 worker\nworker2 worker\nlb1 balancer\nmaster2 master\n' > "$T/nodes"
write_conf master1 master "nodes_file $T/nodes"
cred() { "$CLUSTERD" -c "$T/master1.conf" --node-key "$1"; }
C1=$(cred worker1) && C2=$(cred worker2) && CLB=$(cred lb1) ||
	fail "--node-key"
[ "$C1" != "$C2" ] && [ "$C1" != "$KEY" ] || fail "credentials not distinct"
"$CLUSTERD" -c "$T/master1.conf" --node-key nobody 2>/dev/null &&
	fail "--node-key printed a credential for an unlisted node"
# A bad list, or a list on a worker, does not pass clusterd -t.
printf 'worker1 worker\nworker1 balancer\n' > "$T/bad.nodes"
write_conf badlist master "nodes_file $T/bad.nodes"
out=$("$CLUSTERD" -t -c "$T/badlist.conf" 2>&1) && fail "a bad list passed -t"
grep -q 'nodes_file ".*bad.nodes": line 2: "worker1" listed twice' <<<"$out" ||
	fail "bad list: $out"
write_conf wlist worker "nodes_file $T/nodes"
out=$("$CLUSTERD" -t -c "$T/wlist.conf" 2>&1) && fail "a worker's list passed -t"
grep -q "nodes_file is the master's" <<<"$out" || fail "worker's list: $out"
pass "nodes_file checked by clusterd -t"
KEY=$C1 write_conf worker1 worker
KEY=$C2 write_conf worker2 worker "enrollment no"
start master1
start worker1
wait_for 10 "worker1 connected with its credential" listed master1 worker1
pass "worker1 joined with its own credential"

# One agent, connected to worker1.
eport=$(cat "$T/worker1.enroll_port")
"$SIM" -n 1 -P a- -e "$eport" -p $((eport + 100)) -k 1 -r 1 -R 1 -s 1 \
	127.0.0.1 > "$T/sim.out" 2>&1 &
PIDS+=("$!")
agent() {	# agent FIELD: the agent's FIELD per the master
	ctl master1 -a --json | python3 -c '
import json, sys
d = [a for a in json.load(sys.stdin)["data"] if a["name"].startswith("a-")]
print(d[0][sys.argv[1]] if d else "")' "$1"
}
on_worker1() { [ "$(agent status)" = active ] && [ "$(agent node_name)" = worker1 ]; }
wait_for 30 "the agent active on worker1" on_worker1
ID=$(agent id)

rogue() { "$ROGUE" -p "$PORT" "$@" 2>&1; }

# worker2's credential under worker1's name, or worker1's name in the
# hello: refused.
out=$(rogue -k "$C2" -n worker1 -N worker1)
grep -q "^handshake: refused" <<<"$out" || fail "joined as worker1: $out"
out=$(rogue -k "$C2" -n worker2 -N worker3)
grep -q "^hello: refused: the hello names \"worker3\"" <<<"$out" ||
	fail "hello under another name: $out"
pass "a credential opens the link only under its own name"

# An unlisted name, the cluster key itself, a balancer's name for a
# worker's credential, a worker posing as a balancer: refused.
out=$(rogue -k "$C2" -n rogue2)
grep -q "^handshake: refused" <<<"$out" || fail "unlisted name: $out"
out=$(rogue -k "$KEY" -n worker2)
grep -q "^handshake: refused" <<<"$out" || fail "cluster key: $out"
out=$(rogue -k "$C2" -n lb1 -t balancer)
grep -q "^handshake: refused" <<<"$out" || fail "balancer's name: $out"
out=$(rogue -k "$C2" -n worker2 -t balancer pools)
grep -q "^hello: refused: node \"worker2\" is listed as a worker" <<<"$out" ||
	fail "worker as balancer: $out"
not_listed master1 worker2 || fail "worker2 listed"
ctl master1 --pools 2>/dev/null | grep -q worker2 && fail "in the pools"
pass "no joining unlisted, with the cluster key, or in another role"

# As worker2 (its own, stolen credential): a pool report, an enrollment
# relay (worker2 serves none) and reports on worker1's agent, refused.
out=$(rogue -k "$C2" -n worker2 pools enroll "active:$ID" "alive:$ID")
grep -q "^pools: refused: not a worker's request" <<<"$out" ||
	fail "pool report: $out"
grep -q "^enroll: refused: this node does not serve enrollment" <<<"$out" ||
	fail "enrollment relay: $out"
sleep 1
[ "$(agent node_name)" = worker1 ] && [ "$(agent status)" = active ] ||
	fail "the agent moved to $(agent node_name) ($(agent status))"
log_has master1 "Refused the reports of worker worker2 on 1 agents" ||
	fail "agent report refusal not logged"
log_has master1 "Refused an enrollment relayed by worker worker2" ||
	fail "relay refusal not logged"
pass "no pool report, relay or agent report outside worker2's scope"

# A balancer's credential: a pool report is its to send, an agent report
# is not.
out=$(rogue -k "$CLB" -n lb1 -t balancer pools "active:$ID")
grep -q "^pools: taken" <<<"$out" || fail "lb1's pool report: $out"
sleep 1
[ "$(agent node_name)" = worker1 ] || fail "a balancer moved the agent"
pass "a balancer's credential sends pool reports, not agent reports"

# A standby master's credential (docs/ha.md): admitted only as a standby,
# which takes files and nothing else; a worker's cannot pose as one.
CM2=$(cred master2) || fail "--node-key master2"
out=$(rogue -k "$CM2" -n master2 -t master -s "active:$ID" enroll)
grep -q "^hello: accepted" <<<"$out" || fail "standby hello: $out"
grep -q "^enroll: refused: not a standby's request" <<<"$out" ||
	fail "enrollment relay by a standby: $out"
sleep 1
[ "$(agent node_name)" = worker1 ] || fail "a standby moved the agent"
log_has master1 "Refused a request of type 14 from standby master2" ||
	fail "standby's agent report refusal not logged"
out=$(rogue -k "$CM2" -n master2 -t master)
grep -q "^hello: refused: node type \"master\" cannot join a master" <<<"$out" ||
	fail "a master without standby: $out"
out=$(rogue -k "$CM2" -n master2 -t worker)
grep -q "^hello: refused: node \"master2\" is listed as a master, not a worker" <<<"$out" ||
	fail "a standby's credential as a worker: $out"
out=$(rogue -k "$C2" -n worker2 -s)
grep -q "^hello: refused: only a master-eligible node joins as a standby" <<<"$out" ||
	fail "a worker as a standby: $out"
pass "a standby's credential joins only as a standby, for the files only"

# Refusals say why, and are logged once per address and kind, not once
# per attempt.
log_has master1 'TLS handshake.*wrong credential for node "worker1" \(generation 1' ||
	fail "refusal not explained"
n=$(log_count master1 'Refused connection from 127\.0\.0\.1')
for i in 1 2 3 4 5; do rogue -k "$C2" -n rogue2 >/dev/null; done
[ "$(log_count master1 'Refused connection from 127\.0\.0\.1')" -eq "$n" ] ||
	fail "each refused handshake logged"
pass "refusals explained, and logged once"

# The real worker2 joins; a new generation revokes its credential: it is
# cut off at once, and the old credential no longer opens a link.
start worker2
wait_for 10 "worker2 connected" listed master1 worker2
printf 'worker1 worker\nworker2 worker 2\nlb1 balancer\n' > "$T/nodes.new"
mv "$T/nodes.new" "$T/nodes"
wait_for 15 "worker2 cut off" not_listed master1 worker2
log_has master1 "No longer admitted by nodes_file" || fail "cut-off not logged"
out=$(rogue -k "$C2" -n worker2)
grep -q "^handshake: refused" <<<"$out" || fail "old credential: $out"
listed master1 worker1 || fail "worker1 disturbed"
C2b=$(cred worker2)
[ "$C2b" != "$C2" ] || fail "generation 2 gave the same credential"
out=$(rogue -k "$C2b" -n worker2)
grep -q "^hello: accepted" <<<"$out" || fail "new credential: $out"
pass "a new generation revokes the old credential without re-keying"
finish
