#include <stdio.h>
#include <string.h>

#include "base/config.h"
#include "lb/lbpool.h"

static const char *const state_names[] = { "ready", "drain", "maint" };

const char *
lbpool_state_name(enum lbpool_state s)
{
	return (unsigned)s < 3 ? state_names[s] : "?";
}

/* An IPv4/IPv6 address or host name: nothing a command line could split. */
int
lbpool_valid_address(const char *s)
{
	size_t	i, n = strlen(s);

	if (n == 0 || n >= 64)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    s[i] == '.' || s[i] == ':' || s[i] == '-'))
			return 0;
	return 1;
}

/* o[key] as a port: an integer from 1 to 65535, else 0. */
unsigned
lbpool_port(const cJSON *o, const char *key)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(v) || v->valuedouble < 1 ||
	    v->valuedouble > 65535 || v->valuedouble != (int)v->valuedouble)
		return 0;
	return (unsigned)v->valuedouble;
}

/*
 * Parse one pool: an array of {"name", "address", "port", "check_port"?,
 * "state"}.  Any malformed member refuses the whole pool (a partial pool
 * would make the balancer remove good servers).  Returns 0, or -1 with
 * err set.
 */
int
lbpool_parse(const cJSON *arr, struct lbpool_server *out, size_t max,
    size_t *n, char *err, size_t errlen)
{
	const cJSON		*o, *name, *addr, *st;
	struct lbpool_server	*s;
	size_t			 i;
	int			 k;

	*n = 0;
	if (!cJSON_IsArray(arr)) {
		snprintf(err, errlen, "pool is not an array");
		return -1;
	}
	cJSON_ArrayForEach(o, arr) {
		if (*n == max) {
			snprintf(err, errlen, "more than %zu servers", max);
			return -1;
		}
		s = &out[*n];
		memset(s, 0, sizeof(*s));
		name = cJSON_GetObjectItemCaseSensitive(o, "name");
		addr = cJSON_GetObjectItemCaseSensitive(o, "address");
		st = cJSON_GetObjectItemCaseSensitive(o, "state");
		if (!cJSON_IsString(name) || !config_valid_name(name->valuestring)) {
			snprintf(err, errlen, "server %zu: bad name", *n);
			return -1;
		}
		if (!cJSON_IsString(addr) || !lbpool_valid_address(addr->valuestring)) {
			snprintf(err, errlen, "%s: bad address", name->valuestring);
			return -1;
		}
		if ((s->port = lbpool_port(o, "port")) == 0) {
			snprintf(err, errlen, "%s: bad port", name->valuestring);
			return -1;
		}
		if (cJSON_GetObjectItemCaseSensitive(o, "check_port") != NULL &&
		    (s->check_port = lbpool_port(o, "check_port")) == 0) {
			snprintf(err, errlen, "%s: bad check_port",
			    name->valuestring);
			return -1;
		}
		for (k = 0; k < 3; k++)
			if (cJSON_IsString(st) &&
			    strcmp(st->valuestring, state_names[k]) == 0)
				break;
		if (k == 3) {
			snprintf(err, errlen, "%s: bad state", name->valuestring);
			return -1;
		}
		s->state = (enum lbpool_state)k;
		strcpy(s->name, name->valuestring);
		strcpy(s->address, addr->valuestring);
		for (i = 0; i < *n; i++)
			if (strcmp(out[i].name, s->name) == 0) {
				snprintf(err, errlen, "%s twice", s->name);
				return -1;
			}
		(*n)++;
	}
	return 0;
}

/*
 * The options after "server NAME ADDR:PORT", the same in haproxy.cfg and
 * in "add server" (runtime servers take no default-server): TCP health
 * checks that take a silent server out in 5-8 s yet ride out lost
 * segments (a check connects within its inter, 1.5 s, and Linux resends
 * a SYN after 1 s; three failures in a row to mark it down), the sessions of a server marked down shut so that its agents
 * reconnect at once, and the worker's agent-check when it answers one
 * (weight 100, so the percentage a worker answers has room).  A worker's
 * health check reads the agent-check port too ("port", and the backend's
 * tcp-check rules): the kernel completes a TCP handshake for a hung
 * clusterd, so only an answer proves the worker alive.  Every server
 * gets a PROXY v2 header (send-proxy-v2), so that a node sees each
 * agent's address rather than the balancer's (its proxy_from lists the
 * balancers).  Health checks on the data port (enrollment) carry one too,
 * with the LOCAL command, HAProxy's default for a server without "port";
 * checks and agent-checks on the agent-check port carry none, and that
 * port expects none.  These match lb/render.py's; docs/lb.md, "Health
 * checks" and "PROXY protocol", has the reasons.
 */
#define LBPOOL_CHECK	"check inter 1500ms fastinter 250ms downinter 1s " \
			"fall 3 rise 2"
#define LBPOOL_PROXY	"send-proxy-v2 "
/*
 * Only agents' sessions are shut when their server goes down: an agent
 * would otherwise write into a dead connection until its time-reconnect.
 * An enrollment is one short exchange that the client times out itself,
 * and a node that stops taking enrollments (a master handing its role
 * over) answers those it already has: shutting them would cut them.
 */
#define LBPOOL_SHUT	" on-marked-down shutdown-sessions"

int
lbpool_server_options(const struct lbpool_server *s, char *out, size_t outlen)
{
	int	n;

	if (s->check_port != 0)
		n = snprintf(out, outlen, LBPOOL_PROXY LBPOOL_CHECK LBPOOL_SHUT
		    " port %u "
		    "weight 100 agent-check agent-port %u agent-inter 2s",
		    s->check_port, s->check_port);
	else
		n = snprintf(out, outlen, LBPOOL_PROXY LBPOOL_CHECK);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}
