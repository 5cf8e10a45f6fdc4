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
#include "agent/gwhealth.h"
#include "agent/keepalive.h"
#include "agent/merged.h"
#include "agent/replay.h"
#include "agent/secmsg.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/node.h"
#include "net/conn.h"
#include "net/listener.h"
#include "net/preauth.h"

#define TASK		"Agents"
#define OUT_LIMIT	(64 * 1024)	/* queued to one agent, then dropped */
#define FRAMES_PER_CB	32		/* fairness between agents */
#define ACK		"#!-agent ack "
#define FORCE		"#!-force_reconnect"
#define GATEWAY_NOFILE	(256 * 1024)	/* descriptors asked for */
#define REPORT_BACKLOG	100000		/* reports kept while the master is away */
#define REPORT_CHUNK	500		/* status reports per message to the master */
#define PUSH_TICK	0.1		/* seconds between rounds of shared-file chunks */
#define PUSH_OUT_MAX	(16 * 1024)	/* an agent's queue above this: its turn waits */
#define PUSH_TURN	8		/* messages to one agent per turn */
#define PUSH_HOLDOFF	10.0		/* seconds after a push before another */
#define MERGED_RECHECK	1.0		/* seconds a merged.mg's stat() is trusted */

/* An agent's shared configuration, as its last keepalive showed it. */
enum gw_sync { SYNC_UNKNOWN, SYNC_YES, SYNC_NO };

struct gwconn {
	int		 fd;
	ev_io		 io;
	struct agent	*agent;
	struct secmsg_key key;		/* derived from agent's, once */
	ev_tstamp	 last_rx;
	uint32_t	 need;		/* frame length, 0 while in the header */
	uint32_t	 got;
	uint8_t		 hdr[4];
	uint8_t		*frame;
	uint8_t		*out;
	uint32_t	 outlen;
	uint32_t	 outoff;
	char		 addr[46];
	enum secmsg_cipher cipher;	/* the agent's last message's: answers' */
	/* merged.mg push (shared configuration), paced by push_cb */
	struct merged_file *push;	/* being sent, or NULL */
	size_t		 push_step;	/* merged_push_next()'s */
	ev_tstamp	 push_done;	/* when the last push ended */
	enum gw_sync	 sync;		/* last reported */
	struct gwconn	*push_prev, *push_next;	/* G.push_q, in order */
	struct preauth_entry pa;	/* counted until the agent is known */
	unsigned	 served:1;	/* acked: this worker serves the agent */
	unsigned	 asked:1;	/* sent #!-force_reconnect */
	struct gwconn	*prev, *next;
};

/* Reasons a connection is closed, counted and logged at most once a minute. */
enum reject {
	REJ_NO_ID, REJ_BAD, REJ_UNKNOWN, REJ_KEY, REJ_LENGTH, REJ_DUP,
	REJ_SWITCH, REJ_SLOW, REJ_PROXY, REJ_STORAGE, REJ_COUNT
};
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

static struct {
	struct node	*node;
	struct listener	 listener;	/* agents */
	struct preauth	 pa;		/* connections with no agent yet */
	ev_timer	 flush;
	ev_timer	 sweep;
	struct gwconn	*conns;
	size_t		 nconns;
	char		(*left)[AGENT_ID_MAX];	/* sweep_cb: closed here */
	size_t		 nleft, capleft;
	const struct gateway_ops *ops;
	cJSON		*updates;	/* pending status/info reports */
	unsigned	 nqueued;	/* added since the last flush */
	cJSON		*alive;		/* ids seen alive, nothing else new */
	cJSON		*counters;	/* [id, global, local] (replay.h) */
	unsigned long	 global;	/* our counter toward agents */
	struct listener	 check;		/* agent-check, if configured */
	enum gateway_lb_state lb_state;
	unsigned long	 rejected[REJ_COUNT];
	ev_tstamp	 rej_logged[REJ_COUNT];
	unsigned long	 rej_quiet[REJ_COUNT];
	unsigned long	 messages, events;
	struct merged_cache merged;	/* each group list's merged.mg */
	ev_timer	 push_timer;
	struct gwconn	*push_q, *push_tail;	/* pushes under way, FIFO */
	double		 push_budget;	/* bytes this tick may still send */
	unsigned long	 pushes, pushed_bytes;
	size_t		 nserved;	/* connections with served set */
	int		 draining;	/* every agent asked to leave */
	unsigned	 cap;		/* the master's share for this node */
	ev_tstamp	 cap_until;	/* ... valid until then */
	unsigned	 bounces_left;	/* arrivals over cap sent away, at most */
	unsigned long	 bounced;
} G = { .listener.fd = -1, .check.fd = -1 };

