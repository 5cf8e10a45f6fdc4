# Unsafe paths are refused: symlinks on the master are not shared, a
# symlinked folder on a worker is never written through, and files outside
# the set are never touched.
. "$(dirname "$0")/lib.sh"

write_conf master1 master
write_conf worker1 worker
M=$T/master1
W=$T/worker1
mkdir -p "$M/etc/rules/sub" "$M/etc/decoders" "$T/outside" "$W/etc/rules"
echo secret > "$T/outside/secret"
echo '<rule/>' > "$M/etc/rules/ok.xml"
echo '<rule/>' > "$M/etc/rules/sub/x.xml"
ln -s "$T/outside/secret" "$M/etc/rules/link.xml"
ln -s "$T/outside" "$M/etc/decoders/linkdir"
# On the worker: its own config outside the set, and a trap.
echo 'worker local' > "$W/etc/local.conf"
ln -s "$T/outside" "$W/etc/rules/sub"

start master1
start worker1
wait_for 15 "refusal logged" log_has worker1 'symlink or not a folder'
# A refused round is refused whole: nothing of it is applied.
[ ! -e "$W/etc/rules/ok.xml" ] || fail "part of a refused round was applied"
[ -z "$(find "$W/etc" -name '.clusterd-sync.*')" ] || fail "temp files left"
[ ! -e "$T/outside/x.xml" ] || fail "wrote through a symlinked folder"
[ "$(ls "$T/outside")" = secret ] || fail "outside folder changed: $(ls "$T/outside")"
pass "a symlinked folder on the worker is not written through"

# The master never shares its symlinks.
[ ! -e "$W/etc/rules/link.xml" ] || fail "a symlink was shared"
[ ! -e "$W/etc/decoders/linkdir" ] || fail "a symlinked folder was shared"
pass "symlinks on the master are not shared"

# The refusal does not flood the log while the trap stays.
sleep 3
n=$(log_count worker1 'symlink or not a folder')
[ "$n" -eq 1 ] || fail "refusal logged $n times"
pass "refusal logged once"

# Remove the trap: the worker converges, its own files untouched.
rm "$W/etc/rules/sub"
wait_for 40 "converged after the trap is gone" converged master1 worker1
[ "$(cat "$W/etc/local.conf")" = "worker local" ] || fail "local file touched"
pass "converges once the path is safe; files outside the set untouched"
finish
