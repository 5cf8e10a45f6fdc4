#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"
#include "base/log.h"
#include "base/metrics.h"
#include "net/conn.h"
#include "net/listener.h"
#include "net/preauth.h"
#include "net/proxyproto.h"
#include "net/proxywait.h"

/* One connection whose header is awaited. */
struct pwconn {
	struct proxywait	*pw;
	int			 fd;
	ev_io			 io;
	struct preauth_entry	 pa;		/* its preauth_timeout */
	size_t			 have;		/* header bytes read */
	char			 peer[64];
	uint8_t			 buf[PROXYPROTO_MAX];
	TAILQ_ENTRY(pwconn)	 entry;
};

struct proxywait {
	struct listener		*l;
	const struct config	*cfg;		/* read live: reloads apply */
	const char		*port;		/* metric label */
	struct preauth		 pa;
	TAILQ_HEAD(, pwconn)	 conns;
	unsigned long		 headers, refused;
	unsigned long		 quiet;		/* refused since the last line */
	double			 last_log;
};

static const struct metrics_def M_HEADERS = {
	"clusterd_proxy_headers_total", METRICS_COUNTER,
	"Connections from proxy_from balancers, by what became of their PROXY "
	"header."
};

static void read_cb(struct ev_loop *, ev_io *, int);
static void expire_cb(struct preauth *, struct preauth_entry *);

/* A collector (metrics.h): one port's headers. */
static void
proxywait_metrics(struct metrics *m, void *arg)
{
	struct proxywait	*pw = arg;

	metrics_put(m, &M_HEADERS, (double)pw->headers, "port", pw->port,
	    "result", "read", NULL);
	metrics_put(m, &M_HEADERS, (double)pw->refused, "port", pw->port,
	    "result", "refused", NULL);
	metrics_put(m, &M_HEADERS, (double)pw->pa.timeouts, "port", pw->port,
	    "result", "timed_out", NULL);
}

/*
 * Hold l's connections from cfg->proxy_from's peers; port names l in
 * metrics ("agents", "enrollment").  NULL: out of memory.
 */
struct proxywait *
proxywait_new(struct listener *l, const struct config *cfg, const char *port)
{
	struct proxywait	*pw;

	if ((pw = calloc(1, sizeof(*pw))) == NULL)
		return NULL;
	pw->l = l;
	pw->cfg = cfg;
	pw->port = port;
	pw->last_log = -PROXYWAIT_LOG_EVERY;
	TAILQ_INIT(&pw->conns);
	preauth_init(&pw->pa, l->loop, cfg, l->task, "connections from "
	    "balancers", "PROXY header", expire_cb);
	metrics_register(proxywait_metrics, pw);
	return pw;
}

/* Forget c, leaving its descriptor to the caller. */
static void
release(struct pwconn *c)
{
	struct proxywait	*pw = c->pw;

	ev_io_stop(pw->l->loop, &c->io);
	preauth_done(&pw->pa, &c->pa);
	TAILQ_REMOVE(&pw->conns, c, entry);
	free(c);
}

/* Close every connection still waiting, then stop. */
void
proxywait_free(struct proxywait *pw)
{
	struct pwconn	*c;

	if (pw == NULL)
		return;
	metrics_unregister(proxywait_metrics, pw);
	while ((c = TAILQ_FIRST(&pw->conns)) != NULL) {
		close(c->fd);
		release(c);
	}
	preauth_stop(&pw->pa);
	free(pw);
}

/* Is the peer at sockaddr one that must send a header? */
int
proxywait_listed(const struct proxywait *pw, const void *sa)
{
	return cidr_match(pw->cfg->proxy_from, pw->cfg->nproxy_from, sa);
}

void
proxywait_counts(const struct proxywait *pw, unsigned long *headers,
    unsigned long *refused)
{
	*headers = pw->headers;
	*refused = pw->refused;
}