static void conn_cb(struct ev_loop *, ev_io *, int);
static void push_cancel(struct gwconn *);
static void flush_cb(struct ev_loop *, ev_timer *, int);

/*
 * A report was queued.  A burst (thousands of agents reconnecting at
 * once) goes to the master REPORT_CHUNK at a time as it comes instead of
 * waiting whole for the next tick: each report holds the agent's parsed
 * keepalive, and 5,000 of them held at once were 2.4 MB of a worker's
 * peak.  The flush runs at the loop's next turn, never inside the caller
 * (which may be walking the connections).  If the master cannot take
 * them they stay queued, and the next try is REPORT_CHUNK reports later
 * (or the tick).
 */
static void
queued(void)
{
	if (++G.nqueued == REPORT_CHUNK) {
		ev_timer_stop(G.node->loop, &G.flush);
		ev_timer_set(&G.flush, 0, GATEWAY_FLUSH);
		ev_timer_start(G.node->loop, &G.flush);
	}
}

/* a->gw_seen's bits */
#define GW_SERVED	0x01	/* this node's gateway served it */
#define GW_LEFT		0x02	/* its id is in G.left */

/*
 * Remember an agent whose connection here closed: the sweep marks it
 * disconnected after agents_disconnection_time unless it comes back.
 * Once per agent (GW_LEFT), so the list is bounded by the agents served
 * here however often they reconnect; out of memory, the agent stays as
 * it is until the master's own sweep.
 */
static void
left_add(struct agent *a)
{
	char	(*v)[AGENT_ID_MAX];
	size_t	 cap;

	if (a->gw_seen & GW_LEFT)
		return;
	if (G.nleft == G.capleft) {
		cap = G.capleft ? G.capleft * 2 : 64;
		if ((v = reallocarray(G.left, cap, sizeof(*v))) == NULL)
			return;
		G.left = v;
		G.capleft = cap;
	}
	memcpy(G.left[G.nleft++], a->id, AGENT_ID_MAX);
	a->gw_seen |= GW_LEFT;
}

/*
 * An agent's counters go to the master with its periodic report and when
 * its connection closes (replay.h), only when they are enforced: the
 * master hands them to the worker the agent moves to.
 */
static void
note_counters(const struct agent *a)
{
	if (G.node->cfg.enforce_counters)
		replay_note(G.counters, a);
}

/*
 * Close a connection.  The master hears that an agent's connection here
 * closed: another worker may take the agent over at once, rather than
 * after connection_overtake_time (mscope.h).
 */
