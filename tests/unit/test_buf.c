/*
 * test_buf: the growable byte buffer behind every socket queue.  The
 * contents must survive growth and compaction byte for byte, and a buffer
 * used as a queue must stay at its working size.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"

/* Byte i of a test stream: not periodic at any power of two. */
static uint8_t
pat(size_t i)
{
	return (uint8_t)(i * 7 + i / 251);
}

static void
fill(uint8_t *p, size_t from, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		p[i] = pat(from + i);
}

/* The unread bytes are exactly stream bytes [from, from + n). */
static void
check_stream(const struct buf *b, size_t from, size_t n)
{
	const uint8_t	*p = buf_head(b);
	size_t		 i;

	assert_int_equal(buf_used(b), n);
	for (i = 0; i < n; i++)
		if (p[i] != pat(from + i))
			fail_msg("byte %zu of the stream is %u, expected %u",
			    from + i, p[i], pat(from + i));
}

static void
test_init_empty(void **state)
{
	struct buf	b;

	(void)state;
	memset(&b, 0x5a, sizeof(b));
	buf_init(&b);
	assert_int_equal(buf_used(&b), 0);
	assert_null(b.data);
	/* Appending nothing allocates nothing. */
	assert_int_equal(buf_append(&b, NULL, 0), 0);
	assert_null(b.data);
	assert_int_equal(buf_used(&b), 0);
	buf_free(&b);
	buf_free(&b);		/* idempotent: leaves an empty buffer */
	assert_null(b.data);
}

static void
test_append_consume(void **state)
{
	struct buf	b;
	uint8_t		chunk[100];

	(void)state;
	buf_init(&b);
	fill(chunk, 0, 10);
	assert_int_equal(buf_append(&b, chunk, 10), 0);
	check_stream(&b, 0, 10);
	fill(chunk, 10, 90);
	assert_int_equal(buf_append(&b, chunk, 90), 0);
	check_stream(&b, 0, 100);
	buf_consume(&b, 1);
	check_stream(&b, 1, 99);
	buf_consume(&b, 49);
	check_stream(&b, 50, 50);
	fill(chunk, 100, 30);
	assert_int_equal(buf_append(&b, chunk, 30), 0);
	check_stream(&b, 50, 80);
	buf_free(&b);
}

/* Consuming everything leaves an empty buffer that starts from the top. */
static void
test_consume_all_resets(void **state)
{
	struct buf	 b;
	uint8_t		 chunk[64];
	uint8_t		*data;

	(void)state;
	buf_init(&b);
	fill(chunk, 0, sizeof(chunk));
	assert_int_equal(buf_append(&b, chunk, sizeof(chunk)), 0);
	data = b.data;
	buf_consume(&b, 20);
	buf_consume(&b, 44);
	assert_int_equal(buf_used(&b), 0);
	assert_int_equal(b.off, 0);
	assert_int_equal(b.len, 0);
	/* The memory is kept for reuse, and new data starts at its top. */
	assert_ptr_equal(b.data, data);
	assert_int_equal(buf_append(&b, chunk, 8), 0);
	assert_ptr_equal(buf_head(&b), data);
	check_stream(&b, 0, 8);
	/* Over-consuming is the same as consuming everything. */
	buf_consume(&b, 1000);
	assert_int_equal(buf_used(&b), 0);
	assert_int_equal(b.off, 0);
	buf_free(&b);
}

/* A buffer that grew past 64 KiB in a burst gives its storage back once
 * drained, and works as before afterwards; a partly read one keeps it. */
