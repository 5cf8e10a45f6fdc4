#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "base/log.h"
#include "base/metrics.h"
#include "base/reap.h"
#include "net/link.h"

struct link_req {
	uint32_t	 id;
	uint8_t		 type;
	ev_tstamp	 deadline;
	link_resp_cb	 cb;
	void		*arg;
	struct link_req	*next;
};

/* Every cluster link of the process since start, for the metrics. */
static struct {
	unsigned long long	 frames_sent, frames_received;
	unsigned long long	 bytes_sent, bytes_received;
} totals;

static const struct metrics_def M_FRAMES_SENT = {
	"clusterd_link_frames_sent_total", METRICS_COUNTER,
	"Frames queued on cluster links, every peer together."
};
static const struct metrics_def M_FRAMES_RECEIVED = {
	"clusterd_link_frames_received_total", METRICS_COUNTER,
	"Frames received whole on cluster links."
};
static const struct metrics_def M_BYTES_SENT = {
	"clusterd_link_sent_bytes_total", METRICS_COUNTER,
	"Bytes of frames (headers and payloads, before TLS) queued on cluster "
	"links."
};
static const struct metrics_def M_BYTES_RECEIVED = {
	"clusterd_link_received_bytes_total", METRICS_COUNTER,
	"Bytes of frames received whole on cluster links."
};

static void link_conn_open(struct conn *);
static void link_conn_data(struct conn *);
static void link_conn_drain(struct conn *);
static void link_conn_close(struct conn *, const char *);

static const struct conn_ops link_conn_ops = {
	link_conn_open, link_conn_data, link_conn_drain, link_conn_close
};

static void
link_free(void *p)
{
	free(p);
}

/* Arm the request timer for the earliest pending deadline. */
static void
req_timer_rearm(struct link *l)
{
	struct ev_loop	*loop = l->conn->loop;
	struct link_req	*r;
	ev_tstamp	 first = 0;

	for (r = l->pending; r != NULL; r = r->next)
		if (first == 0 || r->deadline < first)
			first = r->deadline;
	ev_timer_stop(loop, &l->req_timer);
	if (first != 0) {
		ev_timer_set(&l->req_timer, first - ev_now(loop) > 0 ?
		    first - ev_now(loop) : 0, 0);
		ev_timer_start(loop, &l->req_timer);
	}
}

static void
req_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct link	*l = w->data;
	struct link_req	**rp, *r;

	(void)revents;
	rp = &l->pending;
	while ((r = *rp) != NULL && !l->closed) {
		if (r->deadline <= ev_now(loop) + 0.001) {
			*rp = r->next;
			if (r->cb != NULL)
				r->cb(l, r->arg, LINK_TIMEOUT, NULL);
			free(r);
			rp = &l->pending;	/* the callback may have added */
		} else
			rp = &r->next;
	}
	if (!l->closed)
		req_timer_rearm(l);
}

static struct link *
link_alloc(const struct link_ops *ops, void *arg, double req_timeout)
{
	struct link	*l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->ops = ops;
	l->arg = arg;
	l->next_id = 1;
	l->req_timeout = req_timeout;
	ev_init(&l->req_timer, req_timer_cb);
	l->req_timer.data = l;
	return l;
}

struct link *
link_accept(struct ev_loop *loop, int fd, SSL_CTX *ctx,
    const struct link_ops *ops, void *arg, double req_timeout)
{
	struct link	*l;

	if ((l = link_alloc(ops, arg, req_timeout)) == NULL)
		return NULL;
	if ((l->conn = conn_new(loop, fd, ctx, 1, 0, &link_conn_ops, l)) ==
	    NULL) {
		free(l);
		return NULL;
	}
	l->conn->in_limit = FRAME_HDR_LEN + FRAME_MAX_PAYLOAD;
	return l;
}

