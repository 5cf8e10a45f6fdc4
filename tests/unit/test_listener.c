/*
 * test_listener: the one accept path every service uses.  A real listener
 * on loopback, driven by a real libev loop: it takes at most LISTENER_BATCH
 * connections per wake-up; at the descriptor limit (lowered with
 * setrlimit) it pauses instead of spinning, logs one line, uses little
 * CPU, and accepts again by itself once descriptors are free.  Quiesced,
 * it takes its whole queue before it closes, resetting no client.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
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

#include "base/log.h"
#include "net/listener.h"
#include "helpers/fixture.h"

#define MAX_ACCEPTED	512

struct fixture {
	struct ev_loop	*loop;
	struct listener	 l;
	unsigned	 port;
	int		 accepted[MAX_ACCEPTED];
	size_t		 naccepted;
	int		 clients[MAX_ACCEPTED];
	size_t		 nclients;
	char		 last_addr[64];
	struct fx_log	 log;
};

static void
on_accept(struct listener *l, int fd, const char *addr, void *arg)
{
	struct fixture	*f = arg;

	assert_ptr_equal(l, &f->l);
	assert_true(f->naccepted < MAX_ACCEPTED);
	f->accepted[f->naccepted++] = fd;
	snprintf(f->last_addr, sizeof(f->last_addr), "%s", addr);
}

static int
setup(void **state)
{
	struct fixture		*f = calloc(1, sizeof(*f));
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);

	assert_non_null(f);
	fx_log_open(&f->log, "test_listener");
	f->loop = ev_loop_new(EVFLAG_AUTO);
	assert_int_equal(listener_tcp(&f->l, f->loop, "127.0.0.1", 0, 1024,
	    "Test", "test clients", on_accept, f), 0);
	assert_int_equal(getsockname(f->l.fd, (struct sockaddr *)&sin, &sl),
	    0);
	f->port = ntohs(sin.sin_port);
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
	for (i = 0; i < f->nclients; i++)
		close(f->clients[i]);
	listener_close(&f->l);
	ev_loop_destroy(f->loop);
	fx_log_close(&f->log);
	free(f);
	return 0;
}

/* n blocking connects: each completes into the listener's backlog. */
static void
connect_clients(struct fixture *f, size_t n)
{
	struct sockaddr_in	sin;
	int			fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)f->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	while (n-- > 0) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		assert_true(fd != -1);
		assert_int_equal(connect(fd, (struct sockaddr *)&sin,
		    sizeof(sin)), 0);
		assert_true(f->nclients < MAX_ACCEPTED);
		f->clients[f->nclients++] = fd;
	}
}

static double
cpu_seconds(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static double
wall_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
wake_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
}

/*
 * Run the loop for about secs of wall time.  A timer for the end keeps
 * the last iteration from blocking once nothing else is left to wait for
 * (libev would sleep up to a minute).
 */
static void
run_for(struct fixture *f, double secs)
{
	double		end = wall_now() + secs;
	ev_timer	wake;

	ev_timer_init(&wake, wake_cb, secs, 0);
	ev_now_update(f->loop);
	ev_timer_start(f->loop, &wake);
	while (wall_now() < end) {
		ev_now_update(f->loop);
		ev_run(f->loop, EVRUN_ONCE);
	}
	ev_timer_stop(f->loop, &wake);
}

static void
test_batch_per_wakeup(void **state)
{
	struct fixture	*f = *state;

	connect_clients(f, LISTENER_BATCH * 2 + 10);
	ev_run(f->loop, EVRUN_NOWAIT);
	assert_int_equal(f->naccepted, LISTENER_BATCH);
	ev_run(f->loop, EVRUN_NOWAIT);
	assert_int_equal(f->naccepted, LISTENER_BATCH * 2);
	ev_run(f->loop, EVRUN_NOWAIT);
	assert_int_equal(f->naccepted, LISTENER_BATCH * 2 + 10);
	assert_int_equal(f->l.accepted, LISTENER_BATCH * 2 + 10);
	assert_string_equal(f->last_addr, "127.0.0.1");
	assert_false(listener_paused(&f->l));
}

