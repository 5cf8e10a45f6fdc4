# A fourth worker joins a running lab: it enters both balancers' HAProxy
# pools by itself (the balancer role adds it through the Runtime API), and
# the master's rebalancing moves agents onto it until the four workers are
# within the tolerance (10% of the average).  Then its link is cut: the
# server added at run time has the same checks and on-marked-down as the
# rendered ones, so its agents move away within seconds.
. "$(dirname "$0")/testlib.sh"

lab_up
lab_host_add worker4 198.18.0.14 || fail "cannot add worker4's namespace"
lab_node_conf worker4 worker
t0=$(lab_now)
lab_clusterd_start worker4 || fail "clusterd did not start on worker4"
lab_wait 20 lab_node_up worker4 || fail "worker4 did not join the master"
for lb in lb1 lb2; do
	lab_wait 20 lab_server_is "$lb" workers_agents worker4 UP ||
		fail "worker4 not UP in $lb's pool: $(lab_server "$lb" workers_agents worker4)"
done
pass "worker4 UP in both balancers' pools $(lab_elapsed "$t0" "$(lab_now)") s after it started"

# even: the workers' active agents differ by at most 10% of the average.
even() {
	lab_workers | awk -v n="$LAB_AGENTS" '
		{ c[NR] = $2; s += $2; if (NR == 1 || $2 > max) max = $2;
		  if (NR == 1 || $2 < min) min = $2 }
		END { exit !(NR == 4 && s == n && (max - min) * 100 <= 10 * n / 4) }'
}
lab_wait 60 even || fail "not within 10% after 60 s: $(lab_workers | tr '\n' ' ')"
grep -q "\[Rebalance\] Asking it to move" "$LAB_RUN/master/logs/cluster.log" ||
	fail "no rebalancing round logged"
pass "agents rebalanced within 10% $(lab_elapsed "$t0" "$(lab_now)") s after worker4 started: $(lab_workers | tr '\n' ' ')"

lab_ids worker4 > "$LAB_RUN/worker4.ids"
t1=$(lab_now)
ip -n "${LAB_PREFIX}worker4" link set eth0 down || fail "link down"
for lb in lb1 lb2; do
	lab_wait 15 lab_server_is "$lb" workers_agents worker4 DOWN ||
		fail "$lb still has worker4 $(lab_server "$lb" workers_agents worker4)"
done
lab_wait 30 lab_moved "$(since "$t1")" worker4 "$LAB_RUN/worker4.ids" ||
	fail "worker4's agents are not all active elsewhere: $(lab_workers | tr '\n' ' ')"
pass "worker4 (added at run time) cut off: its $(wc -w < "$LAB_RUN/worker4.ids") agents active on the others $(lab_elapsed "$t1" "$(lab_now)") s later"
finish
