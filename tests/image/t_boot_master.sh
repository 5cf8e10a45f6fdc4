#!/usr/bin/env bash
# One VM from the image with a master's seed: first boot configures it, the
# banner shows the role and `cluster_control -l`, clusterd is active, the
# secrets are this VM's own (host keys, cluster key, enrollment cert) and
# the machine-id was made at boot.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
RUN=$(mktemp -d /tmp/image-test.XXXXXX)
. "$TOP/tests/image/lib.sh"
trap 'cleanup_vms; [ -n "${KEEP:-}" ] || rm -rf "$RUN"' EXIT
T0=$(date +%s)
make_ssh_key
cat > "$RUN/master.seed" <<SEED
# master of cluster lab
role=master
cluster_name=lab
node_name=master1
ssh_authorized_key=$(cat "$RUN/id.pub")
SEED
vm_start master "$RUN/master.seed"
wait_console master 'clusterd-appliance: READY' "$BOOT_TIMEOUT" ||
	{ tail -n 30 "$RUN/master/console.log"; fail "no READY banner within ${BOOT_TIMEOUT}s"; }
echo "banner after $(elapsed)s"
c=$RUN/master/console.log
grep -a -q 'node:      master1 (master)' "$c" || fail "banner lacks the role"
grep -a -q -E 'master1 +master +[0-9]' "$c" || fail "banner lacks cluster_control -l's master line"
grep -a -q 'logs:      journalctl -u clusterd' "$c" || fail "banner lacks the log location"
out=$(vm_ssh master 'systemctl is-active clusterd; cluster_control -l; cat /etc/machine-id;
	stat -c %a:%U /etc/clusterd/cluster.key; ls /etc/ssh/ssh_host_ed25519_key.pub;
	ls /var/lib/clusterd/etc/sslmanager.cert; systemctl is-failed clusterd-firstboot clusterd-banner || true') ||
	fail "ssh to the master failed"
echo "$out"
echo "$out" | grep -q -x active || fail "clusterd is not active"
echo "$out" | grep -q -E '^master1 +master' || fail "cluster_control -l does not list master1"
echo "$out" | grep -q -E '^[0-9a-f]{32}$' || fail "no machine-id made at boot"
echo "$out" | grep -q -x '600:clusterd' || fail "cluster key not 0600 clusterd"
! echo "$out" | grep -q -x failed || fail "a first-boot unit failed"
echo "t_boot_master: ready after $(elapsed)s"
