# The bundled balancer configuration renders from the example cluster
# description and is accepted by Debian 12's HAProxy (haproxy -c) and
# keepalived (keepalived -t, run in a network namespace of the test's own
# that has the eth0 the description names).
. "$(dirname "$0")/lib.sh"

NS=clusterd-lbt-$$
cleanup_ns() { ip netns del "$NS" 2>/dev/null; }
trap 'cleanup_ns; cleanup' EXIT

for lb in lb1 lb2; do
	python3 "$TOP/lb/render.py" --cluster "$TOP/lb/cluster.example.json" \
		--balancer "$lb" --out "$T/$lb" --notify "$T/$lb/notify.sh" \
		|| fail "render $lb"
	haproxy -c -f "$T/$lb/haproxy.cfg" > "$T/$lb.haproxy" 2>&1 \
		|| fail "haproxy -c $lb: $(cat "$T/$lb.haproxy")"
	grep -q "Configuration file is valid" "$T/$lb.haproxy" || fail "haproxy output"
done
# Every server gets a PROXY v2 header; the nodes list the balancers.
grep -qE '^    server worker3 198\.18\.0\.5:1514 send-proxy-v2 check ' "$T/lb1/haproxy.cfg" || fail "worker servers"
grep -qE '^    server master 198\.18\.0\.2:1515 send-proxy-v2 check ' "$T/lb1/haproxy.cfg" || fail "enrollment servers"
grep -qx 'proxy_from 198.18.0.11,198.18.0.12,198.18.0.100' "$T/lb1/clusterd-proxy_from.conf" ||
	fail "proxy_from: $(cat "$T/lb1/clusterd-proxy_from.conf")"
printf 'node_name w\nnode_type worker\nkey %s\nmaster_address 10.0.0.1\n' "$KEY" |
	cat - "$T/lb1/clusterd-proxy_from.conf" > "$T/w.conf"
"$CLUSTERD" -t -c "$T/w.conf" > "$T/w.check" 2>&1 || fail "proxy_from line: $(cat "$T/w.check")"
grep -q "server master 198.18.0.2:1514" "$T/lb1/haproxy.cfg" && fail "the master is in the agents' pool"
grep -q "unicast_peer" "$T/lb1/keepalived.conf" || fail "unicast peers"
grep -A2 unicast_peer "$T/lb1/keepalived.conf" | grep -q 198.18.0.12 || fail "lb1's peer is lb2"
# keepalived follows this balancer's HAProxy (by its arguments), not any.
grep -qF 'script "/usr/bin/pgrep -f -- \"haproxy -Ws -f /etc/haproxy/haproxy.cfg -p /run/haproxy.pid\""' \
	"$T/lb1/keepalived.conf" || fail "chk_haproxy: $(grep script "$T/lb1/keepalived.conf")"
# A server marked down loses its sessions: its agents reconnect elsewhere.
grep -qE '^    server worker3 .* on-marked-down shutdown-sessions ' "$T/lb1/haproxy.cfg" \
	|| fail "on-marked-down: $(grep 'server worker3' "$T/lb1/haproxy.cfg")"
# An enrollment server's sessions are not: a node that stops taking
# enrollments answers those it has (a master handing its role over).
grep -A20 '^backend nodes_enrollment' "$T/lb1/haproxy.cfg" | grep '^    server ' | grep -q shutdown-sessions \
	&& fail "enrollment servers shut their sessions when down"
pass "HAProxy 2.6 accepts both balancers' configuration"

ip netns add "$NS" || fail "ip netns add (needs root)"
ip netns exec "$NS" ip link add eth0 type veth peer name eth1
ip netns exec "$NS" ip link set eth0 up
# keepalived 2.2's -t ends by a SIGTERM to itself, with no output, when
# script_user is not root: the syntax is checked on a copy run as root;
# the lab runs the scripts as keepalived_script for real.
for lb in lb1 lb2; do
	grep -qx '    script_user keepalived_script keepalived_script' \
		"$T/$lb/keepalived.conf" || fail "script_user $lb"
	sed 's/^    script_user .*/    script_user root/' "$T/$lb/keepalived.conf" \
		> "$T/$lb/keepalived-check.conf"
	ip netns exec "$NS" keepalived -t -f "$T/$lb/keepalived-check.conf" \
		> "$T/$lb.keepalived" 2>&1 || fail "keepalived -t $lb: $(cat "$T/$lb.keepalived")"
done
pass "keepalived 2.2 accepts both balancers' configuration"

# HAProxy drops to its own user in a chroot; its admin socket is for the
# script user's group; the stats page asks for a password kept beside the
# configuration, both readable by root only; a new render keeps it.
for l in "    user haproxy" "    group haproxy" "    chroot /var/lib/haproxy" \
	"    stats auth admin:$(cat "$T/lb1/stats-password")" "    stats realm clusterd"; do
	grep -qxF -- "$l" "$T/lb1/haproxy.cfg" || fail "haproxy.cfg lacks: $l"
done
grep -qE '^    stats socket /run/haproxy/admin.sock mode 660 group keepalived_script level admin ' \
	"$T/lb1/haproxy.cfg" || fail "stats socket: $(grep 'stats socket' "$T/lb1/haproxy.cfg")"
[ "$(stat -c %a "$T/lb1/haproxy.cfg") $(stat -c %a "$T/lb1/stats-password")" = "600 600" ] ||
	fail "modes: $(stat -c '%n %a' "$T"/lb1/*)"
