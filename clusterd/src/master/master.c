/*
 * master: the master role.  Listens for workers on the cluster port, admits
 * them by their hello, keeps the node list, drops workers that fall silent,
 * relays enrollments and rebalances agents; control commands (its own and
 * those workers forward) are answered in mview.c.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/agents.h"
#include "agent/enroll.h"
#include "agent/gateway.h"
#include "agent/gwhealth.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/node.h"
#include "base/reap.h"
#include "base/strmap.h"
#include "base/version.h"
#include "master/ha.h"
#include "master/master.h"
#include "master/master_int.h"
#include "master/mnodes.h"
#include "master/mreg.h"
#include "master/mscope.h"
#include "master/mshared.h"
#include "master/msync.h"
#include "master/pools.h"
#include "net/control.h"
#include "net/hello.h"
#include "net/link.h"
#include "net/listener.h"
#include "net/preauth.h"
#include "net/tls.h"

#define REFUSAL_QUIET		600.0	/* seconds between repeated lines */



struct master_state M = { .listener.fd = -1 };	/* master_int.h */

static const struct metrics_def M_AGENTS = {
	"clusterd_agents", METRICS_GAUGE,
	"Agents in the master's registry, by status."
};
static const struct metrics_def M_ENROLLMENTS = {
	"clusterd_registry_enrollments_total", METRICS_COUNTER,
	"Enrollments the master decided, from every node's enrollment port, by "
	"result."
};
static const struct metrics_def M_PEER_UP = {
	"clusterd_peer_up", METRICS_GAUGE,
	"1 while the worker, balancer or standby master is connected, 0 once it "
	"has gone (since the master started)."
};
static const struct metrics_def M_PEER_QUEUE = {
	"clusterd_peer_queue_bytes", METRICS_GAUGE,
	"Bytes waiting in the output queue of the link to the peer."
};
static const struct metrics_def M_PEER_AGENTS = {
	"clusterd_peer_agents_active", METRICS_GAUGE,
	"Active agents whose node is the worker (or the master itself, with "
	"gateway yes), per the registry."
};
static const struct metrics_def M_REBALANCE_ROUNDS = {
	"clusterd_rebalance_rounds_total", METRICS_COUNTER,
	"Rebalancing rounds that asked workers to move agents."
};
static const struct metrics_def M_REBALANCE_MOVES = {
	"clusterd_rebalance_moves_total", METRICS_COUNTER,
	"Agents the workers were asked to move (reconnect elsewhere)."
};

/* Where an asynchronous answer goes: a worker's request, by serial. */
struct peer_reply {
	unsigned long		 serial;
	struct frame_hdr	 req;
	char			 nonce[33];	/* a relayed enrollment's */
};

/*
 * Relayed enrollments a worker gave up on (its timeout) or answered, by
 * the worker's nonce, kept a minute: an enrollment the agent never got
 * is taken back whichever of answer and abort comes first.
 */
struct relayed {
	char		 nonce[33];
	char		 id[AGENT_ID_MAX];
	char		 key[AGENT_KEY_LEN + 1];
	int		 aborted;
	ev_tstamp	 at;
};
#define RELAYED_MAX	4096
static struct relayed	relayed[RELAYED_MAX];
static size_t		relayed_next;
static struct strmap	relayed_by_nonce;	/* nonce -> its slot */

static void peer_open(struct link *);
static void pools_self(void);
static void peer_request(struct link *, const struct frame_hdr *,
    const cJSON *, const uint8_t *);
static void peer_drain(struct link *);
static void peer_close(struct link *, const char *);

static const struct link_ops peer_ops = {
	peer_open, peer_request, peer_drain, peer_close
};

/*
 * Log a refusal (failed handshake or refused hello) once per address and
 * kind, then at most once per window: a misconfigured node retrying forever
 * must not flood the log.
 */