static void
test_burst_released(void **state)
{
	struct buf	 b;
	static uint8_t	 big[200 * 1024];

	(void)state;
	buf_init(&b);
	fill(big, 0, sizeof(big));
	assert_int_equal(buf_append(&b, big, sizeof(big)), 0);
	buf_consume(&b, 1000);
	assert_non_null(b.data);		/* not drained: kept */
	check_stream(&b, 1000, sizeof(big) - 1000);
	buf_consume(&b, sizeof(big) - 1000);
	assert_int_equal(buf_used(&b), 0);
	assert_null(b.data);
	assert_int_equal(b.cap, 0);
	assert_int_equal(buf_append(&b, big, 100), 0);
	check_stream(&b, 0, 100);
	assert_true(b.cap < 64 * 1024);
	buf_free(&b);
}

static void
test_reset(void **state)
{
	struct buf	b;
	uint8_t		chunk[32];

	(void)state;
	buf_init(&b);
	fill(chunk, 0, sizeof(chunk));
	assert_int_equal(buf_append(&b, chunk, sizeof(chunk)), 0);
	buf_consume(&b, 5);
	buf_reset(&b);
	assert_int_equal(buf_used(&b), 0);
	assert_non_null(b.data);
	assert_int_equal(buf_append(&b, chunk, 4), 0);
	check_stream(&b, 0, 4);
	buf_free(&b);
}

/* The read path: reserve, write into the tail, commit what arrived. */
static void
test_reserve_tail_commit(void **state)
{
	struct buf	 b;
	uint8_t		*t;

	(void)state;
	buf_init(&b);
	assert_int_equal(buf_reserve(&b, 1000), 0);
	assert_true(b.cap - b.len >= 1000);
	assert_int_equal(buf_used(&b), 0);
	t = buf_tail(&b);
	fill(t, 0, 300);
	buf_commit(&b, 300);
	check_stream(&b, 0, 300);
	assert_int_equal(buf_reserve(&b, 5000), 0);
	assert_true(b.cap - b.len >= 5000);
	check_stream(&b, 0, 300);		/* survived the realloc */
	fill(buf_tail(&b), 300, 5000);
	buf_commit(&b, 5000);
	check_stream(&b, 0, 5300);
	/* Reserving what is already there changes nothing. */
	t = b.data;
	assert_int_equal(buf_reserve(&b, b.cap - b.len), 0);
	assert_ptr_equal(b.data, t);
	buf_free(&b);
}

/*
 * When the consumed prefix makes enough room, reserve slides the data down
 * instead of growing.
 */
static void
test_reserve_compacts(void **state)
{
	struct buf	 b;
	uint8_t		 chunk[256];
	uint8_t		*data;
	size_t		 cap;

	(void)state;
	buf_init(&b);
	fill(chunk, 0, 200);
	assert_int_equal(buf_append(&b, chunk, 200), 0);
	cap = b.cap;
	data = b.data;
	buf_consume(&b, 150);
	/* 50 unread; room after the tail is cap - 200 < cap - 50. */
	assert_true(cap - 200 < cap - 60);
	assert_int_equal(buf_reserve(&b, cap - 60), 0);
	assert_int_equal(b.cap, cap);
	assert_ptr_equal(b.data, data);
	assert_int_equal(b.off, 0);
	check_stream(&b, 150, 50);
	buf_free(&b);
}

/* Compaction alone is not enough: slide and grow, contents intact. */
static void
test_reserve_compacts_and_grows(void **state)
{
	struct buf	b;
	uint8_t		chunk[256];
	size_t		cap;

	(void)state;
	buf_init(&b);
	fill(chunk, 0, 200);
	assert_int_equal(buf_append(&b, chunk, 200), 0);
	cap = b.cap;
	buf_consume(&b, 100);
	assert_int_equal(buf_reserve(&b, cap), 0);
	assert_true(b.cap - b.len >= cap);
	assert_true(b.cap > cap);
	check_stream(&b, 100, 100);
	buf_free(&b);
}

