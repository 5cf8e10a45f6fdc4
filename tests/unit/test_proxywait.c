/*
 * test_proxywait: a real listener on loopback whose peer (127.0.0.1) is
 * in proxy_from, driven by a real libev loop.  A header that arrives a
 * byte at a time, or with the connection's first bytes in the same
 * segment, hands the connection on under the header's source with those
 * bytes still unread; LOCAL keeps the socket's address; no header, an
 * invalid one, a close or silence past preauth_timeout closes it, one log
 * line a minute; a peer proxy_from does not list goes straight through,
 * its bytes untouched.  Closing the listener closes what still waits.
 */
#include <sys/socket.h>
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
#include <unistd.h>

#include <cmocka.h>

#include "base/config.h"
#include "base/log.h"
#include "net/listener.h"
#include "net/proxywait.h"
#include "helpers/fixture.h"

#define V1	"PROXY TCP4 198.51.100.7 10.0.0.2 40000 1514\r\n"

struct fixture {
	struct ev_loop	*loop;
	struct config	 cfg;
	struct listener	 l;
	unsigned	 port;
	int		 accepted;	/* fd, -1: none yet */
	int		 naccepted;
	char		 addr[64];
	struct fx_log	 log;
};

static void
on_accept(struct listener *l, int fd, const char *addr, void *arg)
{
	struct fixture	*f = arg;

	(void)l;
	if (f->accepted != -1)
		close(f->accepted);
	f->accepted = fd;
	f->naccepted++;
	snprintf(f->addr, sizeof(f->addr), "%s", addr);
}

static int
setup(void **state)
{
	struct fixture		*f = calloc(1, sizeof(*f));
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);
	char			 err[128];

	assert_non_null(f);
	fx_log_open(&f->log, "test_proxywait");
	config_defaults(&f->cfg);
	f->cfg.preauth_timeout = 0.2;
	assert_int_equal(cidr_parse_list("10.9.9.9,127.0.0.0/8",
	    f->cfg.proxy_from, CONFIG_PROXY_FROM_MAX, &f->cfg.nproxy_from,
	    err, sizeof(err)), 0);
	f->accepted = -1;
	f->loop = ev_loop_new(EVFLAG_AUTO);
	assert_int_equal(listener_tcp(&f->l, f->loop, "127.0.0.1", 0, 64,
	    "Test", "test clients", on_accept, f), 0);
	assert_int_equal(listener_set_proxy(&f->l, &f->cfg, "test"), 0);
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

	if (f->accepted != -1)
		close(f->accepted);
	listener_close(&f->l);
	ev_loop_destroy(f->loop);
	fx_log_close(&f->log);
	free(f);
	return 0;
}

static int
dial(struct fixture *f)
{
	struct sockaddr_in	sin;
	int			fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)f->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd != -1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/* Turn the loop for about seconds. */
static void
spin(struct fixture *f, double seconds)
{
	double	end = ev_time() + seconds;

	while (ev_time() < end) {
		ev_run(f->loop, EVRUN_NOWAIT);
		usleep(2000);
		ev_now_update(f->loop);
	}
}

/* Has the server closed fd (EOF or reset), without sending anything? */
static int
closed(int fd)
{
	char	c;
	ssize_t	n;

	n = recv(fd, &c, 1, MSG_DONTWAIT);
	return n == 0 || (n == -1 && errno == ECONNRESET);
}

/* The accepted connection holds exactly what, unread. */
static void
holds(struct fixture *f, const char *what)
{
	char	buf[64];
	ssize_t	n;

	assert_true(f->accepted != -1);
	n = recv(f->accepted, buf, sizeof(buf), MSG_DONTWAIT);
	assert_int_equal(n, (ssize_t)strlen(what));
	assert_memory_equal(buf, what, strlen(what));
}

static void
test_v1_byte_by_byte(void **state)
{
	struct fixture	*f = *state;
	const char	*s = V1;
	unsigned long	 headers, refused;
	int		 fd = dial(f);

	for (; *s != '\0'; s++) {
		assert_int_equal(write(fd, s, 1), 1);
		spin(f, 0.002);
		if (s[1] != '\0')
			assert_int_equal(f->naccepted, 0);
	}
	assert_int_equal(write(fd, "HELLO", 5), 5);
	spin(f, 0.02);
	assert_int_equal(f->naccepted, 1);
	assert_string_equal(f->addr, "198.51.100.7");
	holds(f, "HELLO");
	proxywait_counts(f->l.proxy, &headers, &refused);
	assert_int_equal(headers, 1);
	assert_int_equal(refused, 0);
	close(fd);
}