static void
test_pause_at_descriptor_limit(void **state)
{
	struct fixture	*f = *state;
	struct rlimit	 old, low;
	int		 fillers[1024];
	size_t		 nfill = 0, i;
	double		 cpu;
	int		 fd;

	connect_clients(f, 20);
	/* Use up every descriptor below a low limit. */
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = 128;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	while ((fd = dup(0)) != -1) {
		assert_true(nfill < sizeof(fillers) / sizeof(fillers[0]));
		fillers[nfill++] = fd;
	}
	assert_int_equal(errno, EMFILE);

	ev_run(f->loop, EVRUN_NOWAIT);
	assert_int_equal(f->naccepted, 0);
	assert_true(listener_paused(&f->l));
	assert_int_equal(f->l.pauses, 1);

	/* Still at the limit for 2 s: a few retries, not a busy loop. */
	cpu = cpu_seconds();
	run_for(f, 2.0);
	cpu = cpu_seconds() - cpu;
	assert_int_equal(f->naccepted, 0);
	assert_true(f->l.pauses >= 2);
	assert_true(f->l.pauses <= 2.0 / LISTENER_PAUSE + 2);
	assert_true(cpu < 0.5);
	assert_int_equal(fx_log_count(&f->log, "Out of file descriptors"), 1);
	assert_int_equal(fx_log_count(&f->log, "limit 128"), 1);

	/* Descriptors come back: every waiting client is accepted. */
	for (i = 0; i < nfill; i++)
		close(fillers[i]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	run_for(f, LISTENER_PAUSE + 0.3);
	assert_int_equal(f->naccepted, 20);
	assert_false(listener_paused(&f->l));
	assert_int_equal(fx_log_count(&f->log, "Out of file descriptors"), 1);
}

static void
test_close_is_idempotent(void **state)
{
	struct fixture	*f = *state;
	struct listener	 never;

	listener_close(&f->l);
	assert_int_equal(f->l.fd, -1);
	listener_close(&f->l);
	memset(&never, 0, sizeof(never));
	never.fd = -1;
	listener_close(&never);
}

/*
 * A quiesced listener takes every connection already in its queue (more
 * than one batch) before it closes: none is reset; a new one is refused.
 */
static void
test_quiesce_takes_the_backlog(void **state)
{
	struct fixture		*f = *state;
	struct sockaddr_in	 sin;
	char			 c;
	size_t			 i;
	int			 fd;

	connect_clients(f, LISTENER_BATCH * 3 + 5);
	listener_quiesce(&f->l);
	assert_int_equal(f->l.fd, -1);
	assert_int_equal(f->naccepted, LISTENER_BATCH * 3 + 5);
	for (i = 0; i < f->nclients; i++) {
		assert_int_equal(send(f->clients[i], "x", 1, MSG_NOSIGNAL), 1);
		assert_int_equal(recv(f->accepted[i], &c, 1, 0), 1);
		assert_int_equal(recv(f->clients[i], &c, 1, MSG_DONTWAIT), -1);
		assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)f->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)),
	    -1);
	assert_int_equal(errno, ECONNREFUSED);
	close(fd);
	listener_quiesce(&f->l);	/* twice: nothing */
}

static void
test_bad_address(void **state)
{
	struct fixture	*f = *state;
	struct listener	 l;

	assert_int_equal(listener_tcp(&l, f->loop, "not-an-address", 1514, 8,
	    "Test", "test clients", on_accept, f), -1);
	assert_int_equal(l.fd, -1);
	assert_int_equal(fx_log_count(&f->log, "address not-an-address"), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_batch_per_wakeup, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_pause_at_descriptor_limit,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_is_idempotent,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_quiesce_takes_the_backlog,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_address, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
