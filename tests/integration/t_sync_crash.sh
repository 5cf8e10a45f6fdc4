# A sync cut off midway (worker or master killed) leaves every file wholly
# old or wholly new, and the next sync completes it.
. "$(dirname "$0")/lib.sh"

conf_cluster
M=$T/master1
mkdir -p "$M/etc/lists" "$M/etc/rules"
for i in 1 2 3; do
	head -c 9000000 /dev/urandom | base64 -w 100 > "$M/etc/lists/big$i"
done
for i in $(seq 1 200); do echo "<rule id=\"$i\"/>" > "$M/etc/rules/r$i.xml"; done

start master1
start worker1
start worker2
wait_for 60 "initial sync" converged master1 worker1 worker2
pass "initial sync"

# sums HOME: "md5 path" lines of the synchronized files (no temp files).
sums() {
	(cd "$T/$1" && find etc/rules etc/lists -type f ! -name '.clusterd-sync.*' \
		-print0 | sort -z | xargs -0 md5sum)
}
# each_old_or_new HOME OLD NEW: every file's md5 is in OLD or NEW.
each_old_or_new() {
	local home=$1 old=$2 new=$3 line
	while read -r line; do
		grep -qxF "$line" "$old" || grep -qxF "$line" "$new" ||
			fail "$home: torn or foreign file: $line"
	done < <(sums "$home")
}

# --- the worker dies during the transfer ---
sums worker1 > "$T/old"
n=$(log_count worker1 'Files to update')
for f in "$M"/etc/lists/big* "$M"/etc/rules/r*.xml; do echo "v2" >> "$f"; done
sums master1 > "$T/new"
wait_for 30 "worker1 starts the round" log_count_gt worker1 "Files to update" "$n"
kill -9 "$(pid_of worker1)"
wait "$(pid_of worker1)" 2>/dev/null
each_old_or_new worker1 "$T/old" "$T/new"
pass "worker killed mid-sync: every file wholly old or wholly new"

start worker1
wait_for 60 "worker1 converges after restart" converged master1 worker1
leftover=$(find "$T/worker1/etc" -name '.clusterd-sync.*' | wc -l)
[ "$leftover" -eq 0 ] || fail "$leftover temp files left after restart"
pass "restarted worker converges, temp files cleaned"

# --- the master dies during the transfer ---
wait_for 30 "worker2 in sync" converged master1 worker2
cp "$T/new" "$T/old"
n=$(log_count worker2 'Files to update')
for f in "$M"/etc/lists/big* "$M"/etc/rules/r*.xml; do echo "v3" >> "$f"; done
sums master1 > "$T/new"
wait_for 30 "worker2 starts the round" log_count_gt worker2 "Files to update" "$n"
kill -9 "$(pid_of master1)"
wait "$(pid_of master1)" 2>/dev/null
wait_for 10 "worker2 notices" log_has worker2 'Connection with master lost'
each_old_or_new worker2 "$T/old" "$T/new"
pass "master killed mid-sync: every file wholly old or wholly new"

start master1
wait_for 60 "worker2 converges" converged master1 worker2 worker1
leftover=$(find "$T/worker2/etc" -name '.clusterd-sync.*' | wc -l)
[ "$leftover" -eq 0 ] || fail "$leftover temp files left on worker2"
pass "after the master returns every worker converges"
finish
