/*
 * test_srclimit: the per-address token bucket (a minute's worth, refilled
 * evenly, per address, off at 0), slots reused under pressure, and the
 * refusal tally (first logged, the rest counted and emitted once the
 * minute is over).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/srclimit.h"

static void
test_rate(void **state)
{
	struct srclimit	l;
	int		i, ok = 0;

	(void)state;
	assert_int_equal(srclimit_init(&l, 64, 10), 0);
	for (i = 0; i < 25; i++)
		ok += srclimit_take(&l, "192.0.2.1", 100.0);
	assert_int_equal(ok, 10);
	/* Another address has its own bucket. */
	assert_true(srclimit_take(&l, "192.0.2.2", 100.0));
	/* Refilled at 10 a minute: one more after 6 s, not before. */
	assert_false(srclimit_take(&l, "192.0.2.1", 105.0));
	assert_true(srclimit_take(&l, "192.0.2.1", 111.5));
	assert_false(srclimit_take(&l, "192.0.2.1", 111.5));
	/* Never more than a minute's worth, however long it waited. */
	for (ok = 0, i = 0; i < 25; i++)
		ok += srclimit_take(&l, "192.0.2.1", 10000.0);
	assert_int_equal(ok, 10);
	/* 0: no limit. */
	srclimit_set_rate(&l, 0);
	for (i = 0; i < 1000; i++)
		assert_true(srclimit_take(&l, "192.0.2.1", 10000.0));
	srclimit_free(&l);
}

/* More addresses than slots: the least recent give way; none is stuck. */
static void
test_many_addresses(void **state)
{
	struct srclimit	l;
	char		addr[64];
	int		i;

	(void)state;
	assert_int_equal(srclimit_init(&l, 16, 2), 0);
	for (i = 0; i < 1000; i++) {
		snprintf(addr, sizeof(addr), "10.0.%d.%d", i / 256, i % 256);
		assert_true(srclimit_take(&l, addr, 1.0 + i * 0.001));
	}
	/* A busy address among them still gets its own limit. */
	assert_true(srclimit_take(&l, "198.51.100.7", 3.0));
	assert_true(srclimit_take(&l, "198.51.100.7", 3.0));
	assert_false(srclimit_take(&l, "198.51.100.7", 3.0));
	srclimit_free(&l);
}

struct emitted {
	char		addr[64], why[96];
	unsigned	n, calls;
};

static void
emit(const char *addr, unsigned n, const char *why, void *arg)
{
	struct emitted	*e = arg;

	snprintf(e->addr, sizeof(e->addr), "%s", addr);
	snprintf(e->why, sizeof(e->why), "%s", why);
	e->n = n;
	e->calls++;
}

static void
test_refusal_tally(void **state)
{
	struct srclimit	l;
	struct emitted	e = { "", "", 0, 0 };
	int		i;

	(void)state;
	assert_int_equal(srclimit_init(&l, 64, 0), 0);
	assert_true(srclimit_refused(&l, "192.0.2.9", "Invalid password", 10.0));
	for (i = 0; i < 2999; i++)
		assert_false(srclimit_refused(&l, "192.0.2.9", i == 2998 ?
		    "Duplicate name" : "Invalid password", 10.0 + i * 0.01));
	/* Another address is logged on its own. */
	assert_true(srclimit_refused(&l, "192.0.2.10", "Invalid password",
	    20.0));
	srclimit_flush(&l, 60.0, emit, &e);
	assert_int_equal(e.calls, 0);		/* the minute is not over */
	srclimit_flush(&l, 70.0, emit, &e);
	assert_int_equal(e.calls, 1);
	assert_string_equal(e.addr, "192.0.2.9");
	assert_int_equal(e.n, 2999);
	assert_string_equal(e.why, "Duplicate name");
	/* Nothing more to say; the next refusal is logged again. */
	srclimit_flush(&l, 200.0, emit, &e);
	assert_int_equal(e.calls, 1);
	assert_true(srclimit_refused(&l, "192.0.2.9", "Invalid password",
	    201.0));
	srclimit_free(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_many_addresses),
		cmocka_unit_test(test_refusal_tally),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
