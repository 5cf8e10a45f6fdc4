/*
 * test_mplan: the plan of a sync round as the master writes it, as JSON
 * text straight from two indexes.  Whatever a path holds (quotes,
 * backslashes, UTF-8, bytes that are not UTF-8), the text must parse as
 * one JSON object whose lists say what integ_diff() decided, cut by the
 * round's byte limit as msync always cut it: creates first, then updates,
 * at least one file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "base/buf.h"
#include "master/mplan.h"
#include "sync/integ.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* An index of these paths, MD5 "md5s[i]" repeated, mode 0644. */
static struct integ_index *
index_of(const char *const *paths, const char *const *md5s, size_t n)
{
	struct integ_index	*x;
	cJSON			*j, *arr, *f;
	char			 err[256], hex[33];
	size_t			 i;

	assert_non_null(j = cJSON_CreateObject());
	assert_non_null(arr = cJSON_AddArrayToObject(j, "files"));
	for (i = 0; i < n; i++) {
		memset(hex, md5s[i][0], 32);
		hex[32] = '\0';
		assert_non_null(f = cJSON_CreateArray());
		cJSON_AddItemToArray(arr, f);
		cJSON_AddItemToArray(f, cJSON_CreateString(paths[i]));
		cJSON_AddItemToArray(f, cJSON_CreateString(hex));
		cJSON_AddItemToArray(f, cJSON_CreateNumber(0644));
	}
	x = integ_from_json(j, err, sizeof(err));
	if (x == NULL)
		fail_msg("index: %s", err);
	cJSON_Delete(j);
	return x;
}

static cJSON *
parse(const struct mplan *mp)
{
	cJSON	*j;

	j = cJSON_ParseWithLength((const char *)buf_head(&mp->text),
	    buf_used(&mp->text));
	if (!cJSON_IsObject(j))
		fail_msg("not one JSON object: %.*s",
		    (int)buf_used(&mp->text), (const char *)buf_head(&mp->text));
	return j;
}

static const cJSON *
get(const cJSON *j, const char *k)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(j, k);

	if (v == NULL)
		fail_msg("no \"%s\" in the plan", k);
	return v;
}

/* Entry i of list k: its path (a [path, md5, mode] triple or a path). */
static const char *
path_at(const cJSON *j, const char *k, int i)
{
	const cJSON	*e = cJSON_GetArrayItem(get(j, k), i);

	if (cJSON_IsArray(e)) {
		assert_int_equal(cJSON_GetArraySize(e), 3);
		e = cJSON_GetArrayItem(e, 0);
	}
	assert_true(cJSON_IsString(e));
	return e->valuestring;
}

/* Strings come back byte for byte through cJSON's parser. */
static void
test_json_string(void **state)
{
	static const char *const s[] = {
		"", "plain", "a\"b", "back\\slash", "\"\\\"", "tab\there",
		"nl\nx\x01\x1f", "caf\xc3\xa9", "\xff\xfe not UTF-8", "\x7f",
		"end\\",
	};
	struct buf	 b;
	cJSON		*j;
	size_t		 i;

	(void)state;
	buf_init(&b);
	for (i = 0; i < NELEM(s); i++) {
		buf_reset(&b);
		assert_int_equal(mplan_json_string(&b, s[i]), 0);
		j = cJSON_ParseWithLength((const char *)buf_head(&b),
		    buf_used(&b));
		assert_true(cJSON_IsString(j));
		assert_string_equal(j->valuestring, s[i]);
		cJSON_Delete(j);
	}
	/* As cJSON writes it. */
	buf_reset(&b);
	assert_int_equal(mplan_json_string(&b, "a\"\\\x01z"), 0);
	assert_int_equal(buf_used(&b), strlen("\"a\\\"\\\\\\u0001z\""));
	assert_memory_equal(buf_head(&b), "\"a\\\"\\\\\\u0001z\"", buf_used(&b));
	buf_free(&b);
}