/*
 * Close c for why.  The first refusal after a quiet minute is logged at
 * once; those that follow within the minute are counted into the next
 * line.
 */
static void
refuse(struct pwconn *c, const char *why)
{
	struct proxywait	*pw = c->pw;
	double			 now = ev_now(pw->l->loop);

	pw->refused++;
	if (now - pw->last_log >= PROXYWAIT_LOG_EVERY) {
		log_warnx(pw->l->task, "Closed a connection from %s: %s "
		    "(proxy_from lists that address: its connections must "
		    "start with a PROXY header)%s.", c->peer, why, pw->quiet ?
		    "; more such closings in the last minute" : "");
		pw->last_log = now;
		pw->quiet = 0;
	} else
		pw->quiet++;
	close(c->fd);
	release(c);
}

/* Wait for the header of fd, accepted from addr, a listed peer. */
void
proxywait_add(struct proxywait *pw, int fd, const char *addr)
{
	struct pwconn	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->pw = pw;
	c->fd = fd;
	snprintf(c->peer, sizeof(c->peer), "%s", addr);
	TAILQ_INSERT_TAIL(&pw->conns, c, entry);
	if (preauth_add(&pw->pa, &c->pa, addr, c) == -1) {
		close(fd);
		release(c);
		return;
	}
	ev_io_init(&c->io, read_cb, fd, EV_READ);
	c->io.data = c;
	ev_io_start(pw->l->loop, &c->io);
}

/* The header is whole: the connection goes on as its source's. */
static void
hand_on(struct pwconn *c, const struct proxyproto_hdr *h)
{
	struct listener	*l = c->pw->l;
	char		 addr[64];
	int		 fd = c->fd;

	c->pw->headers++;
	if (h->has_addr)
		conn_addr_string(&h->src, addr, sizeof(addr));
	else
		snprintf(addr, sizeof(addr), "%s", c->peer);
	log_debug(l->task, "PROXY v%d header from %s: source %s.", h->version,
	    c->peer, addr);
	release(c);
	listener_hand(l, fd, addr);
}

/*
 * Peek at what has come, and read only header bytes: all of them while
 * the header is incomplete (a peeked byte left unread would wake this up
 * again at once), its last ones when it is whole, so the connection's own
 * bytes stay in the socket for the service (a TLS handshake on the
 * enrollment port).
 */
static void
read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct pwconn		*c = w->data;
	struct proxyproto_hdr	 h;
	enum proxyproto_status	 st;
	ssize_t			 n;
	size_t			 take;

	(void)loop;
	(void)revents;
	n = recv(c->fd, c->buf + c->have, sizeof(c->buf) - c->have, MSG_PEEK);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		refuse(c, n == 0 ? "closed before a whole PROXY header" :
		    strerror(errno));
		return;
	}
	st = proxyproto_parse(c->buf, c->have + (size_t)n, &h);
	if (st == PROXYPROTO_INVALID) {
		refuse(c, c->buf[0] == 'P' || c->buf[0] == '\r' ?
		    "invalid PROXY header" : "no PROXY header");
		return;
	}
	take = st == PROXYPROTO_DONE ? h.len - c->have : (size_t)n;
	if (recv(c->fd, c->buf + c->have, take, 0) != (ssize_t)take) {
		refuse(c, "read error");
		return;
	}
	c->have += take;
	if (st == PROXYPROTO_DONE)
		hand_on(c, &h);
}

/* No whole header within preauth_timeout (preauth logged it). */
static void
expire_cb(struct preauth *pa, struct preauth_entry *e)
{
	struct pwconn	*c = e->owner;

	(void)pa;
	close(c->fd);
	release(c);
}

/* Connections whose header is still awaited. */
unsigned
proxywait_waiting(const struct proxywait *pw)
{
	const struct pwconn	*c;
	unsigned		 n = 0;

	if (pw == NULL)
		return 0;
	TAILQ_FOREACH(c, &pw->conns, entry)
		n++;
	return n;
}
