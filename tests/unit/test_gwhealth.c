/*
 * test_gwhealth: a node's health as its agents' port and agent-check see
 * it, on a real loop with real archives driven into failure by the file
 * size limit (EFBIG, as a full disk's ENOSPC): no answer of its own while
 * healthy; "down #reason" while the archives fail, the notify callback
 * told once each way; the agents' connections closed GWHEALTH_CLOSE_AFTER
 * after the first "down" answer, or GWHEALTH_CLOSE_MAX after the failure
 * when no agent-check asks; nothing closed when the failure ends first.
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>

#include "agent/agents.h"
#include "agent/archives.h"
#include "agent/gwhealth.h"

static char		home[64];
static struct agent	agent;
static struct rlimit	saved;

static struct {
	int		notified;
	char		reason[256];	/* "" for NULL */
	int		closes;
	ev_tstamp	closed_at;
} T;

static void
notify_cb(const char *reason)
{
	T.notified++;
	snprintf(T.reason, sizeof(T.reason), "%s", reason ? reason : "");
}

static unsigned
close_all_cb(void)
{
	T.closes++;
	T.closed_at = ev_now(EV_DEFAULT);
	return 3;
}

static int
setup(void **state)
{
	char	logs[128];

	(void)state;
	memset(&T, 0, sizeof(T));
	strcpy(home, "/tmp/test_gwhealth.XXXXXX");
	if (mkdtemp(home) == NULL)
		return -1;
	snprintf(logs, sizeof(logs), "%s/logs", home);
	if (mkdir(logs, 0750) == -1)
		return -1;
	memset(&agent, 0, sizeof(agent));
	strcpy(agent.id, "001");
	agent_set_name(&agent, "web-01");
	agent_set_ip(&agent, "any");
	signal(SIGXFSZ, SIG_IGN);
	if (getrlimit(RLIMIT_FSIZE, &saved) == -1)
		return -1;
	if (archives_open(EV_DEFAULT, home, "worker-1") == -1)
		return -1;
	gwhealth_start(EV_DEFAULT, notify_cb, close_all_cb);
	return 0;
}

static int
teardown(void **state)
{
	char	cmd[128];

	(void)state;
	setrlimit(RLIMIT_FSIZE, &saved);
	gwhealth_stop();
	archives_close();
	agent_clear(&agent);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home);
	return system(cmd) == 0 ? 0 : -1;
}

static void
stop_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)t;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static void
run_for(double t)
{
	ev_timer	stop;

	ev_now_update(EV_DEFAULT);
	ev_timer_init(&stop, stop_cb, t, 0.);
	ev_timer_start(EV_DEFAULT, &stop);
	ev_run(EV_DEFAULT, 0);
}

/* Make the archives fail at their next flush (1 s timer). */
static ev_tstamp
break_archives(void)
{
	struct rlimit	small = saved;

	small.rlim_cur = 0;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	archives_event(&agent, "1:/var/log/x:an event", 21);
	run_for(1.2);
	assert_non_null(gwhealth_reason());
	return ev_now(EV_DEFAULT);
}

static void
test_healthy(void **state)
{
	(void)state;
	assert_null(gwhealth_reason());
	assert_null(gwhealth_answer());
	run_for(0.2);
	assert_int_equal(T.notified, 0);
	assert_int_equal(T.closes, 0);
}

/* "down #reason", then the sessions closed GWHEALTH_CLOSE_AFTER later. */
static void
test_down_answer_then_close(void **state)
{
	const char	*ans;
	ev_tstamp	 asked;

	(void)state;
	break_archives();
	assert_int_equal(T.notified, 1);
	assert_string_equal(T.reason, gwhealth_reason());
	ans = gwhealth_answer();
	asked = ev_now(EV_DEFAULT);
	assert_non_null(ans);
	assert_string_equal(ans, "down #cannot write "
	    "logs/archives/archives.json: File too large\n");
	assert_int_equal(T.closes, 0);
	run_for(GWHEALTH_CLOSE_AFTER + 0.5);
	assert_int_equal(T.closes, 1);
	assert_true(T.closed_at - asked >= GWHEALTH_CLOSE_AFTER - 0.05);
	/* Later answers do not close again. */
	assert_non_null(gwhealth_answer());
	run_for(GWHEALTH_CLOSE_AFTER + 0.5);
	assert_int_equal(T.closes, 1);
	assert_int_equal(T.notified, 1);	/* still failing: told once */
}

/* No agent-check at all: closed GWHEALTH_CLOSE_MAX after the failure. */
static void
test_close_without_answer(void **state)
{
	ev_tstamp	failed;

	(void)state;
	failed = break_archives();
	run_for(GWHEALTH_CLOSE_MAX - 2);
	assert_int_equal(T.closes, 0);
	run_for(2.5);
	assert_int_equal(T.closes, 1);
	assert_true(T.closed_at - failed >= GWHEALTH_CLOSE_MAX - 1.3);
}

/* Recovery before the close: nothing is closed, the answer goes. */
static void
test_recovery_before_close(void **state)
{
	(void)state;
	break_archives();
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
	run_for(ARCHIVES_PROBE + 0.5);
	assert_null(gwhealth_reason());
	assert_null(gwhealth_answer());
	assert_int_equal(T.notified, 2);
	assert_string_equal(T.reason, "");
	run_for(GWHEALTH_CLOSE_MAX);
	assert_int_equal(T.closes, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_healthy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_down_answer_then_close,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_without_answer,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_recovery_before_close,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
