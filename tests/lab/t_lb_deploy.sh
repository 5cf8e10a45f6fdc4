#!/usr/bin/env bash
# docs/lb.md, "Deploying balancers", followed on one balancer host: the
# installed tree (make install DESTDIR=R PREFIX=/usr) is the host's, its
# /etc/haproxy, /etc/keepalived, /var/lib/haproxy, /var/log and /run are
# bound over the real ones in a mount namespace of the test's own, inside a
# network namespace with the eth0 the description names.  The recipe's
# commands run there as written (prefixed with $R only where the tree is not
# bound); systemd is not there, so the daemons start in the units' order
# (HAProxy, keepalived, the balancer role) with the units' user and
# capabilities (setpriv: an unprivileged user, only CAP_DAC_OVERRIDE for the
# balancer, only CAP_NET_BIND_SERVICE for the master and workers, no new
# privileges).  Checked: haproxy -c and keepalived -t accept the installed
# files without a warning, the VIP comes up, the balancer reaches HAProxy's
# root-owned socket and rewrites root's haproxy.cfg and the server-state
# file with that one capability (and cannot without it), and agents reach
# the workers through the VIP.
. "$(dirname "$0")/testlib.sh"

TOP=$LAB_TOP
R=$LAB_RUN/root
NS=${LAB_PREFIX}deploy
NET=198.18.77
VIP=$NET.100
HOLDER=
DPIDS=()
# Everything this test starts runs in its network namespace: stop what it
# recorded, then whatever else is left there (HAProxy's and keepalived's
# children), then the namespace.
stop_all() {
	local p left
	for p in "${DPIDS[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.5
	left=$(ip netns pids "$NS" 2>/dev/null)
	[ -n "$left" ] && kill $left 2>/dev/null && sleep 0.5
	left=$(ip netns pids "$NS" 2>/dev/null)
	[ -n "$left" ] && kill -9 $left 2>/dev/null
	[ -n "$HOLDER" ] && kill "$HOLDER" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
}
lab_on_cleanup stop_all

# lbhost CMD...: run CMD on the balancer host (its network and mount namespaces).
lbhost() { nsenter -t "$HOLDER" -n -m -- "$@"; }
# as_unit CAP CMD...: as the units run clusterd: an unprivileged user
# (nobody stands for clusterd here), CAP only, no new privileges.
as_unit() {
	local cap=$1
	shift
	lbhost setpriv --reuid=nobody --regid=nogroup --clear-groups \
		--inh-caps=-all${cap:+,+$cap} --ambient-caps=-all${cap:+,+$cap} \
		--bounding-set=-all${cap:+,+$cap} --no-new-privs -- "$@"
}

make -s -C "$TOP" install DESTDIR="$R" PREFIX=/usr > "$LAB_RUN/install.log" 2>&1 ||
	fail "make install: $(tail -n 3 "$LAB_RUN/install.log")"
mkdir -p "$R/etc/haproxy" "$R/etc/keepalived" "$R/var/lib/haproxy" "$R/var/log" "$R/run"
# The units' user (nobody here) reaches the run directory and, as its
# group, /etc/clusterd (the package makes it root:clusterd 0750).
chmod 0755 "$LAB_RUN"
chgrp nogroup "$R/etc/clusterd"

ip netns add "$NS" || fail "ip netns add"
ip netns exec "$NS" unshare -m --propagation private sleep infinity &
HOLDER=$!
own_ns() { [ "$(readlink /proc/$HOLDER/ns/mnt)" != "$(readlink /proc/$$/ns/mnt)" ]; }
lab_wait 5 own_ns || fail "no mount namespace"
lbhost ip link set lo up
lbhost ip link add eth0 type veth peer name eth1
lbhost ip link set eth1 up
lbhost ip link set eth0 up
for a in 2 10 11 12; do lbhost ip addr add "$NET.$a/24" dev eth0; done
for d in /etc/haproxy /etc/keepalived /var/lib/haproxy /var/log; do
	lbhost mount --bind "$R$d" "$d" || fail "bind $d"
done
lbhost mount -t tmpfs -o mode=0755 tmpfs /run || fail "tmpfs /run"
# Debian's haproxy package makes /run/haproxy (tmpfiles.d).
lbhost install -d -o root -g root -m 2775 /run/haproxy

