/*
 * test_haproxy_cmd: haproxy_command, the balancer's one Runtime API
 * command, against a small unix-socket peer run in a thread: an answer,
 * one in pieces, an empty one, a large one, one over the limit, silence,
 * no socket, a small error buffer.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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

#include "lb/haproxy.h"
#include "haproxy_samples.h"

/* ---- the admin socket ---- */

enum peer_mode {
	PEER_ANSWER,		/* answer, close */
	PEER_PIECES,		/* answer in three writes, 100 ms apart */
	PEER_BIG,		/* big bytes of a pattern, close */
	PEER_SILENT,		/* read until the client gives up */
	PEER_NOTHING		/* close without a byte */
};

struct peer {
	char		 dir[40];
	char		 path[64];
	int		 lfd;
	enum peer_mode	 mode;
	const char	*answer;
	size_t		 big;
	char		 got[256];	/* the command line received */
	int		 started;
	pthread_t	 thread;
};

static int
send_all(int fd, const char *p, size_t n)
{
	ssize_t	r;

	while (n > 0) {
		if ((r = send(fd, p, n, MSG_NOSIGNAL)) <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static void *
peer_main(void *arg)
{
	struct peer	*p = arg;
	size_t		 n = 0, len, part, off;
	char		 c, *big;
	int		 fd, i;

	if ((fd = accept(p->lfd, NULL, NULL)) == -1)
		return NULL;
	/* One command line, as HAProxy's CLI reads it. */
	while (n < sizeof(p->got) - 1 && read(fd, &c, 1) == 1) {
		p->got[n++] = c;
		if (c == '\n')
			break;
	}
	p->got[n] = '\0';
	switch (p->mode) {
	case PEER_ANSWER:
		(void)send_all(fd, p->answer, strlen(p->answer));
		break;
	case PEER_PIECES:
		len = strlen(p->answer);
		part = len / 3 + 1;
		for (off = 0, i = 0; off < len; off += part, i++) {
			if (i > 0)
				nanosleep(&(struct timespec){ 0, 100000000 },
				    NULL);
			(void)send_all(fd, p->answer + off,
			    len - off < part ? len - off : part);
		}
		break;
	case PEER_BIG:
		if ((big = malloc(p->big)) != NULL) {
			for (off = 0; off < p->big; off++)
				big[off] = (char)('a' + off % 26);
			(void)send_all(fd, big, p->big);
			free(big);
		}
		break;
	case PEER_SILENT:
		while (read(fd, &c, 1) > 0)
			;
		break;
	case PEER_NOTHING:
		break;
	}
	close(fd);
	return NULL;
}

static int
peer_setup(void **state)
{
	struct peer	*p;

	p = calloc(1, sizeof(*p));
	assert_non_null(p);
	snprintf(p->dir, sizeof(p->dir), "/tmp/test_haproxy.XXXXXX");
	assert_non_null(mkdtemp(p->dir));
	snprintf(p->path, sizeof(p->path), "%s/admin.sock", p->dir);
	p->lfd = -1;
	*state = p;
	return 0;
}

static int
peer_teardown(void **state)
{
	struct peer	*p = *state;

	if (p->started)
		pthread_join(p->thread, NULL);
	if (p->lfd != -1)
		close(p->lfd);
	unlink(p->path);
	rmdir(p->dir);
	free(p);
	return 0;
}

/* Listen on p->path and serve one connection in a thread. */
static void
peer_start(struct peer *p, enum peer_mode mode, const char *answer)
{
	struct sockaddr_un	sun;

	p->mode = mode;
	p->answer = answer;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", p->path);
	assert_true((p->lfd = socket(AF_UNIX, SOCK_STREAM, 0)) != -1);
	assert_int_equal(bind(p->lfd, (struct sockaddr *)&sun, sizeof(sun)),
	    0);
	assert_int_equal(listen(p->lfd, 4), 0);
	assert_int_equal(pthread_create(&p->thread, NULL, peer_main, p), 0);
	p->started = 1;
}

static void
peer_wait(struct peer *p)
{
	assert_int_equal(pthread_join(p->thread, NULL), 0);
	p->started = 0;
}

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_command_answer(void **state)
{
	struct peer	*p = *state;
	char		*ans, err[256];

	peer_start(p, PEER_ANSWER, STATE_REAL);
	strcpy(err, "untouched");
	assert_int_equal(haproxy_command(p->path, "show servers state", &ans,
	    err, sizeof(err)), 0);
	peer_wait(p);
	assert_string_equal(p->got, "show servers state\n");
	assert_string_equal(ans, STATE_REAL);
	assert_string_equal(err, "untouched");
	free(ans);
}

/* The whole answer, up to the peer's close, not the first read. */
static void
test_command_pieces(void **state)
{
	struct peer	*p = *state;
	char		*ans, err[256];

	peer_start(p, PEER_PIECES, STAT_ALL_REAL);
	assert_int_equal(haproxy_command(p->path, "show stat", &ans, err,
	    sizeof(err)), 0);
	peer_wait(p);
	assert_string_equal(p->got, "show stat\n");
	assert_string_equal(ans, STAT_ALL_REAL);
	free(ans);
}

/* A command HAProxy answers with nothing ("set server ... state ..."). */
static void
test_command_empty_answer(void **state)
{
	struct peer	*p = *state;
	char		*ans, err[256];

	peer_start(p, PEER_NOTHING, NULL);
	assert_int_equal(haproxy_command(p->path,
	    "set server workers_agents/w1 state drain", &ans, err,
	    sizeof(err)), 0);
	peer_wait(p);
	assert_string_equal(p->got, "set server workers_agents/w1 state "
	    "drain\n");
	assert_non_null(ans);
	assert_string_equal(ans, "");
	free(ans);
}

static void
test_command_big_answer(void **state)
{
	struct peer	*p = *state;
	char		*ans, err[256];
	size_t		 i;

	p->big = 1024 * 1024 + 7;
	peer_start(p, PEER_BIG, NULL);
	assert_int_equal(haproxy_command(p->path, "show stat", &ans, err,
	    sizeof(err)), 0);
	peer_wait(p);
	assert_int_equal(strlen(ans), p->big);
	for (i = 0; i < p->big; i++)
		if (ans[i] != (char)('a' + i % 26))
			fail_msg("byte %zu differs", i);
	free(ans);
}

static void
test_command_too_long(void **state)
{
	struct peer	*p = *state;
	char		*ans = (char *)state, err[256];

	p->big = HAPROXY_ANSWER_MAX + 1;
	peer_start(p, PEER_BIG, NULL);
	assert_int_equal(haproxy_command(p->path, "show stat", &ans, err,
	    sizeof(err)), -1);
	peer_wait(p);
	assert_null(ans);
	assert_string_equal(err, "answer too long");
}

/* A peer that never answers: an error within the 2 s bound, not a hang. */
static void
test_command_timeout(void **state)
{
	struct peer	*p = *state;
	char		*ans = (char *)state, err[256], want[256];
	double		 t0, dt;

	peer_start(p, PEER_SILENT, NULL);
	t0 = now();
	assert_int_equal(haproxy_command(p->path, "show servers state", &ans,
	    err, sizeof(err)), -1);
	dt = now() - t0;
	peer_wait(p);
	assert_null(ans);
	snprintf(want, sizeof(want), "%s: read: no answer in time", p->path);
	assert_string_equal(err, want);
	if (dt < 1.5 || dt > 4.0)
		fail_msg("gave up after %.2f s", dt);
}

static void
test_command_no_socket(void **state)
{
	struct peer	*p = *state;
	char		*ans = (char *)state, err[256], want[256];
	int		 fd;

	/* Nothing at the path. */
	assert_int_equal(haproxy_command(p->path, "show stat", &ans, err,
	    sizeof(err)), -1);
	assert_null(ans);
	snprintf(want, sizeof(want), "%s: %s", p->path, strerror(ENOENT));
	assert_string_equal(err, want);

	/* A file that is not a socket. */
	assert_true((fd = open(p->path, O_WRONLY | O_CREAT, 0600)) != -1);
	close(fd);
	ans = (char *)state;
	assert_int_equal(haproxy_command(p->path, "show stat", &ans, err,
	    sizeof(err)), -1);
	assert_null(ans);
	snprintf(want, sizeof(want), "%s: %s", p->path,
	    strerror(ECONNREFUSED));
	assert_string_equal(err, want);
	unlink(p->path);

	/* A socket no one listens on any more. */
	peer_start(p, PEER_NOTHING, NULL);
	assert_int_equal(haproxy_command(p->path, "show info", &ans, err,
	    sizeof(err)), 0);
	free(ans);
	peer_wait(p);
	close(p->lfd);
	p->lfd = -1;
	ans = (char *)state;
	assert_int_equal(haproxy_command(p->path, "show info", &ans, err,
	    sizeof(err)), -1);
	assert_null(ans);
	assert_string_equal(err, want);

	/* A path longer than a unix socket's. */
	{
		char	longpath[200];

		memset(longpath, 'p', sizeof(longpath) - 1);
		longpath[0] = '/';
		longpath[sizeof(longpath) - 1] = '\0';
		ans = (char *)state;
		assert_int_equal(haproxy_command(longpath, "show info", &ans,
		    err, sizeof(err)), -1);
		assert_null(ans);
		assert_string_equal(err, "socket path too long");
	}
}

/* The error is cut to the caller's buffer. */
static void
test_command_small_err(void **state)
{
	struct peer	*p = *state;
	char		*ans, err[16];

	memset(err, 'Z', sizeof(err));
	assert_int_equal(haproxy_command(p->path, "show stat", &ans, err, 8),
	    -1);
	assert_int_equal(strlen(err), 7);
	assert_memory_equal(err, p->path, 7);
	assert_int_equal(err[8], 'Z');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_command_answer,
		    peer_setup, peer_teardown),
		cmocka_unit_test_setup_teardown(test_command_pieces,
		    peer_setup, peer_teardown),
		cmocka_unit_test_setup_teardown(test_command_empty_answer,
		    peer_setup, peer_teardown),
		cmocka_unit_test_setup_teardown(test_command_big_answer,
		    peer_setup, peer_teardown),
		cmocka_unit_test_setup_teardown(test_command_too_long,
		    peer_setup, peer_teardown),
		cmocka_unit_test_setup_teardown(test_command_timeout,
		    peer_setup, peer_teardown),
		cmocka_unit_test_setup_teardown(test_command_no_socket,
		    peer_setup, peer_teardown),
		cmocka_unit_test_setup_teardown(test_command_small_err,
		    peer_setup, peer_teardown),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
