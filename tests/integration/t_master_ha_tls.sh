# Master high availability with TLS to etcd (ha_etcd_ca, ha_etcd_cert,
# ha_etcd_key): etcd requires client certificates.  A master with the
# right CA and a client certificate is elected and enrolls; the agent's
# record is in etcd.  A master without a client certificate, and one that
# trusts another CA, never gets a lease: they stay standby, logging why.
. "$(dirname "$0")/lib.sh"

command -v etcd >/dev/null || { echo "FAIL: no etcd (scripts/deps.sh installs etcd-server)"; finish; exit 1; }

# A CA, etcd's certificate for 127.0.0.1, a client certificate; another CA.
pki() {
	local d=$T/pki
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=test-ca" -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=other-ca" -keyout "$d/other.key" -out "$d/other.pem" 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj "/CN=etcd" -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
	openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
		-CAcreateserial -days 2 -out "$d/server.pem" \
		-extfile <(printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n') 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj "/CN=master" -keyout "$d/client.key" -out "$d/client.csr" 2>/dev/null
	openssl x509 -req -in "$d/client.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
		-CAcreateserial -days 2 -out "$d/client.pem" \
		-extfile <(printf 'extendedKeyUsage=clientAuth\n') 2>/dev/null
	chmod 600 "$d"/*.key
}
pki || fail "openssl"
D=$T/pki
EC=$((PORT + 3)) EP=$((PORT + 4))
etcd --name e1 --data-dir "$T/etcd" --log-level error \
	--cert-file "$D/server.pem" --key-file "$D/server.key" \
	--client-cert-auth --trusted-ca-file "$D/ca.pem" \
	--listen-client-urls "https://127.0.0.1:$EC" --advertise-client-urls "https://127.0.0.1:$EC" \
	--listen-peer-urls "http://127.0.0.1:$EP" --initial-advertise-peer-urls "http://127.0.0.1:$EP" \
	--initial-cluster "e1=http://127.0.0.1:$EP" >"$T/etcd.stderr" 2>&1 &
PIDS+=("$!")
healthy() { curl -sf --cacert "$D/ca.pem" --cert "$D/client.pem" --key "$D/client.key" "https://127.0.0.1:$EC/health"; }
wait_for 20 "etcd up" healthy

ha_state() {
	ctl_json "$1" '{"command":"ha"}' | python3 -c \
		'import json,sys; print(json.load(sys.stdin)["data"]["state"])'
}
is_active() { [ "$(ha_state "$1")" = active ]; }

write_conf master1 master "ha_etcd 127.0.0.1:$EC" "ha_lease_ttl 2s" \
	"ha_etcd_ca $D/ca.pem" "ha_etcd_cert $D/client.pem" "ha_etcd_key $D/client.key"
start master1
wait_for 15 "master1 active over TLS" is_active master1
log_has master1 "over TLS" || fail "master1 does not say it speaks TLS to etcd"
ans=$(enroll master1 "OSSEC A:'tls-agent'")
grep -q "OSSEC K:" <<<"$ans" || fail "enrollment: $ans"
id=$(sed -E "s/^OSSEC K:'([0-9]+) .*/\1/" <<<"$ans")
rec=$(ETCDCTL_API=3 etcdctl --endpoints "https://127.0.0.1:$EC" --cacert "$D/ca.pem" \
	--cert "$D/client.pem" --key "$D/client.key" get --print-value-only "/clusterd/itest/a/$id")
grep -q '"name":"tls-agent"' <<<"$rec" || fail "the agent's record is not in etcd: $rec"
pass "a master with a client certificate is elected over TLS; the agent's record is in etcd"

write_conf master2 master "ha_etcd 127.0.0.1:$EC" "ha_lease_ttl 2s" "ha_etcd_ca $D/ca.pem"
sed -i 's/^bind_address .*/bind_address 127.0.0.2/' "$T/master2.conf"
write_conf master3 master "ha_etcd 127.0.0.1:$EC" "ha_lease_ttl 2s" \
	"ha_etcd_ca $D/other.pem" "ha_etcd_cert $D/client.pem" "ha_etcd_key $D/client.key"
sed -i 's/^bind_address .*/bind_address 127.0.0.3/' "$T/master3.conf"
start master2
start master3
kill -9 "$(pid_of master1)"
wait_for 15 "master2 says why" log_has master2 "Cannot get a lease: .*TLS"
wait_for 15 "master3 says why" log_has master3 "Cannot get a lease: .*TLS.*certificate verify failed"
sleep 3
[ "$(ha_state master2)" = standby ] || fail "master2 without a client certificate is $(ha_state master2)"
[ "$(ha_state master3)" = standby ] || fail "master3 trusting another CA is $(ha_state master3)"
pass "without a client certificate, or trusting another CA, a master never takes the role"
finish
