# The master's disk fills up while agents enroll.  The master's etc and
# queue (client.keys, the registry queue/db/global.db) live on a small
# tmpfs of the test's own, filled with a file.  Enrollment must answer an
# error (no hang, the master stays up), log the failure once, lose no
# agent that got a key (registry and client.keys, across a restart too),
# and work again by itself once the file is deleted.
. "$(dirname "$0")/testlib.sh"

MDISK=$LAB_RUN/mdisk
MDISK_SIZE=${MDISK_SIZE:-16m}
MHOME=$LAB_RUN/master

# Before the master first starts: its etc and queue bound to folders of
# one small tmpfs (its logs stay on the big disk, to be read).
master_disk_on() {
	mkdir -p "$MDISK" "$MHOME/etc" "$MHOME/queue" &&
	mount -t tmpfs -o "size=$MDISK_SIZE,mode=0750" lab-mdisk "$MDISK" &&
	mkdir -m 0750 "$MDISK/etc" "$MDISK/queue" &&
	mount --bind "$MDISK/etc" "$MHOME/etc" &&
	mount --bind "$MDISK/queue" "$MHOME/queue"
}
master_disk_off() {
	local m
	for m in "$MHOME/etc" "$MHOME/queue" "$MDISK"; do
		mountpoint -q "$m" && { umount "$m" || umount -l "$m"; }
	done
}
lab_on_cleanup master_disk_off
LAB_BEFORE_NODES=master_disk_on

