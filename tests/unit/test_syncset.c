/*
 * test_syncset: the table of what a master shares and the path rules that
 * guard both its scan and a worker's writes.  A path syncset_check()
 * accepts is one a worker will create or delete, so every way out of the
 * set (absolute, "..", empty components, names outside the table) and
 * every excluded name must be refused, anywhere in the path.
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

#include "sync/syncset.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* The entry for path p in the table, found by hand, or NULL. */
static const struct syncset_entry *
entry(const char *p)
{
	size_t	i;

	for (i = 0; i < syncset_count; i++)
		if (strcmp(syncset_table[i].path, p) == 0)
			return &syncset_table[i];
	return NULL;
}

/* rel is accepted and belongs to want. */
static void
accepts(const char *rel, const struct syncset_entry *want)
{
	const struct syncset_entry	*e;
	char				 why[128];

	why[0] = '\0';
	e = syncset_check(rel, why, sizeof(why));
	if (e == NULL)
		fail_msg("refused \"%s\": %s", rel, why);
	if (e != want)
		fail_msg("\"%s\" matched entry %s, want %s", rel, e->path,
		    want->path);
}

/* rel is refused, with a reason, and the reason fits its buffer. */
static void
refuses(const char *rel)
{
	const struct syncset_entry	*e;
	char				 why[128 + 8];

	memset(why, 0x5a, sizeof(why));
	why[0] = '\0';
	e = syncset_check(rel, why, 128);
	if (e != NULL)
		fail_msg("accepted \"%s\" (entry %s)", rel, e->path);
	if (why[0] == '\0' || memchr(why, '\0', 128) == NULL)
		fail_msg("no reason given for refusing \"%s\"", rel);
	/* Nothing written past the length given. */
	assert_memory_equal(why + 128, "\x5a\x5a\x5a\x5a\x5a\x5a\x5a\x5a", 8);
}

/* The table itself: relative, unique, in the set by its own rules. */
static void
test_table(void **state)
{
	size_t	i, k;

	(void)state;
	assert_int_equal(syncset_count, 5);
	assert_non_null(entry("etc/rules"));
	assert_non_null(entry("etc/decoders"));
	assert_non_null(entry("etc/lists"));
	assert_non_null(entry("etc/shared"));
	assert_non_null(entry("etc/multigroups"));
	/* Each node writes client.keys from its own agent table. */
	assert_null(entry("etc/client.keys"));
	for (i = 0; i < syncset_count; i++) {
		const struct syncset_entry *e = &syncset_table[i];

		assert_true(e->path[0] != '\0' && e->path[0] != '/');
		assert_int_equal(e->path[strlen(e->path) - 1] == '/', 0);
		/* No entry is nested in another. */
		for (k = 0; k < syncset_count; k++) {
			size_t n = strlen(syncset_table[k].path);

			if (k != i)
				assert_false(strncmp(e->path,
				    syncset_table[k].path, n) == 0 &&
				    (e->path[n] == '/' || e->path[n] == '\0'));
		}
		/* Never exec, setuid, setgid or sticky bits. */
		assert_int_equal(e->mode_mask & 07111, 0);
		/* Every entry is a folder under etc (watch.c relies on it). */
		assert_int_equal(strncmp(e->path, "etc/", 4), 0);
		assert_null(strchr(e->path + 4, '/'));
	}
}

/* Files anywhere under a folder of the set belong to it. */
static void
test_accepts_folders(void **state)
{
	static const char	*rels[] = { "a", "local_rules.xml", ".hidden",
	    "sub/b.xml", "sub/deeper/still/c", "a.b.c", "x-y_z",
	    "r\xc3\xa8gles.xml", "a~b", "a.tmp.xml", "lock", "tmp",
	    "clusterd-sync.x", "x.clusterd-sync.y", "..a", "a..", "...",
	    "swp" };
	char			 p[SYNCSET_PATH_MAX];
	size_t			 i, k;

	(void)state;
	for (i = 0; i < syncset_count; i++) {
		const struct syncset_entry *e = &syncset_table[i];

		for (k = 0; k < NELEM(rels); k++) {
			snprintf(p, sizeof(p), "%s/%s", e->path, rels[k]);
			accepts(p, e);
		}
	}
}

