#!/usr/bin/env bash
# A master and a balancer on a private qemu socket network.  The balancer's
# seed names a cluster description (lb/render.py's JSON) on its seed disk:
# first boot renders HAProxy's and keepalived's files for lb1, HAProxy,
# keepalived and clusterd's balancer role run, lb1 holds the agents' VIP,
# and the master lists lb1 as a balancer.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
RUN=$(mktemp -d /tmp/image-test.XXXXXX)
. "$TOP/tests/image/lib.sh"
trap 'cleanup_vms; [ -n "${KEEP:-}" ] || rm -rf "$RUN"' EXIT
T0=$(date +%s)
make_ssh_key
key=$(openssl rand -hex 16)
net=$(free_port)
cat > "$RUN/cluster.json" <<JSON
{
  "cluster": "lab",
  "interface": "eth1",
  "vip": { "agents": "198.18.0.100/24", "agents_router_id": 51,
           "master": "198.18.0.101/24", "master_router_id": 52 },
  "unicast": true,
  "balancers": [
    { "name": "lb1", "address": "198.18.0.11", "priority": 150 },
    { "name": "lb2", "address": "198.18.0.12", "priority": 100 }
  ],
  "master": { "name": "master1", "address": "198.18.0.2" },
  "workers": [],
  "ports": { "agents": 1514, "enrollment": 1515, "agent_check": 1518 },
  "haproxy": { "stats_socket": "/run/haproxy/admin.sock", "stats_page": "127.0.0.1:8404",
               "state_file": "/var/lib/haproxy/server-state", "maxconn": 1000 }
}
JSON
cat > "$RUN/master.seed" <<SEED
role=master
cluster_name=lab
node_name=master1
cluster_key=$key
interface=eth1
address=198.18.0.2/24
proxy_from=198.18.0.11,198.18.0.12
ssh_authorized_key=$(cat "$RUN/id.pub")
SEED
cat > "$RUN/lb1.seed" <<SEED
role=balancer
cluster_name=lab
node_name=lb1
cluster_key=$key
master_address=198.18.0.2
interface=eth1
address=198.18.0.11/24
lb_description=cluster.json
ssh_authorized_key=$(cat "$RUN/id.pub")
SEED
vm_start master "$RUN/master.seed" \
	-netdev "socket,id=s0,listen=127.0.0.1:$net" -device virtio-net-pci,netdev=s0,mac=52:54:00:12:00:02
sleep 2
SEED_JSON=$RUN/cluster.json vm_start lb1 "$RUN/lb1.seed" \
	-netdev "socket,id=s0,connect=127.0.0.1:$net" -device virtio-net-pci,netdev=s0,mac=52:54:00:12:00:11
for vm in master lb1; do
	wait_console $vm 'clusterd-appliance: READY' "$BOOT_TIMEOUT" ||
		{ tail -n 30 "$RUN/$vm/console.log"; fail "$vm: no READY banner within ${BOOT_TIMEOUT}s"; }
	echo "$vm: banner after $(elapsed)s"
done
grep -a -q 'VIPs:      agents 198.18.0.100/24' "$RUN/lb1/console.log" || fail "lb1's banner lacks the VIPs"
out=$(vm_ssh lb1 'systemctl is-active clusterd-balancer haproxy keepalived; ip -4 -o addr show eth1') ||
	fail "ssh to lb1 failed"
echo "$out"
[ "$(echo "$out" | grep -c -x active)" -eq 3 ] || fail "lb1: a service is not active"
end=$(( $(date +%s) + 60 ))
until vm_ssh lb1 ip -4 -o addr show eth1 | grep -q '198.18.0.100/24'; do
	[ "$(date +%s)" -lt "$end" ] || fail "lb1 does not hold the agents' VIP"
	sleep 3
done
# The package's balancer unit as shipped: user clusterd, no drop-in, the
# one capability; HAProxy as haproxy; clusterd.service not running.
out=$(vm_ssh lb1 'pid=$(systemctl show -p MainPID --value clusterd-balancer)
	echo "role user $(stat -c %U /proc/$pid)"
	echo "role caps $(grep CapEff /proc/$pid/status | cut -f2)"
	echo "dropins [$(systemctl show -p DropInPaths --value clusterd-balancer)]"
	echo "haproxy users $(ps -o user= -C haproxy | sort -u | paste -sd,)"
	echo "clusterd.service $(systemctl is-active clusterd)"') || fail "ssh to lb1 failed"
echo "$out"
echo "$out" | grep -q -x 'role user clusterd' || fail "lb1: the balancer role does not run as clusterd"
# CAP_DAC_OVERRIDE alone: bit 1.
echo "$out" | grep -q -x 'role caps 0000000000000002' || fail "lb1: the role's capabilities are not CAP_DAC_OVERRIDE alone"
echo "$out" | grep -q -x 'dropins \[\]' || fail "lb1: clusterd-balancer.service has a drop-in"
echo "$out" | grep -q 'haproxy users .*haproxy' || fail "lb1: HAProxy does not run as haproxy"
echo "$out" | grep -q -x 'clusterd.service inactive' || fail "lb1: clusterd.service runs beside the balancer role"
# Through the admin socket (mode 660, root:keepalived_script) the role saves
# HAProxy's server state: more than the empty "1" first boot wrote.
end=$(( $(date +%s) + 90 ))
until vm_ssh lb1 "grep -q '^# be_id' /var/lib/haproxy/server-state"; do
	[ "$(date +%s)" -lt "$end" ] || fail "lb1: the role never saved HAProxy's server state"
	sleep 3
done
# keepalived's notify.sh runs as keepalived_script and logged the MASTER state.
vm_ssh lb1 grep -q 'MASTER' /var/log/keepalived-notify.log ||
	fail "lb1: notify.sh (as keepalived_script) logged no MASTER transition"
vm_ssh master cluster_control -l | tee "$RUN/list"
grep -q -E '^lb1 +balancer' "$RUN/list" || fail "the master does not list lb1"
echo "t_balancer: lb1 holds the VIP and joined after $(elapsed)s"