static void
log_refusal(const char *addr, const char *kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
log_refusal(const char *addr, const char *kind, const char *fmt, ...)
{
	struct ev_loop	*loop = M.node->loop;
	struct refusal	*f, *oldest = &M.refusals[0];
	char		 slot[sizeof(f->address)], msg[512];
	va_list		 ap;
	int		 i;

	snprintf(slot, sizeof(slot), "%s|%s", addr, kind);
	for (i = 0; i < REFUSAL_SLOTS; i++) {
		f = &M.refusals[i];
		if (strcmp(f->address, slot) == 0)
			break;
		if (f->last_logged < oldest->last_logged)
			oldest = f;
	}
	if (i == REFUSAL_SLOTS) {
		f = oldest;
		snprintf(f->address, sizeof(f->address), "%s", slot);
		f->last_logged = 0;
		f->suppressed = 0;
	}
	if (f->last_logged != 0 &&
	    ev_now(loop) - f->last_logged < REFUSAL_QUIET) {
		f->suppressed++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (f->suppressed)
		log_warnx("Main", "%s (%u more like it not logged)", msg,
		    f->suppressed);
	else
		log_warnx("Main", "%s", msg);
	f->last_logged = ev_now(loop);
	f->suppressed = 0;
}

static void
peer_free(void *p)
{
	free(p);
}

static void
watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct peer	*p = w->data;
	char		 reason[96];

	(void)loop;
	(void)revents;
	if (p->state == PEER_HANDSHAKE)
		snprintf(reason, sizeof(reason), "no hello within %gs",
		    M.node->cfg.request_timeout);
	else
		snprintf(reason, sizeof(reason), "no keep alive received in "
		    "%gs", M.node->cfg.keepalive_timeout);
	link_close(p->link, reason);
}

/* No TLS handshake and hello within preauth_timeout. */
static void
preauth_expire(struct preauth *pa, struct preauth_entry *e)
{
	struct peer	*p = e->owner;

	(void)pa;
	link_close(p->link, "no hello within preauth_timeout");
}

/*
 * A new connection on the cluster port.  Until its hello it is counted as
 * silent and bounded twice: by the watchdog (request_timeout, as a worker
 * bounds its own attempt) and by preauth_timeout, whichever ends first;
 * both run from accept, so a client that never completes the TLS
 * handshake is closed too.
 */
static void
accept_cb(struct listener *l, int fd, const char *addr, void *arg)
{
	struct peer	*p;

	(void)arg;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		close(fd);
		return;
	}
	snprintf(p->address, sizeof(p->address), "%s", addr);
	snprintf(p->ctx, sizeof(p->ctx), "Master %s", M.node->cfg.node_name);
	if (preauth_add(&M.pa, &p->pa, addr, p) == -1 ||
	    (p->link = link_accept(l->loop, fd, M.node->ctx, &peer_ops, p,
	    M.node->cfg.request_timeout)) == NULL) {
		log_warnx("Main", "cannot set up a connection from %s",
		    p->address);
		preauth_done(&M.pa, &p->pa);
		close(fd);
		free(p);
		return;
	}
	link_dead_after(p->link, M.node->cfg.keepalive_timeout);
	link_expect_hello(p->link);
	p->state = PEER_HANDSHAKE;
	p->serial = ++M.next_serial;
	ev_timer_init(&p->watchdog, watchdog_cb, 0,
	    M.node->cfg.request_timeout);
	p->watchdog.data = p;
	ev_timer_again(l->loop, &p->watchdog);
	TAILQ_INSERT_TAIL(&M.peers, p, entry);
	if ((p->sync = msync_peer_new(p->link, p->ctx)) == NULL)
		link_close(p->link, "out of memory");
}

static int
loopback(const char *a)
{
	return strncmp(a, "127.", 4) == 0 || strcmp(a, "::1") == 0;
}