[ "$(cat "$T/lb1/stats-password")" != "$(cat "$T/lb2/stats-password")" ] ||
	fail "both balancers got the same password"
pw=$(cat "$T/lb1/stats-password")
python3 "$TOP/lb/render.py" --cluster "$TOP/lb/cluster.example.json" \
	--balancer lb1 --out "$T/lb1" --notify "$T/lb1/notify.sh" || fail "render again"
[ "$(cat "$T/lb1/stats-password")" = "$pw" ] || fail "a new render changed the password"
pass "HAProxy as haproxy in a chroot, stats page with a password, admin socket for the script user"

python3 "$TOP/lb/render.py" --cluster "$TOP/lb/cluster.example.json" \
	--balancer nosuch --out "$T/x" 2>"$T/err" && fail "unknown balancer rendered"
grep -q "no balancer 'nosuch'" "$T/err" || fail "error message: $(cat "$T/err")"
pass "an unknown balancer is refused clearly"

# A crafted description: values that would add HAProxy lines or run
# commands from notify.sh (keepalived runs it as root) are refused, and
# nothing is written.
crafted() {	# crafted PYTHON-EXPR-ON-c EXPECTED-ERROR
	python3 - "$TOP/lb/cluster.example.json" "$T/crafted.json" "$1" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
exec(sys.argv[3])
json.dump(c, open(sys.argv[2], "w"))
PY
	rm -rf "$T/crafted"
	if python3 "$TOP/lb/render.py" --cluster "$T/crafted.json" \
	    --balancer lb1 --out "$T/crafted" 2>"$T/err"; then
		fail "rendered: $1"
	fi
	grep -qF "$2" "$T/err" || fail "error for $1: $(cat "$T/err")"
	[ ! -e "$T/crafted" ] || fail "files written for $1"
}
crafted 'c["haproxy"]["stats_socket"] = "/run/x.sock mode 600\n    stats socket /tmp/y mode 666 level admin"' \
	"haproxy.stats_socket"
crafted 'c["workers"][0]["name"] = "w1$(touch /tmp/pwned)"' "workers[0].name"
crafted 'c["workers"][1]["address"] = "10.0.0.1 check\n    server evil 6.6.6.6"' \
	"workers[1].address"
crafted 'c["balancers"][0]["name"] = "lb1; reboot"' "balancers[0].name"
crafted 'c["interface"] = "eth0\n}"' "interface"
crafted 'c["ports"]["agents"] = "1514 ssl"' "ports.agents"
crafted 'c["vip"]["agents"] = "198.18.0.100/24 dev eth0\n}"' "vip.agents"
crafted 'c["haproxy"]["stats_page"] = "0.0.0.0:8404 user x"' "haproxy.stats_page"
crafted 'c["haproxy"]["user"] = "root\n    stats socket /tmp/z mode 666 level admin"' "haproxy.user"
crafted 'c["haproxy"]["chroot"] = "/var/lib/haproxy\n    user root"' "haproxy.chroot"
crafted 'c["keepalived"] = {"script_user": "root }\nvrrp_script x { script /tmp/x"}' \
	"keepalived.script_user"
[ ! -e /tmp/pwned ] || fail "a command ran"
crafted 'c["masters"] = [{"name": "m1", "address": "198.18.0.2; reboot", "priority": 100}]' \
	"masters[0].address"
[ ! -e /tmp/pwned ] || fail "a command ran"
pass "crafted descriptions (newlines, shell, extra words) are refused, nothing written"

# Master-eligible hosts (docs/ha.md): they hold the master's VIP, which
# follows clusterd's --ha-check; the balancers no longer hold it.
python3 - "$TOP/lb/cluster.example.json" "$T/ha.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["masters"] = [{"name": "master1", "address": "198.18.0.2", "priority": 100},
                {"name": "master2", "address": "198.18.0.3", "priority": 100}]
json.dump(c, open(sys.argv[2], "w"))
PY
for m in master1 master2; do
	python3 "$TOP/lb/render.py" --cluster "$T/ha.json" --master "$m" \
		--out "$T/$m" --cluster-control "$CTL" || fail "render $m"
	grep -qF "script \"$CTL --ha-check -H /var/lib/clusterd\"" \
		"$T/$m/keepalived.conf" || fail "$m: no --ha-check script"
	ip netns exec "$NS" keepalived -t -f "$T/$m/keepalived.conf" \
		> "$T/$m.keepalived" 2>&1 || fail "keepalived -t $m: $(cat "$T/$m.keepalived")"
done
grep -A2 unicast_peer "$T/master1/keepalived.conf" | grep -q 198.18.0.3 || fail "master1's peer is master2"
python3 "$TOP/lb/render.py" --cluster "$T/ha.json" --balancer lb1 --out "$T/halb1" || fail "render lb1 with masters"
grep -q "vrrp_instance master_vip" "$T/halb1/keepalived.conf" && fail "a balancer holds the master's VIP beside master hosts"
grep -q "vrrp_instance master_vip" "$T/lb1/keepalived.conf" || fail "without masters, the balancers lost the master's VIP"
python3 "$TOP/lb/render.py" --cluster "$T/ha.json" --master nosuch --out "$T/x" 2>"$T/err" && fail "unknown master rendered"
grep -q "no master 'nosuch'" "$T/err" || fail "error message: $(cat "$T/err")"
pass "master hosts' keepalived: the VIP follows --ha-check; keepalived accepts it"
finish
