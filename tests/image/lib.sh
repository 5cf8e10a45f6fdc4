# Helpers of the appliance's boot tests (tests/image/run.sh): boot the built
# qcow2 under qemu with a serial console log, a seed disk and SSH forwarded
# on loopback; wait for the banner; run commands over SSH.
#
# qemu runs TCG (no KVM is assumed), niced, 768 MB per VM; the user network
# is restricted (restrict=on): the guest reaches nothing but the forwarded
# port.  Each VM's files live under $RUN/NAME.

IMAGE=${IMAGE:-$TOP/build/image/clusterd-appliance.qcow2}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-900}
VM_MEM=${VM_MEM:-768}
ACCEL=${ACCEL:-tcg}
PIDS=()

fail() { echo "FAIL: $*"; exit 1; }
elapsed() { echo $(( $(date +%s) - T0 )); }

cleanup_vms() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	PIDS=()
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# vm_start NAME SEEDFILE [extra qemu args...]: boots a copy-on-write layer
# over the image; sets ${NAME}_SSH to the forwarded port.  SEEDFILE "-":
# no seed disk; SEED_JSON=file adds a balancer's cluster description.
vm_start() {
	local name=$1 seed=$2; shift 2
	local d=$RUN/$name port
	mkdir -p "$d"
	qemu-img create -q -f qcow2 -b "$IMAGE" -F qcow2 "$d/disk.qcow2"
	local seed_drive=()
	if [ "$seed" != - ]; then
		"$TOP/appliance/mkseed.sh" "$d/seed.img" "$seed" ${SEED_JSON:-}
		seed_drive=(-drive "file=$d/seed.img,if=virtio,format=raw,readonly=on")
	fi
	port=$(free_port)
	printf -v "${name}_SSH" '%s' "$port"
	nice -n 10 qemu-system-x86_64 -accel "$ACCEL" -m "$VM_MEM" -smp 1 \
		-display none -monitor none -serial "file:$d/console.log" \
		-drive "file=$d/disk.qcow2,if=virtio,format=qcow2" \
		"${seed_drive[@]}" \
		-netdev "user,id=u0,restrict=on,hostfwd=tcp:127.0.0.1:$port-:22" \
		-device virtio-net-pci,netdev=u0 "$@" > "$d/qemu.log" 2>&1 &
	PIDS+=($!)
	echo "$name: qemu pid $!, ssh 127.0.0.1:$port, console $d/console.log"
}

# wait_console NAME PATTERN SECONDS [any]: the console log shows PATTERN
# (grep -E); a first-boot FAILED line ends the wait early unless "any".
wait_console() {
	local d=$RUN/$1 end=$(( $(date +%s) + $3 ))
	while [ "$(date +%s)" -lt "$end" ]; do
		grep -a -q -E "$2" "$d/console.log" 2>/dev/null && return 0
		if [ "${4:-}" != any ] && grep -a -q 'clusterd-appliance: FAILED' "$d/console.log" 2>/dev/null; then
			grep -a 'clusterd-appliance:' "$d/console.log" | tail -n 5
			return 1
		fi
		sleep 5
	done
	return 1
}

vm_ssh() { # NAME COMMAND...
	local port_var="${1}_SSH"; shift
	ssh -q -i "$RUN/id" -p "${!port_var}" -o BatchMode=yes -o ConnectTimeout=20 \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		root@127.0.0.1 "$@"
}

make_ssh_key() {
	[ -f "$RUN/id" ] || ssh-keygen -q -t ed25519 -N '' -C image-test -f "$RUN/id"
}
