/*
 * replay: each agent's last message counters (secmsg.h), carried between
 * nodes so that a message replayed on another connection, on this node or
 * on the worker the agent moved to, is refused when enforce_counters is on.
 * A worker reports [id, global, local] with its periodic status reports
 * and when an agent's connection closes; the master keeps the highest and
 * sends them to every worker in its agents deltas (gateway.md,
 * "Counters").  Counters only ever go up.
 */
#ifndef CLUSTERD_REPLAY_H
#define CLUSTERD_REPLAY_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "agent/agents.h"

#define REPLAY_GLOBAL_MAX	9999999999UL	/* 10 digits */
#define REPLAY_LOCAL_MAX	9999U		/* 4 digits */

/* Append a's counters to arr as [id, global, local]. */
void	replay_note(cJSON *arr, const struct agent *a);
/* One [id, global, local] entry: 0 with the fields set, -1 if malformed.
 * global is read as a message's (secmsg_global32): a node of an older
 * version may send the 10 digits it kept. */
int	replay_parse(const cJSON *e, const char **id, uint32_t *global,
	    unsigned *local);
/* Raise a's counters to global:local when those are newer; 1 if raised. */
int	replay_raise(struct agent *a, uint32_t global, unsigned local);

#endif
