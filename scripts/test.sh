#!/usr/bin/env bash
# The test command: install what is needed, build, run unit and integration
# tests, the lab's tests (network namespaces), then each fuzz target briefly.  Exits non-zero on any failure.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
scripts/deps.sh
make -s all
make check
# The lab's tests need network namespaces, hence root (CI runs as root).
if [ "$(id -u)" -eq 0 ]; then
	tests/lab/run.sh
else
	echo "test: the lab's tests need root (network namespaces): SKIPPED"
fi
make fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-15}"
