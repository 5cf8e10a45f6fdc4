#!/usr/bin/env bash
# Planned restarts and a balancer that weighs nothing, in the one-machine
# lab (docs/lab.md), each run on a lab of its own (namespaces cdb<pid>-*,
# a temp run directory) removed at the end:
#  - a rolling restart of the three workers, each stopped by SIGTERM (a
#    drain) and started again, the next once it serves agents: the longest
#    time any agent went without a manager, the events the agents sent,
#    archived and held meanwhile (what a real agent buffers), and each
#    worker's drain time; RESTARTS runs;
#  - HAProxy as a plain L4 balancer (round robin, no agent-check, no
#    balancer role) and a fourth worker joining: the time until every
#    worker is within 10% of the average, the agents moved and the fewest
#    that had to move; JOINS runs.
# Prints a markdown table.  Needs root.  LAB_AGENTS (300), LAB_EVENT_RATE
# (events per second per agent, 1), RESTARTS (3), JOINS (3).
set -u
LAB_PREFIX=cdb$$-
LAB_RUN=$(mktemp -d /tmp/clusterd-drainbench.XXXXXX)
LAB_AGENTS=${LAB_AGENTS:-300}
LAB_EVENT_RATE=${LAB_EVENT_RATE:-1}
LAB_STATS_EVERY=1
LAB_POLL=0.1
RESTARTS=${RESTARTS:-3}
JOINS=${JOINS:-3}
. "$(dirname "$0")/../lab/lablib.sh"
BASE_JSON=$LAB_JSON
OUT=$(mktemp -d /tmp/clusterd-drainbench-out.XXXXXX)

trap 'lab_stop >/dev/null 2>&1; rm -rf "${LAB_RUN:?}" "${OUT:?}"' EXIT
trap 'exit 1' INT TERM

die() {
	echo "drain_bench: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
make -C "$LAB_TOP" -s all || die "build failed"

for r in $(seq "$RESTARTS"); do
	unset LAB_L4 LAB_BEFORE_AGENTS
	LAB_JSON=$BASE_JSON
	. "$LAB_TOP/tests/lab/lablib.sh"
	lab_start > "$LAB_RUN/start.log" 2>&1 ||
		die "the lab did not start: $(tail -n 3 "$LAB_RUN/start.log")"
	closed0=$(lab_agents_stat closed_by_peer)
	for w in "${LAB_WORKERS[@]}"; do
		t=$(lab_restart_worker "$w") || die "restart $r: $w did not come back"
		echo "${t% *}" >> "$OUT/drain"
		echo "restart $r: $w drained in ${t% *} s, serving again ${t#* } s later" >&2
		# A stop that was not a drain: show how it ended.
		[ "$(grep -c 'Received signal' "$LAB_RUN/$w/logs/cluster.log")" -eq \
		    "$(grep -cE '\[Drain\] (Drained after|Drain timeout)' "$LAB_RUN/$w/logs/cluster.log")" ] ||
			tail -n 30 "$LAB_RUN/$w/logs/cluster.log" >&2
	done
	lab_wait 60 lab_all_ready "$(date +%s)" || die "restart $r: not every agent active"
	echo $(( $(lab_agents_stat closed_by_peer) - closed0 )) >> "$OUT/cut"
	read -r sent archived held gap <<<"$(lab_events_end)"
	echo "$gap" >> "$OUT/gap"
	echo "$held" >> "$OUT/held"
	echo $((sent - archived)) >> "$OUT/lost"
	echo "$sent" >> "$OUT/sent"
	echo "restart $r: $sent events sent, $archived archived, $held held; longest without a manager $gap s" >&2
	lab_stop >/dev/null 2>&1
done

for r in $(seq "$JOINS"); do
	LAB_L4=1
	LAB_JSON=$BASE_JSON
	LAB_JSON=$(lab_json_with worker4 198.18.0.14) || die "description"
	. "$LAB_TOP/tests/lab/lablib.sh"
	LAB_BEFORE_AGENTS="lab_down_everywhere worker4"
	lab_start > "$LAB_RUN/start.log" 2>&1 ||
		die "the L4 lab did not start: $(tail -n 3 "$LAB_RUN/start.log")"
	lab_host_add worker4 198.18.0.14 || die "worker4's namespace"
	j=$(lab_join worker4) || die "join $r: not within 10% after 120 s: $(lab_workers | tr '\n' ' ')"
	read -r t moved need _ <<<"$j"
	echo "$t" >> "$OUT/converge"
	echo "$moved" >> "$OUT/moved"
	echo "$need" >> "$OUT/need"
	echo "join $r: $j" >&2
	lab_stop >/dev/null 2>&1
done

table=$(cat <<TABLE
## Planned restarts and plain L4 balancers (the lab)

Machine: $(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import benchlib; print(benchlib.machine())' "$LAB_TOP/tests/bench").  Command: \`make bench\` (tests/bench/drain_bench.sh, as root).

The lab of docs/lab.md with $LAB_AGENTS simulated agents sending $LAB_EVENT_RATE event a second each (keepalive ${LAB_KEEPALIVE} s).  Rolling restart ($RESTARTS runs, each on a fresh lab): worker1, worker2 and worker3 in turn get SIGTERM (drain with the defaults: \`drain_wait\` 2.5 s for HAProxy's agent-check, \`drain_rate\` 200 a second, \`drain_timeout\` 30 s), are started again once stopped, and the next one goes once the master's rebalancing gave the restarted one agents back.  Fourth worker ($JOINS runs): HAProxy with \`balance roundrobin\`, no agent-check and a plain TCP connect to the agent-check port as health check, no balancer role; worker4 is in its configuration from the start (DOWN) and then starts; the master rebalances every 10 s.

| measure | median | min | max | runs |
|---|---|---|---|---|
$(lab_stats "rolling restart: longest time any agent was without a manager" "$OUT/gap")
$(lab_stats "rolling restart: events lost (sent, not archived)" "$OUT/lost" "")
$(lab_stats "rolling restart: events held by agents without a manager (buffered)" "$OUT/held" "")
$(lab_stats "rolling restart: events sent" "$OUT/sent" "")
$(lab_stats "rolling restart: connections cut by a node or balancer" "$OUT/cut" "")
$(lab_stats "one worker's drain, SIGTERM to exit" "$OUT/drain")
$(lab_stats "plain L4, a fourth worker: every worker within 10% of the average" "$OUT/converge")
$(lab_stats "plain L4, a fourth worker: agents moved (#!-force_reconnect)" "$OUT/moved" "")
$(lab_stats "plain L4, a fourth worker: fewest agents that had to move" "$OUT/need" "")

A drained agent is asked to reconnect, reconnects within a second and is acked by another worker: its time without a manager is that second; the events it would have sent meanwhile are what a real agent keeps in its buffer (agentsim counts them as held and sends none).  Behind a balancer that does not weigh the workers, an agent sent on lands on a worker at random or in turn, so the moves are about the fewest needed times the workers per worker with room; each worker's bounces are bounded by twice the round's moves.
TABLE
)
echo "$table"
# --out FILE: also write the table as the drain-bench section of FILE.
if [ "${1:-}" = "--out" ] && [ -n "${2:-}" ]; then
	python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import benchlib; benchlib.write_section(sys.argv[2], "drain-bench", sys.stdin.read())' \
	    "$LAB_TOP/tests/bench" "$2" <<<"$table"
fi
