#!/usr/bin/env bash
# Failover figures in the one-machine lab (docs/lab.md), on a lab of its
# own (namespaces clb<pid>-*, a temp run directory) removed at the end:
#  - a worker killed (SIGKILL), cut off (its link down) and hung
#    (SIGSTOP), WORKER_RUNS times each: the time until every agent it
#    served is active on another worker (master's registry); the worker is
#    then restored and the master rebalances agents onto it;
#  - lb1's HAProxy killed, and its keepalived killed outright, FAILOVERS
#    times each: the time until the VIP is on lb2's eth0 and every agent
#    is active again; restarted: the time until lb1 holds the VIP again.
# Prints a markdown table.  Needs root.  LAB_AGENTS (300), FAILOVERS (10),
# WORKER_RUNS (3) change the sizes.
set -u
LAB_PREFIX=clb$$-
LAB_RUN=$(mktemp -d /tmp/clusterd-labbench.XXXXXX)
LAB_AGENTS=${LAB_AGENTS:-300}
LAB_POLL=0.05
FAILOVERS=${FAILOVERS:-10}
WORKER_RUNS=${WORKER_RUNS:-3}
. "$(dirname "$0")/../lab/lablib.sh"

trap 'lab_stop >/dev/null 2>&1; rm -rf "${LAB_RUN:?}"' EXIT
trap 'exit 1' INT TERM

die() {
	echo "lab_bench: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
make -C "$LAB_TOP" -s all || die "build failed"

lab_start > "$LAB_RUN/start.log" 2>&1 ||
	die "the lab did not start: $(tail -n 3 "$LAB_RUN/start.log")"
echo "lab up: $LAB_AGENTS agents, VIP on $(lab_vip_holder)" >&2

per=$((LAB_AGENTS / ${#LAB_WORKERS[@]}))
# back: the master rebalanced; worker1 holds 90% of its share again.
back() {
	[ "$(lab_workers | awk '$1 == "worker1" { print $2 }')" -ge $((per * 9 / 10)) ]
}
none_on_worker1() {
	[ "$(lab_ctl -a --json | python3 "$LAB_STAT" active worker1)" -eq 0 ]
}

# worker_fault KIND RUNS: worker1 killed (kill), cut off (link: eth0 down,
# no FIN or RST) or hung (stop: SIGSTOP).  Records the time until every
# agent it served is active on another worker (KIND.times) and until the
# master shows none active on it (KIND.gone), then undoes the fault and
# waits for the master to rebalance agents onto it.
worker_fault() {
	local kind=$1 r t0 t pid
	: > "$LAB_RUN/$kind.times"
	: > "$LAB_RUN/$kind.gone"
	for r in $(seq "$2"); do
		# A run starts only once worker1 serves agents again.
		lab_wait 60 eval 'lab_ids worker1 > "$LAB_RUN/worker1.ids" &&
		    [ -s "$LAB_RUN/worker1.ids" ]' ||
			die "$kind run $r: worker1 serves no agent"
		pid=$(lab_pidof worker1/var/run/clusterd.pid)
		sleep "0.$((RANDOM % 10))"
		t0=$(lab_now)
		case $kind in
		kill) kill -9 "$pid" ;;
		link) ip -n "${LAB_PREFIX}worker1" link set eth0 down ;;
		stop) kill -STOP "$pid" ;;
		esac
		lab_wait 60 lab_moved "$(( ${t0%.*} + 1 ))" worker1 "$LAB_RUN/worker1.ids" ||
			die "$kind run $r: worker1's agents did not come back"
		t=$(lab_elapsed "$t0" "$(lab_now)")
		echo "$t" >> "$LAB_RUN/$kind.times"
		lab_wait 30 none_on_worker1 || die "$kind run $r: agents still shown on worker1"
		lab_elapsed "$t0" "$(lab_now)" >> "$LAB_RUN/$kind.gone"
		echo "worker $kind run $r: $(wc -w < "$LAB_RUN/worker1.ids") agents back in $t s, none shown on worker1 after $(tail -n 1 "$LAB_RUN/$kind.gone") s" >&2
		case $kind in
		kill) lab_clusterd_start worker1 || die "worker1 did not restart" ;;
		link) ip -n "${LAB_PREFIX}worker1" link set eth0 up ;;
		stop) kill -CONT "$pid" ;;
		esac
		lab_wait 120 back || die "$kind run $r: no agents rebalanced onto worker1"
		lab_wait 30 lab_all_ready "$(date +%s)" || die "$kind run $r: not every agent active"
	done
}
worker_fault kill "$WORKER_RUNS"
worker_fault link "$WORKER_RUNS"
worker_fault stop "$WORKER_RUNS"

