# A worker that falls silent without closing anything (its process stopped
# with SIGSTOP: the kernel keeps the connections open and even accepts new
# ones, but nothing comes back).  agentsim's agents behave as Wazuh agents
# do: their keepalives go unanswered, after time-reconnect (-T) they close
# and connect again, get no answer to the startup either and keep trying
# every retry interval; once the worker continues they are all answered.
. "$(dirname "$0")/lib.sh"

SIM=$BIN/agentsim
write_conf master1 master
write_conf worker1 worker
start master1
start worker1
wait_for 10 "worker1 connected" listed master1 worker1

eport=$(cat "$T/worker1.enroll_port")
"$SIM" -n 20 -P q- -e "$eport" -p $((eport + 100)) -k 1 -T 3 -R 1 -s 0.25 \
	127.0.0.1 > "$T/sim.out" 2> "$T/sim.stderr" &
PIDS+=("$!")

# stat KEY: KEY of agentsim's last statistics line.
stat() {
	tail -n 1 "$T/sim.out" | python3 -c \
		'import json, sys; print(json.load(sys.stdin)["stats"][sys.argv[1]])' "$1"
}
stat_is() { [ "$(stat "$1")" = "$2" ]; }
stat_ge() { [ "$(stat "$1")" -ge "$2" ]; }

wait_for 20 "20 agents answered" stat_is answered 20
sleep 1.5
stat_is ack_timeouts 0 || fail "ack timeouts with a live worker: $(tail -n 1 "$T/sim.out")"
stat_is ack_late 0 || fail "late acks with a live worker: $(tail -n 1 "$T/sim.out")"
pass "20 agents connected and answered, no late ack"

# Every agent's last answer came at most 1 s (one keepalive) before the
# stop, so none may give up before 2 s; all must within 3 s + 1 s of phase.
kill -STOP "$(pid_of worker1)"
t0=$(date +%s.%N)
wait_for 5 "unanswered keepalives seen" stat_ge ack_late 15
stat_is ack_timeouts 0 || fail "gave up before time-reconnect: $(tail -n 1 "$T/sim.out")"
wait_for 8 "20 ack timeouts" stat_ge ack_timeouts 20
elapsed=$(python3 -c 'import sys, time; print("%.1f" % (time.time() - float(sys.argv[1])))' "$t0")
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= 2 else 1)" "$elapsed" ||
	fail "ack timeouts after ${elapsed}s, before time-reconnect"
grep -q "nothing from the manager for 3 s (time-reconnect): reconnecting" \
	"$T/sim.stderr" || fail "no ack timeout logged: $(cat "$T/sim.stderr")"
pass "unanswered for time-reconnect: every agent closed and reconnected (${elapsed} s after the stop)"

# The new attempts reach the stopped worker's kernel, get no answer to
# their startup, and are given up after -T too; then retried.
c0=$(stat connects)
wait_for 8 "startups unanswered, attempts given up" stat_ge ack_timeouts 40
[ "$(stat connects)" -gt "$c0" ] || fail "no new attempt: $(tail -n 1 "$T/sim.out")"
stat_is answered 0 || fail "answered while the worker is stopped: $(tail -n 1 "$T/sim.out")"
pass "unanswered startups are given up and retried"

kill -CONT "$(pid_of worker1)"
wait_for 20 "20 agents answered again" stat_is answered 20
a0=$(stat acks)
wait_for 5 "acks flowing" stat_ge acks $((a0 + 20))
wait_for 5 "no late ack" stat_is ack_late 0
pass "the worker continues: all 20 agents answered again"
finish
