# PROXY headers from a listed balancer (proxy_from 127.0.0.1 on worker1):
# on the enrollment port (header, then TLS) IP:'src' registers the
# header's source, v1 and v2, and a v2 LOCAL header keeps the socket's;
# on the agents' port the gateway logs the header's source, and the
# per-source bound counts the header's source, not the balancer's.  A
# listed peer without a header is refused, and so is a header from a peer
# proxy_from does not list (127.0.0.2), while that peer without one is
# served as before.  agent-check needs no header.  A reload applies a new
# list.
. "$(dirname "$0")/lib.sh"

PP="python3 $TOP/tests/integration/pp.py"
CHECK_PORT=$((PORT + 3))
write_conf master1 master
write_conf worker1 worker "proxy_from 127.0.0.1" "preauth_per_source 2" \
	"agent_check_port $CHECK_PORT"
start master1
start worker1
wait_for 10 "worker1 connected" listed master1 worker1
EPORT=$(cat "$T/worker1.enroll_port")
GPORT=$((EPORT + 100))
wait_for 5 "worker1's agents' port" log_has worker1 "Serving agents"

# agent_ip NAME: the IP the master registered for agent NAME.
agent_ip() {
	ctl master1 -a --json | python3 -c '
import json, sys
print([a["ip"] for a in json.load(sys.stdin)["data"] if a["name"] == sys.argv[1]][0])' "$1"
}

