#!/usr/bin/env bash
# The test command: install what is needed, build, run unit and integration
# tests, the lab's tests (network namespaces), then each fuzz target
# briefly.  Every stage runs even when one before failed; the last lines
# are a summary, one per stage with its counts and time, and the exit
# status is non-zero on any failure.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
LOGS=$(mktemp -d /tmp/clusterd-test.XXXXXX)
SUMMARY=()
FAILED=0

# stage NAME COMMAND...: run it, its output shown and kept; one summary
# line with its result, its own "N passed, M failed" lines and its time.
stage() {
	local name=$1 start rc counts
	shift
	start=$(date +%s)
	"$@" 2>&1 | tee "$LOGS/$name.log"
	rc=${PIPESTATUS[0]}
	counts=$(grep -E '^[a-z]+: [0-9]+ passed, [0-9]+ failed' "$LOGS/$name.log" |
		tr '\n' ';' | sed 's/;$//; s/;/; /g')
	if [ "$rc" -eq 0 ]; then
		SUMMARY+=("$(printf 'PASS %-12s %5ss  %s' "$name" $(($(date +%s) - start)) "$counts")")
	else
		FAILED=1
		SUMMARY+=("$(printf 'FAIL %-12s %5ss  %s (exit %d; log %s)' "$name" \
			$(($(date +%s) - start)) "$counts" "$rc" "$LOGS/$name.log")")
	fi
	return "$rc"
}

# A unit run's own count: how many test binaries passed.
unit_counts() {
	local rc
	make -s unit 2>&1 | tee "$LOGS/unit.raw"
	rc=${PIPESTATUS[0]}
	echo "unit: $(grep -c '^\[  PASSED  \]' "$LOGS/unit.raw") passed," \
	    "$(grep -cE '^\[  FAILED  \] [0-9]+ test' "$LOGS/unit.raw") failed"
	return "$rc"
}

if stage deps scripts/deps.sh && stage build make -s all; then
	stage layers make -s layers
	stage unit unit_counts
	stage integration tests/integration/run.sh
	# The lab's tests need network namespaces, hence root (CI runs as root).
	if [ "$(id -u)" -eq 0 ]; then
		stage lab tests/lab/run.sh
	else
		SUMMARY+=("SKIP lab           the lab's tests need root (network namespaces)")
	fi
	stage fuzz make fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-8}"
fi

# The failing tests' own reasons, again, right above the summary: CI shows
# only the end of the output, after the logs each failure dumps.
if grep -hq '^FAIL: ' "$LOGS"/*.log 2>/dev/null; then
	echo
	echo "== failures"
	grep -h '^FAIL: ' "$LOGS"/*.log | head -n 40
fi
echo
echo "== summary (logs in $LOGS)"
printf '%s\n' "${SUMMARY[@]}"
exit "$FAILED"
