# The one-machine lab: network namespaces joined by a bridge, two balancers
# (HAProxy, keepalived, clusterd's balancer role), a master, three workers
# and simulated agents.  Sourced by scripts/lab.sh and by the lab's tests;
# see docs/lab.md.  Set before sourcing:
#   LAB_PREFIX  namespace names' prefix (cl-); a test lab uses its own
#   LAB_RUN     run directory: configs, homes, pid files, logs (run/lab)
#   LAB_AGENTS  simulated agents (300), LAB_KEEPALIVE their keepalive
#               interval (notify_time, 5 s), LAB_RETRY their retry interval
#               (2 s), LAB_TIME_RECONNECT their time-reconnect (20 s: a
#               manager silent this long is left, as real agents do),
#               LAB_EVENT_RATE events each agent sends a second (0)
#   LAB_NODE_EXTRA  lines added to the master's and workers' configs
#   LAB_JSON    the cluster description (lb/lab.json; its hosts must stay
#               in 198.18.0.0/24 beside the agents' 198.18.0.50)
#   LAB_L4      1: HAProxy as a plain L4 balancer standing in for a cloud
#               one (balance roundrobin, no agent-check, health checks
#               on the agent-check port only) and no balancer role
#   LAB_STATS_EVERY seconds between the agents' stats lines (10)
#   LAB_BEFORE_AGENTS  a command lab_start runs before the agents start
#   LAB_BEFORE_NODES  a command lab_start runs once the nodes'
#               configurations are written, before any clusterd starts
#               (a test gives a home a file system of its own, say)
#   LAB_HA      1: the master high-availability lab (docs/ha.md) instead
#               of the single master: lb/lab.json's "masters" (master1,
#               master2), each with clusterd master-eligible, an etcd
#               member and keepalived holding the master's VIP; the third
#               etcd member, a witness, on LAB_WITNESS (lb2); workers and
#               balancers reach the master through the master's VIP.
#               0 (the default): one master, host "master", no etcd.
set -u

LAB_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LAB_BIN=$LAB_TOP/build
LAB_PREFIX=${LAB_PREFIX:-cl-}
LAB_RUN=${LAB_RUN:-$LAB_TOP/run/lab}
LAB_AGENTS=${LAB_AGENTS:-300}
LAB_KEEPALIVE=${LAB_KEEPALIVE:-5}
LAB_RETRY=${LAB_RETRY:-2}
LAB_TIME_RECONNECT=${LAB_TIME_RECONNECT:-20}
LAB_JSON=${LAB_JSON:-$LAB_TOP/lb/lab.json}
LAB_STAT=$LAB_TOP/tests/lab/labstat.py
# A running lab says how it was started (LAB_RUN/lab.ha), for stop/status.
LAB_HA=${LAB_HA:-$(cat "$LAB_RUN/lab.ha" 2>/dev/null)}
[ "$LAB_HA" = 1 ] || LAB_HA=0
LAB_WITNESS=${LAB_WITNESS:-lb2}

# Hosts and addresses: lb/lab.json's balancers, master and workers, plus
# the agents' host, which the description does not name.
LAB_VIP=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["vip"]["agents"].split("/")[0])' "$LAB_JSON")
LAB_MASTER_VIP=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["vip"]["master"].split("/")[0])' "$LAB_JSON")
if [ "$LAB_HA" = 1 ]; then
	LAB_MASTER_ADDR=$LAB_MASTER_VIP
	mapfile -t LAB_MASTERS < <(python3 -c 'import json,sys; [print(m["name"]) for m in json.load(open(sys.argv[1])).get("masters", [])]' "$LAB_JSON")
	[ "${#LAB_MASTERS[@]}" -ge 2 ] || { echo "lab: LAB_HA=1 needs two masters in $LAB_JSON" >&2; exit 1; }
else
	LAB_MASTER_ADDR=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["master"]["address"])' "$LAB_JSON")
	LAB_MASTERS=(master)
fi
declare -A LAB_ADDR=()
while read -r name addr; do
	LAB_ADDR[$name]=$addr
done < <(python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))
for h in c["balancers"] + [c["master"]] + c.get("masters", []) + c["workers"]:
    print(h["name"], h["address"])' "$LAB_JSON")
LAB_ADDR[agents]=198.18.0.50
LAB_BALANCERS=(lb1 lb2)
LAB_WORKERS=(worker1 worker2 worker3)
LAB_HOSTS=("${LAB_BALANCERS[@]}" "${LAB_MASTERS[@]}" "${LAB_WORKERS[@]}" agents)
# Hosts added to a running lab (lab_host_add), so that stop finds them.
if [ -s "$LAB_RUN/hosts.added" ]; then
	while read -r name addr; do
		LAB_ADDR[$name]=$addr
		LAB_HOSTS+=("$name")
	done < "$LAB_RUN/hosts.added"
fi

lab_ns() { echo "$LAB_PREFIX$1"; }

# lab_in HOST COMMAND...: run COMMAND in HOST's network namespace.
lab_in() {
	local h=$1
	shift
	ip netns exec "$LAB_PREFIX$h" "$@"
}

