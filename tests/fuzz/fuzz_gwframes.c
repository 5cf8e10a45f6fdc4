/*
 * fuzz_gwframes: the agent gateway's frame reader (gateway.c: conn_cb)
 * on an arbitrary byte stream from one agent connection.  Each frame is a
 * 4-byte little-endian length read through secmsg_frame_length (0 and
 * anything over SECMSG_MAX drop the peer), then that many bytes, then the
 * next frame.  Every complete frame goes to secmsg_split and, when it is
 * an agent's message, to secmsg_open with one fixed agent's key (001,
 * web-01, the key of agent-vectors.json) into a SECMSG_MAX + 1 buffer as
 * the gateway's.  The reader stops at the first invalid length or at an
 * incomplete frame.
 *
 * Invariants: the decoded length is the little-endian value of the four
 * bytes; it is refused exactly when it is 0 or > 65536; nothing is read
 * past the input (each header and frame is handed over in a heap copy of
 * its exact size); every byte is either consumed by a complete frame or
 * left over after the stop.
 *
 * Seeds (tests/fuzz/seeds/fuzz_gwframes): the five agent-001 vectors
 * framed, several frames in one stream, #ping, a stream ending in a
 * partial frame, and the lengths 0, 65536 and 65537.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/secmsg.h"

int	LLVMFuzzerInitialize(int *, char ***);
#include "fuzz.h"

#define AGENT_KEY	"c0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ff" \
			"eec0ffeeabcd"

static struct secmsg_key	 key;
static char			*msg;	/* SECMSG_MAX + 1, as gateway.c's */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	CHECK(secmsg_init() == 0);
	secmsg_derive("001", "web-01", AGENT_KEY, &key);
	msg = malloc(SECMSG_MAX + 1);
	CHECK(msg != NULL);
	return 0;
}

/* One complete frame, as gateway.c's frame() takes it. */
static void
frame(const uint8_t *m, size_t len)
{
	struct secmsg_counters	 ctr;
	enum secmsg_cipher	 ci;
	const uint8_t		*ct = NULL;
	const char		*why = NULL;
	char			 id[SECMSG_ID_MAX];
	size_t			 ctlen = 0, mlen = 0;

	switch (secmsg_split(m, len, id, &ci, &ct, &ctlen)) {
	case SECMSG_PING:
		CHECK(len == 5);
		return;
	case SECMSG_NO_ID:
	case SECMSG_BAD:
		return;		/* the gateway rejects the connection */
	case SECMSG_OK:
		break;
	default:
		CHECK(!"secmsg_split: unknown kind");
	}
	CHECK(ct > m && ctlen > 0 && ct + ctlen == m + len);
	CHECK(strnlen(id, SECMSG_ID_MAX) < SECMSG_ID_MAX);
	if (secmsg_open(&key, ci, ct, ctlen, msg, SECMSG_MAX + 1, &mlen, &ctr,
	    &why) == -1) {
		CHECK(why != NULL);
		return;
	}
	CHECK(mlen <= SECMSG_MAX && msg[mlen] == '\0');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t	*p = data;
	uint8_t		*hdr, *body;
	size_t		 left = size, consumed = 0;
	uint32_t	 len, want;
	int		 r;

	while (left >= 4) {
		hdr = malloc(4);
		CHECK(hdr != NULL);
		memcpy(hdr, p, 4);
		want = (uint32_t)p[0] | (uint32_t)p[1] << 8 |
		    (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
		len = 0xdeadbeef;
		r = secmsg_frame_length(hdr, &len);
		free(hdr);
		CHECK(len == want);
		if (r != 0) {
			CHECK(r == -1);
			CHECK(len == 0 || len > 65536);
			break;		/* the peer is dropped */
		}
		CHECK(len >= 1 && len <= 65536 && len <= SECMSG_MAX);
		if (left - 4 < len)
			break;		/* wait for the rest */
		body = malloc(len);
		CHECK(body != NULL);
		memcpy(body, p + 4, len);
		frame(body, len);
		free(body);
		p += 4 + (size_t)len;
		left -= 4 + (size_t)len;
		consumed += 4 + (size_t)len;
	}
	CHECK(consumed + left == size && p == data + consumed);
	return 0;
}