# The cluster: a master and two workers on the host's addresses, run as
# clusterd.service runs them.  worker2 is not in the description: the
# balancer role must add it.
KEYSRC=$LAB_RUN/cluster.key
"$LAB_BIN/clusterd" --genkey > "$KEYSRC"
node() {	# node NAME TYPE ADDRESS
	local d=$LAB_RUN/$1
	mkdir -p "$d"
	install -m 0600 "$KEYSRC" "$d/cluster.key"
	{
		echo "cluster_name deploy"; echo "node_name $1"; echo "node_type $2"
		echo "key_file $d/cluster.key"; echo "home $d"
		echo "enrollment_address $3"; echo "proxy_from $NET.0/24"
		if [ "$2" = master ]; then
			echo "bind_address $3"
		else
			echo "master_address $NET.10"; echo "gateway_address $3"
			echo "agent_check_port 1518"
		fi
	} > "$d/clusterd.conf"
	chown -R nobody:nogroup "$d"
	as_unit net_bind_service "$LAB_BIN/clusterd" -f -c "$d/clusterd.conf" \
		> "$d/stderr" 2>&1 &
	DPIDS+=("$!")
}
node master master $NET.10
node worker1 worker $NET.11
node worker2 worker $NET.12
ctl() { "$LAB_BIN/cluster_control" -H "$LAB_RUN/master" "$@"; }
lab_wait 20 sh -c "'$LAB_BIN/cluster_control' -H '$LAB_RUN/master' -l | grep -q '^worker2 '" ||
	fail "the workers did not join: $(cat "$LAB_RUN"/*/stderr | tail -n 5)"
pass "master and workers run unprivileged with CAP_NET_BIND_SERVICE only (ports 1514-1516)"
# ... and that capability is needed.
if as_unit "" python3 -c "import socket; socket.socket().bind(('$NET.2', 1514))" 2>/dev/null; then
	fail "an unprivileged process bound port 1514 without CAP_NET_BIND_SERVICE"
fi

# The recipe.  The description, rendered by the packaged renderer.
mkdir -p "$R/etc/clusterd/lb"
cat > "$R/etc/clusterd/lb/cluster.json" <<JSON
{ "cluster": "deploy", "interface": "eth0",
  "vip": { "agents": "$VIP/24", "agents_router_id": 77,
           "master": "$NET.101/24", "master_router_id": 78 },
  "unicast": false,
  "balancers": [ { "name": "lb1", "address": "$NET.2", "priority": 150 },
                 { "name": "lb2", "address": "$NET.3", "priority": 100 } ],
  "master": { "name": "master", "address": "$NET.10" },
  "workers": [ { "name": "worker1", "address": "$NET.11" } ],
  "ports": { "agents": 1514, "enrollment": 1515, "agent_check": 1518 },
  "haproxy": { "stats_socket": "/run/haproxy/admin.sock", "stats_page": "127.0.0.1:8404",
               "state_file": "/var/lib/haproxy/server-state", "maxconn": 2000 } }
JSON
lbhost "$R/usr/share/clusterd/lb/render.py" --cluster "$R/etc/clusterd/lb/cluster.json" \
	--balancer lb1 --out "$R/etc/clusterd/lb/lb1" || fail "render"
O=$R/etc/clusterd/lb/lb1
lbhost install -m 0644 "$O/haproxy.cfg" /etc/haproxy/haproxy.cfg
lbhost install -m 0644 "$O/keepalived.conf" /etc/keepalived/keepalived.conf
lbhost install -m 0755 "$O/notify.sh" /etc/keepalived/notify.sh
install -D -m 0644 "$R/usr/share/clusterd/lb/deploy/60-clusterd-balancer.conf" \
	"$R/etc/sysctl.d/60-clusterd-balancer.conf"
install -D -m 0644 "$R/usr/share/clusterd/lb/deploy/keepalived-after-haproxy.conf" \
	"$R/etc/systemd/system/keepalived.service.d/clusterd.conf"
lbhost sh -c '[ -s /var/lib/haproxy/server-state ] || echo 1 > /var/lib/haproxy/server-state'
lbhost sysctl -q -p "$R/etc/sysctl.d/60-clusterd-balancer.conf" || fail "sysctl"
[ "$(lbhost sysctl -n net.ipv4.ip_nonlocal_bind)" = 1 ] || fail "ip_nonlocal_bind"
out=$(lbhost haproxy -c -f /etc/haproxy/haproxy.cfg 2>&1) || fail "haproxy -c: $out"
echo "$out" | grep -q WARNING && fail "haproxy -c warns: $(echo "$out" | grep WARNING)"
# keepalived 2.2.7's -t, with a script_user other than root, ends by sending
# SIGTERM to its own process group (exit 143, no output; fixed in 2.2.8):
# the syntax is checked on a copy that says root, as docs/lb.md's recipe
# does; keepalived itself then runs the real file.
grep -q '^    script_user keepalived_script' "$R/etc/keepalived/keepalived.conf" ||
	fail "keepalived.conf runs its scripts as another user than keepalived_script"
sed 's/^    script_user .*/    script_user root/' "$R/etc/keepalived/keepalived.conf" \
	> "$R/etc/keepalived/keepalived-check.conf"
out=$(lbhost keepalived -t -f /etc/keepalived/keepalived-check.conf 2>&1) || fail "keepalived -t: $out"
rm -f "$R/etc/keepalived/keepalived-check.conf"
pass "installed haproxy.cfg (haproxy -c, no warning: the state file exists) and keepalived.conf (keepalived -t)"