static void
peer_open(struct link *l)
{
	struct peer		*p = l->arg;
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	char			 addr[64];

	plog_debug(p->ctx, "Main", "TLS established with %s", p->address);
	/* The master's own address for the pools: the local end of a
	 * cluster connection, one from another host rather than loopback. */
	if (getsockname(l->conn->fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    (M.local_address[0] == '\0' || loopback(M.local_address))) {
		conn_addr_string(&ss, addr, sizeof(addr));
		if (strcmp(addr, M.local_address) != 0 &&
		    (M.local_address[0] == '\0' || !loopback(addr))) {
			snprintf(M.local_address, sizeof(M.local_address),
			    "%s", addr);
			pools_self();
		}
	}
}

static int
name_taken(const char *name, void *arg)
{
	struct peer	*p;

	for (p = TAILQ_FIRST(&M.peers); p != NULL; p = TAILQ_NEXT(p, entry))
		if (p != arg && p->state == PEER_READY &&
		    strcmp(p->name, name) == 0)
			return 1;
	return 0;
}

/*
 * What an admitted peer is: "worker", "balancer", or "standby", a standby
 * master that takes the files and nothing else (docs/ha.md).
 */
const char *
mpeer_role(const struct peer *p)
{
	return p->balancer ? "balancer" : p->standby ? "standby" : "worker";
}

/* A worker: agents, enrollment relays, rebalancing, the pools. */
int
mpeer_is_worker(const struct peer *p)
{
	return !p->balancer && !p->standby;
}

/* Remember an admitted peer, for its clusterd_peer_up once it is gone. */
static void
seen_add(const struct peer *p)
{
	size_t	i;

	for (i = 0; i < M.nseen; i++)
		if (strcmp(M.seen[i].name, p->name) == 0)
			break;
	if (i == SEEN_MAX)
		return;
	if (i == M.nseen)
		M.nseen++;
	snprintf(M.seen[i].name, sizeof(M.seen[i].name), "%s", p->name);
	M.seen[i].type = mpeer_role(p);
}

/*
 * Admit or refuse a worker.  A refusal is answered with the reason, then
 * the link is closed once the answer is out.
 */
static void
handle_hello(struct peer *p, const struct frame_hdr *h, const cJSON *body)
{
	struct hello	 hello;
	cJSON		*resp;
	char		 reason[256];

	if (hello_parse(body, &hello, reason, sizeof(reason)) == -1 ||
	    hello_check(&hello, &M.node->cfg, CLUSTERD_VERSION, name_taken, p,
	    reason, sizeof(reason)) == -1 ||
	    mnodes_check(tls_peer_node(p->link->conn->ssl), hello.node_name,
	    hello.node_type, &p->generation, reason, sizeof(reason)) == -1) {
		log_refusal(p->address, hello.node_name, "Refused node %s "
		    "from %s: %s", hello.node_name[0] ? hello.node_name :
		    "(unnamed)", p->address, reason);
		link_respond_error(p->link, h, reason);
		link_close_after_flush(p->link);
		return;
	}
	snprintf(p->name, sizeof(p->name), "%s", hello.node_name);
	snprintf(p->version, sizeof(p->version), "%s", hello.version);
	p->balancer = strcmp(hello.node_type, "balancer") == 0;
	p->standby = hello.standby;
	p->enrollment = hello.enrollment_port != 0 && !p->standby;
	snprintf(p->ctx, sizeof(p->ctx), "%s %s", p->balancer ? "Balancer" :
	    p->standby ? "Standby" : "Worker", p->name);
	p->state = PEER_READY;
	seen_add(p);
	link_hello_done(p->link);
	preauth_done(&M.pa, &p->pa);
	p->connected_since = p->last_keepalive = node_wall_now();
	p->watchdog.repeat = M.node->cfg.keepalive_timeout;
	ev_timer_again(M.node->loop, &p->watchdog);
	resp = hello_build(&M.node->cfg, CLUSTERD_VERSION);
	if (ha_term() != 0)	/* the fencing token peers check */
		cJSON_AddNumberToObject(resp, "term", (double)ha_term());
	link_respond(p->link, h, 0, resp);
	cJSON_Delete(resp);
	plog_info(p->ctx, "Main", "Connected (version %s, address %s).",
	    p->version, p->address);
	if (p->balancer) {
		/* Balancers take no files and no agents: only the pools. */
		msync_peer_free(p->sync);
		p->sync = NULL;
		resp = pools_snapshot();
		link_notify(p->link, FRAME_POOLS, resp);
		cJSON_Delete(resp);
		return;
	}
	msync_peer_ready(p->sync);
	if (p->standby)
		return;		/* the files only: no agents, no pools */
	pools_node_up(&hello, "worker", p->address);
}

/*
 * A worker's health from its keepalive: absent while ok, else why it
 * takes no agents (it cannot store their events).  Logged on change.
 */
static void
peer_health(struct peer *p, const cJSON *h)
{
	const char	*r = cJSON_IsString(h) ? h->valuestring : "";
	char		 shown[sizeof(p->health)];

	snprintf(shown, sizeof(shown), "%s", r);
	if (strcmp(shown, p->health) == 0)
		return;
	if (shown[0] != '\0')
		plog_warnx(p->ctx, "Main", "Takes no agents: %s.", shown);
	else
		plog_info(p->ctx, "Main", "Takes agents again.");
	snprintf(p->health, sizeof(p->health), "%s", shown);
}


static struct peer *
peer_by_serial(unsigned long serial)
{
	struct peer	*p;

	TAILQ_FOREACH(p, &M.peers, entry)
		if (p->serial == serial && p->state == PEER_READY)
			return p;
	return NULL;
}

static struct peer_reply *
peer_reply_new(const struct peer *p, const struct frame_hdr *h)
{
	struct peer_reply	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		fatal("out of memory");
	r->serial = p->serial;
	r->req = *h;
	return r;
}

/* Answer a worker's request, if that worker is still connected. */
static int
reply_peer_sent(struct peer_reply *r, cJSON *resp)
{
	struct peer	*p = peer_by_serial(r->serial);
	int		 sent = p != NULL &&
	    link_respond(p->link, &r->req, 0, resp) == 0;

	cJSON_Delete(resp);
	return sent;
}

static void
reply_peer(void *arg, cJSON *resp)
{
	reply_peer_sent(arg, resp);
	free(arg);
}

/* Found through a map: each enrollment's answer looks its nonce up. */
static struct relayed *
relayed_find(const char *nonce)
{
	struct relayed	*r = strmap_get(&relayed_by_nonce, nonce);

	return r != NULL && ev_now(M.node->loop) - r->at < 60 ? r : NULL;
}

/* The oldest slot of the ring is reused, and its nonce forgotten. */
static struct relayed *
relayed_add(const char *nonce)
{
	struct relayed	*r = &relayed[relayed_next++ % RELAYED_MAX];

	if (r->nonce[0] != '\0' && strmap_get(&relayed_by_nonce, r->nonce) ==
	    r)
		strmap_del(&relayed_by_nonce, r->nonce);
	memset(r, 0, sizeof(*r));
	snprintf(r->nonce, sizeof(r->nonce), "%s", nonce);
	r->at = ev_now(M.node->loop);
	if (strmap_put(&relayed_by_nonce, r->nonce, r) == -1)
		log_warnx("Enrollment", "Out of memory for a relayed "
		    "enrollment.");
	return r;
}

/*
 * The master's answer to a relayed enrollment.  If it cannot reach the
 * worker, or the worker already gave up on it, the agent never gets the
 * key: take the enrollment back.
 */
static void
forwarded_answer(void *arg, const char *answer, const char *id,
    const char *key)
{
	struct peer_reply	*r = arg;
	struct relayed		*rel = NULL;
	cJSON			*j = cJSON_CreateObject();
	int			 aborted = 0;

	if (r->nonce[0] != '\0' && (rel = relayed_find(r->nonce)) != NULL)
		aborted = rel->aborted;
	cJSON_AddStringToObject(j, "answer", answer);
	if (id != NULL) {
		cJSON_AddStringToObject(j, "id", id);
		cJSON_AddStringToObject(j, "key", key);
	}
	if (!reply_peer_sent(r, j) || aborted) {
		if (id != NULL)
			mreg_enroll_abort(id, key);
	} else if (id != NULL && r->nonce[0] != '\0') {
		rel = relayed_add(r->nonce);
		snprintf(rel->id, sizeof(rel->id), "%s", id);
		snprintf(rel->key, sizeof(rel->key), "%s", key);
	}
	free(r);
}

/* A worker gave up waiting for an enrollment it relayed. */
static void
forwarded_abort(const cJSON *body)
{
	const cJSON	*nonce = cJSON_GetObjectItemCaseSensitive(body, "nonce");
	struct relayed	*rel;

	if (!cJSON_IsString(nonce))
		return;
	if ((rel = relayed_find(nonce->valuestring)) != NULL &&
	    rel->id[0] != '\0')
		mreg_enroll_abort(rel->id, rel->key);
	else if (rel == NULL)
		relayed_add(nonce->valuestring)->aborted = 1;
}

static void
forwarded_enroll(struct peer *p, const struct frame_hdr *h,
    const cJSON *body)
{
	const cJSON		*line, *src, *nonce;
	struct enroll_req	 req;
	struct peer_reply	*r;
	char			 answer[ENROLL_ANSWER_MAX];

	/* Handing the role over: no answer.  The link closes when this
	 * node re-executes, and the worker holds the request for the next
	 * master (worker.c), which answers it. */
	if (ha_handing_over())
		return;
	line = cJSON_GetObjectItemCaseSensitive(body, "line");
	src = cJSON_GetObjectItemCaseSensitive(body, "src_ip");
	if (!cJSON_IsString(line) || !cJSON_IsString(src) ||
	    strlen(src->valuestring) >= AGENT_IP_MAX) {
		link_respond_error(p->link, h, "malformed enrollment");
		return;
	}
	if (enroll_parse(line->valuestring, strlen(line->valuestring), &req,
	    answer, sizeof(answer)) == -1) {
		forwarded_answer(peer_reply_new(p, h), answer, NULL, NULL);
		return;
	}
	r = peer_reply_new(p, h);
	nonce = cJSON_GetObjectItemCaseSensitive(body, "nonce");
	if (cJSON_IsString(nonce))
		snprintf(r->nonce, sizeof(r->nonce), "%s", nonce->valuestring);
	mreg_enroll(&req, src->valuestring, forwarded_answer, r);
}

/* Enrollment on the master itself. */
static void
local_answer(void *arg, const char *answer, const char *id, const char *key)
{
	enroll_answer(arg, answer, id, key);
}

static void
local_enroll(struct enroll_client *cl, const struct enroll_req *req,
    const char *line, size_t len, const char *src_ip)
{
	(void)line;
	(void)len;
	mreg_enroll(req, src_ip, local_answer, cl);
}

static const struct enroll_ops master_enroll_ops = {
	local_enroll, mreg_enroll_abort
};

/*
 * Whether the master's own gateway (gateway yes) takes part in
 * rebalancing: by the same rules as a worker, healthy and in service on
 * the balancers.
 */
static int
self_rebalanced(void)
{
	return M.node->cfg.gateway == 1 && !M.stopping && gateway_enabled() &&
	    gwhealth_reason() == NULL && pools_serving(M.node->cfg.node_name);
}

/* The log context of a rebalanced node: the worker's, or the master's. */
static const char *
rebalance_ctx(const struct peer *p)
{
	return p != NULL ? p->ctx : NULL;
}

/* A rebalancing order to a worker, or to the master's own gateway (NULL). */
static int
rebalance_send(struct peer *p, const cJSON *order)
{
	if (p != NULL)
		return link_notify(p->link, FRAME_REBALANCE, order);
	gateway_rebalance(order);
	return 0;
}

/*
 * Even out the workers' agents.  When the busiest and the lightest worker
 * differ by more than rebalance_tolerance percent of the average, each
 * worker above the average is told to move its excess (at most
 * rebalance_chunk a round); the agents reconnect through the balancer.
 * Every worker of the round is also given its share, the average rounded
 * up, for one interval: an agent that starts up on a worker already
 * serving its share is sent on (per worker at most twice the agents the
 * round moves, and rebalance_chunk; shares_clear() drops the shares when
 * a worker leaves or drains, whose agents need places), so
 * the moves converge without help from the balancer (leastconn, weights)
 * and stop at the share.  Moving only down to the average, and waiting a
 * whole interval for the counts to settle, keeps it from oscillating.
 * Workers the balancers do not have UP (new, drained, down) and draining
 * ones take no part.  The master serving agents itself (gateway yes) is
 * one of the nodes, by the same rules (self_rebalanced()).
 */
static void
rebalance_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	const struct config	*c = &M.node->cfg;
	struct peer		*p, *v[256];
	char			*names[256];
	unsigned		 counts[256], total = 0, max = 0, min = ~0u;
	unsigned		 avg, excess, moving = 0, budget;
	size_t			 n = 0, i;
	cJSON			*j;

	(void)loop;
	(void)t;
	(void)revents;
	/* The master's own gateway takes part as a worker does (v[i] NULL). */
	if (self_rebalanced()) {
		v[n] = NULL;
		names[n++] = M.node->cfg.node_name;
	}
	TAILQ_FOREACH(p, &M.peers, entry) {
		if (p->state != PEER_READY || !mpeer_is_worker(p) || p->draining ||
		    n == 256)
			continue;
		if (p->health[0] != '\0')
			continue;	/* takes no agents: neither filled nor emptied */
		if (!pools_serving(p->name)) {
			plog_debug(p->ctx, "Rebalance", "Not in service on the "
			    "balancers yet: left out of this round.");
			continue;
		}
		v[n] = p;
		names[n++] = p->name;
	}
	if (n < 2) {
		log_debug("Rebalance", "%zu worker(s) in service: nothing to "
		    "even out.", n);
		return;
	}
	mreg_node_counts(names, n, NULL, counts);
	for (i = 0; i < n; i++) {
		total += counts[i];
		max = counts[i] > max ? counts[i] : max;
		min = counts[i] < min ? counts[i] : min;
		plog_debug(rebalance_ctx(v[i]), "Rebalance", "%u active "
		    "agent(s).", counts[i]);
	}
	avg = (total + (unsigned)n - 1) / (unsigned)n;
	if (total == 0 || (max - min) * 100 <= c->rebalance_tolerance * avg) {
		log_debug("Rebalance", "Spread %u (%u to %u, average %u) within "
		    "the tolerance of %u%%: no move this round.", max - min,
		    min, max, avg, c->rebalance_tolerance);
		return;
	}
	log_info("Rebalance", "Agents per worker differ by %u (average %u, "
	    "tolerance %u%%): moving the excess.", max - min, avg,
	    c->rebalance_tolerance);
	M.rebalance_rounds++;
	for (i = 0; i < n; i++)
		moving += counts[i] > avg ? counts[i] - avg : 0;
	budget = 2 * moving < c->rebalance_chunk ? 2 * moving :
	    c->rebalance_chunk;
	for (i = 0; i < n; i++) {
		excess = counts[i] > avg ? counts[i] - avg : 0;
		if (excess > c->rebalance_chunk) {
			plog_debug(rebalance_ctx(v[i]), "Rebalance", "%u over "
			    "the average: %u this round (rebalance_chunk).",
			    excess, c->rebalance_chunk);
			excess = c->rebalance_chunk;
		}
		if (excess > 0)
			plog_info(rebalance_ctx(v[i]), "Rebalance", "Asking it "
			    "to move %u of its %u agents.", excess, counts[i]);
		j = cJSON_CreateObject();
		cJSON_AddNumberToObject(j, "agents", excess);
		cJSON_AddNumberToObject(j, "share", avg);
		cJSON_AddNumberToObject(j, "for", c->rebalance_interval);
		cJSON_AddNumberToObject(j, "budget", budget);
		if (rebalance_send(v[i], j) == 0)
			M.rebalance_moves += excess;
		cJSON_Delete(j);
	}
}

