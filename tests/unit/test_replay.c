/*
 * replay: the counters nodes exchange for enforce_counters.  A message is
 * new only above the last counters (an equal one is a replay), a report
 * never lowers them, and malformed entries from another node are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "agent/agents.h"
#include "agent/replay.h"
#include "agent/secmsg.h"

/* The gateway's check: equal counters are a replay, as in Wazuh. */
static void
test_equal_is_replay(void **state)
{
	struct secmsg_counters	m = { 0, 1000, 500 };

	(void)state;
	assert_false(secmsg_counters_newer(&m, 1000, 500));
	m.local = 501;
	assert_true(secmsg_counters_newer(&m, 1000, 500));
	m.global = 1001;
	m.local = 0;
	assert_true(secmsg_counters_newer(&m, 1000, 500));
	m.global = 999;
	m.local = 9999;
	assert_false(secmsg_counters_newer(&m, 1000, 500));
}

static void
test_raise_never_lowers(void **state)
{
	struct agent	*a = agent_new();

	(void)state;
	assert_non_null(a);
	assert_int_equal(replay_raise(a, 1000, 500), 1);
	assert_int_equal(replay_raise(a, 1000, 500), 0);	/* equal */
	assert_int_equal(replay_raise(a, 1000, 499), 0);
	assert_int_equal(replay_raise(a, 999, 9999), 0);
	assert_true(a->last_global == 1000 && a->last_local == 500);
	assert_int_equal(replay_raise(a, 1000, 501), 1);
	assert_int_equal(replay_raise(a, 1001, 0), 1);
	assert_true(a->last_global == 1001 && a->last_local == 0);
	agent_free(a);
}

/*
 * A global counter past 32 bits reads as Wazuh's manager reads it (an
 * unsigned int: modulo 2^32), in a message and in another node's report
 * alike, so a message replayed is refused whichever way its counters came.
 */
static void
test_global_as_wazuh_reads_it(void **state)
{
	struct secmsg_counters	 m = { 0, 4294967296UL + 7, 3 };
	struct agent		*a = agent_new();
	const char		*id;
	uint32_t		 g;
	unsigned		 l;
	cJSON			*e;

	(void)state;
	assert_non_null(a);
	assert_int_equal(secmsg_global32(4294967295UL), UINT32_MAX);
	assert_int_equal(secmsg_global32(4294967296UL + 7), 7);
	assert_int_equal(secmsg_global32(REPLAY_GLOBAL_MAX), 1410065407);
	assert_true(secmsg_counters_newer(&m, 6, 9999));
	assert_false(secmsg_counters_newer(&m, 7, 3));	/* the same */
	assert_false(secmsg_counters_newer(&m, 8, 0));
	e = cJSON_Parse("[\"001\", 4294967303, 3]");	/* 2^32 + 7 */
	assert_int_equal(replay_parse(e, &id, &g, &l), 0);
	assert_true(g == 7 && l == 3);
	assert_int_equal(replay_raise(a, g, l), 1);
	assert_false(secmsg_counters_newer(&m, a->last_global,
	    a->last_local));
	cJSON_Delete(e);
	agent_free(a);
}

/* What one node notes, another reads back the same. */
static void
test_note_parse_round_trip(void **state)
{
	struct agent	*a = agent_new();
	cJSON		*arr = cJSON_CreateArray();
	char		*s;
	cJSON		*back;
	const char	*id;
	uint32_t	 g;
	unsigned	 l;

	(void)state;
	snprintf(a->id, sizeof(a->id), "042");
	a->last_global = UINT32_MAX;
	a->last_local = REPLAY_LOCAL_MAX;
	replay_note(arr, a);
	s = cJSON_PrintUnformatted(arr);
	assert_string_equal(s, "[[\"042\",4294967295,9999]]");
	back = cJSON_Parse(s);
	assert_int_equal(replay_parse(cJSON_GetArrayItem(back, 0), &id, &g,
	    &l), 0);
	assert_string_equal(id, "042");
	assert_true(g == UINT32_MAX && l == REPLAY_LOCAL_MAX);
	cJSON_free(s);
	cJSON_Delete(back);
	cJSON_Delete(arr);
	agent_free(a);
}

static void
test_parse_bad(void **state)
{
	static const char *const bad[] = {
		"null", "{}", "[]", "\"001\"", "[\"001\", 1]",
		"[\"001\", 1, 2, 3]", "[1, 1, 1]", "[\"\", 1, 1]",
		"[\"0123456789abcdef\", 1, 1]",	/* AGENT_ID_MAX with its NUL */
		"[\"001\", -1, 0]", "[\"001\", 1.5, 0]", "[\"001\", 0, 0.5]",
		"[\"001\", 10000000000, 0]", "[\"001\", 0, 10000]",
		"[\"001\", \"1\", 0]", "[\"001\", 0, null]",
		"[\"001\", 1e300, 0]", "[\"001\", 0, true]",
	};
	const char	*id;
	uint32_t	 g;
	unsigned	 l;
	cJSON		*e;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		e = cJSON_Parse(bad[i]);
		assert_non_null(e);
		if (replay_parse(e, &id, &g, &l) != -1)
			fail_msg("accepted %s", bad[i]);
		cJSON_Delete(e);
	}
	assert_int_equal(replay_parse(NULL, &id, &g, &l), -1);
	e = cJSON_Parse("[\"001\", 0, 0]");
	assert_int_equal(replay_parse(e, &id, &g, &l), 0);
	assert_true(g == 0 && l == 0);
	cJSON_Delete(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_equal_is_replay),
		cmocka_unit_test(test_raise_never_lowers),
		cmocka_unit_test(test_global_as_wazuh_reads_it),
		cmocka_unit_test(test_note_parse_round_trip),
		cmocka_unit_test(test_parse_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