static void
gw_close(struct gwconn *c)
{
	cJSON	*u, *e, *next;

	ev_io_stop(G.node->loop, &c->io);
	close(c->fd);
	preauth_done(&G.pa, &c->pa);
	push_cancel(c);
	if (c->agent != NULL && c->agent->gw == c) {
		c->agent->gw = NULL;
		left_add(c->agent);
		/* An alive id of the same batch, read after "closed" on the
		 * master, would keep the agent here: it goes. */
		for (e = G.alive != NULL ? G.alive->child : NULL; e != NULL;
		    e = next) {
			next = e->next;
			if (strcmp(e->valuestring, c->agent->id) == 0)
				cJSON_Delete(cJSON_DetachItemViaPointer(G.alive,
				    e));
		}
		if (G.updates != NULL && (u = cJSON_CreateObject()) != NULL) {
			cJSON_AddStringToObject(u, "id", c->agent->id);
			cJSON_AddBoolToObject(u, "closed", 1);
			cJSON_AddItemToArray(G.updates, u);
			queued();
		}
		note_counters(c->agent);
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
	free(c->frame);
	free(c->out);
	free(c);
}

static void
reject(struct gwconn *c, enum reject why, const char *detail)
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

/* Queue a report of a's status (and info, when given) to the master. */
static void
report(struct agent *a, cJSON *info)
{
	cJSON	*u = cJSON_CreateObject();

	cJSON_AddStringToObject(u, "id", a->id);
	cJSON_AddStringToObject(u, "status", agent_status(a));
	cJSON_AddNumberToObject(u, "last_keepalive", (double)a->last_keepalive);
	cJSON_AddNumberToObject(u, "disconnection_time",
	    (double)a->disconnection_time);
	if (*AGENT_ADDR_OF(a, AGENT_SOURCE_IP) != '\0')
		cJSON_AddStringToObject(u, "source_ip",
		    AGENT_ADDR_OF(a, AGENT_SOURCE_IP));
	if (info != NULL)
		cJSON_AddItemToObject(u, "info", info);
	cJSON_AddItemToArray(G.updates, u);
	queued();
}

static void
set_status(struct agent *a, const char *st)
{
	if (strcmp(agent_status(a), st) == 0)
		return;
	agent_set_status(a, st);
	if (strcmp(st, "disconnected") == 0)
		a->disconnection_time = agent_time((double)time(NULL));
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

/* Seal a message for the agent, in its own cipher, and send it. */
static int
send_sealed(struct gwconn *c, const char *msg, size_t len)
{
	struct secmsg_counters	 ctr;
	uint8_t			 buf[2 * MERGED_CHUNK + 512];
	size_t			 n;

	ctr.random = (unsigned)random() % 100000;
	ctr.global = ++G.global;
	ctr.local = (unsigned)(G.global % 10000);
	if (len > 2 * MERGED_CHUNK || secmsg_seal(&c->key, c->cipher, NULL,
	    msg, len, &ctr, buf, sizeof(buf), &n) == -1 ||
	    send_frame(c, buf, n) == -1)
		return -1;
	return 0;
}

static int
send_control(struct gwconn *c, const char *msg)
{
	return send_sealed(c, msg, strlen(msg));
}

static void
push_cancel(struct gwconn *c)
{
	if (c->push == NULL)
		return;
	if (c->push_prev != NULL)
		c->push_prev->push_next = c->push_next;
	else
		G.push_q = c->push_next;
	if (c->push_next != NULL)
		c->push_next->push_prev = c->push_prev;
	else
		G.push_tail = c->push_prev;
	merged_file_unref(c->push);
	c->push = NULL;
	c->push_prev = c->push_next = NULL;
}

/*
 * Compare the merged.mg sum in a's keepalive with its groups' (no group:
 * default, as Wazuh's manager assigns).  A different one queues a push of
 * the file, unless one is under way or just ended (the keepalive may have
 * left before the agent had it).  Returns 1 when the agent's sync state
 * changed, for the report to the master.
 */
static int
shared_check(struct gwconn *c, struct agent *a, const char *msg)
{
	struct merged_file	*f;
	char			 have[64];
	enum gw_sync		 st;
	ev_tstamp		 now = ev_now(G.node->loop);

	if ((f = merged_cache_get(&G.merged, a->groups != NULL &&
	    a->groups[0] != '\0' ? a->groups : "default", now)) == NULL)
		return 0;	/* no merge (yet) for its groups */
	keepalive_merged_sum(msg, have, sizeof(have));
	st = strcmp(have, f->md5) == 0 ? SYNC_YES : SYNC_NO;
	if (st == SYNC_NO && c->push == NULL && (c->push_done == 0 ||
	    now - c->push_done >= PUSH_HOLDOFF)) {
		c->push = merged_file_ref(f);
		c->push_step = 0;
		c->push_prev = G.push_tail;
		c->push_next = NULL;
		if (G.push_tail != NULL)
			G.push_tail->push_next = c;
		else
			G.push_q = c;
		G.push_tail = c;
		G.pushes++;
		log_debug(TASK, "Agent %s has merged.mg %s, its groups' is %s: "
		    "sending it.", a->id, have[0] ? have : "(none)", f->md5);
	}
	if (st == c->sync)
		return 0;
	c->sync = st;
	return 1;
}

/*
 * Every PUSH_TICK: chunks of the queued pushes within shared_push_rate,
 * a few messages per agent per turn, skipping agents whose queue is still
 * full (a slow reader is not flooded, nor the link of a fast one).
 */
static void
push_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct gwconn	*c, *next;
	char		 buf[MERGED_CHUNK + 64];
	size_t		 n;
	int		 k, progress = 1;

	(void)loop;
	(void)t;
	(void)revents;
	G.push_budget = (double)G.node->cfg.shared_push_rate * PUSH_TICK;
	while (G.push_budget > 0 && G.push_q != NULL && progress) {
		progress = 0;
		for (c = G.push_q; c != NULL && G.push_budget > 0; c = next) {
			next = c->push_next;
			if (c->outlen - c->outoff > PUSH_OUT_MAX)
				continue;
			for (k = 0; k < PUSH_TURN && G.push_budget > 0; k++) {
				if ((n = merged_push_next(c->push,
				    &c->push_step, buf, sizeof(buf))) == 0)
					break;
				if (send_sealed(c, buf, n) == -1) {
					reject(c, REJ_SLOW, NULL);
					goto next_conn;
				}
				G.push_budget -= (double)n;
				G.pushed_bytes += n;
				progress = 1;
			}
			if (c->push_step >= merged_push_steps(c->push)) {
				c->push_done = ev_now(G.node->loop);
				push_cancel(c);
			}
next_conn:
			;
		}
	}
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

/*
 * Whether an agent starting up on c is sent away (#!-force_reconnect
 * instead of the ack) before this node serves it: always while draining,
 * and while the master's share for this node holds (gateway_set_share)
 * and this node already serves that many.  The agent reconnects through
 * the balancer at once and lands elsewhere; under a balancer that does
 * not weigh the workers (round robin, random) this is what keeps a node
 * over its share from filling again.  The share's window and budget bound
 * the moves when every node is full.
 */
static int
bounce(struct gwconn *c)
{
	if (!G.draining && (ev_now(G.node->loop) >= G.cap_until ||
	    G.bounces_left == 0 || G.nserved < G.cap))
		return 0;
	if (!G.draining)
		G.bounces_left--;
	G.bounced++;
	c->asked = 1;
	return 1;
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
		if ((away = bounce(c)) && send_control(c, FORCE) == -1) {
			reject(c, REJ_SLOW, NULL);
			return -1;
		}
		if (away)
			return 0;
		set_status(a, "pending");
		/* or the sweep drops it */
		a->last_keepalive = agent_time((double)time(NULL));
		report(a, NULL);
		goto ack;
	}
	if (strncmp(msg, "#!-agent shutdown", 17) == 0) {
		set_status(a, "disconnected");
		report(a, NULL);
		return 0;
	}
	if (strncmp(msg, "#!-req ", 7) == 0 || strncmp(msg, "#!-agent ", 9) ==
	    0)
		return 0;	/* answers to our requests; none are sent yet */
	/* A keepalive: ack it; report only what changed. */
	changed = strcmp(prev, "active") != 0;
	set_status(a, "active");
	a->last_keepalive = agent_time((double)time(NULL));
	h = fnv32(msg, len);
	synced = shared_check(c, a, msg + 3);
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
		report(a, info);
	} else
		cJSON_AddItemToArray(G.alive, cJSON_CreateString(a->id));
	note_counters(a);
ack:
	/* An agent asked to leave is not answered any more: an ack it would
	 * not read could turn its close into a reset, and a reset can drop
	 * the events it sent last on their way through a balancer. */
	if (c->asked)
		return 0;
	if (send_control(c, ACK) == -1) {
		reject(c, REJ_SLOW, NULL);
		return -1;
	}
	if (!c->served) {
		c->served = 1;
		G.nserved++;
	}
	return 0;
}

