#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agents.h"
#include "base/strmap.h"
#include "master/ha_record.h"
#include "net/etcd.h"

cJSON *
ha_record_json(const struct agent *a)
{
	cJSON	*o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "id", a->id);
	cJSON_AddStringToObject(o, "name", a->name);
	cJSON_AddStringToObject(o, "ip", a->ip);
	cJSON_AddStringToObject(o, "register_ip",
	    AGENT_ADDR_OF(a, AGENT_REGISTER_IP));
	cJSON_AddStringToObject(o, "key", AGENT_KEY_OF(a));
	cJSON_AddStringToObject(o, "groups", a->groups ? a->groups : "");
	cJSON_AddStringToObject(o, "version", a->version);
	cJSON_AddStringToObject(o, "enroll_src", AGENT_ADDR_OF(a,
	    AGENT_ENROLL_SRC));
	cJSON_AddNumberToObject(o, "date_add", (double)a->date_add);
	return o;
}

static const char *
field(const cJSON *o, const char *k, size_t max)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) && strlen(v->valuestring) <= max ?
	    v->valuestring : NULL;
}

/*
 * The record of one agent, checked as the worker checks the master's:
 * a valid id and name, a key of exactly 64 hex digits, bounded fields.
 */
struct agent *
ha_record_agent(const cJSON *o, char *err, size_t errlen)
{
	const char	*id = field(o, "id", AGENT_ID_MAX - 1);
	const char	*name = field(o, "name", AGENT_NAME_MAX);
	const char	*ip = field(o, "ip", AGENT_IP_MAX - 1);
	const char	*rip = field(o, "register_ip", AGENT_IP_MAX - 1);
	const char	*key = field(o, "key", AGENT_KEY_LEN);
	const char	*groups = field(o, "groups", AGENT_GROUPS_MAX);
	const char	*ver = field(o, "version", AGENT_FIELD_MAX - 1);
	const char	*src = field(o, "enroll_src", AGENT_IP_MAX - 1);
	const cJSON	*date = cJSON_GetObjectItemCaseSensitive(o, "date_add");
	struct agent	*a;

	if (id == NULL || !agents_valid_id(id) || name == NULL ||
	    !agents_valid_name(name) || ip == NULL || rip == NULL ||
	    key == NULL || strlen(key) != AGENT_KEY_LEN || groups == NULL ||
	    ver == NULL || src == NULL || !cJSON_IsNumber(date)) {
		snprintf(err, errlen, "malformed agent record");
		return NULL;
	}
	if (!agents_valid_key(key)) {
		snprintf(err, errlen, "agent %s (%s): its key is not %d hex "
		    "digits", id, name, AGENT_KEY_LEN);
		return NULL;
	}
	if ((a = agent_new()) == NULL)
		goto oom;
	snprintf(a->id, sizeof(a->id), "%s", id);
	agent_set_key(a, key);		/* checked above */
	a->date_add = agent_time(date->valuedouble);
	if (agent_set_name(a, name) == -1 || agent_set_ip(a, ip) == -1 ||
	    agent_set_register_ip(a, rip) == -1 ||
	    agent_set_enroll_src(a, src) == -1 ||
	    agent_set_version(a, ver) == -1 ||
	    agent_set_groups(a, groups) == -1)
		goto oom;
	return a;
oom:
	agent_free(a);
	snprintf(err, errlen, "out of memory");
	return NULL;
}

int
ha_record_same(const struct agent *a, const struct agent *b)
{
	return strcmp(a->id, b->id) == 0 && agent_same_key(a, b) &&
	    strcmp(a->name, b->name) == 0 && strcmp(a->ip, b->ip) == 0 &&
	    strcmp(a->groups ? a->groups : "", b->groups ? b->groups : "") ==
	    0 && a->date_add == b->date_add;
}

