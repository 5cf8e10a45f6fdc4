# A rolling upgrade from the previous minor release, as docs/upgrade.md
# says: a cluster of clusterd 0.2 (built from its last commit), the master
# upgraded first (the 0.2 workers rejoin it), then each worker; agents and
# their ids survive, and a node newer than its master is refused.
. "$(dirname "$0")/lib.sh"

# The previous release, built once from git and kept in build/.
OLD_REF=${OLD_REF:-3af15c69ad55156017e62261f1b9f454e548c519}	# 0.2.0
OLD=$BIN/old-${OLD_REF:0:12}/clusterd
if [ ! -x "$OLD" ]; then
	src=$(mktemp -d "$T/old.XXXXXX")
	git -C "$TOP" archive "$OLD_REF" | tar -x -C "$src" || fail "git archive $OLD_REF"
	nice make -s -C "$src" build/clusterd >"$T/old-build.log" 2>&1 ||
		fail "building $OLD_REF: $(tail -5 "$T/old-build.log")"
	mkdir -p "$(dirname "$OLD")" && cp "$src/build/clusterd" "$OLD.tmp" && mv "$OLD.tmp" "$OLD"
fi
old_v=$("$OLD" -V | awk '{ print $2 }')
new_v=$("$CLUSTERD" -V | awk '{ print $2 }')
[ "${old_v%.*}" != "${new_v%.*}" ] || fail "$OLD_REF is $old_v, the same minor as $new_v"

# start_with BINARY NAME: start node NAME with that clusterd.
start_with() {
	"$1" -f -c "$T/$2.conf" 2>>"$T/$2.stderr" &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
	eval "PID_$2=$LAST_PID"
}
stop() {
	kill "$(pid_of "$1")"
	wait "$(pid_of "$1")" 2>/dev/null
}
version_of() {	# version_of NODE: its VERSION in cluster_control -l
	ctl master1 -l | awk -v n="$1" '$1 == n { print $3 }'
}

conf_cluster
write_conf early worker
start_with "$OLD" master1
start_with "$OLD" worker1
start_with "$OLD" worker2
wait_for 15 "the $old_v cluster is up" listed master1 worker1 worker2
enroll worker1 "OSSEC A:'up-1'" | grep -q "^OSSEC K:'001 " || fail "enroll on $old_v"
# A node upgraded before its master cannot join it.
start early
sleep 3
not_listed master1 early || fail "a $new_v node joined a $old_v master"
log_has early "Could not connect to master: .*a master older than this node" ||
	fail "the early node's log does not say why"
stop early
pass "a $old_v cluster runs; a $new_v node cannot join its $old_v master (master first)"

# The master first: the $old_v workers rejoin the $new_v master.
stop master1
t0=$(date +%s.%N)
start master1
wait_for 20 "the $old_v workers rejoin" listed master1 worker1 worker2
echo "workers back on the upgraded master in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')s"
[ "$(version_of master1)" = "$new_v" ] && [ "$(version_of worker1)" = "$old_v" ] ||
	fail "versions: $(ctl master1 -l)"
ctl master1 -a | grep -q "^001 .*up-1" || fail "agent 001 lost in the master's upgrade"
pass "master upgraded to $new_v: the $old_v workers rejoin, agent 001 kept"

# Then each worker.
for w in worker1 worker2; do
	stop "$w"
	start "$w"
	wait_for 20 "$w back" eval "[ \"\$(version_of $w)\" = $new_v ]"
done
listed master1 worker1 worker2 || fail "a worker missing after the upgrade"
id=$(enroll worker2 "OSSEC A:'up-2'" | sed -n "s/^OSSEC K:'\([0-9]*\) .*/\1/p")
[ "$id" = 002 ] || fail "the first enrollment after the upgrade got id $id"
pass "workers upgraded one by one; the cluster runs $new_v, the next agent is 002"
finish
