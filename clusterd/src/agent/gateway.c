/*
 * gateway: the agents' port (gateway.h).  Accepts the connections, reads
 * their frames, opens each agent's messages with its key, archives events,
 * answers startups and keepalives, closes and counts the refused ones;
 * also the gateway's start and stop, its status and metrics.  The reports
 * to the master are in gwreport.c, merged.mg pushes in gwpush.c,
 * agent-check, drains and shares in gwlb.c; the state they share is in
 * gw_int.h.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent/agents.h"
#include "agent/archives.h"
#include "agent/gateway.h"
#include "agent/gw_int.h"
#include "agent/gwhealth.h"
#include "agent/keepalive.h"
#include "agent/merged.h"
#include "agent/secmsg.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/node.h"
#include "net/conn.h"
#include "net/listener.h"
#include "net/preauth.h"

#define TASK		GW_TASK
#define OUT_LIMIT	(64 * 1024)	/* queued to one agent, then dropped */
#define READ_MAX	(16 * 1024)	/* read from one agent a wake-up */
#define ACK		"#!-agent ack "
#define FORCE		GW_FORCE
#define GATEWAY_NOFILE	(256 * 1024)	/* descriptors asked for */
#define MERGED_RECHECK	1.0		/* seconds a merged.mg's stat() is trusted */

static const char *const reject_names[REJ_COUNT] = {
	"message without an agent id (identification by source IP is not "
	    "possible behind a load balancer)",
	"malformed message", "unknown agent id", "undecryptable message "
	    "(wrong key?)", "frame length over the limit",
	"agent already connected", "agent id changed on a connection",
	"agent too slow to read", "PROXY header from a peer proxy_from does "
	    "not list", "this node cannot store events"
};
/* The same reasons as metric labels. */
static const char *const reject_labels[REJ_COUNT] = {
	"no_id", "malformed", "unknown_agent", "bad_key", "too_long",
	"duplicate", "id_changed", "slow_reader", "proxy_unlisted",
	"not_storing"
};

static const struct metrics_def M_CONNECTIONS = {
	"clusterd_gateway_connections", METRICS_GAUGE,
	"Connections open on the agents' port, identified or not."
};
static const struct metrics_def M_AGENTS = {
	"clusterd_gateway_agents", METRICS_GAUGE,
	"Agents connected to this node's agents' port (identified connections)."
};
static const struct metrics_def M_MESSAGES = {
	"clusterd_gateway_messages_total", METRICS_COUNTER,
	"Agents' messages handled."
};
static const struct metrics_def M_EVENTS = {
	"clusterd_gateway_events_total", METRICS_COUNTER,
	"Agents' events handed to the archives (those it could not store "
	"included: clusterd_gateway_events_unstored_total)."
};
static const struct metrics_def M_PUSHES = {
	"clusterd_gateway_shared_pushes_total", METRICS_COUNTER,
	"merged.mg files sent to agents whose keepalive showed another sum."
};
static const struct metrics_def M_PUSHED = {
	"clusterd_gateway_shared_bytes_total", METRICS_COUNTER,
	"Bytes of merged.mg files sent to agents (before encryption)."
};
static const struct metrics_def M_REJECTED = {
	"clusterd_gateway_rejected_total", METRICS_COUNTER,
	"Agent connections closed, by reason."
};
static const struct metrics_def M_LB_STATE = {
	"clusterd_gateway_lb_state", METRICS_GAUGE,
	"1 for this node's answer to HAProxy's agent-check (ready, drain or "
	"maint), 0 for the others."
};

struct gw_state gw_state = { .listener.fd = -1, .check.fd = -1 };	/* gw_int.h */

static void conn_cb(struct ev_loop *, ev_io *, int);

/*
 * Close a connection.  The master hears that an agent's connection here
 * closed: another worker may take the agent over at once, rather than
 * after connection_overtake_time (mscope.h).
 */
