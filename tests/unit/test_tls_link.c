/*
 * test_tls_link: a real cluster link over loopback TCP, TLS-PSK on both
 * ends, driven by a private libev loop.  The server side is accepted by hand
 * and handed to link_accept(); the client uses link_connect().  A guard
 * timer fails any test that would otherwise hang.
 */
#include <sys/socket.h>
#include <sys/types.h>
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

#include "base/clusterkey.h"
#include "base/reap.h"
#include "net/conn.h"
#include "net/frame.h"
#include "net/link.h"
#include "net/tls.h"

#define KEY		"85482860b191589c071454938c1bd2e1"
#define OTHER_KEY	"85482860b191589c071454938c1bd2eX"
#define THIRD_KEY	"85482860b191589c071454938c1bd2eY"
#define GUARD_SECONDS	5.0
#define LINK_TIMEOUT_S	3.0	/* default request timeout of both links */

struct bad_frame;

/* What the server does with a request. */
enum srv_mode {
	SRV_ECHO,		/* answer {"from":"server","echo":n} */
	SRV_IGNORE,		/* never answer */
	SRV_CLOSE,		/* close the link */
	SRV_REFUSE,		/* error answer */
	SRV_REFUSE_CLOSE,	/* error answer, then close once it is out */
	SRV_HOLD		/* answer three requests in reverse order */
};

struct side {
	struct link		*link;	/* NULL once closed */
	int			 opened;
	int			 closed;
	char			 reason[160];
	int			 requests;
	struct frame_hdr	 hdr;	/* of the last request */
	char			*body;	/* its JSON, printed; NULL if binary */
	uint8_t			 payload[64];
};

/* One request's outcome, as seen by its callback. */
struct req {
	int			 calls;
	enum link_result	 result;
	char			*body;	/* the response JSON, printed */
	ev_tstamp		 done_at;
	int			 client_closed;	/* on_close already seen */
};

struct fx {
	struct ev_loop		*loop;
	SSL_CTX			*sctx;
	SSL_CTX			*cctx;
	int			 lfd;
	unsigned		 port;
	ev_io			 accept_w;
	ev_timer		 guard;
	int			 guard_fired;
	ev_timer		 pause;
	int			 pause_done;
	const struct bad_frame	*bad;	/* test_bad_frame's case */
	enum srv_mode		 mode;
	int			 expect_hello;	/* srv reads a hello first */
	int			 srv_drains;	/* srv's on_drain calls */
	int			 cli_takes_data;	/* cli counts unsolicited */
	int			 cli_frames;
	struct side		 srv;
	struct side		 cli;
	struct frame_hdr	 held[3];
	int			 held_n[3];
	int			 nheld;
};

static struct fx *
fx_of(struct link *l)
{
	return l->arg;
}

/* Run the loop until cond holds or the guard fires. */
#define RUN_UNTIL(fx, cond) do {					\
	while (!(cond) && !(fx)->guard_fired)				\
		ev_run((fx)->loop, EVRUN_ONCE);			\
	if ((fx)->guard_fired)						\
		fail_msg("timed out waiting for: %s", #cond);		\
} while (0)

static char *
print_json(const cJSON *j)
{
	char	*s, *copy;

	if (j == NULL)
		return NULL;
	s = cJSON_PrintUnformatted(j);
	assert_non_null(s);
	copy = strdup(s);
	assert_non_null(copy);
	cJSON_free(s);
	return copy;
}

/* A number member of a printed JSON object, -1 when absent. */
static int
json_int(const char *text, const char *key)
{
	cJSON		*j;
	const cJSON	*v;
	int		 n = -1;

	if (text == NULL || (j = cJSON_Parse(text)) == NULL)
		return -1;
	v = cJSON_GetObjectItemCaseSensitive(j, key);
	if (cJSON_IsNumber(v))
		n = v->valueint;
	cJSON_Delete(j);
	return n;
}

static int
json_has_string(const char *text, const char *key, const char *want)
{
	cJSON		*j;
	const cJSON	*v;
	int		 ok;

	if (text == NULL || (j = cJSON_Parse(text)) == NULL)
		return 0;
	v = cJSON_GetObjectItemCaseSensitive(j, key);
	ok = cJSON_IsString(v) && strcmp(v->valuestring, want) == 0;
	cJSON_Delete(j);
	return ok;
}

static void
side_open(struct side *s)
{
	s->opened++;
}

static void
side_close(struct side *s, const char *reason)
{
	s->closed++;
	snprintf(s->reason, sizeof(s->reason), "%s", reason);
	s->link = NULL;		/* freed at the next safe point */
}

static void
srv_open(struct link *l)
{
	side_open(&fx_of(l)->srv);
}

