/*
 * registry_replica: the registry and its replica (master high
 * availability, registry_set_replica): a batch's changes written through
 * before SQLite commits them, and the replica's records applied to SQLite
 * and the table in one transaction, when the registry opens (the
 * promotion) and every round of a standby's copy (registry_follow).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "agent/agents.h"
#include "base/log.h"
#include "base/strmap.h"
#include "master/ha_record.h"
#include "master/registry.h"
#include "master/registry_int.h"

#define TASK	REGISTRY_TASK

/* The batch's changes to agents, as the replica takes them. */
int
registry_replicate(struct reg_job *batch, char *err, size_t errlen)
{
	struct reg_job	*j;
	cJSON		*all = cJSON_CreateArray(), *c;
	int		 rv;

	for (j = batch; j != NULL; j = j->next) {
		c = cJSON_CreateObject();
		switch (j->op) {
		case REG_PUT_AGENT:
			cJSON_AddStringToObject(c, "op", "put");
			cJSON_AddItemToObject(c, "agent", ha_record_json(&j->a));
			cJSON_AddNumberToObject(c, "next_id",
			    (double)j->next_id);
			break;
		case REG_DEL_AGENT:
			cJSON_AddStringToObject(c, "op", "del");
			cJSON_AddStringToObject(c, "id", j->a.id);
			break;
		case REG_SET_GROUPS:
			cJSON_AddStringToObject(c, "op", "groups");
			cJSON_AddStringToObject(c, "id", j->a.id);
			cJSON_AddStringToObject(c, "groups", j->a.groups ?
			    j->a.groups : "");
			break;
		default:
			cJSON_Delete(c);
			continue;
		}
		cJSON_AddItemToArray(all, c);
	}
	rv = cJSON_GetArraySize(all) == 0 ? 0 : R.replica->write(all, err,
	    errlen);
	cJSON_Delete(all);
	return rv;
}

/* Drop an agent from SQLite and the table; -1 on an SQLite failure. */
static int
drop(struct agents *t, const char *id)
{
	char	copy[AGENT_ID_MAX];

	snprintf(copy, sizeof(copy), "%s", id);
	if (registry_run("DELETE FROM agent WHERE id = CAST(?1 AS INTEGER)",
	    (const char *[]){ copy }, 1) == -1)
		return -1;
	agent_free(agents_remove(t, copy));
	return 0;
}

/* Agents of the table that the full answer (seen) does not name. */
static int
drop_unseen(struct agents *t, struct strmap *seen, struct registry_applied *c)
{
	struct agent	**all;
	size_t		  i, n = 0;
	int		  rv = 0;

	if ((all = agents_sorted(t, &n)) == NULL && n > 0)
		return -1;
	for (i = 0; i < n && rv == 0; i++)
		if (strmap_get(seen, all[i]->id) == NULL) {
			rv = drop(t, all[i]->id);
			c->removed++;
		}
	free(all);
	return rv;
}

/* Groups set after the record (g/ keys) of agents the table holds. */
static int
regroup(struct agents *t, const cJSON *groups, struct registry_applied *c)
{
	const cJSON	*g;
	struct agent	*a;

	cJSON_ArrayForEach(g, groups) {
		if (!cJSON_IsString(g) || (a = agents_by_id(t, g->string)) ==
		    NULL || strlen(g->valuestring) > AGENT_GROUPS_MAX)
			continue;
		if (registry_write_groups(a->id, g->valuestring) == -1)
			return -1;
		agents_rehash(t, a, g->valuestring[0] ? g->valuestring : NULL);
		c->regrouped++;
	}
	return 0;
}

/*
 * Make the registry (SQLite and its table) equal the replica's records,
 * in one transaction.  A full answer ("full": true) names every agent:
 * agents it does not name are dropped (their enrollment was never
 * durable there, so never answered).  Otherwise it holds what changed
 * since the last one applied: records written, agents removed, groups
 * set.  Status columns of agents already known are kept.  A node promoted
 * to active master does this before anything is served; a standby does
 * it every round as it follows the store.
 */
int
registry_apply_store(struct agents *t, const cJSON *st,
    struct registry_applied *c, char *err, size_t errlen)
{
	const cJSON	*arr, *o, *rm;
	struct agent	*a, *old;
	struct strmap	 seen;
	long		 next;
	int		 full, rv = -1;

