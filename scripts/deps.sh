#!/usr/bin/env bash
# Install the Debian 12 packages needed to build, run and test the project.
# Fast when everything is present; needs root (or sudo) otherwise.
#   scripts/deps.sh image     also what `make image` and `make image-test` need
set -eu
PKGS=(
	build-essential pkg-config clang
	libev-dev libssl-dev libcjson-dev libsqlite3-dev zlib1g-dev
	libcmocka-dev
	openssl python3 iproute2 procps mandoc haproxy keepalived socat
	# The lab's impaired links: the userspace switch turns the veths'
	# offloads off (a kernel without netem); ping measures the delay.
	ethtool iputils-ping
	# make deb and its test (t_deb.sh): debhelper 13 and lintian.
	debhelper lintian
	# vagrant validate of the lab's Vagrantfile (t_appliance_seed).
	vagrant
	# master high availability (t_master_ha, integration and lab).
	etcd-server etcd-client curl
)
if [ "${1:-}" = image ]; then
	PKGS+=(mmdebstrap e2fsprogs dosfstools mtools syslinux syslinux-common
	       fdisk faketime qemu-utils qemu-system-x86 openssh-client)
fi
# keepalived runs its scripts as keepalived_script (lb/render.py's
# script_user), whose group may use HAProxy's admin socket.
if ! getent passwd keepalived_script >/dev/null; then
	SUDO=
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO useradd --system --user-group --no-create-home \
		--home-dir /nonexistent --shell /usr/sbin/nologin keepalived_script
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
