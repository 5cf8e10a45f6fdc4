/*
 * test_integ_index: integrity indexes once built: the tree digest against
 * its definition, the JSON form a worker sends and the master's checks on
 * it (bad input refused), and the create/update/remove classification.
 * test_integ has the scans and the cache.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "sync/integ.h"
#include "sync/syncset.h"

#include "helpers/fixture.h"
#include "helpers/integ_kit.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define MD5_EMPTY	"d41d8cd98f00b204e9800998ecf8427e"
#define MD5_ABC		"900150983cd24fb0d6963f7d28e17f72"

/* ---- digest ---- */

static void
test_digest(void **state)
{
	char			*h1 = ik_mkhome(), *h2 = ik_mkhome();
	char			 p[PATH_MAX];
	struct integ_index	*a, *b;
	uint8_t			 d[16], first[16];

	(void)state;
	ik_build_tree(h1);
	ik_build_tree(h2);
	/* Different mtimes do not matter. */
	ik_set_mtime(h2, "etc/rules/local_rules.xml", 1000000000, 0);
	assert_non_null(a = integ_scan(h1, NULL));
	assert_non_null(b = integ_scan(h2, NULL));
	assert_memory_equal(a->digest, b->digest, 16);
	ik_digest_by_hand(a, d);
	assert_memory_equal(a->digest, d, 16);
	memcpy(first, a->digest, 16);
	integ_unref(b);
	/* Content. */
	fx_puts_mode(h2, "etc/lists/abc", "abd", 04644);
	assert_non_null(b = integ_scan(h2, NULL));
	assert_memory_not_equal(a->digest, b->digest, 16);
	integ_unref(b);
	fx_puts_mode(h2, "etc/lists/abc", "abc", 04644);
	assert_non_null(b = integ_scan(h2, NULL));
	assert_memory_equal(a->digest, b->digest, 16);
	integ_unref(b);
	/* Mode, when the set keeps the bit... */
	snprintf(p, sizeof(p), "%s/etc/shared/default/agent.conf", h2);
	assert_int_equal(chmod(p, 0644), 0);
	assert_non_null(b = integ_scan(h2, NULL));
	assert_memory_not_equal(a->digest, b->digest, 16);
	integ_unref(b);
	/* ...and not when the mask drops it (exec bits never count). */
	assert_int_equal(chmod(p, 0775), 0);
	assert_non_null(b = integ_scan(h2, NULL));
	assert_memory_equal(a->digest, b->digest, 16);
	integ_unref(b);
	/* A file more, a file renamed. */
	fx_puts_mode(h2, "etc/rules/extra.xml", "", 0644);
	assert_non_null(b = integ_scan(h2, NULL));
	assert_memory_not_equal(a->digest, b->digest, 16);
	integ_unref(b);
	snprintf(p, sizeof(p), "%s/etc/rules/extra.xml", h2);
	assert_int_equal(unlink(p), 0);
	{
		char q[PATH_MAX];

		snprintf(p, sizeof(p), "%s/etc/rules/empty.xml", h2);
		snprintf(q, sizeof(q), "%s/etc/rules/empty2.xml", h2);
		assert_int_equal(rename(p, q), 0);
	}
	assert_non_null(b = integ_scan(h2, NULL));
	assert_memory_not_equal(a->digest, b->digest, 16);
	integ_unref(b);
	/* integ_digest is deterministic on a given index. */
	integ_digest(a);
	assert_memory_equal(a->digest, first, 16);
	integ_unref(a);
	ik_rmhome(h1);
	ik_rmhome(h2);
}

static void
test_refs(void **state)
{
	char			*home = ik_mkhome();
	struct integ_index	*x;

	(void)state;
	ik_build_tree(home);
	assert_non_null(x = integ_scan(home, NULL));
	assert_ptr_equal(integ_ref(x), x);
	assert_int_equal(x->refs, 2);
	integ_unref(x);
	assert_int_equal(x->refs, 1);
	ik_check_tree_index(x);
	integ_unref(x);			/* freed: ASan would see a leak else */
	integ_unref(NULL);
	ik_rmhome(home);
}

