/*
 * uplink: the link to the master, for the worker role and the balancer
 * role alike.  Opens it, introduces itself with a hello, keeps it alive,
 * and reconnects by itself with exponential backoff and jitter when the
 * master goes away.  What runs over the link is the role's (struct
 * uplink_role): file sync, agents and the gateway on a worker (worker.c);
 * the pools on a balancer (balancer.c).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/metrics.h"
#include "base/node.h"
#include "base/version.h"
#include "net/control.h"
#include "net/hello.h"
#include "net/link.h"
#include "uplink/uplink.h"

enum uplink_state {
	U_IDLE,		/* waiting to reconnect */
	U_CONNECTING,	/* TCP, TLS or hello under way */
	U_READY
};

static struct {
	struct node		*node;
	const struct uplink_role *role;
	struct link		*link;
	enum uplink_state	 state;
	ev_timer		 reconnect;	/* backoff, and connect timeout */
	ev_timer		 keepalive;
	unsigned		 attempt;
	int			 ka_inflight;
	int			 stopping;
	char			 last_error[256];
	int			 orderly;	/* the master closed in order */
	char			 master_name[CONFIG_NAME_MAX + 1];
	double			 connected_since;
	double			 last_keepalive;
	unsigned long		 connects;	/* hellos answered */
	char			 health[256];	/* uplink_set_health(): "" ok */
	/* master_address may list the master-eligible nodes, "a,b,c":
	 * each new attempt after a failure tries the next one. */
	unsigned		 addr_idx;
	char			 addr[256];	/* the one tried last */
	long long		 max_term;	/* highest master term seen */
} U;

static const struct metrics_def M_UP = {
	"clusterd_uplink_up", METRICS_GAUGE,
	"1 while the link to the master is up (hello answered), else 0."
};
static const struct metrics_def M_CONNECTS = {
	"clusterd_uplink_connects_total", METRICS_COUNTER,
	"Times the link to the master came up."
};
static const struct metrics_def M_QUEUE = {
	"clusterd_uplink_queue_bytes", METRICS_GAUGE,
	"Bytes waiting in the output queue of the link to the master."
};

static void link_open(struct link *);
static void link_frame(struct link *, const struct frame_hdr *, const cJSON *,
    const uint8_t *);
static void link_closed(struct link *, const char *);

static const struct link_ops uplink_link_ops = {
	link_open, link_frame, NULL, link_closed
};

/*
 * Log a connection problem once: the same error again while still
 * disconnected goes to debug, so a long outage does not flood the log.
 * After the master closed in order (a stop or restart) it is a warning
 * until the next connection: the operator is most likely at work.
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
	if (strcmp(msg, U.last_error) == 0) {
		log_debug("Main", "%s (again)", msg);
		return;
	}
	if (U.orderly)
		log_warnx("Main", "%s", msg);
	else
		log_errx("Main", "%s", msg);
	snprintf(U.last_error, sizeof(U.last_error), "%s", msg);
}

/* Next delay: reconnect_min doubling up to reconnect_max, 50-100% jitter. */
static double
backoff_delay(void)
{
	const struct config	*c = &U.node->cfg;
	double			 d;

	d = c->reconnect_min * pow(2.0, U.attempt < 30 ? U.attempt : 30);
	if (d > c->reconnect_max)
		d = c->reconnect_max;
	U.attempt++;
	return d * (0.5 + 0.5 * ((double)random() / RAND_MAX));
}

/* Entry n (modulo their count) of the master_address list into U.addr. */
static void
pick_address(unsigned n)
{
	char	 copy[sizeof(U.addr)], *tok, *save = NULL;
	char	*list[32];
	unsigned k = 0;

	snprintf(copy, sizeof(copy), "%s", U.node->cfg.master_address);
	for (tok = strtok_r(copy, ", ", &save); tok != NULL && k < 32;
	    tok = strtok_r(NULL, ", ", &save))
		list[k++] = tok;
	snprintf(U.addr, sizeof(U.addr), "%s", k > 0 ? list[n % k] : "");
}

static void
schedule_reconnect(void)
{
	double	d = backoff_delay();

	U.addr_idx++;		/* the next master-eligible node, if listed */
	U.state = U_IDLE;
	ev_timer_stop(U.node->loop, &U.keepalive);
	ev_timer_stop(U.node->loop, &U.reconnect);
	ev_timer_set(&U.reconnect, d, 0);
	ev_timer_start(U.node->loop, &U.reconnect);
	log_debug("Main", "Reconnecting to the master in %.2fs.", d);
}

static void
try_connect(void)
{
	const struct config	*c = &U.node->cfg;
	char			 err[256];

	U.state = U_CONNECTING;
	pick_address(U.addr_idx);
	U.link = link_connect(U.node->loop, U.addr, c->master_port,
	    U.role->tls != NULL ? U.role->tls() : U.node->ctx,
	    &uplink_link_ops, NULL, c->request_timeout, err, sizeof(err));
	if (U.link == NULL) {
		connect_problem("Could not connect to master: %s.", err);
		schedule_reconnect();
		return;
	}
	link_dead_after(U.link, c->keepalive_timeout);
	link_expect_hello(U.link);
	/* Bound the whole TCP + TLS + hello exchange. */
	ev_timer_set(&U.reconnect, c->request_timeout, 0);
	ev_timer_start(U.node->loop, &U.reconnect);
}

