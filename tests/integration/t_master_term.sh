# Fencing on the workers', balancers' and standbys' side (docs/ha.md): a
# node refuses a master whose term is lower than one it already accepted.
# roguepeer poses as a master and answers each node's hellos with terms
# 5, then 3 (a deposed master), then 7: a worker, a balancer and a standby
# master following the files (its etcd unreachable: it stays a standby)
# keep the master of term 5, drop the one of term 3 at its hello, before
# any request, and keep the one of term 7.
. "$(dirname "$0")/lib.sh"

ROGUE=$BIN/roguepeer
write_conf worker1 worker
write_conf lb1 balancer "haproxy_socket $T/no-haproxy.sock"
write_conf master2 master "ha_etcd 127.0.0.1:$((PORT + 3))"
"$ROGUE" -M -p "$PORT" -k "$KEY" -c itest -T 5,3,7 -W 3 > "$T/rogue.out" 2>&1 &
RPID=$!
PIDS+=("$RPID")
sleep 0.2
start worker1
start lb1
start master2
wait "$RPID" || fail "roguepeer did not see the three nodes through terms 5, 3, 7: $(cat "$T/rogue.out")"
for n in worker1 lb1 master2; do
	got=$(grep "^$n term" "$T/rogue.out" | tr '\n' ';')
	[ "$got" = "$n term 5: kept;$n term 3: dropped;$n term 7: kept;" ] ||
		fail "$n: $got"
	log_has "$n" "Master at 127.0.0.1 has term 3, older than term 5 already seen: a deposed master, refused." ||
		fail "$n did not log the refusal"
done
pass "a worker, a balancer and a standby refuse a master of an older term than one they accepted, and accept a newer one"
finish
