/*
 * fuzz_gwframes: the agent gateway's frame reader (agent/framer.c, as
 * gateway.c's conn_cb feeds it) on an arbitrary byte stream from one
 * agent connection.  Each frame is a 4-byte little-endian length (0 and
 * anything over SECMSG_MAX drop the peer), then that many bytes.  The
 * first input byte sets a read size (1 to 256); the rest is the stream,
 * fed once whole and once in reads of that size.  Every frame of the
 * whole feed goes to secmsg_split and, when it is an agent's message, to
 * secmsg_open with one fixed agent's key (001, web-01, the key of
 * agent-vectors.json) into a SECMSG_MAX + 1 buffer as the gateway's.
 *
 * Invariants: both feeds give the same frames (count, lengths, bytes)
 * and end the same way (a bad length or all bytes taken); every frame is
 * 1 to 65536 bytes and lies within what was fed (ASan checks each byte);
 * a stream cut inside a frame keeps no frame out.
 *
 * Seeds (tests/fuzz/seeds/fuzz_gwframes): the five agent-001 vectors
 * framed, several frames in one stream, #ping, a stream ending in a
 * partial frame, and the lengths 0, 65536 and 65537 (each after a read
 * size byte).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/framer.h"
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

/* What a feed gave: frames, bytes, and a running hash of both. */
struct tally {
	size_t		n, bytes;
	uint64_t	h;
	int		open;	/* pass each frame to secmsg as the gateway */
};

/* One complete frame, as gateway.c's frame() takes it. */
static void
check_frame(const uint8_t *m, size_t len)
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

static int
count(void *arg, const uint8_t *m, size_t len)
{
	struct tally	*t = arg;
	size_t		 i;

	CHECK(len >= 1 && len <= SECMSG_MAX);
	t->n++;
	t->bytes += len;
	t->h = (t->h ^ len) * 1099511628211ull;
	for (i = 0; i < len; i++)
		t->h = (t->h ^ m[i]) * 1099511628211ull;
	if (t->open)
		check_frame(m, len);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct framer	 whole = { 0 }, parts = { 0 };
	struct tally	 a = { .open = 1 }, b = { 0 };
	size_t		 step, at;
	int		 ra, rb = 0;

	if (size < 1)
		return 0;
	step = (size_t)data[0] + 1;
	data++;
	size--;
	ra = framer_feed(&whole, data, size, count, &a);
	for (at = 0; at < size && rb == 0; at += step)
		rb = framer_feed(&parts, data + at, size - at < step ?
		    size - at : step, count, &b);
	CHECK(ra == 0 || ra == FRAMER_BAD);
	CHECK(ra == rb);
	CHECK(a.n == b.n && a.bytes == b.bytes && a.h == b.h);
	CHECK(a.bytes + 4 * a.n <= size);
	CHECK((whole.frame == NULL) == (parts.frame == NULL));
	framer_free(&whole);
	framer_free(&parts);
	return 0;
}
