#!/usr/bin/env bash
# Make a NoCloud-style seed disk for the appliance: a small FAT volume
# labelled CIDATA holding clusterd.seed (and, for a balancer, the cluster
# description it names).  No mount and no loop device: mtools writes it.
#   appliance/mkseed.sh OUT.img SEEDFILE [CLUSTER.JSON]
# Attach OUT.img as a second disk (qemu: -drive file=OUT.img,format=raw).
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 OUT.img SEEDFILE [CLUSTER.JSON]" >&2; exit 2; }
out=$1 seed=$2 json=${3:-}
rm -f "$out"
mkfs.fat -n CIDATA -C "$out" 2048 >/dev/null
mcopy -i "$out" "$seed" ::/clusterd.seed
[ -z "$json" ] || mcopy -i "$out" "$json" "::/$(basename "$json")"