/*
 * A worker left or is draining: the shares of the last round no longer
 * add up to the agents (its agents need a place), so every other worker
 * drops its share until the next round.
 */
static void
shares_clear(const struct peer *gone)
{
	struct peer	*p;
	cJSON		*j;

	j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "agents", 0);
	cJSON_AddNumberToObject(j, "share", 0);
	cJSON_AddNumberToObject(j, "for", 0);
	cJSON_AddNumberToObject(j, "budget", 0);
	TAILQ_FOREACH(p, &M.peers, entry)
		if (p != gone && p->state == PEER_READY && mpeer_is_worker(p))
			rebalance_send(p, j);
	if (M.node->cfg.gateway == 1)
		rebalance_send(NULL, j);
	cJSON_Delete(j);
}

/* The master's own gateway reports straight into the registry. */
static int
master_gateway_deliver(const cJSON *report)
{
	mreg_agent_info(report, M.node->cfg.node_name);
	return 0;
}

static const struct gateway_ops master_gateway_ops = {
	mreg_table, master_gateway_deliver, NULL
};

/* A registry change for every connected worker. */
static void
broadcast_delta(const cJSON *delta)
{
	struct peer	*p;

	TAILQ_FOREACH(p, &M.peers, entry)
		if (p->state == PEER_READY && mpeer_is_worker(p))
			link_notify(p->link, FRAME_AGENTS_DELTA, delta);
}