/*
 * One frame from a connection.  Returns 0 to go on, -1 when the
 * connection was closed.
 */
static int
frame(struct gwconn *c, const uint8_t *m, size_t len)
{
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
			reject(c, REJ_SLOW, NULL);
			return -1;
		}
		return 0;
	case SECMSG_NO_ID:
		reject(c, REJ_NO_ID, NULL);
		return -1;
	case SECMSG_BAD:
		reject(c, REJ_BAD, NULL);
		return -1;
	case SECMSG_OK:
		break;
	}
	if ((a = agents_by_id(G.ops->table(), id)) == NULL) {
		reject(c, REJ_UNKNOWN, id);
		return -1;
	}
	if (c->agent != NULL && c->agent != a) {
		reject(c, REJ_SWITCH, id);
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
		reject(c, REJ_KEY, id);
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
			reject(c, REJ_DUP, id);
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

/* Read header and frame bytes as they come; a few frames per wake-up. */
static void
conn_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct gwconn	*c = w->data;
	ssize_t		 n;
	uint32_t	 len;
	int		 frames = 0;

	(void)loop;
	if (revents & EV_WRITE) {
		flush_out(c);
		return;		/* c may be gone; reading resumes next wake */
	}
	while (frames < FRAMES_PER_CB) {
		if (c->need == 0) {
			n = read(c->fd, c->hdr + c->got, 4 - c->got);
			if (n <= 0)
				goto eof;
			if ((c->got += (uint32_t)n) < 4)
				continue;
			if (secmsg_frame_length(c->hdr, &len) == -1) {
				/* "PROX" or v2's "\r\n\r\n": listed peers'
				 * headers were read by the listener. */
				reject(c, memcmp(c->hdr, "PROX", 4) == 0 ||
				    memcmp(c->hdr, "\r\n\r\n", 4) == 0 ?
				    REJ_PROXY : REJ_LENGTH, NULL);
				return;
			}
			if ((c->frame = malloc(len)) == NULL) {
				gw_close(c);
				return;
			}
			c->need = len;
			c->got = 0;
		}
		n = read(c->fd, c->frame + c->got, c->need - c->got);
		if (n <= 0)
			goto eof;
		if ((c->got += (uint32_t)n) < c->need)
			continue;
		len = c->need;
		c->need = c->got = 0;
		frames++;
		if (frame(c, c->frame, len) == -1)
			return;		/* closed */
		free(c->frame);
		c->frame = NULL;
	}
	return;
eof:
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	gw_close(c);
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

/*
 * The queued status reports, REPORT_CHUNK a message (the first one with
 * the rest of report j): 5,000 agents disconnecting at once make ten
 * messages, not one whose parsed form costs megabytes on both sides.
 * Those not delivered stay queued, in order; -1 then.
 */
static int
deliver_updates(cJSON *j)
{
	cJSON	*chunk, *u;
	int	 n, rv = 0;

	do {
		if ((chunk = cJSON_CreateArray()) == NULL)
			return -1;
		for (n = 0; n < REPORT_CHUNK && (u = cJSON_DetachItemFromArray(
		    G.updates, 0)) != NULL; n++)
			cJSON_AddItemToArray(chunk, u);
		cJSON_AddItemToObject(j, "updates", chunk);
		if (G.ops->deliver(j) == -1) {
			/* Back at the head, in their order. */
			while ((u = cJSON_DetachItemFromArray(chunk, n - 1)) !=
			    NULL && n-- > 0)
				cJSON_InsertItemInArray(G.updates, 0, u);
			rv = -1;
		}
		cJSON_DeleteItemFromObject(j, "updates");
		/* The rest of j went with the first message. */
		cJSON_DeleteItemFromObject(j, "alive");
		cJSON_DeleteItemFromObject(j, "counters");
	} while (rv == 0 && cJSON_GetArraySize(G.updates) > 0);
	return rv;
}

/* Batched reports to the master: status changes, info, alive ids. */
static void
flush_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	cJSON	*j;

	(void)loop;
	(void)t;
	(void)revents;
	G.nqueued = 0;
	if (cJSON_GetArraySize(G.updates) == 0 &&
	    cJSON_GetArraySize(G.alive) == 0 &&
	    cJSON_GetArraySize(G.counters) == 0)
		return;
	j = cJSON_CreateObject();
	cJSON_AddItemReferenceToObject(j, "alive", G.alive);
	if (cJSON_GetArraySize(G.counters) > 0)
		cJSON_AddItemReferenceToObject(j, "counters", G.counters);
	cJSON_AddNumberToObject(j, "at", (double)time(NULL));
	if (deliver_updates(j) == -1 &&
	    cJSON_GetArraySize(G.updates) > REPORT_BACKLOG) {
		/* Too much kept for an absent master: gateway_resend()
		 * reports every connected agent again when it is back. */
		cJSON_Delete(G.updates);
		G.updates = cJSON_CreateArray();
	}
	/* Alive ids only refresh last_keepalive: never kept for later. */
	cJSON_Delete(G.alive);
	G.alive = cJSON_CreateArray();
	/* Nor counters: the next report carries newer ones. */
	cJSON_Delete(G.counters);
	G.counters = cJSON_CreateArray();
	cJSON_Delete(j);	/* references only */
}

