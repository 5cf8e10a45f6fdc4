#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>

#include "base/log.h"
#include "base/reap.h"
#include "net/conn.h"
#include "net/tls.h"

#define READ_CHUNK	(16 * 1024)
#define DEFAULT_IN_LIMIT (64 * 1024)
#define READ_BATCH	(256 * 1024)	/* read, then hand over */

static void conn_io_cb(struct ev_loop *, ev_io *, int);

int
conn_set_nonblock(int fd)
{
	int	fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return -1;
	return 0;
}

/*
 * A peer that vanishes without FIN or RST (a cut link, a powered-off host)
 * leaves a half-open socket that nothing else would ever close.  TCP
 * keepalive probes an idle socket and TCP_USER_TIMEOUT bounds data left
 * unacknowledged, so either way the socket fails about dead_after seconds
 * after the peer went silent.  Best effort: a failure only loses the
 * early detection, and unix sockets ignore it.
 */
void
conn_dead_after(int fd, double dead_after)
{
	int		on = 1, idle, intvl, cnt = 3;
	unsigned	ms;

	if (dead_after <= 0)
		return;
	idle = (int)(dead_after / 2);
	intvl = (int)((dead_after - idle) / cnt);
	if (idle < 1)
		idle = 1;
	if (intvl < 1)
		intvl = 1;
	ms = (unsigned)(dead_after * 1000);
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl,
	    sizeof(intvl));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof(ms));
}

/* Printable address of a sockaddr (IPv4, IPv6 or unix). */
void
conn_addr_string(const void *sap, char *out, size_t outlen)
{
	const struct sockaddr	*sa = sap;

	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sap)->sin_addr,
		    out, (socklen_t)outlen);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)sap)->sin6_addr, out,
		    (socklen_t)outlen);
	else
		snprintf(out, outlen, "local");
}

static void
conn_free(void *p)
{
	struct conn	*c = p;

	if (c->ssl != NULL)
		SSL_free(c->ssl);
	if (c->fd != -1)
		close(c->fd);
	buf_free(&c->in);
	buf_free(&c->out);
	free(c);
}

/*
 * The one place that decides watcher interest, from the state and buffers:
 * write interest while output is pending (or OpenSSL asked for it), read
 * interest unless the output queue is over its mark or input is full.
 */
static void
conn_update(struct conn *c, int want_read, int want_write)
{
	if (c->state == CONN_CLOSED)
		return;
	if (c->state == CONN_CONNECTING) {
		want_read = 0;
		want_write = 1;
	} else if (c->state == CONN_OPEN || c->state == CONN_CLOSING) {
		want_read = !c->eof && (want_read || (!c->out_full &&
		    buf_used(&c->in) < c->in_limit));
		want_write = want_write || buf_used(&c->out) > 0;
	}
	if (want_read && !ev_is_active(&c->rio))
		ev_io_start(c->loop, &c->rio);
	else if (!want_read && ev_is_active(&c->rio))
		ev_io_stop(c->loop, &c->rio);
	if (want_write && !ev_is_active(&c->wio))
		ev_io_start(c->loop, &c->wio);
	else if (!want_write && ev_is_active(&c->wio))
		ev_io_stop(c->loop, &c->wio);
}

struct conn *
conn_new(struct ev_loop *loop, int fd, SSL_CTX *ctx, int server,
    int connecting, const struct conn_ops *ops, void *arg)
{
	struct conn		*c;
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	int			 one = 1;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->loop = loop;
	c->fd = fd;
	c->ops = ops;
	c->arg = arg;
	c->in_limit = DEFAULT_IN_LIMIT;
	c->out_high = CONN_OUT_HIGH;
	c->read_chunk = READ_CHUNK;
	buf_init(&c->in);
	buf_init(&c->out);
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
		conn_addr_string(&ss, c->peer, sizeof(c->peer));
	else
		snprintf(c->peer, sizeof(c->peer), "unknown");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (ctx != NULL) {
		if ((c->ssl = SSL_new(ctx)) == NULL ||
		    !SSL_set_fd(c->ssl, fd)) {
			c->fd = -1;	/* the caller still owns fd */
			conn_free(c);
			return NULL;
		}
		if (server)
			SSL_set_accept_state(c->ssl);
		else
			SSL_set_connect_state(c->ssl);
	}
	ev_io_init(&c->rio, conn_io_cb, fd, EV_READ);
	ev_io_init(&c->wio, conn_io_cb, fd, EV_WRITE);
	c->rio.data = c->wio.data = c;
	if (connecting)
		c->state = CONN_CONNECTING;
	else
		c->state = c->ssl != NULL ? CONN_HANDSHAKE : CONN_OPEN;
	if (c->state == CONN_OPEN && ops->on_open != NULL)
		ops->on_open(c);
	conn_update(c, c->state == CONN_HANDSHAKE, !server);
	return c;
}

