#!/usr/bin/env bash
# Install the Debian 12 packages needed to build, run and test the project.
# Fast when everything is present; needs root (or sudo) otherwise.
#   scripts/deps.sh image     also what `make image` and `make image-test` need
set -eu
PKGS=(
	build-essential pkg-config clang
	libev-dev libssl-dev libcjson-dev libsqlite3-dev zlib1g-dev
	libsystemd-dev libcmocka-dev
	openssl python3 iproute2 procps mandoc haproxy keepalived socat
	# The lab's impaired links: the userspace switch turns the veths'
	# offloads off (a kernel without netem); ping measures the delay.
	ethtool iputils-ping
	# vagrant validate of the lab's Vagrantfile (t_appliance_seed).
	vagrant
)
if [ "${1:-}" = image ]; then
	PKGS+=(mmdebstrap e2fsprogs dosfstools mtools syslinux syslinux-common
	       fdisk faketime qemu-utils qemu-system-x86 openssh-client)
fi
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing: ${missing[*]}"
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