void
gw_close(struct gwconn *c)
{
	cJSON	*u;

	ev_io_stop(G.node->loop, &c->io);
	close(c->fd);
	preauth_done(&G.pa, &c->pa);
	gw_push_cancel(c);
	if (c->agent != NULL && c->agent->gw == c) {
		c->agent->gw = NULL;
		gw_left_add(c->agent);
		gw_alive_drop(c->agent);
		if (G.updates != NULL && (u = cJSON_CreateObject()) != NULL) {
			cJSON_AddStringToObject(u, "id", c->agent->id);
			cJSON_AddBoolToObject(u, "closed", 1);
			cJSON_AddItemToArray(G.updates, u);
			gw_queued();
		}
		gw_note_counters(c->agent);
	}
	if (c->served)
		G.nserved--;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		G.conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	G.nconns--;
	framer_free(&c->in);
	free(c->out);
	free(c);
}

void
gw_reject(struct gwconn *c, enum reject why, const char *detail)
{
	ev_tstamp	now = ev_now(G.node->loop);

	G.rejected[why]++;
	if (now - G.rej_logged[why] >= 60) {
		log_warnx(TASK, "Closed a connection from %s: %s%s%s%s.",
		    c->addr, reject_names[why], detail ? " " : "",
		    detail ? detail : "", G.rej_quiet[why] ? " (and others "
		    "like it in the last minute)" : "");
		G.rej_logged[why] = now;
		G.rej_quiet[why] = 0;
	} else
		G.rej_quiet[why]++;
	gw_close(c);
}

