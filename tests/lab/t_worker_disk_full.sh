# A worker's archive disk fills up while its agents send events.  Its
# logs/archives is a small tmpfs of the test's own, filled with a file.
# The worker must stop taking agents (agent-check "down #reason": HAProxy
# marks it down), its agents must be active on the other workers within
# seconds, the master must show the reason in -l and --pools, the failure
# must be logged once (no flood while it lasts), and once the file is
# deleted the worker must come back by itself: UP in HAProxy, agents moved
# back to it by rebalancing, the recovery logged once.  On the way, the
# registry shows each agent's own addresses through HAProxy.
. "$(dirname "$0")/testlib.sh"

W=worker1
WDISK=$LAB_RUN/$W/logs/archives
WDISK_SIZE=${WDISK_SIZE:-4m}
LAB_EVENT_RATE=${LAB_EVENT_RATE:-2}	# events a second from each agent
WLOG=$LAB_RUN/$W/logs/cluster.log
REASON="cannot write logs/archives/archives.json: No space left on device"

# Before the worker first starts: its archives on one small tmpfs (its
# cluster.log stays on the big disk, to be read and counted).
worker_disk_on() {
	mkdir -p "$WDISK" &&
	mount -t tmpfs -o "size=$WDISK_SIZE,mode=0750" lab-wdisk "$WDISK"
}
worker_disk_off() {
	mountpoint -q "$WDISK" && { umount "$WDISK" || umount -l "$WDISK"; }
}
lab_on_cleanup worker_disk_off
LAB_BEFORE_NODES=worker_disk_on

fill() { dd if=/dev/zero of="$WDISK/filler" bs=64k status=none 2>/dev/null; true; }
free_kb() { df -k --output=avail "$WDISK" | tail -n 1 | tr -d ' '; }
wctl() { "$LAB_BIN/cluster_control" -H "$LAB_RUN/$W" "$@"; }
wstat() { wctl --stats | awk -v m="$1" '$1 == m { print $2 }'; }
# The worker's log since the disk filled, without keepalive lines.
wlog_since() { tail -n "+$log0" "$WLOG" | grep -v "Keep alive" || true; }
wlog_count() { wlog_since | grep -c -- "$1" || true; }
shows_reason() { lab_ctl -l | grep -qE "^$W .* $REASON\$"; }
shows_ok() { lab_ctl -l | grep -qE "^$W .* ok\$"; }

lab_up
# Through HAProxy's PROXY headers the registry has each agent's own
# addresses: the agents' host it connects from, the one it reports.
addrs=$(lab_ctl -a --json | python3 -c '
import json, sys
print(" ".join(sorted({"%s/%s" % (a["source_ip"], a["reported_ip"][:3])
    for a in json.load(sys.stdin)["data"]})))')
[ "$addrs" = "${LAB_ADDR[agents]}/10." ] || fail "agents' addresses in the registry: $addrs"
pass "every agent's source address is the agents' host ${LAB_ADDR[agents]}, its reported one 10.x.y.z"
lab_ids "$W" > "$LAB_RUN/$W.ids"
n=$(wc -w < "$LAB_RUN/$W.ids")
[ "$n" -gt 0 ] || fail "$W serves no agent"
lab_wait 10 test -s "$WDISK/archives.json" || fail "$W archives nothing"
pass "$W serves $n agents sending $LAB_EVENT_RATE events a second each; its archives on a $WDISK_SIZE tmpfs, $(free_kb) KiB free"

log0=$(($(wc -l < "$WLOG") + 1))
t0=$(lab_now)
fill
lab_wait 15 lab_server_is lb1 workers_agents "$W" DOWN ||
	fail "lb1 has $W $(lab_server lb1 workers_agents "$W") ($(free_kb) KiB free)"
pass "HAProxy marked $W down $(lab_elapsed "$t0" "$(lab_now)") s after its disk filled"
lab_wait 30 lab_moved "$(since "$t0")" "$W" "$LAB_RUN/$W.ids" ||
	fail "$W's agents are not all active elsewhere: $(lab_workers | tr '\n' ' ')"
pass "$W's $n agents active on the other workers $(lab_elapsed "$t0" "$(lab_now)") s after its disk filled ($(lab_workers | tr '\n' ' '))"
lab_wait 10 shows_reason || fail "-l: $(lab_ctl -l)"
lab_ctl --pools | grep -qE "^$W .* $REASON\$" || fail "--pools: $(lab_ctl --pools)"
pass "the master shows '$REASON' for $W in -l and --pools"

sleep 10	# a while full: agents that come back are refused, quietly
lab_none_active "$W" || fail "the master shows $(lab_active "$W") agents active on $W while its disk is full"
[ "$(wstat clusterd_gateway_agents)" = 0 ] || fail "$W serves agents while full"
[ "$(wlog_count "Cannot store agents' events")" -eq 1 ] ||
	fail "the failure logged $(wlog_count "Cannot store agents' events") times: $(wlog_since | tail -n 5)"
lines=$(wlog_since | wc -l)
[ "$lines" -le 10 ] || fail "$lines lines in $W's log since its disk filled: $(wlog_since | tail -n 5)"
pass "while full: $lines log lines in $(lab_elapsed "$t0" "$(lab_now)") s (the failure once), $(wstat clusterd_gateway_events_unstored_total) events counted not stored, $(wstat 'clusterd_gateway_rejected_total{reason="not_storing"}') connections refused"
wlog_since | sed 's/^/    /'

rm -f "$WDISK/filler"
t1=$(lab_now)
lab_wait 20 lab_server_is lb1 workers_agents "$W" UP ||
	fail "lb1 has $W $(lab_server lb1 workers_agents "$W") after the filler was deleted"
pass "HAProxy has $W up again $(lab_elapsed "$t1" "$(lab_now)") s after the filler was deleted"
lab_wait 10 shows_ok || fail "-l after recovery: $(lab_ctl -l)"
lab_wait 60 lab_some_active "$W" || fail "$W got no agent back: $(lab_workers | tr '\n' ' ')"
pass "$W serves agents again $(lab_elapsed "$t1" "$(lab_now)") s after the filler was deleted ($(lab_workers | tr '\n' ' '))"
lab_wait 30 lab_all_ready "$(since "$t1")" ||
	fail "$(lab_ready "$(since "$t1")") of $LAB_AGENTS agents active"
[ "$(wlog_count "stored again")" -eq 1 ] || fail "recovery logged $(wlog_count "stored again") times"
[ "$(wlog_count "Cannot store agents' events")" -eq 1 ] || fail "the failure logged again"
python3 - "$WDISK/archives.json" <<'PY' || fail "archive lines"
import json, sys
lines = open(sys.argv[1]).read().split("\n")[:-1]
for l in lines:
    json.loads(l)
PY
pass "all $LAB_AGENTS agents active; $W's log has $(wlog_since | wc -l) lines since its disk filled; its archive file only whole JSON lines"
finish