/* An agent leaves the registry: the master's own gateway drops it. */
static void
agent_gone(struct agent *a)
{
	gateway_agent_gone(a, NULL);
}

static const struct mreg_ops master_mreg_ops = {
	broadcast_delta, agent_gone
};

/* The pools' membership for every connected balancer. */
static void
broadcast_pools(const cJSON *pools)
{
	struct peer	*p;

	TAILQ_FOREACH(p, &M.peers, entry)
		if (p->state == PEER_READY && p->balancer)
			link_notify(p->link, FRAME_POOLS, pools);
}

/*
 * The master in the pools: enrollment always, agents with gateway yes,
 * at its own address once known (its bind address, or the local end of
 * the first cluster connection when it listens on every address).
 */
static void
pools_self(void)
{
	struct hello	 h;
	cJSON		*j;
	char		 err[64];

	j = hello_build(&M.node->cfg, CLUSTERD_VERSION);
	if (hello_parse(j, &h, err, sizeof(err)) == 0)
		pools_node_up(&h, "master", strcmp(M.node->cfg.bind_address,
		    "0.0.0.0") != 0 && strcmp(M.node->cfg.bind_address, "::") !=
		    0 ? M.node->cfg.bind_address : M.local_address);
	cJSON_Delete(j);
}

/*
 * A command forwarded from a node's control socket: reads are answered
 * for anyone; a change (control_is_write) only with worker_writes set,
 * and it is logged with the node and the local user who asked.
 */
