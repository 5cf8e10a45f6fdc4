# The metrics endpoint and cluster_control --stats: a master and a worker
# serve valid Prometheus text whose values are what the test did (agents
# enrolled through the worker and connected to its gateway, a malformed
# and a duplicate enrollment refused, a file synchronized, the worker
# stopped); --stats prints the same series; the endpoint answers other
# requests with their error status and bounds its connections.
. "$(dirname "$0")/lib.sh"

SIM=$BIN/agentsim
N=5
MPORT=$((PORT + 3))
WPORT=$((PORT + 4))
write_conf master1 master "metrics_listen $MPORT" "preauth_timeout 1s"
write_conf worker1 worker "metrics_listen 127.0.0.1:$WPORT"
start master1
start worker1
wait_for 10 "worker connected" listed master1 worker1

url() { echo "http://127.0.0.1:$(if [ "$1" = master1 ]; then echo $MPORT; else echo $WPORT; fi)/metrics"; }
# m NODE SERIES: the series' value on NODE's endpoint (the text checked).
m() { python3 "$TOP/tests/integration/metrics.py" "$(url "$1")" "$2"; }
# is NODE SERIES VALUE: the series has exactly that value.
is() { [ "$(m "$1" "$2")" = "$3" ]; }
expect() {
	local got
	got=$(m "$1" "$2") || fail "$1: no $2"
	[ "$got" = "$3" ] || fail "$1: $2 is $got, not $3"
}

V=$("$CLUSTERD" -V | cut -d' ' -f2)
log_has master1 "Serving metrics on http://127\.0\.0\.1:$MPORT/metrics\." ||
	fail "a bare port must listen on loopback"
expect master1 "clusterd_info{version=\"$V\",cluster=\"itest\",node=\"master1\",role=\"master\"}" 1
expect worker1 "clusterd_info{version=\"$V\",cluster=\"itest\",node=\"worker1\",role=\"worker\"}" 1
expect master1 'clusterd_peer_up{peer="worker1",type="worker"}' 1
expect worker1 clusterd_uplink_up 1
expect worker1 clusterd_uplink_connects_total 1
for s in active disconnected pending never_connected; do
	expect master1 "clusterd_agents{status=\"$s\"}" 0
done
pass "both nodes serve valid text; the link is up on both sides"

# N agents enroll through the worker (relayed to the master) and connect
# to its gateway.
eport=$(cat "$T/worker1.enroll_port")
"$SIM" -n $N -P w1- -e "$eport" -p $((eport + 100)) -k 1 -R 1 \
	127.0.0.1 > "$T/sim.out" 2>&1 &
PIDS+=("$!")
wait_for 30 "$N agents active" is master1 'clusterd_agents{status="active"}' $N
expect master1 'clusterd_registry_enrollments_total{result="accepted"}' $N
expect master1 'clusterd_registry_enrollments_total{result="refused"}' 0
expect worker1 'clusterd_enrollments_total{result="accepted"}' $N
expect master1 'clusterd_enrollments_total{result="accepted"}' 0
expect master1 'clusterd_peer_agents_active{peer="worker1"}' $N
wait_for 10 "the worker's gateway counts them" is worker1 clusterd_gateway_agents $N
expect worker1 clusterd_agent_keys $N
for n in master1 worker1; do
	for s in clusterd_link_sent_bytes_total clusterd_link_received_bytes_total; do
		[ "$(m $n $s)" -gt 0 ] || fail "$n: $s is $(m $n $s)"
	done
done
pass "$N agents: enrolled, accepted by the registry, active, on the worker's gateway"

# A malformed request at the master's port is refused there; a duplicate
# name through the worker is refused by the registry, and by the worker's
# port on its behalf.
a=$(enroll master1 "OSSEC A:'bad name!'")
[[ $a == ERROR:* ]] || fail "malformed enrollment: $a"
b=$(enroll worker1 "OSSEC A:'w1-0000001'")
[[ $b == ERROR:* ]] || fail "duplicate enrollment: $b"
expect master1 'clusterd_enrollments_total{result="refused"}' 1
expect master1 'clusterd_registry_enrollments_total{result="refused"}' 1
expect worker1 'clusterd_enrollments_total{result="refused"}' 1
expect master1 'clusterd_registry_enrollments_total{result="accepted"}' $N
pass "refusals counted where they happened"

# A file on the master reaches the worker: one more round applied, the
# same count on both sides (enrollments rewrote client.keys, so earlier
# rounds are let settle first), and the worker in sync.
settled() {
	local w
	w=$(m worker1 clusterd_sync_rounds_total) &&
		[ "$w" = "$(m master1 clusterd_sync_rounds_total)" ] &&
		is master1 'clusterd_peer_in_sync{peer="worker1"}' 1 &&
		is worker1 clusterd_sync_in_sync 1
}
mkdir -p "$T/master1/etc/rules"
wait_for 20 "sync rounds settled" settled
rounds=$(m worker1 clusterd_sync_rounds_total)
# Renamed into place: one change, not a creation then a write.
echo '<group name="t"></group>' > "$T/t_metrics.xml"
mv "$T/t_metrics.xml" "$T/master1/etc/rules/"
wait_for 15 "the file synchronized" converged master1 worker1
wait_for 10 "settled again" settled
[ "$(m worker1 clusterd_sync_rounds_total)" = $((rounds + 1)) ] ||
	fail "rounds: $rounds before, $(m worker1 clusterd_sync_rounds_total) after"
