# Files created, changed and deleted on the master reach every worker with
# identical content and modes; a worker that was down catches up; the
# reload command runs once per applied sync with the changed paths.
. "$(dirname "$0")/lib.sh"

write_conf master1 master
for w in worker1 worker2; do
	write_conf $w worker "reload_command \"$T/reload.sh $w\""
done
cat > "$T/reload.sh" <<'SH'
#!/bin/sh
w=$1; shift
echo "run $#" >> "$CLUSTERD_HOME/../$w.reloads"
for p in "$@"; do echo "path $p" >> "$CLUSTERD_HOME/../$w.reloads"; done
SH
chmod +x "$T/reload.sh"

M=$T/master1
mkdir -p "$M/etc/rules/nested/deeper" "$M/etc/decoders" "$M/etc/lists" \
	"$M/etc/shared/default" "$M/etc/shared/linux"
for i in $(seq 1 1000); do
	echo "<group name=\"r$i\"><rule id=\"$((100000 + i))\"/></group>" > "$M/etc/rules/r$i.xml"
done
echo '<decoder name="d"/>' > "$M/etc/decoders/local_decoder.xml"
echo '<rule id="1"/>' > "$M/etc/rules/nested/deeper/n.xml"
head -c 7500000 /dev/urandom | base64 -w 100 > "$M/etc/lists/big-list"
echo 'agent.conf' > "$M/etc/shared/default/agent.conf"
echo 'merged' > "$M/etc/shared/linux/merged.mg"
chmod 640 "$M/etc/shared/linux/merged.mg"
echo 'master only' > "$M/etc/local.conf"	# outside the set
echo 'swap' > "$M/etc/rules/r1.xml.swp"		# excluded name
echo 'tmp~' > "$M/etc/rules/r2.xml~"

start master1
start worker1
start worker2
wait_for 30 "initial sync" converged master1 worker1 worker2
[ ! -e "$T/worker1/etc/local.conf" ] || fail "a file outside the set was sent"
[ ! -e "$T/worker1/etc/rules/r1.xml.swp" ] || fail "an excluded name was sent"
[ ! -e "$T/worker1/etc/rules/r2.xml~" ] || fail "an excluded name was sent"
[ "$(stat -c %a "$T/worker1/etc/shared/linux/merged.mg")" = 640 ] || fail "mode not kept"
# 1005 written here, and default's merged.mg, which the master builds (its
# linux/merged.mg replaces the one written here: groups.md).
log_has worker1 '\[Integrity check\] Files to create: 1006 \| Files to update: 0 \| Files to delete: 0' \
	|| fail "create count not logged"
pass "initial sync of 1006 files (10 MB list, nested folders)"

wait_for 10 "first reload ran" test -s "$T/worker1.reloads"
grep -q "^path etc/lists/big-list$" "$T/worker1.reloads" || fail "reload paths"
pass "reload command ran with the changed paths"

# Changes: modify, create in a new folder, delete (emptying a folder), chmod.
echo "<rule id=\"5\"/>" >> "$M/etc/rules/r5.xml"
mkdir -p "$M/etc/shared/new-group"
echo 'new' > "$M/etc/shared/new-group/agent.conf"
rm "$M/etc/rules/nested/deeper/n.xml"
rmdir "$M/etc/rules/nested/deeper"
chmod 600 "$M/etc/decoders/local_decoder.xml"
wait_for 10 "changes converge" converged master1 worker1 worker2
[ ! -d "$T/worker1/etc/rules/nested/deeper" ] || fail "emptied folder left on the worker"
[ -d "$T/worker1/etc/rules" ] || fail "a set root was removed"
pass "modify, create, delete and chmod converge"

# A worker that was down catches up when it returns.
kill -TERM "$(pid_of worker2)"
wait "$(pid_of worker2)" 2>/dev/null
echo "<rule id=\"7\"/>" >> "$M/etc/rules/r7.xml"
rm "$M/etc/rules/r9.xml"
wait_for 10 "worker1 follows" converged master1 worker1
same_tree master1 worker2 && fail "stopped worker2 changed"
start worker2
wait_for 15 "worker2 catches up" converged master1 worker1 worker2
pass "a worker that was down catches up"

# One reload per applied sync.
syncs=$(log_count worker1 '\[Integrity sync\] Finished in')
runs_at_least() { [ "$(grep -c '^run ' "$T/worker1.reloads")" -ge "$1" ]; }
wait_for 10 "reloads done" runs_at_least "$syncs"
runs=$(grep -c '^run ' "$T/worker1.reloads")
[ "$runs" -eq "$syncs" ] || fail "$runs reload runs for $syncs syncs"
pass "reload ran once per applied sync ($runs)"

# cluster_control -i shows each worker in sync.
wait_for 10 "health in sync" sh -c "'$CTL' -H '$M' -i | grep -c 'In sync: yes' | grep -qx 2"
pass "health shows the workers in sync"
finish