static int
peer_may_command(struct peer *p, const struct frame_hdr *h,
    const cJSON *body)
{
	const cJSON	*cmd = cJSON_GetObjectItemCaseSensitive(body, "command");
	const cJSON	*user = cJSON_GetObjectItemCaseSensitive(body,
			    "origin_user");

	if (!cJSON_IsString(cmd) || !control_is_write(cmd->valuestring))
		return 1;
	if (!M.node->cfg.worker_writes) {
		log_refusal(p->address, "command", "Refused command %s from "
		    "%s %s: cluster-wide changes are made on the master "
		    "(worker_writes no).", cmd->valuestring, p->balancer ?
		    "balancer" : "worker", p->name);
		reply_peer(peer_reply_new(p, h), control_error("cluster-wide "
		    "changes are made on the master (its worker_writes is "
		    "no)"));
		return 0;
	}
	plog_info(p->ctx, "Control", "Command %s from %s.", cmd->valuestring,
	    cJSON_IsString(user) ? user->valuestring : "an unknown user");
	return 1;
}

/*
 * Only a node that said in its hello that it serves enrollment relays
 * enrollments (and their aborts).
 */
static int
peer_serves_enrollment(struct peer *p, const struct frame_hdr *h)
{
	if (p->enrollment)
		return 1;
	log_refusal(p->address, "enrollment relay", "Refused an enrollment "
	    "relayed by %s %s: it does not serve enrollment.", p->balancer ?
	    "balancer" : "worker", p->name);
	link_respond_error(p->link, h, "this node does not serve enrollment");
	return 0;
}