# lab_master: the active master's name (master, or in the HA lab the one
# that says it is active; "none" while none does).
lab_master() {
	local m
	[ "$LAB_HA" = 1 ] || { echo master; return 0; }
	for m in "${LAB_MASTERS[@]}"; do
		if "$LAB_BIN/cluster_control" -H "$LAB_RUN/$m" --ha-check >/dev/null 2>&1; then
			echo "$m"
			return 0
		fi
	done
	echo none
	return 1
}

# lab_ctl ARGS...: cluster_control on the active master.
lab_ctl() { "$LAB_BIN/cluster_control" -H "$LAB_RUN/$(lab_master)" "$@"; }

lab_log() { echo "lab: $*"; }

# lab_wait SECONDS COMMAND...: poll COMMAND until it succeeds; 1 on timeout.
lab_wait() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep "${LAB_POLL:-0.2}"
	done
}

lab_now() { date +%s.%N; }
lab_elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f\n", b - a }'; }

lab_exists() { [ -e "/run/netns/${LAB_PREFIX}sw" ]; }

# ---- network ----

# The switch namespace holds the bridge, so the root namespace's network
# is never touched; each host gets a veth pair, eth0 on its side.
lab_net_up() {
	local sw=${LAB_PREFIX}sw h
	ip netns add "$sw" || return 1
	ip -n "$sw" link set lo up
	# No multicast snooping: VRRP and ARP reach every port at once.
	ip -n "$sw" link add br0 type bridge mcast_snooping 0 || return 1
	ip -n "$sw" link set br0 up
	for h in "${LAB_HOSTS[@]}"; do
		lab_host_on "$h" || return 1
	done
	# The backup balancer's HAProxy binds the VIP it does not hold yet.
	for h in "${LAB_BALANCERS[@]}"; do
		lab_in "$h" sysctl -qw net.ipv4.ip_nonlocal_bind=1 || return 1
	done
}

# lab_host_on NAME: NAME's namespace, on the bridge, with its address.
lab_host_on() {
	local sw=${LAB_PREFIX}sw h=$1 ns=$LAB_PREFIX$1
	ip netns add "$ns" || return 1
	ip -n "$sw" link add name "$h" type veth peer name eth0 netns "$ns" || return 1
	ip -n "$sw" link set dev "$h" master br0 up
	ip -n "$ns" link set lo up
	ip -n "$ns" addr add "${LAB_ADDR[$h]}/24" dev eth0
	ip -n "$ns" link set eth0 up
}

# lab_host_add NAME ADDRESS: one more host in a running lab (a new worker,
# say); recorded in LAB_RUN/hosts.added for lab_stop.
lab_host_add() {
	LAB_ADDR[$1]=$2
	LAB_HOSTS+=("$1")
	echo "$1 $2" >> "$LAB_RUN/hosts.added"
	lab_host_on "$1"
}

# ---- impaired links ----

# lab_impair_on DELAY_MS LOSS_PCT: every port of the switch delays each
# frame it sends to its host by DELAY_MS and drops it with probability
# LOSS_PCT %: a frame from one host to another is delayed once and may be
# lost once (2 x DELAY_MS round trip); a flooded frame draws its loss
# once per port.  With the kernel's netem, `tc qdisc add dev PORT root
# netem delay ... loss ...` on every port in the switch namespace.  A
# kernel without sch_netem gets tests/lab/impair.py instead: a switch in
# user space, in the switch namespace, that takes the ports out of br0
# and forwards frames between them the same way (AF_PACKET sockets, MAC
# learning, flooding); its counters go to LAB_RUN/impair.log.  For it the
# veths' offloads are turned off on both ends (ethtool; they stay off
# until the lab stops), so that it reads frames of at most the MTU with
# whole checksums.  LAB_IMPAIR=netem or LAB_IMPAIR=switch forces one.
# LAB_RUN/impair.mode says which is on.  A host added (lab_host_add)
# while the links are impaired joins br0, away from the userspace switch:
# impair the links again after adding it.
lab_impair_on() {
	local delay=$1 loss=$2 sw=${LAB_PREFIX}sw h p rt want=${LAB_IMPAIR:-auto}
	lab_impair_off
	if [ "$want" != switch ] &&
	    ip netns exec "$sw" tc qdisc add dev "${LAB_HOSTS[0]}" root \
	    netem delay "${delay}ms" loss "${loss}%" 2>/dev/null; then
		echo netem > "$LAB_RUN/impair.mode"
		for h in "${LAB_HOSTS[@]:1}"; do
			ip netns exec "$sw" tc qdisc add dev "$h" root \
			    netem delay "${delay}ms" loss "${loss}%" ||
			    { lab_impair_off; return 1; }
		done
		return 0
	fi
	if [ "$want" = netem ]; then
		lab_log "tc netem failed: this kernel may lack sch_netem"
		return 1
	fi
	command -v ethtool >/dev/null ||
	    { lab_log "the userspace switch needs ethtool (scripts/deps.sh)"; return 1; }
	for h in "${LAB_HOSTS[@]}"; do
		lab_in "$h" ethtool -K eth0 tx off tso off gso off gro off >/dev/null &&
		ip netns exec "$sw" ethtool -K "$h" tx off tso off gso off gro off >/dev/null ||
		    { lab_log "ethtool -K failed on $h"; return 1; }
	done
	echo switch > "$LAB_RUN/impair.mode"
	rm -f "$LAB_RUN/impair.ready"
	# A real-time priority: on a machine whose CPUs are busy (other labs),
	# the switch's own stalls would add to the delay it emulates.  It
	# uses a few % of a CPU.
	rt=
	chrt -f 10 true 2>/dev/null && rt="chrt -f 10"
	setsid $rt ip netns exec "$sw" python3 "$LAB_TOP/tests/lab/impair.py" \
		--delay-ms "$delay" --loss "$loss" --ready "$LAB_RUN/impair.ready" \
		"${LAB_HOSTS[@]}" >>"$LAB_RUN/impair.log" 2>&1 </dev/null &
	p=$!
	echo "$p" > "$LAB_RUN/impair.pid"
	disown
	lab_wait 10 test -s "$LAB_RUN/impair.ready" || {
		lab_log "the userspace switch did not start: $(tail -n 2 "$LAB_RUN/impair.log")"
		lab_impair_off
		return 1
	}
}

