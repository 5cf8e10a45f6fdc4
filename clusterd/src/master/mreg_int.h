/*
 * mreg_int: the state that mreg.c (enrollment, the workers' reports, the
 * deltas) shares with mreg_cmd.c (operators' commands on agents and
 * groups).  Internal to those two files; other modules use mreg.h.
 */
#ifndef CLUSTERD_MREG_INT_H
#define CLUSTERD_MREG_INT_H

#include <ev.h>

#include <cjson/cJSON.h>

#include "agent/agents.h"
#include "agent/enroll_pass.h"
#include "agent/keysfile.h"
#include "base/srclimit.h"
#include "master/mreg.h"

#define MREG_TASK	"Agents"
#define MREG_SHARED_REL	"etc/shared"

struct pending;

struct mreg_state {
	struct node	*node;
	struct agents	 t;
	struct mreg_ops	 ops;
	struct enroll_pass pass;	/* enrollment_password_file */
	struct keysfile	 keys;		/* etc/client.keys */
	ev_timer	 flush_timer;	/* pending delta to the workers */
	ev_timer	 sweep_timer;	/* agents silent too long */
	cJSON		*pend_up;
	cJSON		*pend_rm;
	cJSON		*pend_ctr;	/* agents' counters (replay.h) */
	unsigned	 committing;	/* enrollments not yet durable */
	struct pending	*answers, **answers_tail;	/* after the delta */
	unsigned long	 enrolled;
	unsigned long	 refused;
	unsigned long	 resent;	/* keys sent again: lost answers */
	struct srclimit	 refusals;	/* enrollment refusals, per source */
	int		 standby;	/* a standby's copy (mreg_standby_start) */
};

/* One control change waiting for its commit. */
struct change {
	cJSON		*delta;
	cJSON		*resp;
	mreg_reply_cb	 cb;
	void		*arg;
};

extern struct mreg_state mreg_state;
#define MR	mreg_state

/* Queue a delta for the workers (sent by the flush timer). */
void	mreg_broadcast(cJSON *upsert, cJSON *remove);
/* etc/client.keys follows the table: an agent added, ids removed. */
void	mreg_keys_follow(const struct agent *added, const cJSON *removed);
/* Tell whoever serves the agent's connection that it is leaving. */
void	mreg_agent_gone(struct agent *);
/* Whether etc/shared/G is a folder (a group). */
int	mreg_group_exists(const char *g);

#endif
