#!/usr/bin/env bash
# Build the clusterd appliance: one bootable disk from Debian 12 packages and
# the clusterd .deb, then its qcow2 (and, with FORMATS, OVA and Vagrant boxes).
#
#   appliance/build.sh [DEB=path] [OUT=dir]       (or as environment variables)
#
# No loop device and no mount: the root file system is made by
# `mkfs.ext4 -d` from the tree mmdebstrap wrote, the boot partition (FAT,
# syslinux) with mtools, the disk with sfdisk and dd.  Every time stamp is
# SOURCE_DATE_EPOCH (the last commit's time unless set), every identifier
# (disk, partitions, file systems) is fixed, and nothing in the image is
# per-machine: the machine-id is empty and SSH host keys and cluster keys are
# made at first boot (appliance/overlay/usr/lib/clusterd-appliance/).
# docs/appliance.md says more.
set -euo pipefail
for a in "$@"; do case $a in *=*) export "${a%%=*}=${a#*=}" ;; *) echo "usage: $0 [DEB=file] [OUT=dir]" >&2; exit 2 ;; esac; done

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
OUT=${OUT:-$TOP/build/image}
SUITE=${SUITE:-bookworm}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY=${SECURITY:-http://deb.debian.org/debian-security}
FORMATS=${FORMATS:-qcow2 ova vagrant}
DISK_MB=${DISK_MB:-4096}
BOOT_MB=128
CACHE=${CACHE:-$TOP/build/image-cache}
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git -C "$TOP" log -1 --format=%ct 2>/dev/null || echo 1700000000)
fi
export SOURCE_DATE_EPOCH TZ=UTC LC_ALL=C.UTF-8
# Fixed identifiers: the disk's MBR id, the boot volume id, the root UUID.
DISK_ID=0x434c5344
BOOT_ID=434C5344
BOOT_UUID=434C-5344
ROOT_UUID=434c5344-0000-4000-8000-000000000002

if [ -z "${DEB:-}" ]; then
	DEB=$(ls "$TOP"/build/deb/clusterd_*_amd64.deb 2>/dev/null | sort -V | tail -n 1 || true)
fi
[ -n "${DEB:-}" ] && [ -f "$DEB" ] || {
	echo "image: no clusterd package: run 'make deb' first or give DEB=path" >&2; exit 1; }
DEB=$(cd "$(dirname "$DEB")" && pwd)/$(basename "$DEB")
[ "$(id -u)" -eq 0 ] || { echo "image: mmdebstrap --mode=root needs root" >&2; exit 1; }
for t in mmdebstrap mkfs.ext4 mkfs.fat mcopy syslinux sfdisk qemu-img faketime debugfs; do
	command -v $t >/dev/null || { echo "image: $t is missing (scripts/deps.sh image)" >&2; exit 1; }
done

START=$(date +%s)
step() { printf '[image %4ss] %s\n' $(( $(date +%s) - START )) "$*"; }
WORK=$OUT/work
rm -rf "$WORK"
mkdir -p "$WORK" "$CACHE" "$OUT"
ROOT=$WORK/root
# Never remove a tree that still has something mounted (a failed hook's /proc).
cleanup() { if grep -q " $WORK/" /proc/mounts; then echo "image: mounts left under $WORK" >&2; else rm -rf "$WORK"; fi; }
trap cleanup EXIT

PKGS=(systemd-sysv udev dbus linux-image-amd64 initramfs-tools
      openssh-server haproxy keepalived socat iproute2 iputils-ping python3
      openssl less procps sudo passwd)
step "rootfs: mmdebstrap $SUITE, $(basename "$DEB"), epoch $SOURCE_DATE_EPOCH"
nice mmdebstrap --mode=root --variant=apt --format=directory --quiet \
	--include="$(IFS=,; echo "${PKGS[*]}")" \
	--aptopt='Acquire::Languages "none"' \
	--dpkgopt='path-exclude=/usr/share/doc/*' \
	--dpkgopt='path-include=/usr/share/doc/*/copyright' \
	--dpkgopt='path-exclude=/usr/share/man/*' \
	--dpkgopt='path-exclude=/usr/share/locale/*' \
	--dpkgopt='path-exclude=/usr/share/info/*' \
	--skip=download/empty --skip=essential/unlink \
	--setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
	--setup-hook="sync-in '$CACHE' /var/cache/apt/archives/" \
	--customize-hook="sync-out /var/cache/apt/archives '$CACHE'" \
	--customize-hook="copy-in '$DEB' /tmp" \
	--customize-hook='chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends /tmp/'"$(basename "$DEB")" \
	--customize-hook='rm -f "$1"/tmp/*.deb "$1"/var/cache/apt/archives/*.deb' \
	--customize-hook="sync-in '$HERE/overlay' /" \
	--customize-hook="'$HERE/customize.sh' \"\$1\"" \
	"$SUITE" "$ROOT" \
	"deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" \
	"deb $SECURITY $SUITE-security main"

step "manifest"
chroot "$ROOT" dpkg-query -W -f='${Package}\t${Version}\t${Architecture}\n' | sort > "$OUT/manifest.packages"

