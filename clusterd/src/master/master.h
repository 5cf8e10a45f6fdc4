/*
 * master: the master role.  It listens for workers and balancers on the
 * cluster port, admits them by their hello, watches their keepalives, and
 * wires the master's services together: file sync (msync), agent
 * management (mreg), the pools (pools), enrollment and its own gateway.
 */
#ifndef CLUSTERD_MASTER_H
#define CLUSTERD_MASTER_H

#include <cjson/cJSON.h>

struct control_client;
struct node;

int	 master_start(struct node *);
void	 master_stop(void);
void	 master_reconfigure(void);
void	 master_control(struct control_client *, const cJSON *, void *);

#endif
