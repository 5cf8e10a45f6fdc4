# Helpers for the lab's tests: each test runs a lab of its own (its own
# namespace prefix and run directory, so it never meets a user's lab from
# scripts/lab.sh), and tears it down on exit, failure included; logs are
# printed when it fails.
LAB_PREFIX=${LAB_PREFIX:-clt$$-}
LAB_RUN=${LAB_RUN:-$(mktemp -d /tmp/clusterd-lab.XXXXXX)}
LAB_AGENTS=${LAB_AGENTS:-60}
. "$(dirname "${BASH_SOURCE[0]}")/lablib.sh"

FAILED=0
COMPLETED=0	# set by finish: a test that stops early fails
LAB_CLEANUP=()	# lab_on_cleanup's commands

# lab_on_cleanup COMMAND...: run COMMAND at the end, failure included, once
# the lab is stopped and before its run directory is removed (to unmount
# what a test mounted there, say).
lab_on_cleanup() { LAB_CLEANUP+=("$*"); }

lab_test_cleanup() {
	local rc=$? f
	if [ "$rc" -eq 0 ] && [ "$COMPLETED" -ne 1 ]; then
		echo "FAIL: the test ended before its last line"
		rc=1
	fi
	lab_stop >/dev/null 2>&1
	for f in "${LAB_CLEANUP[@]}"; do
		eval "$f" >/dev/null 2>&1
	done
	if [ "$rc" -ne 0 ] || [ "$FAILED" -ne 0 ]; then
		for f in "$LAB_RUN"/*/logs/cluster.log "$LAB_RUN"/*/keepalived.log \
		    "$LAB_RUN"/*/haproxy.log "$LAB_RUN"/agents.log "$LAB_RUN"/impair.log; do
			[ -f "$f" ] || continue
			echo "----- $f"
			grep -v "Keep alive\] Successful" "$f" | tail -n 15
		done
	fi
	rm -rf "${LAB_RUN:?}"
	exit "$rc"
}
trap lab_test_cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	FAILED=1
	echo "FAIL: $*"
	exit 1
}

pass() { echo "ok: $*"; }
finish() { COMPLETED=1; }

[ "$(id -u)" -eq 0 ] || fail "the lab needs root for network namespaces"
[ -x "$LAB_BIN/clusterd" ] || fail "build first (make -s all)"

# lab_up: a whole lab, every agent active, the VIP on lb1.
lab_up() {
	lab_start > "$LAB_RUN/start.log" 2>&1 || fail "the lab did not start: $(tail -n 3 "$LAB_RUN/start.log" | tr '\n' ' ')"
	grep -q "skipping clusterd's balancer role" "$LAB_RUN/start.log" &&
	    echo "note: $(grep -m1 "skipping" "$LAB_RUN/start.log")"
	pass "lab up: $LAB_AGENTS agents active ($(lab_workers | tr '\n' ' ')), VIP on $(lab_vip_holder)"
}

# since T: the first whole second after T (last_keepalive has seconds).
since() { echo $(( ${1%.*} + 1 )); }

# lab_worker_lost W T0 HOW [UNDO]: after a quiet fault on worker W at T0
# (HOW says which, for the messages): HAProxy marks W down, every agent it
# served (listed in LAB_RUN/W.ids) is active on another worker, the master
# shows none of them active on W and drops W.  UNDO runs before a failure
# (to continue a stopped process, say).  Prints each time.
lab_worker_lost() {
	local w=$1 t0=$2 how=$3 undo=${4:-:} n
	n=$(wc -w < "$LAB_RUN/$w.ids")
	lab_wait 15 lab_server_is lb1 workers_agents "$w" DOWN ||
		{ eval "$undo"; fail "lb1 still has $w $(lab_server lb1 workers_agents "$w")"; }
	pass "HAProxy marked $w down $(lab_elapsed "$t0" "$(lab_now)") s after $how"
	lab_wait 30 lab_moved "$(since "$t0")" "$w" "$LAB_RUN/$w.ids" ||
		{ eval "$undo"; fail "$w's agents are not all active elsewhere: $(lab_workers | tr '\n' ' ')"; }
	pass "$w's $n agents active on the others $(lab_elapsed "$t0" "$(lab_now)") s after $how"
	lab_wait 30 lab_none_active "$w" ||
		{ eval "$undo"; fail "the master still shows $(lab_active "$w") agents active on $w"; }
	pass "the master shows no agent active on $w $(lab_elapsed "$t0" "$(lab_now)") s after $how"
	lab_wait 15 lab_node_gone "$w" ||
		{ eval "$undo"; fail "the master still lists $w"; }
	pass "the master dropped $w $(lab_elapsed "$t0" "$(lab_now)") s after $how (keepalive_timeout 8 s)"
	lab_wait 15 lab_all_ready "$(since "$t0")" "$w" ||
		{ eval "$undo"; fail "$(lab_ready "$(since "$t0")" "$w") of $LAB_AGENTS agents active elsewhere"; }
}

# lab_worker_back W T1 HOW: once the fault is undone at T1, W rejoins the
# master, HAProxy has it UP again, rebalancing (every 10 s in the lab)
# gives it agents, and every agent is active.  Prints each time.
lab_worker_back() {
	local w=$1 t1=$2 how=$3
	lab_wait 40 lab_node_up "$w" || fail "$w did not rejoin the master"
	pass "$w rejoined the master $(lab_elapsed "$t1" "$(lab_now)") s after $how"
	lab_wait 20 lab_server_is lb1 workers_agents "$w" UP ||
		fail "lb1 has $w $(lab_server lb1 workers_agents "$w")"
	lab_wait 60 lab_some_active "$w" ||
		fail "$w got no agent back: $(lab_workers | tr '\n' ' ')"
	pass "$w serves agents again $(lab_elapsed "$t1" "$(lab_now)") s after $how ($(lab_workers | tr '\n' ' '))"
	lab_wait 30 lab_all_ready "$(since "$t1")" ||
		fail "$(lab_ready "$(since "$t1")") of $LAB_AGENTS agents active"
}
