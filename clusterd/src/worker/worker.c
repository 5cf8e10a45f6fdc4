/*
 * worker: the link to the master, for the worker role and the balancer
 * role alike.  Opens it, introduces itself with a hello, keeps it alive,
 * and reconnects by itself with exponential backoff and jitter when the
 * master goes away.  What runs over the link is the role's (struct role):
 * file sync, agents and the gateway on a worker; the pools on a balancer
 * (balancer.c).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "balancer.h"
#include "hello.h"
#include "link.h"
#include "log.h"
#include "node.h"
#include "enroll.h"
#include "gateway.h"
#include "version.h"
#include "wagents.h"
#include "wsync.h"

enum worker_state {
	W_IDLE,		/* waiting to reconnect */
	W_CONNECTING,	/* TCP, TLS or hello under way */
	W_READY
};

#define WORKER_ENROLL_TIMEOUT	5.0	/* most an agent waits on the master */

/* What a role runs over the link. */
struct role {
	const char	*name;
	int		(*start)(struct node *);
	void		(*stop)(void);
	void		(*up)(struct link *);
	void		(*down)(void);
	int		(*frame)(const struct frame_hdr *, const cJSON *,
			    const uint8_t *);
	void		(*status)(cJSON *);
};

static struct {
	struct node		*node;
	const struct role	*role;
	struct link		*link;
	enum worker_state	 state;
	ev_timer		 reconnect;	/* backoff, and connect timeout */
	ev_timer		 keepalive;
	unsigned		 attempt;
	int			 ka_inflight;
	int			 stopping;
	char			 last_error[256];
	char			 master_name[CONFIG_NAME_MAX + 1];
	double			 connected_since;
	double			 last_keepalive;
} W;

static void link_open(struct link *);
static void link_frame(struct link *, const struct frame_hdr *, const cJSON *,
    const uint8_t *);
static void link_closed(struct link *, const char *);

static const struct link_ops worker_link_ops = {
	link_open, link_frame, NULL, link_closed
};

/*
 * Log a connection problem once: the same error again while still
 * disconnected goes to debug, so a long outage does not flood the log.
 */
static void
connect_problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
connect_problem(const char *fmt, ...)
{
	char	msg[256];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (strcmp(msg, W.last_error) == 0) {
		log_debug("Main", "%s (again)", msg);
		return;
	}
	log_errx("Main", "%s", msg);
	snprintf(W.last_error, sizeof(W.last_error), "%s", msg);
}

/* Next delay: reconnect_min doubling up to reconnect_max, 50-100% jitter. */
static double
backoff_delay(void)
{
	const struct config	*c = &W.node->cfg;
	double			 d;

	d = c->reconnect_min * pow(2.0, W.attempt < 30 ? W.attempt : 30);
	if (d > c->reconnect_max)
		d = c->reconnect_max;
	W.attempt++;
	return d * (0.5 + 0.5 * ((double)random() / RAND_MAX));
}

static void
schedule_reconnect(void)
{
	double	d = backoff_delay();

	W.state = W_IDLE;
	ev_timer_stop(W.node->loop, &W.keepalive);
	ev_timer_stop(W.node->loop, &W.reconnect);
	ev_timer_set(&W.reconnect, d, 0);
	ev_timer_start(W.node->loop, &W.reconnect);
	log_debug("Main", "Reconnecting to the master in %.2fs.", d);
}

static void
try_connect(void)
{
	const struct config	*c = &W.node->cfg;
	char			 err[256];

	W.state = W_CONNECTING;
	W.link = link_connect(W.node->loop, c->master_address, c->master_port,
	    W.node->ctx, &worker_link_ops, NULL, c->request_timeout, err,
	    sizeof(err));
	if (W.link == NULL) {
		connect_problem("Could not connect to master: %s.", err);
		schedule_reconnect();
		return;
	}
	/* Bound the whole TCP + TLS + hello exchange. */
	ev_timer_set(&W.reconnect, c->request_timeout, 0);
	ev_timer_start(W.node->loop, &W.reconnect);
}

static void
reconnect_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	if (W.state == W_IDLE)
		try_connect();
	else if (W.state == W_CONNECTING && W.link != NULL)
		link_close(W.link, "connection timed out");
}