# Enrollment through a worker (relayed to the master) and IP:'src'.
a=$($PP --v2 198.51.100.7 "$EPORT" enroll "OSSEC A:'pp-v2' IP:'src'")
[[ $a =~ ^OSSEC\ K:\'001\ pp-v2\ 198\.51\.100\.7\  ]] || fail "v2 enroll: $a"
[ "$(agent_ip pp-v2)" = 198.51.100.7 ] || fail "registry: $(agent_ip pp-v2)"
b=$($PP --v1 203.0.113.9 "$EPORT" enroll "OSSEC A:'pp-v1' IP:'src'")
[[ $b =~ ^OSSEC\ K:\'002\ pp-v1\ 203\.0\.113\.9\  ]] || fail "v1 enroll: $b"
[ "$(agent_ip pp-v1)" = 203.0.113.9 ] || fail "registry: $(agent_ip pp-v1)"
c=$($PP --v2-local "$EPORT" enroll "OSSEC A:'pp-local' IP:'src'")
[[ $c =~ ^OSSEC\ K:\'003\ pp-local\ 127\.0\.0\.1\  ]] || fail "LOCAL: $c"
pass "enrollment: IP:'src' is the header's source (v1, v2), the socket's for LOCAL"

# An agent through a balancer: the registry keeps the address its
# keepalives report and the one it connects from (the header's source),
# each beside its registration address, in -a and -a --json.
key=$(sed -n "s/^OSSEC K:'001 pp-v2 198\.51\.100\.7 \([0-9a-f]*\)'.*/\1/p" <<<"$a")
echo "001 pp-v2 198.51.100.7 $key" > "$T/keys"
$PP --v2 198.51.100.20 "$GPORT" relay $((PORT + 4)) > "$T/relay" & PIDS+=("$!")
wait_for 5 "relay" grep -q listening "$T/relay"
"$BIN/agentsim" -K "$T/keys" -n 1 -k 1 -p $((PORT + 4)) -t 30 127.0.0.1 \
	> "$T/sim" 2>&1 & PIDS+=("$!")
addrs() {
	ctl master1 -a --json | python3 -c '
import json, sys
a = [a for a in json.load(sys.stdin)["data"] if a["name"] == "pp-v2"][0]
print(a["register_ip"], a["reported_ip"], a["source_ip"], a["status"])'
}
# agentsim's first agent reports 10.0.0.1 (its keepalive's _agent_ip).
reported() { [ "$(addrs)" = "198.51.100.7 10.0.0.1 198.51.100.20 active" ]; }
wait_for 10 "pp-v2 active with both addresses" reported
ctl master1 -a | grep -qE '^001 +pp-v2 +198\.51\.100\.7 +10\.0\.0\.1 +198\.51\.100\.20 +active ' ||
	fail "cluster_control -a: $(ctl master1 -a)"
ctl master1 -a | grep -qE '^002 +pp-v1 +203\.0\.113\.9 +- +- +never_connected ' ||
	fail "cluster_control -a, unknown addresses: $(ctl master1 -a)"
pass "registry: reported and source addresses through a PROXY header"

# The agents' port: frames pass after a header, and rejections name the
# header's source.
[ "$($PP --v2 198.51.100.7 "$GPORT" gw-ping)" = "#pong" ] || fail "v2 ping"
[ "$($PP --v1 2001:db8::7 "$GPORT" gw-ping)" = "#pong" ] || fail "v1 TCP6 ping"
[ "$($PP --v2 198.51.100.8 "$GPORT" gw-frame '!999!#AES:xyz')" = closed ] ||
	fail "unknown agent not closed"
wait_for 5 "rejection logged with the header's source" log_has worker1 \
	"Closed a connection from 198\.51\.100\.8: unknown agent id 999"
[ "$($PP --v1 203.0.113.10 "$GPORT" gw-frame '#AES:xyz')" = closed ] ||
	fail "message without id not closed"
wait_for 5 "rejection logged with the header's source" log_has worker1 \
	"Closed a connection from 203\.0\.113\.10: message without an agent id"
pass "agents' port: served after v1 and v2 headers, logged as the header's source"

# preauth_per_source 2 counts the header's source: two silent connections
# from 198.51.100.50, then a third is closed at once; 198.51.100.51 and
# the balancer's own address are not at the bound.
$PP --hold --v2 198.51.100.50 "$GPORT" silent > "$T/s1" & PIDS+=("$!")
$PP --hold --v1 198.51.100.50 "$GPORT" silent > "$T/s2" & PIDS+=("$!")
both_open() { grep -q open "$T/s1" && grep -q open "$T/s2"; }
wait_for 5 "two silent connections" both_open
[ "$($PP --v2 198.51.100.50 "$GPORT" silent)" = closed ] ||
	fail "third connection from 198.51.100.50 not refused"
log_has worker1 "Closed a connection from 198\.51\.100\.50 at once" ||
	fail "refusal not logged under the header's source"
[ "$($PP --v2 198.51.100.51 "$GPORT" silent)" = open ] ||
	fail "198.51.100.51 refused"
[ "$($PP --v2 198.51.100.7 "$GPORT" gw-ping)" = "#pong" ] ||
	fail "balancer's other connections refused"
pass "preauth_per_source counts each header's source, not the balancer"

# A listed peer must send a header: a frame, or TLS, straight away fails.
[ "$($PP --none "$GPORT" gw-ping)" = closed ] || fail "no header: served"
wait_for 5 "missing header logged" log_has worker1 \
	"Closed a connection from 127\.0\.0\.1: no PROXY header"
[[ $($PP --none "$EPORT" enroll "OSSEC A:'pp-none'") == FAILED* ]] ||
	fail "enrollment without header served"
[[ $(printf 'PROXY TCP4 1.2.3.4 5.6.7.8 99999 1\r\n' |
	python3 -c "
import socket, sys
s = socket.create_connection(('127.0.0.1', $GPORT), 3)
s.sendall(sys.stdin.buffer.read())
try:
    print('closed' if s.recv(10) == b'' else 'open')
except ConnectionResetError:
    print('closed')") == closed ]] ||
	fail "invalid header served"
pass "listed peer: no header or an invalid one is refused"

# A peer proxy_from does not list: its header is refused, its plain
# connections are served as before.
[ "$($PP --from 127.0.0.2 --v2 198.51.100.9 "$GPORT" gw-ping)" = closed ] ||
	fail "unlisted peer's header served (agents)"
wait_for 5 "unlisted header logged" log_has worker1 \
	"Closed a connection from 127\.0\.0\.2: PROXY header from a peer proxy_from does not list"
[[ $($PP --from 127.0.0.2 --v1 198.51.100.9 "$EPORT" enroll \
	"OSSEC A:'pp-unlisted'") == FAILED* ]] ||
	fail "unlisted peer's header served (enrollment)"
[ "$($PP --from 127.0.0.2 --none "$GPORT" gw-ping)" = "#pong" ] ||
	fail "unlisted peer without header refused"
d=$($PP --from 127.0.0.2 --none "$EPORT" enroll "OSSEC A:'pp-plain' IP:'src'")
[[ $d =~ ^OSSEC\ K:\'004\ pp-plain\ 127\.0\.0\.2\  ]] || fail "plain: $d"
pass "unlisted peer: header refused, plain connections served"

# agent-check from the listed balancer: no header expected.
ans=$(python3 -c "
import socket
print(socket.create_connection(('127.0.0.1', $CHECK_PORT), 3).recv(64).decode().strip())")
[ "$ans" = "up 100%" ] || fail "agent-check: $ans"
pass "agent-check answers the balancer without a header"

# The counts, per port (each test above that sent a header from the
# listed peer read one; two were refused on 1514, one on 1515).
ctl worker1 --stats > "$T/stats" || fail "stats"
grep -qE '^clusterd_proxy_headers_total\{port="enrollment",result="read"\} 3$' "$T/stats" ||
	fail "enrollment headers: $(grep proxy_headers "$T/stats")"
grep -qE '^clusterd_proxy_headers_total\{port="agents",result="refused"\} 2$' "$T/stats" ||
	fail "agents refusals: $(grep proxy_headers "$T/stats")"
pass "clusterd_proxy_headers_total counts headers and refusals per port"

# A reload applies a new list: without 127.0.0.1, its headers are refused
# and its plain connections served.
sed -i '/^proxy_from /d' "$T/worker1.conf"
kill -HUP "$(pid_of worker1)"
wait_for 5 "reloaded" log_has worker1 "Configuration reloaded"
[ "$($PP --v2 198.51.100.7 "$GPORT" gw-ping)" = closed ] ||
	fail "header served once proxy_from no longer lists the peer"
[ "$($PP --none "$GPORT" gw-ping)" = "#pong" ] ||
	fail "plain connection refused once proxy_from is empty"
pass "a reload applies proxy_from"
finish
