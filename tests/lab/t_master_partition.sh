# The master's link goes down (no FIN, no RST: `ip link set eth0 down` in
# its namespace) and comes back.  The workers keep serving their agents
# (keepalives acked, no mass reconnect); the master, hearing no worker,
# shows their agents disconnected; an enrollment gets a clear error.
# Status changes during the outage (agents killed, agents connecting for
# the first time) reach the master once the workers rejoin, and the
# retried enrollment succeeds.
. "$(dirname "$0")/testlib.sh"

lab_up

# lab_named PREFIX STATUS: agents named PREFIX* the master shows STATUS.
lab_named() { lab_list | awk -v p="$1" -v s="$2" 'index($2, p) == 1 && $3 == s' | wc -l; }
all_gone() { local w; for w in "${LAB_WORKERS[@]}"; do lab_node_gone "$w" || return 1; done; }
all_up() { local w; for w in "${LAB_WORKERS[@]}"; do lab_node_up "$w" || return 1; done; }
acks_after() { [ "$(lab_agents_stat acks)" -gt "$1" ]; }
late_connected() { [ "$(lab_agents_stat connected "$LAB_RUN/late.log")" -eq 3 ]; }
view_right() {
	[ "$(lab_ready "$1")" -eq $((LAB_AGENTS + 3)) ] &&
	    [ "$(lab_named stop- active)" -eq 0 ]
}
stop_active() { [ "$(lab_named stop- active)" -eq 3 ]; }
none_active() { [ "$(lab_ready 0)" -eq 0 ]; }
enrolled() { lab_enroll "$1" > "$LAB_RUN/enroll.ans"; grep -q "^OSSEC K:" "$LAB_RUN/enroll.ans"; }

# Three agents connected before the cut, killed during it.
setsid ip netns exec "${LAB_PREFIX}agents" "$LAB_BIN/agentsim" -n 3 -P stop- \
	-e 1515 -p 1514 -k "$LAB_KEEPALIVE" -R "$LAB_RETRY" -s 2 "$LAB_VIP" \
	>> "$LAB_RUN/stop.log" 2>&1 < /dev/null &
stop_pid=$!
disown	# killed below: no "Killed" notice from this shell
lab_wait 60 stop_active ||
	fail "the stop- agents are not active: $(lab_list | grep stop- | tr '\n' ' ')"
# Three agents enrolled before the cut that connect only during it.
for i in 1 2 3; do
	ans=$(lab_enroll "late-$i")
	sed -n "s/^OSSEC K:'\([^ ]*\) \([^ ]*\) \([^ ]*\) \([0-9a-f]*\)'$/\1 \2 \3 \4/p" \
	    <<<"$ans" >> "$LAB_RUN/late.keys"
done
[ "$(wc -l < "$LAB_RUN/late.keys")" -eq 3 ] || fail "late agents not enrolled: $(cat "$LAB_RUN/late.keys")"
total=$(lab_total)
pass "$LAB_AGENTS agents, 3 stop- agents active, 3 late- agents enrolled: the registry holds $total"

# The last stats line before the cut (they come every 10 s).
lab_wait 15 grep -q '"stats"' "$LAB_RUN/agents.log" || fail "no agent stats"
acks0=$(lab_agents_stat acks)
reconn0=$(lab_agents_stat reconnects)
t0=$(lab_now)
ip -n "${LAB_PREFIX}master" link set eth0 down || fail "link down"
lab_wait 40 all_gone || fail "the master still lists workers: $(lab_ctl -l | tr '\n' ' ')"
pass "the master dropped the three workers $(lab_elapsed "$t0" "$(lab_now)") s after its link went down"
lab_wait 20 none_active ||
	fail "the master still shows $(lab_ready 0) agents active"
pass "the master shows none of the workers' agents active while it cannot hear them"

ans=$(lab_enroll fresh-1)
case $ans in
ERROR:*master*) pass "an enrollment during the outage is answered at once: $ans" ;;
*) fail "an enrollment during the outage got: $ans" ;;
esac

kill -9 "$stop_pid" 2>/dev/null || fail "the stop- agents' agentsim is gone"
setsid ip netns exec "${LAB_PREFIX}agents" "$LAB_BIN/agentsim" -n 3 \
	-K "$LAB_RUN/late.keys" -p 1514 -k "$LAB_KEEPALIVE" -R "$LAB_RETRY" -s 2 \
	"$LAB_VIP" >> "$LAB_RUN/late.log" 2>&1 < /dev/null &
disown
lab_wait 30 late_connected || fail "the late agents did not connect: $(tail -n 1 "$LAB_RUN/late.log")"
pass "during the outage: 3 stop- agents killed, 3 late- agents connected to the workers"
# A stats line written since the cut shows the workers still acking.
lab_wait 30 acks_after "$acks0" || fail "no ack since the cut: $(tail -n 1 "$LAB_RUN/agents.log")"
sleep 10
acks1=$(lab_agents_stat acks)
reconn1=$(lab_agents_stat reconnects)
[ $((reconn1 - reconn0)) -lt $((LAB_AGENTS / 10 + 1)) ] ||
	fail "$((reconn1 - reconn0)) agent reconnections during the outage"
pass "the workers kept serving: $((acks1 - acks0)) acks and $((reconn1 - reconn0)) reconnections in the outage's first $(lab_elapsed "$t0" "$(lab_now)") s"

t1=$(lab_now)
ip -n "${LAB_PREFIX}master" link set eth0 up || fail "link up"
lab_wait 90 all_up || fail "not every worker rejoined: $(lab_ctl -l | tr '\n' ' ')"
pass "the three workers rejoined the master $(lab_elapsed "$t1" "$(lab_now)") s after its link came back"
lab_wait 60 view_right "$(since "$t1")" ||
	fail "$(lab_ready "$(since "$t1")") of $((LAB_AGENTS + 3)) agents active, $(lab_named stop- active) stop- agents active"
pass "the master's view is right again $(lab_elapsed "$t1" "$(lab_now)") s after its link came back: $((LAB_AGENTS + 3)) agents active (the late- ones included), the stop- ones $(lab_list | awk '$2 ~ /^stop-/ { print $3 }' | sort -u | tr '\n' ' ')"
lab_wait 60 enrolled fresh-1 || fail "the retried enrollment got: $(cat "$LAB_RUN/enroll.ans")"
pass "the retried enrollment succeeded $(lab_elapsed "$t1" "$(lab_now)") s after the link came back"
total=$(lab_total)
[ "$total" -eq $((LAB_AGENTS + 7)) ] || fail "the registry holds $total agents, not $((LAB_AGENTS + 7))"
pass "the registry holds every agent: $total"
finish
