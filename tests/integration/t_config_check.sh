# clusterd -t validates a file and reports every error as FILE:LINE: reason.
. "$(dirname "$0")/lib.sh"

write_conf master1 master
"$CLUSTERD" -t -c "$T/master1.conf" 2>"$T/out" || fail "valid config rejected: $(cat "$T/out")"
grep -q "configuration OK" "$T/out" || fail "no OK line"

cat > "$T/bad.conf" <<CONF
node_name bad/name
node_type boss
key short
port 99999
frobnicate yes
CONF
"$CLUSTERD" -t -c "$T/bad.conf" 2>"$T/out" && fail "bad config accepted"
grep -q "^$T/bad.conf:1: invalid name" "$T/out" || fail "line 1: $(cat "$T/out")"
grep -q "^$T/bad.conf:2: node_type must be" "$T/out" || fail "line 2"
grep -q "^$T/bad.conf:3: key must be exactly 32 characters" "$T/out" || fail "line 3"
grep -q "^$T/bad.conf:4: port must be" "$T/out" || fail "line 4"
grep -q "^$T/bad.conf:5: unknown option \"frobnicate\"" "$T/out" || fail "line 5"
pass "every error reported with file and line"

"$CLUSTERD" -f -c "$T/bad.conf" 2>/dev/null && fail "started with a bad config"
"$CLUSTERD" -t -c "$T/missing.conf" 2>"$T/out" && fail "missing file accepted"
grep -q "missing.conf: No such file" "$T/out" || fail "missing file message"
pass "refuses to start on errors"
finish
