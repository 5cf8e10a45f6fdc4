/*
 * mreg: the master's agent management on the loop: enrollment decisions,
 * removals and groups against the in-memory table, persisted through the
 * registry, answered once durable, then replicated to workers as deltas
 * and written to etc/client.keys.  Groups are the folders of etc/shared;
 * memberships are ordered lists kept in the registry.
 */
#ifndef CLUSTERD_MREG_H
#define CLUSTERD_MREG_H

#include <cjson/cJSON.h>

#include "agent/enroll_parse.h"

struct agent;
struct agents;
struct node;

/* answer: "OSSEC K:'...'" or "ERROR: ..."; id set on success. */
typedef void (*mreg_answer_cb)(void *arg, const char *answer, const char *id,
    const char *key);
/* resp: a control answer ({"error":0,...}); the callee takes it. */
typedef void (*mreg_reply_cb)(void *arg, cJSON *resp);
/*
 * What mreg tells the rest of the master, wired by master.c:
 * delta: a change to replicate, {"upsert":[records],"remove":[ids]};
 * gone:  an agent about to leave the table (removed, or replaced), so
 *        whoever serves its connection drops it.  May be NULL.
 */
struct mreg_ops {
	void	(*delta)(const cJSON *delta);
	void	(*gone)(struct agent *);
};

struct registry_applied;

int	 mreg_start(struct node *, const struct mreg_ops *);
/*
 * A standby master's copy of the registry (docs/ha.md): open it, apply
 * each read of the cluster store to it (SQLite, the table and
 * etc/client.keys), answer the commands that only read it ("agents",
 * "agent", "groups"; 0 for any other).  mreg_start takes it over.
 */
int	 mreg_standby_start(struct node *);
int	 mreg_follow(const cJSON *changes, struct registry_applied *,
	    char *err, size_t errlen);
int	 mreg_standby_command(const cJSON *req, mreg_reply_cb, void *arg);
void	 mreg_standby_stop(void);
void	 mreg_stop(void);
void	 mreg_reload(void);
void	 mreg_enroll(const struct enroll_req *, const char *src_ip,
	    mreg_answer_cb, void *arg);
void	 mreg_enroll_abort(const char *id, const char *key);
cJSON	*mreg_check(const char *worker, const cJSON *body);
int	 mreg_command(const cJSON *req, mreg_reply_cb, void *arg);
void	 mreg_backup(const cJSON *req, mreg_reply_cb, void *arg);
void	 mreg_health(cJSON *);
unsigned mreg_agent_info(const cJSON *, const char *node);
unsigned mreg_node_lost(const char *node);
const struct agents *mreg_table(void);
/* Agents (total may be NULL) and active agents of each named node. */
void	 mreg_node_counts(char *const *nodes, size_t n, unsigned *total,
	    unsigned *active);
void	 mreg_enroll_counts(unsigned long *accepted, unsigned long *refused);
/* Enrollments decided but not yet durable (their answers wait for it). */
unsigned mreg_committing(void);

#endif
