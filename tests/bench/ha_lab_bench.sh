#!/usr/bin/env bash
# The master's high availability in the one-machine lab (docs/lab.md,
# docs/ha.md), on labs of its own (namespaces chb<pid>-*, a temp run
# directory) removed at the end:
#  - the enrollment rate through the agents' VIP and HAProxy, first with a
#    single master (LAB_HA=0: registry in SQLite only), then with master1
#    and master2 (LAB_HA=1: every registry batch committed in the
#    three-member etcd first), same clients, same count;
#  - RUNS times: kill -9 of the active master, the time until the master's
#    VIP is on the other master host, and until a new agent enrolling
#    through the agents' VIP (one request after the other, each waiting up
#    to 10 s) gets a key; the killed master starts again as a standby.
# Prints a markdown table.  Needs root and etcd.  LAB_AGENTS (60), RUNS
# (10), RATE_COUNT (2000 enrollments), RATE_CONC (32 clients), RATE_ROUNDS
# (3 rates measured in each lab) change the sizes.
set -u
LAB_PREFIX=chb$$-
LAB_RUN=$(mktemp -d /tmp/clusterd-habench.XXXXXX)
LAB_AGENTS=${LAB_AGENTS:-60}
LAB_POLL=0.05
RUNS=${RUNS:-10}
RATE_COUNT=${RATE_COUNT:-2000}
RATE_CONC=${RATE_CONC:-32}
RATE_ROUNDS=${RATE_ROUNDS:-3}
. "$(dirname "$0")/../lab/lablib.sh"

trap 'lab_stop >/dev/null 2>&1; rm -rf "${LAB_RUN:?}"' EXIT
trap 'exit 1' INT TERM