/* client.keys is outside the set, and so is anything named like it. */
static void
test_refuses_client_keys(void **state)
{
	(void)state;
	refuses("etc/client.keys");
	refuses("etc/client.keys/x");
	refuses("etc/client.keys/");
	refuses("etc/client.keys2");
	refuses("etc/client.key");
	refuses("etc/client.keys.bak");
	refuses("etc/client.keys.lock");
	refuses("etc/client.keys~");
	refuses("etc/.clusterd-sync.client.keys");
	refuses("./etc/client.keys");
	refuses("etc/./client.keys");
	refuses("/etc/client.keys");
}

static void
test_refuses_absolute_and_empty(void **state)
{
	(void)state;
	refuses("");
	refuses("/");
	refuses("/etc/rules/a");
	refuses("//etc/rules/a");
	refuses("/etc/passwd");
}

static void
test_refuses_dots(void **state)
{
	static const char	*bad[] = { "..", ".", "../etc/rules/a",
	    "./etc/rules/a", "etc/rules/..", "etc/rules/.", "etc/rules/../a",
	    "etc/rules/./a", "etc/rules/sub/../a", "etc/rules/sub/..",
	    "etc/rules/../../../etc/passwd", "etc/../etc/rules/a",
	    "etc/rules/a/..", "etc/rules/a/.", "etc/rules/../rules/a" };
	size_t			 i;

	(void)state;
	for (i = 0; i < NELEM(bad); i++)
		refuses(bad[i]);
}

static void
test_refuses_empty_components(void **state)
{
	static const char	*bad[] = { "etc//rules/a", "etc/rules//a",
	    "etc/rules/a/", "etc/rules/sub//b", "etc/rules/sub/b//",
	    "etc/rules/", "etc/rules//", "etc/client.keys/", "etc//client.keys"
	};
	size_t			 i;

	(void)state;
	for (i = 0; i < NELEM(bad); i++)
		refuses(bad[i]);
}

/* Every control character, at the start, middle and end of a name. */
static void
test_refuses_control_characters(void **state)
{
	char		p[64];
	unsigned	c;

	(void)state;
	for (c = 1; c < 0x20; c++) {
		snprintf(p, sizeof(p), "etc/rules/%ca", c);
		refuses(p);
		snprintf(p, sizeof(p), "etc/rules/a%cb", c);
		refuses(p);
		snprintf(p, sizeof(p), "etc/rules/a%c", c);
		refuses(p);
		snprintf(p, sizeof(p), "etc/rules/s%c/a", c);
		refuses(p);
		snprintf(p, sizeof(p), "etc/client.keys%c", c);
		refuses(p);
	}
	refuses("etc/rules/a\x7f");
	refuses("etc/rules/\x7f/a");
	refuses("etc/rules/a\nb");
	refuses("etc/rules/a\r");
	refuses("etc/rules/a\tb");
}

/*
 * Lengths: a path of SYNCSET_PATH_MAX - 1 bytes is the longest, a name of
 * 255 bytes (NAME_MAX) the longest component.
 */