static void
test_large_appends(void **state)
{
	struct buf	 b;
	uint8_t		*big;
	size_t		 n = 3 * 1024 * 1024 + 17, total = 0, i;

	(void)state;
	buf_init(&b);
	big = malloc(n);
	assert_non_null(big);
	fill(big, 0, n);
	assert_int_equal(buf_append(&b, big, n), 0);
	total += n;
	/* Odd sizes on top, crossing several doublings. */
	for (i = 1; i < 40; i++) {
		fill(big, total, i * 10007);
		assert_int_equal(buf_append(&b, big, i * 10007), 0);
		total += i * 10007;
	}
	assert_true(b.cap >= b.len);
	check_stream(&b, 0, total);
	buf_consume(&b, n);
	check_stream(&b, n, total - n);
	buf_free(&b);
	free(big);
}

/*
 * A queue that never drains completely (the usual socket case): the
 * allocation must stay near the working size, not creep up forever.
 */
static void
test_queue_stays_small(void **state)
{
	struct buf	b;
	uint8_t		chunk[200];
	size_t		in = 0, out = 0, i;

	(void)state;
	buf_init(&b);
	fill(chunk, 0, 50);
	assert_int_equal(buf_append(&b, chunk, 50), 0);
	in = 50;
	for (i = 0; i < 100000; i++) {
		fill(chunk, in, 137);
		assert_int_equal(buf_append(&b, chunk, 137), 0);
		in += 137;
		buf_consume(&b, 137);
		out += 137;
		assert_true(b.cap <= 1024);
	}
	check_stream(&b, out, in - out);
	buf_free(&b);
}

/*
 * A request no allocation can satisfy fails; it must never report success
 * with less room than asked for.
 */
static void
test_reserve_huge(void **state)
{
	struct buf	b;
	uint8_t		chunk[10];
	int		ok;

	(void)state;
	buf_init(&b);
	assert_int_equal(buf_reserve(&b, SIZE_MAX), -1);
	assert_int_equal(buf_reserve(&b, SIZE_MAX / 2 + 2), -1);
	fill(chunk, 0, sizeof(chunk));
	assert_int_equal(buf_append(&b, chunk, sizeof(chunk)), 0);
	assert_int_equal(buf_reserve(&b, SIZE_MAX / 2 + 2), -1);
	ok = buf_reserve(&b, SIZE_MAX - 5);
	if (ok == 0)
		print_message("buf_reserve(SIZE_MAX - 5) with 10 bytes queued "
		    "returned 0 with cap %zu\n", b.cap);
	check_stream(&b, 0, sizeof(chunk));
	buf_free(&b);
	assert_int_equal(ok, -1);	/* need = len + n must not wrap */
}

/* A cut takes bytes from the middle, after a consume too; out of range,
 * nothing. */
static void
test_cut(void **state)
{
	struct buf	b;

	(void)state;
	buf_init(&b);
	assert_int_equal(buf_append(&b, "xxabcdef", 8), 0);
	buf_consume(&b, 2);
	buf_cut(&b, 1, 2);			/* "bc" */
	assert_int_equal(buf_used(&b), 4);
	assert_memory_equal(buf_head(&b), "adef", 4);
	buf_cut(&b, 3, 1);			/* the last byte */
	assert_memory_equal(buf_head(&b), "ade", 3);
	buf_cut(&b, 2, 2);			/* past the end: nothing */
	buf_cut(&b, 4, 0);
	assert_int_equal(buf_used(&b), 3);
	assert_int_equal(buf_append(&b, "g", 1), 0);
	assert_memory_equal(buf_head(&b), "adeg", 4);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_empty),
		cmocka_unit_test(test_cut),
		cmocka_unit_test(test_append_consume),
		cmocka_unit_test(test_consume_all_resets),
		cmocka_unit_test(test_burst_released),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_reserve_tail_commit),
		cmocka_unit_test(test_reserve_compacts),
		cmocka_unit_test(test_reserve_compacts_and_grows),
		cmocka_unit_test(test_large_appends),
		cmocka_unit_test(test_queue_stays_small),
		cmocka_unit_test(test_reserve_huge),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
