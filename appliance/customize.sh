#!/usr/bin/env bash
# mmdebstrap customize hook: make the unpacked tree an appliance that holds
# nothing per-machine.  $1 is the root of the tree.
set -euo pipefail
R=$1
in_root() { chroot "$R" "$@"; }

echo clusterd > "$R/etc/hostname"
cat > "$R/etc/hosts" <<H
127.0.0.1	localhost
::1		localhost ip6-localhost ip6-loopback
H
# Networking: systemd-networkd, DHCP on every Ethernet interface unless the
# seed gives an address (first boot writes 10-clusterd.network then).
in_root systemctl enable systemd-networkd.service >/dev/null 2>&1
in_root systemctl enable clusterd-firstboot.service clusterd-banner.service >/dev/null 2>&1
# Roles decide at first boot what runs: nothing of the balancer tier until then.
in_root systemctl disable haproxy.service keepalived.service >/dev/null 2>&1 || true
in_root systemctl disable clusterd.service clusterd-balancer.service >/dev/null 2>&1 || true
# keepalived runs the rendered chk_haproxy and notify.sh as keepalived_script,
# whose group may use HAProxy's admin socket (docs/lb.md, "Who runs what").
# Made here, not at first boot: the same ids on every VM of the image.  Its
# notify log is made below, after the logs are cleared.
in_root useradd --system --user-group --no-create-home --home-dir /nonexistent \
	--shell /usr/sbin/nologin keepalived_script
in_root systemctl mask systemd-networkd-wait-online.service >/dev/null 2>&1 || true
# Serial console without a long wait on a missing keyboard.
in_root systemctl set-default multi-user.target >/dev/null 2>&1

# Per-machine state that must not ship: machine-id empty (systemd makes it at
# first boot, and ConditionFirstBoot holds), SSH host keys, caches, logs.
: > "$R/etc/machine-id"
rm -f "$R/var/lib/dbus/machine-id"
rm -f "$R"/etc/ssh/ssh_host_*
rm -f "$R"/etc/clusterd/*.key "$R"/var/lib/clusterd/etc/sslmanager.* 2>/dev/null || true
rm -rf "$R"/var/lib/apt/lists/* "$R"/var/cache/apt/*.bin "$R"/var/cache/debconf/*-old \
	"$R"/var/lib/dpkg/*-old "$R"/var/cache/ldconfig/aux-cache "$R"/var/lib/systemd/random-seed \
	"$R"/var/log/*.log "$R"/var/log/apt/* "$R"/var/log/journal/* "$R"/tmp/* \
	"$R"/var/lib/systemd/catalog/database "$R"/var/cache/man
find "$R/var/log" -type f -exec truncate -s 0 {} +
# notify.sh, as keepalived_script, appends to a log it may not create.
in_root install -o keepalived_script -g keepalived_script -m 0640 /dev/null \
	/var/log/keepalived-notify.log
# The root account stays locked until first boot (a seed's SSH key, or a
# one-time password shown on the console).
in_root passwd -l root >/dev/null
# python3 byte code is made at install time in an order that varies; the
# appliance's scripts do not need it.
find "$R/usr" -name __pycache__ -type d -prune -exec rm -rf {} +