expect master1 'clusterd_peer_sync_lag_seconds{peer="worker1"}' 0
pass "a sync round counted by the worker and the master"

# --stats prints the text the endpoint serves: the same metrics, help
# and series (values move between two reads: keepalives).
for n in master1 worker1; do
	ctl $n --stats > "$T/$n.stats" || fail "$n --stats"
	python3 "$TOP/tests/integration/metrics.py" "$(url $n)" > "$T/$n.http" ||
		fail "$n: /metrics"
	cmp -s <(grep '^#' "$T/$n.stats") <(grep '^#' "$T/$n.http") ||
		fail "$n: --stats and /metrics have other metrics"
	cmp -s <(python3 "$TOP/tests/integration/metrics.py" --series --file \
		"$T/$n.stats") <(python3 "$TOP/tests/integration/metrics.py" \
		--series --file "$T/$n.http") ||
		fail "$n: --stats and /metrics have other series"
done
for f in clusterd_registry_enrollments_total clusterd_peer_queue_bytes \
    clusterd_rebalance_moves_total clusterd_rebalance_rounds_total \
    clusterd_sync_files clusterd_link_frames_sent_total; do
	grep -q "^# TYPE $f " "$T/master1.stats" || fail "master1: no $f"
done
for f in clusterd_uplink_queue_bytes clusterd_gateway_connections \
    clusterd_gateway_rejected_total clusterd_enrollments_undelivered_total \
    clusterd_sync_seconds_total; do
	grep -q "^# TYPE $f " "$T/worker1.stats" || fail "worker1: no $f"
done
pass "--stats prints the endpoint's text"

# Other requests get their status; HEAD gets the head only.
python3 - "$MPORT" <<'PY' || fail "HTTP answers"
import socket, sys
port = int(sys.argv[1])
def ask(raw):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(raw)
    data = b""
    while True:
        c = s.recv(65536)
        if not c:
            break
        data += c
    s.close()
    return data
def status(raw):
    return int(ask(raw).split(b" ", 2)[1])
assert status(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n") == 200
assert status(b"GET /other HTTP/1.1\r\n\r\n") == 404
assert status(b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n") == 405
assert status(b"GET /metrics HTTP/2.0\r\n\r\n") == 505
assert status(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03") == 400
assert status(b"GET /" + b"a" * 300 + b" HTTP/1.1\r\n\r\n") == 414
line = b"GET /metrics HTTP/1.1\r\n"
assert status(line + b"X: " + b"y" * (4096 - len(line) - 5) + b"\r\n") == 431
head = ask(b"HEAD /metrics HTTP/1.0\r\n\r\n")
h, _, body = head.partition(b"\r\n\r\n")
assert h.startswith(b"HTTP/1.1 200 OK") and body == b"", head[:200]
assert b"Content-Length: 0\r\n" not in h
PY
pass "404, 405, 505, 400, 414, 431 and HEAD"

# Bounds: a silent connection is closed after preauth_timeout (1s here);
# past 16 open connections a new one is closed at once.
python3 - "$MPORT" <<'PY' || fail "connection bounds"
import socket, sys, time
port = int(sys.argv[1])
t0 = time.time()
s = socket.create_connection(("127.0.0.1", port), timeout=5)
assert s.recv(1) == b"" and time.time() - t0 < 4, "silent one not closed"
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(16)]
time.sleep(0.2)
extra = socket.create_connection(("127.0.0.1", port), timeout=5)
try:
    extra.sendall(b"GET /metrics HTTP/1.1\r\n\r\n")
    assert extra.recv(100) == b"", "a 17th connection was served"
except ConnectionResetError:
    pass
for h in held:
    h.close()
PY
log_has master1 "\[Metrics\] 16 connections open: closed 1 more" ||
	fail "the 17th connection was not refused at the bound"
log_has master1 "\[Metrics\] Closed a silent connection from 127\.0\.0\.1" ||
	fail "no line for the silent connection"
wait_for 5 "served again once they closed" m master1 clusterd_rebalance_moves_total
pass "silent connections time out; at most 16 at once"

# The worker stops: the master shows it down and its agents disconnected.
kill -TERM "$(pid_of worker1)"
wait_for 10 "worker1 down on the master" is master1 'clusterd_peer_up{peer="worker1",type="worker"}' 0
wait_for 10 "its agents disconnected" is master1 'clusterd_agents{status="disconnected"}' $N
expect master1 'clusterd_agents{status="active"}' 0
m master1 'clusterd_peer_queue_bytes{peer="worker1"}' >/dev/null 2>&1 &&
	fail "a gone peer still has a queue"
pass "a stopped worker: peer_up 0, its agents disconnected"
finish
