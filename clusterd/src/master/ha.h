/*
 * ha: master high availability through etcd (docs/ha.md).  With ha_etcd
 * set, a master-eligible node starts as a standby: it serves no cluster
 * link, no enrollment, and answers only the ha view on its control
 * socket.  A thread of its own campaigns with etcd's election recipe (a
 * lease, a create-if-absent transaction on <prefix>leader, keepalives);
 * the node that wins becomes the active master, its term the leader key's
 * create revision.  Before starting the master role it makes its registry
 * equal the agents' records in etcd; then every registry batch goes to
 * etcd first, in a transaction that holds only while its leader key is
 * still the one it created (fencing), and is answered only once etcd has
 * committed it (majority-durable).  A master whose lease may have ended,
 * or whose key is gone, stops at once: it executes itself again and comes
 * back as a standby.
 */
#ifndef CLUSTERD_HA_H
#define CLUSTERD_HA_H

#include <cjson/cJSON.h>

struct config;
struct control_client;
struct node;

int		 ha_enabled(const struct config *);
int		 ha_start(struct node *);
void		 ha_stop(void);
/* On the loop: this node is the active master and its lease holds. */
int		 ha_active(void);
/*
 * On the loop: a planned handover (--step-down, a promotion) is under way;
 * this node takes no new enrollment and re-executes as a standby soon.
 */
int		 ha_handing_over(void);
/* On the loop: the master role runs here (always without ha). */
int		 ha_serving(void);
/* The term the active master was elected in (0 without ha). */
long long	 ha_term(void);
/* Add the master-eligible nodes' view ("ha") to a nodes answer. */
void		 ha_annotate(cJSON *data);
/* The control socket's handler on a master-eligible node. */
void		 ha_control(struct control_client *, const cJSON *req,
		    void *arg);

#endif
