/*
 * vrrpwatch_probe: what a keepalived pid file says, read against a fake
 * /proc tree (running, stopped, zombie, a reused pid, a stale or bad
 * file) and against the real /proc for this very process.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "balancer/vrrpwatch.h"
#include "helpers/fixture.h"

static enum vrrpwatch_state
probe(struct fx_homes *f, long *pid, char *why)
{
	char	pidfile[160];

	snprintf(pidfile, sizeof(pidfile), "%s/vrrp.pid", f->master);
	return vrrpwatch_probe(pidfile, f->outside, pid, why, 128);
}

static void
fake_proc(struct fx_homes *f, const char *comm, char state)
{
	char	stat[128], line[64];

	snprintf(line, sizeof(line), "%s\n", comm);	/* as /proc has it */
	fx_puts(f->outside, "4242/comm", line);
	snprintf(stat, sizeof(stat), "4242 (%s) %c 1 4242 4242 0 -1\n",
	    comm, state);
	fx_puts(f->outside, "4242/stat", stat);
}

static void
test_running(void **state)
{
	struct fx_homes	*f = *state;
	char		 why[128];
	long		 pid;

	fx_puts(f->master, "vrrp.pid", "4242\n");
	fake_proc(f, "keepalived", 'S');
	assert_int_equal(probe(f, &pid, why), VRRPWATCH_RUNNING);
	assert_int_equal(pid, 4242);
	fake_proc(f, "keepalived", 'R');
	assert_int_equal(probe(f, &pid, why), VRRPWATCH_RUNNING);
}

static void
test_stopped_and_zombie(void **state)
{
	struct fx_homes	*f = *state;
	char		 why[128];
	long		 pid;

	fx_puts(f->master, "vrrp.pid", "4242\n");
	fake_proc(f, "keepalived", 'T');
	assert_int_equal(probe(f, &pid, why), VRRPWATCH_GONE);
	assert_non_null(strstr(why, "stopped"));
	fake_proc(f, "keepalived", 't');
	assert_int_equal(probe(f, &pid, why), VRRPWATCH_GONE);
	fake_proc(f, "keepalived", 'Z');
	assert_int_equal(probe(f, &pid, why), VRRPWATCH_GONE);
	assert_non_null(strstr(why, "exited"));
}

/* A stale pid file whose pid now belongs to another program. */
static void
test_reused_pid(void **state)
{
	struct fx_homes	*f = *state;
	char		 why[128];
	long		 pid;

	fx_puts(f->master, "vrrp.pid", "4242\n");
	fake_proc(f, "bash", 'S');
	assert_int_equal(probe(f, &pid, why), VRRPWATCH_GONE);
	assert_non_null(strstr(why, "gone"));
	/* A comm with ") x" inside does not fool the stat parser. */
	fake_proc(f, "keepalived", 'S');
	fx_puts(f->outside, "4242/stat", "4242 (a) T (b) S 1\n");
	assert_int_equal(probe(f, &pid, why), VRRPWATCH_RUNNING);
}

static void
test_bad_files(void **state)
{
	struct fx_homes	*f = *state;
	static const char *const bad[] = {
		"", "\n", "abc\n", "12x\n", "-5\n", "0\n",
		"99999999999999999999999\n",
	};
	char		 why[128];
	long		 pid;
	size_t		 i;

	assert_int_equal(probe(f, &pid, why), VRRPWATCH_GONE);
	assert_non_null(strstr(why, "no pid"));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fx_puts(f->master, "vrrp.pid", bad[i]);
		assert_int_equal(probe(f, &pid, why), VRRPWATCH_GONE);
		assert_int_equal(pid, 0);
	}
	/* A pid with no /proc entry: the process is gone. */
	fx_puts(f->master, "vrrp.pid", "777\n");
	assert_int_equal(probe(f, &pid, why), VRRPWATCH_GONE);
	assert_int_equal(pid, 777);
}

/* The real /proc: this process runs, but it is not keepalived. */
static void
test_real_proc(void **state)
{
	struct fx_homes	*f = *state;
	char		 why[128], pidfile[160], line[32];
	long		 pid;

	snprintf(pidfile, sizeof(pidfile), "%s/self.pid", f->master);
	snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	fx_puts(f->master, "self.pid", line);
	assert_int_equal(vrrpwatch_probe(pidfile, "/proc", &pid, why,
	    sizeof(why)), VRRPWATCH_GONE);
	assert_int_equal(pid, (long)getpid());
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_running,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test_setup_teardown(test_stopped_and_zombie,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test_setup_teardown(test_reused_pid,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test_setup_teardown(test_bad_files,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test_setup_teardown(test_real_proc,
		    fx_homes_setup, fx_homes_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
