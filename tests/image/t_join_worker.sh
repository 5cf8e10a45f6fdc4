#!/usr/bin/env bash
# Two VMs from the image on a private qemu socket network (one VM listens on
# a loopback TCP port, the other connects: an Ethernet between the two and
# nothing else): a master and a worker seeded with the master's address and
# the same cluster key.  The worker joins: the master's `cluster_control -l`
# lists it, and the worker's own answers through the master.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
RUN=$(mktemp -d /tmp/image-test.XXXXXX)
. "$TOP/tests/image/lib.sh"
trap 'cleanup_vms; [ -n "${KEEP:-}" ] || rm -rf "$RUN"' EXIT
T0=$(date +%s)
make_ssh_key
key=$(openssl rand -hex 16)
net=$(free_port)
cat > "$RUN/master.seed" <<SEED
role=master
cluster_name=lab
node_name=master1
cluster_key=$key
interface=eth1
address=198.18.0.2/24
ssh_authorized_key=$(cat "$RUN/id.pub")
SEED
cat > "$RUN/worker.seed" <<SEED
role=worker
cluster_name=lab
node_name=worker1
cluster_key=$key
master_address=198.18.0.2
interface=eth1
address=198.18.0.3/24
ssh_authorized_key=$(cat "$RUN/id.pub")
SEED
vm_start master "$RUN/master.seed" \
	-netdev "socket,id=s0,listen=127.0.0.1:$net" -device virtio-net-pci,netdev=s0,mac=52:54:00:12:00:02
sleep 2
vm_start worker "$RUN/worker.seed" \
	-netdev "socket,id=s0,connect=127.0.0.1:$net" -device virtio-net-pci,netdev=s0,mac=52:54:00:12:00:03
for vm in master worker; do
	wait_console $vm 'clusterd-appliance: READY' "$BOOT_TIMEOUT" ||
		{ tail -n 30 "$RUN/$vm/console.log"; fail "$vm: no READY banner within ${BOOT_TIMEOUT}s"; }
	echo "$vm: banner after $(elapsed)s"
done
joined=
end=$(( $(date +%s) + 120 ))
while [ "$(date +%s)" -lt "$end" ]; do
	if vm_ssh master cluster_control -l | grep -q -E '^worker1 +worker'; then joined=1; break; fi
	sleep 5
done
vm_ssh master cluster_control -l || true
[ -n "$joined" ] || fail "worker1 did not join master1"
vm_ssh worker cluster_control -l | grep -q -E '^master1 +master' ||
	fail "the worker's cluster_control -l does not answer through the master"
grep -a -q 'node:      worker1 (worker)' "$RUN/worker/console.log" || fail "worker banner lacks its role"
echo "t_join_worker: worker1 joined after $(elapsed)s"
