/*
 * master_int: what master.c (the cluster port, peers, relays, rebalancing)
 * shares with mview.c (what the master shows: -l, -i, --health, --pools,
 * --lb-state, and its control commands).  Internal to those files; other
 * modules use master.h.
 */
#ifndef CLUSTERD_MASTER_INT_H
#define CLUSTERD_MASTER_INT_H

#include <sys/queue.h>

#include <ev.h>

#include <cjson/cJSON.h>

#include "base/config.h"
#include "net/listener.h"
#include "net/preauth.h"

#define REFUSAL_SLOTS		64
#define SEEN_MAX		256	/* peers named in the metrics */

struct link;
struct msync_peer;
struct node;

enum peer_state {
	PEER_HANDSHAKE,		/* TLS or hello pending */
	PEER_READY
};

struct peer {
	struct link		*link;
	unsigned long		 serial;	/* names it in async replies */
	struct msync_peer	*sync;
	enum peer_state		 state;
	int			 balancer;	/* a balancer, not a worker */
	int			 standby;	/* a standby master: files only */
	unsigned		 generation;	/* of its credential (nodes_file) */
	int			 enrollment;	/* serves enrollment (its hello) */
	int			 draining;	/* stopping: out of rebalancing */
	char			 name[CONFIG_NAME_MAX + 1];
	char			 ctx[CONFIG_NAME_MAX + 16];	/* log context */
	char			 version[32];
	char			 address[64];
	double			 connected_since;	/* wall clock */
	double			 last_keepalive;	/* wall clock */
	char			 health[192];	/* why it takes no agents; "" ok */
	ev_timer		 watchdog;
	struct preauth_entry	 pa;	/* counted until its hello */
	TAILQ_ENTRY(peer)	 entry;
};

/* Rate limit for refusals: one line per address and kind per window. */
struct refusal {
	char		 address[128];	/* "address|kind" */
	ev_tstamp	 last_logged;
	unsigned	 suppressed;
};

/* A peer admitted since start: the metrics show it up or down. */
struct seen {
	char		 name[CONFIG_NAME_MAX + 1];
	const char	*type;		/* peer_role() */
};

struct master_state {
	struct node		*node;
	struct listener		 listener;
	struct preauth		 pa;	/* connections without a hello yet */
	TAILQ_HEAD(, peer)	 peers;
	struct refusal		 refusals[REFUSAL_SLOTS];
	char			 local_address[64];
	unsigned long		 next_serial;
	ev_timer		 rebalance;
	int			 stopping;
	unsigned long		 rebalance_rounds, rebalance_moves;
	struct seen		 seen[SEEN_MAX];
	size_t			 nseen;
};

extern struct master_state M;

/* "worker", "balancer" or "standby". */
const char	*mpeer_role(const struct peer *);
/* A worker: agents, enrollment relays, rebalancing, the pools. */
int		 mpeer_is_worker(const struct peer *);
/* A control command, from the control socket or forwarded by a worker;
 * its answer goes through reply. */
void		 master_command(const cJSON *, void (*reply)(void *, cJSON *),
		    void *);

#endif
