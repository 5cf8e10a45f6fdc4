# Cluster key rotation without an outage: the master accepts a next key
# beside its key (key_next, SIGHUP), each node moves to the new key
# (SIGHUP), then the master retires the old one (SIGHUP).  The links made
# before never drop; new connections use the keys in force; a node still
# on the old key is refused once it is retired.
. "$(dirname "$0")/lib.sh"

OLD=$KEY
NEW=$("$CLUSTERD" --genkey)
write_conf master1 master
write_conf worker1 worker
KEY=$NEW write_conf worker2 worker
write_conf stale worker
start master1
start worker1
wait_for 10 "worker1 connected" listed master1 worker1

hup() {
	kill -HUP "$(pid_of "$1")"
}
set_key() {	# set_key NODE KEY
	sed -i "s/^key .*/key $2/" "$T/$1.conf"
}
# links_whole: worker1 connected once and never lost its link.
links_whole() {
	[ "$(log_count worker1 'Successfully connected to master')" -eq 1 ] &&
	[ "$(log_count worker1 'Connection with master lost')" -eq 0 ] &&
	[ "$(log_count master1 '\[Worker worker1\] \[Main\] Disconnected')" -eq 0 ]
}

# Step 1: the master accepts both keys.
echo "key_next $NEW" >> "$T/master1.conf"
"$CLUSTERD" -t -c "$T/master1.conf" || fail "master1.conf with key_next"
hup master1
wait_for 5 "master1 reloads" log_has master1 "Reload: the cluster key is unchanged, with a next key; new connections use either key"
start worker2
wait_for 10 "worker2 (new key) connected" listed master1 worker1 worker2
pass "with key_next, the master admits a node on the new key beside one on the old"

# Step 2: worker1 moves to the new key; its link goes on.
set_key worker1 "$NEW"
hup worker1
wait_for 5 "worker1 reloads" log_has worker1 "Reload: the cluster key is new; new connections use the key"
sleep 1
links_whole || fail "worker1's link dropped when it took the new key"
pass "a worker takes the new key with SIGHUP, its link untouched"

# Step 3: the master retires the old key; established links stay.
set_key master1 "$NEW"
sed -i '/^key_next /d' "$T/master1.conf"
hup master1
wait_for 5 "master1 retires the old key" log_has master1 "Reload: the cluster key is new, the next key retired; new connections use the key"
sleep 2
links_whole || fail "worker1's link dropped when the master retired the old key"
listed master1 worker1 worker2 || fail "a worker left during the rotation"
pass "the master retires the old key with SIGHUP; no link dropped during the rotation"

# New connections: the old key is refused, the new one admitted.
start stale
wait_for 10 "stale refused" log_has master1 'Refused connection from 127\.0\.0\.1: TLS handshake'
not_listed master1 stale || fail "a node on the retired key was admitted"
kill "$(pid_of worker1)"
wait "$(pid_of worker1)" 2>/dev/null
wait_for 10 "worker1 gone" not_listed master1 worker1
start worker1
wait_for 10 "worker1 back on the new key" listed master1 worker1
pass "after the rotation, the old key is refused and a restarted worker joins on the new one"
finish
