#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/sdnotify.h"

/*
 * The protocol of sd_notify(3): $NOTIFY_SOCKET is a path, or an abstract
 * name when it starts with '@' (the '@' stands for the leading NUL).
 * Other forms (vsock) are not used by systemd for services; refused.
 */
int
sdnotify_send(const char *state)
{
	struct sockaddr_un	 sun;
	const char		*path = getenv("NOTIFY_SOCKET");
	size_t			 n, len = strlen(state);
	socklen_t		 salen;
	int			 fd, rv = -1;

	if (path == NULL || *path == '\0')
		return 0;
	n = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || n >= sizeof(sun.sun_path)) {
		errno = EINVAL;
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, n);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
	    (path[0] == '/'));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (sendto(fd, state, len, MSG_NOSIGNAL, (struct sockaddr *)&sun,
	    salen) == (ssize_t)len)
		rv = 1;
	close(fd);
	return rv;
}
