/*
 * mscope: which worker may speak for an agent.  The master takes an
 * agent's status from the worker it last heard it from (its node); another
 * worker takes the agent over only when that node cannot be serving it any
 * longer: the node is gone, the agent is not active there, the node said
 * the agent's connection closed, or it has not reported the agent for
 * connection_overtake_time.  The rule the gateway applies to two
 * connections of one agent, across workers.
 */
#ifndef CLUSTERD_MSCOPE_H
#define CLUSTERD_MSCOPE_H

struct agent;

void	 mscope_start(int (*node_up)(const char *), double window);
void	 mscope_stop(void);
int	 mscope_may_report(const struct agent *, const char *node);
void	 mscope_closed(const struct agent *, const char *node);
void	 mscope_reported(const struct agent *);

#endif
