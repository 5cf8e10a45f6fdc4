#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/hello.h"

static int
add_service(cJSON *j, const char *name, const char *address, unsigned port)
{
	cJSON	*o;

	if ((o = cJSON_AddObjectToObject(j, name)) == NULL ||
	    cJSON_AddStringToObject(o, "address", address) == NULL ||
	    cJSON_AddNumberToObject(o, "port", port) == NULL)
		return -1;
	return 0;
}

/*
 * Workers (and the master, in its answer) also say what they serve:
 * agents, enrollment, agent-check; the master tells the balancers.
 */
cJSON *
hello_build(const struct config *c, const char *version)
{
	cJSON	*j;
	int	 gw;

	if ((j = cJSON_CreateObject()) == NULL)
		return NULL;
	if (cJSON_AddStringToObject(j, "cluster_name", c->cluster_name) ==
	    NULL || cJSON_AddStringToObject(j, "node_name", c->node_name) ==
	    NULL || cJSON_AddStringToObject(j, "node_type",
	    config_node_type_name(c->node_type)) == NULL ||
	    cJSON_AddStringToObject(j, "version", version) == NULL)
		goto fail;
	if (c->node_type == NODE_BALANCER)
		return j;
	gw = c->node_type == NODE_WORKER ? c->gateway != 0 : c->gateway == 1;
	if ((gw && add_service(j, "gateway", c->gateway_address,
	    c->gateway_port) == -1) || (c->enrollment && add_service(j,
	    "enrollment", c->enrollment_address, c->enrollment_port) == -1) ||
	    (c->agent_check_port != 0 && cJSON_AddNumberToObject(j,
	    "agent_check_port", c->agent_check_port) == NULL))
		goto fail;
	return j;
fail:
	cJSON_Delete(j);
	return NULL;
}

/*
 * A standby master's hello: its name and version, and "standby", nothing
 * it would serve (a standby serves nothing until elected).
 */
cJSON *
hello_build_standby(const struct config *c, const char *version)
{
	cJSON	*j;

	if ((j = cJSON_CreateObject()) == NULL)
		return NULL;
	if (cJSON_AddStringToObject(j, "cluster_name", c->cluster_name) ==
	    NULL || cJSON_AddStringToObject(j, "node_name", c->node_name) ==
	    NULL || cJSON_AddStringToObject(j, "node_type", "master") == NULL ||
	    cJSON_AddStringToObject(j, "version", version) == NULL ||
	    cJSON_AddBoolToObject(j, "standby", 1) == NULL) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

static unsigned
get_port(const cJSON *v)
{
	if (!cJSON_IsNumber(v) || v->valuedouble < 1 ||
	    v->valuedouble > 65535 || v->valuedouble != (int)v->valuedouble)
		return 0;
	return (unsigned)v->valuedouble;
}

/* An optional service; left unset (port 0) when missing or malformed. */
static void
get_service(const cJSON *j, const char *name, char *addr, size_t addrlen,
    unsigned *port)
{
	const cJSON	*o = cJSON_GetObjectItemCaseSensitive(j, name);
	const cJSON	*a = cJSON_GetObjectItemCaseSensitive(o, "address");

	if (!cJSON_IsString(a) || strlen(a->valuestring) >= addrlen ||
	    (*port = get_port(cJSON_GetObjectItemCaseSensitive(o, "port")))
	    == 0) {
		*port = 0;
		return;
	}
	strcpy(addr, a->valuestring);
}

static int
get_str(const cJSON *j, const char *key, char *out, size_t outlen, char *err,
    size_t errlen)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(j, key);

	if (!cJSON_IsString(v) || v->valuestring == NULL) {
		snprintf(err, errlen, "hello without \"%s\"", key);
		return -1;
	}
	if (strlen(v->valuestring) >= outlen) {
		snprintf(err, errlen, "hello \"%s\" too long", key);
		return -1;
	}
	strcpy(out, v->valuestring);
	return 0;
}