# The balancer's configuration, from the packaged example.
BC=$R/etc/clusterd/clusterd.conf
install -m 0600 "$KEYSRC" "$R/etc/clusterd/cluster.key"
sed -e "s/^cluster_name .*/cluster_name deploy/" \
    -e "s|^key_file .*|key_file $R/etc/clusterd/cluster.key|" \
    -e "s/^master_address .*/master_address $NET.10/" \
    -e "s|^#home .*|home $R/var/lib/clusterd|" \
    -e "s|^#haproxy_socket |haproxy_socket |" \
    "$R/usr/share/doc/clusterd/examples/balancer.conf" > "$BC"
chown nobody:nogroup "$R/etc/clusterd/cluster.key" "$R/var/lib/clusterd"
ln -s "$R/var/lib/clusterd" "$LAB_RUN/lb1"	# its log is shown on failure
out=$(as_unit "" "$R/usr/sbin/clusterd" -t -c "$BC" 2>&1) || fail "clusterd -t: $out"

# The units' order: HAProxy (Debian's command line), keepalived, the role.
lbhost haproxy -Ws -f /etc/haproxy/haproxy.cfg -p /run/haproxy.pid -S /run/haproxy-master.sock \
	> "$LAB_RUN/haproxy.log" 2>&1 &
DPIDS+=("$!")
lab_wait 10 lbhost test -S /run/haproxy/admin.sock || fail "HAProxy: $(tail -n 3 "$LAB_RUN/haproxy.log")"
lbhost keepalived -n -l -D -f /etc/keepalived/keepalived.conf > "$LAB_RUN/keepalived.log" 2>&1 &
DPIDS+=("$!")
vip_up() { lbhost ip -4 addr show dev eth0 | grep -q "inet $VIP/"; }
lab_wait 15 vip_up || fail "keepalived did not take the VIP"
pass "keepalived (after HAProxy, whose process chk_haproxy tracks) holds the VIP $VIP"

# The role's capability is needed: HAProxy's socket is root's, mode 0600.
if as_unit "" python3 -c "import socket; socket.socket(socket.AF_UNIX).connect('/run/haproxy/admin.sock')" 2>/dev/null; then
	fail "an unprivileged process reached HAProxy's admin socket"
fi
as_unit dac_override python3 -c "import socket; socket.socket(socket.AF_UNIX).connect('/run/haproxy/admin.sock')" ||
	fail "CAP_DAC_OVERRIDE does not reach HAProxy's admin socket"
as_unit dac_override "$R/usr/sbin/clusterd" -f -c "$BC" > "$LAB_RUN/balancer.stderr" 2>&1 &
DPIDS+=("$!")
added() { grep -q "^    server worker2 $NET.12:1514 " "$R/etc/haproxy/haproxy.cfg"; }
lab_wait 30 added || fail "the balancer did not add worker2 to haproxy.cfg: $(tail -n 5 "$R/var/lib/clusterd/logs/cluster.log" 2>/dev/null)"
ctl -l | grep -q "^lb1 .*balancer" || fail "lb1 not listed: $(ctl -l)"
[ "$(stat -c %U "$R/etc/haproxy/haproxy.cfg")" = nobody ] || fail "haproxy.cfg not rewritten by the role"
saved() { grep -q " worker2 " "$R/var/lib/haproxy/server-state"; }
lab_wait 15 saved || fail "server-state not saved"
out=$(lbhost haproxy -c -f /etc/haproxy/haproxy.cfg 2>&1) || fail "haproxy -c after the rewrite: $out"
# (A server's state read from the file, "DOWN ... from server-state", is
# news, not a fault of the file.)
w=$(echo "$out" | grep WARNING | grep -v "changed from server-state")
[ -z "$w" ] || fail "haproxy -c warns after the rewrite: $w"
sed -n '/clusterd pool begin/,/clusterd pool end/p' "$R/etc/haproxy/haproxy.cfg" | grep -c "server " |
	grep -qx 5 || fail "pool blocks: $(grep -n 'server ' "$R/etc/haproxy/haproxy.cfg")"
pass "the balancer role (CAP_DAC_OVERRIDE only) added worker2 through HAProxy's socket, rewrote /etc/haproxy/haproxy.cfg and saved the server state; haproxy -c still clean"

# Agents through the VIP reach both workers.
lbhost "$R/usr/libexec/clusterd/agentsim" -n 20 -P d- -e 1515 -p 1514 -k 1 -R 1 "$VIP" \
	> "$LAB_RUN/agents.log" 2>&1 &
DPIDS+=("$!")
active() {
	ctl -a --json | python3 -c '
import json, sys
a = [x for x in json.load(sys.stdin)["data"] if x["status"] == "active"]
nodes = {x["node_name"] for x in a}
sys.exit(0 if len(a) == 20 and nodes == {"worker1", "worker2"} else 1)'
}
lab_wait 40 active || fail "agents through the VIP: $(ctl -a | tail -n 5; lbhost ss -ltn; tail -n 5 "$LAB_RUN/haproxy.log")"
grep -q "keepalived is gone" "$R/var/lib/clusterd/logs/cluster.log" &&
	fail "the balancer does not find keepalived: $(grep -m1 'keepalived is gone' "$R/var/lib/clusterd/logs/cluster.log")"
pass "20 agents enroll and connect through the VIP, served by worker1 and worker2"
finish