static void
peer_request(struct link *l, const struct frame_hdr *h, const cJSON *body,
    const uint8_t *payload)
{
	struct peer	*p = l->arg;
	const cJSON	*id, *key;
	cJSON		*resp;
	unsigned	 n;

	(void)payload;
	if (p->state != PEER_READY && h->type != FRAME_HELLO) {
		link_close(l, "protocol error: request before hello");
		return;
	}
	/* Any request proves the worker alive, not only keepalives: a busy
	 * link must not look silent. */
	if (p->state == PEER_READY)
		ev_timer_again(M.node->loop, &p->watchdog);
	if (p->sync != NULL && msync_on_request(p->sync, h, body))
		return;
	/* Each role may send only its own kind of request. */
	if (p->balancer && h->type != FRAME_KEEPALIVE &&
	    h->type != FRAME_CONTROL && h->type != FRAME_POOL_REPORT) {
		link_respond_error(l, h, "not a balancer's request");
		return;
	}
	/* A standby's sync requests went to msync above. */
	if (p->standby && h->type != FRAME_KEEPALIVE) {
		log_refusal(p->address, "standby request", "Refused a request "
		    "of type %u from standby %s: it takes files only.",
		    (unsigned)h->type, p->name);
		link_respond_error(l, h, "not a standby's request");
		return;
	}
	if (!p->balancer && h->type == FRAME_POOL_REPORT) {
		log_refusal(p->address, "pool report", "Refused a pool report "
		    "from worker %s: only balancers send them.", p->name);
		link_respond_error(l, h, "not a worker's request");
		return;
	}
	switch (h->type) {
	case FRAME_HELLO:
		if (p->state == PEER_READY) {
			link_close(l, "protocol error: second hello");
			return;
		}
		handle_hello(p, h, body);
		break;
	case FRAME_KEEPALIVE:
		p->last_keepalive = node_wall_now();
		ev_timer_again(M.node->loop, &p->watchdog);
		plog_debug(p->ctx, "Keep alive", "Received keep alive.");
		peer_health(p, cJSON_GetObjectItemCaseSensitive(body, "health"));
		link_respond(l, h, 0, NULL);
		break;
	case FRAME_CONTROL:
		if (!peer_may_command(p, h, body))
			break;
		master_command(body, reply_peer, peer_reply_new(p, h));
		break;
	case FRAME_ENROLL:
		if (!peer_serves_enrollment(p, h))
			break;
		forwarded_enroll(p, h, body);
		break;
	case FRAME_ENROLL_ABORT:
		if (!peer_serves_enrollment(p, h))
			break;
		id = cJSON_GetObjectItemCaseSensitive(body, "id");
		key = cJSON_GetObjectItemCaseSensitive(body, "key");
		if (cJSON_IsString(id) && cJSON_IsString(key))
			mreg_enroll_abort(id->valuestring, key->valuestring);
		else
			forwarded_abort(body);
		break;
	case FRAME_AGENT_INFO:
		if ((n = mreg_agent_info(body, p->name)) > 0)
			log_refusal(p->address, "agent report", "Refused the "
			    "reports of worker %s on %u agents that another "
			    "worker serves.", p->name, n);
		break;
	case FRAME_POOL_REPORT:
		pools_report(p->name, body);
		break;
	case FRAME_DRAIN:
		if (!p->draining) {
			plog_info(p->ctx, "Rebalance", "Draining before it "
			    "stops: left out of rebalancing.");
			shares_clear(p);
		}
		p->draining = 1;
		break;
	case FRAME_AGENTS_CHECK:
		resp = mreg_check(p->name, body);
		if (resp == NULL) {
			resp = cJSON_CreateObject();
			cJSON_AddBoolToObject(resp, "in_sync", 1);
		}
		link_respond(l, h, 0, resp);
		cJSON_Delete(resp);
		break;
	default:
		link_respond_error(l, h, "unsupported request");
		break;
	}
}

static void
peer_drain(struct link *l)
{
	struct peer	*p = l->arg;

	if (p->sync != NULL)
		msync_on_drain(p->sync);
}

static void
peer_close(struct link *l, const char *reason)
{
	struct peer	*p = l->arg;
	unsigned	 n;
	char		 why[160];

	ev_timer_stop(M.node->loop, &p->watchdog);
	preauth_done(&M.pa, &p->pa);
	msync_peer_free(p->sync);
	p->sync = NULL;
	if (p->state == PEER_READY) {
		plog_info(p->ctx, "Main", "Disconnected: %s.", reason);
		if (p->balancer)
			pools_balancer_down(p->name);
		else if (!p->standby) {
			pools_node_down(p->name);
			if (!M.stopping && !p->draining)
				shares_clear(p);
			if (!M.stopping && (n = mreg_node_lost(p->name)) > 0)
				plog_info(p->ctx, "Main", "%u agents of %s are "
				    "disconnected until they report again.", n,
				    p->name);
		}
	}
	else if (strncmp(reason, "TLS handshake", 13) == 0) {
		mnodes_explain(tls_peer_node(p->link->conn->ssl), why,
		    sizeof(why));
		log_refusal(p->address, "tls", "Refused connection from %s: "
		    "%s (%s)", p->address, reason, why);
	}
	else
		log_debug("Main", "Connection from %s closed before hello: %s",
		    p->address, reason);
	TAILQ_REMOVE(&M.peers, p, entry);
	reap_later(peer_free, p);
}

