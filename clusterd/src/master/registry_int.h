/*
 * registry_int: what the registry's files share: registry.c (open, the
 * schema and its migrations, load, the standby's copy, close, the loop's
 * read), registry_write.c (the writer thread: its jobs and batches, the
 * SQL of each change, backups) and registry_replica.c (a batch written
 * through to the replica, the replica's records applied).  Internal to
 * those files; other modules use registry.h.
 */
#ifndef CLUSTERD_REGISTRY_INT_H
#define CLUSTERD_REGISTRY_INT_H

#include <pthread.h>
#include <stddef.h>

#include <sqlite3.h>

#include <ev.h>

#include <cjson/cJSON.h>

#include "agent/agents.h"
#include "master/registry.h"

#define REGISTRY_TASK	"Registry"

enum reg_op {
	REG_PUT_AGENT,
	REG_DEL_AGENT,
	REG_SET_GROUPS,
	REG_PUT_GROUP,
	REG_DEL_GROUP,
	REG_INFO,
	REG_NEXT_ID,
	REG_BACKUP	/* after the batch's commit, outside any transaction */
};

struct reg_job {
	enum reg_op	 op;
	struct agent	 a;		/* PUT_AGENT: a copy; else id/groups */
	long		 next_id;
	/* Small: thousands of status jobs can queue behind one commit (a
	 * worker reporting 5,000 agents back at once), so what only some ops
	 * need is allocated apart, and REG_INFO's os fields and labels wait
	 * as JSON text (about a fifth of the parsed tree's size). */
	char		*group;		/* PUT_GROUP, DEL_GROUP: its name */
	char		*why;		/* REG_BACKUP: the failure, WHY_LEN */
	char		*info;		/* REG_INFO: os fields and labels */
	char		*path;		/* REG_BACKUP: the copy to write */
	registry_done	 cb;
	registry_backup_done bcb;
	void		*arg;
	int		 ok;
	struct reg_job	*next;
};

struct registry_state {
	struct ev_loop	*loop;
	sqlite3		*db;
	pthread_t	 thread;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct reg_job	*queue, **qtail;	/* under mu */
	struct reg_job	*done, **dtail;		/* under mu */
	int		 quit;			/* under mu */
	int		 running;
	ev_async	 async;
	unsigned	 batches;
	/* The registry thread's own: the reason of the failure last
	 * logged ("" while writes work) and the changes refused since. */
	char		 failure[256];
	char		 path[4096];
	sqlite3		*reader;	/* the loop's, registry_agent_detail() */
	unsigned long	 refused;
	/* The registry thread's prepared statements, by their SQL text. */
	struct {
		const char	*sql;
		sqlite3_stmt	*st;
	}		 cache[16];
	/* registry_set_replica's; NULL for none. */
	const struct registry_replica *replica;
};

extern struct registry_state registry_state;
#define R	registry_state

/* registry.c: one statement or more on the writer's connection. */
int	registry_exec(const char *sql, char *err, size_t errlen);

/* registry_write.c */
int	registry_run(const char *sql, const char *const *text, int ntext);
int	registry_write_groups(const char *id, const char *groups);
int	registry_write_agent(const struct agent *, long next_id);
void	registry_stmts_free(void);
void	*registry_main(void *);
void	registry_done_cb(struct ev_loop *, ev_async *, int revents);

/* registry_replica.c */
int	registry_replicate(struct reg_job *batch, char *err, size_t errlen);
int	registry_restore(struct agents *, char *err, size_t errlen);
int	registry_apply_store(struct agents *, const cJSON *st,
	    struct registry_applied *, char *err, size_t errlen);

#endif
