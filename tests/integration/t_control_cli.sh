# cluster_control refuses what it would otherwise ignore (exit 2, one
# line), takes Wazuh's filters (-fn/-fs with several values, --list-nodes,
# --list-agents), shows each role what applies to it, answers a client
# that half-closes, and wraps answers in a versioned JSON envelope.
. "$(dirname "$0")/lib.sh"

conf_cluster
write_conf lb1 balancer "haproxy_socket $T/no-haproxy.sock"
start_cluster
start lb1
wait_for 10 "lb1 connected" listed master1 lb1

# usage2 DESCRIPTION PATTERN ARGS...: exit 2 with one line matching PATTERN.
usage2() {
	local what=$1 pat=$2 out rc
	shift 2
	out=$(ctl master1 "$@" 2>&1 >/dev/null)
	rc=$?
	[ "$rc" -eq 2 ] || fail "$what: exit $rc, not 2 ($out)"
	[ "$(wc -l <<<"$out")" -eq 1 ] || fail "$what: not one line: $out"
	grep -qE -- "$pat" <<<"$out" || fail "$what: message: $out"
}
usage2 "-l --node" "--node \(-fn\) does not apply to -g" -g --node worker1
usage2 "-a --agent" "--agent does not apply to -a" -a --agent 001
usage2 "-i --status" "--status \(-fs\) does not apply to -i" -i --status active
usage2 "unknown long option" "unknown option --frobnicate" -l --frobnicate
usage2 "unknown short option" "unknown option -x" -l -x
usage2 "stray word" "unexpected argument \"extra\"" -l extra
usage2 "two commands" "-l and -a are two commands" -l -a
usage2 "no command" "no command given" -j
usage2 "bad status" "unknown agent status \"sleepy\"" -a -fs sleepy
usage2 "-fn without value" "-fn needs at least one value" -a -fn
usage2 "missing value" "-H needs a value" -l -H
usage2 "pool-state two nodes" "--pool-state takes exactly one --node" \
	--pool-state drain -fn worker1 worker2
usage2 "pool-forget without node" "--pool-forget needs --node" --pool-forget
ctl master1 -h >/dev/null || fail "-h is not exit 0"
pass "unknown or inapplicable options and filters: exit 2, one line each"

# Nodes: -l/-i with -fn filter, several values; an unknown node is an error.
out=$(ctl master1 --list-nodes -fn worker2 master1) || fail "-l -fn"
[ "$(awk 'NR > 1 { print $1 }' <<<"$out" | sort | tr '\n' ' ')" = "master1 worker2 " ] ||
	fail "-l -fn master1 worker2 listed: $out"
out=$(ctl worker1 -i -fn worker1) || fail "-i -fn through a worker"
grep -q "^    worker1 " <<<"$out" || fail "-i -fn worker1: $out"
! grep -q "master1\|worker2" <<<"$out" || fail "-i -fn worker1 shows others: $out"
out=$(ctl master1 -l -fn nosuch 2>&1) && fail "-l -fn nosuch succeeded: $out"
grep -q 'no node "nosuch" in the cluster' <<<"$out" || fail "message: $out"
pass "-l and -i filter by node (-fn with several names), through a worker too"

# -i shows a balancer what applies to it: no integrity, no agents.
out=$(ctl master1 -i -fn lb1) || fail "-i -fn lb1"
grep -q "Type: balancer" <<<"$out" || fail "-i lb1: $out"
! grep -q "Integrity\|In sync\|Agents" <<<"$out" || fail "-i shows file sync for a balancer: $out"
out=$(ctl master1 -i -fn worker1)
grep -q "Integrity check" <<<"$out" || fail "-i worker1 lost its integrity lines: $out"
pass "-i: a balancer shows its link only, a worker its agents and sync"

# Agents: enrolled on worker1 and worker2, never connected; filters
# accumulate (--status twice, -fs with two values) and combine with -fn.
enroll worker1 "OSSEC A:'cli-a'" | grep -q "^OSSEC K:" || fail "enroll cli-a"
enroll worker2 "OSSEC A:'cli-b'" | grep -q "^OSSEC K:" || fail "enroll cli-b"
wait_for 10 "both agents listed" eval "[ \$(ctl master1 -a | grep -c cli-) -eq 2 ]"
n=$(ctl master1 --list-agents --status active --status never_connected | grep -c cli-)
[ "$n" -eq 2 ] || fail "--status active --status never_connected: $n agents"
n=$(ctl master1 -a -fs Active NeverConnected | grep -c cli-)
[ "$n" -eq 2 ] || fail "-fs Active NeverConnected (Wazuh's spelling): $n agents"
n=$(ctl master1 -a -fs active | grep -c cli-)
[ "$n" -eq 0 ] || fail "-fs active: $n agents, none connected"
# No node has reported them yet: their node name is "unknown".
n=$(ctl master1 -a -fn worker1 worker2 | grep -c cli-)
[ "$n" -eq 0 ] || fail "-fn worker1 worker2: $n agents, none reported"
n=$(ctl master1 -a -fn worker2 unknown -fs never_connected | grep -c cli-)
[ "$n" -eq 2 ] || fail "-fn worker2 unknown -fs never_connected: $n agents"
pass "-a: repeated --status accumulates, -fs/-fn take several values, Wazuh's status spellings"

