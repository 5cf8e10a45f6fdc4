# Centralized agent configuration through the VIP: every agent of the lab,
# enrolled without a group, is in default and receives its merged.mg from
# the worker it reached through the balancers; an edit of
# etc/shared/default/agent.conf on the master reaches every agent, and the
# master's registry shows each one synced with the new sum.
. "$(dirname "$0")/testlib.sh"

DB=$LAB_RUN/master/queue/db/global.db
MERGED=$LAB_RUN/master/etc/shared/default/merged.mg

# synced_count SUM: agents the registry shows synced with merged sum SUM.
synced_count() {
	python3 - "$DB" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=5)
print(db.execute("SELECT count(*) FROM agent WHERE merged_sum = ? AND "
                 "group_config_status = 'synced'", (sys.argv[2],)).fetchone()[0])
PY
}
all_synced() { [ "$(synced_count "$1")" -eq "$LAB_AGENTS" ]; }

lab_up
sum0=$(md5sum < "$MERGED" | cut -d' ' -f1)
lab_wait 60 all_synced "$sum0" ||
	fail "$(synced_count "$sum0") of $LAB_AGENTS agents synced with default's merged.mg"
pass "all $LAB_AGENTS agents in default, synced with its merged.mg"

t0=$(lab_now)
printf '<agent_config>\n  <labels><label key="lab">%s</label></labels>\n</agent_config>\n' \
	"$t0" > "$LAB_RUN/master/etc/shared/default/agent.conf"
changed() { [ "$(md5sum < "$MERGED" | cut -d' ' -f1)" != "$sum0" ]; }
lab_wait 10 changed || fail "the master did not rebuild default's merged.mg"
sum1=$(md5sum < "$MERGED" | cut -d' ' -f1)
pass "merged.mg rebuilt $(lab_elapsed "$t0" "$(lab_now)") s after the edit"
lab_wait 120 all_synced "$sum1" ||
	fail "$(synced_count "$sum1") of $LAB_AGENTS agents synced after the edit"
pass "all $LAB_AGENTS agents synced with the edited agent.conf $(lab_elapsed "$t0" "$(lab_now)") s after the edit ($(lab_workers | tr '\n' ' '))"
bad=$(lab_agents_stat shared_bad) || fail "no agent stats"
[ "$bad" -eq 0 ] || fail "$bad shared files with a wrong MD5"
finish
