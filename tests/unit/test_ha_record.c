/*
 * test_ha_record: an agent's durable record as etcd holds it: written and
 * read back the same, and every malformed record read back from the store
 * (missing or oversized fields, a bad id or name, a key of another
 * length, a date that is not a number) refused.  ha_record_delta: the kvs
 * of etcd's range answers as the registry's changes (records, tombstones,
 * groups set later), and every answer it must refuse: keys and values not
 * base64, keys without an agent id, records that do not parse or name
 * another id, kvs that are not an array.
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
#include "net/etcd.h"

#define KEY64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static struct agent *
sample(void)
{
	struct agent	*a = agent_new();

	assert_non_null(a);
	snprintf(a->id, sizeof(a->id), "042");
	assert_int_equal(agent_set_key(a, KEY64), 0);
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
	assert_string_equal(AGENT_ADDR_OF(b, AGENT_ENROLL_SRC), "10.1.2.3");
	assert_string_equal(AGENT_ADDR_OF(b, AGENT_REGISTER_IP), "10.1.2.3");
	/* A change of key, groups or date is a different record. */
	assert_int_equal(agent_set_key(b, "1123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef"), 0);
	assert_false(ha_record_same(a, b));
	/* Or of its case alone: the agent's MD5 is of the text. */
	assert_int_equal(agent_set_key(b, "0123456789ABCDEF0123456789abcdef"
	    "0123456789abcdef0123456789abcdef"), 0);
	assert_false(ha_record_same(a, b));
	assert_int_equal(agent_set_key(b, KEY64), 0);
	assert_true(ha_record_same(a, b));
	assert_int_equal(agent_set_groups(b, "default"), 0);
	assert_false(ha_record_same(a, b));
	agent_free(b);
	cJSON_free(text);
	cJSON_Delete(again);
	cJSON_Delete(o);
	agent_free(a);
}

/* A date from the store outside 32 unsigned bits is clamped, not UB; a
 * key not in hex is refused. */
static void
test_date_clamped(void **state)
{
	static const struct {
		double		date;
		uint32_t	kept;
	} cases[] = {
		{ -5, 0 }, { -1e300, 0 }, { 4294967296.0, UINT32_MAX },
		{ 1e300, UINT32_MAX }, { 1765000000, 1765000000 },
	};
	struct agent	*a = sample(), *b;
	cJSON		*o = ha_record_json(a);
	char		 err[128];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON_ReplaceItemInObjectCaseSensitive(o, "date_add",
		    cJSON_CreateNumber(cases[i].date));
		b = ha_record_agent(o, err, sizeof(err));
		assert_non_null(b);
		if (b->date_add != cases[i].kept)
			fail_msg("date_add %g kept as %u", cases[i].date,
			    (unsigned)b->date_add);
		agent_free(b);
	}
	/* A key of 64 characters, not all hex digits: refused, named. */
	cJSON_ReplaceItemInObjectCaseSensitive(o, "key", cJSON_CreateString(
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg"));
	assert_null(ha_record_agent(o, err, sizeof(err)));
	assert_non_null(strstr(err, "agent 042 (web-01)"));
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

/* One kv as etcd's JSON gateway sends it; value NULL: an empty one. */
static cJSON *
kv(const char *key, const char *value)
{
	cJSON	*o = cJSON_CreateObject();
	char	*k = etcd_b64(key, strlen(key)), *v;

	cJSON_AddStringToObject(o, "key", k);
	free(k);
	cJSON_AddStringToObject(o, "mod_revision", "7");
	if (value != NULL) {
		v = etcd_b64(value, strlen(value));
		cJSON_AddStringToObject(o, "value", v);
		free(v);
	}
	return o;
}

static char *
record_text(const char *id, const char *groups)
{
	struct agent	*a = sample();
	cJSON		*o;
	char		*t;

	snprintf(a->id, sizeof(a->id), "%s", id);
	assert_int_equal(agent_set_groups(a, groups), 0);
	o = ha_record_json(a);
	t = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	agent_free(a);
	return t;
}

static void
test_delta(void **state)
{
	cJSON		*a = cJSON_CreateArray(), *g = cJSON_CreateArray(), *d;
	const cJSON	*r;
	char		 err[128], *t1 = record_text("001", "default");
	char		*t2 = record_text("002", "default");

	(void)state;
	cJSON_AddItemToArray(a, kv("/clusterd/c/a/001", t1));
	cJSON_AddItemToArray(a, kv("/clusterd/c/a/002", t2));
	cJSON_AddItemToArray(a, kv("/clusterd/c/a/003", NULL));   /* removed */
	cJSON_AddItemToArray(g, kv("/clusterd/c/g/002", "web,db"));
	cJSON_AddItemToArray(g, kv("/clusterd/c/g/004", NULL));   /* no group */
	cJSON_AddItemToArray(g, kv("/clusterd/c/g/005", "db"));
	d = ha_record_delta(a, g, err, sizeof(err));
	assert_non_null(d);
	r = cJSON_GetObjectItemCaseSensitive(d, "agents");
	assert_int_equal(cJSON_GetArraySize(r), 2);
	/* The groups set later win over the record's. */
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetArrayItem(r, 1), "groups")), "web,db");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetArrayItem(r, 0), "groups")), "default");
	r = cJSON_GetObjectItemCaseSensitive(d, "removed");
	assert_int_equal(cJSON_GetArraySize(r), 1);
	assert_string_equal(cJSON_GetArrayItem(r, 0)->valuestring, "003");
	/* Groups of agents whose record did not change. */
	r = cJSON_GetObjectItemCaseSensitive(d, "groups");
	assert_int_equal(cJSON_GetArraySize(r), 2);
	assert_string_equal(cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(r, "004")), "");
	assert_string_equal(cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(r, "005")), "db");
	cJSON_Delete(d);
	/* Nothing changed: empty lists. */
	d = ha_record_delta(NULL, NULL, err, sizeof(err));
	assert_non_null(d);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(d,
	    "agents")), 0);
	cJSON_Delete(d);
	cJSON_Delete(a);
	cJSON_Delete(g);
	cJSON_free(t1);
	cJSON_free(t2);
}