static void
cli_open(struct link *l)
{
	side_open(&fx_of(l)->cli);
}

static void
srv_close(struct link *l, const char *reason)
{
	side_close(&fx_of(l)->srv, reason);
}

static void
cli_close(struct link *l, const char *reason)
{
	side_close(&fx_of(l)->cli, reason);
}

static void
echo(struct link *l, const struct frame_hdr *h, int n, const char *blob)
{
	cJSON	*r;

	r = cJSON_CreateObject();
	assert_non_null(r);
	cJSON_AddStringToObject(r, "from", "server");
	cJSON_AddNumberToObject(r, "echo", n);
	if (blob != NULL)
		cJSON_AddStringToObject(r, "blob", blob);
	assert_int_equal(link_respond(l, h, 0, r), 0);
	cJSON_Delete(r);
}

static void
srv_request(struct link *l, const struct frame_hdr *h, const cJSON *body,
    const uint8_t *payload)
{
	struct fx	*fx = fx_of(l);
	struct side	*s = &fx->srv;
	const cJSON	*n, *blob;
	int		 i;

	s->requests++;
	s->hdr = *h;
	if (fx->expect_hello && h->type == FRAME_HELLO)
		link_hello_done(l);
	free(s->body);
	s->body = print_json(body);
	if (body == NULL && h->len <= sizeof(s->payload))
		memcpy(s->payload, payload, h->len);
	n = cJSON_GetObjectItemCaseSensitive(body, "n");
	blob = cJSON_GetObjectItemCaseSensitive(body, "blob");
	switch (fx->mode) {
	case SRV_ECHO:
		echo(l, h, cJSON_IsNumber(n) ? n->valueint : -1,
		    cJSON_IsString(blob) ? blob->valuestring : NULL);
		break;
	case SRV_IGNORE:
		break;
	case SRV_CLOSE:
		link_close(l, "server closes");
		break;
	case SRV_REFUSE:
		assert_int_equal(link_respond_error(l, h, "no such command"),
		    0);
		break;
	case SRV_REFUSE_CLOSE:
		assert_int_equal(link_respond_error(l, h, "go away"), 0);
		link_close_after_flush(l);
		break;
	case SRV_HOLD:
		assert_true(fx->nheld < 3);
		fx->held[fx->nheld] = *h;
		fx->held_n[fx->nheld] = cJSON_IsNumber(n) ? n->valueint : -1;
		if (++fx->nheld == 3)
			for (i = 2; i >= 0; i--)
				echo(l, &fx->held[i], fx->held_n[i], NULL);
		break;
	}
}

/* The client only sends requests, unless a test lets it take data. */
static void
cli_request(struct link *l, const struct frame_hdr *h, const cJSON *body,
    const uint8_t *payload)
{
	(void)h;
	(void)body;
	(void)payload;
	if (!fx_of(l)->cli_takes_data)
		fail_msg("the client got an unsolicited frame");
	fx_of(l)->cli_frames++;
}

static void
srv_drain(struct link *l)
{
	fx_of(l)->srv_drains++;
}

static const struct link_ops srv_ops = {
	srv_open, srv_request, srv_drain, srv_close
};
static const struct link_ops cli_ops = {
	cli_open, cli_request, NULL, cli_close
};

static void
resp_cb(struct link *l, void *arg, enum link_result res, const cJSON *body)
{
	struct req	*r = arg;

	r->calls++;
	r->result = res;
	free(r->body);
	r->body = print_json(body);
	r->done_at = ev_now(fx_of(l)->loop);
	r->client_closed = fx_of(l)->cli.closed;
}

/* One connection is all a test needs: accept it and stop listening. */
static void
accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct fx	*fx = w->data;
	int		 fd;

	(void)revents;
	fd = accept4(fx->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1) {
		assert_true(errno == EAGAIN || errno == EINTR);
		return;
	}
	ev_io_stop(loop, w);
	fx->srv.link = link_accept(loop, fd, fx->sctx, &srv_ops, fx,
	    LINK_TIMEOUT_S);
	assert_non_null(fx->srv.link);
	if (fx->expect_hello)
		link_expect_hello(fx->srv.link);
}

static void
guard_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fx	*fx = w->data;

	(void)revents;
	fx->guard_fired = 1;
	ev_break(loop, EVBREAK_ALL);
}

static void
pause_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct fx	*fx = w->data;

	(void)loop;
	(void)revents;
	fx->pause_done = 1;
}

