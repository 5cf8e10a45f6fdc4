#!/usr/bin/env bash
# Dependencies between clusterd's source folders point down only:
#   base <- net <- {sync, agent, lb, uplink} <- {master, worker, balancer}
#        <- {daemon, cli}
# A file may include headers of its own folder and of lower ranks, never of
# its own rank's other folders or above.  Prints each violation; exits 1.
set -eu
cd "$(dirname "$0")/../clusterd/src"
declare -A RANK=([base]=0 [net]=1 [sync]=2 [agent]=2 [lb]=2 [uplink]=2
	[master]=3 [worker]=3 [balancer]=3 [daemon]=4 [cli]=4)
bad=0
for f in */*.[ch]; do
	dir=${f%%/*}
	[ -n "${RANK[$dir]+x}" ] || { echo "layers: $f: folder $dir has no rank"; bad=1; continue; }
	while IFS= read -r inc; do
		to=${inc%%/*}
		[ "$to" = "$dir" ] && continue
		if [ -z "${RANK[$to]+x}" ] || [ "${RANK[$to]}" -ge "${RANK[$dir]}" ]; then
			echo "layers: $f includes $inc (${dir} may use only lower layers)"
			bad=1
		fi
	done < <(sed -n 's/^#include "\([a-z_]*\/[a-z_]*\.h\)"$/\1/p' "$f")
done
[ $bad -eq 0 ] && echo "layers: every include points down"
exit $bad
