#!/bin/sh
# Write the seed corpus of fuzz_frame: a few valid frame streams.  The
# seeds are committed; run this again only to change them.
#   tests/fuzz/mkseeds.sh [DIR]     (default tests/fuzz/seeds/fuzz_frame)
set -e
dir=${1:-$(dirname "$0")/seeds/fuzz_frame}
mkdir -p "$dir"

# One byte from its decimal value.
byte() {
	printf "\\$(printf %03o "$1")"
}

# A 4-byte big-endian number.
be32() {
	byte $(($1 >> 24 & 255)); byte $(($1 >> 16 & 255))
	byte $(($1 >> 8 & 255)); byte $(($1 & 255))
}

# frame TYPE FLAGS ID PAYLOAD: a 16-byte header and the payload.
frame() {
	printf 'CLD1'; byte 1; byte 0; byte "$1"; byte "$2"; be32 "$3"
	be32 ${#4}; printf '%s' "$4"
}

hello='{"cluster_name":"wazuh","node_name":"worker1","node_type":"worker","version":"0.1.0"}'
frame 1 0 1 "$hello" > "$dir/hello"
frame 1 1 1 "$hello" > "$dir/hello_response"
frame 1 3 1 '{"error":"duplicate node name"}' > "$dir/hello_refused"
frame 2 0 2 '{}' > "$dir/keepalive"
frame 3 4 3 'raw bytes' > "$dir/binary"
{ frame 2 0 4 '{}'; frame 2 1 4 '{}'; } > "$dir/two_frames"
{ frame 3 0 5 '{"command":"nodes"}'; printf 'CLD1'; byte 1; } > "$dir/then_partial"

# A compressed payload (flag 0x08) when the protocol has it; zlib is
# easiest to produce from python3.
if grep -q FRAME_F_ZLIB "$(dirname "$0")/../../clusterd/src/net/frame.h" &&
    command -v python3 >/dev/null; then
	python3 - "$dir/zlib" <<'PY'
import struct, sys, zlib
z = zlib.compress(b'{"files":[' + b'{"p":"etc/a","h":"00"},' * 40 +
    b'{}]}', 1)
open(sys.argv[1], "wb").write(b"CLD1" + struct.pack(">BBBBII", 1, 0, 3, 8,
    6, len(z)) + z)
PY
fi
