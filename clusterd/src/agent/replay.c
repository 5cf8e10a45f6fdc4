#include <math.h>
#include <string.h>

#include "agent/replay.h"
#include "agent/secmsg.h"

void
replay_note(cJSON *arr, const struct agent *a)
{
	cJSON	*e;

	if (arr == NULL || (e = cJSON_CreateArray()) == NULL)
		return;
	cJSON_AddItemToArray(e, cJSON_CreateString(a->id));
	cJSON_AddItemToArray(e, cJSON_CreateNumber((double)a->last_global));
	cJSON_AddItemToArray(e, cJSON_CreateNumber((double)a->last_local));
	cJSON_AddItemToArray(arr, e);
}

/* A whole number in [0, max], as JSON carries it (a double). */
static int
whole(const cJSON *v, double max, double *out)
{
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
	    v->valuedouble < 0 || v->valuedouble > max ||
	    v->valuedouble != floor(v->valuedouble))
		return -1;
	*out = v->valuedouble;
	return 0;
}

/*
 * From another node: its counters are checked as an agent's own would
 * be (at most 10 and 4 digits), the id as a short string.
 */
int
replay_parse(const cJSON *e, const char **id, uint32_t *global,
    unsigned *local)
{
	const cJSON	*v;
	double		 g, l;

	if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) != 3)
		return -1;
	v = cJSON_GetArrayItem(e, 0);
	if (!cJSON_IsString(v) || v->valuestring[0] == '\0' ||
	    strlen(v->valuestring) >= AGENT_ID_MAX)
		return -1;
	if (whole(cJSON_GetArrayItem(e, 1), (double)REPLAY_GLOBAL_MAX,
	    &g) == -1 || whole(cJSON_GetArrayItem(e, 2),
	    (double)REPLAY_LOCAL_MAX, &l) == -1)
		return -1;
	*id = v->valuestring;
	*global = secmsg_global32((unsigned long)g);
	*local = (unsigned)l;
	return 0;
}

/*
 * The same order as a message's own check (secmsg_counters_newer): a
 * report never lowers what this node has seen itself.
 */
int
replay_raise(struct agent *a, uint32_t global, unsigned local)
{
	struct secmsg_counters	m = { 0, 0, 0 };

	m.global = global;
	m.local = local;
	if (!secmsg_counters_newer(&m, a->last_global, a->last_local))
		return 0;
	a->last_global = global;
	a->last_local = local;
	return 1;
}
