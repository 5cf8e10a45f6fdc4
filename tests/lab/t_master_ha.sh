# The master's high availability in the main lab (LAB_HA=1, docs/ha.md):
# master1 and master2 with an etcd member each, the witness member on lb2,
# keepalived on the master hosts holding the master's VIP, workers and
# balancers that know only that VIP; agents enroll through the agents' VIP
# and HAProxy.
#  a. kill -9 of the active master during 500 concurrent enrollments (all
#     500 connections at once; the kill once 100 have a key): the
#     standby becomes active, the master's VIP moves, enrollment through
#     the agents' VIP works again; every acknowledged key is on the new
#     master and on every worker, no id is given twice; the killed master
#     comes back as a standby.
#  b. the active master cut off from everyone (its link down: no FIN, no
#     RST): it steps down by itself, the other one takes over; once the
#     link is back, exactly one master is active.
#  c. a planned --step-down while agents enroll: the role moves and no
#     enrollment is refused.
# Recovery times are printed, not asserted.
LAB_HA=1
. "$(dirname "$0")/testlib.sh"
command -v etcd >/dev/null || fail "no etcd (scripts/deps.sh installs etcd-server)"

E="python3 $LAB_TOP/tests/integration/enroll.py"
other() { [ "$1" = master1 ] && echo master2 || echo master1; }
# enroll_bg OUT ARGS...: enrollments through the agents' VIP, in the
# background; one "NAME ANSWER" line each in LAB_RUN/OUT.
enroll_bg() {
	local out=$1
	shift
	: > "$LAB_RUN/$out"
	lab_in agents $E "$@" --timeout 20 --out "$LAB_RUN/$out" "$LAB_VIP" 1515 &
	ENROLL_PID=$!
}
acked() { grep -c " OSSEC K:" "$LAB_RUN/$1" 2>/dev/null || echo 0; }
# probe: one enrollment through the agents' VIP answered with a key.
probe() {
	local n=probe-$RANDOM$RANDOM a
	a=$(lab_in agents $E --timeout 5 "$LAB_VIP" 1515 "OSSEC A:'$n'")
	echo "$n $a" >> "$LAB_RUN/via-probe"
	[[ $a == "OSSEC K:"* ]]
}
# keys_on FILE: every acknowledged key (ID NAME IP KEY) in the answers so
# far is in client.keys FILE.
answered() {
	cat "$LAB_RUN"/via-* 2>/dev/null | grep " OSSEC K:" |
	    sed -E "s/^[^ ]+ OSSEC K:'(.*)'$/\1/" | sort
}
keys_on() { [ -z "$(comm -23 <(answered) <(sort "$1" 2>/dev/null))" ]; }
no_two_active() { ! { lab_ha_is master1 active && lab_ha_is master2 active; }; }

lab_up
A=$(lab_master)
[ "$A" = master1 ] || fail "master1 is not the first active master ($A)"
lab_mvip_on master1 || fail "the master's VIP is on $(lab_mvip_holder)"
lab_ha_is master2 standby || fail "master2 is $(lab_ha_state master2)"
pass "master1 active (term $(lab_term)) with the master's VIP, master2 standby"

