#!/usr/bin/env bash
# Run every lab test (t_*.sh; root, network namespaces): each starts a lab
# of its own and removes it.  Prints the tests' ok:/FAIL: lines and a
# summary; ONLY=NAME runs the tests whose file name contains NAME.
cd "$(dirname "$0")" || exit 2
if [ "$(id -u)" -ne 0 ]; then
	echo "FAIL: the lab tests need root for network namespaces"
	exit 1
fi
make -C ../.. -s all || exit 1
passed=0 failed=0
for t in t_*.sh; do
	[ -n "${ONLY:-}" ] && [[ $t != *"$ONLY"* ]] && continue
	echo "== $t"
	start=$(date +%s.%N)
	if bash "$t"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: $t"
	fi
	awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "   (%.1fs)\n", b - a }'
done
echo "lab: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