/* ---- JSON ---- */

static struct integ_index *
from_str(const char *s, char *err, size_t errlen)
{
	struct integ_index	*x;
	cJSON			*j;

	j = cJSON_Parse(s);
	if (j == NULL)
		fail_msg("test JSON does not parse: %s", s);
	err[0] = '\0';
	x = integ_from_json(j, err, errlen);
	cJSON_Delete(j);
	return x;
}

static void
test_json_roundtrip(void **state)
{
	char			*home = ik_mkhome(), *s, err[256], hex[33];
	struct integ_index	*a, *b;
	cJSON			*j, *back;
	const cJSON		*d, *files;
	size_t			 i;

	(void)state;
	ik_build_tree(home);
	assert_non_null(a = integ_scan(home, NULL));
	assert_non_null(j = integ_to_json(a));
	d = cJSON_GetObjectItemCaseSensitive(j, "digest");
	assert_true(cJSON_IsString(d));
	integ_hex(a->digest, hex);
	assert_string_equal(d->valuestring, hex);
	files = cJSON_GetObjectItemCaseSensitive(j, "files");
	assert_true(cJSON_IsArray(files));
	assert_int_equal(cJSON_GetArraySize(files), IK_NTREE);
	/* Through text, as over the link. */
	assert_non_null(s = cJSON_PrintUnformatted(j));
	assert_non_null(back = cJSON_Parse(s));
	cJSON_free(s);
	b = integ_from_json(back, err, sizeof(err));
	if (b == NULL)
		fail_msg("round trip refused: %s", err);
	assert_int_equal(b->refs, 1);
	assert_int_equal(b->nfiles, a->nfiles);
	for (i = 0; i < a->nfiles; i++) {
		assert_string_equal(b->files[i].path, a->files[i].path);
		assert_memory_equal(b->files[i].md5, a->files[i].md5, 16);
		assert_int_equal(b->files[i].mode, a->files[i].mode);
	}
	assert_memory_equal(a->digest, b->digest, 16);
	cJSON_Delete(back);
	cJSON_Delete(j);
	integ_unref(b);
	integ_unref(a);
	/* An empty index too. */
	assert_non_null(b = from_str("{\"files\":[]}", err, sizeof(err)));
	assert_int_equal(b->nfiles, 0);
	integ_hex(b->digest, hex);
	assert_string_equal(hex, MD5_EMPTY);
	assert_non_null(j = integ_to_json(b));
	files = cJSON_GetObjectItemCaseSensitive(j, "files");
	assert_true(cJSON_IsArray(files));
	assert_int_equal(cJSON_GetArraySize(files), 0);
	cJSON_Delete(j);
	integ_unref(b);
	ik_rmhome(home);
}

/* A peer's list in any order comes out sorted and searchable. */
static void
test_json_unsorted(void **state)
{
	struct integ_index	*x;
	char			 err[256];

	(void)state;
	x = from_str("{\"digest\":\"ignored\",\"files\":["
	    "[\"etc/rules/b\",\"" MD5_ABC "\",420],"
	    "[\"etc/decoders/k\",\"" MD5_EMPTY "\",416],"
	    "[\"etc/rules/a\",\"" MD5_EMPTY "\",0],"
	    "[\"etc/lists/z\",\"" MD5_EMPTY "\",4095]]}", err, sizeof(err));
	if (x == NULL)
		fail_msg("refused: %s", err);
	assert_int_equal(x->nfiles, 4);
	assert_string_equal(x->files[0].path, "etc/decoders/k");
	assert_string_equal(x->files[1].path, "etc/lists/z");
	assert_string_equal(x->files[2].path, "etc/rules/a");
	assert_string_equal(x->files[3].path, "etc/rules/b");
	assert_int_equal(x->files[0].mode, 0640);
	assert_int_equal(x->files[1].mode, 07777);
	assert_int_equal(x->files[2].mode, 0);
	assert_int_equal(x->files[3].mode, 0644);
	assert_non_null(integ_find(x, "etc/rules/b"));
	assert_null(integ_find(x, "etc/rules/c"));
	{
		uint8_t d[16];

		ik_digest_by_hand(x, d);
		assert_memory_equal(x->digest, d, 16);
	}
	integ_unref(x);
}

