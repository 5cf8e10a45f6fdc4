/*
 * test_watch: inotify on a real home.  A write in a folder of the set
 * calls back once per burst; in etc itself only the set's own folders
 * count, so etc/client.keys, rewritten after enrollments and not
 * synchronized, costs no scan.
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

#include "helpers/fixture.h"
#include "sync/watch.h"

static int	calls;

/* home/rel, in one of two buffers (a call may take two paths). */
static const char *
path(const char *home, const char *rel)
{
	static char	buf[2][512];
	static int	k;

	k ^= 1;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", home, rel);
	return buf[k];
}

static void
on_change(void *arg)
{
	(void)arg;
	calls++;
}

/* Run the loop for about `seconds`; the debounce is 20 ms. */
static void
run_for(struct ev_loop *loop, double seconds)
{
	double	end = ev_time() + seconds;

	while (ev_time() < end) {
		ev_run(loop, EVRUN_NOWAIT);
		usleep(5000);
	}
}

static void
test_etc_only_set_folders(void **state)
{
	struct fx_homes	*x = *state;
	struct ev_loop	*loop = ev_loop_new(EVFLAG_AUTO);
	struct watch	*w;
	char		*rules = (char *)"etc/rules";

	fx_puts(x->master, "etc/rules/a.xml", "a");
	assert_non_null(w = watch_new(loop, x->master, 0.02, on_change, NULL));
	assert_int_equal(watch_dirs(w, &rules, 1), 1);
	calls = 0;
	/* client.keys, rewritten whole (temp file then rename) and appended
	 * to, and another file of etc: nothing. */
	fx_puts(x->master, "etc/client.keys.new", "001 a any k\n");
	assert_int_equal(rename(path(x->master, "etc/client.keys.new"),
	    path(x->master, "etc/client.keys")), 0);
	fx_puts(x->master, "etc/ossec.conf", "<ossec_config/>\n");
	run_for(loop, 0.15);
	assert_int_equal(calls, 0);
	/* A new folder of the set in etc, and a file in a watched folder. */
	assert_int_equal(mkdir(path(x->master, "etc/lists"), 0750), 0);
	run_for(loop, 0.15);
	assert_int_equal(calls, 1);
	fx_puts(x->master, "etc/rules/b.xml", "b");
	fx_puts(x->master, "etc/rules/c.xml", "c");
	run_for(loop, 0.15);
	assert_int_equal(calls, 2);	/* one burst, one call */
	watch_free(w);
	ev_loop_destroy(loop);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test_setup_teardown(test_etc_only_set_folders,
		    fx_homes_setup, fx_homes_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