KVER=$(cd "$ROOT/boot" && ls vmlinuz-* | sed 's/vmlinuz-//' | sort -V | tail -n 1)
step "boot partition: syslinux, kernel $KVER"
mkdir -p "$WORK/boot"
# /boot is the FAT partition: move what the packages put there.
mv "$ROOT"/boot/* "$WORK/boot/"
cp "$WORK/boot/vmlinuz-$KVER" "$WORK/boot/vmlinuz"
cp "$WORK/boot/initrd.img-$KVER" "$WORK/boot/initrd.img"
FAKE_NOW=$(date -u -d "@$SOURCE_DATE_EPOCH" '+%Y-%m-%d %H:%M:%S')
make_boot() { # $1 image file, $2 syslinux.cfg to use
	rm -f "$1"
	mkfs.fat --invariant -i "$BOOT_ID" -n BOOT -F 16 -C "$1" $((BOOT_MB * 1024)) >/dev/null
	(cd "$WORK/boot" && find . -mindepth 1 -maxdepth 1 -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +)
	cp "$2" "$WORK/boot/syslinux.cfg"
	touch -d "@$SOURCE_DATE_EPOCH" "$WORK/boot/syslinux.cfg"
	# mtools and syslinux stamp what they write with the time: a clock
	# stopped at SOURCE_DATE_EPOCH (faketime without "@"), and the files'
	# own mtimes (already SOURCE_DATE_EPOCH) left as they are (NO_FAKE_STAT:
	# faketime would otherwise shift them by its offset, a run's wall clock).
	(cd "$WORK/boot" && NO_FAKE_STAT=1 faketime -f "$FAKE_NOW" mcopy -m -s -i "$1" $(ls | sort) ::/)
	NO_FAKE_STAT=1 faketime -f "$FAKE_NOW" syslinux --install "$1"
}
sed "s/@ROOT_UUID@/$ROOT_UUID/g;s/ @APPEND@//" "$HERE/syslinux.cfg" > "$WORK/syslinux.cfg"
make_boot "$WORK/boot.fat" "$WORK/syslinux.cfg"
# The Vagrant boxes differ only here: clusterd.vagrant=1 makes first boot
# add Vagrant's user with its well-known public key.
sed "s/@ROOT_UUID@/$ROOT_UUID/g;s/@APPEND@/clusterd.vagrant=1/" "$HERE/syslinux.cfg" > "$WORK/syslinux-vagrant.cfg"
case " $FORMATS " in *" vagrant "*) make_boot "$WORK/boot-vagrant.fat" "$WORK/syslinux-vagrant.cfg" ;; esac

step "root file system: ext4 from the tree, times clamped to $SOURCE_DATE_EPOCH"
cat > "$ROOT/etc/fstab" <<FSTAB
UUID=$ROOT_UUID / ext4 errors=remount-ro 0 1
UUID=$BOOT_UUID /boot vfat umask=0077,shortname=lower 0 2
FSTAB
ROOT_MB=$((DISK_MB - BOOT_MB - 2))
find "$ROOT" -newermt "@$SOURCE_DATE_EPOCH" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} + 2>/dev/null || true
rm -f "$WORK/root.ext4"
# E2FSPROGS_FAKE_TIME fixes what mke2fs invents (its own times); the files'
# times come from the tree: mtimes clamped above, atime, ctime and crtime
# set afterwards.
E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH mkfs.ext4 -q -F -L root -U "$ROOT_UUID" \
	-E "hash_seed=$ROOT_UUID,root_owner=0:0,lazy_itable_init=0,lazy_journal_init=0" \
	-d "$ROOT" "$WORK/root.ext4" "${ROOT_MB}M" >/dev/null
"$HERE/fix-ext4-times.py" "$WORK/root.ext4" "$SOURCE_DATE_EPOCH"

step "disk: MBR, boot + root partitions"
assemble() { # $1 disk image, $2 boot partition image
	rm -f "$1"
	truncate -s "${DISK_MB}M" "$1"
	sfdisk -q "$1" <<SF
label: dos
label-id: $DISK_ID
unit: sectors
start=2048, size=$((BOOT_MB * 2048)), type=6, bootable
start=$((2048 + BOOT_MB * 2048)), size=$((ROOT_MB * 2048)), type=83
SF
	dd if=/usr/lib/syslinux/mbr/mbr.bin of="$1" bs=440 count=1 conv=notrunc status=none
	dd if="$2" of="$1" bs=1M seek=1 conv=notrunc,sparse status=none
	dd if="$WORK/root.ext4" of="$1" bs=1M seek=$((1 + BOOT_MB)) conv=notrunc,sparse status=none
}
assemble "$WORK/disk.raw" "$WORK/boot.fat"
[ ! -f "$WORK/boot-vagrant.fat" ] || assemble "$WORK/disk-vagrant.raw" "$WORK/boot-vagrant.fat"

START=$START "$HERE/convert.sh" "$WORK" "$OUT" "$FORMATS"

step "manifest and checksums"
{
	echo "# clusterd appliance manifest"
	echo "source_date_epoch $SOURCE_DATE_EPOCH"
	echo "suite $SUITE"
	echo "kernel $KVER"
	echo "clusterd_deb $(basename "$DEB") $(sha256sum "$DEB" | cut -d' ' -f1)"
	echo "# package version architecture sha256-of-the-.deb (manifest.packages)"
	while IFS=$'\t' read -r p v a; do
		f=$CACHE/${p}_${v//:/%3a}_$a.deb
		[ "$p" != clusterd ] || f=$DEB
		if [ -f "$f" ]; then sum=$(sha256sum "$f" | cut -d' ' -f1); else sum=-; fi
		printf '%s\t%s\t%s\t%s\n' "$p" "$v" "$a" "$sum"
	done < "$OUT/manifest.packages"
} > "$OUT/manifest.txt"
(cd "$OUT" && rm -f SHA256SUMS && sha256sum $(ls | grep -v -e '^work$' -e '^SHA256SUMS$' | sort) > SHA256SUMS)
cat "$OUT/SHA256SUMS"
step "done in $(( $(date +%s) - START ))s: $OUT"