/* Connected as far as the master knows: the sweep watches it. */
static int
is_up(const struct agent *a)
{
	return strcmp(agent_status(a), "active") == 0 ||
	    strcmp(agent_status(a), "pending") == 0;
}

/* Up, and silent for agents_disconnection_time. */
static int
gone_silent(const struct agent *a, time_t now)
{
	return is_up(a) && difftime(now, a->last_keepalive) >=
	    G.node->cfg.agents_disconnection_time;
}

/*
 * Agents served here and silent for agents_disconnection_time become
 * disconnected.  Only those served here: the agents of the live
 * connections and those whose connection closed (G.left), not the whole
 * table, which holds every agent of the cluster (a pass over 50,000 of
 * them every second was the largest item of a worker's profile).
 */
static void
sweep_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	const struct agents	*tab = G.ops->table();
	struct gwconn		*c;
	struct agent		*a;
	time_t			 now = time(NULL);
	size_t			 i, kept = 0;

	(void)loop;
	(void)t;
	(void)revents;
	for (c = G.conns; c != NULL; c = c->next)
		if (c->agent != NULL && c->agent->gw == c &&
		    gone_silent(c->agent, now)) {
			set_status(c->agent, "disconnected");
			report(c->agent, NULL);
		}
	for (i = 0; i < G.nleft; i++) {
		if ((a = agents_by_id(tab, G.left[i])) == NULL)
			continue;	/* removed */
		if (a->gw == NULL && gone_silent(a, now)) {
			set_status(a, "disconnected");
			report(a, NULL);
		} else if (a->gw == NULL && is_up(a)) {
			memmove(G.left[kept++], G.left[i], AGENT_ID_MAX);
			continue;	/* not silent long enough yet */
		}
		a->gw_seen &= (uint8_t)~GW_LEFT;
	}
	G.nleft = kept;
}