# ---- a. kill -9 during 500 concurrent enrollments ----
# All 500 open at once would be answered in a few commits, before a kill
# could land among them: their arrivals are spread over 3 s instead.
enroll_bg via-a --many 500 --concurrency 500 --spread 3 --prefix a
LAB_POLL=0.02 lab_wait 60 eval '[ "$(acked via-a)" -ge 100 ]' || fail "enrollments before the kill: $(acked via-a)"
B=$(other "$A")
t0=$(lab_now)
kill -9 "$(lab_pidof "$A/var/run/clusterd.pid")"
at_kill=$(acked via-a)
lab_wait 30 lab_ha_is "$B" active || fail "$B did not become active"
echo "figure: kill -9 of the active master to $B active: $(lab_elapsed "$t0" "$(lab_now)") s"
lab_wait 30 lab_mvip_on "$B" || fail "the master's VIP did not move ($(lab_mvip_holder))"
echo "figure: kill -9 to the master's VIP on $B: $(lab_elapsed "$t0" "$(lab_now)") s"
LAB_POLL=0.05 lab_wait 30 probe || fail "no enrollment answered through the agents' VIP: $(tail -n 1 "$LAB_RUN/via-probe")"
echo "figure: kill -9 to the first enrollment answered through the agents' VIP: $(lab_elapsed "$t0" "$(lab_now)") s"
wait "$ENROLL_PID"
[ "$(wc -l < "$LAB_RUN/via-a")" -eq 500 ] || fail "$(wc -l < "$LAB_RUN/via-a") of 500 enrollments answered or failed"
refused=$(grep -vc " OSSEC K:" "$LAB_RUN/via-a")
[ "$at_kill" -lt 500 ] || fail "every enrollment was answered before the kill: nothing was tested"
echo "note: $at_kill of 500 had a key at the kill, $(acked via-a) once answered; $refused refused or cut ($(grep -v " OSSEC K:" "$LAB_RUN/via-a" | cut -d' ' -f2- | sort | uniq -c | sort -rn | head -3 | tr -s ' ' | tr '\n' ';'))"
# The agents that got no key enroll again, as agents do: an agent
# retries until it has a key, so up to three rounds, a second apart.
grep -v " OSSEC K:" "$LAB_RUN/via-a" | cut -d' ' -f1 > "$LAB_RUN/retry"
for round in 1 2 3; do
	[ -s "$LAB_RUN/retry" ] || break
	[ "$round" -eq 1 ] || sleep 1
	enroll_bg "via-a$((round + 1))" --names "$LAB_RUN/retry" --concurrency 50
	wait "$ENROLL_PID"
	grep -v " OSSEC K:" "$LAB_RUN/via-a$((round + 1))" > "$LAB_RUN/retry-left"
	[ -s "$LAB_RUN/retry-left" ] &&
	    echo "note: enrolling again, round $round: $(wc -l < "$LAB_RUN/retry-left") without a key ($(cut -d' ' -f2- "$LAB_RUN/retry-left" | sort | uniq -c | head -n 2 | tr -s ' ' | tr '\n' ';'))"
	cut -d' ' -f1 "$LAB_RUN/retry-left" > "$LAB_RUN/retry"
done
[ ! -s "$LAB_RUN/retry" ] ||
    fail "enrolling again after the takeover, three times: $(head -n 2 "$LAB_RUN/retry-left" | tr '\n' ' ')"
dups=$(answered | cut -d' ' -f1 | uniq -d | wc -l)
[ "$dups" -eq 0 ] || fail "$dups ids given twice"
[ "$(answered | wc -l)" -ge 500 ] || fail "only $(answered | wc -l) keys acknowledged"
lab_wait 20 keys_on "$LAB_RUN/$B/etc/client.keys" ||
    fail "$(comm -23 <(answered) <(sort "$LAB_RUN/$B/etc/client.keys") | wc -l) acknowledged keys missing on $B"
for w in "${LAB_WORKERS[@]}"; do
	lab_wait 30 keys_on "$LAB_RUN/$w/etc/client.keys" ||
	    fail "$(comm -23 <(answered) <(sort "$LAB_RUN/$w/etc/client.keys") | wc -l) acknowledged keys missing on $w"
done
pass "kill -9: $B active with the master's VIP; all 500 agents enrolled (the $refused cut off enrolled again), $(answered | wc -l) acknowledged keys on $B and every worker, no id twice"
lab_clusterd_start "$A" || fail "$A did not start again"
lab_wait 20 lab_ha_is "$A" standby || fail "$A came back $(lab_ha_state "$A")"
lab_ha_is "$B" active || fail "$B is no longer active"
pass "$A came back as a standby, $B still active (term $(lab_term))"