# lab_impair_mode: netem, switch, or off.
lab_impair_mode() { cat "$LAB_RUN/impair.mode" 2>/dev/null || echo off; }

lab_gone() { ! kill -0 "$1" 2>/dev/null; }

# lab_impair_off: the links as they were: netem's qdiscs deleted, or the
# userspace switch stopped (frames it still held are lost) and the ports
# back in br0.  Safe to repeat.
lab_impair_off() {
	local sw=${LAB_PREFIX}sw h p
	case $(lab_impair_mode) in
	netem)
		for h in "${LAB_HOSTS[@]}"; do
			ip netns exec "$sw" tc qdisc del dev "$h" root 2>/dev/null
		done ;;
	switch)
		p=$(lab_pidof impair.pid)
		if [ -n "$p" ] && lab_own "$p"; then
			kill "$p" 2>/dev/null
			lab_wait 5 lab_gone "$p" || kill -9 "$p" 2>/dev/null
		fi
		for h in "${LAB_HOSTS[@]}"; do
			[ -e "/run/netns/$sw" ] &&
			    ip -n "$sw" link set dev "$h" master br0 2>/dev/null
		done ;;
	esac
	rm -f "$LAB_RUN/impair.mode" "$LAB_RUN/impair.pid" "$LAB_RUN/impair.ready"
	return 0
}

# ---- balancers ----

# lab_render LB: lb/lab.json with this balancer's paths under LAB_RUN/LB,
# rendered by lb/render.py like any balancer's.
lab_render() {
	local lb=$1 d=$LAB_RUN/$1
	mkdir -p "$d"
	python3 - "$LAB_JSON" "$d" "$LAB_HA" > "$d/cluster.json" <<'PY' || return 1
import json, sys
c = json.load(open(sys.argv[1]))
c["haproxy"]["stats_socket"] = sys.argv[2] + "/admin.sock"
c["haproxy"]["state_file"] = sys.argv[2] + "/server-state"
# The single-master lab has no master-eligible hosts: the balancers hold
# the master's VIP, as they do for a cluster without "masters".
if sys.argv[3] != "1":
    c.pop("masters", None)
json.dump(c, sys.stdout, indent=1)
PY
	python3 "$LAB_TOP/lb/render.py" --cluster "$d/cluster.json" \
		--balancer "$lb" --out "$d" --notify "$d/notify.sh" \
		--notify-log "$d/notify.log" \
		--haproxy-args "-D -f $d/haproxy.cfg -p $d/haproxy.pid" || return 1
	# keepalived runs chk_haproxy and notify.sh as keepalived_script
	# (scripts/deps.sh makes it): it must reach notify.sh and write the
	# notify log, and nothing more.
	getent passwd keepalived_script >/dev/null ||
		{ lab_log "no keepalived_script user: run scripts/deps.sh"; return 1; }
	chmod 711 "$LAB_RUN" "$d"
	touch "$d/notify.log"
	chown keepalived_script "$d/notify.log"
	[ -z "${LAB_L4:-}" ] || lab_l4_cfg "$d/haproxy.cfg"
}

# lab_l4_cfg FILE: the rendered configuration as a cloud L4 balancer
# works: round robin, no agent-check (no weights, no drain from the
# workers), a plain TCP connect to the workers' agent-check port as the
# health check.
lab_l4_cfg() {
	sed -i -E 's/^([[:space:]]*)balance leastconn/\1balance roundrobin/;
		s/ agent-check agent-port [0-9]+ agent-inter [0-9a-z]+//;
		/^[[:space:]]*(option tcp-check|tcp-check expect)/d' "$1"
}

lab_haproxy_start() {
	local d=$LAB_RUN/$1
	lab_in "$1" haproxy -D -f "$d/haproxy.cfg" -p "$d/haproxy.pid" \
		>>"$d/haproxy.log" 2>&1
}

# lab_haproxy_reload LB: a seamless reload (-x hands the listening sockets
# over, -sf ends the old process once its sessions are done).
lab_haproxy_reload() {
	local d=$LAB_RUN/$1
	lab_in "$1" haproxy -D -f "$d/haproxy.cfg" -p "$d/haproxy.pid" \
		-x "$d/admin.sock" -sf "$(cat "$d/haproxy.pid")" >>"$d/haproxy.log" 2>&1
}

