/*
 * test_sdnotify: systemd's readiness messages reach the socket named by
 * $NOTIFY_SOCKET, a path or an abstract name, byte for byte; nothing is
 * sent without it, and a malformed name is refused.
 */
#include <sys/socket.h>
#include <sys/un.h>

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

#include "base/sdnotify.h"

/* A datagram socket bound to name (a path, or "@..." abstract). */
static int
listen_on(const char *name)
{
	struct sockaddr_un	sun;
	size_t			n = strlen(name);
	socklen_t		len;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, name, n);
	if (name[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(fd != -1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, len), 0);
	return fd;
}

static void
expect_datagram(int fd, const char *want)
{
	char	buf[64];
	ssize_t	n = recv(fd, buf, sizeof(buf), 0);

	assert_int_equal(n, (ssize_t)strlen(want));
	assert_memory_equal(buf, want, (size_t)n);
}

static void
test_path(void **state)
{
	char	dir[] = "/tmp/sdnotify.XXXXXX", path[64];
	int	fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notify", dir);
	fd = listen_on(path);
	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(sdnotify_send("READY=1"), 1);
	expect_datagram(fd, "READY=1");
	assert_int_equal(sdnotify_send("STOPPING=1"), 1);
	expect_datagram(fd, "STOPPING=1");
	close(fd);
	unlink(path);
	rmdir(dir);
	unsetenv("NOTIFY_SOCKET");
}

static void
test_abstract(void **state)
{
	char	name[64];
	int	fd;

	(void)state;
	snprintf(name, sizeof(name), "@clusterd-test-sdnotify-%ld",
	    (long)getpid());
	fd = listen_on(name);
	setenv("NOTIFY_SOCKET", name, 1);
	assert_int_equal(sdnotify_send("READY=1"), 1);
	expect_datagram(fd, "READY=1");
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}

static void
test_unset_and_bad(void **state)
{
	char	long_name[200];

	(void)state;
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(sdnotify_send("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	assert_int_equal(sdnotify_send("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	errno = 0;
	assert_int_equal(sdnotify_send("READY=1"), -1);
	assert_int_equal(errno, EINVAL);
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[0] = '/';
	long_name[sizeof(long_name) - 1] = '\0';
	setenv("NOTIFY_SOCKET", long_name, 1);
	assert_int_equal(sdnotify_send("READY=1"), -1);
	/* Nobody listening: a failure, not a crash or a block. */
	setenv("NOTIFY_SOCKET", "/nonexistent/clusterd-notify", 1);
	assert_int_equal(sdnotify_send("READY=1"), -1);
	unsetenv("NOTIFY_SOCKET");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_abstract),
		cmocka_unit_test(test_unset_and_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
