/*
 * wdrain: a worker's graceful drain before it stops (SIGTERM, or
 * cluster_control --drain on the worker).  Agent-check says "up 0%",
 * agents starting up are sent away, and the connected agents are asked
 * to reconnect (#!-force_reconnect) drain_rate a second, after drain_wait
 * when HAProxy reads an agent-check; done() is called once no agent is
 * served here, or after drain_timeout.
 */
#ifndef CLUSTERD_WDRAIN_H
#define CLUSTERD_WDRAIN_H

struct node;

int	wdrain_start(struct node *, void (*done)(void));
int	wdrain_active(void);
void	wdrain_stop(void);

#endif