/*
 * The line HAProxy's agent-check reads.  It speaks only of weight and
 * health, never of admin states (ready, drain, maint): those belong to
 * operators through the balancers (cluster_control --pool-state), and an
 * agent's "ready" would lift an operator's drain or maint.  So: "up 100%"
 * normally, "up N%" with max_agents set (N the free share, so leastconn
 * favours the workers with the most room), "up 0%" when drained here or
 * full (no new agents, the ones connected stay), "down" on maint.  "up"
 * also brings up a server added at runtime, whose agent check starts down.
 */
static const char *
lb_answer(void)
{
	static char	ans[32];
	const char	*h;
	unsigned	max, pct;

	if ((h = gwhealth_answer()) != NULL)
		return h;	/* cannot store events: gwhealth.h */
	if (G.lb_state == GATEWAY_MAINT)
		return "down\n";
	max = G.node != NULL ? G.node->cfg.max_agents : 0;
	if (G.lb_state == GATEWAY_DRAIN || G.draining ||
	    (max > 0 && G.nconns >= max))
		return "up 0%\n";
	if (max == 0)
		return "up 100%\n";
	pct = (unsigned)((100ull * (max - G.nconns) + max - 1) / max);
	snprintf(ans, sizeof(ans), "up %u%%\n", pct < 1 ? 1 : pct);
	return ans;
}

