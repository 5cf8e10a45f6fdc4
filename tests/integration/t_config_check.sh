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

# Weak keys are refused, each on its line, with the way to a good one.
for k in replace-this-with-32-random-char aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa \
    00000000000000000000000000000000 0123456789abcdef0123456789abcdef; do
	KEY=$k write_conf weak master
	"$CLUSTERD" -t -c "$T/weak.conf" 2>"$T/out" && fail "weak key $k accepted"
	grep -q "^$T/weak.conf:4: weak key: .*clusterd --genkey" "$T/out" ||
		fail "weak key $k: $(cat "$T/out")"
done
pass "weak keys refused"

# --genkey: a new key each time, lower-case hex, that -t accepts.
k1=$("$CLUSTERD" --genkey) || fail "--genkey failed"
k2=$("$CLUSTERD" --genkey)
[[ $k1 =~ ^[0-9a-f]{32}$ ]] || fail "--genkey printed \"$k1\""
[ "$k1" != "$k2" ] || fail "--genkey printed the same key twice"
KEY=$k1 write_conf gen master
"$CLUSTERD" -t -c "$T/gen.conf" 2>"$T/out" || fail "generated key refused: $(cat "$T/out")"
pass "--genkey"

# key_file: only a file no one else may read; printed by its path.
"$CLUSTERD" --genkey > "$T/cluster.key"
chmod 644 "$T/cluster.key"
write_conf kf master
sed -i "s|^key .*|key_file $T/cluster.key|" "$T/kf.conf"
"$CLUSTERD" -t -c "$T/kf.conf" 2>"$T/out" && fail "key file of mode 0644 accepted"
grep -q "^$T/kf.conf:4: key_file \"$T/cluster.key\" has mode 0644;.*chmod 600" "$T/out" ||
	fail "mode 0644: $(cat "$T/out")"
chmod 600 "$T/cluster.key"
"$CLUSTERD" -t -d -c "$T/kf.conf" >"$T/print" 2>"$T/out" || fail "key file refused: $(cat "$T/out")"
grep -qx "key_file \"$T/cluster.key\"" "$T/print" || fail "no key_file line: $(cat "$T/print")"
grep -qx 'key "(32 characters)"' "$T/print" || fail "no key line"
echo "key $KEY" >> "$T/kf.conf"
"$CLUSTERD" -t -c "$T/kf.conf" 2>"$T/out" && fail "key and key_file accepted together"
grep -q "both set the key" "$T/out" || fail "key and key_file: $(cat "$T/out")"
pass "key_file"
# -h is a request: the usage on stdout, exit 0; an unknown flag is an
# error: the usage on stderr, exit 2.
out=$("$CLUSTERD" -h 2>/dev/null) || fail "clusterd -h exits $?"
grep -q "^usage: clusterd" <<<"$out" || fail "clusterd -h printed: $out"
"$CLUSTERD" -Z >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] || fail "clusterd -Z exits $rc"
pass "clusterd -h prints the usage and exits 0; an unknown flag exits 2"
finish