static void
test_json_refused(void **state)
{
	static const char	*bad[] = {
		/* no files array */
		"{}", "{\"files\":{}}", "{\"files\":\"x\"}", "{\"files\":null}",
		"{\"files\":1}", "{\"Files\":[]}", "[]", "\"files\"",
		/* wrong entry arity or shape */
		"{\"files\":[[]]}",
		"{\"files\":[[\"etc/rules/a\"]]}",
		"{\"files\":[[\"etc/rules/a\",\"" MD5_EMPTY "\"]]}",
		"{\"files\":[[\"etc/rules/a\",\"" MD5_EMPTY "\",420,1]]}",
		"{\"files\":[{\"p\":\"etc/rules/a\",\"m\":\"" MD5_EMPTY
		    "\",\"o\":420}]}",
		"{\"files\":[\"etc/rules/a\"]}",
		"{\"files\":[null]}",
		"{\"files\":[[\"etc/rules/a\",\"" MD5_EMPTY "\",420],3]}",
		/* non-string path or md5, non-number mode */
		"{\"files\":[[1,\"" MD5_EMPTY "\",420]]}",
		"{\"files\":[[null,\"" MD5_EMPTY "\",420]]}",
		"{\"files\":[[[\"etc/rules/a\"],\"" MD5_EMPTY "\",420]]}",
		"{\"files\":[[\"etc/rules/a\",5,420]]}",
		"{\"files\":[[\"etc/rules/a\",null,420]]}",
		"{\"files\":[[\"etc/rules/a\",\"" MD5_EMPTY "\",\"420\"]]}",
		"{\"files\":[[\"etc/rules/a\",\"" MD5_EMPTY "\",true]]}",
		"{\"files\":[[\"etc/rules/a\",\"" MD5_EMPTY "\",null]]}",
		/* bad md5 */
		"{\"files\":[[\"etc/rules/a\","
		    "\"d41d8cd98f00b204e9800998ecf8427\",420]]}",
		"{\"files\":[[\"etc/rules/a\",\"" MD5_EMPTY "0\",420]]}",
		"{\"files\":[[\"etc/rules/a\",\"\",420]]}",
		"{\"files\":[[\"etc/rules/a\","
		    "\"z41d8cd98f00b204e9800998ecf8427e\",420]]}",
		"{\"files\":[[\"etc/rules/a\","
		    "\"D41D8CD98F00B204E9800998ECF8427E\",420]]}",
		"{\"files\":[[\"etc/rules/a\",\"d41d8cd98f00b204\\u0000"
		    "9800998ecf8427e\",420]]}",
		/* mode out of range */
		"{\"files\":[[\"etc/rules/a\",\"" MD5_EMPTY "\",-1]]}",
		"{\"files\":[[\"etc/rules/a\",\"" MD5_EMPTY "\",4096]]}",
		"{\"files\":[[\"etc/rules/a\",\"" MD5_EMPTY "\",65535]]}",
		"{\"files\":[[\"etc/rules/a\",\"" MD5_EMPTY "\",1e300]]}",
		"{\"files\":[[\"etc/rules/a\",\"" MD5_EMPTY "\",-1e300]]}",
		/* unsafe or outside path */
		"{\"files\":[[\"/etc/passwd\",\"" MD5_EMPTY "\",420]]}",
		"{\"files\":[[\"../etc/rules/a\",\"" MD5_EMPTY "\",420]]}",
		"{\"files\":[[\"etc/rules/../../x\",\"" MD5_EMPTY "\",420]]}",
		"{\"files\":[[\"etc/rules/./a\",\"" MD5_EMPTY "\",420]]}",
		"{\"files\":[[\"etc//rules/a\",\"" MD5_EMPTY "\",420]]}",
		"{\"files\":[[\"etc/rules/a/\",\"" MD5_EMPTY "\",420]]}",
		"{\"files\":[[\"etc/rules\",\"" MD5_EMPTY "\",420]]}",
		"{\"files\":[[\"etc/ossec.conf\",\"" MD5_EMPTY "\",420]]}",
		"{\"files\":[[\"etc/rulesX/a\",\"" MD5_EMPTY "\",420]]}",
		"{\"files\":[[\"etc/client.keys/x\",\"" MD5_EMPTY "\",420]]}",
		"{\"files\":[[\"etc/rules/a.tmp\",\"" MD5_EMPTY "\",420]]}",
		"{\"files\":[[\"etc/rules/" SYNCSET_TMP_PREFIX "a\",\""
		    MD5_EMPTY "\",420]]}",
		"{\"files\":[[\"etc/rules/a\\nb\",\"" MD5_EMPTY "\",420]]}",
		"{\"files\":[[\"\",\"" MD5_EMPTY "\",420]]}",
		/* duplicate path, adjacent or not in the input */
		"{\"files\":[[\"etc/rules/a\",\"" MD5_EMPTY "\",420],"
		    "[\"etc/rules/a\",\"" MD5_EMPTY "\",420]]}",
		"{\"files\":[[\"etc/rules/a\",\"" MD5_EMPTY "\",420],"
		    "[\"etc/lists/b\",\"" MD5_EMPTY "\",420],"
		    "[\"etc/rules/a\",\"" MD5_ABC "\",384]]}",
		/* one bad entry after good ones spoils the index */
		"{\"files\":[[\"etc/rules/a\",\"" MD5_EMPTY "\",420],"
		    "[\"etc/rules/b\",\"" MD5_EMPTY "\",420],"
		    "[\"etc/ossec.conf\",\"" MD5_EMPTY "\",420]]}",
	};
	struct integ_index	*x;
	char			 err[256 + 8];
	size_t			 i;

	(void)state;
	for (i = 0; i < NELEM(bad); i++) {
		memset(err, 0x5a, sizeof(err));
		x = from_str(bad[i], err, 256);
		if (x != NULL) {
			integ_unref(x);
			fail_msg("accepted %s", bad[i]);
		}
		if (err[0] == '\0')
			fail_msg("no reason for refusing %s", bad[i]);
		assert_non_null(memchr(err, '\0', 256));
		assert_memory_equal(err + 256,
		    "\x5a\x5a\x5a\x5a\x5a\x5a\x5a\x5a", 8);
	}
}