static void
test_delta_bad(void **state)
{
	char		 err[128], *t1 = record_text("001", "default");
	cJSON		*a, *o, *d;
	size_t		 i;
	static const char *const keys[] = {
		"/clusterd/c/a/",		/* no id */
		"/clusterd/c/a/abc",		/* not an id */
		"/clusterd/c/a/0012345678901234567890",	/* too long */
		"noslash",
	};

	(void)state;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		a = cJSON_CreateArray();
		cJSON_AddItemToArray(a, kv(keys[i], t1));
		if ((d = ha_record_delta(a, NULL, err, sizeof(err))) != NULL)
			fail_msg("accepted the key %s", keys[i]);
		assert_null(ha_record_delta(NULL, a, err, sizeof(err)));
		cJSON_Delete(a);
	}
	/* A key or value that is not base64, a value with a NUL. */
	a = cJSON_CreateArray();
	o = kv("/clusterd/c/a/001", t1);
	cJSON_ReplaceItemInObjectCaseSensitive(o, "key",
	    cJSON_CreateString("%%%"));
	cJSON_AddItemToArray(a, o);
	assert_null(ha_record_delta(a, NULL, err, sizeof(err)));
	cJSON_ReplaceItemInObjectCaseSensitive(o, "key",
	    cJSON_CreateNumber(1));
	assert_null(ha_record_delta(a, NULL, err, sizeof(err)));
	cJSON_Delete(a);
	a = cJSON_CreateArray();
	o = kv("/clusterd/c/a/001", t1);
	cJSON_ReplaceItemInObjectCaseSensitive(o, "value",
	    cJSON_CreateString("e30=!"));
	cJSON_AddItemToArray(a, o);
	assert_null(ha_record_delta(a, NULL, err, sizeof(err)));
	cJSON_ReplaceItemInObjectCaseSensitive(o, "value",
	    cJSON_CreateString("AGE="));		/* "\0a" */
	assert_null(ha_record_delta(a, NULL, err, sizeof(err)));
	cJSON_ReplaceItemInObjectCaseSensitive(o, "value",
	    cJSON_CreateNumber(3));
	assert_null(ha_record_delta(a, NULL, err, sizeof(err)));
	cJSON_Delete(a);
	/* A record that does not parse, is not an object, names another id. */
	a = cJSON_CreateArray();
	cJSON_AddItemToArray(a, kv("/clusterd/c/a/001", "{\"id\":"));
	assert_null(ha_record_delta(a, NULL, err, sizeof(err)));
	cJSON_Delete(a);
	a = cJSON_CreateArray();
	cJSON_AddItemToArray(a, kv("/clusterd/c/a/001", "[\"001\"]"));
	assert_null(ha_record_delta(a, NULL, err, sizeof(err)));
	cJSON_Delete(a);
	a = cJSON_CreateArray();
	cJSON_AddItemToArray(a, kv("/clusterd/c/a/002", t1));
	assert_null(ha_record_delta(a, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "another id"));
	/* kvs that are not arrays. */
	o = cJSON_CreateObject();
	assert_null(ha_record_delta(o, NULL, err, sizeof(err)));
	assert_null(ha_record_delta(NULL, o, err, sizeof(err)));
	cJSON_Delete(o);
	cJSON_Delete(a);
	cJSON_free(t1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_bad_records),
		cmocka_unit_test(test_date_clamped),
		cmocka_unit_test(test_delta),
		cmocka_unit_test(test_delta_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
