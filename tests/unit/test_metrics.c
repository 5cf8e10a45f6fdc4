/*
 * test_metrics: the exposition text a scrape renders.  Every metric gets
 * its HELP and TYPE once with all its samples under them, even when
 * several collectors put it; label values and help are escaped as the
 * format says; values print as integers, decimals, NaN and +Inf; the
 * collectors run in their order, can be removed, and are bounded.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/metrics.h"

static const struct metrics_def AGENTS = {
	"t_agents", METRICS_GAUGE, "Agents by status."
};
static const struct metrics_def SENT = {
	"t_sent_bytes_total", METRICS_COUNTER, "Bytes sent."
};
static const struct metrics_def ODD = {
	"t_odd", METRICS_GAUGE, "Help with a \\ and a\nnewline."
};

static void
collect_a(struct metrics *m, void *arg)
{
	(void)arg;
	metrics_put(m, &AGENTS, 3, "status", "active", NULL);
	metrics_put(m, &SENT, 1024, NULL);
}

/* A second collector adding to a metric the first one began. */
static void
collect_b(struct metrics *m, void *arg)
{
	metrics_put(m, &AGENTS, *(double *)arg, "status", "pending", NULL);
}

static void
collect_odd(struct metrics *m, void *arg)
{
	(void)arg;
	metrics_put(m, &ODD, 1, "peer", "a\"b\\c\nd", "kind", "", NULL);
}

static double	values[] = { 0, -2, 0.25, 1e20, 9007199254740993.0 };

static void
collect_values(struct metrics *m, void *arg)
{
	char	name[8];
	size_t	i;

	(void)arg;
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		snprintf(name, sizeof(name), "%zu", i);
		metrics_put(m, &AGENTS, values[i], "i", name, NULL);
	}
	metrics_put(m, &AGENTS, NAN, "i", "nan", NULL);
	metrics_put(m, &AGENTS, INFINITY, "i", "inf", NULL);
	metrics_put(m, &AGENTS, -INFINITY, "i", "-inf", NULL);
}

static void
noop(struct metrics *m, void *arg)
{
	(void)m;
	(void)arg;
}

static char *
scrape(void)
{
	char	*s;
	size_t	 len = 12345;

	s = metrics_scrape(&len);
	assert_non_null(s);
	assert_int_equal(len, strlen(s));
	return s;
}

static int
teardown(void **state)
{
	(void)state;
	metrics_unregister(collect_a, NULL);
	metrics_unregister(collect_b, &values[2]);
	metrics_unregister(collect_odd, NULL);
	metrics_unregister(collect_values, NULL);
	return 0;
}

static void
test_empty(void **state)
{
	char	*s;

	(void)state;
	s = scrape();
	assert_string_equal(s, "");
	free(s);
}

static void
test_grouped(void **state)
{
	char	*s;

	(void)state;
	assert_int_equal(metrics_register(collect_a, NULL), 0);
	assert_int_equal(metrics_register(collect_b, &values[2]), 0);
	s = scrape();
	assert_string_equal(s,
	    "# HELP t_agents Agents by status.\n"
	    "# TYPE t_agents gauge\n"
	    "t_agents{status=\"active\"} 3\n"
	    "t_agents{status=\"pending\"} 0.25\n"
	    "# HELP t_sent_bytes_total Bytes sent.\n"
	    "# TYPE t_sent_bytes_total counter\n"
	    "t_sent_bytes_total 1024\n");
	free(s);
	/* Nothing is kept: the next scrape is the collectors' values again. */
	values[2] = 7;
	s = scrape();
	assert_non_null(strstr(s, "t_agents{status=\"pending\"} 7\n"));
	assert_null(strstr(s, "0.25"));
	free(s);
	values[2] = 0.25;
}

static void
test_escapes(void **state)
{
	char	*s;

	(void)state;
	assert_int_equal(metrics_register(collect_odd, NULL), 0);
	s = scrape();
	assert_string_equal(s,
	    "# HELP t_odd Help with a \\\\ and a\\nnewline.\n"
	    "# TYPE t_odd gauge\n"
	    "t_odd{peer=\"a\\\"b\\\\c\\nd\",kind=\"\"} 1\n");
	free(s);
}

static void
test_values(void **state)
{
	char	*s;

	(void)state;
	assert_int_equal(metrics_register(collect_values, NULL), 0);
	s = scrape();
	assert_non_null(strstr(s, "t_agents{i=\"0\"} 0\n"));
	assert_non_null(strstr(s, "t_agents{i=\"1\"} -2\n"));
	assert_non_null(strstr(s, "t_agents{i=\"2\"} 0.25\n"));
	assert_non_null(strstr(s, "t_agents{i=\"3\"} 1e+20\n"));
	assert_non_null(strstr(s, "t_agents{i=\"4\"} 9007199254740992\n"));
	assert_non_null(strstr(s, "t_agents{i=\"nan\"} NaN\n"));
	assert_non_null(strstr(s, "t_agents{i=\"inf\"} +Inf\n"));
	assert_non_null(strstr(s, "t_agents{i=\"-inf\"} -Inf\n"));
	free(s);
}

/* Removal keeps the others in order; the table has a bound. */
static void
test_register(void **state)
{
	char	*s;
	int	 i;

	(void)state;
	assert_int_equal(metrics_register(collect_b, &values[2]), 0);
	assert_int_equal(metrics_register(collect_odd, NULL), 0);
	assert_int_equal(metrics_register(collect_a, NULL), 0);
	metrics_unregister(collect_odd, NULL);
	metrics_unregister(collect_odd, NULL);		/* twice: no-op */
	metrics_unregister(collect_a, (void *)1);	/* other arg: kept */
	s = scrape();
	assert_null(strstr(s, "t_odd"));
	/* collect_b ran first: pending before active. */
	assert_true(strstr(s, "pending") < strstr(s, "active"));
	free(s);
	for (i = 2; i < METRICS_COLLECTORS_MAX; i++)
		assert_int_equal(metrics_register(noop, NULL), 0);
	assert_int_equal(metrics_register(noop, NULL), -1);
	for (i = 2; i < METRICS_COLLECTORS_MAX; i++)
		metrics_unregister(noop, NULL);
	assert_int_equal(metrics_register(noop, NULL), 0);
	metrics_unregister(noop, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_empty, teardown),
		cmocka_unit_test_teardown(test_grouped, teardown),
		cmocka_unit_test_teardown(test_escapes, teardown),
		cmocka_unit_test_teardown(test_values, teardown),
		cmocka_unit_test_teardown(test_register, teardown),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
