#include <stdio.h>
#include <string.h>

#include <ev.h>

#include "agent/archives.h"
#include "agent/gwhealth.h"
#include "base/log.h"
#include "base/metrics.h"

#define TASK	"Agents"

static const struct metrics_def M_STORING = {
	"clusterd_gateway_storing", METRICS_GAUGE,
	"1 while this node stores its agents' events, 0 while it cannot "
	"(it then refuses agents and agent-check says down)."
};
static const struct metrics_def M_UNSTORED = {
	"clusterd_gateway_events_unstored_total", METRICS_COUNTER,
	"Agents' events not stored: lost to a failed archive write, or "
	"received while the archives could not be written."
};
static const struct metrics_def M_FAILURES = {
	"clusterd_gateway_storage_failures_total", METRICS_COUNTER,
	"Times this node stopped taking agents because it could not store "
	"their events."
};

static struct {
	struct ev_loop	*loop;
	gwhealth_cb	 notify;
	unsigned	(*close_all)(void);
	ev_timer	 close;		/* pending while sessions stay open */
	int		 answered;	/* "down" said since the failure */
	unsigned long	 failures;
} H;

/* Close the agents' sessions: a balancer knows by now, or never will. */
static void
close_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	unsigned	n;

	(void)loop;
	(void)t;
	(void)revents;
	/* Through HAProxy they are usually gone already: it shuts a
	 * server's sessions when it marks it down. */
	if ((n = H.close_all()) > 0)
		log_warnx(TASK, "Closed %u agent connections %s: their agents "
		    "reconnect to other workers.", n, H.answered ?
		    "once agent-check said down" : "(no agent-check heard it)");
}

static void
archives_health(const char *reason)
{
	if (reason != NULL) {
		H.failures++;
		H.answered = 0;
		ev_timer_set(&H.close, GWHEALTH_CLOSE_MAX, 0);
		ev_timer_start(H.loop, &H.close);
	} else
		ev_timer_stop(H.loop, &H.close);
	if (H.notify != NULL)
		H.notify(reason);
}

const char *
gwhealth_reason(void)
{
	return H.loop != NULL ? archives_failure() : NULL;
}

/*
 * "down" with the reason as HAProxy's description (after '#', shown on
 * its stats page): "down" rather than "fail" or "stopped", since the
 * health check's tcp-check expects "up" or "down" from a live clusterd.
 */
const char *
gwhealth_answer(void)
{
	static char	 ans[200];
	const char	*r = gwhealth_reason();

	if (r == NULL)
		return NULL;
	snprintf(ans, sizeof(ans), "down #%.180s\n", r);
	if (!H.answered && ev_is_active(&H.close)) {
		H.answered = 1;
		ev_timer_stop(H.loop, &H.close);
		ev_timer_set(&H.close, GWHEALTH_CLOSE_AFTER, 0);
		ev_timer_start(H.loop, &H.close);
	}
	return ans;
}

/* A collector (metrics.h). */
static void
gwhealth_metrics(struct metrics *m, void *arg)
{
	(void)arg;
	metrics_put(m, &M_STORING, gwhealth_reason() == NULL, NULL);
	metrics_put(m, &M_UNSTORED, (double)archives_unstored(), NULL);
	metrics_put(m, &M_FAILURES, (double)H.failures, NULL);
}

void
gwhealth_start(struct ev_loop *loop, gwhealth_cb notify,
    unsigned (*close_all)(void))
{
	H.loop = loop;
	H.notify = notify;
	H.close_all = close_all;
	ev_init(&H.close, close_cb);
	archives_on_health(archives_health);
	metrics_register(gwhealth_metrics, NULL);
}

void
gwhealth_stop(void)
{
	if (H.loop == NULL)
		return;
	metrics_unregister(gwhealth_metrics, NULL);
	ev_timer_stop(H.loop, &H.close);
	archives_on_health(NULL);
	H.loop = NULL;
}
