/*
 * pools: the master's view of the balancers' HAProxy pools.  It keeps the
 * membership (every node that serves agents or enrollment, with the
 * address balancers reach it on), the operators' edits (ready, drain,
 * maint, removed; per pool), and each balancer's last report of what its
 * HAProxy holds.  Every change goes to every balancer as one snapshot.
 * Membership and edits persist in var/pools.json.
 */
#ifndef CLUSTERD_POOLS_H
#define CLUSTERD_POOLS_H

#include <cjson/cJSON.h>

/* The pools' members and operator states, kept across restarts (and
 * mirrored on standby masters, ha.c). */
#define POOLS_REL	"var/pools.json"

struct hello;
struct node;

/* Send a snapshot (FRAME_POOLS body) to every connected balancer. */
typedef void (*pools_send_cb)(const cJSON *);

int	 pools_start(struct node *, pools_send_cb);
void	 pools_stop(void);
void	 pools_node_up(const struct hello *, const char *type,
	    const char *peer_address);
void	 pools_node_down(const char *name);
cJSON	*pools_snapshot(void);
void	 pools_report(const char *balancer, const cJSON *);
void	 pools_balancer_down(const char *balancer);
int	 pools_command(const cJSON *req, cJSON **resp);
int	 pools_serving(const char *name);

#endif
