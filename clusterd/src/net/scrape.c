#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/metrics.h"
#include "base/node.h"
#include "base/reap.h"
#include "net/conn.h"
#include "net/http.h"
#include "net/listener.h"
#include "net/preauth.h"
#include "net/scrape.h"

#define TASK		"Metrics"
#define READ_SIZE	1024	/* per read: a head is small */
#define BUSY_LOG_EVERY	60.0

struct client {
	struct conn		*conn;
	struct preauth_entry	 pa;	/* counted until its request is read */
	ev_timer		 answer;	/* then, to take the answer */
	int			 answered;
	struct client		*prev, *next;
};

static struct {
	struct node	*node;
	struct listener	 listener;
	struct preauth	 pa;
	struct client	*clients;
	size_t		 nclients;
	unsigned long	 busy;		/* closed at accept since the last line */
	ev_tstamp	 busy_logged;
} S = { .listener.fd = -1 };

static void client_data(struct conn *);
static void client_close(struct conn *, const char *);

static const struct conn_ops client_ops = {
	NULL, client_data, NULL, client_close
};

static void
client_free(void *p)
{
	free(p);
}

/*
 * Answer status and close once it is out: the metrics for a 200 (the
 * body left out for HEAD), else a line saying what went wrong.
 */
static void
answer(struct client *cl, int status, int head_only)
{
	char	 head[256], line[64], *text = NULL;
	size_t	 len;
	int	 n;

	cl->answered = 1;
	preauth_done(&S.pa, &cl->pa);
	ev_timer_start(S.node->loop, &cl->answer);
	if (status == 200 && (text = metrics_scrape(&len)) == NULL) {
		log_warnx(TASK, "Out of memory rendering the metrics.");
		status = 503;
	}
	if (status != 200) {
		snprintf(line, sizeof(line), "%d %s\n", status,
		    http_reason(status));
		len = strlen(line);
	}
	n = http_answer_head(head, sizeof(head), status, status == 200 ?
	    SCRAPE_CONTENT_TYPE : "text/plain; charset=utf-8", len);
	if (n > 0 && conn_write(cl->conn, head, (size_t)n) == 0 &&
	    (head_only || conn_write(cl->conn, text != NULL ? text : line,
	    len) == 0))
		conn_close_after_flush(cl->conn);
	free(text);
}

/* Bytes arrived: answer once they make a whole head, or a refused one. */
static void
client_data(struct conn *c)
{
	struct client	*cl = c->arg;
	struct http_req	 req;

	if (cl->answered)
		return;
	switch (http_parse_request(buf_head(&c->in), buf_used(&c->in),
	    &req)) {
	case HTTP_MORE:
		return;
	case HTTP_DONE:
		answer(cl, http_route(&req, SCRAPE_PATH),
		    strcmp(req.method, "HEAD") == 0);
		return;
	case HTTP_BAD:
		log_debug(TASK, "Refused a request from %s: %d %s.", c->peer,
		    req.status, http_reason(req.status));
		answer(cl, req.status, 0);
		return;
	}
}

static void
client_close(struct conn *c, const char *reason)
{
	struct client	*cl = c->arg;

	log_debug(TASK, "Connection from %s closed: %s.", c->peer, reason);
	ev_timer_stop(S.node->loop, &cl->answer);
	preauth_done(&S.pa, &cl->pa);
	if (cl->prev != NULL)
		cl->prev->next = cl->next;
	else
		S.clients = cl->next;
	if (cl->next != NULL)
		cl->next->prev = cl->prev;
	S.nclients--;
	reap_later(client_free, cl);
}

static void
answer_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct client	*cl = t->data;

	(void)loop;
	(void)revents;
	conn_close(cl->conn, "answer not taken in time");
}

/* No whole request within preauth_timeout. */
static void
preauth_expire(struct preauth *pa, struct preauth_entry *e)
{
	struct client	*cl = e->owner;

	(void)pa;
	conn_close(cl->conn, "no request within preauth_timeout");
}

/* At SCRAPE_CONNS_MAX, close at once; say so at most once a minute. */
static void
refuse_busy(int fd, const char *addr)
{
	ev_tstamp	now = ev_now(S.node->loop);

	close(fd);
	S.busy++;
	if (S.busy_logged != 0 && now - S.busy_logged < BUSY_LOG_EVERY)
		return;
	log_warnx(TASK, "%d connections open: closed %lu more (the last from "
	    "%s) at once.", SCRAPE_CONNS_MAX, S.busy, addr);
	S.busy_logged = now;
	S.busy = 0;
}

/*
 * A new connection: counted as silent (preauth) until its head is whole;
 * reads go 1 KiB at a time and stop at HTTP_HEAD_MAX.
 */
static void
accept_cb(struct listener *l, int fd, const char *addr, void *arg)
{
	struct client	*cl;

	(void)arg;
	if (S.nclients >= SCRAPE_CONNS_MAX) {
		refuse_busy(fd, addr);
		return;
	}
	if ((cl = calloc(1, sizeof(*cl))) == NULL)
		goto fail;
	ev_timer_init(&cl->answer, answer_timeout, SCRAPE_ANSWER_TIMEOUT, 0);
	cl->answer.data = cl;
	if (preauth_add(&S.pa, &cl->pa, addr, cl) == -1)
		goto fail;
	if ((cl->conn = conn_new(l->loop, fd, NULL, 1, 0, &client_ops,
	    cl)) == NULL)
		goto fail;
	cl->conn->in_limit = HTTP_HEAD_MAX;
	cl->conn->read_chunk = READ_SIZE;
	cl->next = S.clients;
	if (S.clients != NULL)
		S.clients->prev = cl;
	S.clients = cl;
	S.nclients++;
	return;
fail:
	if (cl != NULL)
		preauth_done(&S.pa, &cl->pa);
	close(fd);
	free(cl);
}

/* Serve metrics_listen; -1 (logged) if its port is unusable. */
int
scrape_start(struct node *n)
{
	const struct config	*c = &n->cfg;
	int			 v6 = strchr(c->metrics_address, ':') != NULL;

	S.node = n;
	preauth_init(&S.pa, n->loop, c, TASK, "metrics connections",
	    "whole request", preauth_expire);
	if (listener_tcp(&S.listener, n->loop, c->metrics_address,
	    c->metrics_port, 64, TASK, "metrics requests", accept_cb,
	    NULL) == -1) {
		preauth_stop(&S.pa);
		return -1;
	}
	listener_set_preauth(&S.listener, &S.pa);
	log_info(TASK, "Serving metrics on http://%s%s%s:%u%s.", v6 ? "[" : "",
	    c->metrics_address, v6 ? "]" : "", c->metrics_port, SCRAPE_PATH);
	return 0;
}

void
scrape_stop(void)
{
	if (S.node == NULL)
		return;
	listener_close(&S.listener);
	while (S.clients != NULL)
		conn_close(S.clients->conn, "node shutting down");
	preauth_stop(&S.pa);
	S.node = NULL;
}