# keepalived in the foreground of its own session (logs to a file; the
# machine may have no syslog), with pid files of its own: two instances
# on one machine would otherwise share /run/keepalived*.pid.
# lab_keepalived_start HOST [DIR]: DIR holds keepalived.conf (LAB_RUN/HOST).
lab_keepalived_start() {
	local d=${2:-$LAB_RUN/$1}
	rm -f "$d/keepalived.pid" "$d/vrrp.pid" "$d/checkers.pid" "$d/bfd.pid"
	setsid ip netns exec "$LAB_PREFIX$1" keepalived -n -l -G \
		-f "$d/keepalived.conf" -p "$d/keepalived.pid" \
		-r "$d/vrrp.pid" -c "$d/checkers.pid" -b "$d/bfd.pid" \
		>>"$d/keepalived.log" 2>&1 </dev/null &
	disown	# a test may kill it: no "Killed" notice from this shell
	lab_wait 5 test -s "$d/keepalived.pid"
}

lab_pidof() { cat "$LAB_RUN/$1" 2>/dev/null; }
lab_alive() {
	local p
	p=$(lab_pidof "$1") && [ -n "$p" ] && kill -0 "$p" 2>/dev/null
}

# lab_addr_holder ADDR HOST...: the hosts whose eth0 has ADDR ("none", or
# "h1+h2" if several have it).
lab_addr_holder() {
	local addr=$1 h who=none
	shift
	for h in "$@"; do
		if ip -n "$LAB_PREFIX$h" -4 addr show dev eth0 2>/dev/null |
		    grep -q "inet $addr/"; then
			[ "$who" = none ] && who=$h || who="$who+$h"
		fi
	done
	echo "$who"
}

# lab_vip_holder: the balancer whose eth0 has the agents' VIP (or none).
lab_vip_holder() { lab_addr_holder "$LAB_VIP" "${LAB_BALANCERS[@]}"; }
lab_vip_on() { [ "$(lab_vip_holder)" = "$1" ]; }

# lab_server LB BACKEND SERVER: the server's status in LB's HAProxy (UP,
# DOWN, DRAIN, MAINT...; "absent" when HAProxy has no such server).
lab_server() {
	echo "show stat" | socat -t 2 stdio "unix-connect:$LAB_RUN/$1/admin.sock" 2>/dev/null |
	    awk -F, -v b="$2" -v s="$3" '
		$1 == b && $2 == s { print $18; found = 1 }
		END { if (!found) print "absent" }'
}

# lab_server_is LB BACKEND SERVER STATUS: it has STATUS ("UP" also
# matches "UP 1/3", "DRAIN" matches "DRAIN (agent)").
lab_server_is() {
	local st
	st=$(lab_server "$1" "$2" "$3")
	[ "$st" = "$4" ] || [ "${st#"$4" }" != "$st" ]
}

# ---- clusterd ----

# lab_node_conf NAME TYPE: a node's configuration, as scripts/cluster.sh
# writes them, in LAB_RUN/NAME.conf.
lab_node_conf() {
	local name=$1 type=$2
	(umask 077; cat > "$LAB_RUN/$name.conf") <<CONF
# Generated by the lab (tests/lab/lablib.sh); see clusterd.conf(5).
cluster_name lab
node_name $name
node_type $type
key_file "$LAB_RUN/cluster.key"
master_address $LAB_MASTER_ADDR
home "$LAB_RUN/$name"
CONF
	# The balancers send PROXY v2 headers (send-proxy-v2), as
	# lb/render.py's clusterd-proxy_from.conf says: their addresses and
	# the agents' VIP.
	local lb from=
	for lb in "${LAB_BALANCERS[@]}"; do
		from="$from${LAB_ADDR[$lb]},"
	done
	echo "proxy_from $from$LAB_VIP" >> "$LAB_RUN/$name.conf"
	case $type in
	master)
		# Converge within seconds rather than the default 30 s.
		echo "rebalance_interval 10s" >> "$LAB_RUN/$name.conf"
		[ "$LAB_HA" = 1 ] && cat >> "$LAB_RUN/$name.conf" <<CONF
# Master-eligible (docs/ha.md): etcd on the master hosts and the witness,
# the local member first.
ha_etcd $(lab_etcd_endpoints "$name")
ha_lease_ttl 2s
CONF
		;;
	worker)
		# The lab's agents keep alive every 5 s: a connection silent for
		# 15 s is dead (the default 60 s suits 10-20 s keepalives).
		cat >> "$LAB_RUN/$name.conf" <<CONF
gateway_address 0.0.0.0
agent_check_port 1518
connection_overtake_time 15s
CONF
		;;
	esac
	lab_ha_follow >> "$LAB_RUN/$name.conf"
	# A test's own settings for the master and the workers.
	[ -z "${LAB_NODE_EXTRA:-}" ] ||
		printf '%s\n' "$LAB_NODE_EXTRA" >> "$LAB_RUN/$name.conf"
}

# lab_clusterd_start HOST [CONF]: clusterd daemonizes; its pid file is
# HOME/var/run/clusterd.pid.
lab_clusterd_start() {
	lab_in "$1" "$LAB_BIN/clusterd" -c "${2:-$LAB_RUN/$1.conf}"
}

