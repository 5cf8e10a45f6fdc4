#!/usr/bin/env bash
# The test command: install what is needed, build, run unit and integration
# tests, then each fuzz target briefly.  Exits non-zero on any failure.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
scripts/deps.sh
make -s all
make check
make fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-15}"