static void
keepalive_done(struct link *l, void *arg, enum link_result r,
    const cJSON *body)
{
	(void)arg;
	(void)body;
	W.ka_inflight = 0;
	if (r == LINK_OK) {
		W.last_keepalive = node_wall_now();
		log_info("Keep alive", "Successful response from master.");
	} else if (r == LINK_TIMEOUT) {
		log_errx("Keep alive", "No response from master in %gs: "
		    "reconnecting.", W.node->cfg.request_timeout);
		link_close(l, "keep alive timed out");
	} else if (r == LINK_REFUSED)
		log_warnx("Keep alive", "Master refused the keep alive.");
}

static void
keepalive_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	if (W.state != W_READY || W.ka_inflight)
		return;
	if (link_request(W.link, FRAME_KEEPALIVE, NULL, 0, keepalive_done,
	    NULL) == 0)
		W.ka_inflight = 1;
}

static void
hello_done(struct link *l, void *arg, enum link_result r, const cJSON *body)
{
	const struct config	*c = &W.node->cfg;
	const cJSON		*v;

	(void)arg;
	if (r != LINK_OK) {
		v = cJSON_GetObjectItemCaseSensitive(body, "error");
		if (r == LINK_REFUSED)
			connect_problem("Master refused the connection: %s.",
			    cJSON_IsString(v) ? v->valuestring : "no reason");
		else if (r == LINK_TIMEOUT)
			connect_problem("Master did not answer the hello.");
		if (r != LINK_CLOSED)
			link_close(l, "hello refused");
		return;
	}
	v = cJSON_GetObjectItemCaseSensitive(body, "node_name");
	snprintf(W.master_name, sizeof(W.master_name), "%s",
	    cJSON_IsString(v) ? v->valuestring : "?");
	ev_timer_stop(W.node->loop, &W.reconnect);
	W.state = W_READY;
	W.attempt = 0;
	W.last_error[0] = '\0';
	W.connected_since = W.last_keepalive = node_wall_now();
	log_info("Main", "Successfully connected to master %s (%s:%u).",
	    W.master_name, c->master_address, c->master_port);
	ev_timer_set(&W.keepalive, c->keepalive_interval,
	    c->keepalive_interval);
	ev_timer_start(W.node->loop, &W.keepalive);
	W.role->up(l);
}

static void
link_open(struct link *l)
{
	cJSON	*h;

	h = hello_build(&W.node->cfg, CLUSTERD_VERSION);
	if (h == NULL || link_request(l, FRAME_HELLO, h, 0, hello_done,
	    NULL) == -1)
		link_close(l, "cannot send hello");
	cJSON_Delete(h);
}

static void
link_frame(struct link *l, const struct frame_hdr *h, const cJSON *body,
    const uint8_t *payload)
{
	if (!W.role->frame(h, body, payload))
		link_respond_error(l, h, "unsupported request");
}

static void
link_closed(struct link *l, const char *reason)
{
	(void)l;
	if (W.state == W_READY)
		log_errx("Main", "Connection with master lost: %s.", reason);
	else if (strncmp(reason, "TLS handshake", 13) == 0)
		connect_problem("Could not connect to master: %s (wrong "
		    "cluster key?).", reason);
	else if (strcmp(reason, "hello refused") != 0)
		connect_problem("Could not connect to master: %s.", reason);
	W.link = NULL;
	W.ka_inflight = 0;
	W.role->down();
	if (!W.stopping)
		schedule_reconnect();
	else
		W.state = W_IDLE;
}

struct relay {
	struct enroll_client	*cl;
	char			 nonce[33];
};

/*
 * The master's answer to a relayed enrollment, back to the agent.  On a
 * timeout the master may still register the agent later: tell it, by the
 * request's nonce, to take the enrollment back.
 */
static void
enroll_done(struct link *l, void *arg, enum link_result r, const cJSON *body)
{
	struct relay	*rl = arg;
	const cJSON	*ans, *id, *key;
	cJSON		*j;

	ans = cJSON_GetObjectItemCaseSensitive(body, "answer");
	id = cJSON_GetObjectItemCaseSensitive(body, "id");
	key = cJSON_GetObjectItemCaseSensitive(body, "key");
	if (r == LINK_OK && cJSON_IsString(ans))
		enroll_answer(rl->cl, ans->valuestring, cJSON_IsString(id) ?
		    id->valuestring : NULL, cJSON_IsString(key) ?
		    key->valuestring : NULL);
	else {
		if (r == LINK_TIMEOUT) {
			j = cJSON_CreateObject();
			cJSON_AddStringToObject(j, "nonce", rl->nonce);
			link_notify(l, FRAME_ENROLL_ABORT, j);
			cJSON_Delete(j);
		}
		enroll_answer(rl->cl, r == LINK_TIMEOUT ? "ERROR: The master "
		    "node did not answer in time" : "ERROR: Unable to reach "
		    "the master node", NULL, NULL);
	}
	free(rl);
}

