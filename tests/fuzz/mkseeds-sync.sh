#!/bin/sh
# Write the seed corpora of fuzz_bundle and fuzz_index: a few small valid
# bundles and indexes, and a few that must be refused.  The seeds are
# committed; run this again only to change them.
#   tests/fuzz/mkseeds-sync.sh [DIR]     (default tests/fuzz/seeds)
# fuzz_bundle inputs start with a byte: bit 0 set means the rest is a raw
# record stream (the harness compresses it), clear a zlib stream; the
# other bits are the piece size it is fed in (0: all at once).
set -e
dir=${1:-$(dirname "$0")/seeds}
mkdir -p "$dir/fuzz_bundle" "$dir/fuzz_index"

python3 - "$dir" <<'PY'
import hashlib, json, os, struct, sys, zlib

d = sys.argv[1]

def w(sub, name, data):
    with open(os.path.join(d, sub, name), "wb") as f:
        f.write(data)

# The files fuzz_bundle.c expects, with the same contents.
files = [("etc/rules/a.xml", b"a"), ("etc/rules/sub/b.xml", b"bb"),
         ("etc/rules/empty.xml", b""), ("etc/decoders/d.xml", b"<decoder/>"),
         ("etc/client.keys", b"001 k\n")]

def rec(path, data, mode=0o644, size=None):
    p = path.encode() if isinstance(path, str) else path
    return (struct.pack(">H", len(p)) + p + struct.pack(">IQ", mode,
            len(data) if size is None else size) + data)

END = b"\0\0"
good = b"".join(rec(p, c) for p, c in files) + END

w("fuzz_bundle", "all_zlib", b"\x00" + zlib.compress(good, 6))
w("fuzz_bundle", "all_zlib_pieces3", bytes([3 << 1]) + zlib.compress(good, 6))
w("fuzz_bundle", "all_raw", b"\x01" + good)
w("fuzz_bundle", "one_raw", b"\x01" + rec("etc/rules/sub/b.xml", b"bb") + END)
w("fuzz_bundle", "empty_bundle", b"\x01" + END)
w("fuzz_bundle", "stale_raw", b"\x01" + rec("etc/rules/a.xml", b"A") + END)
w("fuzz_bundle", "dup_raw", b"\x01" + rec("etc/client.keys", b"001 k\n") * 2
  + END)
w("fuzz_bundle", "outside_raw", b"\x01" + rec("etc/rules/../../x", b"x") + END)
w("fuzz_bundle", "trailing_raw", b"\x01" + good + b"x")
w("fuzz_bundle", "short_raw", b"\x03" + rec("etc/rules/a.xml", b"a", size=9)
  + END)

idx = [[p, hashlib.md5(c).hexdigest(), 0o644] for p, c in files]
idx[-1][2] = 0o640
digest = hashlib.md5()
for p, h, m in sorted(idx):
    digest.update(p.encode() + b"\0" + ("%s %o\n" % (h, m)).encode())
doc = {"digest": digest.hexdigest(), "files": idx}
text = json.dumps(doc, separators=(",", ":")).encode()
w("fuzz_index", "index.json", text)
w("fuzz_index", "index.zlib", zlib.compress(text, 6))
w("fuzz_index", "empty.json", b'{"files":[]}')
w("fuzz_index", "dup.json", json.dumps({"files": [idx[0], idx[0]]}).encode())
w("fuzz_index", "outside.json", json.dumps({"files": [["etc/ossec.conf",
  idx[0][1], 420]]}).encode())
w("fuzz_index", "bad_mode.json", json.dumps({"files": [[idx[0][0],
  idx[0][1], 4096]]}).encode())
PY