/* Let the loop run for a while: to see that nothing more happens. */
static void
run_for(struct fx *fx, double seconds)
{
	fx->pause_done = 0;
	ev_timer_init(&fx->pause, pause_cb, seconds, 0);
	fx->pause.data = fx;
	ev_timer_start(fx->loop, &fx->pause);
	RUN_UNTIL(fx, fx->pause_done);
}

static int
setup(void **state)
{
	struct fx		*fx;
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);

	fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	fx->bad = *state;	/* a prestate, or NULL */
	fx->loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(fx->loop);
	reap_init(fx->loop);
	fx->sctx = tls_ctx_new(1, KEY, NULL, NULL);
	assert_non_null(fx->sctx);

	fx->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	assert_true(fx->lfd != -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = 0;
	assert_int_equal(bind(fx->lfd, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	assert_int_equal(listen(fx->lfd, 4), 0);
	assert_int_equal(getsockname(fx->lfd, (struct sockaddr *)&sin, &sl),
	    0);
	fx->port = ntohs(sin.sin_port);

	ev_io_init(&fx->accept_w, accept_cb, fx->lfd, EV_READ);
	fx->accept_w.data = fx;
	ev_io_start(fx->loop, &fx->accept_w);
	ev_timer_init(&fx->guard, guard_cb, GUARD_SECONDS, 0);
	fx->guard.data = fx;
	ev_timer_start(fx->loop, &fx->guard);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*fx = *state;

	if (fx->cli.link != NULL)
		link_close(fx->cli.link, "teardown");
	if (fx->srv.link != NULL)
		link_close(fx->srv.link, "teardown");
	reap_now();
	ev_io_stop(fx->loop, &fx->accept_w);
	ev_timer_stop(fx->loop, &fx->guard);
	ev_timer_stop(fx->loop, &fx->pause);
	close(fx->lfd);
	tls_ctx_free(fx->sctx);
	tls_ctx_free(fx->cctx);
	ev_loop_destroy(fx->loop);
	free(fx->srv.body);
	free(fx->cli.body);
	free(fx);
	return 0;
}

/* Connect the client with the given key and node name (NULL: none). */
static void
start_as(struct fx *fx, const char *key, const char *node)
{
	char	err[256];

	fx->cctx = tls_ctx_new(0, key, NULL, node);
	assert_non_null(fx->cctx);
	fx->cli.link = link_connect(fx->loop, "127.0.0.1", fx->port, fx->cctx,
	    &cli_ops, fx, LINK_TIMEOUT_S, err, sizeof(err));
	if (fx->cli.link == NULL)
		fail_msg("link_connect: %s", err);
}

/* The server always has KEY. */
static void
start(struct fx *fx, const char *key)
{
	start_as(fx, key, "w1");
}

static void
start_open(struct fx *fx)
{
	start(fx, KEY);
	RUN_UNTIL(fx, fx->cli.opened && fx->srv.opened);
	assert_int_equal(fx->cli.opened, 1);
	assert_int_equal(fx->srv.opened, 1);
	assert_int_equal(fx->cli.closed, 0);
	assert_int_equal(fx->srv.closed, 0);
}

static void
send_n(struct fx *fx, int n, double timeout, struct req *r)
{
	cJSON	*b;

	b = cJSON_CreateObject();
	assert_non_null(b);
	cJSON_AddStringToObject(b, "cmd", "ping");
	cJSON_AddNumberToObject(b, "n", n);
	assert_int_equal(link_request(fx->cli.link, FRAME_CONTROL, b, timeout,
	    resp_cb, r), 0);
	cJSON_Delete(b);
}

/* Same key: both ends open, a request gets its answer, once. */
static void
test_request_response(void **state)
{
	struct fx	*fx = *state;
	struct req	 r = { 0 };

	fx->mode = SRV_ECHO;
	start_open(fx);
	send_n(fx, 42, 0.5, &r);
	RUN_UNTIL(fx, r.calls > 0);
	assert_int_equal(r.result, LINK_OK);
	assert_int_equal(json_int(r.body, "echo"), 42);
	assert_true(json_has_string(r.body, "from", "server"));
	/* What the server saw is what was sent. */
	assert_int_equal(fx->srv.requests, 1);
	assert_int_equal(fx->srv.hdr.type, FRAME_CONTROL);
	assert_int_equal(fx->srv.hdr.flags, 0);
	assert_true(json_has_string(fx->srv.body, "cmd", "ping"));
	assert_int_equal(json_int(fx->srv.body, "n"), 42);
	/* Past the request's deadline: no second call (timeout) for it. */
	run_for(fx, 0.8);
	assert_int_equal(r.calls, 1);
	assert_int_equal(fx->cli.closed, 0);
	assert_int_equal(fx->srv.closed, 0);
	free(r.body);
}

/*
 * A body far larger than one TLS record and than one read, both ways,
 * byte for byte (large JSON bodies may also travel compressed).
 */
static void
test_large_body(void **state)
{
	struct fx	*fx = *state;
	struct req	 r = { 0 };
	cJSON		*b, *back;
	const cJSON	*v;
	char		*blob;
	size_t		 i, n = 300 * 1024;

	fx->mode = SRV_ECHO;
	start_open(fx);
	blob = malloc(n + 1);
	assert_non_null(blob);
	for (i = 0; i < n; i++)
		blob[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[(i * 7 + i /
		    1000) % 36];
	blob[n] = '\0';
	b = cJSON_CreateObject();
	assert_non_null(b);
	cJSON_AddNumberToObject(b, "n", 5);
	cJSON_AddStringToObject(b, "blob", blob);
	assert_int_equal(link_request(fx->cli.link, FRAME_CONTROL, b, 0,
	    resp_cb, &r), 0);
	cJSON_Delete(b);
	RUN_UNTIL(fx, r.calls > 0);
	assert_int_equal(r.result, LINK_OK);
#ifdef FRAME_F_ZLIB
	/* Over LINK_COMPRESS_MIN: sent compressed, inflated on arrival. */
	assert_true(fx->srv.hdr.flags & FRAME_F_ZLIB);
	assert_true(fx->srv.hdr.len < n);
#endif
	back = cJSON_Parse(r.body);
	assert_non_null(back);
	v = cJSON_GetObjectItemCaseSensitive(back, "blob");
	assert_true(cJSON_IsString(v));
	assert_int_equal(strlen(v->valuestring), n);
	assert_memory_equal(v->valuestring, blob, n);
	assert_int_equal(json_int(r.body, "echo"), 5);
	cJSON_Delete(back);
	free(blob);
	free(r.body);
}

/* Three requests in flight, answered in reverse: matched by id. */
static void
test_responses_matched_by_id(void **state)
{
	struct fx	*fx = *state;
	struct req	 r[3];
	int		 i;

	memset(r, 0, sizeof(r));
	fx->mode = SRV_HOLD;
	start_open(fx);
	for (i = 0; i < 3; i++)
		send_n(fx, 100 + i, 0, &r[i]);
	RUN_UNTIL(fx, r[0].calls && r[1].calls && r[2].calls);
	for (i = 0; i < 3; i++) {
		assert_int_equal(r[i].calls, 1);
		assert_int_equal(r[i].result, LINK_OK);
		assert_int_equal(json_int(r[i].body, "echo"), 100 + i);
		free(r[i].body);
	}
	/* Distinct ids on the wire. */
	assert_int_not_equal(fx->held[0].id, fx->held[1].id);
	assert_int_not_equal(fx->held[1].id, fx->held[2].id);
	assert_int_not_equal(fx->held[0].id, fx->held[2].id);
}

static void
test_refused(void **state)
{
	struct fx	*fx = *state;
	struct req	 r = { 0 };

	fx->mode = SRV_REFUSE;
	start_open(fx);
	send_n(fx, 1, 0, &r);
	RUN_UNTIL(fx, r.calls > 0);
	assert_int_equal(r.result, LINK_REFUSED);
	assert_true(json_has_string(r.body, "error", "no such command"));
	run_for(fx, 0.1);
	assert_int_equal(r.calls, 1);
	assert_int_equal(fx->cli.closed, 0);
	free(r.body);
}

/* A binary frame arrives with its bytes intact and no JSON body. */
static void
test_binary_frame(void **state)
{
	static const uint8_t	 bytes[] = { 0, 0xff, '{', 0, 'x', 0x80 };
	struct fx		*fx = *state;

	fx->mode = SRV_IGNORE;
	start_open(fx);
	assert_int_equal(link_send_frame(fx->cli.link, FRAME_CONTROL,
	    FRAME_F_BINARY, 77, bytes, sizeof(bytes)), 0);
	RUN_UNTIL(fx, fx->srv.requests > 0);
	assert_int_equal(fx->srv.requests, 1);
	assert_null(fx->srv.body);
	assert_int_equal(fx->srv.hdr.id, 77);
	assert_int_equal(fx->srv.hdr.flags, FRAME_F_BINARY);
	assert_int_equal(fx->srv.hdr.len, sizeof(bytes));
	assert_memory_equal(fx->srv.payload, bytes, sizeof(bytes));
	assert_int_equal(fx->srv.closed, 0);
}

/*
 * A producer's own mark (link_set_out_high): the link says congested once
 * more than the mark is queued, far below CONN_OUT_HIGH, and on_drain
 * comes when the peer has taken it; the peer's requests are answered
 * meanwhile.
 */
static void
test_out_high(void **state)
{
	static uint8_t	 chunk[16 * 1024];
	struct fx	*fx = *state;
	struct req	 r = { 0 };
	int		 n = 0;

	fx->mode = SRV_ECHO;
	fx->cli_takes_data = 1;
	start_open(fx);
	/* The default mark is far away. */
	assert_int_equal(link_send_frame(fx->srv.link, FRAME_SYNC_DATA,
	    FRAME_F_BINARY, 1, chunk, sizeof(chunk)), 0);
	assert_false(link_congested(fx->srv.link));
	n++;
	link_set_out_high(fx->srv.link, 64 * 1024);
	while (!link_congested(fx->srv.link)) {
		assert_int_equal(link_send_frame(fx->srv.link,
		    FRAME_SYNC_DATA, FRAME_F_BINARY, 1, chunk, sizeof(chunk)),
		    0);
		n++;
	}
	/* Congested just past the mark, not before. */
	assert_int_equal(n, 4);
	send_n(fx, 9, 0, &r);
	RUN_UNTIL(fx, r.calls > 0 && fx->srv_drains > 0 &&
	    fx->cli_frames == n);
	assert_int_equal(r.result, LINK_OK);
	assert_int_equal(json_int(r.body, "echo"), 9);
	assert_int_equal(fx->srv_drains, 1);
	assert_false(link_congested(fx->srv.link));
	assert_int_equal(fx->srv.closed, 0);
	free(r.body);
}

/*
 * Frames arriving faster than they are consumed are handed over in
 * batches as they come: the receiver's input buffer stays near one batch,
 * not the link's input limit (8 MiB).
 */
static void
test_read_batches(void **state)
{
	static uint8_t	 chunk[64 * 1024];
	struct fx	*fx = *state;
	int		 i, n = 64;

	fx->mode = SRV_IGNORE;
	fx->cli_takes_data = 1;
	start_open(fx);
	for (i = 0; i < n; i++)
		assert_int_equal(link_send_frame(fx->srv.link,
		    FRAME_SYNC_DATA, FRAME_F_BINARY, 1, chunk, sizeof(chunk)),
		    0);
	RUN_UNTIL(fx, fx->cli_frames == n);
	assert_true(fx->cli.link->conn->in.cap <= 512 * 1024);
	assert_int_equal(fx->cli.closed, 0);
}

/* An unanswered request fails after its own timeout; the link stays. */
static void
test_timeout(void **state)
{
	struct fx	*fx = *state;
	struct req	 r = { 0 };
	ev_tstamp	 sent;

	fx->mode = SRV_IGNORE;
	start_open(fx);
	ev_now_update(fx->loop);
	sent = ev_now(fx->loop);
	send_n(fx, 7, 0.2, &r);
	RUN_UNTIL(fx, r.calls > 0);
	assert_int_equal(r.result, LINK_TIMEOUT);
	assert_null(r.body);
	assert_true(r.done_at - sent >= 0.199);
	assert_true(r.done_at - sent < 2.0);	/* not the 3 s link default */
	assert_int_equal(fx->srv.requests, 1);	/* it did arrive */
	run_for(fx, 0.3);
	assert_int_equal(r.calls, 1);
	assert_int_equal(fx->cli.closed, 0);
	assert_int_equal(fx->srv.closed, 0);
}

/* The server drops the link: the pending request fails as closed. */
static void
test_server_close(void **state)
{
	struct fx	*fx = *state;
	struct req	 r = { 0 };

	fx->mode = SRV_CLOSE;
	start_open(fx);
	send_n(fx, 1, 0, &r);
	RUN_UNTIL(fx, r.calls > 0 && fx->cli.closed);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.result, LINK_CLOSED);
	assert_null(r.body);
	assert_int_equal(fx->srv.closed, 1);
	assert_string_equal(fx->srv.reason, "server closes");
	assert_int_equal(fx->cli.closed, 1);
	assert_true(fx->cli.reason[0] != '\0');
	run_for(fx, 0.1);
	assert_int_equal(r.calls, 1);
	assert_int_equal(fx->cli.closed, 1);
}

/*
 * Answer, then close once the answer is out: how the master refuses a
 * hello.  The worker must get the answer, not just a closed link.
 */
static void
test_refuse_then_close(void **state)
{
	struct fx	*fx = *state;
	struct req	 r = { 0 };
	int		 got_reason;

	fx->mode = SRV_REFUSE_CLOSE;
	start_open(fx);
	send_n(fx, 1, 0, &r);
	RUN_UNTIL(fx, r.calls > 0 && fx->cli.closed && fx->srv.closed);
	assert_int_equal(r.calls, 1);
	assert_string_equal(fx->srv.reason, "closed after reply");
	got_reason = json_has_string(r.body, "error", "go away");
	free(r.body);
	assert_int_equal(r.result, LINK_REFUSED);
	assert_true(got_reason);
	/* The answer came first, then the close. */
	assert_int_equal(r.client_closed, 0);
}

/* Different keys: the handshake fails on both ends, nothing opens. */
static void
test_wrong_key(void **state)
{
	struct fx	*fx = *state;

	start(fx, OTHER_KEY);
	RUN_UNTIL(fx, fx->srv.closed && fx->cli.closed);
	assert_int_equal(fx->srv.opened, 0);
	assert_int_equal(fx->cli.opened, 0);
	assert_int_equal(fx->srv.closed, 1);
	assert_int_equal(fx->cli.closed, 1);
	if (strncmp(fx->srv.reason, "TLS handshake", 13) != 0)
		fail_msg("server reason: %s", fx->srv.reason);
	if (strncmp(fx->cli.reason, "TLS handshake", 13) != 0)
		fail_msg("client reason: %s", fx->cli.reason);
	run_for(fx, 0.1);
	assert_int_equal(fx->srv.opened + fx->cli.opened, 0);
	assert_int_equal(fx->srv.closed + fx->cli.closed, 2);
}

/* A server given a next key (rotation) admits clients on either key. */
static void
test_key_next(void **state)
{
	struct fx	*fx = *state;

	tls_ctx_free(fx->sctx);
	fx->sctx = tls_ctx_new(1, KEY, OTHER_KEY, NULL);
	assert_non_null(fx->sctx);
	start(fx, OTHER_KEY);
	RUN_UNTIL(fx, fx->cli.opened && fx->srv.opened);
	assert_int_equal(fx->cli.opened + fx->srv.opened, 2);
	link_close(fx->cli.link, "next");
	tls_ctx_free(fx->cctx);
	fx->cctx = NULL;
	RUN_UNTIL(fx, fx->srv.closed);
	fx->cli.opened = fx->srv.opened = 0;
	fx->cli.closed = fx->srv.closed = 0;
	ev_io_start(fx->loop, &fx->accept_w);	/* a second connection */
	start(fx, KEY);
	RUN_UNTIL(fx, fx->cli.opened && fx->srv.opened);
	assert_int_equal(fx->cli.opened + fx->srv.opened, 2);
}

/* A key that is neither the key nor the next one is refused. */
static void
test_key_next_third(void **state)
{
	struct fx	*fx = *state;

	tls_ctx_free(fx->sctx);
	fx->sctx = tls_ctx_new(1, OTHER_KEY, THIRD_KEY, NULL);
	assert_non_null(fx->sctx);
	start(fx, KEY);
	RUN_UNTIL(fx, fx->srv.closed && fx->cli.closed);
	assert_int_equal(fx->srv.opened + fx->cli.opened, 0);
	if (strncmp(fx->srv.reason, "TLS handshake", 13) != 0)
		fail_msg("server reason: %s", fx->srv.reason);
}

/* Both ends fail the handshake and nothing opens. */
static void
assert_refused(struct fx *fx)
{
	RUN_UNTIL(fx, fx->srv.closed && fx->cli.closed);
	assert_int_equal(fx->srv.opened + fx->cli.opened, 0);
	if (strncmp(fx->srv.reason, "TLS handshake", 13) != 0)
		fail_msg("server reason: %s", fx->srv.reason);
}

/* The master's nodes_file, as the server's callback sees it: w1, w2. */
static int
listed_node(const char *node, char *cred, void *arg)
{
	(void)arg;
	if (strcmp(node, "w1") != 0 && strcmp(node, "w2") != 0)
		return -1;
	return clusterkey_node_credential(KEY, node, 1, cred);
}

static void
start_node(struct fx *fx, const char *cred_of, const char *as)
{
	char	cred[CLUSTERKEY_LEN + 1];

	tls_ctx_set_node_keys(fx->sctx, listed_node, NULL);
	assert_int_equal(clusterkey_node_credential(KEY, cred_of, 1, cred), 0);
	start_as(fx, cred, as);
}

/* A listed node with its own credential joins; its name is kept. */
static void
test_node_credential(void **state)
{
	struct fx	*fx = *state;

	start_node(fx, "w1", "w1");
	RUN_UNTIL(fx, fx->cli.opened && fx->srv.opened);
	assert_int_equal(fx->srv.opened, 1);
	assert_non_null(fx->srv.link);
	assert_string_equal(tls_peer_node(fx->srv.link->conn->ssl), "w1");
}

/* w1's credential does not open a link under the name w2. */
static void
test_node_other_name(void **state)
{
	start_node(*state, "w1", "w2");
	assert_refused(*state);
}

/* A name the list does not hold is refused, whatever its credential. */
static void
test_node_unlisted(void **state)
{
	start_node(*state, "w3", "w3");
	assert_refused(*state);
}

/* With a list, the cluster key itself, under any name, opens nothing. */
static void
test_node_cluster_key_refused(void **state)
{
	struct fx	*fx = *state;

	tls_ctx_set_node_keys(fx->sctx, listed_node, NULL);
	start_as(fx, KEY, "w1");
	assert_refused(fx);
}

/* Nor does the shared identity of older nodes. */
static void
test_node_shared_identity_refused(void **state)
{
	struct fx	*fx = *state;

	tls_ctx_set_node_keys(fx->sctx, listed_node, NULL);
	start_as(fx, KEY, NULL);
	assert_refused(fx);
}

/* Without a list, the shared identity still works (older workers). */
static void
test_shared_identity(void **state)
{
	struct fx	*fx = *state;

	start_as(fx, KEY, NULL);
	RUN_UNTIL(fx, fx->cli.opened && fx->srv.opened);
	assert_int_equal(fx->srv.opened, 1);
	assert_null(tls_peer_node(fx->srv.link->conn->ssl));
}

/*
 * A frame the server must refuse, written raw into the client's TLS
 * stream, and the reason the server must close with.
 */
struct bad_frame {
	const char	*name;
	uint8_t		 major, type, flags;
	uint32_t	 len;
	const char	*magic;
	const char	*payload;
	const char	*reason;
};

static const struct bad_frame bad_frames[] = {
	{ "bad_frame_magic", 1, FRAME_CONTROL, 0, 2, "XLD1", "{}",
	    "protocol error: bad magic" },
	{ "bad_frame_major", 2, FRAME_CONTROL, 0, 2, "CLD1", "{}",
	    "protocol error: unsupported protocol version" },
	{ "bad_frame_type_0", 1, 0, 0, 2, "CLD1", "{}",
	    "protocol error: unknown message type" },
	{ "bad_frame_type_max", 1, FRAME_TYPE_MAX + 1, 0, 2, "CLD1", "{}",
	    "protocol error: unknown message type" },
	{ "bad_frame_error_flag", 1, FRAME_CONTROL, FRAME_F_ERROR, 2, "CLD1",
	    "{}", "protocol error: invalid flags" },
	{ "bad_frame_unknown_flag", 1, FRAME_CONTROL, 0x40, 2, "CLD1", "{}",
	    "protocol error: invalid flags" },
	{ "bad_frame_too_big", 1, FRAME_CONTROL, 0, FRAME_MAX_PAYLOAD + 1,
	    "CLD1", "", "protocol error: frame larger than the maximum" },
	{ "bad_frame_array", 1, FRAME_HELLO, 0, 3, "CLD1", "[1]",
	    "protocol error: hello payload is not a JSON object" },
	{ "bad_frame_not_json", 1, FRAME_KEEPALIVE, 0, 4, "CLD1", "{x:1",
	    "protocol error: keepalive payload is not a JSON object" },
	{ "bad_frame_empty_json", 1, FRAME_CONTROL, 0, 0, "CLD1", "",
	    "protocol error: control payload is not a JSON object" },
};
#define NBAD	(sizeof(bad_frames) / sizeof(bad_frames[0]))

static void
test_bad_frame(void **state)
{
	struct fx		*fx = *state;
	const struct bad_frame	*b = fx->bad;
	uint8_t			 h[FRAME_HDR_LEN];

	fx->mode = SRV_ECHO;
	start_open(fx);
	memcpy(h, b->magic, 4);
	h[4] = b->major;
	h[5] = 0;
	h[6] = b->type;
	h[7] = b->flags;
	h[8] = h[9] = h[10] = 0;
	h[11] = 9;
	h[12] = (uint8_t)(b->len >> 24);
	h[13] = (uint8_t)(b->len >> 16);
	h[14] = (uint8_t)(b->len >> 8);
	h[15] = (uint8_t)b->len;
	assert_int_equal(conn_write(fx->cli.link->conn, h, sizeof(h)), 0);
	assert_int_equal(conn_write(fx->cli.link->conn, b->payload,
	    strlen(b->payload)), 0);
	RUN_UNTIL(fx, fx->srv.closed && fx->cli.closed);
	assert_string_equal(fx->srv.reason, b->reason);
	assert_int_equal(fx->srv.requests, 0);
	assert_int_equal(fx->srv.closed, 1);
	assert_int_equal(fx->cli.closed, 1);
	assert_int_equal(fx->cli.opened, 1);
}

/* After a good frame, a bad one in the same write still drops the peer. */
static void
test_good_then_bad(void **state)
{
	static const uint8_t	 junk[FRAME_HDR_LEN] = "GET / HTTP/1.1\r\n";
	struct fx		*fx = *state;

	fx->mode = SRV_IGNORE;
	start_open(fx);
	assert_int_equal(link_send_frame(fx->cli.link, FRAME_KEEPALIVE, 0, 5,
	    "{}", 2), 0);
	assert_int_equal(conn_write(fx->cli.link->conn, junk, sizeof(junk)),
	    0);
	RUN_UNTIL(fx, fx->srv.closed);
	assert_int_equal(fx->srv.requests, 1);
	assert_int_equal(fx->srv.hdr.type, FRAME_KEEPALIVE);
	assert_int_equal(fx->srv.hdr.id, 5);
	assert_string_equal(fx->srv.reason, "protocol error: bad magic");
}

/* A frame header, as a peer could write it by hand. */
static void
write_hdr(struct fx *fx, uint8_t type, uint8_t flags, uint32_t len)
{
	struct frame_hdr	h = { FRAME_PROTO_MAJOR, FRAME_PROTO_MINOR,
				    type, flags, 3, len };
	uint8_t			b[FRAME_HDR_LEN];

	frame_hdr_encode(&h, b);
	assert_int_equal(conn_write(fx->cli.link->conn, b, sizeof(b)), 0);
}

/*
 * Before its hello, a peer that sends anything but a small plain HELLO
 * (here the header of a 61 KB compressed control frame) is dropped at the
 * header, before its payload is read, let alone inflated.
 */
static void
test_before_hello_dropped(void **state)
{
	struct fx	*fx = *state;

	fx->mode = SRV_IGNORE;
	fx->expect_hello = 1;
	start_open(fx);
	write_hdr(fx, FRAME_CONTROL, FRAME_F_ZLIB, 61 * 1024);
	RUN_UNTIL(fx, fx->srv.closed);
	assert_int_equal(fx->srv.requests, 0);
	assert_string_equal(fx->srv.reason,
	    "protocol error: control frame of 62464 bytes before the hello");
}

/* A hello too large, or compressed, is dropped as well. */
static void
test_big_hello_dropped(void **state)
{
	struct fx	*fx = *state;

	fx->mode = SRV_IGNORE;
	fx->expect_hello = 1;
	start_open(fx);
	write_hdr(fx, FRAME_HELLO, 0, FRAME_HELLO_MAX + 1);
	RUN_UNTIL(fx, fx->srv.closed);
	assert_int_equal(fx->srv.requests, 0);
	assert_string_equal(fx->srv.reason,
	    "protocol error: hello frame of 4097 bytes before the hello");
}

/* After the hello, the link reads every frame as usual. */
static void
test_after_hello(void **state)
{
	struct fx	*fx = *state;

	fx->mode = SRV_IGNORE;
	fx->expect_hello = 1;
	start_open(fx);
	assert_int_equal(link_send_frame(fx->cli.link, FRAME_HELLO, 0, 1,
	    "{}", 2), 0);
	assert_int_equal(link_send_frame(fx->cli.link, FRAME_CONTROL, 0, 2,
	    "{\"n\":1}", 7), 0);
	RUN_UNTIL(fx, fx->srv.requests == 2);
	assert_int_equal(fx->srv.hdr.type, FRAME_CONTROL);
	assert_int_equal(fx->srv.closed, 0);
}

int
main(void)
{
	const struct CMUnitTest fixed[] = {
		cmocka_unit_test_setup_teardown(test_before_hello_dropped,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_hello_dropped, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_after_hello, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_request_response, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_large_body, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_responses_matched_by_id,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_binary_frame, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_out_high, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_read_batches, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_close, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refuse_then_close, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_key_next, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_next_third, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_wrong_key, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_good_then_bad, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_node_credential, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_node_other_name, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_node_unlisted, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_node_cluster_key_refused,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_node_shared_identity_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_identity, setup,
		    teardown),
	};
	struct CMUnitTest	tests[sizeof(fixed) / sizeof(fixed[0]) + NBAD];
	size_t			i, n = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		tests[n++] = fixed[i];
	for (i = 0; i < NBAD; i++) {
		tests[n].name = bad_frames[i].name;
		tests[n].test_func = test_bad_frame;
		tests[n].setup_func = setup;
		tests[n].teardown_func = teardown;
		tests[n].initial_state = (void *)(uintptr_t)&bad_frames[i];
		n++;
	}
	return _cmocka_run_group_tests("test_tls_link", tests, n, NULL, NULL);
}