/* Creates, updates, deletes and the other fields, odd names included. */
static void
test_build(void **state)
{
	static const char *const mp_[] = {
		"etc/lists/caf\xc3\xa9", "etc/rules/a\"q.xml",
		"etc/rules/b\\s.xml", "etc/rules/same.xml",
		"etc/shared/x/\xff.conf",
	};
	static const char *const mm[] = { "a", "b", "c", "d", "e" };
	static const char *const wp[] = {
		"etc/rules/b\\s.xml", "etc/rules/gone \"1\".xml",
		"etc/rules/same.xml",
	};
	static const char *const wm[] = { "0", "9", "d" };
	struct integ_index	*m, *w;
	struct integ_plan	 plan;
	struct mplan		 mp;
	cJSON			*j;
	char			 hex[33];
	size_t			 i;

	(void)state;
	m = index_of(mp_, mm, NELEM(mp_));
	w = index_of(wp, wm, NELEM(wp));
	for (i = 0; i < m->nfiles; i++)
		m->files[i].size = 10 * (i + 1);
	assert_int_equal(integ_diff(m, w, &plan), 0);
	assert_int_equal(mplan_build(&mp, m, w, &plan, 1000, 7), 0);
	j = parse(&mp);
	assert_true(cJSON_IsFalse(get(j, "in_sync")));
	assert_int_equal(cJSON_GetArraySize(get(j, "create")), 3);
	assert_string_equal(path_at(j, "create", 0), mp_[0]);
	assert_string_equal(path_at(j, "create", 1), mp_[1]);
	assert_string_equal(path_at(j, "create", 2), mp_[4]);
	assert_int_equal(cJSON_GetArraySize(get(j, "update")), 1);
	assert_string_equal(path_at(j, "update", 0), mp_[2]);
	assert_int_equal(cJSON_GetArraySize(get(j, "delete")), 1);
	assert_string_equal(path_at(j, "delete", 0), wp[1]);
	/* MD5 and mode of each file, as the index has them. */
	integ_hex(m->files[2].md5, hex);
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetArrayItem(
	    get(j, "update"), 0), 1)->valuestring, hex);
	assert_int_equal(cJSON_GetArrayItem(cJSON_GetArrayItem(
	    get(j, "update"), 0), 2)->valueint, 0644);
	assert_true(cJSON_IsFalse(get(j, "more")));
	assert_int_equal(get(j, "bytes")->valueint, 10 + 20 + 50 + 30);
	assert_int_equal(get(j, "transfer")->valueint, 7);
	integ_hex(m->digest, hex);
	assert_string_equal(get(j, "digest")->valuestring, hex);
	integ_hex(w->digest, hex);
	assert_string_equal(get(j, "base")->valuestring, hex);
	/* The round's files for the bundle: the index's own strings. */
	assert_int_equal(mp.npaths, 4);
	assert_int_equal(mp.ncreate, 3);
	assert_ptr_equal(mp.paths[0], m->files[0].path);
	assert_ptr_equal(mp.paths[3], m->files[2].path);
	assert_int_equal(mp.modes[3], 0644);
	/* The text can go before the transfer ends; the list stays. */
	mplan_free_text(&mp);
	assert_int_equal(buf_used(&mp.text), 0);
	assert_ptr_equal(mp.paths[1], m->files[1].path);
	cJSON_Delete(j);
	mplan_free(&mp);
	integ_plan_free(&plan);
	integ_unref(m);
	integ_unref(w);
}

/* The byte limit cuts the round, creates first; one file at least. */
static void
test_limit(void **state)
{
	static const char *const p[] = {
		"etc/rules/1", "etc/rules/2", "etc/rules/3", "etc/rules/4",
	};
	static const char *const mm[] = { "a", "b", "c", "d" };
	static const char *const wm[] = { "0", "0", "0", "0" };
	struct integ_index	*m, *w;
	struct integ_plan	 plan;
	struct mplan		 mp;
	cJSON			*j;
	size_t			 i;

	(void)state;
	m = index_of(p, mm, NELEM(p));
	w = index_of(p + 2, wm, 2);		/* 1, 2 new; 3, 4 differ */
	for (i = 0; i < m->nfiles; i++)
		m->files[i].size = 100;
	assert_int_equal(integ_diff(m, w, &plan), 0);
	/* Inside the creates: no update in this round. */
	assert_int_equal(mplan_build(&mp, m, w, &plan, 150, 1), 0);
	j = parse(&mp);
	assert_int_equal(cJSON_GetArraySize(get(j, "create")), 1);
	assert_int_equal(cJSON_GetArraySize(get(j, "update")), 0);
	assert_true(cJSON_IsTrue(get(j, "more")));
	assert_int_equal(get(j, "bytes")->valueint, 100);
	assert_int_equal(mp.npaths, 1);
	cJSON_Delete(j);
	mplan_free(&mp);
	/* Below any file: still one. */
	assert_int_equal(mplan_build(&mp, m, w, &plan, 0, 2), 0);
	assert_int_equal(mp.npaths, 1);
	j = parse(&mp);
	assert_true(cJSON_IsTrue(get(j, "more")));
	cJSON_Delete(j);
	mplan_free(&mp);
	/* Into the updates. */
	assert_int_equal(mplan_build(&mp, m, w, &plan, 300, 3), 0);
	j = parse(&mp);
	assert_int_equal(cJSON_GetArraySize(get(j, "create")), 2);
	assert_int_equal(cJSON_GetArraySize(get(j, "update")), 1);
	assert_string_equal(path_at(j, "update", 0), "etc/rules/3");
	assert_true(cJSON_IsTrue(get(j, "more")));
	cJSON_Delete(j);
	mplan_free(&mp);
	integ_plan_free(&plan);
	/* Nothing to send, only a removal. */
	assert_int_equal(integ_diff(w, m, &plan), 0);
	assert_int_equal(plan.ncreate + plan.nupdate, 2);
	integ_plan_free(&plan);
	integ_unref(w);
	w = index_of(p, mm, NELEM(p));
	integ_unref(m);
	m = index_of(p, mm, 3);
	assert_int_equal(integ_diff(m, w, &plan), 0);
	assert_int_equal(mplan_build(&mp, m, w, &plan, 1000, 4), 0);
	j = parse(&mp);
	assert_int_equal(cJSON_GetArraySize(get(j, "create")), 0);
	assert_int_equal(cJSON_GetArraySize(get(j, "update")), 0);
	assert_int_equal(cJSON_GetArraySize(get(j, "delete")), 1);
	assert_string_equal(path_at(j, "delete", 0), "etc/rules/4");
	assert_true(cJSON_IsFalse(get(j, "more")));
	assert_int_equal(mp.npaths, 0);
	cJSON_Delete(j);
	mplan_free(&mp);
	integ_plan_free(&plan);
	integ_unref(m);
	integ_unref(w);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_json_string),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