# fill: take every byte left (dd stops at ENOSPC).
fill() { dd if=/dev/zero of="$MDISK/filler.$1" bs=64k status=none 2>/dev/null; true; }
free_kb() { df -k --output=avail "$MDISK" | tail -n 1 | tr -d ' '; }
# enroll_many PREFIX N: N agents PREFIX0001.. through the VIP, 4 at a time;
# "NAME ANSWER" lines in LAB_RUN/PREFIX.ans.
enroll_many() {
	lab_in agents python3 "$LAB_TOP/tests/integration/enroll.py" --many "$2" \
	    --concurrency 4 --prefix "$1" --timeout 30 --out "$LAB_RUN/$1.ans" \
	    "$LAB_VIP" 1515
}
# answers PREFIX: "keys errors others" of PREFIX's answers.
answers() {
	awk '$2 == "OSSEC" { k++; next } $2 == "ERROR:" { e++; next } { o++ }
	    END { print k + 0, e + 0, o + 0 }' "$LAB_RUN/$1.ans"
}
keyed() { cat "$LAB_RUN"/*.ans | awk '$2 == "OSSEC" { print $1 }' | sort -u; }
refused() { cat "$LAB_RUN"/*.ans | awk '/ERROR: Internal manager error/ { print $1 }' | sort -u; }
enrolled() { lab_enroll "$1" > "$LAB_RUN/one.ans"; grep -q "^OSSEC K:" "$LAB_RUN/one.ans"; }
# in_registry / in_keys: how many of the agents that got a key are there.
in_registry() { lab_list | awk '{ print $2 }' | sort -u | comm -12 - <(keyed) | wc -l; }
in_keys() { awk '{ print $2 }' "$MHOME/etc/client.keys" | sort -u | comm -12 - <(keyed) | wc -l; }
all_keys() { [ "$(in_keys)" -eq "$(keyed | wc -l)" ]; }
# Agents answered an error that the registry holds anyway (must be none).
ghosts() { lab_list | awk '{ print $2 }' | sort -u | comm -12 - <(refused) | wc -l; }
master_alive() { lab_alive master/var/run/clusterd.pid; }
# The master's log lines about writes failing since the test filled the disk.
write_errors() {
	tail -n "+$log0" "$MHOME/logs/cluster.log" |
	    grep -E "ERROR.*(Registry|Agents).*(full|space|Cannot)" || true
}

lab_up
pass "the master's etc and queue on a $MDISK_SIZE tmpfs, $(free_kb) KiB free"
log0=$(($(wc -l < "$MHOME/logs/cluster.log") + 1))

# Agents enroll while the disk fills up.
enroll_many busy- 500 &
busy=$!
sleep 0.5
fill 1
wait "$busy"
fill 2	# what the master freed meanwhile
read -r k e o <<<"$(answers busy-)"
[ "$o" -eq 0 ] || fail "$o of 500 enrollments got no answer: $(awk '$2 != "OSSEC" && $2 != "ERROR:"' "$LAB_RUN/busy-.ans" | head -n 3 | tr '\n' ' ')"
pass "500 enrollments while the disk filled: $k keys, $e errors, none unanswered"

# SQLite may still commit for a while on a full disk, into the WAL file's
# room (kept by the last checkpoint): such agents are stored, and must be
# kept.  Enroll 20 at a time until the master refuses.
round=0 keys=0 e=0
while [ "$e" -eq 0 ]; do
	round=$((round + 1))
	[ "$round" -le 40 ] || fail "no enrollment refused on a full disk: $keys keys ($(free_kb) KiB free)"
	t0=$(lab_now)
	enroll_many "full$round-" 20
	read -r k e o <<<"$(answers "full$round-")"
	[ "$o" -eq 0 ] || fail "$o of 20 enrollments on a full disk got no answer: $(awk '$2 != "OSSEC" && $2 != "ERROR:"' "$LAB_RUN/full$round-.ans" | head -n 3 | tr '\n' ' ')"
	keys=$((keys + k))
done
pass "on the full disk, after $keys more keys, 20 enrollments: $e answered $(awk '$2 == "ERROR:" { sub(/^[^ ]* /, ""); print; exit }' "$LAB_RUN/full$round-.ans"), $k keys, in $(lab_elapsed "$t0" "$(lab_now)") s"
master_alive || fail "the master died"
n=$(write_errors | wc -l)
[ "$n" -ge 1 ] && [ "$n" -le 3 ] ||
	fail "$n error lines about the full disk in the master's log: $(write_errors | tail -n 5)"
pass "the master is up and logged the failure in $n lines: $(write_errors | sed 's/.*\] //' | tr '\n' '|')"

rm -f "$MDISK"/filler.*
t1=$(lab_now)
lab_wait 60 enrolled after-1 || fail "no enrollment after the disk got space: $(cat "$LAB_RUN/one.ans")"
pass "an enrollment succeeds again $(lab_elapsed "$t1" "$(lab_now)") s after the filler was deleted"
echo "after-1 $(cat "$LAB_RUN/one.ans")" > "$LAB_RUN/after.ans"
enroll_many after- 20
read -r k e o <<<"$(answers after-)"
[ "$k" -eq 20 ] || fail "after the disk got space, $k of 20 enrollments got a key: $(grep -v OSSEC "$LAB_RUN/after-.ans" | head -n 3)"
lab_wait 30 all_keys || fail "client.keys has $(in_keys) of the $(keyed | wc -l) agents that got a key"
pass "client.keys has every agent that got a key $(lab_elapsed "$t1" "$(lab_now)") s after the filler was deleted"
got=$(keyed | wc -l)
[ "$(in_registry)" -eq "$got" ] || fail "the registry has $(in_registry) of the $got agents that got a key"
[ "$(ghosts)" -eq 0 ] || fail "the registry has $(ghosts) agents that were refused"
grep -q "stores changes again" "$MHOME/logs/cluster.log" || fail "no recovery in the master's log"
pass "the registry and client.keys hold all $got agents that got a key, none that was refused"

# And so does the registry on disk, read again by a new master.
pid=$(lab_pidof master/var/run/clusterd.pid)
kill "$pid"
lab_wait 20 eval '! kill -0 '"$pid" || fail "the master did not stop"
lab_clusterd_start master || fail "the master did not start again"
lab_wait 20 lab_list || fail "the restarted master does not answer"
[ "$(in_registry)" -eq "$got" ] || fail "after a restart the registry has $(in_registry) of the $got agents that got a key"
[ "$(ghosts)" -eq 0 ] || fail "after a restart the registry has $(ghosts) agents that were refused"
all_keys || fail "after a restart client.keys has $(in_keys) of the $got agents"
total=$(lab_total)
pass "after a master restart: the registry holds $total agents, every one of the $got that got a key, and client.keys too"
finish
