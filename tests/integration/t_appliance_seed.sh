# The appliance's first-boot seed parser (appliance/overlay/.../setup check)
# takes what docs/appliance.md documents and refuses, naming the key, every
# value that could carry a line or a shell character into clusterd.conf,
# networkd or a root shell; and the lab's Vagrantfile validates with the
# seeds it writes accepted by the same parser.
. "$(dirname "$0")/lib.sh"
SETUP=$TOP/appliance/overlay/usr/lib/clusterd-appliance/setup

cat > "$T/good.seed" <<SEED
# a worker
role=worker
cluster_name=lab
node_name=worker-1
cluster_key=$KEY
master_address=198.18.0.2
interface=eth1
address=198.18.0.3/24
gateway=198.18.0.1
dns=198.18.0.1, 198.18.0.53
proxy_from=198.18.0.11,198.18.0.12
agent_check_port=1518
ready_timeout=300
ssh_authorized_key=ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx0ZXN0a2V5dGVzdGtleXRlc3RrZXl0ZXN0a2V5 admin@lab
SEED
printf 'role=master\r\nnode_name=m1\r\n' > "$T/crlf.seed"
bash "$SETUP" check "$T/good.seed" > "$T/out" || fail "good seed refused: $(cat "$T/out")"
grep -q -x "address=198.18.0.3/24" "$T/out" || fail "address not read: $(cat "$T/out")"
grep -q -x "cluster_key=$KEY" "$T/out" || fail "key not read"
bash "$SETUP" check "$T/crlf.seed" > "$T/out" || fail "CRLF seed refused: $(cat "$T/out")"
grep -q -x "node_name=m1" "$T/out" || fail "CRLF not stripped"
pass "a seed with every documented key is read"

bad() { # expected-key line
	printf '%s\n' "$2" > "$T/bad.seed"
	if bash "$SETUP" check "$T/bad.seed" > "$T/out" 2>&1; then
		fail "accepted: $2"
	fi
	grep -q "FAILED: seed.*$1" "$T/out" || fail "refusal of '$2' does not name $1: $(cat "$T/out")"
}
bad role 'role=boss'
bad node_name 'node_name=a b'
bad node_name 'node_name=x;reboot'
bad cluster_name 'cluster_name=$(id)'
bad cluster_key 'cluster_key=short'
bad cluster_key 'cluster_key=0123456789abcdef0123456789abcde#'
bad master_address 'master_address=10.0.0.1;ls'
bad address 'address=198.18.0.3'
bad interface 'interface=eth0 up'
bad proxy_from 'proxy_from=1.2.3.4 x'
bad agent_check_port 'agent_check_port=0'
bad ready_timeout 'ready_timeout=10m'
bad ssh_authorized_key 'ssh_authorized_key=command="sh" ssh-ed25519 AAAA'
bad frobnicate 'frobnicate=1'
bad 'line 1' 'just words'
pass "bad values refused, each naming its key"

# The Vagrantfile: vagrant validate (provider blocks are for plugins this
# machine may lack), in a copy so its lab key lands in the copy's .vagrant.
if command -v vagrant >/dev/null; then
	mkdir -p "$T/vagrant"
	cp "$TOP/Vagrantfile" "$T/vagrant/"
	(cd "$T/vagrant" && VAGRANT_HOME=$T/vagrant-home vagrant validate --ignore-provider) \
		> "$T/out" 2>&1 || fail "vagrant validate: $(tail -n 5 "$T/out")"
	grep -q "validated successfully" "$T/out" || fail "vagrant validate: $(cat "$T/out")"
	# Every node's seed, as the Vagrantfile writes it, passes the parser.
	(cd "$T/vagrant" && ruby -e '
		module Vagrant; def self.configure(*) end; end
		load "Vagrantfile"
		File.write("master.seed", seed("master", "master1", 2))
		File.write("worker.seed", seed("worker", "worker1", 3))
		File.write("lb1.seed", seed("balancer", "lb1", 11))
		File.write("cluster.json", JSON.generate(DESCRIPTION))') ||
		fail "cannot evaluate the Vagrantfile's seeds"
	for s in master worker lb1; do
		bash "$SETUP" check "$T/vagrant/$s.seed" > "$T/out" ||
			fail "the Vagrantfile's $s seed is refused: $(cat "$T/out")"
	done
	python3 "$TOP/lb/render.py" --cluster "$T/vagrant/cluster.json" --balancer lb1 \
		--out "$T/vagrant/lb1" > "$T/out" 2>&1 || fail "render refuses the lab's description: $(cat "$T/out")"
	pass "vagrant validate passes; the lab's seeds and description are accepted"
else
	echo "skip: vagrant is not installed (scripts/deps.sh)"
fi
finish