# The balancer role beside each HAProxy, if this clusterd has it.
lab_balancer_conf() {
	local lb=$1 d=$LAB_RUN/$1
	(umask 077; cat > "$d/clusterd.conf") <<CONF
# Generated by the lab (tests/lab/lablib.sh); see docs/lb.md.
cluster_name lab
node_name $lb
node_type balancer
key_file "$LAB_RUN/cluster.key"
master_address $LAB_MASTER_ADDR
home "$d/clusterd"
haproxy_socket $d/admin.sock
haproxy_config $d/haproxy.cfg
haproxy_state_file $d/server-state
# A removed worker's agents move within seconds rather than a minute.
pool_drain_timeout 10s
# Without its keepalived this balancer stops serving (docs/lb.md).
keepalived_pid_file $d/vrrp.pid
CONF
	lab_ha_follow >> "$d/clusterd.conf"
	"$LAB_BIN/clusterd" -t -c "$d/clusterd.conf" > "$d/clusterd.check" 2>&1
}

lab_node_up() { lab_ctl -l 2>/dev/null | grep -q "^$1 "; }
lab_node_gone() {
	local out
	out=$(lab_ctl -l 2>/dev/null) && ! grep -q "^$1 " <<<"$out"
}

# ---- the masters' high availability (LAB_HA=1; docs/ha.md) ----

# The etcd members' hosts: each master host, then the witness.
lab_etcd_hosts() { echo "${LAB_MASTERS[@]}" "$LAB_WITNESS"; }

# lab_etcd_endpoints HOST: every member's client address, HOST's first.
lab_etcd_endpoints() {
	local h list=${LAB_ADDR[$1]}:2379
	for h in $(lab_etcd_hosts); do
		[ "$h" = "$1" ] || list+=",${LAB_ADDR[$h]}:2379"
	done
	echo "$list"
}

# lab_ha_follow: the lines that make a worker or balancer find a new
# active master within a second of its taking over (the defaults back
# off to 30 s).
lab_ha_follow() {
	[ "$LAB_HA" = 1 ] || return 0
	printf '%s\n' "reconnect_min 200ms" "reconnect_max 1s"
}

# lab_etcd_start HOST: HOST's etcd member, with --pre-vote (docs/ha.md);
# its pid in LAB_RUN/etcd-HOST.pid, its data in LAB_RUN/etcd-HOST.
lab_etcd_start() {
	local h=$1 a=${LAB_ADDR[$1]} m cluster=
	for m in $(lab_etcd_hosts); do
		cluster+="${cluster:+,}e-$m=http://${LAB_ADDR[$m]}:2380"
	done
	setsid ip netns exec "$LAB_PREFIX$h" etcd --name "e-$h" \
		--data-dir "$LAB_RUN/etcd-$h" --log-level error \
		--auto-compaction-retention 1h --pre-vote \
		--listen-client-urls "http://$a:2379" \
		--advertise-client-urls "http://$a:2379" \
		--listen-peer-urls "http://$a:2380" \
		--initial-advertise-peer-urls "http://$a:2380" \
		--initial-cluster "$cluster" --initial-cluster-state new \
		>>"$LAB_RUN/etcd-$h.log" 2>&1 </dev/null &
	echo $! > "$LAB_RUN/etcd-$h.pid"
	disown
}

# lab_etcd_healthy HOST: HOST's member answers and the cluster has a leader.
lab_etcd_healthy() {
	lab_in "$1" curl -sf -m 1 "http://${LAB_ADDR[$1]}:2379/health" |
	    grep -q '"health":"true"'
}

# lab_ha_state M: master-eligible M's state (active, standby; "down" when
# its clusterd does not answer).
lab_ha_state() {
	"$LAB_BIN/cluster_control" -H "$LAB_RUN/$1" --ha --json 2>/dev/null |
	    python3 -c 'import json, sys; print(json.load(sys.stdin)["data"]["state"])' 2>/dev/null ||
	    echo down
}
lab_ha_is() { [ "$(lab_ha_state "$1")" = "$2" ]; }

# lab_term: the active master's term (etcd's revision that elected it).
lab_term() {
	"$LAB_BIN/cluster_control" -H "$LAB_RUN/$(lab_master)" --ha --json 2>/dev/null |
	    python3 -c 'import json, sys; print(int(json.load(sys.stdin)["data"]["term"]))'
}

# lab_mvip_holder: the master host whose eth0 has the master's VIP (none,
# or "master1+master2" if both had it).
lab_mvip_holder() { lab_addr_holder "$LAB_MASTER_VIP" "${LAB_MASTERS[@]}"; }
lab_mvip_on() { [ "$(lab_mvip_holder)" = "$1" ]; }

# lab_master_keepalived M: keepalived on master host M, rendered by
# lb/render.py --master into LAB_RUN/M-keepalived, started.
lab_master_keepalived() {
	local m=$1 d=$LAB_RUN/$1-keepalived
	python3 "$LAB_TOP/lb/render.py" --cluster "$LAB_JSON" --master "$m" \
		--out "$d" --cluster-control "$LAB_BIN/cluster_control" \
		--home "$LAB_RUN/$m" || return 1
	lab_keepalived_start "$m" "$d"
}