/*
 * Start a non-blocking TCP connection to host:port.  host is normally a
 * numeric address; a name is resolved with getaddrinfo(), which blocks.
 * Returns 0 with *out set (the result comes through ops), -1 with err set.
 */
int
conn_connect(struct ev_loop *loop, const char *host, unsigned port,
    SSL_CTX *ctx, const struct conn_ops *ops, void *arg, struct conn **out,
    char *err, size_t errlen)
{
	struct addrinfo	 hints, *res = NULL;
	char		 sport[8];
	int		 fd = -1, rv;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(sport, sizeof(sport), "%u", port);
	if ((rv = getaddrinfo(host, sport, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", host,
		    gai_strerror(rv));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || conn_set_nonblock(fd) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto fail;
	}
	if (connect(fd, res->ai_addr, res->ai_addrlen) == -1 &&
	    errno != EINPROGRESS) {
		snprintf(err, errlen, "connect to %s:%u: %s", host, port,
		    strerror(errno));
		goto fail;
	}
	if ((*out = conn_new(loop, fd, ctx, 0, 1, ops, arg)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	conn_addr_string(res->ai_addr, (*out)->peer, sizeof((*out)->peer));
	freeaddrinfo(res);
	return 0;
fail:
	if (fd != -1)
		close(fd);
	freeaddrinfo(res);
	return -1;
}

int
conn_congested(const struct conn *c)
{
	return c->congested || c->state != CONN_OPEN;
}

/*
 * Close now: stop watchers, tell the owner once, free at the next safe
 * point.  The reason is kept for the owner's log line.
 */
void
conn_close(struct conn *c, const char *reason)
{
	if (c->state == CONN_CLOSED)
		return;
	/* A close we chose ends TLS in order (close_notify, best effort):
	 * the peer can tell a stop from a lost connection. */
	if (c->ssl != NULL && !c->failed && (c->state == CONN_OPEN ||
	    c->state == CONN_CLOSING)) {
		ERR_clear_error();
		(void)SSL_shutdown(c->ssl);
		ERR_clear_error();
	}
	c->state = CONN_CLOSED;
	snprintf(c->reason, sizeof(c->reason), "%s", reason);
	ev_io_stop(c->loop, &c->rio);
	ev_io_stop(c->loop, &c->wio);
	if (c->ops->on_close != NULL)
		c->ops->on_close(c, c->reason);
	reap_later(conn_free, c);
}

/* Send what is queued, then close; used after a final error answer. */
void
conn_close_after_flush(struct conn *c)
{
	if (c->state != CONN_OPEN)
		return;
	c->state = CONN_CLOSING;
	if (buf_used(&c->out) == 0)
		conn_close(c, "closed after reply");
	else
		conn_update(c, 0, 1);
}

/* Both marks, each with its hysteresis; on_drain when producers may go on. */
static void
conn_set_congestion(struct conn *c)
{
	size_t	used = buf_used(&c->out);

	if (!c->out_full && used > CONN_OUT_HIGH)
		c->out_full = 1;
	else if (c->out_full && used <= CONN_OUT_HIGH / 2)
		c->out_full = 0;
	if (!c->congested && used > c->out_high)
		c->congested = 1;
	else if (c->congested && used <= c->out_high / 2) {
		c->congested = 0;
		if (c->ops->on_drain != NULL && c->state == CONN_OPEN)
			c->ops->on_drain(c);
	}
}

/*
 * Queue bytes for sending.  -1 (and the conn closed) past CONN_OUT_LIMIT.
 * A plain socket with nothing queued is written at once: a simulator's
 * or a control client's small messages then cost one write each rather
 * than a write watcher started and stopped around it (two epoll_ctl
 * calls and a loop turn).  What the socket does not take is queued; a
 * failed write is left to the watcher, which reports it as before.
 */
int
conn_write(struct conn *c, const void *p, size_t n)
{
	ssize_t	w;

	if (c->state != CONN_OPEN)
		return -1;
	if (c->ssl == NULL && buf_used(&c->out) == 0 && n > 0) {
		if ((w = write(c->fd, p, n)) == (ssize_t)n)
			return 0;
		if (w > 0) {
			p = (const uint8_t *)p + w;
			n -= (size_t)w;
		}
	}
	if (buf_used(&c->out) + n > CONN_OUT_LIMIT) {
		conn_close(c, "peer too slow: output queue over its limit");
		return -1;
	}
	if (buf_append(&c->out, p, n) == -1) {
		conn_close(c, "out of memory");
		return -1;
	}
	conn_set_congestion(c);
	conn_update(c, 0, 1);
	return 0;
}

/* Describe a failed TLS or socket call for the close reason. */
static void
io_failure(struct conn *c, const char *what, int sslerr)
{
	char	reason[160];

	if (sslerr == SSL_ERROR_SYSCALL && errno != 0)
		snprintf(reason, sizeof(reason), "%s: %s", what,
		    strerror(errno));
	else if (sslerr == SSL_ERROR_SSL)
		snprintf(reason, sizeof(reason), "%s: %s", what,
		    tls_error_string());
	else if (sslerr == SSL_ERROR_ZERO_RETURN && c->ssl != NULL)
		snprintf(reason, sizeof(reason), "%s: connection closed by "
		    "peer (orderly)", what);
	else
		snprintf(reason, sizeof(reason), "%s: connection closed by "
		    "peer", what);
	ERR_clear_error();
	c->failed = 1;
	conn_close(c, reason);
}

static void
do_connect(struct conn *c)
{
	int		err = 0;
	socklen_t	len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		char reason[160];

		snprintf(reason, sizeof(reason), "connect: %s", strerror(err));
		conn_close(c, reason);
		return;
	}
	if (c->ssl != NULL) {
		c->state = CONN_HANDSHAKE;
		return;
	}
	c->state = CONN_OPEN;
	if (c->ops->on_open != NULL)
		c->ops->on_open(c);
}

/* Drive the TLS handshake; returns 1 when done, 0 to wait, -1 closed. */
static int
do_handshake(struct conn *c)
{
	int	rv, e;

	ERR_clear_error();
	errno = 0;
	if ((rv = SSL_do_handshake(c->ssl)) == 1) {
		c->state = CONN_OPEN;
		if (c->ops->on_open != NULL)
			c->ops->on_open(c);
		return c->state == CONN_CLOSED ? -1 : 1;
	}
	e = SSL_get_error(c->ssl, rv);
	if (e == SSL_ERROR_WANT_READ) {
		conn_update(c, 1, 0);
		return 0;
	}
	if (e == SSL_ERROR_WANT_WRITE) {
		conn_update(c, 0, 1);
		return 0;
	}
	io_failure(c, "TLS handshake", e);
	return -1;
}

/*
 * Read what is available, up to the input limit, and hand it to the owner
 * at least every READ_BATCH bytes: a peer that sends faster than we
 * consume (a bundle) then fills `in` with about one frame, not with
 * in_limit, and the loop's other watchers get their turn; the socket's
 * watcher calls again for the rest.  Repeats while OpenSSL holds decrypted
 * bytes the socket will not signal again.  Returns -1 if the conn closed.
 */
static int
do_read(struct conn *c)
{
	ssize_t	n;
	size_t	got;
	int	e, saved;

again:
	got = 0;
	while (c->state == CONN_OPEN && !c->out_full && !c->eof &&
	    buf_used(&c->in) < c->in_limit && got < READ_BATCH) {
		if (buf_reserve(&c->in, c->read_chunk) == -1) {
			conn_close(c, "out of memory");
			return -1;
		}
		if (c->ssl != NULL) {
			ERR_clear_error();
			errno = 0;
			n = SSL_read(c->ssl, buf_tail(&c->in),
			    (int)c->read_chunk);
			if (n <= 0) {
				e = SSL_get_error(c->ssl, (int)n);
				if (e == SSL_ERROR_WANT_READ)
					break;
				if (e == SSL_ERROR_WANT_WRITE) {
					conn_update(c, 1, 1);
					break;
				}
				goto failed;
			}
		} else {
			n = read(c->fd, buf_tail(&c->in), c->read_chunk);
			if (n == -1 && (errno == EAGAIN || errno == EINTR))
				break;
			if (n == 0 && c->half_close) {
				c->eof = 1;
				if (c->ops->on_data != NULL)
					c->ops->on_data(c);
				return c->state == CONN_CLOSED ? -1 : 0;
			}
			if (n <= 0) {
				e = n == 0 ? SSL_ERROR_ZERO_RETURN :
				    SSL_ERROR_SYSCALL;
				goto failed;
			}
		}
		buf_commit(&c->in, (size_t)n);
		got += (size_t)n;
		/* A short plain read emptied the socket: the next read would
		 * only say EAGAIN (level-triggered, more data wakes us). */
		if (c->ssl == NULL && (size_t)n < c->read_chunk)
			break;
	}
	if (got && c->ops->on_data != NULL)
		c->ops->on_data(c);
	if (c->state == CONN_CLOSED)
		return -1;
	if (got && c->ssl != NULL && SSL_pending(c->ssl) > 0 &&
	    c->state == CONN_OPEN && !c->out_full &&
	    buf_used(&c->in) < c->in_limit)
		goto again;
	return 0;
failed:
	/* Deliver what arrived before the end: often a final answer. */
	saved = errno;
	if (got && c->ops->on_data != NULL)
		c->ops->on_data(c);
	if (c->state == CONN_CLOSED)
		return -1;
	errno = saved;
	io_failure(c, "read", e);
	return -1;
}

/* Write as much of `out` as the socket takes; -1 if closed. */
static int
do_write(struct conn *c)
{
	ssize_t	n;
	size_t	chunk;
	int	e;

	while (buf_used(&c->out) > 0) {
		chunk = buf_used(&c->out);
		if (chunk > 256 * 1024)
			chunk = 256 * 1024;
		if (c->ssl != NULL) {
			ERR_clear_error();
			errno = 0;
			n = SSL_write(c->ssl, buf_head(&c->out), (int)chunk);
			if (n <= 0) {
				e = SSL_get_error(c->ssl, (int)n);
				if (e == SSL_ERROR_WANT_WRITE ||
				    e == SSL_ERROR_WANT_READ)
					break;
				io_failure(c, "write", e);
				return -1;
			}
		} else {
			n = write(c->fd, buf_head(&c->out), chunk);
			if (n == -1 && (errno == EAGAIN || errno == EINTR))
				break;
			if (n == -1) {
				io_failure(c, "write", SSL_ERROR_SYSCALL);
				return -1;
			}
		}
		buf_consume(&c->out, (size_t)n);
	}
	conn_set_congestion(c);
	if (c->state == CONN_CLOSING && buf_used(&c->out) == 0) {
		if (c->ssl != NULL)
			SSL_shutdown(c->ssl);
		conn_close(c, "closed after reply");
		return -1;
	}
	return c->state == CONN_CLOSED ? -1 : 0;
}

/*
 * One callback for both watchers: whatever woke us, move every stage as far
 * as it goes.  OpenSSL may need a write to finish a read and the reverse, so
 * trying both is simpler and cheaper than tracking which one it wanted.
 */
static void
conn_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn	*c = w->data;

	(void)loop;
	(void)revents;
	if (c->state == CONN_CONNECTING) {
		do_connect(c);
		if (c->state == CONN_CLOSED)
			return;
	}
	if (c->state == CONN_HANDSHAKE && do_handshake(c) != 1)
		return;
	if (c->state == CONN_OPEN && do_read(c) == -1)
		return;
	if (do_write(c) == -1)
		return;
	conn_update(c, 0, 0);
}
