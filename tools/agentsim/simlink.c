/*
 * simlink: the reconnection and keepalive decisions of one simulated agent.
 * See simlink.h for the agentd behaviour each function mirrors.
 */
#include <string.h>

#include "simlink.h"

/* Timers may fire a hair before the time they were set for. */
#define SLACK	0.001

/* A new agent, never connected; phase spreads its once-a-second checks. */
void
simlink_init(struct simlink *l, double phase)
{
	memset(l, 0, sizeof(*l));
	l->state = SIMLINK_IDLE;
	l->phase = phase;
}

/* A connection attempt starts: the clock of its answer starts too. */
void
simlink_attempt(struct simlink *l, double now)
{
	l->state = SIMLINK_HANDSHAKE;
	l->since = now;
	l->unacked = 0;
}

/* A startup (keepalive == 0) or a keepalive went out and awaits its ack. */
void
simlink_sent(struct simlink *l, double now, int keepalive)
{
	if (l->unacked == 0)
		l->unacked = now;
	if (keepalive)
		l->last_keepalive = now;
}

/*
 * A decrypted control message ("#!-...") came from the manager; ack tells
 * whether it was "#!-agent ack ".  While the startup awaits its answer only
 * an ack counts, as in agentd's handshake.  Returns 1 when this ack ends the
 * handshake: the caller may then send keepalives and events.
 */
int
simlink_received(struct simlink *l, double now, int ack)
{
	if (l->state == SIMLINK_IDLE)
		return 0;
	if (l->state == SIMLINK_HANDSHAKE && !ack)
		return 0;
	l->since = now;
	if (ack)
		l->unacked = 0;
	if (l->state == SIMLINK_HANDSHAKE) {
		l->state = SIMLINK_UP;
		return 1;
	}
	return 0;
}

/*
 * What is due at `now`: give up when nothing came back for time-reconnect
 * (plus the agent's phase), else a keepalive when notify_time has passed
 * since the last one (at once for the first).  With SIMLINK_WAIT, *at is
 * when to ask again (0 when idle: the retry timer decides).
 */
enum simlink_action
simlink_next(const struct simlink *l, const struct simlink_cfg *cfg,
    double now, double *at)
{
	double	deadline, due;

	*at = 0;
	if (l->state == SIMLINK_IDLE)
		return SIMLINK_WAIT;
	deadline = l->since + cfg->time_reconnect + l->phase;
	if (now + SLACK >= deadline)
		return SIMLINK_TIMEOUT;
	if (l->state == SIMLINK_HANDSHAKE) {
		*at = deadline;
		return SIMLINK_WAIT;
	}
	due = l->last_keepalive == 0 ? now : l->last_keepalive +
	    cfg->notify_time;
	if (now + SLACK >= due)
		return SIMLINK_KEEPALIVE;
	*at = due < deadline ? due : deadline;
	return SIMLINK_WAIT;
}

/* How long the oldest unanswered startup or keepalive has waited; 0: none. */
double
simlink_ack_wait(const struct simlink *l, double now)
{
	if (l->state == SIMLINK_IDLE || l->unacked == 0 || now < l->unacked)
		return 0;
	return now - l->unacked;
}

/*
 * The wait before the next attempt, u being uniform in [0, 1).  After
 * losing an answered connection agentd tries again at once: here within
 * the first second (or the retry interval, if shorter).  After a failed
 * attempt it sleeps the retry interval: here 0.8 to 1.2 times it, the
 * same on average.
 */
double
simlink_retry_delay(const struct simlink_cfg *cfg, int was_up, double u)
{
	double	spread;

	if (cfg->retry <= 0)
		return 0;
	if (was_up) {
		spread = cfg->retry < 1 ? cfg->retry : 1;
		return u * spread;
	}
	return cfg->retry * (0.8 + 0.4 * u);
}

/* The connection is gone; the time of the last keepalive is kept. */
void
simlink_lost(struct simlink *l)
{
	l->state = SIMLINK_IDLE;
	l->since = 0;
	l->unacked = 0;
}

static int
starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Sort a conn close reason (net/conn.c's words, or ours) into a cause. */
enum simlink_cause
simlink_cause_of(const char *reason)
{
	if (strcmp(reason, SIMLINK_REASON_FORCE) == 0)
		return SIMLINK_FORCE_RECONNECT;
	if (strcmp(reason, SIMLINK_REASON_TIMEOUT) == 0)
		return SIMLINK_ACK_TIMEOUT;
	if (starts(reason, "connect:"))
		return SIMLINK_CONNECT_FAILED;
	if (starts(reason, "read:"))
		return SIMLINK_CLOSED_BY_PEER;
	if (starts(reason, "write:") || starts(reason, "peer too slow"))
		return SIMLINK_SEND_ERROR;
	return SIMLINK_OTHER;
}

/* The cause's key in agentsim's JSON. */
const char *
simlink_cause_name(enum simlink_cause c)
{
	static const char *const names[SIMLINK_CAUSES] = {
		"closed_by_peer", "send_errors", "ack_timeouts",
		"force_reconnects", "connect_failures", "other_closes"
	};

	return (unsigned)c < SIMLINK_CAUSES ? names[c] : "other_closes";
}