# lab_masters_start: the master hosts.  Single: clusterd on "master".
# HA: the etcd members, then master1 (waits until active) and the other
# master-eligible nodes (standbys), then keepalived on each master host;
# returns once the master's VIP is on the active master's host.
lab_masters_start() {
	local h m first=${LAB_MASTERS[0]}
	if [ "$LAB_HA" != 1 ]; then
		lab_clusterd_start master || { lab_log "clusterd master did not start"; return 1; }
		return 0
	fi
	command -v etcd >/dev/null ||
	    { lab_log "no etcd (scripts/deps.sh installs etcd-server)"; return 1; }
	lab_log "etcd on $(lab_etcd_hosts | sed 's/ /, /g') (witness: $LAB_WITNESS)"
	for h in $(lab_etcd_hosts); do lab_etcd_start "$h"; done
	lab_wait 30 lab_etcd_healthy "$LAB_WITNESS" ||
	    { lab_log "etcd is not healthy: $(tail -n 2 "$LAB_RUN/etcd-$LAB_WITNESS.log")"; return 1; }
	lab_clusterd_start "$first" || { lab_log "clusterd $first did not start"; return 1; }
	lab_wait 20 lab_ha_is "$first" active || { lab_log "$first is not active"; return 1; }
	for m in "${LAB_MASTERS[@]:1}"; do
		lab_clusterd_start "$m" || { lab_log "clusterd $m did not start"; return 1; }
		lab_wait 20 lab_ha_is "$m" standby || { lab_log "$m is not a standby"; return 1; }
	done
	for m in "${LAB_MASTERS[@]}"; do
		lab_master_keepalived "$m" || { lab_log "keepalived $m did not start"; return 1; }
	done
	lab_wait 15 lab_mvip_on "$first" ||
	    { lab_log "the master's VIP is not on $first (holder: $(lab_mvip_holder))"; return 1; }
	lab_log "$first active (term $(lab_term)), the master's VIP $LAB_MASTER_VIP on it"
}

# ---- agents ----

lab_agents_start() {
	setsid ip netns exec "${LAB_PREFIX}agents" "$LAB_BIN/agentsim" \
		-n "$LAB_AGENTS" -e 1515 -p 1514 -k "$LAB_KEEPALIVE" \
		-R "$LAB_RETRY" -T "$LAB_TIME_RECONNECT" \
		-s "${LAB_STATS_EVERY:-10}" -r "${LAB_EVENT_RATE:-0}" \
		-o "$LAB_RUN/agents.keys" "$LAB_VIP" \
		>>"$LAB_RUN/agents.log" 2>&1 </dev/null &
	echo $! > "$LAB_RUN/agents.pid"
	disown
}

# lab_agents_stat KEY: the agents' counter KEY (acks, reconnects...) in
# their last stats or summary line (agentsim -s), from LOG
# (LAB_RUN/agents.log); 0 before the first line.
lab_agents_stat() {
	grep -E '"(stats|summary)"' "${2:-$LAB_RUN/agents.log}" | tail -n 1 |
	    python3 -c 'import json, sys; s = sys.stdin.read().strip()
print(list(json.loads(s).values())[0][sys.argv[1]] if s else 0)' "$1"
}

# lab_enroll NAME: one enrollment through the VIP from the agents' host, as
# an agent's agent-auth makes it; prints the answer ("OSSEC K:'...'",
# "ERROR: ..." or "FAILED ..." when none came).
lab_enroll() {
	lab_in agents python3 "$LAB_TOP/tests/integration/enroll.py" \
	    --timeout 20 "$LAB_VIP" 1515 "OSSEC A:'$1'"
}

# lab_workers: "NAME ACTIVE" per connected worker, from the master.
lab_workers() { lab_ctl -i --json | python3 "$LAB_STAT" workers; }
lab_total() { lab_ctl -a --json | python3 "$LAB_STAT" total; }
# lab_list: "ID NAME STATUS NODE" per agent in the master's registry.
lab_list() { lab_ctl -a --json | python3 "$LAB_STAT" list; }

# lab_ready SINCE [SKIP]: agents active on a worker (not SKIP) with a
# keepalive at SINCE (Unix seconds) or later.
lab_ready() {
	lab_ctl -a --json | python3 "$LAB_STAT" ready "$1" --skip "${2:-}"
}

# lab_all_ready SINCE [SKIP]: every agent is.
lab_all_ready() { [ "$(lab_ready "$@")" -eq "$LAB_AGENTS" ]; }

# lab_ids NODE: the ids of the agents NODE serves, one a line.
lab_ids() { lab_ctl -a --json | python3 "$LAB_STAT" ids "$1"; }

# lab_active NODE: how many agents the master shows active on NODE.
lab_active() { lab_ctl -a --json | python3 "$LAB_STAT" active "$1"; }
lab_none_active() { [ "$(lab_active "$1")" -eq 0 ]; }
lab_some_active() { [ "$(lab_active "$1")" -gt 0 ]; }

# lab_moved SINCE NODE FILE: every agent of FILE (ids) is back, not on NODE.
lab_moved() {
	[ "$(lab_ctl -a --json | python3 "$LAB_STAT" ready "$1" --skip "$2" --ids "$3")" \
	    -eq "$(wc -w < "$3")" ]
}

# ---- whole lab ----