	memset(c, 0, sizeof(*c));
	arr = cJSON_GetObjectItemCaseSensitive(st, "agents");
	next = (long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(st,
	    "next_id"));
	c->full = full = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st,
	    "full"));
	strmap_init(&seen);
	if (!cJSON_IsArray(arr)) {
		snprintf(err, errlen, "no agents in the store's answer");
		goto done;
	}
	if (registry_exec("BEGIN IMMEDIATE;", err, errlen) == -1)
		goto done;
	cJSON_ArrayForEach(o, arr) {
		if ((a = ha_record_agent(o, err, errlen)) == NULL)
			goto rollback;
		c->records++;
		/* The key lives in st, kept until the end. */
		if (strmap_put(&seen, cJSON_GetObjectItemCaseSensitive(o,
		    "id")->valuestring, &seen) == -1) {
			agent_free(a);
			goto sqlerr;
		}
		if ((old = agents_by_id(t, a->id)) != NULL &&
		    ha_record_same(old, a)) {
			agent_free(a);
			continue;
		}
		if (old != NULL) {
			agent_free(agents_remove(t, old->id));
			c->replaced++;
		}
		if ((old = agents_by_name(t, a->name)) != NULL) {
			/* Ids only grow: the same name under a higher id is
			 * the newer record, whichever etcd lists first (keys
			 * sort as bytes: a/1000 before a/999).  A lower one is
			 * a leftover, e.g. of a batch etcd took in part. */
			if (strtol(old->id, NULL, 10) > strtol(a->id, NULL,
			    10)) {
				if (strtol(a->id, NULL, 10) >= next)
					next = strtol(a->id, NULL, 10) + 1;
				agent_free(a);
				continue;
			}
			if (drop(t, old->id) == -1) {
				agent_free(a);
				goto sqlerr;
			}
			c->removed++;
		}
		if (registry_write_agent(a, next) == -1 ||
		    agents_add(t, a) == -1) {
			agent_free(a);
			goto sqlerr;
		}
		c->written++;
		if (strtol(a->id, NULL, 10) >= next)
			next = strtol(a->id, NULL, 10) + 1;
	}
	cJSON_ArrayForEach(rm, cJSON_GetObjectItemCaseSensitive(st,
	    "removed")) {
		if (!cJSON_IsString(rm) || agents_by_id(t,
		    rm->valuestring) == NULL)
			continue;
		if (drop(t, rm->valuestring) == -1)
			goto sqlerr;
		c->removed++;
	}
	if ((full && drop_unseen(t, &seen, c) == -1) || regroup(t,
	    cJSON_GetObjectItemCaseSensitive(st, "groups"), c) == -1)
		goto sqlerr;
	if (next > t->next_id) {
		char	num[32];

		snprintf(num, sizeof(num), "%ld", next);
		if (registry_run("UPDATE meta SET value = ?1 WHERE key = "
		    "'next_id'", (const char *[]){ num }, 1) == -1)
			goto sqlerr;
		t->next_id = next;
	}
	if (registry_exec("COMMIT;", err, errlen) == -1)
		goto rollback;
	rv = 0;
	goto done;
sqlerr:
	snprintf(err, errlen, "%s", sqlite3_errmsg(R.db));
rollback:
	registry_exec("ROLLBACK;", NULL, 0);
done:
	strmap_free(&seen);
	return rv;
}

/* registry_open's read of the replica: the registry then equals it. */
int
registry_restore(struct agents *t, char *err, size_t errlen)
{
	struct registry_applied	 c;
	cJSON			*st;
	int			 rv;

	if ((st = R.replica->read(err, errlen)) == NULL)
		return -1;
	if ((rv = registry_apply_store(t, st, &c, err, errlen)) == 0)
		log_info(TASK, "Registry equal to the cluster store (%s): %u "
		    "records read, %u written, %u removed or dropped, %u "
		    "regrouped; %zu agents, next id %ld.", c.full ?
		    "every record" : "the changes since the copy followed",
		    c.records, c.written, c.removed, c.regrouped,
		    agents_count(t), t->next_id);
	cJSON_Delete(st);
	return rv;
}

void
registry_set_replica(const struct registry_replica *r)
{
	R.replica = r;
}