/* Extract the fields; -1 with err set when one is missing or too long. */
int
hello_parse(const cJSON *j, struct hello *h, char *err, size_t errlen)
{
	memset(h, 0, sizeof(*h));
	if (j == NULL || !cJSON_IsObject(j)) {
		snprintf(err, errlen, "hello is not a JSON object");
		return -1;
	}
	if (get_str(j, "cluster_name", h->cluster_name,
	    sizeof(h->cluster_name), err, errlen) == -1 ||
	    get_str(j, "node_name", h->node_name, sizeof(h->node_name), err,
	    errlen) == -1 ||
	    get_str(j, "node_type", h->node_type, sizeof(h->node_type), err,
	    errlen) == -1 ||
	    get_str(j, "version", h->version, sizeof(h->version), err,
	    errlen) == -1)
		return -1;
	get_service(j, "gateway", h->gateway_address,
	    sizeof(h->gateway_address), &h->gateway_port);
	get_service(j, "enrollment", h->enrollment_address,
	    sizeof(h->enrollment_address), &h->enrollment_port);
	h->agent_check_port = get_port(cJSON_GetObjectItemCaseSensitive(j,
	    "agent_check_port"));
	h->standby = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j,
	    "standby"));
	return 0;
}

/*
 * Parse "MAJOR.MINOR[.anything]" with plain decimal numbers (no signs, no
 * spaces, at most 6 digits each); -1 if it does not start that way.
 */
static int
major_minor(const char *v, long *maj, long *min)
{
	size_t	n;

	for (n = 0; v[n] >= '0' && v[n] <= '9'; n++)
		;
	if (n == 0 || n > 6 || v[n] != '.')
		return -1;
	*maj = strtol(v, NULL, 10);
	v += n + 1;
	for (n = 0; v[n] >= '0' && v[n] <= '9'; n++)
		;
	if (n == 0 || n > 6 || (v[n] != '.' && v[n] != '\0' && v[n] != '-'))
		return -1;
	*min = strtol(v, NULL, 10);
	return 0;
}

/*
 * Whether a node of version a may join a master of version b: the same
 * major, and the master's minor or the one before it, so a rolling
 * upgrade (the master first, then each node) never stops the cluster
 * link; patch releases do not matter.  A node newer than its master is
 * refused: upgrade the master first.
 */
int
hello_version_compatible(const char *a, const char *b)
{
	long	amaj, amin, bmaj, bmin;

	if (major_minor(a, &amaj, &amin) == -1 ||
	    major_minor(b, &bmaj, &bmin) == -1)
		return 0;
	return amaj == bmaj && (amin == bmin || amin + 1 == bmin);
}

/*
 * The master's decision on a parsed hello.  Returns 0 to accept, or -1 with
 * a reason the worker logs.  name_taken reports a name already connected.
 */
int
hello_check(const struct hello *h, const struct config *m,
    const char *master_version, int (*name_taken)(const char *, void *),
    void *arg, char *reason, size_t reasonlen)
{
	if (strcmp(h->cluster_name, m->cluster_name) != 0) {
		snprintf(reason, reasonlen, "cluster name mismatch: the "
		    "worker is in \"%s\", the master in \"%s\"",
		    h->cluster_name, m->cluster_name);
		return -1;
	}
	if (!config_valid_name(h->node_name)) {
		snprintf(reason, reasonlen, "invalid node name");
		return -1;
	}
	/* A master joins another only as a standby, for its files. */
	if (strcmp(h->node_type, "worker") != 0 &&
	    strcmp(h->node_type, "balancer") != 0 &&
	    (strcmp(h->node_type, "master") != 0 || !h->standby)) {
		snprintf(reason, reasonlen, "node type \"%s\" cannot join a "
		    "master", h->node_type);
		return -1;
	}
	if (h->standby && strcmp(h->node_type, "master") != 0) {
		snprintf(reason, reasonlen, "only a master-eligible node joins "
		    "as a standby");
		return -1;
	}
	if (strcmp(h->node_name, m->node_name) == 0) {
		snprintf(reason, reasonlen, "node name \"%s\" is the master's "
		    "own name", h->node_name);
		return -1;
	}
	if (!hello_version_compatible(h->version, master_version)) {
		snprintf(reason, reasonlen, "incompatible version %s: the "
		    "master runs %s (a node runs the master's major.minor or "
		    "the minor before; upgrade the master first)", h->version,
		    master_version);
		return -1;
	}
	if (name_taken != NULL && name_taken(h->node_name, arg)) {
		snprintf(reason, reasonlen, "duplicate node name: \"%s\" is "
		    "already connected", h->node_name);
		return -1;
	}
	return 0;
}