lab_start() {
	local lb n since
	# Every start is a new cluster: no registry, key or log of a previous one.
	for n in "${LAB_HOSTS[@]}"; do rm -rf "${LAB_RUN:?}/$n" "$LAB_RUN/$n.conf"; done
	rm -f "$LAB_RUN"/agents.* "$LAB_RUN"/impair.* "$LAB_RUN/cluster.key" \
	    "$LAB_RUN/hosts.added"
	rm -rf "$LAB_RUN"/etcd-* "$LAB_RUN"/*-keepalived
	LAB_HOSTS=("${LAB_BALANCERS[@]}" "${LAB_MASTERS[@]}" "${LAB_WORKERS[@]}" agents)
	mkdir -p "$LAB_RUN"
	echo "$LAB_HA" > "$LAB_RUN/lab.ha"
	(umask 077; "$LAB_BIN/clusterd" --genkey > "$LAB_RUN/cluster.key")
	lab_log "network namespaces ${LAB_PREFIX}* on a bridge, 198.18.0.0/24"
	lab_net_up || return 1

	for n in "${LAB_MASTERS[@]}"; do lab_node_conf "$n" master; done
	for n in "${LAB_WORKERS[@]}"; do lab_node_conf "$n" worker; done
	if [ -n "${LAB_BEFORE_NODES:-}" ]; then
		$LAB_BEFORE_NODES || { lab_log "$LAB_BEFORE_NODES failed"; return 1; }
	fi
	lab_masters_start || return 1
	for n in "${LAB_WORKERS[@]}"; do
		lab_clusterd_start "$n" || { lab_log "clusterd $n did not start"; return 1; }
	done
	for n in "${LAB_WORKERS[@]}"; do
		lab_wait 20 lab_node_up "$n" ||
		    { lab_log "$n did not join the master"; return 1; }
	done

	for lb in "${LAB_BALANCERS[@]}"; do
		lab_render "$lb" || return 1
		lab_haproxy_start "$lb" || { lab_log "haproxy $lb did not start"; return 1; }
		lab_keepalived_start "$lb" || { lab_log "keepalived $lb did not start"; return 1; }
		if [ -n "${LAB_L4:-}" ]; then
			: # a cloud balancer has no balancer role beside it
		elif lab_balancer_conf "$lb"; then
			lab_clusterd_start "$lb" "$LAB_RUN/$lb/clusterd.conf" ||
			    { lab_log "clusterd $lb did not start"; return 1; }
		else
			lab_log "skipping clusterd's balancer role on $lb: $(tail -n 1 "$LAB_RUN/$lb/clusterd.check")"
		fi
	done
	lab_wait 15 lab_vip_on lb1 ||
	    { lab_log "lb1 did not take the VIP (holder: $(lab_vip_holder))"; return 1; }

	if [ -n "${LAB_BEFORE_AGENTS:-}" ]; then
		$LAB_BEFORE_AGENTS || { lab_log "$LAB_BEFORE_AGENTS failed"; return 1; }
	fi
	lab_log "$LAB_AGENTS agents enroll and connect through $LAB_VIP"
	since=$(date +%s)
	lab_agents_start
	lab_wait $((30 + LAB_AGENTS / 10)) lab_all_ready "$since" || {
		lab_log "$(lab_ready "$since") of $LAB_AGENTS agents active; $LAB_RUN/agents.log:"
		tail -n 3 "$LAB_RUN/agents.log"
		return 1
	}
}

# lab_pids: every process of the lab (pid files, then each namespace's).
lab_pids() {
	local f h
	for f in "$LAB_RUN"/*.pid "$LAB_RUN"/*/*.pid "$LAB_RUN"/*/var/run/clusterd.pid \
	    "$LAB_RUN"/*/clusterd/var/run/clusterd.pid; do
		[ -s "$f" ] && cat "$f"
	done
	for h in "${LAB_HOSTS[@]}" sw; do
		[ -e "/run/netns/$LAB_PREFIX$h" ] && ip netns pids "$LAB_PREFIX$h"
	done
}

# lab_own PID: the process runs in one of the lab's namespaces (a stale pid
# file must not make us signal an unrelated process).
lab_own() {
	local ns h
	ns=$(ip netns identify "$1" 2>/dev/null) || return 1
	for h in "${LAB_HOSTS[@]}" sw; do
		[ "$ns" = "$LAB_PREFIX$h" ] && return 0
	done
	return 1
}

# Stop everything: the userspace switch if the links are impaired, TERM
# (clusterd saves its state), then KILL what is left, then delete the
# namespaces.  Safe to run again.
lab_stop() {
	local p h left
	lab_impair_off
	for p in $(lab_pids | sort -u); do
		lab_own "$p" && kill "$p" 2>/dev/null
	done
	for _ in $(seq 50); do
		left=$(for h in "${LAB_HOSTS[@]}" sw; do
			[ -e "/run/netns/$LAB_PREFIX$h" ] && ip netns pids "$LAB_PREFIX$h"
		done)
		[ -z "$left" ] && break
		sleep 0.1
	done
	for p in $left; do kill -9 "$p" 2>/dev/null; done
	for h in "${LAB_HOSTS[@]}" sw; do
		[ -e "/run/netns/$LAB_PREFIX$h" ] && ip netns del "$LAB_PREFIX$h"
	done
	rm -f "$LAB_RUN"/*.pid "$LAB_RUN"/*/*.pid "$LAB_RUN/hosts.added"
	return 0
}

# ---- planned restarts, and a balancer that weighs nothing ----

# lab_archived: events archived by every worker so far (each worker's
# archives survive its restarts).
lab_archived() {
	cat "$LAB_RUN"/worker*/logs/archives/archives.json 2>/dev/null |
	    grep -c 'sshd\[' || true
}