static void
test_v2_with_data(void **state)
{
	struct fixture	*f = *state;
	uint8_t		 buf[128];
	size_t		 n = 0;
	int		 fd = dial(f);

	memcpy(buf, "\r\n\r\n\0\r\nQUIT\n\x21\x21\x00\x24", 16);
	n = 16;
	inet_pton(AF_INET6, "2001:db8::7", buf + n);
	inet_pton(AF_INET6, "2001:db8::1", buf + n + 16);
	memcpy(buf + n + 32, "\x9c\x40\x05\xeb", 4);
	n += 36;
	memcpy(buf + n, "\x16\x03\x01", 3);	/* a ClientHello's start */
	assert_int_equal(write(fd, buf, n + 3), (ssize_t)(n + 3));
	spin(f, 0.02);
	assert_int_equal(f->naccepted, 1);
	assert_string_equal(f->addr, "2001:db8::7");
	holds(f, "\x16\x03\x01");
	close(fd);
}

static void
test_local(void **state)
{
	struct fixture	*f = *state;
	int		 fd = dial(f);

	assert_int_equal(write(fd, "\r\n\r\n\0\r\nQUIT\n\x20\x00\x00\x00", 16),
	    16);
	spin(f, 0.02);
	assert_int_equal(f->naccepted, 1);
	assert_string_equal(f->addr, "127.0.0.1");
	close(fd);
}

static void
test_refusals(void **state)
{
	struct fixture	*f = *state;
	unsigned long	 headers, refused;
	int		 a, b, c, d;

	a = dial(f);
	assert_int_equal(write(a, "\x10\0\0\0#AES", 8), 8);	/* no header */
	b = dial(f);
	assert_int_equal(write(b, "PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n",
	    36), 36);
	c = dial(f);
	assert_int_equal(write(c, "PROX", 4), 4);
	assert_int_equal(shutdown(c, SHUT_WR), 0);	/* then closes */
	d = dial(f);					/* silent */
	assert_int_equal(write(d, "PROXY TCP4 ", 11), 11);
	spin(f, 0.05);
	assert_true(closed(a));
	assert_true(closed(b));
	assert_true(closed(c));
	assert_false(closed(d));
	spin(f, 0.3);					/* preauth_timeout */
	assert_true(closed(d));
	assert_int_equal(f->naccepted, 0);
	proxywait_counts(f->l.proxy, &headers, &refused);
	assert_int_equal(headers, 0);
	assert_int_equal(refused, 3);	/* the timeout is preauth's */
	assert_int_equal(fx_log_count(&f->log, "must start with a PROXY "
	    "header"), 1);
	assert_int_equal(fx_log_count(&f->log, "no PROXY header within"), 1);
	close(a);
	close(b);
	close(c);
	close(d);
}

static void
test_unlisted(void **state)
{
	struct fixture	*f = *state;
	char		 err[128];
	int		 fd;

	assert_int_equal(cidr_parse_list("10.0.0.0/8", f->cfg.proxy_from,
	    CONFIG_PROXY_FROM_MAX, &f->cfg.nproxy_from, err, sizeof(err)), 0);
	fd = dial(f);
	assert_int_equal(write(fd, V1, strlen(V1)), (ssize_t)strlen(V1));
	spin(f, 0.02);
	assert_int_equal(f->naccepted, 1);
	assert_string_equal(f->addr, "127.0.0.1");
	holds(f, V1);
	close(fd);
}

static void
test_close_while_waiting(void **state)
{
	struct fixture	*f = *state;
	int		 fd = dial(f);

	assert_int_equal(write(fd, "PROXY", 5), 5);
	spin(f, 0.02);
	assert_false(closed(fd));
	listener_close(&f->l);
	assert_true(closed(fd));
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_v1_byte_by_byte, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_v2_with_data, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_local, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlisted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_while_waiting, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
