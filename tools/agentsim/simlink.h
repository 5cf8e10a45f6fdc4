/*
 * simlink: when one simulated agent sends a keepalive, gives up on a silent
 * manager and tries again, as a Wazuh 4.x agent (agentd) decides it.  Pure
 * functions of the times they are given, so they are tested without a
 * socket; agentsim.c does the I/O and asks these what is due.
 *
 * Times are seconds on one clock (the event loop's); 0 means "never".
 *
 * What agentd does, and what is mirrored here:
 * - connect, send "#!-agent startup", wait for the answer (agent.recv_timeout,
 *   60 s); no keepalive or event goes out before it (start_agent.c);
 * - once answered, a keepalive at once if notify_time has passed since the
 *   previous one (the timestamp survives reconnections), then one every
 *   notify_time (notify.c: run_notify);
 * - every decrypted "#!-" message from the manager, not only acks, resets
 *   the clock of time-reconnect; when more than time-reconnect seconds pass
 *   without one, the agent closes and connects again at once (notify.c,
 *   receiver.c).  agentd looks once a second, so each agent here adds its
 *   own fixed phase below one second;
 * - after losing an answered connection it connects again at once; after a
 *   failed attempt it sleeps the retry interval (start_agent.c).  Here the
 *   "at once" is spread over the first second and the retry interval over
 *   +-20 %, so agents that lost the same node do not come back in the same
 *   millisecond.
 */
#ifndef AGENTSIM_SIMLINK_H
#define AGENTSIM_SIMLINK_H

enum simlink_state {
	SIMLINK_IDLE,		/* waiting to try again */
	SIMLINK_HANDSHAKE,	/* connecting, or startup sent: no answer yet */
	SIMLINK_UP		/* the manager answered: keepalives flow */
};

/* Why a connection (or an attempt) ended. */
enum simlink_cause {
	SIMLINK_CLOSED_BY_PEER,	/* end of stream or reset while reading */
	SIMLINK_SEND_ERROR,	/* a write failed, or the peer stopped reading */
	SIMLINK_ACK_TIMEOUT,	/* nothing came back for time-reconnect */
	SIMLINK_FORCE_RECONNECT,/* the manager asked for it */
	SIMLINK_CONNECT_FAILED,	/* the TCP connection was never made */
	SIMLINK_OTHER,		/* a bad frame, no memory */
	SIMLINK_CAUSES
};

/* The reasons agentsim gives conn_close() for its own decisions. */
#define SIMLINK_REASON_TIMEOUT	"no answer from the manager"
#define SIMLINK_REASON_FORCE	"force_reconnect"

enum simlink_action {
	SIMLINK_WAIT,		/* nothing due before *at */
	SIMLINK_KEEPALIVE,	/* send a keepalive now */
	SIMLINK_TIMEOUT		/* give up on this connection now */
};

struct simlink_cfg {
	double	notify_time;	/* keepalive interval (-k) */
	double	time_reconnect;	/* silence before reconnecting (-T) */
	double	retry;		/* retry interval after a failure (-R) */
};

struct simlink {
	enum simlink_state state;
	double	phase;		/* this agent's offset of checks, [0, 1) */
	double	since;		/* attempt start, or the last answer */
	double	last_keepalive;	/* kept across reconnections */
	double	unacked;	/* oldest startup or keepalive not answered */
};

void	 simlink_init(struct simlink *, double phase);
void	 simlink_attempt(struct simlink *, double now);
void	 simlink_sent(struct simlink *, double now, int keepalive);
int	 simlink_received(struct simlink *, double now, int ack);
enum simlink_action simlink_next(const struct simlink *,
	    const struct simlink_cfg *, double now, double *at);
double	 simlink_ack_wait(const struct simlink *, double now);
double	 simlink_retry_delay(const struct simlink_cfg *, int was_up,
	    double u);
void	 simlink_lost(struct simlink *);
enum simlink_cause simlink_cause_of(const char *reason);
const char *simlink_cause_name(enum simlink_cause);

#endif
