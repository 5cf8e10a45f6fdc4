# Slow and silent clients: with preauth_timeout 2s and preauth_per_source
# 8, connections from one address (127.0.0.2) that never identify
# themselves (nothing sent, or half a TLS ClientHello) are closed after
# about 2s on the agents' port, enrollment and the cluster port; those
# beyond 8 are closed at once; agent-check answers and closes even when
# its client never reads.  The log says so in one line per service, not
# one per connection.  Meanwhile agents (agentsim, from 127.0.0.1) that
# were connected stay connected and acked, and new ones enroll and connect.
. "$(dirname "$0")/lib.sh"

PRE=2
BOUND=8
EXTRA=4
CHECK_PORT=$((PORT + 3))
write_conf master1 master "preauth_timeout ${PRE}s" \
	"preauth_per_source $BOUND"
write_conf worker1 worker "preauth_timeout ${PRE}s" \
	"preauth_per_source $BOUND" "agent_check_port $CHECK_PORT"
start master1
start worker1
wait_for 10 "worker1 connected" listed master1 worker1
EPORT=$(cat "$T/worker1.enroll_port")
GPORT=$((EPORT + 100))

# Agents on worker1, from 127.0.0.1, fewer at once than the bound.
sim() {	# sim PREFIX: 6 agents, stats every second in $T/sim-PREFIX.out
	"$BIN/agentsim" -n 6 -c 2 -P "$1" -e "$EPORT" -p "$GPORT" -k 1 -r 2 \
		-R 1 -s 1 127.0.0.1 > "$T/sim-$1.out" 2>&1 &
	PIDS+=("$!")
}
active() {	# active PREFIX N: N agents named PREFIX* active on the master
	[ "$(ctl master1 -a --json | python3 -c '
import json, sys
print(sum(1 for a in json.load(sys.stdin)["data"]
          if a["name"].startswith(sys.argv[1]) and a["status"] == "active"))' "$1")" = "$2" ]
}
stat() {	# stat PREFIX FIELD: the last stats line's FIELD
	grep '^{"stats"' "$T/sim-$1.out" | tail -n 1 | python3 -c '
import json, sys
print(json.load(sys.stdin)["stats"][sys.argv[1]])' "$2"
}
sim old-
wait_for 20 "6 agents active" active old- 6
sleep 1.5
acks0=$(stat old- acks)
reconn0=$(stat old- reconnects)
pass "6 agents connected and acked ($acks0 acks)"

# The flood, from 127.0.0.2: on each port BOUND silent connections (on
# the TLS ports one of them sends half a ClientHello), then EXTRA more.
# Prints one line per port; fails on a port that misbehaves.
python3 - "$GPORT" "$EPORT" "$PORT" "$CHECK_PORT" "$PRE" "$BOUND" "$EXTRA" \
	"$T/flood.started" > "$T/flood.out" 2>&1 <<'PY' &
import socket, sys, threading, time
gport, eport, cport, check, pre, bound, extra = map(float, sys.argv[1:8])
started = sys.argv[8]
bound, extra = int(bound), int(extra)
# A TLS 1.2 record header and the first bytes of a ClientHello, no more.
HALF_HELLO = bytes.fromhex("160301020001") + b"\x00\x01\xfc\x03\x03"
results, errors = [], []

def dial():
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    s.connect(("127.0.0.1", int(port_of[threading.current_thread().name])))
    return s

def closed_after(s, limit):
    """Seconds until the server closes s (EOF or reset), or None."""
    t0 = time.monotonic()
    s.settimeout(limit)
    try:
        while s.recv(4096):
            pass
    except socket.timeout:
        return None
    except OSError:
        pass
    return time.monotonic() - t0

def silent(name, tls):
    socks = []
    t0 = time.monotonic()
    for i in range(bound):
        s = dial()
        if tls and i == 0:
            s.sendall(HALF_HELLO)
        socks.append(s)
    time.sleep(0.3)			# accepted and counted
    over = [dial() for _ in range(extra)]
    at_once = [closed_after(s, 1.0) for s in over]
    if None in at_once:
        errors.append(f"{name}: a connection over the bound stayed open")
    waits = []
    for s in socks:
        left = max(0.1, pre + 3 - (time.monotonic() - t0))
        d = closed_after(s, left)
        waits.append(None if d is None else time.monotonic() - t0)
    if None in waits:
        errors.append(f"{name}: a silent connection outlived {pre + 3}s")
        return
    lo, hi = min(waits), max(waits)
    if lo < pre - 0.2 or hi > pre + 1.5:
        errors.append(f"{name}: silent connections closed after "
                      f"{lo:.2f}..{hi:.2f}s, preauth_timeout {pre}s")
    results.append(f"{name}: {bound} silent closed after {lo:.2f}..{hi:.2f}s"
                   f" (timeout {pre:g}s), {extra} over the bound closed in"
                   f" {max(at_once or [0]):.3f}s at most")

def agent_check(name, _):
    # Clients that never read: each still gets its answer, then EOF.
    socks = [dial() for _ in range(bound + extra)]
    time.sleep(1.0)
    for s in socks:
        s.settimeout(1.0)
        data = b""
        try:
            while True:
                b = s.recv(64)
                if not b:
                    break
                data += b
        except OSError as e:
            errors.append(f"{name}: {e}")
            return
        if not data.startswith(b"up"):
            errors.append(f"{name}: answer {data!r}")
            return
    results.append(f"{name}: {len(socks)} clients that never read got "
                   f"their answer and were closed at once")

port_of = {"agents": gport, "enrollment": eport, "cluster": cport,
           "agent-check": check}
jobs = [("agents", silent, False), ("enrollment", silent, True),
        ("cluster", silent, True), ("agent-check", agent_check, None)]
threads = [threading.Thread(target=f, name=n, args=(n, tls))
           for n, f, tls in jobs]
open(started, "w").close()
for t in threads:
    t.start()
for t in threads:
    t.join()
print("\n".join(results))
if errors:
    print("\n".join("ERROR " + e for e in errors))
    sys.exit(1)
PY
FLOOD=$!
PIDS+=("$FLOOD")
wait_for 5 "the flood started" test -e "$T/flood.started"
sleep 0.5
# New agents enroll and connect from 127.0.0.1 while 127.0.0.2 is at its
# bound on every port.
sim new-
wait "$FLOOD" || { cat "$T/flood.out"; fail "silent clients"; }
sed 's/^/    /' "$T/flood.out"
pass "silent clients closed after preauth_timeout, over the bound at once"

wait_for 15 "6 new agents active" active new- 6
sleep 1.5
acks1=$(stat old- acks)
[ "$(stat old- connected)" = 6 ] || fail "old agents: $(stat old- connected) connected"
[ "$(stat old- reconnects)" = "$reconn0" ] ||
	fail "connected agents reconnected ($reconn0 -> $(stat old- reconnects))"
[ "$acks1" -gt "$acks0" ] || fail "no acks during the flood"
[ "$(stat new- acks)" -gt 0 ] || fail "new agents got no acks"
active old- 6 || fail "old agents not active"
pass "6 connected agents kept their connections (acks $acks0 -> $acks1), 6 new ones connected and acked"

# Bounded log: each service logged its first closing at once, and keeps
# the rest for its summary a minute later: one line per service.
for n in master1 worker1; do
	lines=$(log_count "$n" "Closed (a silent connection|a connection from .* at once|[0-9]+ silent)")
	echo "    $n: $lines line(s) about silent clients"
	grep -E "Closed (a silent|a connection from .* at once|[0-9]+ silent)" \
		"$T/$n/logs/cluster.log" | sed 's/^/      /'
done
[ "$(log_count worker1 '\[Agents\] Closed')" -eq 1 ] || fail "agents port: $(log_count worker1 '\[Agents\] Closed') lines"
[ "$(log_count worker1 '\[Enrollment\] Closed')" -eq 1 ] || fail "enrollment: $(log_count worker1 '\[Enrollment\] Closed') lines"
[ "$(log_count master1 '\[Main\] Closed a')" -eq 1 ] || fail "cluster port: $(log_count master1 '\[Main\] Closed a') lines"
log_has worker1 "from 127.0.0.2 at once: $BOUND agent connections" ||
	fail "no refusal line naming 127.0.0.2 on the agents' port"
counts=$(ctl_json worker1 '{"command":"status"}' | python3 -c '
import json, sys
g = json.load(sys.stdin)["data"]["gateway"]
print(g["silent_timed_out"], g["silent_refused"], g["unidentified"])')
read -r timed refused unident <<<"$counts"
[ "$timed" -ge "$BOUND" ] && [ "$refused" -ge "$EXTRA" ] && [ "$unident" -eq 0 ] ||
	fail "gateway counters: timed out $timed, refused $refused, unidentified $unident"
pass "one log line per service; gateway counted $timed timed out, $refused refused"
finish
