# Lossy, slow links: tc netem on every port of the lab's bridge, 5% loss
# and 200 ms delay each way (a 400 ms round trip), for a minute.  Every
# agent stays connected and active, no worker or link is declared dead
# (HAProxy's checks and the master's keepalives ride out the losses), and
# a ruleset change still reaches every worker.
. "$(dirname "$0")/testlib.sh"

LOSSY_SECONDS=${LOSSY_SECONDS:-60}

# The agents' last stats line (agentsim prints one every 10 s).
agents_stat() {
	grep '"stats"' "$LAB_RUN/agents.log" | tail -n 1 |
	    python3 -c "import json,sys; print(json.load(sys.stdin)['stats']['$1'])"
}
# Times HAProxy marked a server of the agents' pool down, over both
# balancers (show stat's chkdown column).
downs() {
	local lb n=0 k
	for lb in lb1 lb2; do
		k=$(echo "show stat" | socat -t 2 stdio "unix-connect:$LAB_RUN/$lb/admin.sock" |
		    awk -F, '$1 == "workers_agents" && $2 != "BACKEND" { s += $22 } END { print s + 0 }')
		n=$((n + k))
	done
	echo "$n"
}
netem() {
	local h
	for h in "${LAB_HOSTS[@]}"; do
		ip netns exec "${LAB_PREFIX}sw" tc qdisc "$1" dev "$h" root \
		    netem delay 200ms loss 5% 2>/dev/null || [ "$1" = del ] ||
		    fail "tc netem on $h"
	done
}

lab_up
sleep 11		# a stats line written after every agent connected
reconnects0=$(agents_stat reconnects)
downs0=$(downs)
lost0=$(grep -c "Disconnected" "$LAB_RUN/master/logs/cluster.log")
netem add
pass "netem on every port of the bridge: 5% loss, 200 ms delay each way"
ping_ms=$(ip netns exec "${LAB_PREFIX}agents" ping -c 3 -i 0.3 -q "${LAB_ADDR[master]}" |
    awk -F/ '/^rtt/ { print $5 }')
pass "round trip agents -> master: ${ping_ms:-lost} ms"

# A ruleset change on the master reaches every worker.
mkdir -p "$LAB_RUN/master/etc/rules"
echo "<group name=\"lossy,\"><!-- $$ --></group>" > "$LAB_RUN/master/etc/rules/lossy.xml"
t0=$(lab_now)
synced() {
	local w
	for w in worker1 worker2 worker3; do
		cmp -s "$LAB_RUN/master/etc/rules/lossy.xml" "$LAB_RUN/$w/etc/rules/lossy.xml" || return 1
	done
}
lab_wait 60 synced || fail "the ruleset change did not reach every worker"
pass "a ruleset change reached all 3 workers in $(lab_elapsed "$t0" "$(lab_now)") s over the lossy links"

end=$((SECONDS + LOSSY_SECONDS))
while [ "$SECONDS" -lt "$end" ]; do
	sleep 5
	for w in worker1 worker2 worker3; do
		lab_node_up "$w" || { netem del; fail "the master lost $w under loss"; }
	done
done
since=$(( $(date +%s) - 20 ))
ready=$(lab_ready "$since")
netem del
[ "$ready" -eq "$LAB_AGENTS" ] ||
	fail "$ready of $LAB_AGENTS agents active with a keepalive in the last 20 s"
pass "after ${LOSSY_SECONDS} s of loss, all $LAB_AGENTS agents active (keepalive in the last 20 s)"
sleep 11
reconnects=$(( $(agents_stat reconnects) - reconnects0 ))
[ "$reconnects" -eq 0 ] || fail "$reconnects agent reconnections under loss"
d=$(( $(downs) - downs0 ))
[ "$d" -eq 0 ] || fail "HAProxy marked a worker down $d times under loss"
lost=$(( $(grep -c "Disconnected" "$LAB_RUN/master/logs/cluster.log") - lost0 ))
[ "$lost" -eq 0 ] || fail "the master dropped a link $lost times under loss"
pass "no agent reconnected, no worker marked down, no cluster link dropped"
finish
