/*
 * gateway: the agents' port (1514/tcp) on workers.  Reads length-prefixed
 * secure messages, identifies the agent by its id and key (wagents), acks
 * startups and keepalives, archives events, keeps each agent's status, and
 * reports status changes, OS info and labels to the master in batches of
 * a fraction of a second.  An idle agent costs one small connection
 * struct: frame buffers exist only while a frame is being read.
 */
#ifndef CLUSTERD_GATEWAY_H
#define CLUSTERD_GATEWAY_H

#include <stddef.h>

#include <cjson/cJSON.h>

struct agent;
struct agents;
struct node;

#define GATEWAY_FLUSH	0.2	/* seconds between reports to the master */

/*
 * Where the gateway finds agents and sends its reports: a worker's replica
 * and its link to the master, or the master's own table and registry.
 * deliver() returns -1 to keep the batch for later (no master reachable).
 */
struct gateway_ops {
	const struct agents *(*table)(void);
	int	(*deliver)(const cJSON *report);
	/* This node stopped storing events (the reason), or stores them
	 * again (NULL): gwhealth.h.  May be NULL. */
	void	(*health)(const char *reason);
};

int	gateway_start(struct node *, const struct gateway_ops *);
void	gateway_stop(void);
void	gateway_resend(void);
void	gateway_agent_gone(struct agent *, struct agent *replacement);
int	gateway_force_reconnect(struct agent *);
unsigned gateway_shed(unsigned);
/* Rebalancing and drains: lb.md, "Rebalancing" and "Graceful drain". */
void	gateway_set_share(unsigned, double, unsigned);
/* A rebalancing order (agents, share, for, budget): gwrebalance.c. */
void	gateway_rebalance(const cJSON *);
void	gateway_drain(void);
size_t	gateway_served(void);
int	gateway_enabled(void);

/* What HAProxy's agent-check hears from this node. */
enum gateway_lb_state {
	GATEWAY_READY,
	GATEWAY_DRAIN,
	GATEWAY_MAINT
};

int	gateway_set_lb_state(const char *);
void	gateway_status(cJSON *);

#endif
