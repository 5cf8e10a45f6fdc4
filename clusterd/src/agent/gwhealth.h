/*
 * gwhealth: a node serving agents is healthy only while it can store what
 * they send.  When the archives fail (archives.h) it says so to HAProxy's
 * agent-check ("down #reason": HAProxy marks the server DOWN and, with
 * on-marked-down shutdown-sessions, shuts its sessions), refuses new agent
 * connections, and closes those it holds once a balancer has heard it
 * (GWHEALTH_CLOSE_AFTER after the first "down" answer: every balancer
 * checks every agent-inter, 2 s as rendered, so all have heard it) or after
 * GWHEALTH_CLOSE_MAX without any, so the agents reconnect to other workers
 * rather than back here.  When the archives work again it answers as
 * before and takes agents again.
 */
#ifndef CLUSTERD_GWHEALTH_H
#define CLUSTERD_GWHEALTH_H

struct ev_loop;

#define GWHEALTH_CLOSE_AFTER	2.5	/* s after the first "down" answer */
#define GWHEALTH_CLOSE_MAX	5.0	/* s after the failure, answer or not */

/* Told of each change: the reason, or NULL when healthy again. */
typedef void (*gwhealth_cb)(const char *reason);

void		 gwhealth_start(struct ev_loop *, gwhealth_cb notify,
		    unsigned (*close_all)(void));
void		 gwhealth_stop(void);
/* NULL while healthy, else the reason. */
const char	*gwhealth_reason(void);
/* The agent-check line while unhealthy ("down #reason\n"), else NULL;
 * the first one said starts the close of the agents' sessions. */
const char	*gwhealth_answer(void);

#endif
