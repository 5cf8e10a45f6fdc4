/*
 * registry: the master's durable agent registry, SQLite under the home
 * (queue/db/global.db), written by a thread of its own.  Decisions are
 * made on the loop against the in-memory table (agents.h); the registry
 * only persists them.  Every change queued while the previous transaction
 * was committing goes into the next one, so a fleet enrolling at once pays
 * one durable commit per batch, not per agent; each change's callback runs
 * on the loop once its transaction is on disk (or failed).
 */
#ifndef CLUSTERD_REGISTRY_H
#define CLUSTERD_REGISTRY_H

#include <stddef.h>

#include <cjson/cJSON.h>

struct agent;
struct agents;
struct ev_loop;

#define REGISTRY_DB_REL		"queue/db/global.db"
#define REGISTRY_SCHEMA_VERSION	4

/* ok: 1 when durable, 0 when the change could not be stored. */
typedef void (*registry_done)(void *arg, int ok);
/* error: NULL when the copy is whole and synced, else why not. */
typedef void (*registry_backup_done)(void *arg, const char *error);

int	registry_open(struct ev_loop *, const char *path, struct agents *,
	    char *err, size_t errlen);
void	registry_close(void);
void	registry_put_agent(const struct agent *, long next_id, registry_done,
	    void *arg);
void	registry_del_agent(const char *id, registry_done, void *arg);
void	registry_set_groups(const char *id, const char *groups, registry_done,
	    void *arg);
void	registry_put_group(const char *name, registry_done, void *arg);
void	registry_del_group(const char *name, registry_done, void *arg);
void	registry_agent_info(const struct agent *, const cJSON *info);
cJSON	*registry_agent_detail(const char *id);
unsigned registry_batches(void);
void	registry_set_next_id(long next_id);
void	registry_backup(const char *path, registry_backup_done, void *arg);

/*
 * A replica that must hold every change before the registry does (master
 * high availability, ha.c): write() runs on the registry thread with a
 * batch's changes ([{"op":"put","agent":{...},"next_id":N} | {"op":"del",
 * "id":..} | {"op":"groups","id":..,"groups":..}]) before its SQLite
 * transaction, and a batch it refuses fails whole; read() runs once in
 * registry_open and returns the records as registry_follow takes them
 * (below): all of them, or those changed since the standby's copy.  Set
 * before registry_open; NULL for none.
 */
struct registry_replica {
	int	(*write)(const cJSON *changes, char *err, size_t errlen);
	cJSON	*(*read)(char *err, size_t errlen);
};
void	registry_set_replica(const struct registry_replica *);

/*
 * A standby's copy (ha.c): the registry open on the loop without its
 * writer thread, following the replica's changes.  registry_follow
 * applies one read of the replica ({"agents":[records],"removed":[ids],
 * "groups":{id:groups},"next_id":N,"full":bool}; full: every agent, the
 * others are dropped) to SQLite and t in one transaction.  registry_open
 * on the same t then reads only what changed since.
 */
struct registry_applied {
	int		full;
	unsigned	records;	/* read */
	unsigned	written;	/* new or changed */
	unsigned	replaced;	/* of these, agents known before */
	unsigned	removed;	/* removed, dropped, or renamed away */
	unsigned	regrouped;
};
int	registry_follow_open(const char *path, struct agents *, char *err,
	    size_t errlen);
int	registry_follow(struct agents *, const cJSON *changes,
	    struct registry_applied *, char *err, size_t errlen);
void	registry_follow_close(void);

#endif
