/*
 * test_merged: the agents' shared files.  merged.mg of a group and of a
 * multigroup, byte for byte against texts written by hand from Wazuh's
 * rules (remoted/manager.c c_group, c_multi_group, copy_directory;
 * shared/file_op.c MergeAppendFile, wreaddir): tag line, ar.conf first,
 * names in strcmp order with subfolders in place, dot files, merged.mg*
 * and files holding NUL left out, agent.conf appended per group after its
 * source line; the multigroup folder's name; the push sequence (header,
 * 900-byte chunks, close) and the keepalive's merged sum; the cache that
 * follows a file's changes.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/keepalive.h"
#include "agent/merged.h"
#include "helpers/fixture.h"

static char *
shared_of(struct fx_homes *f)
{
	static char	path[256];

	snprintf(path, sizeof(path), "%s/etc/shared", f->master);
	return path;
}

static void
build_is(const char *shared, const char *groups, const char *expect)
{
	char	*out;
	size_t	 len;

	assert_int_equal(merged_build(shared, groups, &out, &len), 0);
	assert_int_equal(len, strlen(expect));
	assert_memory_equal(out, expect, len);
	free(out);
}

static void
test_group(void **state)
{
	struct fx_homes	*f = *state;
	char		 nul[] = "bin\0ary";

	fx_puts(f->master, "etc/shared/web/agent.conf",
	    "<agent_config>\n</agent_config>\n");
	fx_puts(f->master, "etc/shared/web/b.txt", "bee");
	fx_puts(f->master, "etc/shared/web/a.conf", "A\n");
	fx_puts(f->master, "etc/shared/web/.hidden", "no\n");
	fx_puts(f->master, "etc/shared/web/merged.mg", "#old\n");
	fx_puts(f->master, "etc/shared/web/merged.mg.tmp", "#old\n");
	fx_puts(f->master, "etc/shared/web/sub/x.conf", "x\n");
	fx_puts(f->master, "etc/shared/web/a/y", "y");
	fx_put(f->master, "etc/shared/web/c.bin", nul, sizeof(nul));
	fx_puts(f->master, "etc/shared/web/empty", "");
	/* a/y sorts at a's place: before a.conf, as the walk emits it. */
	build_is(shared_of(f), "web",
	    "#web\n"
	    "!1 a/y\ny"
	    "!2 a.conf\nA\n"
	    "!31 agent.conf\n<agent_config>\n</agent_config>\n"
	    "!3 b.txt\nbee"
	    "!0 empty\n"
	    "!2 sub/x.conf\nx\n");
	fx_puts(f->master, "etc/shared/ar.conf", "restart-ossec0 - "
	    "restart-ossec.sh - 0\n");
	build_is(shared_of(f), "web",
	    "#web\n"
	    "!38 ar.conf\nrestart-ossec0 - restart-ossec.sh - 0\n"
	    "!1 a/y\ny"
	    "!2 a.conf\nA\n"
	    "!31 agent.conf\n<agent_config>\n</agent_config>\n"
	    "!3 b.txt\nbee"
	    "!0 empty\n"
	    "!2 sub/x.conf\nx\n");
}

static void
test_empty_and_missing(void **state)
{
	struct fx_homes	*f = *state;
	char		*out;
	size_t		 len;

	fx_puts(f->master, "etc/shared/e/.keep", "");
	build_is(shared_of(f), "e", "#e\n");
	assert_int_equal(merged_build(shared_of(f), "nosuch", &out, &len), -1);
	assert_null(out);
	assert_int_equal(merged_build(shared_of(f), "e,nosuch", &out, &len),
	    -1);
}

static void
test_multigroup(void **state)
{
	struct fx_homes	*f = *state;
	char		 hash[9];

	merged_multigroup_hash("a,b", hash);
	assert_string_equal(hash, "1eb7c54d");	/* sha256("a,b")[:8] */
	merged_multigroup_hash("b,a", hash);
	assert_string_equal(hash, "71db20d9");	/* order matters */
	fx_puts(f->master, "etc/shared/a/agent.conf", "A\n");
	fx_puts(f->master, "etc/shared/a/f.txt", "a-f\n");
	fx_puts(f->master, "etc/shared/a/only-a", "1");
	fx_puts(f->master, "etc/shared/b/agent.conf", "B\n");
	fx_puts(f->master, "etc/shared/b/f.txt", "b-f\n");
	build_is(shared_of(f), "a,b",
	    "#1eb7c54d\n"
	    "!74 agent.conf\n"
	    "<!-- Source file: a/agent.conf -->\nA\n"
	    "<!-- Source file: b/agent.conf -->\nB\n"
	    "!4 f.txt\nb-f\n"
	    "!1 only-a\n1");
	build_is(shared_of(f), "b,a",
	    "#71db20d9\n"
	    "!74 agent.conf\n"
	    "<!-- Source file: b/agent.conf -->\nB\n"
	    "<!-- Source file: a/agent.conf -->\nA\n"
	    "!4 f.txt\na-f\n"
	    "!1 only-a\n1");
}

static void
test_rel_path(void **state)
{
	char	p[128];

	(void)state;
	assert_int_equal(merged_rel_path("default", p, sizeof(p)), 0);
	assert_string_equal(p, "etc/shared/default/merged.mg");
	assert_int_equal(merged_rel_path("a,b", p, sizeof(p)), 0);
	assert_string_equal(p, "etc/multigroups/1eb7c54d/merged.mg");
	assert_int_equal(merged_rel_path("default", p, 10), -1);
	assert_int_equal(merged_rel_path("..", p, sizeof(p)), -1);
	assert_int_equal(merged_rel_path("a/b", p, sizeof(p)), -1);
	assert_int_equal(merged_rel_path("", p, sizeof(p)), -1);
}