/*
 * Relay an enrollment to the master; with no master, answer at once so
 * the agent never hangs.
 */
static void
enroll_submit(struct enroll_client *cl, const struct enroll_req *req,
    const char *line, size_t len, const char *src_ip)
{
	struct relay	*rl;
	cJSON	*j;
	char	*copy;
	double	 timeout = W.node->cfg.request_timeout < WORKER_ENROLL_TIMEOUT ?
	    W.node->cfg.request_timeout : WORKER_ENROLL_TIMEOUT;

	(void)req;
	if (W.state != W_READY) {
		enroll_answer(cl, "ERROR: Unable to reach the master node",
		    NULL, NULL);
		return;
	}
	if ((copy = strndup(line, len)) == NULL) {
		enroll_answer(cl, "ERROR: Internal manager error", NULL, NULL);
		return;
	}
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "line", copy);
	free(copy);
	cJSON_AddStringToObject(j, "src_ip", src_ip);
	if ((rl = calloc(1, sizeof(*rl))) == NULL) {
		cJSON_Delete(j);
		enroll_answer(cl, "ERROR: Internal manager error", NULL, NULL);
		return;
	}
	rl->cl = cl;
	snprintf(rl->nonce, sizeof(rl->nonce), "%08lx%08lx%08lx",
	    (unsigned long)random(), (unsigned long)random(),
	    (unsigned long)random());
	cJSON_AddStringToObject(j, "nonce", rl->nonce);
	if (link_request(W.link, FRAME_ENROLL, j, timeout, enroll_done, rl) ==
	    -1) {
		free(rl);
		enroll_answer(cl, "ERROR: Unable to reach the master node",
		    NULL, NULL);
	}
	cJSON_Delete(j);
}

static void
enroll_undelivered(const char *id, const char *key)
{
	cJSON	*j;

	if (W.state != W_READY)
		return;
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "id", id);
	cJSON_AddStringToObject(j, "key", key);
	link_notify(W.link, FRAME_ENROLL_ABORT, j);
	cJSON_Delete(j);
}

static const struct enroll_ops worker_enroll_ops = {
	enroll_submit, enroll_undelivered
};

/* Gateway reports go to the master; kept while it is unreachable. */
static int
gateway_deliver(const cJSON *report)
{
	if (W.state != W_READY || link_congested(W.link))
		return -1;
	return link_notify(W.link, FRAME_AGENT_INFO, report);
}

static const struct gateway_ops worker_gateway_ops = {
	wagents_table, gateway_deliver
};

static int
services_start(struct node *n)
{
	if (wsync_start(n) == -1 || wagents_start(n) == -1 ||
	    enroll_start(n, &worker_enroll_ops) == -1)
		return -1;
	wagents_on_gone(gateway_agent_gone);
	if (n->cfg.gateway != 0 && gateway_start(n, &worker_gateway_ops) == -1)
		return -1;
	return 0;
}

static void
services_stop(void)
{
	enroll_stop();
	gateway_stop();
	wsync_stop();
	wagents_stop();
}

static void
services_up(struct link *l)
{
	wsync_link_up(l);
	wagents_link_up(l);
	gateway_resend();
}

static void
services_down(void)
{
	wsync_link_down();
	wagents_link_down();
}

static int
services_frame(const struct frame_hdr *h, const cJSON *body,
    const uint8_t *payload)
{
	const cJSON	*n;

	if (wsync_on_frame(h, body, payload) || wagents_on_frame(h, body))
		return 1;
	if (h->type != FRAME_REBALANCE)
		return 0;
	n = cJSON_GetObjectItemCaseSensitive(body, "agents");
	if (cJSON_IsNumber(n) && n->valuedouble > 0 && n->valuedouble < 1e7)
		gateway_shed((unsigned)n->valuedouble);
	return 1;
}

static void
services_status(cJSON *d)
{
	wsync_status(d);
	wagents_status(d);
	gateway_status(d);
}

