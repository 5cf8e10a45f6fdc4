# kill -9 of the master during 500 concurrent enrollments (half through the
# master, half through a worker), then restart: every agent that received
# OSSEC K: is in the registry with its key and known to every worker, and
# no id was given twice.  The agents left without an answer then retry
# under the same names: every one gets a key, and those registered before
# the kill get that registration again (enrollment_retry_window).
. "$(dirname "$0")/lib.sh"

conf_cluster
start_cluster

E="python3 $TOP/tests/integration/enroll.py"
$E --many 250 --concurrency 25 --prefix m --timeout 10 --out "$T/via-master" \
	127.0.0.1 "$(cat "$T/master1.enroll_port")" &
c1=$!
$E --many 250 --concurrency 25 --prefix w --timeout 10 --out "$T/via-worker" \
	127.0.0.1 "$(cat "$T/worker1.enroll_port")" &
c2=$!
answered() { [ "$(cat "$T"/via-* 2>/dev/null | grep -c "OSSEC K:")" -ge "$1" ]; }
wait_for 60 "100 keys handed out" answered 100
kill -9 "$(pid_of master1)"
wait "$c1" "$c2"
got=$(cat "$T"/via-* | grep -c "OSSEC K:")
all=$(cat "$T"/via-* | wc -l)
[ "$all" -eq 500 ] || fail "only $all of 500 clients finished"
[ "$got" -lt 500 ] || fail "the kill came too late to test anything ($got keys)"
pass "$got of 500 agents got a key before the kill; the rest an error"

# No id given twice, in the answers.
dups=$(grep -ho "OSSEC K:'[0-9]*" "$T"/via-* | sort | uniq -d | wc -l)
[ "$dups" -eq 0 ] || fail "$dups ids handed out twice"

start master1
wait_for 15 "workers back" listed master1 worker1 worker2
cp "$T/master1/etc/client.keys" "$T/keys.restart"	# what survived the kill
# Every answered key is in the registry (client.keys mirrors it).
grep -h "OSSEC K:" "$T"/via-* | sed -E "s/^[^ ]+ OSSEC K:'(.*)'$/\1/" | sort > "$T/keys.answered"
# client.keys is written from the registry as the master starts.
missing=$(comm -23 "$T/keys.answered" <(sort "$T/master1/etc/client.keys") | wc -l)
[ "$missing" -eq 0 ] || fail "$missing answered agents missing from the registry"
dupreg=$(cut -d' ' -f1 "$T/master1/etc/client.keys" | sort | uniq -d | wc -l)
[ "$dupreg" -eq 0 ] || fail "duplicate ids in the registry"
pass "every answered agent is in the registry after the restart, ids unique"

wait_for 15 "workers hold the master's agents" agents_agree worker1 worker2
# Every answered key is in worker2's own client.keys too.
worker_has_all() { [ "$(comm -23 "$T/keys.answered" <(sort "$T/worker2/etc/client.keys") | wc -l)" -eq 0 ]; }
wait_for 5 "every answered key in worker2's client.keys" worker_has_all
pass "every answered key is known to every worker"

# The restarted master goes on from the highest id, never reusing one.
n=$(enroll master1 "OSSEC A:'after-restart'")
id=$(sed -E "s/^OSSEC K:'([0-9]+) .*/\1/" <<<"$n")
max=$(cut -d' ' -f1 "$T/keys.answered" | sort -n | tail -1)
[ "$((10#$id))" -gt "$((10#$max))" ] || fail "id $id not above $max"
pass "new ids continue above every id handed out"

# The unanswered agents retry, each through the node it used first, from
# the same address, as agents do.
for via in master:master1 worker:worker1; do
	grep -v "OSSEC K:" "$T/via-${via%%:*}" | cut -d' ' -f1 > "$T/retry-${via%%:*}.names"
	$E --names "$T/retry-${via%%:*}.names" --concurrency 25 --timeout 10 \
		--out "$T/retry-${via%%:*}" 127.0.0.1 "$(cat "$T/${via#*:}.enroll_port")"
done
retried=$(cat "$T"/retry-*.names | wc -l)
keys=$(cat "$T"/retry-master "$T"/retry-worker | grep -c "OSSEC K:")
[ "$keys" -eq "$retried" ] || fail "$((retried - keys)) of $retried retries refused: $(grep -hv "OSSEC K:" "$T"/retry-master "$T"/retry-worker | head -3)"
# Those registered before the kill (in client.keys, never answered) got
# their registration again, same id and key; the others a new one.
same=0
while read -r name ans; do
	line=$(sed -E "s/^OSSEC K:'(.*)'$/\1/" <<<"$ans")
	if grep -q "^[0-9]* $name " "$T/keys.restart"; then
		grep -qxF "$line" "$T/keys.restart" || fail "$name: not its registration: $line"
		same=$((same + 1))
	fi
done < <(cat "$T"/retry-master "$T"/retry-worker)
pass "all $retried unanswered agents got a key on retry; $same of them their lost registration"
finish
