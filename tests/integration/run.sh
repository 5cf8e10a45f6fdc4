#!/usr/bin/env bash
# Run every integration test (t_*.sh) and print a summary line.
cd "$(dirname "$0")" || exit 2
passed=0 failed=0 failures=()
for t in t_*.sh; do
	[ -n "${ONLY:-}" ] && [[ $t != *"$ONLY"* ]] && continue
	start=$(date +%s.%N)
	if bash "$t" > "/tmp/it-$$.out" 2>&1; then
		passed=$((passed + 1))
		printf 'PASS %-32s %5.1fs\n' "$t" "$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')"
	else
		failed=$((failed + 1))
		failures+=("$t")
		printf 'FAIL %-32s\n' "$t"
		sed 's/^/    /' "/tmp/it-$$.out"
	fi
	rm -f "/tmp/it-$$.out"
done
echo "integration: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