static int
balancer_frame(const struct frame_hdr *h, const cJSON *body,
    const uint8_t *payload)
{
	(void)payload;
	return balancer_on_frame(h, body);
}

static const struct role worker_role = {
	"worker", services_start, services_stop, services_up, services_down,
	services_frame, services_status
};

static const struct role balancer_role = {
	"balancer", balancer_start, balancer_stop, balancer_link_up,
	balancer_link_down, balancer_frame, balancer_status
};

int
worker_start(struct node *n)
{
	W.node = n;
	W.role = n->cfg.node_type == NODE_BALANCER ? &balancer_role :
	    &worker_role;
	srandom((unsigned)time(NULL) ^ ((unsigned)getpid() << 16));
	ev_init(&W.reconnect, reconnect_cb);
	ev_init(&W.keepalive, keepalive_cb);
	if (W.role->start(n) == -1)
		return -1;
	try_connect();
	return 0;
}

void
worker_stop(void)
{
	W.stopping = 1;
	ev_timer_stop(W.node->loop, &W.reconnect);
	ev_timer_stop(W.node->loop, &W.keepalive);
	if (W.link != NULL)
		link_close(W.link, "node shutting down");
	W.role->stop();
}

/* Timers changed by a reload take effect from the next tick. */
void
worker_reconfigure(void)
{
	const struct config	*c = &W.node->cfg;

	if (W.link != NULL)
		W.link->req_timeout = c->request_timeout;
	if (W.state == W_READY) {
		W.keepalive.repeat = c->keepalive_interval;
		ev_timer_again(W.node->loop, &W.keepalive);
	}
	if (W.role == &worker_role)
		wsync_reconfigure();
}

static void
forward_done(struct link *l, void *arg, enum link_result r, const cJSON *body)
{
	struct control_client	*cl = arg;

	(void)l;
	if (r == LINK_OK)
		control_reply(cl, cJSON_Duplicate(body, 1));
	else if (r == LINK_TIMEOUT)
		control_reply(cl, control_error("the master did not answer in "
		    "%gs", W.node->cfg.request_timeout));
	else
		control_reply(cl, control_error("the connection to the master "
		    "was lost"));
}

static cJSON *
status_json(void)
{
	cJSON	*d = cJSON_CreateObject();

	cJSON_AddStringToObject(d, "node_name", W.node->cfg.node_name);
	cJSON_AddStringToObject(d, "node_type", W.role->name);
	cJSON_AddBoolToObject(d, "connected", W.state == W_READY);
	cJSON_AddStringToObject(d, "master", W.state == W_READY ?
	    W.master_name : "");
	cJSON_AddItemToObject(d, "connected_since", node_time_json(
	    W.state == W_READY ? W.connected_since : 0));
	cJSON_AddItemToObject(d, "last_keepalive", node_time_json(
	    W.state == W_READY ? W.last_keepalive : 0));
	cJSON_AddStringToObject(d, "last_error", W.last_error);
	W.role->status(d);
	return d;
}

/*
 * Control commands on a worker: "status" is answered locally; cluster-wide
 * commands are forwarded to the master, which alone has the whole picture.
 */
void
worker_control(struct control_client *cl, const cJSON *req, void *arg)
{
	const cJSON	*cmd = cJSON_GetObjectItemCaseSensitive(req, "command");
	const cJSON	*st;

	(void)arg;
	if (strcmp(cmd->valuestring, "status") == 0) {
		control_reply(cl, control_ok(status_json()));
		return;
	}
	if (strcmp(cmd->valuestring, "lb_state") == 0 &&
	    W.role == &worker_role) {			/* local */
		st = cJSON_GetObjectItemCaseSensitive(req, "state");
		control_reply(cl, cJSON_IsString(st) &&
		    gateway_set_lb_state(st->valuestring) == 0 ?
		    control_ok(NULL) : control_error("state must be ready, "
		    "drain or maint"));
		return;
	}
	if (W.state != W_READY) {
		control_reply(cl, control_error("this worker is not connected "
		    "to the master%s%s", W.last_error[0] ? ": " : "",
		    W.last_error));
		return;
	}
	if (link_request(W.link, FRAME_CONTROL, req, 0, forward_done, cl) ==
	    -1)
		control_reply(cl, control_error("cannot forward the command to "
		    "the master"));
}
