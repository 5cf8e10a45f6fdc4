#!/usr/bin/env bash
# Three VMs at once: with no seed the appliance comes up as a single-node
# master with a one-time root password on the console (and not in
# /etc/issue.d); a seed with a bad value stops first boot with the key named
# on the console; a worker whose master never answers is reported NOT READY
# by the banner after its bounded wait (ready_timeout), naming the cause.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
RUN=$(mktemp -d /tmp/image-test.XXXXXX)
. "$TOP/tests/image/lib.sh"
trap 'cleanup_vms; [ -n "${KEEP:-}" ] || rm -rf "$RUN"' EXIT
T0=$(date +%s)
printf 'role=boss\nnode_name=x1\n' > "$RUN/bad.seed"
cat > "$RUN/lost.seed" <<SEED
role=worker
node_name=lost1
cluster_key=$(openssl rand -hex 16)
master_address=198.18.0.250
interface=eth1
address=198.18.0.9/24
ready_timeout=30
SEED
vm_start plain -
vm_start bad "$RUN/bad.seed"
vm_start lost "$RUN/lost.seed" -netdev "socket,id=s0,listen=127.0.0.1:$(free_port)" \
	-device virtio-net-pci,netdev=s0
wait_console plain 'clusterd-appliance: READY' "$BOOT_TIMEOUT" ||
	{ tail -n 30 "$RUN/plain/console.log"; fail "no seed: no READY banner"; }
c=$RUN/plain/console.log
grep -a -q 'no seed: a single-node master' "$c" || fail "no seed: not said"
grep -a -q 'node:      master1 (master)' "$c" || fail "no seed: not master1"
grep -a -q -E 'root: +one-time password [A-Za-z0-9]{8,}' "$c" || fail "no seed: no one-time password"
# The login prompt shown again with the banner from /etc/issue.d (agetty
# --reload), without the password.
end=$(( $(date +%s) + 120 ))
while :; do
	sed -n '/clusterd-appliance: READY/,$p' "$c" | tr -d '\r' > "$RUN/issue"
	grep -a -q 'login: ' "$RUN/issue" && break
	[ "$(date +%s)" -lt "$end" ] || fail "no login prompt after the banner"
	sleep 3
done
grep -a -q '^ node:      master1 (master)' "$RUN/issue" || fail "no banner in /etc/issue.d: $(cat "$RUN/issue")"
grep -a -q 'one-time password' "$RUN/issue" && fail "one-time password in /etc/issue.d"
echo "no seed: master with a one-time password after $(elapsed)s"

wait_console bad 'clusterd-appliance: FAILED' "$BOOT_TIMEOUT" any ||
	{ tail -n 30 "$RUN/bad/console.log"; fail "bad seed: no FAILED line"; }
grep -a -q "FAILED: seed: role: 'boss' is not valid" "$RUN/bad/console.log" ||
	fail "bad seed: the refusal does not name the key"
echo "bad seed: refused on the console after $(elapsed)s"

wait_console lost 'NOT READY after 30s' "$BOOT_TIMEOUT" any ||
	{ tail -n 30 "$RUN/lost/console.log"; fail "lost worker: no NOT READY banner"; }
grep -a -q -E '^.*cluster_control -l: ' "$RUN/lost/console.log" || fail "lost worker: cause not named"
grep -a -q 'clusterd-appliance: READY' "$RUN/lost/console.log" && fail "lost worker said READY"
echo "t_boot_defaults_failures: all three after $(elapsed)s"