static void
test_lengths(void **state)
{
	char	p[SYNCSET_PATH_MAX + 64];
	size_t	len;

	(void)state;
	/* "etc/rules/" + components of 200 'a' and '/' up to a length. */
	for (len = SYNCSET_PATH_MAX - 3; len <= SYNCSET_PATH_MAX + 2; len++) {
		size_t	i, run = 0;

		memcpy(p, "etc/rules/", 10);
		for (i = 10; i < len; i++) {
			if (run == 200 && i < len - 1) {
				p[i] = '/';
				run = 0;
			} else {
				p[i] = 'a';
				run++;
			}
		}
		p[len] = '\0';
		assert_int_equal(strlen(p), len);
		if (len < SYNCSET_PATH_MAX)
			accepts(p, entry("etc/rules"));
		else
			refuses(p);
	}
	/* Components: 255 bytes accepted, 256 refused, wherever they are. */
	memset(p, 0, sizeof(p));
	memcpy(p, "etc/rules/", 10);
	memset(p + 10, 'b', 255);
	accepts(p, entry("etc/rules"));
	p[10 + 255] = 'b';
	refuses(p);
	memset(p, 0, sizeof(p));
	memcpy(p, "etc/rules/", 10);
	memset(p + 10, 'c', 255);
	memcpy(p + 10 + 255, "/x", 2);
	accepts(p, entry("etc/rules"));
	memset(p, 0, sizeof(p));
	memcpy(p, "etc/rules/", 10);
	memset(p + 10, 'c', 256);
	memcpy(p + 10 + 256, "/x", 2);
	refuses(p);
	/* Far over every limit. */
	{
		char	*big = malloc(70000);

		assert_non_null(big);
		memset(big, 'z', 69999);
		big[69999] = '\0';
		memcpy(big, "etc/rules/", 10);
		refuses(big);
		free(big);
	}
}

/* Excluded names, as the last component and as a folder on the way. */
static void
test_refuses_excluded(void **state)
{
	static const char	*names[] = { "a~", "~", "a.tmp", ".tmp",
	    "a.swp", ".a.xml.swp", "a.swx", "a.lock", ".lock",
	    SYNCSET_TMP_PREFIX, SYNCSET_TMP_PREFIX "a.xml",
	    SYNCSET_TMP_PREFIX "local_rules.xml", "rules.xml~", "x.xml.tmp" };
	char			 p[256];
	size_t			 i, k;

	(void)state;
	for (k = 0; k < syncset_count; k++) {
		for (i = 0; i < NELEM(names); i++) {
			snprintf(p, sizeof(p), "%s/%s", syncset_table[k].path,
			    names[i]);
			refuses(p);
			snprintf(p, sizeof(p), "%s/%s/a.xml",
			    syncset_table[k].path, names[i]);
			refuses(p);
			snprintf(p, sizeof(p), "%s/sub/%s/deep/a.xml",
			    syncset_table[k].path, names[i]);
			refuses(p);
		}
	}
	for (i = 0; i < NELEM(names); i++)
		assert_true(syncset_excluded_name(names[i]));
}

static void
test_excluded_name(void **state)
{
	static const char	*yes[] = { ".", "..", "~", "a~", ".tmp",
	    "a.tmp", "a.swp", "a.swx", "a.lock", SYNCSET_TMP_PREFIX,
	    SYNCSET_TMP_PREFIX "x", SYNCSET_TMP_PREFIX "x.xml", ".x~",
	    ".a.swp", "..lock" };
	static const char	*no[] = { "a", "a.xml", "tmp", "swp", "lock",
	    "a.tmpx", "a~b", "a.lockfile", "a.swpx", "...", ".a",
	    "clusterd-sync.x", ".clusterd-sync", ".clusterd-syncx",
	    "x" SYNCSET_TMP_PREFIX, "a.TMP", "", "..a", ".~a", "b.",
	    "ap", "a.x", "k" };
	size_t			 i;

	(void)state;
	for (i = 0; i < NELEM(yes); i++)
		if (!syncset_excluded_name(yes[i]))
			fail_msg("\"%s\" not excluded", yes[i]);
	for (i = 0; i < NELEM(no); i++)
		if (syncset_excluded_name(no[i]))
			fail_msg("\"%s\" excluded", no[i]);
}