# lb_fault KIND RUNS: lb1's HAProxy killed (haproxy), or its keepalived
# killed outright, both processes (keepalived).  Records the time until
# lb2 holds the VIP (KIND.vip), until every agent is active again
# (KIND.agents), and after the restart until lb1 holds it alone again
# (KIND.return).
lb_fault() {
	local kind=$1 r t0 t2
	: > "$LAB_RUN/$kind.vip"
	: > "$LAB_RUN/$kind.agents"
	: > "$LAB_RUN/$kind.return"
	for r in $(seq "$2"); do
		# A random phase against keepalived's 1 s checks.
		sleep "0.$((RANDOM % 10))"
		t0=$(lab_now)
		case $kind in
		haproxy) kill -9 "$(lab_pidof lb1/haproxy.pid)" ;;
		keepalived) kill -9 "$(lab_pidof lb1/vrrp.pid)" "$(lab_pidof lb1/keepalived.pid)" ;;
		esac
		lab_wait 30 lb2_has_vip || die "$kind run $r: the VIP did not move to lb2"
		lab_elapsed "$t0" "$(lab_now)" >> "$LAB_RUN/$kind.vip"
		lab_wait 60 lab_all_ready "$(( ${t0%.*} + 1 ))" ||
			die "$kind run $r: the agents did not come back"
		lab_elapsed "$t0" "$(lab_now)" >> "$LAB_RUN/$kind.agents"
		t2=$(lab_now)
		case $kind in
		haproxy) lab_haproxy_start lb1 || die "$kind run $r: HAProxy did not restart" ;;
		keepalived) lab_keepalived_start lb1 || die "$kind run $r: keepalived did not restart" ;;
		esac
		lab_wait 30 lab_vip_on lb1 || die "$kind run $r: the VIP did not return"
		lab_elapsed "$t2" "$(lab_now)" >> "$LAB_RUN/$kind.return"
		echo "$kind run $r: VIP on lb2 in $(tail -n 1 "$LAB_RUN/$kind.vip") s, agents in $(tail -n 1 "$LAB_RUN/$kind.agents") s, back in $(tail -n 1 "$LAB_RUN/$kind.return") s" >&2
		lab_wait 30 lab_all_ready "$(date +%s)" || die "$kind run $r: not every agent active after the return"
	done
}
lb2_has_vip() { ip -n "${LAB_PREFIX}lb2" -4 addr show dev eth0 | grep -q "inet $LAB_VIP/"; }
lb_fault haproxy "$FAILOVERS"
lb_fault keepalived "$FAILOVERS"

table=$(cat <<TABLE
## Balancer failover (the lab)

Machine: $(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import benchlib; print(benchlib.machine())' "$LAB_TOP/tests/bench").  Command: \`make bench\` (tests/bench/lab_bench.sh, as root).

The lab of docs/lab.md: network namespaces on a bridge, lb1 and lb2 (HAProxy, keepalived with unicast VRRPv3, advert 0.2 s, HAProxy checked every 1 s), a master, three workers (HAProxy checks every 1.5 s, fall 3; cluster keepalive 2 s, timeout 8 s); $LAB_AGENTS simulated agents (keepalive ${LAB_KEEPALIVE} s, a lost connection retried within a second, a failed attempt after ${LAB_RETRY} s) through the VIP.  Each run starts at a random phase.

| measure | median | min | max | runs |
|---|---|---|---|---|
$(lab_stats "VIP on lb2 after lb1's HAProxy is killed" "$LAB_RUN/haproxy.vip")
$(lab_stats "every agent active again after lb1's HAProxy is killed" "$LAB_RUN/haproxy.agents")
$(lab_stats "VIP back on lb1 after its HAProxy restarts" "$LAB_RUN/haproxy.return")
$(lab_stats "VIP on lb2 after lb1's keepalived is killed outright" "$LAB_RUN/keepalived.vip")
$(lab_stats "every agent active again after lb1's keepalived is killed" "$LAB_RUN/keepalived.agents")
$(lab_stats "VIP back on lb1 after its keepalived restarts" "$LAB_RUN/keepalived.return")
$(lab_stats "a killed worker's agents ($per) active on the others" "$LAB_RUN/kill.times")
$(lab_stats "a cut-off worker's agents active on the others" "$LAB_RUN/link.times")
$(lab_stats "a cut-off worker: none of its agents shown active on it" "$LAB_RUN/link.gone")
$(lab_stats "a hung worker's agents active on the others" "$LAB_RUN/stop.times")
$(lab_stats "a hung worker: none of its agents shown active on it" "$LAB_RUN/stop.gone")

A killed HAProxy is seen by keepalived's check within 1 s (one miss: FAULT, priority 0), a keepalived killed outright when its adverts stop (3 x 0.2 s); agents then reconnect after their retry interval.  A cut-off or hung worker is out of HAProxy after three failed checks (1.5 s apart, then 250 ms; a check reads the agent-check answer within 2 s), and its sessions are shut.  "Active" counts an agent once its first keepalive after the move reached the master: a moved agent is acked within about a second but shows pending until then, up to one keepalive interval (5 s here) later.
TABLE
)
echo "$table"
# --out FILE: also write the table as the lab-bench section of FILE.
if [ "${1:-}" = "--out" ] && [ -n "${2:-}" ]; then
	python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import benchlib; benchlib.write_section(sys.argv[2], "lab-bench", sys.stdin.read())' \
	    "$LAB_TOP/tests/bench" "$2" <<<"$table"
fi
