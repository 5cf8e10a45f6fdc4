#!/usr/bin/env bash
# Convert the raw disks of appliance/build.sh to the shipped formats.
#   convert.sh WORK OUT "qcow2 ova vagrant"
# WORK holds disk.raw (the appliance) and disk-vagrant.raw (the same with
# clusterd.vagrant=1 on the kernel command line); OUT gets
#   clusterd-appliance.qcow2   qemu, virt-manager, OpenStack
#   clusterd-appliance.ova     VirtualBox, VMware (OVF 1.0 + streamOptimized VMDK)
#   clusterd-libvirt.box, clusterd-virtualbox.box   Vagrant boxes
# Every archive is sorted, owned by 0:0 and stamped SOURCE_DATE_EPOCH.
# Progress lines go to stdout like build.sh's.
set -euo pipefail
WORK=$1 OUT=$2 FORMATS=$3
HERE=$(cd "$(dirname "$0")" && pwd)
: "${SOURCE_DATE_EPOCH:?}"
START=${START:-$(date +%s)}
step() { printf '[image %4ss] %s\n' $(( $(date +%s) - START )) "$*"; }
want() { case " $FORMATS " in *" $1 "*) return 0 ;; esac; return 1; }
TAR=(tar --sort=name --format=ustar --owner=0 --group=0 --numeric-owner
     --mtime="@$SOURCE_DATE_EPOCH" --mode=u+rw,go+r,go-w)
DISK_BYTES=$(stat -c %s "$WORK/disk.raw")

qcow2() { # raw qcow2
	nice qemu-img convert -f raw -O qcow2 -c -o compression_type=zlib "$1" "$2"
}
# qemu-img writes a random content id (CID) into a VMDK's descriptor; a fixed
# one keeps the file reproducible (the same length, so nothing moves).
vmdk() { # raw vmdk
	nice qemu-img convert -f raw -O vmdk -o subformat=streamOptimized,adapter_type=ide "$1" "$2"
	python3 - "$2" <<'PY'
import re, struct, sys
# SparseExtentHeader: descriptorOffset and descriptorSize (sectors) at 28, 36.
with open(sys.argv[1], "r+b") as f:
    head = f.read(512)
    off, size = struct.unpack_from("<QQ", head, 28)
    f.seek(off * 512)
    region = f.read(size * 512)
    text = region.split(b"\0", 1)[0]
    text, n = re.subn(rb"\nCID=[0-9a-f]{1,8}\n", b"\nCID=434c5344\n", text, count=1)
    if n != 1 or len(text) > len(region):
        sys.exit("vmdk: no CID line in the descriptor")
    f.seek(off * 512)
    f.write(text + b"\0" * (len(region) - len(text)))
PY
}
ovf() { # vmdk-name vmdk-path name > ovf
	sed -e "s/@NAME@/$3/g" -e "s/@VMDK@/$1/g" \
	    -e "s/@VMDK_BYTES@/$(stat -c %s "$2")/g" \
	    -e "s/@DISK_BYTES@/$DISK_BYTES/g" "$HERE/clusterd.ovf.in"
}

if want qcow2 || want vagrant; then
	step "qcow2 (zlib compressed)"
	qcow2 "$WORK/disk.raw" "$OUT/clusterd-appliance.qcow2"
fi
if want ova; then
	step "ova: streamOptimized VMDK + OVF"
	mkdir -p "$WORK/ova"
	vmdk "$WORK/disk.raw" "$WORK/ova/clusterd-appliance-disk1.vmdk"
	ovf clusterd-appliance-disk1.vmdk "$WORK/ova/clusterd-appliance-disk1.vmdk" clusterd-appliance \
		> "$WORK/ova/clusterd-appliance.ovf"
	(cd "$WORK/ova" && for f in clusterd-appliance.ovf clusterd-appliance-disk1.vmdk; do
		echo "SHA256($f)= $(sha256sum "$f" | cut -d' ' -f1)"; done > clusterd-appliance.mf)
	touch -d "@$SOURCE_DATE_EPOCH" "$WORK"/ova/*
	# The OVF comes first in an OVA, then the disk, then the manifest.
	(cd "$WORK/ova" && "${TAR[@]}" --no-recursion -cf "$OUT/clusterd-appliance.ova" \
		clusterd-appliance.ovf clusterd-appliance-disk1.vmdk clusterd-appliance.mf)
fi
if want vagrant; then
	step "vagrant boxes: libvirt (qcow2), virtualbox (OVF + VMDK)"
	mkdir -p "$WORK/box-libvirt" "$WORK/box-vbox"
	qcow2 "$WORK/disk-vagrant.raw" "$WORK/box-libvirt/box.img"
	printf '{"provider":"libvirt","format":"qcow2","virtual_size":%d}\n' \
		$((DISK_BYTES / 1073741824)) > "$WORK/box-libvirt/metadata.json"
	cp "$HERE/vagrant/Vagrantfile.libvirt" "$WORK/box-libvirt/Vagrantfile"
	vmdk "$WORK/disk-vagrant.raw" "$WORK/box-vbox/box-disk1.vmdk"
	ovf box-disk1.vmdk "$WORK/box-vbox/box-disk1.vmdk" clusterd-vagrant > "$WORK/box-vbox/box.ovf"
	echo '{"provider":"virtualbox"}' > "$WORK/box-vbox/metadata.json"
	cp "$HERE/vagrant/Vagrantfile.virtualbox" "$WORK/box-vbox/Vagrantfile"
	touch -d "@$SOURCE_DATE_EPOCH" "$WORK"/box-libvirt/* "$WORK"/box-vbox/*
	for p in libvirt vbox; do
		name=$p; [ $p = vbox ] && name=virtualbox
		# A plain tar: the disks inside are compressed already.
		(cd "$WORK/box-$p" && "${TAR[@]}" -cf "$OUT/clusterd-$name.box" $(ls | sort))
	done
fi