/* The id a key of the store ends with ("<prefix>a/042" -> "042"). */
static int
kv_id(const cJSON *kv, char id[AGENT_ID_MAX])
{
	const cJSON	*k = cJSON_GetObjectItemCaseSensitive(kv, "key");
	const char	*slash;
	char		*key;
	size_t		 n;
	int		 ok = 0;

	if (!cJSON_IsString(k) || (key = etcd_unb64(k->valuestring, &n)) ==
	    NULL)
		return -1;
	if ((slash = strrchr(key, '/')) != NULL && strlen(slash + 1) <
	    AGENT_ID_MAX && strlen(key) == n && agents_valid_id(slash + 1)) {
		snprintf(id, AGENT_ID_MAX, "%s", slash + 1);
		ok = 1;
	}
	free(key);
	return ok ? 0 : -1;
}

/* A kv's value, decoded; "" for an empty one (etcd omits it); NULL when
 * it is not base64 or holds a NUL. */
static char *
kv_value(const cJSON *kv)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(kv, "value");
	char		*s;
	size_t		 n;

	if (v == NULL)
		return strdup("");
	if (!cJSON_IsString(v) || (s = etcd_unb64(v->valuestring, &n)) ==
	    NULL)
		return NULL;
	if (strlen(s) != n) {
		free(s);
		return NULL;
	}
	return s;
}

/*
 * The store's a/ and g/ keys changed since a revision (or all of them) as
 * the changes the registry applies: {"agents":[records, groups as last
 * set],"removed":[ids],"groups":{id: groups}}.  An a/ key without a value
 * is a removed agent's tombstone; a g/ key holds the groups set after the
 * agent's record was written (its empty value: no group).  The records
 * themselves are checked later, by ha_record_agent().
 */
cJSON *
ha_record_delta(const cJSON *akvs, const cJSON *gkvs, char *err,
    size_t errlen)
{
	cJSON		*out = cJSON_CreateObject(), *gmap, *agents, *removed;
	cJSON		*o, *g;
	const cJSON	*kv, *rid;
	char		 id[AGENT_ID_MAX], *v;
	struct strmap	 gi;	/* gmap's items by id: a registry's worth */

	strmap_init(&gi);
	agents = cJSON_AddArrayToObject(out, "agents");
	removed = cJSON_AddArrayToObject(out, "removed");
	gmap = cJSON_AddObjectToObject(out, "groups");
	if ((akvs != NULL && !cJSON_IsArray(akvs)) || (gkvs != NULL &&
	    !cJSON_IsArray(gkvs))) {
		snprintf(err, errlen, "kvs is not an array");
		goto fail;
	}
	cJSON_ArrayForEach(kv, gkvs) {
		if (kv_id(kv, id) == -1 || (v = kv_value(kv)) == NULL) {
			snprintf(err, errlen, "bad groups key or value");
			goto fail;
		}
		if ((g = strmap_del(&gi, id)) != NULL)
			cJSON_Delete(cJSON_DetachItemViaPointer(gmap, g));
		g = cJSON_CreateString(v);
		free(v);
		cJSON_AddItemToObject(gmap, id, g);
		if (strmap_put(&gi, g->string, g) == -1) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	cJSON_ArrayForEach(kv, akvs) {
		if (kv_id(kv, id) == -1 || (v = kv_value(kv)) == NULL) {
			snprintf(err, errlen, "bad agent key or value");
			goto fail;
		}
		if (*v == '\0') {
			free(v);
			cJSON_AddItemToArray(removed, cJSON_CreateString(id));
			if ((g = strmap_del(&gi, id)) != NULL)
				cJSON_Delete(cJSON_DetachItemViaPointer(gmap,
				    g));
			continue;
		}
		o = cJSON_Parse(v);
		free(v);
		rid = cJSON_GetObjectItemCaseSensitive(o, "id");
		if (!cJSON_IsObject(o) || !cJSON_IsString(rid) ||
		    strcmp(rid->valuestring, id) != 0) {
			cJSON_Delete(o);
			snprintf(err, errlen, "agent record %s does not parse "
			    "or names another id", id);
			goto fail;
		}
		if ((g = strmap_del(&gi, id)) != NULL) {
			cJSON_DeleteItemFromObjectCaseSensitive(o, "groups");
			cJSON_AddItemToObject(o, "groups",
			    cJSON_DetachItemViaPointer(gmap, g));
		}
		cJSON_AddItemToArray(agents, o);
	}
	strmap_free(&gi);
	return out;
fail:
	strmap_free(&gi);
	cJSON_Delete(out);
	return NULL;
}