die() {
	echo "ha_lab_bench: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
command -v etcd >/dev/null || die "needs etcd (scripts/deps.sh installs etcd-server)"
make -C "$LAB_TOP" -s all || die "build failed"
[ -x "$LAB_BIN/enroll_load" ] || die "no $LAB_BIN/enroll_load (make bench builds it)"
OUT=$(mktemp -d /tmp/clusterd-habench-out.XXXXXX)
trap 'lab_stop >/dev/null 2>&1; rm -rf "${LAB_RUN:?}" "${OUT:?}"' EXIT

# rate NAME PREFIX: RATE_ROUNDS times RATE_COUNT enrollments through the
# agents' VIP; each round's rate in OUT/NAME.rate.
rate() {
	local r i
	for i in $(seq "$RATE_ROUNDS"); do
		r=$(lab_in agents "$LAB_BIN/enroll_load" enroll "$LAB_VIP" 1515 \
		    "$RATE_COUNT" "$RATE_CONC" "$2$i-") || die "$1: enrollments failed: $r"
		python3 -c 'import json, sys; print("%.0f" % json.loads(sys.argv[1])["rate"])' "$r" >> "$OUT/$1.rate"
		echo "$1: $r" >&2
	done
}

# start HA: a lab (LAB_HA=HA, lablib.sh sourced again with it at the top
# level); its start time in OUT/start-HA.
start() {
	local t0
	t0=$(lab_now)
	lab_start > "$LAB_RUN/start.log" 2>&1 ||
		die "the lab (LAB_HA=$1) did not start: $(tail -n 3 "$LAB_RUN/start.log")"
	lab_elapsed "$t0" "$(lab_now)" > "$OUT/start-$1"
	echo "lab up (LAB_HA=$1) in $(cat "$OUT/start-$1") s: $LAB_AGENTS agents, VIP on $(lab_vip_holder)" >&2
}

LAB_HA=0
. "$LAB_TOP/tests/lab/lablib.sh"
start 0
rate single s
lab_stop >/dev/null 2>&1
LAB_HA=1
. "$LAB_TOP/tests/lab/lablib.sh"
start 1
rate ha h

other() { [ "$1" = master1 ] && echo master2 || echo master1; }
probe() {
	lab_in agents python3 "$LAB_TOP/tests/integration/enroll.py" --timeout 10 \
	    "$LAB_VIP" 1515 "OSSEC A:'p$RANDOM$RANDOM'" | grep -q "OSSEC K:"
}
# ready M: M active, every worker connected to it, enrollment answered.
ready() {
	local w
	lab_ha_is "$1" active || return 1
	for w in "${LAB_WORKERS[@]}"; do lab_node_up "$w" || return 1; done
	probe
}
: > "$OUT/vip"
: > "$OUT/enroll"
for r in $(seq "$RUNS"); do
	A=$(lab_master)
	B=$(other "$A")
	lab_wait 30 lab_ha_is "$B" standby || die "run $r: $B is $(lab_ha_state "$B")"
	lab_wait 30 ready "$A" || die "run $r: $A not ready"
	sleep "0.$((RANDOM % 10))"	# a random phase against keepalived's 1 s checks
	t0=$(lab_now)
	kill -9 "$(lab_pidof "$A/var/run/clusterd.pid")"
	lab_wait 60 lab_mvip_on "$B" || die "run $r: the master's VIP did not move ($(lab_mvip_holder))"
	lab_elapsed "$t0" "$(lab_now)" >> "$OUT/vip"
	until probe; do
		sleep 0.05
		[ "$(lab_elapsed "$t0" "$(lab_now)" | cut -d. -f1)" -lt 60 ] ||
			die "run $r: no enrollment answered"
	done
	lab_elapsed "$t0" "$(lab_now)" >> "$OUT/enroll"
	echo "run $r: $A killed; master's VIP on $B in $(tail -n 1 "$OUT/vip") s, first enrollment answered in $(tail -n 1 "$OUT/enroll") s (term $(lab_term))" >&2
	lab_clusterd_start "$A" || die "run $r: $A did not start again"
done

table=$(cat <<TABLE
## Master high availability (the lab)

Machine: $(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import benchlib; print(benchlib.machine())' "$LAB_TOP/tests/bench").  Command: \`make bench\` (tests/bench/ha_lab_bench.sh, as root).

The lab of docs/lab.md, in the same run: first with a single master, then with \`LAB_HA=1\` (docs/ha.md): master1 and master2, an etcd member on each and the witness member on lb2, keepalived on the master hosts holding the master's VIP (\`cluster_control --ha-check\` every 1 s), \`ha_lease_ttl 2s\`, workers and balancers that know only the master's VIP (\`reconnect_max 1s\`).  Enrollments go through the agents' VIP and HAProxy (to the master and the three workers, which relay); $LAB_AGENTS simulated agents stay connected meanwhile.  The rate: $RATE_COUNT enrollments by $RATE_CONC concurrent TLS clients (build/enroll_load), $RATE_ROUNDS rounds in each lab.  Then $RUNS times, at a random phase: kill -9 of the active master, and a new agent enrolling through the agents' VIP, one request after the other (a worker holds a request up to 5 s while it has no master); the killed master starts again as a standby before the next run.

| measure | median | min | max | runs |
|---|---|---|---|---|
$(lab_stats "enrollments /s, single master (SQLite only)" "$OUT/single.rate" "")
$(lab_stats "enrollments /s, two masters, each batch committed in etcd first" "$OUT/ha.rate" "")
$(lab_stats "kill -9 of the active master to the master's VIP on the other host" "$OUT/vip")
$(lab_stats "kill -9 to the first enrollment answered through the agents' VIP" "$OUT/enroll")
$(lab_stats "lab start to every agent active, single master" "$OUT/start-0")
$(lab_stats "lab start to every agent active, two masters and etcd" "$OUT/start-1")

The takeover is bounded by the lease (2 s) plus an election round; the master's VIP follows within keepalived's 1 s check, and the workers reconnect within their 1 s backoff.
TABLE
)
echo "$table"
# --out FILE: also write the table as the ha-lab-bench section of FILE.
if [ "${1:-}" = "--out" ] && [ -n "${2:-}" ]; then
	python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import benchlib; benchlib.write_section(sys.argv[2], "ha-lab-bench", sys.stdin.read())' \
	    "$LAB_TOP/tests/bench" "$2" <<<"$table"
fi