static void
reconnect_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	if (U.state == U_IDLE)
		try_connect();
	else if (U.state == U_CONNECTING && U.link != NULL)
		link_close(U.link, "connection timed out");
}

static void
keepalive_done(struct link *l, void *arg, enum link_result r,
    const cJSON *body)
{
	(void)arg;
	(void)body;
	U.ka_inflight = 0;
	if (r == LINK_OK) {
		U.last_keepalive = node_wall_now();
		log_debug("Keep alive", "Successful response from master.");
	} else if (r == LINK_TIMEOUT) {
		log_errx("Keep alive", "No response from master in %gs: "
		    "reconnecting.", U.node->cfg.keepalive_timeout);
		link_close(l, "keep alive timed out");
	} else if (r == LINK_REFUSED)
		log_warnx("Keep alive", "Master refused the keep alive.");
}

/* A keepalive; it carries this node's health while it is not ok. */
static void
send_keepalive(void)
{
	cJSON	*body = NULL;

	if (U.state != U_READY || U.ka_inflight)
		return;
	if (U.health[0] != '\0') {
		body = cJSON_CreateObject();
		cJSON_AddStringToObject(body, "health", U.health);
	}
	if (link_request(U.link, FRAME_KEEPALIVE, body,
	    U.node->cfg.keepalive_timeout, keepalive_done,
	    NULL) == 0)
		U.ka_inflight = 1;
	cJSON_Delete(body);
}

static void
keepalive_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	send_keepalive();
}

/*
 * This node's health as the master shows it (cluster_control -l,
 * --pools): the reason it takes no agents, or NULL.  Sent at once, then
 * with every keepalive.
 */
void
uplink_set_health(const char *reason)
{
	snprintf(U.health, sizeof(U.health), "%s", reason ? reason : "");
	send_keepalive();
}

static void
hello_done(struct link *l, void *arg, enum link_result r, const cJSON *body)
{
	const struct config	*c = &U.node->cfg;
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
	/* Fencing: a master elected before the newest one seen is a
	 * deposed one (docs/ha.md); never accept it again. */
	v = cJSON_GetObjectItemCaseSensitive(body, "term");
	if (cJSON_IsNumber(v) && (long long)v->valuedouble < U.max_term) {
		connect_problem("Master at %s has term %lld, older than term "
		    "%lld already seen: a deposed master, refused.", U.addr,
		    (long long)v->valuedouble, U.max_term);
		link_close(l, "deposed master");
		return;
	}
	if (cJSON_IsNumber(v))
		U.max_term = (long long)v->valuedouble;
	link_hello_done(l);
	v = cJSON_GetObjectItemCaseSensitive(body, "node_name");
	snprintf(U.master_name, sizeof(U.master_name), "%s",
	    cJSON_IsString(v) ? v->valuestring : "?");
	ev_timer_stop(U.node->loop, &U.reconnect);
	U.state = U_READY;
	U.connects++;
	U.attempt = 0;
	U.last_error[0] = '\0';
	U.orderly = 0;
	U.connected_since = U.last_keepalive = node_wall_now();
	log_info("Main", "Successfully connected to master %s (%s:%u).",
	    U.master_name, U.addr, c->master_port);
	ev_timer_set(&U.keepalive, c->keepalive_interval,
	    c->keepalive_interval);
	ev_timer_start(U.node->loop, &U.keepalive);
	U.role->up(l);
}

static void
link_open(struct link *l)
{
	cJSON	*h;

	h = (U.role->hello != NULL ? U.role->hello : hello_build)(&U.node->cfg,
	    CLUSTERD_VERSION);
	if (h == NULL || link_request(l, FRAME_HELLO, h, 0, hello_done,
	    NULL) == -1)
		link_close(l, "cannot send hello");
	cJSON_Delete(h);
}

static void
link_frame(struct link *l, const struct frame_hdr *h, const cJSON *body,
    const uint8_t *payload)
{
	if (!U.role->frame(h, body, payload))
		link_respond_error(l, h, "unsupported request");
}

static void
link_closed(struct link *l, const char *reason)
{
	(void)l;
	if (U.stopping)
		log_info("Main", "Disconnected from the master: %s.", reason);
	else if (U.state == U_READY && strstr(reason, "(orderly)") != NULL) {
		U.orderly = 1;
		log_warnx("Main", "The master closed the connection (stopping "
		    "or restarting?): %s; reconnecting.", reason);
	} else if (U.state == U_READY)
		log_errx("Main", "Connection with master lost: %s.", reason);
	else if (strncmp(reason, "TLS handshake", 13) == 0)
		connect_problem("Could not connect to master: %s (wrong "
		    "cluster key, or a master older than this node?).",
		    reason);
	else if (strcmp(reason, "hello refused") != 0)
		connect_problem("Could not connect to master: %s.", reason);
	U.link = NULL;
	U.ka_inflight = 0;
	U.role->down();
	if (!U.stopping)
		schedule_reconnect();
	else
		U.state = U_IDLE;
}