/* Send one frame (4-byte little-endian length, then the bytes). */
static int
send_frame(struct gwconn *c, const uint8_t *p, size_t n)
{
	uint8_t	hdr[4] = { (uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16),
	    (uint8_t)(n >> 24) };
	struct iovec iov[2] = { { hdr, 4 }, { (void *)(uintptr_t)p, n } };
	ssize_t	w = 0;
	size_t	rest;
	uint8_t	*q;

	if (c->outlen == c->outoff) {
		w = writev(c->fd, iov, 2);
		if (w == -1 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (w == -1)
			w = 0;
	}
	if ((size_t)w == n + 4)
		return 0;
	rest = n + 4 - (size_t)w;
	if (c->outlen - c->outoff + rest > OUT_LIMIT)
		return -1;
	if ((q = realloc(c->out, c->outlen - c->outoff + rest)) == NULL)
		return -1;
	memmove(q, q + c->outoff, c->outlen - c->outoff);
	c->outlen -= c->outoff;
	c->outoff = 0;
	c->out = q;
	if ((size_t)w < 4) {
		memcpy(c->out + c->outlen, hdr + w, 4 - (size_t)w);
		c->outlen += 4 - (uint32_t)w;
		w = 0;
	} else
		w -= 4;
	memcpy(c->out + c->outlen, p + w, n - (size_t)w);
	c->outlen += (uint32_t)(n - (size_t)w);
	ev_io_stop(G.node->loop, &c->io);
	ev_io_set(&c->io, c->fd, EV_READ | EV_WRITE);
	ev_io_start(G.node->loop, &c->io);
	return 0;
}

/*
 * Seal a message for the agent, in its own cipher, and send it.  Quick:
 * an ack goes stored, not compressed (secmsg.h): a thirtieth of the CPU.
 */
int
gw_send_sealed(struct gwconn *c, const char *msg, size_t len)
{
	struct secmsg_counters	 ctr;
	uint8_t			 buf[2 * MERGED_CHUNK + 512];
	size_t			 n;

	ctr.random = (unsigned)random() % 100000;
	ctr.global = ++G.global;
	ctr.local = (unsigned)(G.global % 10000);
	if (len > 2 * MERGED_CHUNK || secmsg_seal_quick(&c->key, c->cipher,
	    NULL, msg, len, &ctr, buf, sizeof(buf), &n) == -1 ||
	    send_frame(c, buf, n) == -1)
		return -1;
	return 0;
}

int
gw_send_control(struct gwconn *c, const char *msg)
{
	return gw_send_sealed(c, msg, strlen(msg));
}

static uint32_t
fnv32(const char *s, size_t n)
{
	uint32_t	h = 2166136261u;
	size_t		i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

/* A decrypted message from a's connection; -1 if it was closed. */
static int
dispatch(struct gwconn *c, struct agent *a, const char *msg, size_t len)
{
	struct keepalive	 k;
	const char		*prev = agent_status(a);
	cJSON			*info = NULL;
	uint32_t		 h;
	int			 changed, synced, away;

	G.messages++;
	if (len < 3 || strncmp(msg, "#!-", 3) != 0) {
		archives_event(a, msg, len);
		G.events++;
		return 0;
	}
	if (strncmp(msg, "#!-agent startup", 16) == 0) {
		if ((away = gw_bounce(c)) && gw_send_control(c, FORCE) == -1) {
			gw_reject(c, REJ_SLOW, NULL);
			return -1;
		}
		if (away)
			return 0;
		gw_set_status(a, "pending");
		/* or the sweep drops it */
		a->last_keepalive = agent_time((double)time(NULL));
		gw_report(a, NULL);
		goto ack;
	}
	if (strncmp(msg, "#!-agent shutdown", 17) == 0) {
		gw_set_status(a, "disconnected");
		gw_report(a, NULL);
		return 0;
	}
	if (strncmp(msg, "#!-req ", 7) == 0 || strncmp(msg, "#!-agent ", 9) ==
	    0)
		return 0;	/* answers to our requests; none are sent yet */
	/* A keepalive: ack it; report only what changed. */
	changed = strcmp(prev, "active") != 0;
	gw_set_status(a, "active");
	a->last_keepalive = agent_time((double)time(NULL));
	h = fnv32(msg, len);
	synced = gw_shared_check(c, a, msg + 3);
	if (changed || h != a->info_hash || synced) {
		a->info_hash = h;
		if (keepalive_parse(msg + 3, &k) == 0) {
			/* Only an address goes on: not a name, not garbage. */
			if (agent_set_reported_ip(a, k.agent_ip) == -1)
				k.agent_ip[0] = '\0';
			info = keepalive_json(&k);
			keepalive_free(&k);
		}
		if (c->sync != SYNC_UNKNOWN) {
			if (info == NULL)
				info = cJSON_CreateObject();
			cJSON_AddStringToObject(info, "group_config_status",
			    c->sync == SYNC_YES ? "synced" : "not synced");
		}
		gw_report(a, info);
	} else
		gw_alive(a);
	gw_note_counters(a);
ack:
	/* An agent asked to leave is not answered any more: an ack it would
	 * not read could turn its close into a reset, and a reset can drop
	 * the events it sent last on their way through a balancer. */
	if (c->asked)
		return 0;
	if (gw_send_control(c, ACK) == -1) {
		gw_reject(c, REJ_SLOW, NULL);
		return -1;
	}
	if (!c->served) {
		c->served = 1;
		G.nserved++;
	}
	return 0;
}

/*
 * One frame from connection arg (a framer_fn).  Returns 0 to go on, -1
 * when the connection was closed.
 */
static int
frame(void *arg, const uint8_t *m, size_t len)
{
	struct gwconn		*c = arg;
	static char		 msg[SECMSG_MAX + 1];
	struct secmsg_key	 fresh;
	const struct secmsg_key	*key = &c->key;
	struct secmsg_counters	 ctr;
	enum secmsg_cipher	 ci;
	struct agent		*a;
	struct gwconn		*old;
	const uint8_t		*ct;
	const char		*why;
	char			 id[SECMSG_ID_MAX];
	size_t			 ctlen, mlen;

	switch (secmsg_split(m, len, id, &ci, &ct, &ctlen)) {
	case SECMSG_PING:
		if (send_frame(c, (const uint8_t *)"#pong", 5) == -1) {
			gw_reject(c, REJ_SLOW, NULL);
			return -1;
		}
		return 0;
	case SECMSG_NO_ID:
		gw_reject(c, REJ_NO_ID, NULL);
		return -1;
	case SECMSG_BAD:
		gw_reject(c, REJ_BAD, NULL);
		return -1;
	case SECMSG_OK:
		break;
	}
	if ((a = agents_by_id(G.ops->table(), id)) == NULL) {
		gw_reject(c, REJ_UNKNOWN, id);
		return -1;
	}
	if (c->agent != NULL && c->agent != a) {
		gw_reject(c, REJ_SWITCH, id);
		return -1;
	}
	/* The key is derived (two MD5s and more) once per connection, not
	 * for every message and every ack. */
	if (c->agent != a) {
		secmsg_derive(a->id, a->name, AGENT_KEY_OF(a), &fresh);
		key = &fresh;
	}
	if (secmsg_open(key, ci, ct, ctlen, msg, sizeof(msg), &mlen, &ctr,
	    &why) == -1) {
		gw_reject(c, REJ_KEY, id);
		return -1;
	}
	if (G.node->cfg.enforce_counters && !secmsg_counters_newer(&ctr,
	    a->last_global, a->last_local))
		return 0;		/* a replay: dropped */
	a->last_global = secmsg_global32(ctr.global);
	a->last_local = ctr.local;
	c->cipher = ci;
	if (a->gw != c) {
		old = a->gw;
		if (old != NULL && ev_now(G.node->loop) - old->last_rx <
		    G.node->cfg.connection_overtake_time) {
			gw_reject(c, REJ_DUP, id);
			return -1;
		}
		if (old != NULL)
			gw_close(old);
		a->gw = c;
		a->gw_seen |= GW_SERVED;
		c->agent = a;
		/* The connection's source: the PROXY header's when a balancer
		 * sent one (listener.c), checked there and again here. */
		agent_set_source_ip(a, c->addr);
		c->key = *key;
		preauth_done(&G.pa, &c->pa);	/* identified */
	}
	c->last_rx = ev_now(G.node->loop);
	return dispatch(c, a, msg, mlen);
}

static void
flush_out(struct gwconn *c)
{
	ssize_t	w;

	while (c->outoff < c->outlen) {
		w = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
		if (w == -1) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			gw_close(c);
			return;
		}
		c->outoff += (uint32_t)w;
	}
	free(c->out);
	c->out = NULL;
	c->outlen = c->outoff = 0;
	ev_io_stop(G.node->loop, &c->io);
	ev_io_set(&c->io, c->fd, EV_READ);
	ev_io_start(G.node->loop, &c->io);
}

/*
 * One read a wake-up, into a buffer all connections share: a keepalive
 * costs one read(), where reading header and frame apart, then to EAGAIN,
 * cost three.  READ_MAX bounds what one agent gets a turn; the rest waits
 * in the socket for the next wake-up (level-triggered).
 */
static void
conn_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	static uint8_t	 buf[READ_MAX];
	struct gwconn	*c = w->data;
	ssize_t		 n;

	(void)loop;
	if (revents & EV_WRITE) {
		flush_out(c);
		return;		/* c may be gone; reading resumes next wake */
	}
	if ((n = read(c->fd, buf, sizeof(buf))) == -1 && (errno == EAGAIN ||
	    errno == EINTR))
		return;
	if (n <= 0) {
		gw_close(c);
		return;
	}
	switch (framer_feed(&c->in, buf, (size_t)n, frame, c)) {
	case FRAMER_BAD:
		/* "PROX" or v2's "\r\n\r\n": listed peers' headers were
		 * read by the listener. */
		gw_reject(c, memcmp(c->in.hdr, "PROX", 4) == 0 ||
		    memcmp(c->in.hdr, "\r\n\r\n", 4) == 0 ? REJ_PROXY :
		    REJ_LENGTH, NULL);
		break;
	case FRAMER_NOMEM:
		gw_close(c);
		break;
	}
}

