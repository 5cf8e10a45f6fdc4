/*
 * test_preauth: connections not yet identified, counted per source
 * address.  A real libev loop with short timeouts: counts rise and fall,
 * the bound refuses only at the limit (and never when it is 0), silent
 * connections expire oldest first while identified ones do not, closings
 * make one log line then one summary a minute, and a real listener closes
 * connections beyond the bound before its service sees them.  Also the
 * edges: entries done twice or never added, an empty or over-long
 * address, a count never started or already stopped.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/config.h"
#include "base/log.h"
#include "net/listener.h"
#include "helpers/fixture.h"
#include "net/preauth.h"

#define NCONN	64

struct tconn {
	struct preauth_entry	 pa;
	int			 expired;	/* order of expiry, from 1 */
};

struct fixture {
	struct ev_loop	*loop;
	struct config	 cfg;
	struct preauth	 pa;
	struct tconn	 c[NCONN];
	int		 nexpired;
	struct fx_log	 log;
	/* listener test */
	struct listener	 l;
	int		 accepted[NCONN];
	size_t		 naccepted;
};

static void
on_expire(struct preauth *pa, struct preauth_entry *e)
{
	struct fixture	*f = (struct fixture *)((char *)pa -
	    offsetof(struct fixture, pa));
	struct tconn	*c = e->owner;

	assert_null(e->src);		/* uncounted before the callback */
	assert_ptr_equal(&c->pa, e);
	c->expired = ++f->nexpired;
	preauth_done(pa, e);		/* what a service's close does */
}

static int
setup(void **state)
{
	struct fixture	*f = calloc(1, sizeof(*f));

	assert_non_null(f);
	fx_log_open(&f->log, "test_preauth");
	f->loop = ev_loop_new(EVFLAG_AUTO);
	config_defaults(&f->cfg);
	preauth_init(&f->pa, f->loop, &f->cfg, "Test", "test connections",
	    "greeting", on_expire);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;
	size_t		 i;

	for (i = 0; i < f->naccepted; i++)
		close(f->accepted[i]);
	listener_close(&f->l);
	preauth_stop(&f->pa);
	ev_loop_destroy(f->loop);
	fx_log_close(&f->log);
	free(f);
	return 0;
}

static double
wall_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
run_for(struct fixture *f, double secs)
{
	double	end = wall_now() + secs;

	while (wall_now() < end) {
		ev_now_update(f->loop);
		ev_run(f->loop, EVRUN_NOWAIT);
		usleep(1000);
	}
}

static void
test_count_and_done(void **state)
{
	struct fixture	*f = *state;
	struct tconn	 never;

	assert_int_equal(preauth_add(&f->pa, &f->c[0].pa, "10.0.0.1",
	    &f->c[0]), 0);
	assert_int_equal(preauth_add(&f->pa, &f->c[1].pa, "10.0.0.1",
	    &f->c[1]), 0);
	assert_int_equal(preauth_add(&f->pa, &f->c[2].pa, "10.0.0.2",
	    &f->c[2]), 0);
	assert_int_equal(preauth_count(&f->pa, "10.0.0.1"), 2);
	assert_int_equal(preauth_count(&f->pa, "10.0.0.2"), 1);
	assert_int_equal(preauth_count(&f->pa, "10.0.0.3"), 0);
	assert_int_equal(f->pa.npending, 3);
	preauth_done(&f->pa, &f->c[0].pa);
	preauth_done(&f->pa, &f->c[0].pa);	/* twice: no-op */
	memset(&never, 0, sizeof(never));
	preauth_done(&f->pa, &never.pa);	/* never added: no-op */
	assert_int_equal(preauth_count(&f->pa, "10.0.0.1"), 1);
	preauth_done(&f->pa, &f->c[1].pa);
	preauth_done(&f->pa, &f->c[2].pa);
	assert_int_equal(f->pa.npending, 0);
	assert_int_equal(f->pa.by_addr.n, 0);	/* idle sources forgotten */
	assert_true(TAILQ_EMPTY(&f->pa.srcs));
}

