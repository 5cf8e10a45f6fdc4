# make install: the Debian layout under DESTDIR with PREFIX=/usr, units
# that name the installed programs for any PREFIX (systemd-analyze verify
# on units made for a tree under the test's directory), the key helper,
# configuration kept across a second install, and make uninstall.
. "$(dirname "$0")/lib.sh"

D=$T/root
HAD_USER=$(getent passwd clusterd)
inst() { make -s -C "$TOP" BUILD="$BIN" "$@" > "$T/make.out" 2>&1 || fail "make $*: $(tail -n 5 "$T/make.out")"; }
inst install DESTDIR="$D" PREFIX=/usr
for f in usr/sbin/clusterd usr/bin/cluster_control usr/libexec/clusterd/agentsim \
    usr/libexec/clusterd/clusterd-genkey \
    usr/share/man/man8/clusterd.8 usr/share/man/man8/cluster_control.8 \
    usr/share/man/man5/clusterd.conf.5 \
    usr/share/doc/clusterd/examples/master.conf usr/share/doc/clusterd/examples/worker.conf \
    usr/share/doc/clusterd/examples/balancer.conf \
    lib/systemd/system/clusterd.service lib/systemd/system/clusterd-balancer.service \
    etc/clusterd/clusterd.conf etc/logrotate.d/clusterd \
    usr/share/clusterd/lb/render.py usr/share/clusterd/lb/cluster.example.json \
    usr/share/clusterd/lb/templates/haproxy.cfg.in \
    usr/share/clusterd/lb/deploy/60-clusterd-balancer.conf \
    usr/share/clusterd/lb/deploy/keepalived-after-haproxy.conf; do
	[ -f "$D/$f" ] || fail "missing /$f"
done
[ -d "$D/var/lib/clusterd" ] || fail "missing /var/lib/clusterd"
[ "$(stat -c %a "$D/etc/clusterd")" = 750 ] || fail "/etc/clusterd mode $(stat -c %a "$D/etc/clusterd")"
[ -e "$D/usr/bin/agentsim" ] && fail "agentsim on PATH"
grep -q "^ExecStart=/usr/sbin/clusterd -f -c /etc/clusterd/clusterd.conf$" \
	"$D/lib/systemd/system/clusterd.service" || fail "clusterd.service: $(grep Exec "$D/lib/systemd/system/clusterd.service")"
grep -qrI "@[A-Z]*@" "$D/lib" "$D/etc" "$D/usr/libexec" && fail "an unsubstituted @PATH@"
grep -q "/var/lib/clusterd/logs/cluster.log" "$D/etc/logrotate.d/clusterd" || fail "logrotate"
# The renderer runs from where it is installed.
"$D/usr/share/clusterd/lb/render.py" --cluster "$D/usr/share/clusterd/lb/cluster.example.json" \
	--balancer lb1 --out "$T/lb1" > "$T/render.out" 2>&1 || fail "installed render.py: $(cat "$T/render.out")"
haproxy -c -f "$T/lb1/haproxy.cfg" > /dev/null 2>&1 || fail "haproxy -c on the installed renderer's output"
pass "PREFIX=/usr: the Debian layout, agentsim off PATH, render.py runs installed"

# A second install keeps an edited configuration.
echo "# edited" >> "$D/etc/clusterd/clusterd.conf"
inst install DESTDIR="$D" PREFIX=/usr
grep -q "^# edited" "$D/etc/clusterd/clusterd.conf" || fail "a second install replaced clusterd.conf"
inst uninstall DESTDIR="$D" PREFIX=/usr
left=$(cd "$D" && find . -type f | sort | tr '\n' ' ')
[ "$left" = "./etc/clusterd/clusterd.conf " ] || fail "left after uninstall: $left"
pass "a second install keeps clusterd.conf; uninstall leaves only it (and the home)"

# Another prefix: the units name its programs; systemd checks them (every
# path exists in this tree).
P=$T/prefix
# (MAKE_USER=no: this machine gets no user clusterd.)
inst install PREFIX="$P/usr/local" SYSCONFDIR="$P/etc" LOCALSTATEDIR="$P/var" MAKE_USER=no
U=$P/usr/local/lib/systemd/system
[ -z "$HAD_USER" ] && getent passwd clusterd >/dev/null && fail "make install made a user on this machine"
grep -q "^ExecStart=$P/usr/local/sbin/clusterd -f -c $P/etc/clusterd/clusterd.conf$" \
	"$U/clusterd.service" || fail "units for another PREFIX: $(grep ExecStart= "$U/clusterd.service")"
grep -q "^ReadWritePaths=$P/var/lib/clusterd" "$U/clusterd.service" || fail "ReadWritePaths"
if command -v systemd-analyze >/dev/null; then
	systemd-analyze verify --man=no "$U/clusterd.service" "$U/clusterd-balancer.service" \
		> "$T/verify.out" 2>&1 || fail "systemd-analyze verify: $(cat "$T/verify.out")"
	[ -s "$T/verify.out" ] && fail "systemd-analyze verify warns: $(cat "$T/verify.out")"
	pass "PREFIX=/usr/local: the units name its programs; systemd-analyze verify accepts them"
else
	echo "note: systemd-analyze missing: units not verified"
fi

# Each unit refuses the other role's configuration (its ExecStartPre=/bin/sh
# line, run as systemd would: unquoted by shlex).
pre() {	# pre UNIT: run its role check on $P/etc/clusterd/clusterd.conf
	python3 - "$U/$1.service" <<'PY'
import shlex, subprocess, sys
for line in open(sys.argv[1]):
    if line.startswith("ExecStartPre=/bin/sh"):
        sys.exit(subprocess.run(shlex.split(line[len("ExecStartPre="):]),
                                stderr=subprocess.DEVNULL).returncode)
sys.exit(9)
PY
}
C=$P/etc/clusterd/clusterd.conf
sed -i "s|^key_file .*|key $KEY|" "$C"
pre clusterd || fail "clusterd.service refuses a master"
pre clusterd-balancer && fail "clusterd-balancer.service accepts a master"
sed -e "s|^key_file .*|key $KEY|" "$TOP/configs/balancer.conf" > "$C"
pre clusterd-balancer || fail "clusterd-balancer.service refuses a balancer"
pre clusterd && fail "clusterd.service accepts a balancer"
pass "each unit runs only its role (node_type checked before start)"

# The key helper: a master without a key gets one (0600), nothing else does.
G=$P/usr/local/libexec/clusterd/clusterd-genkey
sed "s|^key_file .*|key_file $T/m.key|" "$TOP/configs/master.conf" > "$T/m.conf"
sed "s|^key_file .*|key_file $T/w.key|" "$TOP/configs/worker.conf" > "$T/w.conf"
"$G" "$T/m.conf" > /dev/null || fail "clusterd-genkey"
[ "$(stat -c %a "$T/m.key")" = 600 ] || fail "key mode $(stat -c %a "$T/m.key")"
"$CLUSTERD" -t -c "$T/m.conf" > /dev/null 2>&1 || fail "the new key is refused"
k=$(cat "$T/m.key")
"$G" "$T/m.conf" > /dev/null && [ "$(cat "$T/m.key")" = "$k" ] || fail "an existing key was replaced"
"$G" "$T/w.conf" > /dev/null && [ ! -e "$T/w.key" ] || fail "a worker got a key of its own"
pass "clusterd-genkey: a master's missing key made once (0600), never a worker's"
finish
