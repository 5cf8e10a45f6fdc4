#!/usr/bin/env bash
# Failover figures in the one-machine lab (docs/lab.md), on a lab of its
# own (namespaces clb<pid>-*, a temp run directory) removed at the end:
#  - a worker killed (SIGKILL), WORKER_RUNS times: the time until every
#    agent it served is active on another worker (master's registry); the
#    worker is then restarted and the master rebalances agents onto it;
#  - lb1's HAProxy killed (SIGKILL), FAILOVERS times: the time until the
#    VIP is on lb2's eth0; HAProxy restarted: the time until it is back.
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

# stats LABEL FILE: "| LABEL | median | min | max | runs |" of FILE's numbers.
stats() {
	sort -n "$2" | awk -v label="$1" '
	{ v[NR] = $1 }
	END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "| %s | %.1f s | %.1f s | %.1f s | %d |\n", label, m, v[1], v[NR], NR
	}'
}

lab_start > "$LAB_RUN/start.log" 2>&1 ||
	die "the lab did not start: $(tail -n 3 "$LAB_RUN/start.log")"
echo "lab up: $LAB_AGENTS agents, VIP on $(lab_vip_holder)" >&2

# Workers first, on a fresh lab: each VIP failover leaves stale
# connections on the balancer that lost the VIP (see docs/lab.md).
: > "$LAB_RUN/worker.times"
per=$((LAB_AGENTS / ${#LAB_WORKERS[@]}))
# back: the master rebalanced; worker1 holds 90% of its share again.
back() {
	[ "$(lab_workers | awk '$1 == "worker1" { print $2 }')" -ge $((per * 9 / 10)) ]
}
for r in $(seq "$WORKER_RUNS"); do
	lab_ids worker1 > "$LAB_RUN/worker1.ids"
	t0=$(lab_now)
	kill -9 "$(lab_pidof worker1/var/run/clusterd.pid)"
	lab_wait 60 lab_moved "$(( ${t0%.*} + 1 ))" worker1 "$LAB_RUN/worker1.ids" ||
		die "run $r: worker1's agents did not come back"
	t=$(lab_elapsed "$t0" "$(lab_now)")
	echo "$t" >> "$LAB_RUN/worker.times"
	echo "worker run $r: $(wc -w < "$LAB_RUN/worker1.ids") agents back in $t s" >&2
	lab_clusterd_start worker1 || die "worker1 did not restart"
	lab_wait 120 back || die "run $r: no agents rebalanced onto worker1"
	lab_wait 30 lab_all_ready "$(date +%s)" || die "run $r: not every agent active"
done

agents_back=-
: > "$LAB_RUN/vip.times"
: > "$LAB_RUN/return.times"
for r in $(seq "$FAILOVERS"); do
	# A random phase against keepalived's 1 s checks.
	sleep "0.$((RANDOM % 10))"
	t0=$(lab_now)
	kill -9 "$(lab_pidof lb1/haproxy.pid)"
	lab_wait 30 lab_vip_on lb2 || die "failover $r: the VIP did not move to lb2"
	t1=$(lab_now)
	lab_elapsed "$t0" "$t1" >> "$LAB_RUN/vip.times"
	if [ "$r" -eq 1 ]; then
		# Only the first: later ones meet the stale connections the
		# earlier returns left on lb2 (docs/lab.md, troubleshooting).
		lab_wait 60 lab_all_ready "$(( ${t0%.*} + 1 ))" ||
			die "failover 1: the agents did not come back"
		agents_back=$(lab_elapsed "$t0" "$(lab_now)")
		echo "failover 1: every agent active again through lb2 in $agents_back s" >&2
	fi
	t2=$(lab_now)
	lab_haproxy_start lb1 || die "failover $r: HAProxy did not restart"
	lab_wait 30 lab_vip_on lb1 || die "failover $r: the VIP did not return"
	lab_elapsed "$t2" "$(lab_now)" >> "$LAB_RUN/return.times"
	echo "failover $r: VIP on lb2 in $(tail -n 1 "$LAB_RUN/vip.times") s, back in $(tail -n 1 "$LAB_RUN/return.times") s" >&2
	sleep 1
done

table=$(cat <<TABLE
## Balancer failover (the lab)

Machine: $(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import benchlib; print(benchlib.machine())' "$LAB_TOP/tests/bench").  Command: \`make bench\` (tests/bench/lab_bench.sh, as root).

The lab of docs/lab.md: network namespaces on a bridge, lb1 and lb2 (HAProxy, keepalived with unicast VRRP, advert 1 s, HAProxy check every 1 s, fall 2), a master, three workers; $LAB_AGENTS simulated agents (keepalive ${LAB_KEEPALIVE} s, retry ${LAB_RETRY} s) through the VIP.

| measure | median | min | max | runs |
|---|---|---|---|---|
$(stats "VIP on lb2 after lb1's HAProxy is killed" "$LAB_RUN/vip.times")
$(stats "VIP back on lb1 after its HAProxy restarts" "$LAB_RUN/return.times")
$(stats "a killed worker's agents ($per) active on the others" "$LAB_RUN/worker.times")
| every agent active through lb2 after the first HAProxy kill | $agents_back s | | | 1 |

Failover is bounded by keepalived's check (two failures 1 s apart) and VRRP's takeover; agents then reconnect after their retry interval.
TABLE
)
echo "$table"
# --out FILE: also write the table as the lab-bench section of FILE.
if [ "${1:-}" = "--out" ] && [ -n "${2:-}" ]; then
	python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import benchlib; benchlib.write_section(sys.argv[2], "lab-bench", sys.stdin.read())' \
	    "$LAB_TOP/tests/bench" "$2" <<<"$table"
fi