/* A connection that named no agent within preauth_timeout. */
static void
preauth_expire(struct preauth *pa, struct preauth_entry *e)
{
	(void)pa;
	gw_close(e->owner);
}

/*
 * A new agent connection: counted as not identified (and timed out) until
 * its first message names a known agent.
 */
static void
accept_cb(struct listener *l, int fd, const char *addr, void *arg)
{
	struct gwconn	*c;
	int		 one = 1;

	(void)arg;
	if (gwhealth_reason() != NULL) {
		G.rejected[REJ_STORAGE]++;	/* the failure was logged */
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	if (preauth_add(&G.pa, &c->pa, addr, c) == -1) {
		close(fd);
		free(c);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* An agent (or a balancer) gone without a FIN frees its slot. */
	conn_dead_after(fd, G.node->cfg.connection_overtake_time);
	c->fd = fd;
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	c->last_rx = ev_now(l->loop);
	ev_io_init(&c->io, conn_cb, fd, EV_READ);
	c->io.data = c;
	ev_io_start(l->loop, &c->io);
	c->next = G.conns;
	if (G.conns != NULL)
		G.conns->prev = c;
	G.conns = c;
	G.nconns++;
}

/* Every agent connection closed (gwhealth.h); returns how many. */
static unsigned
close_all(void)
{
	unsigned	n = 0;

	while (G.conns != NULL) {
		gw_close(G.conns);
		n++;
	}
	return n;
}

/* Many agents, one fd each: take the hard limit as the soft one. */
static void
raise_nofile(void)
{
	struct rlimit	rl = { GATEWAY_NOFILE, GATEWAY_NOFILE };

	/* As root, up to GATEWAY_NOFILE; otherwise the soft limit to the hard. */
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1 &&
	    getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536)
		log_warnx(TASK, "File descriptor limit %lu: at most that many "
		    "agents can connect (raise LimitNOFILE).",
		    (unsigned long)rl.rlim_cur);
}

/* A collector (metrics.h): the agents' port. */
static void
gateway_metrics(struct metrics *m, void *arg)
{
	static const struct {
		enum gateway_lb_state	 st;
		const char		*name;
	} states[] = {
		{ GATEWAY_READY, "ready" }, { GATEWAY_DRAIN, "drain" },
		{ GATEWAY_MAINT, "maint" }
	};
	struct gwconn	*c;
	size_t		 agents = 0;
	int		 i;

	(void)arg;
	for (c = G.conns; c != NULL; c = c->next)
		if (c->agent != NULL)
			agents++;
	metrics_put(m, &M_CONNECTIONS, (double)G.nconns, NULL);
	metrics_put(m, &M_AGENTS, (double)agents, NULL);
	metrics_put(m, &M_MESSAGES, (double)G.messages, NULL);
	metrics_put(m, &M_EVENTS, (double)G.events, NULL);
	metrics_put(m, &M_PUSHES, (double)G.pushes, NULL);
	metrics_put(m, &M_PUSHED, (double)G.pushed_bytes, NULL);
	for (i = 0; i < REJ_COUNT; i++)
		metrics_put(m, &M_REJECTED, (double)G.rejected[i], "reason",
		    reject_labels[i], NULL);
	for (i = 0; i < 3; i++)
		metrics_put(m, &M_LB_STATE, G.lb_state == states[i].st, "state",
		    states[i].name, NULL);
}

int
gateway_start(struct node *n, const struct gateway_ops *ops)
{
	double	sweep;

	G.node = n;
	G.ops = ops;
	G.updates = cJSON_CreateArray();
	buf_init(&G.alive);
	G.counters = cJSON_CreateArray();
	G.global = (unsigned long)time(NULL) % 1000000000ul * 10;
	if (secmsg_init() == -1)
		log_warnx(TASK, "OpenSSL's legacy provider is missing: legacy "
		    "Blowfish agents cannot be read.");
	if (archives_open(n->loop, n->cfg.home, n->cfg.node_name) == -1)
		return -1;
	raise_nofile();
	preauth_init(&G.pa, n->loop, &n->cfg, TASK, "agent connections",
	    "agent message", preauth_expire);
	if (listener_tcp(&G.listener, n->loop, n->cfg.gateway_address,
	    n->cfg.gateway_port, 4096, TASK, "agents", accept_cb, NULL) == -1)
		return -1;
	listener_set_preauth(&G.listener, &G.pa);
	if (listener_set_proxy(&G.listener, &n->cfg, "agents") == -1)
		return -1;
	if (n->cfg.agent_check_port != 0 && listener_tcp(&G.check, n->loop,
	    n->cfg.gateway_address, n->cfg.agent_check_port, 64, TASK,
	    "agent-checks", gw_check_cb, NULL) == -1)
		return -1;
	ev_timer_init(&G.flush, gw_flush_cb, GATEWAY_FLUSH, GATEWAY_FLUSH);
	ev_timer_start(n->loop, &G.flush);
	sweep = agents_sweep_interval(n->cfg.agents_disconnection_time);
	ev_timer_init(&G.sweep, gw_sweep_cb, sweep, sweep);
	ev_timer_start(n->loop, &G.sweep);
	merged_cache_init(&G.merged, n->cfg.home, MERGED_RECHECK);
	ev_timer_init(&G.push_timer, gw_push_cb, GW_PUSH_TICK, GW_PUSH_TICK);
	ev_timer_start(n->loop, &G.push_timer);
	metrics_register(gateway_metrics, NULL);
	gwhealth_start(n->loop, ops->health, close_all);
	log_info(TASK, "Serving agents on %s:%u.", n->cfg.gateway_address,
	    n->cfg.gateway_port);
	return 0;
}

void
gateway_stop(void)
{
	if (G.node == NULL)
		return;
	metrics_unregister(gateway_metrics, NULL);
	gwhealth_stop();
	listener_close(&G.listener);
	listener_close(&G.check);
	ev_timer_stop(G.node->loop, &G.flush);
	ev_timer_stop(G.node->loop, &G.sweep);
	ev_timer_stop(G.node->loop, &G.push_timer);
	while (G.conns != NULL)
		gw_close(G.conns);
	free(G.left);
	G.left = NULL;
	G.nleft = G.capleft = 0;
	merged_cache_free(&G.merged);
	preauth_stop(&G.pa);
	cJSON_Delete(G.updates);
	buf_free(&G.alive);
	cJSON_Delete(G.counters);
	G.updates = G.counters = NULL;
	archives_close();
	secmsg_shutdown();
	G.node = NULL;
}

/*
 * An agent leaves the table: removed on the master (its connection is
 * closed), or replaced by a resynchronized copy (the connection moves to
 * the copy when the key is the same).
 */
void
gateway_agent_gone(struct agent *a, struct agent *r)
{
	struct gwconn	*c = a->gw;

	if (G.node == NULL)
		return;
	if (r != NULL && agent_same_key(r, a)) {
		r->status = a->status;
		r->last_keepalive = a->last_keepalive;
		r->disconnection_time = a->disconnection_time;
		r->info_hash = a->info_hash;
		r->last_global = a->last_global;
		r->last_local = a->last_local;
		r->gw_seen = a->gw_seen;
		agent_set_source_ip(r, AGENT_ADDR_OF(a, AGENT_SOURCE_IP));
		agent_set_reported_ip(r, AGENT_ADDR_OF(a, AGENT_REPORTED_IP));
		r->gw = c;
		if (c != NULL) {
			c->agent = r;
			secmsg_derive(r->id, r->name, AGENT_KEY_OF(r), &c->key);
		}
		a->gw = NULL;
		return;
	}
	if (c != NULL) {
		log_info(TASK, "Agent %s was removed: closing its connection.",
		    a->id);
		c->agent = NULL;
		a->gw = NULL;
		gw_close(c);
	}
}

/* Ask an agent to reconnect (through the balancer, elsewhere perhaps). */
int
gateway_force_reconnect(struct agent *a)
{
	struct gwconn	*c = a->gw;

	if (c == NULL)
		return -1;
	return gw_send_control(c, FORCE);
}

void
gateway_status(cJSON *o)
{
	cJSON	*g = cJSON_AddObjectToObject(o, "gateway"), *r;
	int	 i;

	cJSON_AddNumberToObject(g, "connections", (double)G.nconns);
	cJSON_AddNumberToObject(g, "unidentified", (double)G.pa.npending);
	cJSON_AddNumberToObject(g, "silent_timed_out", (double)G.pa.timeouts);
	cJSON_AddNumberToObject(g, "silent_refused", (double)G.pa.refused);
	cJSON_AddNumberToObject(g, "messages", (double)G.messages);
	cJSON_AddNumberToObject(g, "events", (double)G.events);
	cJSON_AddNumberToObject(g, "shared_pushes", (double)G.pushes);
	cJSON_AddNumberToObject(g, "shared_bytes", (double)G.pushed_bytes);
	cJSON_AddStringToObject(g, "health", gwhealth_reason() != NULL ?
	    gwhealth_reason() : "ok");
	cJSON_AddNumberToObject(g, "served", (double)G.nserved);
	cJSON_AddBoolToObject(g, "draining", G.draining);
	cJSON_AddNumberToObject(g, "bounced", (double)G.bounced);
	cJSON_AddStringToObject(g, "balancer_state", G.lb_state ==
	    GATEWAY_MAINT ? "maint" : G.lb_state == GATEWAY_DRAIN ? "drain" :
	    "ready");
	r = cJSON_AddObjectToObject(g, "rejected");
	for (i = 0; i < REJ_COUNT; i++)
		if (G.rejected[i] > 0)
			cJSON_AddNumberToObject(r, reject_names[i],
			    (double)G.rejected[i]);
}

int
gateway_enabled(void)
{
	return G.node != NULL;
}
