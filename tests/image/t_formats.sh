#!/usr/bin/env bash
# The other formats hold the same disk: the OVA's VMDK (its OVF first, then
# the disk and a manifest whose checksums match) and the virtualbox box's
# VMDK equal the qcow2 (the Vagrant variant's boot line aside); both boxes
# are accepted by `vagrant box add`; the libvirt box boots with the user
# vagrant reachable by Vagrant's well-known key, with sudo.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
RUN=$(mktemp -d /tmp/image-test.XXXXXX)
. "$TOP/tests/image/lib.sh"
trap 'cleanup_vms; [ -n "${KEEP:-}" ] || rm -rf "$RUN"' EXIT
T0=$(date +%s)
DIR=$(dirname "$IMAGE")

mkdir -p "$RUN/ova"
tar -C "$RUN/ova" -xf "$DIR/clusterd-appliance.ova"
[ "$(tar -tf "$DIR/clusterd-appliance.ova" | head -n 1)" = clusterd-appliance.ovf ] ||
	fail "the OVA does not start with its OVF"
(cd "$RUN/ova" && while read -r line; do
	f=${line#SHA256(} f=${f%%)*}
	[ "$(sha256sum "$f" | cut -d' ' -f1)" = "${line##* }" ] || fail "OVA manifest: $f"
done < clusterd-appliance.mf)
python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' \
	"$RUN/ova/clusterd-appliance.ovf" || fail "the OVF is not XML"
qemu-img info "$RUN/ova/clusterd-appliance-disk1.vmdk" | grep -q 'create type: streamOptimized' ||
	fail "the VMDK is not streamOptimized"
qemu-img compare -q "$IMAGE" "$RUN/ova/clusterd-appliance-disk1.vmdk" ||
	fail "the OVA's disk differs from the qcow2"
echo "ova: OVF first, manifest matches, VMDK equals the qcow2"

command -v vagrant >/dev/null || fail "vagrant is not installed (scripts/deps.sh)"
export VAGRANT_HOME=$RUN/vagrant-home
for p in libvirt virtualbox; do
	vagrant box add -f --name "clusterd-test/$p" "$DIR/clusterd-$p.box" > "$RUN/box-$p.log" 2>&1 ||
		fail "vagrant box add $p: $(tail -n 3 "$RUN/box-$p.log")"
done
vagrant box list > "$RUN/boxes"
grep -q 'clusterd-test/libvirt *(libvirt' "$RUN/boxes" || fail "no libvirt box: $(cat "$RUN/boxes")"
grep -q 'clusterd-test/virtualbox *(virtualbox' "$RUN/boxes" || fail "no virtualbox box: $(cat "$RUN/boxes")"
echo "vagrant box add: both boxes accepted"

# Boot the libvirt box's disk as Vagrant would, with no seed.
box=$(find "$VAGRANT_HOME/boxes/clusterd-test-VAGRANTSLASH-libvirt" -name box.img | head -n 1)
vbox=$(find "$VAGRANT_HOME/boxes/clusterd-test-VAGRANTSLASH-virtualbox" -name '*.vmdk' | head -n 1)
qemu-img compare -q "$box" "$vbox" || fail "the two boxes' disks differ"
IMAGE=$box
vm_start box -
wait_console box 'clusterd-appliance: READY' "$BOOT_TIMEOUT" ||
	{ tail -n 30 "$RUN/box/console.log"; fail "box: no READY banner"; }
grep -a -q 'vagrant: user with Vagrant' "$RUN/box/console.log" || fail "box: no vagrant user"
key=$(ls /usr/share/rubygems-integration/all/gems/vagrant-*/keys/vagrant 2>/dev/null | head -n 1)
[ -n "$key" ] || fail "Vagrant's insecure private key is not installed"
cp "$key" "$RUN/vagrant.key" && chmod 600 "$RUN/vagrant.key"
out=$(ssh -q -i "$RUN/vagrant.key" -p "$box_SSH" -o BatchMode=yes -o ConnectTimeout=20 \
	-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
	vagrant@127.0.0.1 'sudo -n cluster_control -l') || fail "box: ssh as vagrant failed"
echo "$out" | grep -q -E '^master1 +master' || fail "box: cluster_control -l: $out"
echo "t_formats: boxes and OVA checked, the libvirt box booted in $(elapsed)s"
