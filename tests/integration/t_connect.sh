# A master and two workers connect; cluster_control lists them from any node.
. "$(dirname "$0")/lib.sh"

conf_cluster
start_cluster
listed master1 master1 || fail "the master does not list itself"
pass "master lists master1, worker1, worker2"

out=$(ctl master1 -l)
head -n1 <<<"$out" | grep -qE '^NAME +TYPE +VERSION +ADDRESS +HEALTH$' || fail "bad header: $out"
grep -qE '^master1 +master +[0-9]+\.[0-9]+\.[0-9]+ +127\.0\.0\.1 +ok$' <<<"$out" || fail "master row: $out"
grep -qE '^worker1 +worker .* ok$' <<<"$out" || fail "worker1 row: $out"
[ "$(wc -l <<<"$out")" -eq 4 ] || fail "expected 4 lines: $out"
pass "list format"

# A worker forwards cluster-wide commands to the master.
wait_for 5 "worker2 sees the same list" listed worker2 master1 worker1 worker2
pass "worker forwards -l"

ctl worker1 -l --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["error"] == 0, d
names = sorted(n["name"] for n in d["data"]["nodes"])
assert names == ["master1", "worker1", "worker2"], names
' || fail "--json output"
pass "--json"

# Keepalives arrive: health shows a last keep alive for each worker (the
# worker logs the master's answers at debug level only: one every 2 s by
# default would flood the log).
out=$(ctl master1 -i)
grep -q "Cluster name: itest" <<<"$out" || fail "health: $out"
grep -q "Connected nodes (3):" <<<"$out" || fail "health count: $out"
[ "$(grep -c 'Last keep alive: 20' <<<"$out")" -eq 2 ] || fail "health keepalive: $out"
pass "health"

# Log line format operators know.
log_has master1 '^[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9:]{8} INFO: \[Worker worker1\] \[Main\] Connected' \
	|| fail "master log format"
finish