int
gateway_set_lb_state(const char *s)
{
	if (strcmp(s, "ready") == 0)
		G.lb_state = GATEWAY_READY;
	else if (strcmp(s, "drain") == 0)
		G.lb_state = GATEWAY_DRAIN;
	else if (strcmp(s, "maint") == 0)
		G.lb_state = GATEWAY_MAINT;
	else
		return -1;
	log_info(TASK, "Balancer state set to %s.", s);
	return 0;
}

/*
 * One agent-check connection: the answer, then close, inside the accept.
 * Nothing waits on the client: the few bytes fit in any fresh socket's
 * send buffer, so a client that never reads holds no state here, and the
 * port needs no timeout or per-source bound.
 */
static void
check_cb(struct listener *l, int fd, const char *addr, void *arg)
{
	const char	*ans = lb_answer();

	(void)l;
	(void)addr;
	(void)arg;
	if (write(fd, ans, strlen(ans)) == -1)
		log_debug(TASK, "agent-check write: %s", strerror(errno));
	close(fd);
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
	G.alive = cJSON_CreateArray();
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
	    "agent-checks", check_cb, NULL) == -1)
		return -1;
	ev_timer_init(&G.flush, flush_cb, GATEWAY_FLUSH, GATEWAY_FLUSH);
	ev_timer_start(n->loop, &G.flush);
	sweep = agents_sweep_interval(n->cfg.agents_disconnection_time);
	ev_timer_init(&G.sweep, sweep_cb, sweep, sweep);
	ev_timer_start(n->loop, &G.sweep);
	merged_cache_init(&G.merged, n->cfg.home, MERGED_RECHECK);
	ev_timer_init(&G.push_timer, push_cb, PUSH_TICK, PUSH_TICK);
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
	cJSON_Delete(G.alive);
	cJSON_Delete(G.counters);
	G.updates = G.alive = G.counters = NULL;
	archives_close();
	secmsg_shutdown();
	G.node = NULL;
}

/*
 * The master is back: it hears the status of every agent connected here
 * now, and their info with their next keepalive.
 */
void
gateway_resend(void)
{
	struct gwconn	*c;

	if (G.node == NULL)
		return;
	for (c = G.conns; c != NULL; c = c->next) {
		if (c->agent == NULL)
			continue;
		c->agent->info_hash = 0;
		report(c->agent, NULL);
	}
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
	return send_control(c, FORCE);
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

/*
 * Ask n agents this node serves, not asked yet, to reconnect (they come
 * back through the balancer, which places them elsewhere).  The most
 * recently connected go first: they have the least state here.  Returns
 * how many were asked.
 */
unsigned
gateway_shed(unsigned n)
{
	struct gwconn	*c, *next;
	unsigned	 done = 0;

	for (c = G.conns; c != NULL && done < n; c = next) {
		next = c->next;
		if (c->agent == NULL || !c->served || c->asked)
			continue;
		if (send_control(c, FORCE) == 0) {
			c->asked = 1;
			done++;
		}
	}
	return done;
}

/*
 * The master's share for this node: for `seconds', agents starting up
 * while this node serves `cap' or more are sent away, at most `budget' of
 * them.
 */
void
gateway_set_share(unsigned cap, double seconds, unsigned budget)
{
	G.cap = cap;
	G.cap_until = ev_now(G.node->loop) + seconds;
	G.bounces_left = budget;
}

/*
 * A drain: agent-check answers "up 0%" (no new agents where HAProxy
 * weighs the servers) and every agent starting up here is sent away.
 * The connected ones are asked to leave by gateway_shed, paced by the
 * caller.
 */
void
gateway_drain(void)
{
	G.draining = 1;
}

int
gateway_enabled(void)
{
	return G.node != NULL;
}

/* Agents acked here whose connection is still open, asked to leave or not. */
size_t
gateway_served(void)
{
	return G.nserved;
}
