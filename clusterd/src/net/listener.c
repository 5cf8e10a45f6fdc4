#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "net/conn.h"
#include "net/listener.h"
#include "net/preauth.h"
#include "net/proxywait.h"

static void accept_cb(struct ev_loop *, ev_io *, int);
static int accept_some(struct listener *, int);
static void resume_cb(struct ev_loop *, ev_timer *, int);

/*
 * A non-blocking TCP socket listening on a numeric address and port.
 * Returns the fd, or -1 after logging why under task.
 */
static int
listen_tcp(const char *addr, unsigned port, int backlog, const char *task)
{
	struct addrinfo	 hints, *res = NULL;
	char		 sport[8];
	int		 fd, one = 1, rv;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
	snprintf(sport, sizeof(sport), "%u", port);
	if ((rv = getaddrinfo(addr, sport, &hints, &res)) != 0) {
		log_errx(task, "address %s: %s", addr, gai_strerror(rv));
		return -1;
	}
	if ((fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ==
	    -1 || bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, backlog) == -1) {
		log_err(task, "cannot listen on %s:%u", addr, port);
		if (fd != -1)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* Listen on addr:port and serve it; -1 (logged) if the port is unusable. */
int
listener_tcp(struct listener *l, struct ev_loop *loop, const char *addr,
    unsigned port, int backlog, const char *task, const char *what,
    listener_cb cb, void *arg)
{
	int	fd;

	if ((fd = listen_tcp(addr, port, backlog, task)) == -1) {
		l->fd = -1;
		return -1;
	}
	listener_start(l, loop, fd, task, what, cb, arg);
	return 0;
}

/* Serve an already listening, non-blocking socket; the listener owns it. */
void
listener_start(struct listener *l, struct ev_loop *loop, int fd,
    const char *task, const char *what, listener_cb cb, void *arg)
{
	memset(l, 0, sizeof(*l));
	l->loop = loop;
	l->fd = fd;
	l->cb = cb;
	l->arg = arg;
	l->task = task;
	l->what = what;
	l->last_log = -LISTENER_LOG_EVERY;
	ev_io_init(&l->io, accept_cb, fd, EV_READ);
	l->io.data = l;
	ev_timer_init(&l->pause, resume_cb, LISTENER_PAUSE, 0);
	l->pause.data = l;
	ev_io_start(loop, &l->io);
}

/* Bound the connections not yet identified per source address (preauth.h). */
void
listener_set_preauth(struct listener *l, struct preauth *pa)
{
	l->preauth = pa;
}

/*
 * Connections from cfg->proxy_from's peers (read live) must start with a
 * PROXY header, read here before the service sees them; port names the
 * service in metrics.  -1: out of memory.
 */
int
listener_set_proxy(struct listener *l, const struct config *cfg,
    const char *port)
{
	if ((l->proxy = proxywait_new(l, cfg, port)) == NULL)
		return -1;
	return 0;
}

/* Close the listening socket (its queue is reset): no more accepts. */
static void
stop_listening(struct listener *l)
{
	ev_io_stop(l->loop, &l->io);
	ev_timer_stop(l->loop, &l->pause);
	close(l->fd);
	l->fd = -1;
}

void
listener_close(struct listener *l)
{
	if (l->loop == NULL)
		return;
	proxywait_free(l->proxy);
	l->proxy = NULL;
	if (l->fd != -1)
		stop_listening(l);
}

/*
 * Stop taking connections without resetting any a client already has:
 * the kernel completes handshakes before accept(2), so closing a listening
 * socket resets every connection still in its queue.  Accept them all
 * first (no batch bound), then close; connections still sending their
 * PROXY header stay with proxywait and reach the service as usual.
 * listener_close frees the rest later.
 */
void
listener_quiesce(struct listener *l)
{
	int	guard;

	if (l->loop == NULL || l->fd == -1)
		return;
	for (guard = 0; guard < 1024 && l->fd != -1 &&
	    accept_some(l, LISTENER_BATCH) == LISTENER_BATCH; guard++)
		;
	if (l->fd != -1)
		stop_listening(l);
}

/* Not const: libev's ev_is_active() casts its argument to a mutable pointer. */
int
listener_paused(struct listener *l)
{
	return ev_is_active(&l->pause);
}

/* Errors accept(2) reports for one connection that died in the queue. */
static int
transient(int e)
{
	return e == EINTR || e == ECONNABORTED || e == EPROTO ||
	    e == ENETDOWN || e == ENOPROTOOPT || e == EHOSTDOWN ||
	    e == ENONET || e == EHOSTUNREACH || e == EOPNOTSUPP ||
	    e == ENETUNREACH;
}

/*
 * Stop accepting for LISTENER_PAUSE: the socket stays readable while the
 * process has no descriptor to spare, and accepting again at once would
 * spin.  Logged at most once every LISTENER_LOG_EVERY seconds, with the
 * number of pauses since the last line.
 */
static void
pause_accepting(struct listener *l, int e)
{
	struct rlimit	rl;
	double		now = ev_now(l->loop);

	ev_io_stop(l->loop, &l->io);
	ev_timer_set(&l->pause, LISTENER_PAUSE, 0);
	ev_timer_start(l->loop, &l->pause);
	l->pauses++;
	l->pauses_unlogged++;
	if (now - l->last_log < LISTENER_LOG_EVERY)
		return;
	if (e == EMFILE && getrlimit(RLIMIT_NOFILE, &rl) == 0)
		log_warnx(l->task, "Out of file descriptors (limit %lu) "
		    "accepting %s: pausing %gs (%lu times since the last such "
		    "line); raise LimitNOFILE.", (unsigned long)rl.rlim_cur,
		    l->what, LISTENER_PAUSE, l->pauses_unlogged);
	else
		log_warnx(l->task, "Cannot accept %s: %s; pausing %gs (%lu "
		    "times since the last such line).", l->what, strerror(e),
		    LISTENER_PAUSE, l->pauses_unlogged);
	l->last_log = now;
	l->pauses_unlogged = 0;
}

/* Accept up to max connections; returns max when more may wait. */
static int
accept_some(struct listener *l, int max)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl;
	char			 addr[64];
	int			 fd, n;

	for (n = 0; n < max && l->fd != -1; n++) {
		sl = sizeof(ss);
		memset(&ss, 0, sizeof(ss));
		fd = accept4(l->fd, (struct sockaddr *)&ss, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return n;
			if (transient(errno))
				continue;
			pause_accepting(l, errno);
			return n;
		}
		conn_addr_string(&ss, addr, sizeof(addr));
		l->accepted++;
		if (l->proxy != NULL && proxywait_listed(l->proxy, &ss))
			proxywait_add(l->proxy, fd, addr);
		else
			listener_hand(l, fd, addr);
	}
	return n;
}

static void
accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	accept_some(w->data, LISTENER_BATCH);
}

/*
 * A connection from addr (its peer's, or its PROXY header's source) goes
 * to the service, unless addr is at its bound already.
 */
void
listener_hand(struct listener *l, int fd, const char *addr)
{
	if (l->preauth != NULL && preauth_refuse(l->preauth, addr)) {
		l->refused++;
		close(fd);
		return;
	}
	l->cb(l, fd, addr, l->arg);
}

static void
resume_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct listener	*l = t->data;

	(void)revents;
	if (l->fd != -1)
		ev_io_start(loop, &l->io);
}