static void
test_refuses_outside(void **state)
{
	static const char	*bad[] = { "etc/ossec.conf", "etc/rules",
	    "etc/decoders", "etc/lists", "etc/shared", "etc/rulesX/a",
	    "etc/rules.d/a", "etc/rule/a", "etc/rules_a", "etc/client.keys/x",
	    "etc", "etc/a", "rules/a", "Etc/rules/a", "ETC/RULES/A",
	    "etc/Rules/a", "home/etc/rules/a", "var/run/clusterd.pid",
	    "queue/cluster/c-socket", "logs/cluster.log", "a",
	    "etc/lists.bak/x", "etc/sharedX/default/agent.conf",
	    "xetc/rules/a" };
	size_t			 i;

	(void)state;
	for (i = 0; i < NELEM(bad); i++)
		refuses(bad[i]);
}

/* Each path finds its own entry, even when names share a prefix. */
static void
test_right_entry(void **state)
{
	(void)state;
	accepts("etc/rules/a", entry("etc/rules"));
	accepts("etc/decoders/a", entry("etc/decoders"));
	accepts("etc/lists/a", entry("etc/lists"));
	accepts("etc/lists/amazon/aws-eventnames", entry("etc/lists"));
	accepts("etc/shared/default/agent.conf", entry("etc/shared"));
	accepts("etc/shared/ar.conf", entry("etc/shared"));
	/* A folder of one entry named like another entry stays in the first. */
	accepts("etc/rules/etc/decoders/a", entry("etc/rules"));
	accepts("etc/shared/client.keys", entry("etc/shared"));
}

/* The mask: never exec, setuid, setgid or sticky, never more than given. */
static void
test_mode(void **state)
{
	const struct syncset_entry	*r = entry("etc/rules");
	size_t				 i;
	mode_t				 m, got;

	(void)state;
	assert_int_equal(syncset_mode(r, 0644), 0644);
	assert_int_equal(syncset_mode(r, 0660), 0660);
	assert_int_equal(syncset_mode(r, 0600), 0600);
	assert_int_equal(syncset_mode(r, 0755), 0644);
	assert_int_equal(syncset_mode(r, 0777), 0664);
	assert_int_equal(syncset_mode(r, 04755), 0644);
	assert_int_equal(syncset_mode(r, 02775), 0664);
	assert_int_equal(syncset_mode(r, 01777), 0664);
	assert_int_equal(syncset_mode(r, 07777), 0664);
	assert_int_equal(syncset_mode(r, 0), 0);
	for (i = 0; i < syncset_count; i++) {
		for (m = 0; m <= 07777; m++) {
			got = syncset_mode(&syncset_table[i], m);
			assert_int_equal(got & (S_ISUID | S_ISGID | S_ISVTX |
			    S_IXUSR | S_IXGRP | S_IXOTH), 0);
			assert_int_equal(got & ~m, 0);
			assert_int_equal(got & S_IWOTH, 0);
			/* Read and write for the owner survive. */
			assert_int_equal(got & 0600, m & 0600);
		}
	}
}

/* A tiny why buffer is filled but never overrun. */
static void
test_small_why(void **state)
{
	char	why[4 + 4];

	(void)state;
	memset(why, 0x77, sizeof(why));
	assert_null(syncset_check("/abs", why, 4));
	assert_int_equal(why[3], '\0');
	assert_memory_equal(why + 4, "\x77\x77\x77\x77", 4);
	memset(why, 0x77, sizeof(why));
	assert_null(syncset_check("etc/ossec.conf", why, 1));
	assert_int_equal(why[0], '\0');
	assert_memory_equal(why + 1, "\x77\x77\x77\x77\x77\x77\x77", 7);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_accepts_folders),
		cmocka_unit_test(test_refuses_client_keys),
		cmocka_unit_test(test_refuses_absolute_and_empty),
		cmocka_unit_test(test_refuses_dots),
		cmocka_unit_test(test_refuses_empty_components),
		cmocka_unit_test(test_refuses_control_characters),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_refuses_excluded),
		cmocka_unit_test(test_excluded_name),
		cmocka_unit_test(test_refuses_outside),
		cmocka_unit_test(test_right_entry),
		cmocka_unit_test(test_mode),
		cmocka_unit_test(test_small_why),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