/* A collector (metrics.h): the link to the master. */
static void
uplink_metrics(struct metrics *m, void *arg)
{
	(void)arg;
	metrics_put(m, &M_UP, U.state == U_READY, NULL);
	metrics_put(m, &M_CONNECTS, (double)U.connects, NULL);
	metrics_put(m, &M_QUEUE, U.link != NULL ? (double)link_queued(U.link) :
	    0, NULL);
}

/*
 * Start the role and the first connection attempt; from then on the
 * uplink reconnects by itself until uplink_stop().
 */
int
uplink_start(struct node *n, const struct uplink_role *role)
{
	U.node = n;
	U.role = role;
	U.stopping = 0;
	U.state = U_IDLE;
	srandom((unsigned)time(NULL) ^ ((unsigned)getpid() << 16));
	ev_init(&U.reconnect, reconnect_cb);
	ev_init(&U.keepalive, keepalive_cb);
	metrics_register(uplink_metrics, NULL);
	if (U.role->start(n) == -1)
		return -1;
	try_connect();
	return 0;
}

void
uplink_stop(void)
{
	U.stopping = 1;
	metrics_unregister(uplink_metrics, NULL);
	ev_timer_stop(U.node->loop, &U.reconnect);
	ev_timer_stop(U.node->loop, &U.keepalive);
	if (U.link != NULL)
		link_close(U.link, "node shutting down");
	U.role->stop();
}

/* A graceful stop, if the role has one: 0 when it started. */
int
uplink_drain(void (*done)(void))
{
	return U.role->drain != NULL ? U.role->drain(done) : -1;
}

/* The link while it is ready (hello answered), else NULL. */
struct link *
uplink_link(void)
{
	return U.state == U_READY ? U.link : NULL;
}

/* Timers changed by a reload take effect from the next tick. */
void
uplink_reconfigure(void)
{
	const struct config	*c = &U.node->cfg;

	if (U.link != NULL)
		U.link->req_timeout = c->request_timeout;
	if (U.state == U_READY) {
		U.keepalive.repeat = c->keepalive_interval;
		ev_timer_again(U.node->loop, &U.keepalive);
	}
	if (U.role->reconfigure != NULL)
		U.role->reconfigure();
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
		    "%gs", U.node->cfg.request_timeout));
	else
		control_reply(cl, control_error("the connection to the master "
		    "was lost"));
}

static cJSON *
status_json(void)
{
	cJSON	*d = cJSON_CreateObject();

	cJSON_AddStringToObject(d, "node_name", U.node->cfg.node_name);
	cJSON_AddStringToObject(d, "node_type", U.role->name);
	cJSON_AddBoolToObject(d, "connected", U.state == U_READY);
	cJSON_AddStringToObject(d, "master", U.state == U_READY ?
	    U.master_name : "");
	cJSON_AddItemToObject(d, "connected_since", node_time_json(
	    U.state == U_READY ? U.connected_since : 0));
	cJSON_AddItemToObject(d, "last_keepalive", node_time_json(
	    U.state == U_READY ? U.last_keepalive : 0));
	cJSON_AddStringToObject(d, "last_error", U.last_error);
	U.role->status(d);
	return d;
}

/*
 * Control commands on a worker or balancer: "status", "stats" and the
 * role's own commands are answered locally; cluster-wide commands are forwarded to
 * the master, which alone has the whole picture.
 */
void
uplink_control(struct control_client *cl, const cJSON *req, void *arg)
{
	const cJSON	*cmd = cJSON_GetObjectItemCaseSensitive(req, "command");
	cJSON		*fwd;

	(void)arg;
	if (strcmp(cmd->valuestring, "status") == 0) {
		control_reply(cl, control_ok(status_json()));
		return;
	}
	if (strcmp(cmd->valuestring, "stats") == 0) {
		control_reply(cl, control_stats());
		return;
	}
	if (U.role->control != NULL && U.role->control(cl, req))
		return;
	if (U.state != U_READY) {
		control_reply(cl, control_error("this %s is not connected to "
		    "the master%s%s", U.role->name, U.last_error[0] ? ": " : "",
		    U.last_error));
		return;
	}
	/* The master logs who asked for a change, and may refuse it. */
	fwd = cJSON_Duplicate(req, 1);
	if (fwd != NULL && control_is_write(cmd->valuestring)) {
		cJSON_DeleteItemFromObjectCaseSensitive(fwd, "origin_user");
		cJSON_AddStringToObject(fwd, "origin_user",
		    control_client_who(cl));
	}
	if (fwd == NULL || link_request(U.link, FRAME_CONTROL, fwd, 0,
	    forward_done, cl) == -1)
		control_reply(cl, control_error("cannot forward the command to "
		    "the master"));
	cJSON_Delete(fwd);
}
