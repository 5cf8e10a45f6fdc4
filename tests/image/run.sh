#!/usr/bin/env bash
# Boot tests of the appliance image under qemu (make image-test).  Needs a
# built image (make image) and root only for nothing: qemu runs as the user.
#   tests/image/run.sh            every t_*.sh here
#   ONLY=t_boot_master tests/image/run.sh
# IMAGE=path picks another qcow2, ACCEL=kvm uses KVM where it works,
# BOOT_TIMEOUT bounds each VM's wait for its banner (900 s: TCG is slow).
#
# These tests stay out of `make check` and CI: under TCG on two shared
# cores one boot takes minutes and the two-VM test twice that, beside a
# 4-minute image build; see README.md.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP/tests/image"
[ -f "${IMAGE:-$TOP/build/image/clusterd-appliance.qcow2}" ] ||
	{ echo "image-test: no image: run 'make image' first"; exit 1; }
pass=0 failed=0
for t in t_*.sh; do
	name=${t%.sh}
	[ -z "${ONLY:-}" ] || [ "$ONLY" = "$name" ] || continue
	echo "== $name"
	start=$(date +%s)
	if bash "$t"; then
		pass=$((pass + 1)); echo "-- $name passed in $(( $(date +%s) - start ))s"
	else
		failed=$((failed + 1)); echo "-- $name FAILED after $(( $(date +%s) - start ))s"
	fi
done
echo "image-test: $pass passed, $failed failed"
[ "$failed" -eq 0 ]
