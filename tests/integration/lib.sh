# Helpers for integration tests: real clusterd processes on loopback
# addresses, each node with its own home under a temp dir.  Source it from a
# test; everything started is killed on exit, and logs are printed when the
# test fails.
set -u

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${BIN:-$TOP/build}
CLUSTERD=$BIN/clusterd
CTL=$BIN/cluster_control
KEY=${KEY:-85482860b191589c071454938c1bd2e1}
T=$(mktemp -d /tmp/clusterd-it.XXXXXX)
PIDS=()
FAILED=0
COMPLETED=0	# set by finish: a test that stops early (syntax error) fails

# A base port whose neighbours (cluster, enrollment +100.., gateway
# +200.., helpers +1..+4) are all free on loopback, starting from one
# derived from our pid so parallel runs rarely meet.
free_base() {
	python3 - "$1" <<'PY'
import socket, sys
base = int(sys.argv[1])
for attempt in range(200):
    b = 20000 + (base - 20000 + attempt * 331) % 20000
    ok = True
    for p in [b] + list(range(b + 1, b + 5)) + list(range(b + 101, b + 111)) \
            + list(range(b + 201, b + 211)):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            ok = False
        s.close()
        if not ok:
            break
    if ok:
        print(b)
        sys.exit(0)
sys.exit(1)
PY
}
PORT=${PORT:-$(free_base $((20000 + ($$ * 7) % 20000)))}

