/*
 * wagents: a worker's replica of the agents (id, name, ip, key, groups),
 * in memory, in etc/client.keys for Wazuh's tools, and for restarts in
 * queue/cluster/agents.snapshot (one record a line) plus agents.journal
 * (each delta since, one JSON line).  After each connect the worker compares its
 * digest with the master's and takes the full table when they differ;
 * between checks the master's deltas keep it equal, and a delta whose
 * resulting digest disagrees triggers a check.  A delta costs its own
 * size: it is appended to the journal and to client.keys, and only a
 * journal grown past the snapshot rewrites it.
 */
#ifndef CLUSTERD_WAGENTS_H
#define CLUSTERD_WAGENTS_H

#include <cjson/cJSON.h>

struct agent;
struct agents;
struct frame_hdr;
struct link;
struct node;

#define WAGENTS_FILE_REL	"queue/cluster/agents.snapshot"
#define WAGENTS_JOURNAL_REL	"queue/cluster/agents.journal"

int		 wagents_start(struct node *);
void		 wagents_stop(void);
void		 wagents_link_up(struct link *);
void		 wagents_link_down(void);
int		 wagents_on_frame(const struct frame_hdr *, const cJSON *);
void		 wagents_status(cJSON *);
const struct agents *wagents_table(void);
/* Called before an agent object leaves the table (r: its replacement). */
void		 wagents_on_gone(void (*)(struct agent *, struct agent *r));

#endif