static struct peer *
peer_by_name(const char *name)
{
	struct peer	*p;

	TAILQ_FOREACH(p, &M.peers, entry)
		if (p->state == PEER_READY && strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

/*
 * For mscope: a node that may still serve agents (the master's own).  A
 * standby serves none, even under the name of a master that once served
 * agents itself (gateway yes).
 */
static int
node_is_up(const char *name)
{
	struct peer	*p = peer_by_name(name);

	return (p != NULL && !p->standby) ||
	    strcmp(name, M.node->cfg.node_name) == 0;
}

/*
 * The nodes_file changed: a node no longer listed as it was admitted
 * (removed, revoked, a new generation, another role) is cut off now.
 */
static void
peers_recheck(void)
{
	struct peer	*p, *next;

	for (p = TAILQ_FIRST(&M.peers); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (p->state != PEER_READY ||
		    mnodes_admits(p->name, p->standby ? "master" :
		    mpeer_role(p), p->generation))
			continue;
		plog_warnx(p->ctx, "Main", "No longer admitted by nodes_file: "
		    "disconnecting.");
		link_close(p->link, "credential revoked");
	}
}

/*
 * A collector (metrics.h): the registry's agents and enrollments, each
 * peer seen since start (up or not, its queue and sync, a worker's active
 * agents), rebalancing.
 */
static void
master_metrics(struct metrics *m, void *arg)
{
	unsigned long	 st[AGENTS_NSTATUS], accepted, refused;
	unsigned	 counts[SEEN_MAX + 1];
	char		*names[SEEN_MAX + 1];
	struct peer	*p;
	size_t		 i, n = 0;

	(void)arg;
	if (M.node->cfg.gateway == 1)	/* its own agents, as a worker's */
		names[n++] = M.node->cfg.node_name;
	agents_count_status(mreg_table(), st);
	for (i = 0; i < AGENTS_NSTATUS; i++)
		metrics_put(m, &M_AGENTS, (double)st[i], "status",
		    agents_statuses[i], NULL);
	mreg_enroll_counts(&accepted, &refused);
	metrics_put(m, &M_ENROLLMENTS, (double)accepted, "result", "accepted",
	    NULL);
	metrics_put(m, &M_ENROLLMENTS, (double)refused, "result", "refused",
	    NULL);
	for (i = 0; i < M.nseen; i++) {
		p = peer_by_name(M.seen[i].name);
		metrics_put(m, &M_PEER_UP, p != NULL, "peer", M.seen[i].name,
		    "type", M.seen[i].type, NULL);
		if (p == NULL)
			continue;
		metrics_put(m, &M_PEER_QUEUE, (double)link_queued(p->link),
		    "peer", p->name, NULL);
		if (p->sync != NULL)
			msync_peer_metrics(p->sync, m, p->name);
		if (mpeer_is_worker(p))
			names[n++] = p->name;
	}
	mreg_node_counts(names, n, NULL, counts);
	for (i = 0; i < n; i++)
		metrics_put(m, &M_PEER_AGENTS, counts[i], "peer", names[i],
		    NULL);
	metrics_put(m, &M_REBALANCE_ROUNDS, (double)M.rebalance_rounds, NULL);
	metrics_put(m, &M_REBALANCE_MOVES, (double)M.rebalance_moves, NULL);
}

int
master_start(struct node *n)
{
	M.node = n;
	M.stopping = 0;
	TAILQ_INIT(&M.peers);
	metrics_register(master_metrics, NULL);
	/* The registry first: it writes etc/client.keys, which the first
	 * local integrity scan then sees. */
	mscope_start(node_is_up, n->cfg.connection_overtake_time);
	if (mnodes_start(n, peers_recheck) == -1 ||
	    mreg_start(n, &master_mreg_ops) == -1 ||
	    mshared_start(n, mreg_table) == -1 || msync_start(n) == -1 ||
	    enroll_start(n, &master_enroll_ops) == -1 ||
	    pools_start(n, broadcast_pools) == -1)
		return -1;
	pools_self();
	if (n->cfg.rebalance) {
		ev_timer_init(&M.rebalance, rebalance_cb,
		    n->cfg.rebalance_interval, n->cfg.rebalance_interval);
		ev_timer_start(n->loop, &M.rebalance);
	}
	/* Agents on the master only when asked for (gateway yes). */
	if (n->cfg.gateway == 1 && gateway_start(n, &master_gateway_ops) == -1)
		return -1;
	preauth_init(&M.pa, n->loop, &n->cfg, "Main", "cluster connections",
	    "hello", preauth_expire);
	if (listener_tcp(&M.listener, n->loop, n->cfg.bind_address,
	    n->cfg.port, 128, "Main", "cluster nodes", accept_cb, NULL) == -1)
		return -1;
	listener_set_preauth(&M.listener, &M.pa);
	log_info("Main", "Serving on %s:%u.", n->cfg.bind_address,
	    n->cfg.port);
	return 0;
}

void
master_stop(void)
{
	struct peer	*p;

	M.stopping = 1;		/* the workers' agents are not lost */
	metrics_unregister(master_metrics, NULL);
	listener_close(&M.listener);
	mnodes_stop();
	mscope_stop();
	enroll_stop();
	gateway_stop();
	ev_timer_stop(M.node->loop, &M.rebalance);
	while ((p = TAILQ_FIRST(&M.peers)) != NULL)
		link_close(p->link, "master shutting down");
	preauth_stop(&M.pa);
	msync_stop();
	mshared_stop();
	mreg_stop();
	pools_stop();
	strmap_free(&relayed_by_nonce);
	memset(relayed, 0, sizeof(relayed));
}

/* Timers changed by a reload apply to every connected worker. */
void
master_reconfigure(void)
{
	struct peer	*p;

	TAILQ_FOREACH(p, &M.peers, entry) {
		p->watchdog.repeat = p->state == PEER_READY ?
		    M.node->cfg.keepalive_timeout :
		    M.node->cfg.request_timeout;
		ev_timer_again(M.node->loop, &p->watchdog);
		p->link->req_timeout = M.node->cfg.request_timeout;
	}
	msync_reconfigure();
	mreg_reload();
}
