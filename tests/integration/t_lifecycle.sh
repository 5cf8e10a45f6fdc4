# Signals and files: SIGHUP reopens the log, SIGTERM stops cleanly, the
# control socket is owner-only, and cluster_control fails clearly without
# a daemon.
. "$(dirname "$0")/lib.sh"

write_conf master1 master
start master1
wait_for 10 "master up" listed master1 master1

perm=$(stat -c %a "$T/master1/queue/cluster/c-socket")
[ "$perm" = 600 ] || fail "control socket mode $perm"
perm=$(stat -c %a "$T/master1/queue/cluster")
[ "$perm" = 700 ] || fail "control dir mode $perm"
[ "$(cat "$T/master1/var/run/clusterd.pid")" = "$(pid_of master1)" ] || fail "pid file"
pass "socket and pid file"

mv "$T/master1/logs/cluster.log" "$T/master1/logs/cluster.log.1"
sed -i 's/^log_level .*//' "$T/master1.conf"
echo "log_level debug" >> "$T/master1.conf"
kill -HUP "$(pid_of master1)"
wait_for 5 "log reopened" test -f "$T/master1/logs/cluster.log"
wait_for 5 "reload logged" log_has master1 'Configuration reloaded'
pass "SIGHUP reopens the log and reloads"

echo "bogus_option 1" >> "$T/master1.conf"
kill -HUP "$(pid_of master1)"
wait_for 5 "bad reload refused" log_has master1 'keeping the running configuration'
listed master1 master1 || fail "master died on a bad reload"
pass "bad reload keeps the running configuration"

kill -TERM "$(pid_of master1)"
wait "$(pid_of master1)"
rc=$?
[ "$rc" -eq 0 ] || fail "exit status $rc after SIGTERM"
[ ! -e "$T/master1/queue/cluster/c-socket" ] || fail "socket left behind"
[ ! -e "$T/master1/var/run/clusterd.pid" ] || fail "pid file left behind"
log_has master1 'Stopped\.' || fail "no stop line"
pass "SIGTERM stops cleanly"

out=$(ctl master1 -l 2>&1)
rc=$?
[ "$rc" -eq 3 ] || fail "cluster_control exit $rc without a daemon"
grep -q "Is clusterd running?" <<<"$out" || fail "message: $out"
"$CTL" >/dev/null 2>&1
[ $? -eq 2 ] || fail "usage error exit status"
pass "cluster_control errors"
finish
