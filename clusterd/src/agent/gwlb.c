/*
 * gwlb: the gateway and the balancers (gw_int.h).  The answer HAProxy's
 * agent-check hears, the balancer state operators set here, and the
 * agents moved elsewhere: sent away at startup while draining or over the
 * master's share, or asked to reconnect (gateway_shed).  lb.md,
 * "Rebalancing" and "Graceful drain".
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent/gateway.h"
#include "agent/gw_int.h"
#include "agent/gwhealth.h"
#include "base/log.h"
#include "base/node.h"

#define TASK		GW_TASK
#define FORCE		GW_FORCE

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
int
gw_bounce(struct gwconn *c)
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
void
gw_check_cb(struct listener *l, int fd, const char *addr, void *arg)
{
	const char	*ans = lb_answer();

	(void)l;
	(void)addr;
	(void)arg;
	if (write(fd, ans, strlen(ans)) == -1)
		log_debug(TASK, "agent-check write: %s", strerror(errno));
	close(fd);
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
		if (gw_send_control(c, FORCE) == 0) {
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

/* Agents acked here whose connection is still open, asked to leave or not. */
size_t
gateway_served(void)
{
	return G.nserved;
}
