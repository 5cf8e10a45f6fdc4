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

#include <cjson/cJSON.h>

#include "agents.h"
#include "link.h"
#include "node.h"

#define GATEWAY_FLUSH	0.2	/* seconds between reports to the master */

int	gateway_start(struct node *);
void	gateway_stop(void);
void	gateway_link_up(struct link *);
void	gateway_link_down(void);
void	gateway_agent_gone(struct agent *, struct agent *replacement);
int	gateway_force_reconnect(struct agent *);
void	gateway_status(cJSON *);

#endif
