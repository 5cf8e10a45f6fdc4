/*
 * wdrain: a worker's graceful drain before it stops.  See wdrain.h.
 */
#include <ev.h>

#include "agent/gateway.h"
#include "base/log.h"
#include "base/node.h"
#include "worker/wdrain.h"

#define TASK		"Drain"
#define DRAIN_STEP	0.2	/* seconds between chunks */

static struct {
	struct node	*node;
	void		(*done)(void);
	ev_timer	 step, deadline;
	ev_tstamp	 started, asking_from;
	unsigned long	 asked;
	double		 due;	/* agents owed to the rate so far */
} D;

static void
finish(const char *why)
{
	void	(*done)(void) = D.done;

	ev_timer_stop(D.node->loop, &D.step);
	ev_timer_stop(D.node->loop, &D.deadline);
	log_info(TASK, "%s after %.1f s: %lu agent(s) asked to reconnect, "
	    "%zu still here.", why, ev_now(D.node->loop) - D.started,
	    D.asked, gateway_served());
	D.done = NULL;
	if (done != NULL)
		done();
}

/*
 * One chunk: once the wait for agent-check is over, ask the agents owed
 * to drain_rate since then (all at once with drain_rate 0); done when no
 * agent is served here.  Agents asked earlier count as served until they
 * close their connection: the events they sent before it are read first.
 */
static void
step_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	unsigned	rate = D.node->cfg.drain_rate, n;

	(void)t;
	(void)revents;
	if (gateway_served() == 0) {
		finish("Drained");
		return;
	}
	if (ev_now(loop) < D.asking_from)
		return;
	D.due += rate > 0 ? rate * DRAIN_STEP : 1e7;
	n = D.due >= 1e7 ? 10000000u : (unsigned)D.due;
	if (n == 0)
		return;
	D.due -= n;
	D.asked += gateway_shed(n);
	if (D.due > rate)
		D.due = rate;	/* nobody left to ask: do not pile up */
}

static void
deadline_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	finish("Drain timeout (drain_timeout)");
}

int
wdrain_start(struct node *n, void (*done)(void))
{
	const struct config	*c = &n->cfg;

	if (D.done != NULL || c->drain_timeout <= 0)
		return -1;
	D.node = n;
	D.done = done;
	D.started = ev_now(n->loop);
	D.asking_from = D.started + (c->agent_check_port != 0 ?
	    c->drain_wait : 0);
	D.asked = 0;
	D.due = 0;
	gateway_drain();
	log_info(TASK, "Draining: %zu agent(s) to move, at most %g s "
	    "(drain_timeout).", gateway_served(), c->drain_timeout);
	ev_timer_init(&D.step, step_cb, 0, DRAIN_STEP);
	ev_timer_start(n->loop, &D.step);
	ev_timer_init(&D.deadline, deadline_cb, c->drain_timeout, 0);
	ev_timer_start(n->loop, &D.deadline);
	return 0;
}

int
wdrain_active(void)
{
	return D.done != NULL;
}

/* Stop at once (a second signal): done() is not called. */
void
wdrain_stop(void)
{
	if (D.done == NULL)
		return;
	ev_timer_stop(D.node->loop, &D.step);
	ev_timer_stop(D.node->loop, &D.deadline);
	D.done = NULL;
}