/* Boundary values that are legal. */
static void
test_json_accepted(void **state)
{
	static const char	*good[] = {
		"{\"files\":[]}",
		"{\"files\":[],\"digest\":\"anything\"}",
		"{\"files\":[[\"etc/rules/a\",\"" MD5_EMPTY "\",0]]}",
		"{\"files\":[[\"etc/rules/a\",\"" MD5_EMPTY "\",4095]]}",
		"{\"files\":[[\"etc/rules/sub/deep/a\",\"ffffffffffffffff"
		    "ffffffffffffffff\",420]]}",
		"{\"files\":[[\"etc/decoders/k\",\"00000000000000000000000000"
		    "000000\",416]]}",
	};
	struct integ_index	*x;
	char			 err[256];
	size_t			 i;

	(void)state;
	for (i = 0; i < NELEM(good); i++) {
		x = from_str(good[i], err, sizeof(err));
		if (x == NULL)
			fail_msg("refused %s: %s", good[i], err);
		integ_unref(x);
	}
}

/* ---- diff ---- */

struct hf {
	const char	*path;
	uint8_t		 md5;	/* every byte of the MD5 */
	mode_t		 mode;
};

/* An index built by hand, sorted by the caller. */
static struct integ_index *
mkidx(const struct hf *f, size_t n)
{
	struct integ_index	*x;
	size_t			 i;

	assert_non_null(x = integ_new());
	assert_int_equal(x->refs, 1);
	if (n > 0)
		assert_non_null(x->files = calloc(n, sizeof(*x->files)));
	for (i = 0; i < n; i++) {
		assert_non_null(x->files[i].path = integ_strdup(x, f[i].path,
		    strlen(f[i].path)));
		memset(x->files[i].md5, f[i].md5, 16);
		x->files[i].mode = f[i].mode;
		if (i > 0)
			assert_true(strcmp(f[i - 1].path, f[i].path) < 0);
	}
	x->nfiles = n;
	integ_digest(x);
	return x;
}

