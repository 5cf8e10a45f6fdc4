#!/usr/bin/env bash
# The one-machine lab: two balancers (HAProxy + keepalived + clusterd's
# balancer role) holding the agents' VIP, two master-eligible hosts
# (clusterd, an etcd member, keepalived holding the master's VIP; the
# third etcd member on lb2), three workers and simulated agents, each
# host in its own network namespace; see docs/lab.md.
#   scripts/lab.sh start    build if needed, start, wait for every agent
#   scripts/lab.sh status   what runs, who holds each VIP, the active
#                           master and its term, agents per worker
#   scripts/lab.sh stop     stop everything and delete the namespaces
# LAB_PREFIX, LAB_RUN and LAB_AGENTS change the namespaces' prefix (cl-),
# the run directory (run/lab) and the number of agents (300); LAB_HA=0
# starts a single master (host "master", no etcd) instead.
set -u
[ "${1:-}" = start ] && LAB_HA=${LAB_HA:-1}
. "$(dirname "$0")/../tests/lab/lablib.sh"

# The command line of a lab.sh action for this lab: with the LAB_PREFIX and
# LAB_RUN it runs with when they are not the defaults, so a printed hint
# reaches this lab and not the default one.
lab_cmd() {
	local env=""
	[ "$LAB_PREFIX" != cl- ] && env+="LAB_PREFIX=$(printf %q "$LAB_PREFIX") "
	[ "$LAB_RUN" != "$LAB_TOP/run/lab" ] && env+="LAB_RUN=$(printf %q "$LAB_RUN") "
	echo "${env}scripts/lab.sh $1"
}

# ha_state M: " active, term N" or " standby" for a master-eligible M.
ha_state() {
	[ "$LAB_HA" = 1 ] && [[ " ${LAB_MASTERS[*]} " == *" $1 "* ]] || return 0
	"$LAB_BIN/cluster_control" -H "$LAB_RUN/$1" --ha --json 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)["data"]
print(", %s%s" % (d["state"], ", term %d" % d["term"] if d["state"] == "active" else ""))' 2>/dev/null
}

need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "the lab needs root for network namespaces; scripts/cluster.sh start runs a loopback cluster without a VIP" >&2
		exit 1
	fi
}

# The master's VIP and who is active (HA lab), or the single master.
masters_line() {
	if [ "$LAB_HA" = 1 ]; then
		echo "VIP (master):    $LAB_MASTER_VIP:1516, held by $(lab_mvip_holder)"
		echo "Active master:   $(lab_master) (term $(lab_term 2>/dev/null || echo -))"
	else
		echo "Master:          master ($LAB_MASTER_ADDR)"
	fi
}

agents_per_worker() {
	lab_workers 2>/dev/null | awk '{ printf "  %-10s %s active\n", $1, $2 }'
}

failed() {
	trap - INT TERM
	echo "lab: start failed (logs under $LAB_RUN); stopping" >&2
	lab_stop
	exit 1
}

start() {
	need_root
	if lab_exists; then
		echo "the lab is already running ($(lab_cmd status); $(lab_cmd stop))" >&2
		exit 1
	fi
	"$LAB_TOP/scripts/deps.sh" || exit 1
	make -C "$LAB_TOP" -s all || exit 1
	# From here on, a failure or an interrupt takes down what was started.
	trap 'failed' INT TERM
	lab_start || failed
	trap - INT TERM
	echo
	lab_ctl -l
	cat <<MSG

VIP (agents):    $LAB_VIP:1514 and :1515, held by $(lab_vip_holder)
$(masters_line)
Agents per worker (master's counts):
$(agents_per_worker)
Logs:            $LAB_RUN/<node>/logs/cluster.log, $LAB_RUN/lb1/keepalived.log,
                 $LAB_RUN/lb1/notify.log, $LAB_RUN/agents.log
A host's shell:  ip netns exec ${LAB_PREFIX}worker1 bash
Health:          $LAB_BIN/cluster_control -H $LAB_RUN/$(lab_master) -i
Status:          $(lab_cmd status)
Stop:            $(lab_cmd stop)
MSG
}

status() {
	local h f p
	if ! lab_exists; then
		echo "the lab is not running"
		return 3
	fi
	echo "Processes:"
	for h in "${LAB_BALANCERS[@]}"; do
		for f in haproxy keepalived; do
			p=$(lab_pidof "$h/$f.pid")
			lab_alive "$h/$f.pid" && echo "  $h $f ($p)" || echo "  $h $f: not running"
		done
		if [ -f "$LAB_RUN/$h/clusterd.conf" ] && [ -d "$LAB_RUN/$h/clusterd" ]; then
			lab_alive "$h/clusterd/var/run/clusterd.pid" &&
			    echo "  $h clusterd balancer ($(lab_pidof "$h/clusterd/var/run/clusterd.pid"))" ||
			    echo "  $h clusterd balancer: not running"
		fi
	done
	for h in "${LAB_MASTERS[@]}" "${LAB_WORKERS[@]}"; do
		lab_alive "$h/var/run/clusterd.pid" &&
		    echo "  $h clusterd ($(lab_pidof "$h/var/run/clusterd.pid"))$(ha_state "$h")" ||
		    echo "  $h clusterd: not running"
	done
	if [ "$LAB_HA" = 1 ]; then
		for h in "${LAB_MASTERS[@]}"; do
			lab_alive "$h-keepalived/keepalived.pid" &&
			    echo "  $h keepalived ($(lab_pidof "$h-keepalived/keepalived.pid"))" ||
			    echo "  $h keepalived: not running"
		done
		for h in $(lab_etcd_hosts); do
			lab_alive "etcd-$h.pid" && echo "  $h etcd ($(lab_pidof "etcd-$h.pid"))" ||
			    echo "  $h etcd: not running"
		done
	fi
	lab_alive agents.pid && echo "  agents agentsim ($(lab_pidof agents.pid))" ||
	    echo "  agents agentsim: not running"
	echo "VIP (agents):    $LAB_VIP:1514 and :1515, held by $(lab_vip_holder)"
	masters_line
	echo "Agents per worker (master's counts):"
	agents_per_worker
}

case "${1:-}" in
start) start ;;
stop) need_root; lab_stop; echo "the lab is stopped" ;;
status) need_root; status ;;
*) echo "usage: $0 start|status|stop" >&2; exit 2 ;;
esac