cleanup() {
	local rc=$?
	if [ "$rc" -eq 0 ] && [ "$COMPLETED" -ne 1 ]; then
		echo "FAIL: the test ended before its last line" >&2
		rc=1
	fi
	for p in "${PIDS[@]}"; do
		kill -CONT "$p" 2>/dev/null
		kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
	if [ "$rc" -ne 0 ] || [ "$FAILED" -ne 0 ]; then
		for f in "$T"/*/logs/cluster.log "$T"/*.stderr; do
			[ -f "$f" ] || continue
			echo "----- $f"
			grep -v "Keep alive\] Successful" "$f" | tail -n 40
		done
	fi
	rm -rf "$T"
	exit $rc
}
trap cleanup EXIT

fail() {
	FAILED=1
	echo "FAIL: $*" >&2
	exit 1
}

# write_conf NAME TYPE [extra "key value" lines...]: a node config in $T.
# Each node serves enrollment on its own port, $T/NAME.enroll_port, and
# agents (workers) on that port + 100.
NODES=0
write_conf() {
	local name=$1 type=$2 eport
	shift 2
	NODES=$((NODES + 1))
	eport=$((PORT + 100 + NODES))
	echo "$eport" > "$T/$name.enroll_port"
	{
		echo "cluster_name itest"
		echo "node_name $name"
		echo "node_type $type"
		echo "key $KEY"
		echo "master_address 127.0.0.1"
		echo "master_port $PORT"
		echo "bind_address 127.0.0.1"
		echo "port $PORT"
		echo "home $T/$name"
		echo "keepalive_interval 500ms"
		echo "keepalive_timeout 3s"
		echo "request_timeout 2s"
		echo "reconnect_min 200ms"
		echo "reconnect_max 1s"
		echo "enrollment_address 127.0.0.1"
		echo "enrollment_port $eport"
		echo "gateway_address 127.0.0.1"
		echo "gateway_port $((eport + 100))"
		for l in "$@"; do echo "$l"; done
	} > "$T/$name.conf"
}

# start NAME: run clusterd in the foreground for node NAME; sets $LAST_PID.
start() {
	"$CLUSTERD" -f -c "$T/$1.conf" 2>>"$T/$1.stderr" &
	LAST_PID=$!
	PIDS+=("$LAST_PID")
	eval "PID_$1=$LAST_PID"
}

# conf_cluster [LINE...]: the usual three nodes, master1, worker1 and
# worker2, each configured with the extra LINEs.
conf_cluster() {
	write_conf master1 master "$@"
	write_conf worker1 worker "$@"
	write_conf worker2 worker "$@"
}

# start_cluster: start conf_cluster's nodes; return once both workers are
# connected to the master.
start_cluster() {
	start master1
	start worker1
	start worker2
	wait_for 10 "workers connected" listed master1 worker1 worker2
}

pid_of() {
	eval "echo \${PID_$1}"
}

ctl() {
	local home=$1
	shift
	"$CTL" -H "$T/$home" "$@"
}

# wait_for SECONDS DESCRIPTION COMMAND...: poll until COMMAND succeeds,
# for at most SECONDS of wall-clock time.
wait_for() {
	local limit=$1 what=$2 deadline
	shift 2
	deadline=$((SECONDS + limit))
	while [ "$SECONDS" -lt "$deadline" ]; do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	"$@" >/dev/null 2>&1 && return 0
	fail "timed out after ${limit}s waiting for: $what"
}

# listed HOME NAME...: cluster_control -l on HOME lists every NAME.
listed() {
	local home=$1 out n
	shift
	out=$(ctl "$home" -l) || return 1
	for n in "$@"; do
		grep -qE "^$n " <<<"$out" || return 1
	done
}

not_listed() {
	local home=$1 out
	out=$(ctl "$home" -l) || return 1
	! grep -qE "^$2 " <<<"$out"
}

log_has() {
	grep -qE -- "$2" "$T/$1/logs/cluster.log" 2>/dev/null
}

log_count() {
	grep -cE -- "$2" "$T/$1/logs/cluster.log" 2>/dev/null || true
}

pass() {
	echo "ok: $*"
}

# finish: the last line of every test.
finish() {
	COMPLETED=1
}

# tree_sum HOME: "path mode" then "md5 path" of every synchronized file.
tree_sum() {
	(cd "$T/$1" 2>/dev/null || exit 0
	 set -- etc/rules etc/decoders etc/lists etc/shared
	 find "$@" -type f ! -name '.clusterd-sync.*' ! -name '*.swp' ! -name '*.swx' ! -name '*~' ! -name '*.tmp' ! -name '*.lock' -printf '%p %m\n' 2>/dev/null | sort
	 find "$@" -type f ! -name '.clusterd-sync.*' ! -name '*.swp' ! -name '*.swx' ! -name '*~' ! -name '*.tmp' ! -name '*.lock' -print0 2>/dev/null | sort -z |
		xargs -0 -r md5sum)
}

# same_tree A B: the synchronized files of two homes are identical.
same_tree() {
	[ "$(tree_sum "$1")" = "$(tree_sum "$2")" ]
}

# converged MASTER WORKER...: every worker's tree equals the master's.
converged() {
	local m=$1 w ref
	shift
	ref=$(tree_sum "$m")
	for w in "$@"; do
		[ "$(tree_sum "$w")" = "$ref" ] || return 1
	done
}

# log_count_gt HOME PATTERN N: more than N lines of HOME's log match.
log_count_gt() {
	[ "$(log_count "$1" "$2")" -gt "$3" ]
}

# enroll NODE LINE: one real TLS enrollment at NODE's port; prints the answer.
enroll() {
	python3 "$TOP/tests/integration/enroll.py" 127.0.0.1 \
		"$(cat "$T/$1.enroll_port")" "$2"
}

# ctl_json HOME COMMAND-JSON: one raw control request, answer on stdout.
ctl_json() {
	python3 - "$T/$1/queue/cluster/c-socket" "$2" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
print(s.makefile().read(), end="")
PY
}

# agents_digest HOME: the agents digest a node holds (master or worker).
agents_digest() {
	local home=$1
	if [ "$home" = master1 ]; then
		ctl_json "$home" '{"command":"health"}' | python3 -c \
			'import json,sys; print(json.load(sys.stdin)["data"]["nodes"][0]["agents"]["digest"])'
	else
		ctl_json "$home" '{"command":"status"}' | python3 -c \
			'import json,sys; print(json.load(sys.stdin)["data"]["agents"]["digest"])'
	fi
}

# agents_agree HOME...: every node holds the master's agents.
agents_agree() {
	local ref n
	ref=$(agents_digest master1) || return 1
	for n in "$@"; do
		[ "$(agents_digest "$n")" = "$ref" ] || return 1
	done
}

# start_etcd: a one-member etcd on loopback, plain HTTP, for the HA tests;
# sets EC (its client port) and ETCD_PID.  Fails the test without etcd.
start_etcd() {
	command -v etcd >/dev/null || fail "no etcd (scripts/deps.sh installs etcd-server)"
	EC=$((PORT + 3))
	local ep=$((PORT + 4))
	etcd --name e1 --data-dir "$T/etcd" --log-level error \
		--listen-client-urls "http://127.0.0.1:$EC" --advertise-client-urls "http://127.0.0.1:$EC" \
		--listen-peer-urls "http://127.0.0.1:$ep" --initial-advertise-peer-urls "http://127.0.0.1:$ep" \
		--initial-cluster "e1=http://127.0.0.1:$ep" >"$T/etcd.stderr" 2>&1 &
	ETCD_PID=$!
	PIDS+=("$ETCD_PID")
	wait_for 20 "etcd up" curl -sf "http://127.0.0.1:$EC/health"
}
