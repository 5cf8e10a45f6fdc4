/*
 * test_keysfile: client.keys follows an agent table.  New agents are
 * appended (the rest of the file is not written again), anything else
 * rewrites it sorted by id, and a failed write leaves no half line and is
 * made good by the next flush.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/agents.h"
#include "agent/keysfile.h"
#include "helpers/fixture.h"

/* An agent's key here: its id in 64 digits, 62 zeros and the id. */
#define Z62	"00000000000000000000000000000000000000000000000000000000000000"

struct kf {
	char		 dir[64];
	char		 path[128];
	struct ev_loop	*loop;
	struct agents	 t;
	struct keysfile	 k;
};

static int
setup(void **state)
{
	struct kf	*f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_keysfile.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/client.keys", f->dir);
	f->loop = ev_loop_new(EVFLAG_AUTO);
	agents_init(&f->t);
	keysfile_init(&f->k, f->loop, f->path, &f->t, 1.0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct kf	*f = *state;

	keysfile_stop(&f->k);
	agents_free(&f->t);
	ev_loop_destroy(f->loop);
	fx_rmtree(f->dir);
	free(f);
	return 0;
}

static struct agent *
add(struct kf *f, long id, const char *name)
{
	struct agent	*a = agent_new();
	char		 key[AGENT_KEY_LEN + 1];

	assert_non_null(a);
	agents_format_id(id, a->id);
	agent_set_name(a, name);
	snprintf(key, sizeof(key), "%064ld", id);	/* Z62 "01" for 1 */
	assert_int_equal(agent_set_key(a, key), 0);
	assert_int_equal(agents_add(&f->t, a), 0);
	return a;
}

static void
drop(struct kf *f, const char *id)
{
	agent_free(agents_remove(&f->t, id));
}

static void
file_is(struct kf *f, const char *want)
{
	size_t	 n;
	uint8_t	*got = fx_slurp(f->path, &n);

	assert_non_null(got);
	if (n != strlen(want) || memcmp(got, want, n) != 0)
		fail_msg("client.keys is\n%.*s\nwant\n%s", (int)n, got, want);
	free(got);
}

/* No file yet: the first flush writes it whole, sorted by id. */
static void
test_first_write(void **state)
{
	struct kf	*f = *state;
	struct stat	 sb;

	add(f, 10, "ten");
	add(f, 2, "two");
	keysfile_changed(&f->k);
	assert_int_equal(keysfile_flush(&f->k), 0);
	file_is(f, "002 two any " Z62 "02\n010 ten any " Z62 "10\n");
	assert_int_equal(stat(f->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0640);
	assert_int_equal(f->k.rewrites, 1);
	/* Nothing pending: nothing written. */
	assert_int_equal(keysfile_flush(&f->k), 0);
	assert_int_equal(f->k.rewrites + f->k.appends, 1);
}

/* New agents go at the end; the lines before stay as they were. */
static void
test_added_appended(void **state)
{
	struct kf	*f = *state;
	struct stat	 before, after;

	keysfile_added(&f->k, add(f, 1, "one"));
	assert_int_equal(keysfile_flush(&f->k), 0);	/* no file: whole */
	assert_int_equal(stat(f->path, &before), 0);
	keysfile_added(&f->k, add(f, 2, "two"));
	keysfile_added(&f->k, add(f, 3, "three"));
	assert_int_equal(keysfile_flush(&f->k), 0);
	file_is(f, "001 one any " Z62 "01\n002 two any " Z62 "02\n"
	    "003 three any " Z62 "03\n");
	assert_int_equal(stat(f->path, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);	/* not replaced */
	assert_int_equal(f->k.appends, 1);
	assert_int_equal(f->k.rewrites, 1);
}

/* An agent added then removed before the flush is not written. */
static void
test_added_then_gone(void **state)
{
	struct kf	*f = *state;

	keysfile_changed(&f->k);
	assert_int_equal(keysfile_flush(&f->k), 0);
	keysfile_added(&f->k, add(f, 1, "one"));
	keysfile_added(&f->k, add(f, 2, "two"));
	drop(f, "001");
	assert_int_equal(keysfile_flush(&f->k), 0);
	file_is(f, "002 two any " Z62 "02\n");
}

/* A removal rewrites the file, and pending appends fold into it. */
static void
test_removal_rewrites(void **state)
{
	struct kf	*f = *state;

	add(f, 1, "one");
	add(f, 2, "two");
	keysfile_changed(&f->k);
	assert_int_equal(keysfile_flush(&f->k), 0);
	keysfile_added(&f->k, add(f, 3, "three"));
	drop(f, "001");
	keysfile_changed(&f->k);
	keysfile_added(&f->k, add(f, 4, "four"));
	assert_int_equal(keysfile_flush(&f->k), 0);
	file_is(f, "002 two any " Z62 "02\n003 three any " Z62 "03\n"
	    "004 four any " Z62 "04\n");
	assert_int_equal(f->k.appends, 0);
	assert_int_equal(f->k.rewrites, 2);
}

/*
 * A write that fails (here the file is a folder) returns -1 and the next
 * flush writes everything, the agents of the failed append included.
 */
static void
test_failure_then_whole(void **state)
{
	struct kf	*f = *state;

	assert_int_equal(mkdir(f->path, 0700), 0);
	keysfile_added(&f->k, add(f, 1, "one"));
	assert_int_equal(keysfile_flush(&f->k), -1);
	assert_int_equal(keysfile_flush(&f->k), -1);	/* rewrite fails too */
	assert_int_equal(rmdir(f->path), 0);
	keysfile_added(&f->k, add(f, 2, "two"));
	assert_int_equal(keysfile_flush(&f->k), 0);
	file_is(f, "001 one any " Z62 "01\n002 two any " Z62 "02\n");
	assert_int_equal(f->k.rewrites, 1);
}

/* The timer writes a burst once, after the delay. */
static void
test_timer(void **state)
{
	struct kf	*f = *state;
	char		 name[16];
	int		 i;

	for (i = 1; i <= 100; i++) {
		snprintf(name, sizeof(name), "a%d", i);
		keysfile_added(&f->k, add(f, i, name));
	}
	assert_int_equal(access(f->path, F_OK), -1);
	ev_run(f->loop, EVRUN_ONCE);	/* the timer fires after 1 s */
	assert_int_equal(access(f->path, F_OK), 0);
	assert_int_equal(f->k.rewrites + f->k.appends, 1);
}

#define KEY_K	"abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
#define KEY_K_UPPER \
	"ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
#define KEY_J	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* One agent "001 n any KEY_K" with groups g. */
static struct agent *
line_agent(const char *g)
{
	struct agent	*a = agent_new();

	assert_non_null(a);
	strcpy(a->id, "001");
	assert_int_equal(agent_set_name(a, "n"), 0);
	assert_int_equal(agent_set_key(a, KEY_K), 0);
	assert_int_equal(agent_set_groups(a, g), 0);
	return a;
}

static void
test_same_line(void **state)
{
	struct agent	*a = line_agent(NULL), *b = line_agent("web");

	(void)state;
	/* Groups are not in client.keys. */
	assert_true(keysfile_same_line(a, b));
	agent_set_ip(b, "10.0.0.1");
	assert_false(keysfile_same_line(a, b));
	agent_set_ip(b, "any");
	assert_int_equal(agent_set_key(b, KEY_J), 0);
	assert_false(keysfile_same_line(a, b));
	/* The same key in another case is another line (and MD5). */
	assert_int_equal(agent_set_key(b, KEY_K_UPPER), 0);
	assert_false(keysfile_same_line(a, b));
	assert_int_equal(agent_set_key(b, KEY_K), 0);
	assert_true(keysfile_same_line(a, b));
	agent_set_name(b, "m");
	assert_false(keysfile_same_line(a, b));
	strcpy(b->id, "002");
	agent_set_name(b, "n");
	assert_false(keysfile_same_line(a, b));
	agent_free(a);
	agent_free(b);
}

/* The highest id a file names, whatever else it holds; 0 when none. */
static void
test_max_id(void **state)
{
	struct kf	*f = *state;
	FILE		*fp;
	char		 longline[6000];

	assert_int_equal(keysfile_max_id(f->path), 0);	/* no file */
	memset(longline, 'a', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	longline[4095] = '9';	/* a digit where fgets' next chunk starts */
	assert_non_null(fp = fopen(f->path, "w"));
	fprintf(fp, "002 web 10.0.0.1 %064d\n"
	    "# 900 a comment\n"
	    "017 !removed any %064d\n"
	    "x12 junk\n"
	    "99999999999999999999 overflow\n"
	    "%s\n"
	    "005 db any %064d", 0, 0, longline, 0);
	fclose(fp);
	assert_int_equal(keysfile_max_id(f->path), 17);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test_setup_teardown(test_first_write, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_added_appended, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_added_then_gone, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_removal_rewrites, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_failure_then_whole, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_timer, setup, teardown),
		cmocka_unit_test(test_same_line),
		cmocka_unit_test_setup_teardown(test_max_id, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
