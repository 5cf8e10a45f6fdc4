/*
 * test_ha_record: an agent's durable record as etcd holds it: written and
 * read back the same, and every malformed record read back from the store
 * (missing or oversized fields, a bad id or name, a key of another
 * length, a date that is not a number) refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/agents.h"
#include "master/ha_record.h"

#define KEY64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static struct agent *
sample(void)
{
	struct agent	*a = agent_new();

	assert_non_null(a);
	snprintf(a->id, sizeof(a->id), "042");
	memcpy(a->key, KEY64, AGENT_KEY_LEN + 1);
	a->date_add = 1765000000;
	assert_int_equal(agent_set_name(a, "web-01"), 0);
	assert_int_equal(agent_set_ip(a, "10.1.2.3"), 0);
	assert_int_equal(agent_set_register_ip(a, "10.1.2.3"), 0);
	assert_int_equal(agent_set_enroll_src(a, "10.1.2.3"), 0);
	assert_int_equal(agent_set_version(a, "v4.14.1"), 0);
	assert_int_equal(agent_set_groups(a, "default,web"), 0);
	return a;
}

static void
test_round_trip(void **state)
{
	struct agent	*a = sample(), *b;
	cJSON		*o = ha_record_json(a);
	char		 err[128], *text = cJSON_PrintUnformatted(o);
	cJSON		*again = cJSON_Parse(text);

	(void)state;
	b = ha_record_agent(again, err, sizeof(err));
	assert_non_null(b);
	assert_true(ha_record_same(a, b));
	assert_string_equal(b->version, "v4.14.1");
	assert_string_equal(b->enroll_src, "10.1.2.3");
	assert_string_equal(b->register_ip, "10.1.2.3");
	/* A change of key, groups or date is a different record. */
	b->key[0] = 'X';
	assert_false(ha_record_same(a, b));
	b->key[0] = a->key[0];
	assert_int_equal(agent_set_groups(b, "default"), 0);
	assert_false(ha_record_same(a, b));
	agent_free(b);
	cJSON_free(text);
	cJSON_Delete(again);
	cJSON_Delete(o);
	agent_free(a);
}

static void
test_bad_records(void **state)
{
	static const char *const edits[] = {
		"{\"id\":null}",
		"{\"id\":\"abc\"}",
		"{\"id\":\"\"}",
		"{\"name\":\"\"}",
		"{\"name\":\"bad name\\n\"}",
		"{\"key\":\"short\"}",
		"{\"key\":\"" KEY64 "0\"}",
		"{\"date_add\":\"1765000000\"}",
		"{\"groups\":7}",
		"{\"ip\":\"0123456789012345678901234567890123456789012345678901234567890123456789\"}",
		"{\"version\":null}",
		"{\"enroll_src\":[]}",
	};
	struct agent	*a = sample();
	cJSON		*base = ha_record_json(a), *o, *e, *f;
	char		 err[128];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		o = cJSON_Duplicate(base, 1);
		e = cJSON_Parse(edits[i]);
		assert_non_null(e);
		f = e->child;
		cJSON_ReplaceItemInObjectCaseSensitive(o, f->string,
		    cJSON_Duplicate(f, 1));
		if (ha_record_agent(o, err, sizeof(err)) != NULL)
			fail_msg("accepted: %s", edits[i]);
		cJSON_Delete(e);
		cJSON_Delete(o);
	}
	assert_null(ha_record_agent(NULL, err, sizeof(err)));
	o = cJSON_CreateArray();
	assert_null(ha_record_agent(o, err, sizeof(err)));
	cJSON_Delete(o);
	cJSON_Delete(base);
	agent_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_bad_records),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
