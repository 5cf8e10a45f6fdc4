# A cluster whose key sits in key_file: the nodes connect with it, and on
# SIGHUP the file is read again like the rest of the configuration: a new
# key in it applies to new connections (established links go on), a file
# others may read fails the reload.
. "$(dirname "$0")/lib.sh"

(umask 077; echo "$KEY" > "$T/cluster.key")
conf_cluster
for n in master1 worker1 worker2; do
	sed -i "s|^key .*|key_file $T/cluster.key|" "$T/$n.conf"
done
start master1
start worker1
start worker2
wait_for 10 "workers connected" listed master1 worker1 worker2
pass "nodes connect with the key of key_file"

echo de6c102ce03db74e9d9eea23c9fada41 > "$T/cluster.key"
kill -HUP "$(pid_of master1)"
wait_for 5 "reload logged" log_has master1 'Configuration reloaded'
log_has master1 'Reload: the cluster key is new; new connections use the key' ||
	fail "a new key in key_file was not applied"
sleep 1
listed master1 worker1 worker2 || fail "workers lost after the reload"
pass "a changed key file applies to new connections; links stay up"

chmod 644 "$T/cluster.key"
kill -HUP "$(pid_of master1)"
wait_for 5 "bad reload refused" log_has master1 'keeping the running configuration'
listed master1 worker1 worker2 || fail "workers lost after a refused reload"
pass "a key file others may read fails the reload"
finish