static void
check_list(const size_t *got, size_t ngot, const size_t *want, size_t nwant)
{
	size_t	i;

	assert_int_equal(ngot, nwant);
	for (i = 0; i < nwant; i++)
		assert_int_equal(got[i], want[i]);
}

static void
test_diff(void **state)
{
	static const struct hf	 m[] = {
		{ "etc/decoders/a", 1, 0640 },		/* 0 same */
		{ "etc/lists/a", 2, 0644 },		/* 1 create */
		{ "etc/rules/b", 3, 0644 },		/* 2 md5 differs */
		{ "etc/rules/c", 4, 0644 },		/* 3 mode differs */
		{ "etc/rules/d", 5, 0644 },		/* 4 same */
		{ "etc/rules/sub/e", 6, 0600 },		/* 5 create */
	};
	static const struct hf	 w[] = {
		{ "etc/decoders/a", 1, 0640 },		/* 0 */
		{ "etc/decoders/x", 9, 0644 },		/* 1 remove */
		{ "etc/rules/b", 7, 0644 },		/* 2 */
		{ "etc/rules/c", 4, 0664 },		/* 3 */
		{ "etc/rules/d", 5, 0644 },		/* 4 */
		{ "etc/rules/sub", 5, 0644 },		/* 5 remove */
		{ "etc/shared/z", 1, 0644 },		/* 6 remove */
	};
	static const size_t	 cr[] = { 1, 5 }, up[] = { 2, 3 },
	    rm[] = { 1, 5, 6 };
	struct integ_index	*a, *b;
	struct integ_plan	 p;

	(void)state;
	a = mkidx(m, NELEM(m));
	b = mkidx(w, NELEM(w));
	assert_int_equal(integ_diff(a, b, &p), 0);
	check_list(p.create, p.ncreate, cr, NELEM(cr));
	check_list(p.update, p.nupdate, up, NELEM(up));
	check_list(p.remove, p.nremove, rm, NELEM(rm));
	integ_plan_free(&p);
	assert_null(p.create);
	assert_int_equal(p.ncreate + p.nupdate + p.nremove, 0);
	/* Identical: nothing to do, either way round. */
	assert_int_equal(integ_diff(a, a, &p), 0);
	assert_int_equal(p.ncreate + p.nupdate + p.nremove, 0);
	integ_plan_free(&p);
	/* The other way round: what was removed is created, and so on. */
	{
		static const size_t cr2[] = { 1, 5, 6 }, up2[] = { 2, 3 },
		    rm2[] = { 1, 5 };

		assert_int_equal(integ_diff(b, a, &p), 0);
		check_list(p.create, p.ncreate, cr2, NELEM(cr2));
		check_list(p.update, p.nupdate, up2, NELEM(up2));
		check_list(p.remove, p.nremove, rm2, NELEM(rm2));
		integ_plan_free(&p);
	}
	integ_unref(a);
	integ_unref(b);
}

