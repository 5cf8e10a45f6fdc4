# make deb: the Debian package builds (debhelper 13), lintian passes (every
# remaining tag overridden with its reason), it holds the install layout,
# its units pass systemd-analyze verify, its programs run from the
# extracted tree, and a second build in another folder gives the same bytes.
# Nothing is installed on this machine: the package is inspected with
# dpkg-deb -c/-e/-x only.
. "$(dirname "$0")/lib.sh"

for t in dpkg-buildpackage dh lintian; do
	command -v "$t" >/dev/null || fail "$t missing: run scripts/deps.sh"
done
V=$(sed -n 's/^#define CLUSTERD_VERSION[^"]*"\(.*\)"/\1/p' "$TOP/clusterd/src/base/version.h")
A=$(dpkg --print-architecture)
build() {
	nice make -C "$TOP" -s BUILD="$1" deb > "$1.log" 2>&1 ||
		fail "make deb: $(grep -E '^(E|W|I):|error|rror:' "$1.log" | head -n 10; tail -n 5 "$1.log")"
}
build "$T/b1"
DEB=$T/b1/deb/clusterd_${V}_$A.deb
[ -f "$DEB" ] || fail "no $DEB: $(ls "$T/b1/deb")"
grep -q "^deb: .*clusterd_${V}_$A.deb" "$T/b1.log" || fail "make deb did not name the package"
pass "make deb: clusterd_${V}_$A.deb, lintian clean at error, warning and info (overrides justified)"

dpkg-deb -c "$DEB" | awk '{print $6}' | sed 's|^\./|/|; s|/$||' > "$T/files"
for f in /usr/sbin/clusterd /usr/bin/cluster_control /usr/libexec/clusterd/agentsim \
    /usr/libexec/clusterd/clusterd-genkey /usr/share/man/man8/clusterd.8.gz \
    /usr/share/man/man8/cluster_control.8.gz /usr/share/man/man5/clusterd.conf.5.gz \
    /usr/share/doc/clusterd/examples/balancer.conf /usr/share/doc/clusterd/copyright \
    /lib/systemd/system/clusterd.service /lib/systemd/system/clusterd-balancer.service \
    /etc/clusterd/clusterd.conf /etc/logrotate.d/clusterd /var/lib/clusterd \
    /usr/share/clusterd/lb/render.py /usr/share/clusterd/lb/templates/haproxy.cfg.in \
    /usr/share/clusterd/lb/deploy/60-clusterd-balancer.conf; do
	grep -qx "$f" "$T/files" || fail "the package lacks $f"
done
grep -q "^/usr/bin/agentsim$" "$T/files" && fail "agentsim on PATH"
[ "$(dpkg-deb -f "$DEB" Version)" = "$V" ] || fail "Version $(dpkg-deb -f "$DEB" Version), not $V"
dpkg-deb -f "$DEB" Depends | grep -q adduser || fail "Depends lacks adduser"
pass "contents: programs, man pages, examples, units, /etc/clusterd, home, logrotate, lb/"

dpkg-deb -e "$DEB" "$T/ctl"
[ "$(sort "$T/ctl/conffiles" | tr '\n' ' ')" = "/etc/clusterd/clusterd.conf /etc/logrotate.d/clusterd " ] ||
	fail "conffiles: $(cat "$T/ctl/conffiles")"
for s in preinst postinst prerm postrm; do
	[ -f "$T/ctl/$s" ] && { sh -n "$T/ctl/$s" || fail "$s: syntax"; }
done
grep -q "adduser --quiet --system --group" "$T/ctl/postinst" || fail "postinst makes no user"
grep -q "chown clusterd:clusterd /var/lib/clusterd" "$T/ctl/postinst" || fail "postinst: home"
grep -q "deb-systemd-helper enable 'clusterd.service'" "$T/ctl/postinst" || fail "clusterd.service not enabled"
# (--no-enable: only a unit the administrator enabled is enabled again.)
grep -q "if deb-systemd-helper debian-installed 'clusterd-balancer.service'" "$T/ctl/postinst" ||
	fail "clusterd-balancer.service enabled on install"
grep -q 'rm -rf /var/lib/clusterd' "$T/ctl/postrm" || fail "postrm purge"
pass "conffiles; maintainer scripts parse, make the user and its home, enable clusterd.service only"

X=$T/x
dpkg-deb -x "$DEB" "$X"
for u in clusterd clusterd-balancer; do
	f=$X/lib/systemd/system/$u.service
	grep -q '^ExecStart=/usr/sbin/clusterd -f -c /etc/clusterd/clusterd.conf$' "$f" || fail "$u: ExecStart"
	grep -q '^ExecStartPre=/usr/sbin/clusterd -t -c /etc/clusterd/clusterd.conf$' "$f" || fail "$u: -t"
	grep -q '^User=clusterd$' "$f" && grep -q '^NoNewPrivileges=yes$' "$f" &&
		grep -q '^ProtectSystem=strict$' "$f" || fail "$u: hardening"
	# Verified with the paths pointing into the extracted tree.
	sed -e "s|=+/usr/|=+$X/usr/|; s|=/usr/|=$X/usr/|" "$f" > "$T/$u.service"
	systemd-analyze verify --man=no "$T/$u.service" > "$T/$u.verify" 2>&1 ||
		fail "systemd-analyze verify $u: $(cat "$T/$u.verify")"
	[ -s "$T/$u.verify" ] && fail "systemd-analyze verify $u warns: $(cat "$T/$u.verify")"
done
grep -q '^CapabilityBoundingSet=CAP_NET_BIND_SERVICE$' "$X/lib/systemd/system/clusterd.service" ||
	fail "clusterd.service capabilities"
grep -q '^LimitNOFILE=262144$' "$X/lib/systemd/system/clusterd.service" || fail "LimitNOFILE"
grep -q '^CapabilityBoundingSet=CAP_DAC_OVERRIDE$' "$X/lib/systemd/system/clusterd-balancer.service" ||
	fail "clusterd-balancer.service capabilities"
grep -q '^After=.*haproxy.service keepalived.service' "$X/lib/systemd/system/clusterd-balancer.service" ||
	fail "clusterd-balancer.service order"
"$X/usr/sbin/clusterd" -V 2>&1 | grep -qF "$V" || fail "clusterd -V: $("$X/usr/sbin/clusterd" -V 2>&1)"
sed "s|^key_file .*|key KEY|; s|^#home .*|home $T/h|" "$X/etc/clusterd/clusterd.conf" |
	sed "s|^key KEY|key $KEY|" > "$T/c.conf"
"$X/usr/sbin/clusterd" -t -c "$T/c.conf" > "$T/t.out" 2>&1 || fail "the packaged clusterd.conf: $(cat "$T/t.out")"
pass "units verified (systemd-analyze), hardened per role; the packaged clusterd runs and accepts its clusterd.conf"

build "$T/b2"
a=$(sha256sum < "$DEB")
b=$(sha256sum < "$T/b2/deb/clusterd_${V}_$A.deb")
[ "$a" = "$b" ] || fail "two builds differ: $a / $b"
pass "reproducible: a second build in another folder has the same sha256 (${a%% *})"
finish