# ---- b. the active master cut off from everyone ----
A=$B
B=$(other "$A")
lab_wait 20 lab_mvip_on "$A" || fail "the master's VIP is on $(lab_mvip_holder)"
t0=$(lab_now)
ip -n "$LAB_PREFIX$A" link set eth0 down
lab_wait 30 lab_ha_is "$B" active || fail "$B did not become active"
echo "figure: partition of the active master to $B active: $(lab_elapsed "$t0" "$(lab_now)") s"
lab_wait 30 lab_mvip_on "$B" || fail "the master's VIP did not move ($(lab_mvip_holder))"
echo "figure: partition to the master's VIP on $B: $(lab_elapsed "$t0" "$(lab_now)") s"
LAB_POLL=0.05 lab_wait 30 probe || fail "no enrollment answered through the agents' VIP: $(tail -n 1 "$LAB_RUN/via-probe")"
echo "figure: partition to the first enrollment answered through the agents' VIP: $(lab_elapsed "$t0" "$(lab_now)") s"
lab_wait 20 lab_ha_is "$A" standby || fail "the isolated $A is $(lab_ha_state "$A")"
grep -q "No longer the active master" "$LAB_RUN/$A/logs/cluster.log" || fail "$A did not log its stepping down"
pass "the isolated $A stepped down by itself; $B active with the master's VIP"
ip -n "$LAB_PREFIX$A" link set eth0 up
end=$((SECONDS + 5))
while [ "$SECONDS" -lt "$end" ]; do
	no_two_active || fail "two active masters once the link was back"
	sleep 0.1
done
one_active() { [ "$(lab_ha_state master1)/$(lab_ha_state master2)" = "active/standby" ] ||
    [ "$(lab_ha_state master1)/$(lab_ha_state master2)" = "standby/active" ]; }
lab_wait 20 one_active || fail "not exactly one active master: $(lab_ha_state master1)/$(lab_ha_state master2)"
lab_wait 20 eval '[ "$(lab_mvip_holder)" = "$(lab_master)" ]' ||
    fail "the master's VIP on $(lab_mvip_holder), $(lab_master) active"
pass "link back: exactly one active master ($(lab_master)), the master's VIP on its host only"

# ---- c. a planned --step-down while agents enroll ----
A=$(lab_master)
B=$(other "$A")
lab_wait 30 probe || fail "enrollment before the step-down"
enroll_bg via-c --many 300 --concurrency 20 --prefix c
lab_wait 60 eval '[ "$(acked via-c)" -ge 50 ]' || fail "enrollments before the step-down: $(acked via-c)"
t0=$(lab_now)
"$LAB_BIN/cluster_control" -H "$LAB_RUN/$A" --step-down >/dev/null || fail "--step-down on $A"
lab_wait 30 lab_ha_is "$B" active || fail "$B did not become active"
echo "figure: --step-down to $B active: $(lab_elapsed "$t0" "$(lab_now)") s"
lab_wait 30 lab_mvip_on "$B" || fail "the master's VIP did not move ($(lab_mvip_holder))"
echo "figure: --step-down to the master's VIP on $B: $(lab_elapsed "$t0" "$(lab_now)") s"
wait "$ENROLL_PID"
refused=$(grep -v " OSSEC K:" "$LAB_RUN/via-c")
[ -z "$refused" ] || fail "$(wc -l <<<"$refused") of 300 enrollments refused across the step-down: $(cut -d' ' -f2- <<<"$refused" | sort | uniq -c | head -n 3 | tr '\n' ' ')"
lab_wait 20 lab_ha_is "$A" standby || fail "$A is $(lab_ha_state "$A") after its step-down"
lab_wait 20 keys_on "$LAB_RUN/$B/etc/client.keys" || fail "acknowledged keys missing on $B"
pass "--step-down: $B active with the master's VIP, 300 enrollments all answered with a key, $A standby"
finish
