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
