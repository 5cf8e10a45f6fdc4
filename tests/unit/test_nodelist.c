/*
 * test_nodelist: the master's nodes_file (good lists, each kind of bad
 * line, twins, limits, a file on disk) and the node credentials derived
 * from the cluster key (stable, distinct per name and generation, valid
 * as keys).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/clusterkey.h"
#include "base/nodelist.h"

#define KEY	"85482860b191589c071454938c1bd2e1"

static int
parse(const char *text, struct nodelist *l, char *err, size_t errlen)
{
	return nodelist_parse(text, strlen(text), l, err, errlen);
}

static void
test_good_list(void **state)
{
	const struct nodelist_entry	*e;
	struct nodelist			 l;
	char				 err[256];

	(void)state;
	assert_int_equal(parse("# the cluster's nodes\n"
	    "worker-2 worker 3   # reissued\r\n"
	    "\n"
	    "  worker-1\tworker\n"
	    "lb-1 balancer\n"
	    "master-2 master 2\n"
	    "old-9 revoked", &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 5);
	assert_non_null(e = nodelist_find(&l, "worker-1"));
	assert_int_equal(e->type, NODE_WORKER);
	assert_int_equal(e->generation, 1);
	assert_non_null(e = nodelist_find(&l, "worker-2"));
	assert_int_equal(e->generation, 3);
	assert_non_null(e = nodelist_find(&l, "lb-1"));
	assert_int_equal(e->type, NODE_BALANCER);
	assert_non_null(e = nodelist_find(&l, "master-2"));
	assert_int_equal(e->type, NODE_MASTER);
	assert_int_equal(e->generation, 2);
	assert_non_null(e = nodelist_find(&l, "old-9"));
	assert_true(e->revoked);
	assert_null(nodelist_find(&l, "worker-3"));
	assert_null(nodelist_find(&l, "worker"));
	nodelist_free(&l);

	assert_int_equal(parse("", &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 0);
	assert_null(nodelist_find(&l, "worker-1"));
	nodelist_free(&l);
}

struct bad {
	const char	*text;
	const char	*err;	/* a part of the message */
};

static void
test_bad_lines(void **state)
{
	static const struct bad	 bad[] = {
		{ "worker-1\n", "line 1: expected" },
		{ "a worker\nb worker 1 x\n", "line 2: expected" },
		{ "w/1 worker\n", "invalid node name" },
		{ "w1 standby\n", "role must be" },
		{ "w1 Master\n", "role must be" },
		{ "w1 worker 0\n", "generation" },
		{ "w1 worker 01\n", "generation" },
		{ "w1 worker 1000000\n", "generation" },
		{ "w1 worker -1\n", "generation" },
		{ "w1 worker 1x\n", "generation" },
		{ "w1 worker\nw2 worker\nw1 balancer\n", "line 3: \"w1\" "
		    "listed twice" },
		{ "w1 worker\x1b[2J\n", "control character" },
		{ "w1 worker\rw2 worker\n", "control character" },
	};
	struct nodelist		 l;
	char			 err[256];
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i].text, &l, err, sizeof(err)) != -1)
			fail_msg("accepted: %s", bad[i].text);
		if (strstr(err, bad[i].err) == NULL)
			fail_msg("%s: got \"%s\", wanted \"%s\"", bad[i].text,
			    err, bad[i].err);
		assert_null(l.v);
	}
	/* A NUL byte, and a line too long for any valid entry. */
	assert_int_equal(nodelist_parse("w1 worker\0x\n", 12, &l, err,
	    sizeof(err)), -1);
	{
		char	long_line[400];

		memset(long_line, 'a', sizeof(long_line) - 1);
		long_line[sizeof(long_line) - 1] = '\0';
		assert_int_equal(parse(long_line, &l, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "too long"));
	}
}

/* At most NODELIST_MAX nodes. */
static void
test_limit(void **state)
{
	struct nodelist	 l;
	char		*text, err[256];
	size_t		 i, off = 0, cap = (NODELIST_MAX + 1) * 24;

	(void)state;
	assert_non_null(text = malloc(cap));
	for (i = 0; i < NODELIST_MAX; i++)
		off += (size_t)snprintf(text + off, cap - off, "w%zu worker\n",
		    i);
	assert_int_equal(nodelist_parse(text, off, &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, NODELIST_MAX);
	assert_non_null(nodelist_find(&l, "w4095"));
	nodelist_free(&l);
	off += (size_t)snprintf(text + off, cap - off, "one-more worker\n");
	assert_int_equal(nodelist_parse(text, off, &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than"));
	free(text);
}

static void
test_load(void **state)
{
	struct nodelist	 l;
	char		 path[] = "/tmp/test_nodelist.XXXXXX", err[256];
	FILE		*f;
	int		 fd;

	(void)state;
	assert_true((fd = mkstemp(path)) != -1);
	assert_non_null(f = fdopen(fd, "w"));
	fputs("worker-1 worker 2\n", f);
	fclose(f);
	assert_int_equal(nodelist_load(path, &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(nodelist_find(&l, "worker-1")->generation, 2);
	nodelist_free(&l);
	unlink(path);
	assert_int_equal(nodelist_load(path, &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot be read"));
	assert_int_equal(nodelist_load("/tmp", &l, err, sizeof(err)), -1);
}

static void
test_credentials(void **state)
{
	char	a[CLUSTERKEY_LEN + 1], b[CLUSTERKEY_LEN + 1], why[160];

	(void)state;
	assert_int_equal(clusterkey_node_credential(KEY, "worker-1", 1, a), 0);
	assert_int_equal(strlen(a), CLUSTERKEY_LEN);
	assert_false(clusterkey_weak(a, why, sizeof(why)));
	assert_string_not_equal(a, KEY);
	/* Stable: the master derives it again at every handshake. */
	assert_int_equal(clusterkey_node_credential(KEY, "worker-1", 1, b), 0);
	assert_string_equal(a, b);
	/* Another name, generation or cluster key: another credential. */
	assert_int_equal(clusterkey_node_credential(KEY, "worker-2", 1, b), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(clusterkey_node_credential(KEY, "worker-1", 2, b), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(clusterkey_node_credential(
	    "85482860b191589c071454938c1bd2e2", "worker-1", 1, b), 0);
	assert_string_not_equal(a, b);
	/* The name and generation are not run together: "w1" 11 is not
	 * "w11" 1. */
	assert_int_equal(clusterkey_node_credential(KEY, "w1", 11, a), 0);
	assert_int_equal(clusterkey_node_credential(KEY, "w11", 1, b), 0);
	assert_string_not_equal(a, b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_list),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_credentials),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