static void
test_refuse_at_bound(void **state)
{
	struct fixture	*f = *state;
	int		 i;

	f->cfg.preauth_per_source = 2;
	assert_int_equal(preauth_refuse(&f->pa, "10.0.0.1"), 0);
	preauth_add(&f->pa, &f->c[0].pa, "10.0.0.1", &f->c[0]);
	assert_int_equal(preauth_refuse(&f->pa, "10.0.0.1"), 0);
	preauth_add(&f->pa, &f->c[1].pa, "10.0.0.1", &f->c[1]);
	for (i = 0; i < 10; i++)
		assert_int_equal(preauth_refuse(&f->pa, "10.0.0.1"), 1);
	assert_int_equal(preauth_refuse(&f->pa, "10.0.0.2"), 0);
	assert_int_equal(f->pa.refused, 10);
	/* One identifies itself: room for one more. */
	preauth_done(&f->pa, &f->c[0].pa);
	assert_int_equal(preauth_refuse(&f->pa, "10.0.0.1"), 0);
	/* Ten refusals, one line. */
	assert_int_equal(fx_log_count(&f->log, "preauth_per_source"), 1);
	assert_int_equal(fx_log_count(&f->log, "from 10.0.0.1 at once"), 1);
}

static void
test_no_bound_when_zero(void **state)
{
	struct fixture	*f = *state;
	int		 i;

	f->cfg.preauth_per_source = 0;
	for (i = 0; i < NCONN; i++)
		assert_int_equal(preauth_add(&f->pa, &f->c[i].pa, "10.0.0.1",
		    &f->c[i]), 0);
	assert_int_equal(preauth_refuse(&f->pa, "10.0.0.1"), 0);
	assert_int_equal(preauth_count(&f->pa, "10.0.0.1"), NCONN);
	assert_int_equal(f->pa.refused, 0);
}

static void
test_silent_expire_oldest_first(void **state)
{
	struct fixture	*f = *state;
	int		 i;

	/* Margins wide enough for a loaded machine: a stall of the test
	 * process must not pass the deadline before the first check. */
	f->cfg.preauth_timeout = 1.0;
	for (i = 0; i < 4; i++) {
		ev_now_update(f->loop);
		preauth_add(&f->pa, &f->c[i].pa, "10.0.0.1", &f->c[i]);
		usleep(5000);
	}
	preauth_done(&f->pa, &f->c[1].pa);	/* identified in time */
	run_for(f, 0.05);
	assert_int_equal(f->nexpired, 0);	/* not before the deadline */
	run_for(f, 2.0);
	assert_int_equal(f->nexpired, 3);
	assert_int_equal(f->c[0].expired, 1);
	assert_int_equal(f->c[1].expired, 0);
	assert_int_equal(f->c[2].expired, 2);
	assert_int_equal(f->c[3].expired, 3);
	assert_int_equal(f->pa.timeouts, 3);
	assert_int_equal(f->pa.npending, 0);
	assert_false(ev_is_active(&f->pa.timer));
	/* An entry added after the list emptied arms the timer again. */
	ev_now_update(f->loop);
	preauth_add(&f->pa, &f->c[5].pa, "10.0.0.9", &f->c[5]);
	run_for(f, 1.5);
	assert_int_equal(f->c[5].expired, 4);
	/* One line at once, the rest wait for the minute's summary. */
	assert_int_equal(fx_log_count(&f->log, "Closed a silent connection "
	    "from 10.0.0.1: no greeting within 1s"), 1);
	assert_int_equal(fx_log_count(&f->log, "Closed"), 1);
}

static void
test_one_summary_a_minute(void **state)
{
	struct fixture	*f = *state;
	int		 i;

	f->cfg.preauth_per_source = 1;
	preauth_add(&f->pa, &f->c[0].pa, "10.0.0.1", &f->c[0]);
	preauth_add(&f->pa, &f->c[1].pa, "10.0.0.2", &f->c[1]);
	for (i = 0; i < 30; i++)
		preauth_refuse(&f->pa, "10.0.0.1");
	for (i = 0; i < 5; i++)
		preauth_refuse(&f->pa, "10.0.0.2");
	assert_int_equal(fx_log_count(&f->log, "Closed"), 1);
	assert_true(ev_is_active(&f->pa.logt));
	/* The minute is up. */
	ev_invoke(f->loop, &f->pa.logt, EV_TIMER);
	assert_int_equal(fx_log_count(&f->log, "Closed"), 2);
	assert_int_equal(fx_log_count(&f->log, "Closed 34 silent test "
	    "connections in the last 60s, 29 of them from 10.0.0.1: 0 without "
	    "greeting within 30s, 34 beyond 1 not identified per address."), 1);
	/* A quiet minute logs nothing; the next closing is logged at once. */
	ev_invoke(f->loop, &f->pa.logt, EV_TIMER);
	assert_int_equal(fx_log_count(&f->log, "Closed"), 2);
	assert_false(ev_is_active(&f->pa.logt));
	preauth_refuse(&f->pa, "10.0.0.2");
	assert_int_equal(fx_log_count(&f->log,
	    "Closed a connection from 10.0.0.2"), 1);
	assert_int_equal(f->pa.refused, 36);
}

