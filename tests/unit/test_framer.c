/*
 * framer: an agent connection's byte stream cut into frames.  The same
 * stream gives the same frames whether it is read whole or a byte at a
 * time; a bad length stops it with the header kept; a callback that
 * closes its connection stops it without the framer being touched.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/framer.h"

struct seen {
	int	 n;
	size_t	 len[8];
	uint8_t	 first[8];
	int	 stop_at;	/* return -1 on this frame (1-based), 0: never */
};

static int
record(void *arg, const uint8_t *m, size_t len)
{
	struct seen	*s = arg;

	assert_true(s->n < 8);
	s->len[s->n] = len;
	s->first[s->n] = m[0];
	s->n++;
	return s->n == s->stop_at ? -1 : 0;
}

/* Appends a frame of len bytes, each b, to out at *at. */
static void
put(uint8_t *out, size_t *at, size_t len, uint8_t b)
{
	out[(*at)++] = (uint8_t)(len & 0xff);
	out[(*at)++] = (uint8_t)(len >> 8 & 0xff);
	out[(*at)++] = (uint8_t)(len >> 16 & 0xff);
	out[(*at)++] = (uint8_t)(len >> 24 & 0xff);
	memset(out + *at, b, len);
	*at += len;
}

static size_t
stream(uint8_t *out)
{
	size_t	at = 0;

	put(out, &at, 5, 'a');
	put(out, &at, 1, 'b');
	put(out, &at, 3000, 'c');
	put(out, &at, 65536, 'd');	/* the longest allowed */
	return at;
}

static void
test_whole_and_bytewise_agree(void **state)
{
	static uint8_t	 buf[80000];
	struct framer	 f = { 0 }, g = { 0 };
	struct seen	 a = { 0 }, b = { 0 };
	size_t		 n = stream(buf), i;

	(void)state;
	assert_int_equal(framer_feed(&f, buf, n, record, &a), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(framer_feed(&g, buf + i, 1, record, &b), 0);
	assert_int_equal(a.n, 4);
	assert_int_equal(b.n, 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(a.len[i], b.len[i]);
		assert_int_equal(a.first[i], b.first[i]);
	}
	assert_int_equal(a.len[3], 65536);
	assert_int_equal(a.first[2], 'c');
	assert_null(g.frame);
	framer_free(&f);
	framer_free(&g);
}

/* A partial frame waits for the rest, and the rest completes it. */
static void
test_partial_waits(void **state)
{
	static uint8_t	 buf[80000];
	struct framer	 f = { 0 };
	struct seen	 s = { 0 };
	size_t		 n = stream(buf);

	(void)state;
	assert_int_equal(framer_feed(&f, buf, 20, record, &s), 0);
	assert_int_equal(s.n, 2);		/* a, b; c begun */
	assert_non_null(f.frame);
	assert_int_equal(framer_feed(&f, buf + 20, n - 20 - 1, record, &s),
	    0);
	assert_int_equal(s.n, 3);		/* d lacks a byte */
	assert_int_equal(framer_feed(&f, buf + n - 1, 1, record, &s), 0);
	assert_int_equal(s.n, 4);
	framer_free(&f);
	assert_null(f.frame);
}

static void
test_bad_lengths(void **state)
{
	static const uint8_t	zero[] = { 0, 0, 0, 0, 'x' };
	static const uint8_t	big[] = { 1, 0, 1, 0 };	/* 65537 */
	static const uint8_t	prox[] = "PROXY TCP4 ";
	struct framer		f = { 0 };
	struct seen		s = { 0 };

	(void)state;
	assert_int_equal(framer_feed(&f, zero, sizeof(zero), record, &s),
	    FRAMER_BAD);
	framer_free(&f);
	assert_int_equal(framer_feed(&f, big, 2, record, &s), 0);
	assert_int_equal(framer_feed(&f, big + 2, 2, record, &s), FRAMER_BAD);
	framer_free(&f);
	assert_int_equal(framer_feed(&f, prox, sizeof(prox) - 1, record, &s),
	    FRAMER_BAD);
	assert_memory_equal(f.hdr, "PROX", 4);
	assert_int_equal(s.n, 0);
	framer_free(&f);
}

/* The callback stops the feed, whole frame or gathered one alike. */
static void
test_callback_stops(void **state)
{
	static uint8_t	 buf[80000];
	struct framer	*f = calloc(1, sizeof(*f));
	struct seen	 s = { .stop_at = 1 };
	size_t		 n = stream(buf);

	(void)state;
	assert_non_null(f);
	assert_int_equal(framer_feed(f, buf, n, record, &s), FRAMER_STOPPED);
	assert_int_equal(s.n, 1);
	/* Gathered: c (the third frame) arrives in two pieces. */
	memset(&s, 0, sizeof(s));
	s.stop_at = 3;
	framer_free(f);
	assert_int_equal(framer_feed(f, buf, 100, record, &s), 0);
	assert_int_equal(framer_feed(f, buf + 100, n - 100, record, &s),
	    FRAMER_STOPPED);
	assert_int_equal(s.n, 3);
	assert_null(f->frame);		/* handed over, then freed */
	free(f);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_whole_and_bytewise_agree),
		cmocka_unit_test(test_partial_waits),
		cmocka_unit_test(test_bad_lengths),
		cmocka_unit_test(test_callback_stops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
