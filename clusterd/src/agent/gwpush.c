/*
 * gwpush: merged.mg pushes (gw_int.h).  A keepalive whose merged sum is
 * not its groups' queues the file for the agent; a timer sends the queued
 * pushes' chunks within shared_push_rate, a few per agent per turn.
 */
#include <string.h>

#include "agent/agents.h"
#include "agent/gw_int.h"
#include "agent/keepalive.h"
#include "agent/merged.h"
#include "base/log.h"
#include "base/node.h"

#define TASK		GW_TASK
#define PUSH_OUT_MAX	(16 * 1024)	/* an agent's queue above this: its turn waits */
#define PUSH_TURN	8		/* messages to one agent per turn */
#define PUSH_HOLDOFF	10.0		/* seconds after a push before another */

void
gw_push_cancel(struct gwconn *c)
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
int
gw_shared_check(struct gwconn *c, struct agent *a, const char *msg)
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
 * Every GW_PUSH_TICK: chunks of the queued pushes within shared_push_rate,
 * a few messages per agent per turn, skipping agents whose queue is still
 * full (a slow reader is not flooded, nor the link of a fast one).
 */
void
gw_push_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct gwconn	*c, *next;
	char		 buf[MERGED_CHUNK + 64];
	size_t		 n;
	int		 k, progress = 1;

	(void)loop;
	(void)t;
	(void)revents;
	G.push_budget = (double)G.node->cfg.shared_push_rate * GW_PUSH_TICK;
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
				if (gw_send_sealed(c, buf, n) == -1) {
					gw_reject(c, REJ_SLOW, NULL);
					goto next_conn;
				}
				G.push_budget -= (double)n;
				G.pushed_bytes += n;
				progress = 1;
			}
			if (c->push_step >= merged_push_steps(c->push)) {
				c->push_done = ev_now(G.node->loop);
				gw_push_cancel(c);
			}
next_conn:
			;
		}
	}
}