# The control socket answers a client that half-closes (as socat does at
# the end of its input), on the master and through a worker (the answer
# comes later there); a request without its newline is ended by the EOF.
half_close() {
	timeout 10 python3 - "$T/$1/queue/cluster/c-socket" "$2" "$3" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + (b"\n" if sys.argv[3] == "nl" else b""))
s.shutdown(socket.SHUT_WR)
print(s.makefile().read(), end="")
PY
}
for home in master1 worker1; do
	for nl in nl no-nl; do
		out=$(half_close "$home" '{"command":"nodes"}' $nl) || fail "half-closed client on $home ($nl)"
		grep -q '"cluster_name":"itest"' <<<"$out" || fail "half-closed client on $home got: $out"
	done
done
out=$(echo '{"command":"nodes"}' | timeout 10 socat - "UNIX-CONNECT:$T/master1/queue/cluster/c-socket")
grep -q '"cluster_name":"itest"' <<<"$out" || fail "socat got: $out"
pass "a client that half-closes its side gets its answer (master and worker)"

# JSON: a versioned envelope, ISO 8601 times with their zone, durations
# rounded to milliseconds.
ctl master1 -j -i | python3 -c '
import json, sys, datetime
a = json.load(sys.stdin)
assert a["api"] == 1 and a["error"] == 0, a
w = [n for n in a["data"]["nodes"] if n["name"] == "worker1"][0]
t = datetime.datetime.fromisoformat(w["connected_since"])
assert t.tzinfo is not None, w["connected_since"]
for k in ("integrity_check", "integrity_sync"):
    d = w[k]["duration"]
    assert round(d, 3) == d, (k, d)
' || fail "JSON envelope"
ctl master1 -j -l -fn nosuch | python3 -c '
import json, sys
a = json.load(sys.stdin)
assert a["api"] == 1 and a["error"] == 1 and "nosuch" in a["message"], a
' || fail "JSON error envelope"
pass "--json: {api:1,error,data|message}, ISO 8601 times with zone, durations in ms"

# --gateway: a worker's agents' port; the master without one says so.
out=$(ctl worker1 --gateway) || fail "--gateway on worker1"
grep -q "Gateway of worker1 (worker)" <<<"$out" && grep -q "Balancer state: ready" <<<"$out" ||
	fail "--gateway: $out"
out=$(ctl master1 --gateway 2>&1) && fail "--gateway on a master without agents: $out"
grep -q "serves no agents" <<<"$out" || fail "--gateway on the master: $out"
pass "--gateway shows a worker's agents' port counters"

# --pool-state wording, and --pool-forget for a node that is gone.
out=$(ctl master1 --pool-state remove --node worker2) || fail "pool-state remove"
[ "$out" = "worker2 is removed from both pools." ] || fail "wording: $out"
out=$(ctl master1 --pool-state drain --node worker1 --pool agents)
[ "$out" = "worker1 is set to drain in agents." ] || fail "wording: $out"
out=$(ctl master1 --pool-forget --node worker2 2>&1) && fail "forgot a connected node"
grep -q "worker2 is connected" <<<"$out" || fail "message: $out"
kill "$(pid_of worker2)"
wait_for 10 "worker2 gone" not_listed master1 worker2
out=$(ctl master1 --pool-forget --node worker2) || fail "pool-forget: $out"
[ "$out" = "worker2 is forgotten by the pools." ] || fail "wording: $out"
ctl master1 --pools | grep -q "^worker2 " && fail "worker2 still in --pools"
grep -q '"worker2"' "$T/master1/var/pools.json" && fail "worker2 still in var/pools.json"
wait_for 5 "forget logged" log_has master1 "Pool edit: worker2 forgotten"
pass "--pool-state wording; --pool-forget drops a gone node from --pools and var/pools.json"
finish