static void
test_diff_empty_sides(void **state)
{
	static const struct hf	 m[] = {
		{ "etc/lists/a", 2, 0644 }, { "etc/rules/b", 3, 0644 },
		{ "etc/rules/c", 4, 0644 },
	};
	static const size_t	 all[] = { 0, 1, 2 };
	struct integ_index	*full, *none;
	struct integ_plan	 p;

	(void)state;
	full = mkidx(m, NELEM(m));
	none = mkidx(NULL, 0);
	assert_int_equal(integ_diff(full, none, &p), 0);
	check_list(p.create, p.ncreate, all, NELEM(all));
	assert_int_equal(p.nupdate + p.nremove, 0);
	integ_plan_free(&p);
	assert_int_equal(integ_diff(none, full, &p), 0);
	check_list(p.remove, p.nremove, all, NELEM(all));
	assert_int_equal(p.ncreate + p.nupdate, 0);
	integ_plan_free(&p);
	assert_int_equal(integ_diff(none, none, &p), 0);
	assert_int_equal(p.ncreate + p.nupdate + p.nremove, 0);
	integ_plan_free(&p);
	integ_unref(full);
	integ_unref(none);
}

/* Lists that grow past many powers of two keep every index, in order. */
static void
test_diff_large(void **state)
{
	struct integ_index	*a, *b;
	struct integ_plan	 p;
	struct hf		*m, *w;
	char			(*names)[32];
	size_t			 n = 1500, i, nm = 0, nw = 0;
	size_t			 c = 0, u = 0, r = 0;

	(void)state;
	assert_non_null(names = calloc(n, sizeof(*names)));
	assert_non_null(m = calloc(n, sizeof(*m)));
	assert_non_null(w = calloc(n, sizeof(*w)));
	/* i%4: 0 both same, 1 master only, 2 both differ, 3 worker only. */
	for (i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "etc/rules/f%06zu", i);
		if (i % 4 != 3)
			m[nm++] = (struct hf){ names[i], 1, 0644 };
		if (i % 4 != 1)
			w[nw++] = (struct hf){ names[i], (uint8_t)(i % 4 == 2 ?
			    2 : 1), 0644 };
	}
	a = mkidx(m, nm);
	b = mkidx(w, nw);
	assert_int_equal(integ_diff(a, b, &p), 0);
	assert_int_equal(p.ncreate, n / 4);
	assert_int_equal(p.nupdate, n / 4);
	assert_int_equal(p.nremove, n / 4);
	for (i = 0; i < n; i++) {
		const char *name = names[i];

		switch (i % 4) {
		case 1:
			assert_string_equal(a->files[p.create[c++]].path, name);
			break;
		case 2:
			assert_string_equal(a->files[p.update[u++]].path, name);
			break;
		case 3:
			assert_string_equal(b->files[p.remove[r++]].path, name);
			break;
		}
	}
	integ_plan_free(&p);
	integ_unref(a);
	integ_unref(b);
	free(names);
	free(m);
	free(w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_digest,
		    ik_rm_homes),
		cmocka_unit_test_teardown(test_refs,
		    ik_rm_homes),
		cmocka_unit_test_teardown(test_json_roundtrip,
		    ik_rm_homes),
		cmocka_unit_test_teardown(test_json_unsorted,
		    ik_rm_homes),
		cmocka_unit_test_teardown(test_json_refused,
		    ik_rm_homes),
		cmocka_unit_test_teardown(test_json_accepted,
		    ik_rm_homes),
		cmocka_unit_test_teardown(test_diff,
		    ik_rm_homes),
		cmocka_unit_test_teardown(test_diff_empty_sides,
		    ik_rm_homes),
		cmocka_unit_test_teardown(test_diff_large,
		    ik_rm_homes),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