static void
test_odd_addresses(void **state)
{
	struct fixture	*f = *state;
	char		 longa[200];

	f->cfg.preauth_per_source = 1;
	memset(longa, '7', sizeof(longa) - 1);
	longa[sizeof(longa) - 1] = '\0';
	assert_int_equal(preauth_add(&f->pa, &f->c[0].pa, "", &f->c[0]), 0);
	assert_int_equal(preauth_refuse(&f->pa, ""), 1);
	assert_int_equal(preauth_add(&f->pa, &f->c[1].pa, longa, &f->c[1]),
	    0);
	/* Cut to the same key when looked up as when stored. */
	assert_int_equal(preauth_count(&f->pa, longa), 1);
	assert_int_equal(preauth_refuse(&f->pa, longa), 1);
	preauth_done(&f->pa, &f->c[1].pa);
	assert_int_equal(preauth_count(&f->pa, longa), 0);
	assert_int_equal(preauth_count(&f->pa, ""), 1);
}

static void
test_not_started_and_stopped(void **state)
{
	struct fixture	*f = *state;
	struct preauth	 zero;
	struct tconn	 c;

	memset(&zero, 0, sizeof(zero));
	memset(&c, 0, sizeof(c));
	assert_int_equal(preauth_refuse(&zero, "10.0.0.1"), 0);
	assert_int_equal(preauth_add(&zero, &c.pa, "10.0.0.1", &c), -1);
	assert_null(c.pa.src);
	preauth_done(&zero, &c.pa);
	preauth_stop(&zero);
	assert_int_equal(preauth_count(&zero, "10.0.0.1"), 0);

	/* Stopped with entries pending: they become uncounted, and a
	 * service closing them afterwards is harmless. */
	f->cfg.preauth_timeout = 0.01;
	preauth_add(&f->pa, &f->c[0].pa, "10.0.0.1", &f->c[0]);
	preauth_add(&f->pa, &f->c[1].pa, "10.0.0.2", &f->c[1]);
	preauth_stop(&f->pa);
	assert_null(f->c[0].pa.src);
	preauth_done(&f->pa, &f->c[0].pa);
	preauth_stop(&f->pa);			/* twice */
	run_for(f, 0.05);
	assert_int_equal(f->nexpired, 0);	/* its timer went with it */
	assert_int_equal(preauth_add(&f->pa, &f->c[2].pa, "10.0.0.1",
	    &f->c[2]), -1);
}

static void
on_accept(struct listener *l, int fd, const char *addr, void *arg)
{
	struct fixture	*f = arg;
	size_t		 i = f->naccepted;

	(void)l;
	assert_true(i < NCONN);
	f->accepted[f->naccepted++] = fd;
	assert_int_equal(preauth_add(&f->pa, &f->c[i].pa, addr, &f->c[i]), 0);
}

/* The listener closes connections beyond the bound before the service. */
static void
test_listener_bound(void **state)
{
	struct fixture		*f = *state;
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);
	int			 fds[5], i;
	char			 b;

	f->cfg.preauth_per_source = 2;
	assert_int_equal(listener_tcp(&f->l, f->loop, "127.0.0.1", 0, 64,
	    "Test", "test clients", on_accept, f), 0);
	listener_set_preauth(&f->l, &f->pa);
	assert_int_equal(getsockname(f->l.fd, (struct sockaddr *)&sin, &sl),
	    0);
	for (i = 0; i < 5; i++) {
		assert_true((fds[i] = socket(AF_INET, SOCK_STREAM, 0)) != -1);
		assert_int_equal(connect(fds[i], (struct sockaddr *)&sin,
		    sizeof(sin)), 0);
	}
	run_for(f, 0.05);
	assert_int_equal(f->naccepted, 2);
	assert_int_equal(f->l.accepted, 5);
	assert_int_equal(f->l.refused, 3);
	assert_int_equal(preauth_count(&f->pa, "127.0.0.1"), 2);
	/* The refused ones see their connection closed. */
	for (i = 2; i < 5; i++)
		assert_true(recv(fds[i], &b, 1, 0) <= 0);
	for (i = 0; i < 5; i++)
		close(fds[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_count_and_done, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refuse_at_bound, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_bound_when_zero, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_silent_expire_oldest_first,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_summary_a_minute,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_odd_addresses, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_not_started_and_stopped,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_listener_bound, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