/* The messages of a push, concatenated with "|" between them. */
static void
push_is(const char *data, size_t len, size_t nmsgs, size_t chunk_total)
{
	struct merged_file	*f = merged_file_new(data, len);
	char			 buf[MERGED_CHUNK + 64], head[64];
	size_t			 step = 0, n, i = 0, got = 0;

	assert_non_null(f);
	assert_int_equal(merged_push_steps(f), nmsgs);
	snprintf(head, sizeof(head), "#!-up file %s merged.mg\n", f->md5);
	while ((n = merged_push_next(f, &step, buf, sizeof(buf))) > 0) {
		if (i == 0) {
			assert_int_equal(n, strlen(head));
			assert_memory_equal(buf, head, n);
		} else if (i == nmsgs - 1) {
			assert_int_equal(n, 14);
			assert_memory_equal(buf, "#!-close file ", 14);
		} else {
			assert_true(n <= MERGED_CHUNK);
			assert_true(n == MERGED_CHUNK || i == nmsgs - 2);
			assert_memory_equal(buf, data + got, n);
			got += n;
		}
		i++;
	}
	assert_int_equal(i, nmsgs);
	assert_int_equal(got, chunk_total);
	assert_int_equal(merged_push_next(f, &step, buf, sizeof(buf)), 0);
	/* A buffer too small for a chunk gets nothing. */
	step = 0;
	assert_int_equal(merged_push_next(f, &step, buf, 100), 0);
	merged_file_unref(f);
}

static void
test_push(void **state)
{
	char	big[2000];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	push_is(big, sizeof(big), 5, sizeof(big));	/* 900, 900, 200 */
	push_is(big, 900, 3, 900);
	push_is(big, 901, 4, 901);
	push_is("", 0, 2, 0);
}

static void
test_md5(void **state)
{
	struct merged_file	*f = merged_file_new("", 0);

	(void)state;
	assert_string_equal(f->md5, "d41d8cd98f00b204e9800998ecf8427e");
	assert_ptr_equal(merged_file_ref(f), f);
	assert_int_equal(f->refs, 2);
	merged_file_unref(f);
	merged_file_unref(f);
}

static void
test_keepalive_sum(void **state)
{
	char	s[64];

	(void)state;
	keepalive_merged_sum("Linux |h |5 |x |x86_64 - Wazuh v4.14.7 / "
	    "ab73af41699f13fdd81903b5f23d8d00\n\"env\":a merged.mg\n"
	    "d6e3ac3e75ca0319af3e7c262776f331 merged.mg\n#\"_agent_ip\":1.2.3.4"
	    "\n", s, sizeof(s));
	assert_string_equal(s, "d6e3ac3e75ca0319af3e7c262776f331");
	keepalive_merged_sum("Linux - Wazuh v4.14.7 / x\n", s, sizeof(s));
	assert_string_equal(s, "");
	keepalive_merged_sum("", s, sizeof(s));
	assert_string_equal(s, "");
	/* "x merged.mg.bak" is not the line; a long sum is cut, not spilled. */
	keepalive_merged_sum("x merged.mg.bak\nabc merged.mg", s, sizeof(s));
	assert_string_equal(s, "abc");
	keepalive_merged_sum("0123456789012345678901234567890123456789 merged.mg",
	    s, 8);
	assert_string_equal(s, "0123456");
}

static void
test_cache(void **state)
{
	struct fx_homes		*f = *state;
	struct merged_cache	 c;
	struct merged_file	*m, *m2;
	char			 md5[33];

	merged_cache_init(&c, f->master, 0);
	assert_null(merged_cache_get(&c, "g", 1.0));
	fx_puts(f->master, "etc/shared/g/merged.mg", "#g\n");
	assert_non_null(m = merged_cache_get(&c, "g", 2.0));
	merged_md5_hex("#g\n", 3, md5);
	assert_string_equal(m->md5, md5);
	assert_ptr_equal(merged_cache_get(&c, "g", 3.0), m);	/* unchanged */
	merged_file_ref(m);		/* as a push under way holds it */
	fx_puts(f->master, "etc/shared/g/merged.mg", "#g\n!1 x\ny");
	assert_non_null(m2 = merged_cache_get(&c, "g", 4.0));
	assert_ptr_not_equal(m2, m);
	assert_int_equal(m2->len, 9);
	assert_string_equal(m->md5, md5);	/* the old one still whole */
	merged_file_unref(m);
	fx_puts(f->master, "etc/multigroups/1eb7c54d/merged.mg", "#1eb7c54d\n");
	assert_non_null(m = merged_cache_get(&c, "a,b", 5.0));
	assert_int_equal(m->len, 10);
	merged_cache_free(&c);
	/* Trusted for recheck seconds: a change is seen only after. */
	merged_cache_init(&c, f->master, 10);
	assert_non_null(m = merged_cache_get(&c, "g", 100.0));
	fx_puts(f->master, "etc/shared/g/merged.mg", "#g\n");
	assert_ptr_equal(merged_cache_get(&c, "g", 105.0), m);
	assert_int_equal(merged_cache_get(&c, "g", 111.0)->len, 3);
	merged_cache_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_group, fx_homes_setup,
		    fx_homes_teardown),
		cmocka_unit_test_setup_teardown(test_empty_and_missing,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test_setup_teardown(test_multigroup,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test(test_rel_path),
		cmocka_unit_test(test_push),
		cmocka_unit_test(test_md5),
		cmocka_unit_test(test_keepalive_sum),
		cmocka_unit_test_setup_teardown(test_cache, fx_homes_setup,
		    fx_homes_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
