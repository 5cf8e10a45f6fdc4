/*
 * gwreport: what the gateway tells the master (gw_int.h).  Agents' status
 * changes, info and counters are queued as they happen and sent in
 * batches, REPORT_CHUNK at a time, every GATEWAY_FLUSH or sooner in a
 * burst; alive ids only refresh last_keepalive.  The sweep marks the
 * agents served here that went silent disconnected, and gateway_resend()
 * tells a master that is back what is connected here.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/agents.h"
#include "agent/gateway.h"
#include "agent/gw_int.h"
#include "agent/replay.h"
#include "base/node.h"

#define REPORT_BACKLOG	100000		/* reports kept while the master is away */
#define REPORT_CHUNK	500		/* status reports per message to the master */

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
void
gw_queued(void)
{
	if (++G.nqueued == REPORT_CHUNK) {
		ev_timer_stop(G.node->loop, &G.flush);
		ev_timer_set(&G.flush, 0, GATEWAY_FLUSH);
		ev_timer_start(G.node->loop, &G.flush);
	}
}

/*
 * Remember an agent whose connection here closed: the sweep marks it
 * disconnected after agents_disconnection_time unless it comes back.
 * Once per agent (GW_LEFT), so the list is bounded by the agents served
 * here however often they reconnect; out of memory, the agent stays as
 * it is until the master's own sweep.
 */
void
gw_left_add(struct agent *a)
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
void
gw_note_counters(const struct agent *a)
{
	if (G.node->cfg.enforce_counters)
		replay_note(G.counters, a);
}

/*
 * a was seen alive and nothing else changed.  Thousands of these a second
 * go to the master as one JSON array of ids, kept here as its text ("id",
 * for each): a cJSON string each had cost two allocations, and a walk of
 * the list at every flush.  Ids are digits (agents_valid_id), JSON as
 * they are.  Out of memory, this sighting is not reported.
 */
/* a's entry in G.alive, "id", into s; its length, 0 if it does not fit. */
static size_t
alive_entry(const struct agent *a, char s[AGENT_ID_MAX + 4])
{
	int	n = snprintf(s, AGENT_ID_MAX + 4, "\"%s\",", a->id);

	return n > 0 && n < AGENT_ID_MAX + 4 ? (size_t)n : 0;
}

void
gw_alive(const struct agent *a)
{
	char	s[AGENT_ID_MAX + 4];
	size_t	n = alive_entry(a, s);

	if (n > 0)
		(void)buf_append(&G.alive, s, n);
}

/* a's connection closed: an alive id of the same batch, read after
 * "closed" on the master, would keep the agent here.  It goes. */
void
gw_alive_drop(const struct agent *a)
{
	char		 s[AGENT_ID_MAX + 4];
	const uint8_t	*p;
	size_t		 n = alive_entry(a, s);

	while (n > 0 && (p = memmem(buf_head(&G.alive), buf_used(&G.alive),
	    s, n)) != NULL)
		buf_cut(&G.alive, (size_t)(p - buf_head(&G.alive)), n);
}

/* The alive ids as a JSON array, NULL when there are none (or no memory). */
static cJSON *
alive_json(void)
{
	size_t	 n = buf_used(&G.alive);
	char	*s;
	cJSON	*j;

	if (n == 0 || (s = malloc(n + 2)) == NULL)
		return NULL;
	s[0] = '[';
	memcpy(s + 1, buf_head(&G.alive), n - 1);	/* not the last ',' */
	s[n] = ']';
	s[n + 1] = '\0';
	j = cJSON_CreateRaw(s);
	free(s);
	return j;
}

/* Queue a report of a's status (and info, when given) to the master. */
void
gw_report(struct agent *a, cJSON *info)
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
	gw_queued();
}

void
gw_set_status(struct agent *a, const char *st)
{
	if (strcmp(agent_status(a), st) == 0)
		return;
	agent_set_status(a, st);
	if (strcmp(st, "disconnected") == 0)
		a->disconnection_time = agent_time((double)time(NULL));
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
	} while (rv == 0 && G.updates->child != NULL);
	return rv;
}

/* Batched reports to the master: status changes, info, alive ids. */
void
gw_flush_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	cJSON	*j, *alive;

	(void)loop;
	(void)t;
	(void)revents;
	G.nqueued = 0;
	if (G.updates->child == NULL && buf_used(&G.alive) == 0 &&
	    G.counters->child == NULL)
		return;
	j = cJSON_CreateObject();
	if ((alive = alive_json()) != NULL)
		cJSON_AddItemToObject(j, "alive", alive);
	if (G.counters->child != NULL)
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
	buf_reset(&G.alive);
	/* Nor counters: the next report carries newer ones. */
	cJSON_Delete(G.counters);
	G.counters = cJSON_CreateArray();
	cJSON_Delete(j);	/* references, and alive's text */
}

/* Up, and silent for agents_disconnection_time. */
static int
gone_silent(const struct agent *a, time_t now)
{
	return agent_is_up(a) && difftime(now, a->last_keepalive) >=
	    G.node->cfg.agents_disconnection_time;
}

/*
 * Agents served here and silent for agents_disconnection_time become
 * disconnected.  Only those served here: the agents of the live
 * connections and those whose connection closed (G.left), not the whole
 * table, which holds every agent of the cluster (a pass over 50,000 of
 * them every second was the largest item of a worker's profile).
 */
void
gw_sweep_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	const struct agents	*tab = G.ops->table();
	struct gwconn		*c;
	struct agent		*a;
	time_t			 now = time(NULL);
	size_t			 i, kept = 0;

	(void)revents;
	/* The next pass after a thirtieth of the limit, reloads included. */
	t->repeat = agents_sweep_interval(G.node->cfg.agents_disconnection_time);
	ev_timer_again(loop, t);
	for (c = G.conns; c != NULL; c = c->next)
		if (c->agent != NULL && c->agent->gw == c &&
		    gone_silent(c->agent, now)) {
			gw_set_status(c->agent, "disconnected");
			gw_report(c->agent, NULL);
		}
	for (i = 0; i < G.nleft; i++) {
		if ((a = agents_by_id(tab, G.left[i])) == NULL)
			continue;	/* removed */
		if (a->gw == NULL && gone_silent(a, now)) {
			gw_set_status(a, "disconnected");
			gw_report(a, NULL);
		} else if (a->gw == NULL && agent_is_up(a)) {
			memmove(G.left[kept++], G.left[i], AGENT_ID_MAX);
			continue;	/* not silent long enough yet */
		}
		a->gw_seen &= (uint8_t)~GW_LEFT;
	}
	G.nleft = kept;
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
		gw_report(c->agent, NULL);
	}
}