# lab_restart_worker W: SIGTERM (a drain), wait for the process to end,
# start it again, and wait until HAProxy has it UP and it serves agents.
# Prints "DRAIN BACK": seconds until it stopped, and from then until it
# served agents again; 1 on a timeout.
lab_restart_worker() {
	local w=$1 pid t0 t1
	pid=$(lab_pidof "$w/var/run/clusterd.pid") || return 1
	t0=$(lab_now)
	kill -TERM "$pid" || return 1
	lab_wait 60 lab_gone "$pid" || return 1
	t1=$(lab_now)
	lab_clusterd_start "$w" || return 1
	lab_wait 20 lab_node_up "$w" || return 1
	lab_wait 20 lab_server_is lb1 workers_agents "$w" UP || return 1
	lab_wait 90 lab_some_active "$w" || return 1
	echo "$(lab_elapsed "$t0" "$t1") $(lab_elapsed "$t1" "$(lab_now)")"
}

# lab_events_end: stop the agents (their summary line), then print "SENT
# ARCHIVED HELD GAP": events sent, archived by the workers, held while an
# agent had no manager (a real agent buffers them), and the longest time
# any agent went without a manager.
lab_events_end() {
	local pid sent
	pid=$(lab_pidof agents.pid)
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
	lab_wait 15 lab_gone "$pid"
	sent=$(lab_agents_stat events)
	lab_wait 10 eval '[ "$(lab_archived)" -ge "$sent" ]'
	echo "$sent $(lab_archived) $(lab_agents_stat events_held) $(lab_agents_stat manager_gap_max)"
}

# lab_within PCT: every connected worker's active agents within PCT % of
# the average, and every agent counted.
lab_within() {
	lab_workers | awk -v n="$LAB_AGENTS" -v pct="$1" '
		{ c[NR] = $2; s += $2 }
		END {
			if (NR == 0 || s != n) exit 1
			avg = s / NR
			for (i = 1; i <= NR; i++) {
				d = c[i] - avg; if (d < 0) d = -d
				if (d * 100 > pct * avg) exit 1
			}
		}'
}

# lab_min_moves NEW: the fewest agents that must move for every worker,
# NEW (which has none) included, to hold at most its share (the average
# rounded up), from the counts now.
lab_min_moves() {
	lab_workers | awk -v n="$LAB_AGENTS" '
		{ c[NR] = $2 }
		END {
			w = NR + 1; share = int((n + w - 1) / w)
			for (i = 1; i <= NR; i++) if (c[i] > share) m += c[i] - share
			print m + 0
		}'
}

# lab_json_with W ADDRESS: the cluster description plus worker W, in
# LAB_RUN/with-W.json (a worker the balancers know before it starts, as a
# cloud target group has it); prints its path.
lab_json_with() {
	python3 - "$LAB_JSON" "$1" "$2" > "$LAB_RUN/with-$1.json" <<'PY' || return 1
import json, sys
c = json.load(open(sys.argv[1]))
c["workers"].append({"name": sys.argv[2], "address": sys.argv[3]})
json.dump(c, sys.stdout, indent=1)
PY
	echo "$LAB_RUN/with-$1.json"
}

# lab_down_everywhere W: both balancers have W DOWN in both pools (a server
# starts UP in HAProxy until its checks fail): LAB_BEFORE_AGENTS for a
# worker that starts later.
lab_down_everywhere() {
	local lb b
	for lb in "${LAB_BALANCERS[@]}"; do
		for b in workers_agents nodes_enrollment; do
			lab_wait 30 lab_server_is "$lb" "$b" "$1" DOWN || return 1
		done
	done
}

# lab_join W: start worker W (in the balancers' configuration, not yet
# running) and wait until every worker is within 10% of the average.
# Prints "SECONDS MOVED LEAST BEFORE -> AFTER": the time from the start to
# then, the agents moved (#!-force_reconnect the agents received, with
# LAB_STATS_EVERY 1), the fewest that had to move.  1 after 120 s.
lab_join() {
	local w=$1 need forced0 before t0 t
	lab_node_conf "$w" worker
	need=$(lab_min_moves)
	forced0=$(lab_agents_stat force_reconnects)
	before=$(lab_workers | tr '\n' ' ')
	t0=$(lab_now)
	lab_clusterd_start "$w" || return 1
	lab_wait 20 lab_server_is lb1 workers_agents "$w" UP || return 1
	lab_wait 120 lab_within 10 || return 1
	t=$(lab_elapsed "$t0" "$(lab_now)")
	sleep 2	# a stats line after the last move
	echo "$t $(( $(lab_agents_stat force_reconnects) - forced0 )) $need $before-> $(lab_workers | tr '\n' ' ')"
}

# lab_stats LABEL FILE [UNIT]: "| LABEL | median | min | max | runs |" of
# FILE's numbers (UNIT after each, " s" by default).
lab_stats() {
	sort -n "$2" | awk -v label="$1" -v u="${3- s}" '
	{ v[NR] = $1 }
	END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		f = u == "" ? "%g" : "%.1f"	# counts whole, times to 0.1 s
		printf "| %s | " f "%s | " f "%s | " f "%s | %d |\n", label, m, u, v[1], u, v[NR], u, NR
	}'
}