struct link *
link_connect(struct ev_loop *loop, const char *host, unsigned port,
    SSL_CTX *ctx, const struct link_ops *ops, void *arg, double req_timeout,
    char *err, size_t errlen)
{
	struct link	*l;

	if ((l = link_alloc(ops, arg, req_timeout)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (conn_connect(loop, host, port, ctx, &link_conn_ops, l, &l->conn,
	    err, errlen) == -1) {
		free(l);
		return NULL;
	}
	l->conn->in_limit = FRAME_HDR_LEN + FRAME_MAX_PAYLOAD;
	return l;
}

/*
 * Until link_hello_done(), the peer is unknown: only a small uncompressed
 * HELLO is read from it (frame_before_hello()); any other frame closes
 * the link as soon as its header arrives, before its payload is buffered.
 */
void
link_expect_hello(struct link *l)
{
	l->before_hello = 1;
}

void
link_hello_done(struct link *l)
{
	l->before_hello = 0;
}

/* See conn_dead_after(): the link fails when its peer goes silent. */
void
link_dead_after(struct link *l, double seconds)
{
	conn_dead_after(l->conn->fd, seconds);
}

const char *
link_peer(const struct link *l)
{
	return l->conn->peer;
}

int
link_congested(const struct link *l)
{
	return l->closed || conn_congested(l->conn);
}

/* Bytes waiting in the link's output queue. */
size_t
link_queued(const struct link *l)
{
	return buf_used(&l->conn->out);
}

/* A collector (metrics.h) of the totals of every link. */
void
link_metrics(struct metrics *m, void *arg)
{
	(void)arg;
	metrics_put(m, &M_FRAMES_SENT, (double)totals.frames_sent, NULL);
	metrics_put(m, &M_FRAMES_RECEIVED, (double)totals.frames_received,
	    NULL);
	metrics_put(m, &M_BYTES_SENT, (double)totals.bytes_sent, NULL);
	metrics_put(m, &M_BYTES_RECEIVED, (double)totals.bytes_received, NULL);
}

/*
 * Queue at most about this much for the peer before link_congested() says
 * stop (CONN_OUT_HIGH unless set): a producer that streams to many peers
 * keeps its memory per peer small.  on_drain comes at half of it.
 */
void
link_set_out_high(struct link *l, size_t bytes)
{
	l->conn->out_high = bytes;
}

int
link_send_frame(struct link *l, uint8_t type, uint8_t flags, uint32_t id,
    const void *payload, size_t len)
{
	struct frame_hdr	h;
	uint8_t			hdr[FRAME_HDR_LEN];

	if (l->closed || len > FRAME_MAX_PAYLOAD)
		return -1;
	h.major = FRAME_PROTO_MAJOR;
	h.minor = FRAME_PROTO_MINOR;
	h.type = type;
	h.flags = flags;
	h.id = id;
	h.len = (uint32_t)len;
	frame_hdr_encode(&h, hdr);
	if (conn_write(l->conn, hdr, sizeof(hdr)) == -1 ||
	    conn_write(l->conn, payload, len) == -1)
		return -1;
	totals.frames_sent++;
	totals.bytes_sent += sizeof(hdr) + len;
	return 0;
}

/*
 * Send a JSON text; one over LINK_COMPRESS_MIN bytes goes compressed
 * (indexes and plans of large trees shrink several times).
 */
static int
send_text(struct link *l, uint8_t type, uint8_t flags, uint32_t id,
    const char *s, size_t len)
{
	uint8_t		*z = NULL;
	uLongf		 zlen;
	int		 rv = -1;

	if (len > FRAME_MAX_INFLATED)
		return -1;
	if (len < LINK_COMPRESS_MIN)
		return link_send_frame(l, type, flags, id, s, len);
	zlen = compressBound((uLong)len);
	if ((z = malloc(zlen)) != NULL &&
	    compress2(z, &zlen, (const Bytef *)s, (uLong)len, 1) == Z_OK)
		rv = link_send_frame(l, type, flags | FRAME_F_ZLIB, id, z,
		    zlen);
	free(z);
	return rv;
}

static int
send_json(struct link *l, uint8_t type, uint8_t flags, uint32_t id,
    const cJSON *body)
{
	char	*s;
	int	 rv;

	if (body == NULL)
		return link_send_frame(l, type, flags, id, "{}", 2);
	if ((s = cJSON_PrintUnformatted(body)) == NULL)
		return -1;
	rv = send_text(l, type, flags, id, s, strlen(s));
	cJSON_free(s);
	return rv;
}

/*
 * A notification or a response whose JSON the caller wrote itself (one
 * object, len bytes): for bodies too large to build as a cJSON tree first.
 */
int
link_notify_text(struct link *l, uint8_t type, const char *json, size_t len)
{
	return send_text(l, type, 0, 0, json, len);
}

int
link_respond_text(struct link *l, const struct frame_hdr *req,
    const char *json, size_t len)
{
	if (req->id == 0)	/* notifications are not answered */
		return 0;
	return send_text(l, req->type, FRAME_F_RESPONSE, req->id, json, len);
}

/* A notification: a request that gets no response (id 0). */
int
link_notify(struct link *l, uint8_t type, const cJSON *body)
{
	return send_json(l, type, 0, 0, body);
}

/*
 * Send a request; cb (if not NULL) runs exactly once, with the response, a
 * timeout, or LINK_CLOSED.  timeout <= 0 means the link's default.
 */
int
link_request(struct link *l, uint8_t type, const cJSON *body, double timeout,
    link_resp_cb cb, void *arg)
{
	struct link_req	*r;

	if (l->closed || (r = calloc(1, sizeof(*r))) == NULL)
		return -1;
	r->id = l->next_id++;
	if (l->next_id == 0)	/* id 0 means a notification */
		l->next_id = 1;
	r->type = type;
	r->cb = cb;
	r->arg = arg;
	r->deadline = ev_now(l->conn->loop) +
	    (timeout > 0 ? timeout : l->req_timeout);
	if (send_json(l, type, 0, r->id, body) == -1) {
		free(r);
		return -1;
	}
	r->next = l->pending;
	l->pending = r;
	req_timer_rearm(l);
	return 0;
}

int
link_respond(struct link *l, const struct frame_hdr *req, int error,
    const cJSON *body)
{
	if (req->id == 0)	/* notifications are not answered */
		return 0;
	return send_json(l, req->type, FRAME_F_RESPONSE |
	    (error ? FRAME_F_ERROR : 0), req->id, body);
}

int
link_respond_error(struct link *l, const struct frame_hdr *req,
    const char *reason)
{
	cJSON	*j;
	int	 rv;

	if ((j = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(j, "error", reason) == NULL) {
		cJSON_Delete(j);
		return -1;
	}
	rv = link_respond(l, req, 1, j);
	cJSON_Delete(j);
	return rv;
}

/* Match a response to its request and complete it. */
static void
handle_response(struct link *l, const struct frame_hdr *h, const cJSON *body)
{
	struct link_req	**rp, *r;

	for (rp = &l->pending; (r = *rp) != NULL; rp = &r->next)
		if (r->id == h->id)
			break;
	if (r == NULL || r->type != h->type) {
		log_debug("Main", "%s: response %u matches no request",
		    link_peer(l), h->id);
		return;
	}
	*rp = r->next;
	if (r->cb != NULL)
		r->cb(l, r->arg, (h->flags & FRAME_F_ERROR) ? LINK_REFUSED :
		    LINK_OK, body);
	free(r);
	if (!l->closed)
		req_timer_rearm(l);
}

/*
 * Split the input into frames.  A bad header or a JSON payload that does
 * not parse is a protocol violation: the peer is dropped.
 */
static void
link_conn_data(struct conn *c)
{
	struct link		*l = c->arg;
	struct frame_hdr	 h;
	enum frame_status	 st;
	const uint8_t		*payload;
	cJSON			*body;
	const char		*why;
	char			 reason[96];

	while (!l->closed && buf_used(&c->in) > 0) {
		st = frame_hdr_decode(buf_head(&c->in), buf_used(&c->in), &h);
		if (st == FRAME_INCOMPLETE)
			return;
		if (st != FRAME_OK) {
			snprintf(reason, sizeof(reason), "protocol error: %s",
			    frame_status_str(st));
			conn_close(c, reason);
			return;
		}
		if (l->before_hello && !frame_before_hello(&h)) {
			snprintf(reason, sizeof(reason), "protocol error: %s "
			    "frame of %u bytes before the hello",
			    frame_type_name(h.type), h.len);
			conn_close(c, reason);
			return;
		}
		if (buf_used(&c->in) < FRAME_HDR_LEN + (size_t)h.len)
			return;
		payload = buf_head(&c->in) + FRAME_HDR_LEN;
		totals.frames_received++;
		totals.bytes_received += FRAME_HDR_LEN + (size_t)h.len;
		body = NULL;
		if (!(h.flags & FRAME_F_BINARY) &&
		    (body = frame_body(&h, payload, &why)) == NULL) {
			snprintf(reason, sizeof(reason), "protocol error: "
			    "%s payload %s", frame_type_name(h.type), why);
			conn_close(c, reason);
			return;
		}
		if (h.flags & FRAME_F_RESPONSE)
			handle_response(l, &h, body);
		else
			l->ops->on_request(l, &h, body, payload);
		cJSON_Delete(body);
		if (c->state != CONN_CLOSED)
			buf_consume(&c->in, FRAME_HDR_LEN + (size_t)h.len);
	}
}

static void
link_conn_open(struct conn *c)
{
	struct link	*l = c->arg;

	if (l->ops->on_open != NULL)
		l->ops->on_open(l);
}

static void
link_conn_drain(struct conn *c)
{
	struct link	*l = c->arg;

	if (l->ops->on_drain != NULL)
		l->ops->on_drain(l);
}

/* The conn is gone: fail every pending request, then tell the owner. */
static void
link_conn_close(struct conn *c, const char *reason)
{
	struct link	*l = c->arg;
	struct link_req	*r;

	l->closed = 1;
	ev_timer_stop(c->loop, &l->req_timer);
	while ((r = l->pending) != NULL) {
		l->pending = r->next;
		if (r->cb != NULL)
			r->cb(l, r->arg, LINK_CLOSED, NULL);
		free(r);
	}
	if (l->ops->on_close != NULL)
		l->ops->on_close(l, reason);
	reap_later(link_free, l);
}

void
link_close(struct link *l, const char *reason)
{
	if (!l->closed)
		conn_close(l->conn, reason);
}

void
link_close_after_flush(struct link *l)
{
	if (!l->closed)
		conn_close_after_flush(l->conn);
}
