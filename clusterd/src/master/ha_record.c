#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agents.h"
#include "master/ha_record.h"

cJSON *
ha_record_json(const struct agent *a)
{
	cJSON	*o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "id", a->id);
	cJSON_AddStringToObject(o, "name", a->name);
	cJSON_AddStringToObject(o, "ip", a->ip);
	cJSON_AddStringToObject(o, "register_ip", a->register_ip);
	cJSON_AddStringToObject(o, "key", a->key);
	cJSON_AddStringToObject(o, "groups", a->groups ? a->groups : "");
	cJSON_AddStringToObject(o, "version", a->version);
	cJSON_AddStringToObject(o, "enroll_src", a->enroll_src);
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
 * a valid id and name, a key of its exact length, bounded fields.
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
	if ((a = agent_new()) == NULL)
		goto oom;
	snprintf(a->id, sizeof(a->id), "%s", id);
	memcpy(a->key, key, AGENT_KEY_LEN + 1);
	a->date_add = (time_t)date->valuedouble;
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
	return strcmp(a->id, b->id) == 0 && strcmp(a->key, b->key) == 0 &&
	    strcmp(a->name, b->name) == 0 && strcmp(a->ip, b->ip) == 0 &&
	    strcmp(a->groups ? a->groups : "", b->groups ? b->groups : "") ==
	    0 && a->date_add == b->date_add;
}
