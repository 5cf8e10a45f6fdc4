#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "base/log.h"
#include "base/node.h"
#include "lb/lbpool.h"
#include "master/pools.h"
#include "net/control.h"
#include "net/hello.h"

#define TASK		"Pools"
#define MEMBERS_MAX	1024
#define BALANCERS_MAX	32

enum pool { POOL_AGENTS, POOL_ENROLL, POOL_N };
static const char *const pool_names[POOL_N] = { "agents", "enrollment" };

/* What an operator set; "removed" keeps a node out until set ready. */
static const char *const states[] = { "ready", "drain", "maint", "removed" };

struct member {
	char		 name[CONFIG_NAME_MAX + 1];
	char		 type[16];
	char		 address[POOL_N][64];
	unsigned	 port[POOL_N];		/* 0: not served */
	unsigned	 check_port;
	char		 state[POOL_N][8];
	int		 connected;
	int		 left;		/* gone past pool_leave_after */
	ev_tstamp	 gone_since;
};

struct report {
	char		 name[CONFIG_NAME_MAX + 1];
	cJSON		*body;		/* NULL: none yet */
	int		 connected;
	double		 at;		/* wall clock */
};

static struct {
	struct node	*node;
	pools_send_cb	 send;
	struct member	 m[MEMBERS_MAX];
	size_t		 n;
	struct report	 r[BALANCERS_MAX];
	size_t		 nr;
	ev_timer	 push;		/* one snapshot per burst of changes */
	ev_timer	 leave;		/* gone nodes leave after a while */
	int		 started;
} P;

static struct member *
find(const char *name)
{
	size_t	i;

	for (i = 0; i < P.n; i++)
		if (strcmp(P.m[i].name, name) == 0)
			return &P.m[i];
	return NULL;
}

static int
valid_state(const char *s)
{
	size_t	i;

	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (strcmp(s, states[i]) == 0)
			return 1;
	return 0;
}

/* In the pool now: served, not removed, connected or gone only briefly. */
static int
in_pool(const struct member *m, enum pool p)
{
	return m->port[p] != 0 && m->address[p][0] != '\0' &&
	    strcmp(m->state[p], "removed") != 0 && (m->connected ||
	    (!m->left && ev_now(P.node->loop) - m->gone_since <
	    P.node->cfg.pool_leave_after));
}

/* A member as saved; live adds what only the running master knows. */
static cJSON *
member_json(const struct member *m, int live)
{
	cJSON	*o, *q;
	int	 p;

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", m->name);
	cJSON_AddStringToObject(o, "type", m->type);
	cJSON_AddNumberToObject(o, "check_port", m->check_port);
	if (m->left)
		cJSON_AddBoolToObject(o, "left", 1);
	if (live)
		cJSON_AddBoolToObject(o, "connected", m->connected);
	for (p = 0; p < POOL_N; p++) {
		q = cJSON_AddObjectToObject(o, pool_names[p]);
		cJSON_AddStringToObject(q, "address", m->address[p]);
		cJSON_AddNumberToObject(q, "port", m->port[p]);
		cJSON_AddStringToObject(q, "state", m->state[p]);
		if (live)
			cJSON_AddBoolToObject(q, "in_pool", in_pool(m, p));
	}
	return o;
}

static void
save(void)
{
	char	 path[PATH_MAX], *s;
	cJSON	*j, *arr;
	size_t	 i;

	if (config_path(&P.node->cfg, POOLS_REL, path, sizeof(path)) == -1)
		return;
	j = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(j, "members");
	for (i = 0; i < P.n; i++)
		cJSON_AddItemToArray(arr, member_json(&P.m[i], 0));
	if ((s = cJSON_Print(j)) == NULL ||
	    node_write_file(path, s, strlen(s), 0640) == -1)
		log_warn(TASK, "cannot save %s", path);
	cJSON_free(s);
	cJSON_Delete(j);
}

static void
json_copy(char *dst, size_t len, const cJSON *o, const char *key,
    const char *dflt)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	snprintf(dst, len, "%s", cJSON_IsString(v) && strlen(v->valuestring) <
	    len ? v->valuestring : dflt);
}

/*
 * Read var/pools.json.  Nodes in it count as gone since now: they stay
 * in the pools for pool_leave_after, time enough to reconnect after a
 * master restart.  A damaged file is set aside, not fatal.
 */
static void
load(void)
{
	char		 path[PATH_MAX], *s = NULL;
	size_t		 len;
	const cJSON	*o, *q;
	cJSON		*j = NULL;
	struct member	*m;
	int		 p;

	if (config_path(&P.node->cfg, POOLS_REL, path, sizeof(path)) == -1)
		return;
	if (node_read_file(path, 4u << 20, &s, &len) == -1) {
		if (errno != ENOENT)
			log_warn(TASK, "cannot read %s", path);
		return;
	}
	if ((j = cJSON_Parse(s)) == NULL) {
		log_warnx(TASK, "%s is not valid JSON: starting with empty "
		    "pools.", path);
		goto done;
	}
	cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(j, "members")) {
		if (P.n == MEMBERS_MAX)
			break;
		m = &P.m[P.n];
		memset(m, 0, sizeof(*m));
		json_copy(m->name, sizeof(m->name), o, "name", "");
		json_copy(m->type, sizeof(m->type), o, "type", "worker");
		if (!config_valid_name(m->name) || find(m->name) != NULL)
			continue;
		m->check_port = lbpool_port(o, "check_port");
		for (p = 0; p < POOL_N; p++) {
			q = cJSON_GetObjectItemCaseSensitive(o, pool_names[p]);
			json_copy(m->address[p], sizeof(m->address[p]), q,
			    "address", "");
			m->port[p] = lbpool_port(q, "port");
			json_copy(m->state[p], sizeof(m->state[p]), q, "state",
			    "ready");
			if (!valid_state(m->state[p]))
				strcpy(m->state[p], "ready");
			if (!lbpool_valid_address(m->address[p]))
				m->port[p] = 0;		/* damaged: left out */
		}
		m->left = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o,
		    "left"));
		m->gone_since = ev_now(P.node->loop);
		P.n++;
	}
	log_info(TASK, "Loaded %zu pool member(s) from %s.", P.n, path);
done:
	cJSON_Delete(j);
	free(s);
}

static void
changed(void)
{
	if (!ev_is_active(&P.push))
		ev_timer_start(P.node->loop, &P.push);
}

static const char *
json_str(const cJSON *o, const char *key)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : "?";
}

/* At debug, what the balancers are told: each pool's "name state" list. */
static void
log_snapshot(const cJSON *j)
{
	const cJSON	*o;
	char		 line[512];
	int		 p;

	for (p = 0; p < POOL_N; p++) {
		line[0] = '\0';
		cJSON_ArrayForEach(o, cJSON_GetObjectItemCaseSensitive(j,
		    pool_names[p]))
			snprintf(line + strlen(line), sizeof(line) -
			    strlen(line), "%s%s %s", line[0] ? ", " : "",
			    json_str(o, "name"), json_str(o, "state"));
		log_debug(TASK, "To the balancers, the %s pool: %s.",
		    pool_names[p], line[0] ? line : "empty");
	}
}

static void
push_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	cJSON	*j;

	(void)loop;
	(void)t;
	(void)revents;
	j = pools_snapshot();
	log_snapshot(j);
	P.send(j);
	cJSON_Delete(j);
}

static int
edited(const struct member *m)
{
	return strcmp(m->state[POOL_AGENTS], "ready") != 0 ||
	    strcmp(m->state[POOL_ENROLL], "ready") != 0;
}

/*
 * A node gone longer than pool_leave_after leaves the pools; its entry
 * stays while an operator's edit is on it, so the edit outlives it, and
 * goes once the edit is back to ready.
 */
static void
leave_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct member	*m;
	size_t		 i = 0;
	int		 just_left;

	(void)t;
	(void)revents;
	while (i < P.n) {
		m = &P.m[i];
		if (m->connected || (!m->left && ev_now(loop) - m->gone_since <
		    P.node->cfg.pool_leave_after)) {
			i++;
			continue;
		}
		if ((just_left = !m->left)) {
			log_info(TASK, "%s has been gone %gs: it leaves the "
			    "pools%s.", m->name, P.node->cfg.pool_leave_after,
			    edited(m) ? " (its edits are kept)" : "");
			m->left = 1;
			changed();
		}
		if (edited(m)) {
			if (just_left)
				save();	/* a restart must not bring it back */
			i++;
			continue;
		}
		P.m[i] = P.m[--P.n];
		save();
	}
}

int
pools_start(struct node *n, pools_send_cb send)
{
	P.node = n;
	P.send = send;
	P.n = P.nr = 0;
	ev_timer_init(&P.push, push_cb, 0.01, 0);
	ev_timer_init(&P.leave, leave_cb, 1, 1);
	ev_timer_start(n->loop, &P.leave);
	P.started = 1;
	load();
	return 0;
}

void
pools_stop(void)
{
	size_t	i;

	if (!P.started)
		return;
	ev_timer_stop(P.node->loop, &P.push);
	ev_timer_stop(P.node->loop, &P.leave);
	for (i = 0; i < P.nr; i++)
		cJSON_Delete(P.r[i].body);
	P.nr = 0;
	P.started = 0;
}

/* A listening address balancers can reach: the peer's when it is "any". */
static void
reachable(char *dst, size_t len, const char *addr, const char *peer)
{
	snprintf(dst, len, "%s", addr[0] == '\0' ||
	    strcmp(addr, "0.0.0.0") == 0 || strcmp(addr, "::") == 0 ? peer :
	    addr);
}

/* "pool ADDRESS:PORT", or nothing for a pool the node does not serve. */
static void
served(char *out, size_t len, const struct member *m, enum pool p)
{
	if (m->port[p] == 0)
		out[0] = '\0';
	else
		snprintf(out, len, "%s %s:%u", pool_names[p], m->address[p],
		    m->port[p]);
}

/* A new member, with the pools it serves; one serving none is no news. */
static void
log_joined(const struct member *m)
{
	char	a[96], e[96];

	served(a, sizeof(a), m, POOL_AGENTS);
	served(e, sizeof(e), m, POOL_ENROLL);
	if (a[0] == '\0' && e[0] == '\0')
		log_debug(TASK, "%s serves neither pool: not a pool member.",
		    m->name);
	else
		log_info(TASK, "%s joins the pools (%s%s%s).", m->name, a,
		    a[0] != '\0' && e[0] != '\0' ? ", " : "", e);
}

/*
 * A node (a worker, or the master itself) is up with what its hello says
 * it serves.  New nodes join the pools ready; a known one keeps the
 * operator's edits.
 */
void
pools_node_up(const struct hello *h, const char *type, const char *peer)
{
	struct member	*m, old;
	unsigned	 ports[POOL_N] = { h->gateway_port, h->enrollment_port };
	const char	*addrs[POOL_N] = { h->gateway_address,
			    h->enrollment_address };
	int		 p, isnew = 0;

	if ((m = find(h->node_name)) == NULL) {
		if (P.n == MEMBERS_MAX) {
			log_warnx(TASK, "More than %d pool members: %s is not "
			    "added.", MEMBERS_MAX, h->node_name);
			return;
		}
		m = &P.m[P.n++];
		memset(m, 0, sizeof(*m));
		snprintf(m->name, sizeof(m->name), "%s", h->node_name);
		for (p = 0; p < POOL_N; p++)
			strcpy(m->state[p], "ready");
		isnew = 1;
	}
	old = *m;
	snprintf(m->type, sizeof(m->type), "%s", type);
	m->check_port = h->agent_check_port;
	for (p = 0; p < POOL_N; p++) {
		m->port[p] = ports[p];
		reachable(m->address[p], sizeof(m->address[p]), addrs[p], peer);
		/* One unusable address must not make balancers refuse the
		 * whole pool list: that node is left out of that pool. */
		if (m->port[p] != 0 && m->address[p][0] == '\0')
			m->port[p] = 0;		/* the master's, not known yet */
		else if (m->port[p] != 0 &&
		    !lbpool_valid_address(m->address[p])) {
			log_warnx(TASK, "%s serves %s on \"%s\", which the "
			    "balancers cannot use: left out of that pool.",
			    m->name, pool_names[p], m->address[p]);
			m->port[p] = 0;
		}
	}
	m->connected = 1;
	m->left = 0;
	m->gone_since = 0;
	if (isnew)
		log_joined(m);
	/* HAProxy's health check of the agents' pool reads agent-check. */
	if (m->port[POOL_AGENTS] != 0 && m->check_port == 0 &&
	    (isnew || old.check_port != 0))
		log_warnx(TASK, "%s serves agents but no agent-check "
		    "(agent_check_port): the balancers' health checks will "
		    "keep it down.", m->name);
	if (isnew || memcmp(old.address, m->address, sizeof(m->address)) != 0 ||
	    memcmp(old.port, m->port, sizeof(m->port)) != 0 ||
	    old.check_port != m->check_port || strcmp(old.type, m->type) != 0 ||
	    old.left)
		save();
	changed();
}

void
pools_node_down(const char *name)
{
	struct member	*m;

	if ((m = find(name)) == NULL || !m->connected)
		return;
	m->connected = 0;
	m->gone_since = ev_now(P.node->loop);
	log_info(TASK, "%s is gone: it stays in the pools %gs (HAProxy's "
	    "health checks take it out of service meanwhile).", name,
	    P.node->cfg.pool_leave_after);
}

/* What the balancers' pools should hold: {"agents":[..],"enrollment":[..]} */
cJSON *
pools_snapshot(void)
{
	cJSON	*j, *arr, *o;
	size_t	 i;
	int	 p;

	j = cJSON_CreateObject();
	for (p = 0; p < POOL_N; p++) {
		arr = cJSON_AddArrayToObject(j, pool_names[p]);
		for (i = 0; i < P.n; i++) {
			if (!in_pool(&P.m[i], p))
				continue;
			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "name", P.m[i].name);
			cJSON_AddStringToObject(o, "address",
			    P.m[i].address[p]);
			cJSON_AddNumberToObject(o, "port", P.m[i].port[p]);
			if (p == POOL_AGENTS && P.m[i].check_port != 0)
				cJSON_AddNumberToObject(o, "check_port",
				    P.m[i].check_port);
			cJSON_AddStringToObject(o, "state", P.m[i].state[p]);
			cJSON_AddItemToArray(arr, o);
		}
	}
	return j;
}

static struct report *
report_slot(const char *name)
{
	size_t	i;

	for (i = 0; i < P.nr; i++)
		if (strcmp(P.r[i].name, name) == 0)
			return &P.r[i];
	if (P.nr == BALANCERS_MAX)
		return NULL;
	memset(&P.r[P.nr], 0, sizeof(P.r[0]));
	snprintf(P.r[P.nr].name, sizeof(P.r[0].name), "%s", name);
	return &P.r[P.nr++];
}

/* A balancer's report of its HAProxy's servers, kept for "pools". */
void
pools_report(const char *balancer, const cJSON *body)
{
	struct report	*r;

	if ((r = report_slot(balancer)) == NULL)
		return;
	cJSON_Delete(r->body);
	r->body = cJSON_Duplicate(body, 1);
	r->connected = 1;
	r->at = node_wall_now();
}

void
pools_balancer_down(const char *balancer)
{
	struct report	*r;

	if ((r = report_slot(balancer)) != NULL)
		r->connected = 0;
}

static cJSON *
pools_json(void)
{
	cJSON	*j, *arr, *o;
	size_t	 i;

	j = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(j, "members");
	for (i = 0; i < P.n; i++)
		cJSON_AddItemToArray(arr, member_json(&P.m[i], 1));
	arr = cJSON_AddArrayToObject(j, "balancers");
	for (i = 0; i < P.nr; i++) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", P.r[i].name);
		cJSON_AddBoolToObject(o, "connected", P.r[i].connected);
		cJSON_AddItemToObject(o, "reported", node_time_json(P.r[i].at));
		cJSON_AddItemToObject(o, "haproxy", P.r[i].body != NULL ?
		    cJSON_Duplicate(P.r[i].body, 1) : cJSON_CreateNull());
		cJSON_AddItemToArray(arr, o);
	}
	return j;
}

/*
 * An operator's edit: {"node", "state": ready|drain|maint|remove, "pool":
 * agents|enrollment (both when absent)}.  Logged, saved, and sent to
 * every balancer.
 */
static cJSON *
pool_set(const cJSON *req)
{
	const cJSON	*node, *st, *pool;
	struct member	*m;
	const char	*state;
	int		 p, only = -1;

	node = cJSON_GetObjectItemCaseSensitive(req, "node");
	st = cJSON_GetObjectItemCaseSensitive(req, "state");
	pool = cJSON_GetObjectItemCaseSensitive(req, "pool");
	if (!cJSON_IsString(node) || !cJSON_IsString(st))
		return control_error("pool_set needs a node and a state");
	state = strcmp(st->valuestring, "remove") == 0 ? "removed" :
	    st->valuestring;
	if (!valid_state(state))
		return control_error("state must be ready, drain, maint or "
		    "remove, not \"%s\"", st->valuestring);
	if (cJSON_IsString(pool)) {
		for (p = 0; p < POOL_N; p++)
			if (strcmp(pool->valuestring, pool_names[p]) == 0)
				only = p;
		if (only == -1)
			return control_error("pool must be agents or "
			    "enrollment, not \"%s\"", pool->valuestring);
	}
	if ((m = find(node->valuestring)) == NULL)
		return control_error("no node \"%s\" in the pools",
		    node->valuestring);
	for (p = 0; p < POOL_N; p++)
		if (only == -1 || only == p)
			snprintf(m->state[p], sizeof(m->state[p]), "%s", state);
	log_info(TASK, "Pool edit: %s set to %s in %s.", m->name, state,
	    only == -1 ? "both pools" : pool_names[only]);
	save();
	changed();
	return control_ok(NULL);
}

/*
 * An operator's "pool_forget" {"node"}: the entry goes from the pools and
 * from var/pools.json, edits and all, as if the node had never joined.
 * A connected node is refused: it would only join again; stop it first
 * (or set it remove to keep it out while it runs).
 */
static cJSON *
pool_forget(const cJSON *req)
{
	const cJSON	*node = cJSON_GetObjectItemCaseSensitive(req, "node");
	struct member	*m;

	if (!cJSON_IsString(node))
		return control_error("pool_forget needs a node");
	if ((m = find(node->valuestring)) == NULL)
		return control_error("no node \"%s\" in the pools",
		    node->valuestring);
	if (m->connected)
		return control_error("%s is connected: stop it first (or set "
		    "it remove to keep it out of the pools)", m->name);
	log_info(TASK, "Pool edit: %s forgotten (it joins again as new if "
	    "it comes back).", m->name);
	*m = P.m[--P.n];
	save();
	changed();
	return control_ok(NULL);
}

/*
 * Is node name taking agents through the balancers: UP with a weight in
 * the agents' pool of some connected balancer's last report?  With no reports (no
 * balancer role deployed) every node counts as serving.  Rebalancing
 * waits for a new worker to be in service, or the agents it sheds would
 * only land on the same workers again.
 */
int
pools_serving(const char *name)
{
	const cJSON	*s, *st, *nm, *wt;
	size_t		 i;
	int		 reports = 0;

	for (i = 0; i < P.nr; i++) {
		if (!P.r[i].connected || P.r[i].body == NULL)
			continue;
		reports++;
		cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(
		    cJSON_GetObjectItemCaseSensitive(P.r[i].body, "pools"),
		    "agents")) {
			nm = cJSON_GetObjectItemCaseSensitive(s, "name");
			st = cJSON_GetObjectItemCaseSensitive(s, "status");
			wt = cJSON_GetObjectItemCaseSensitive(s, "weight");
			if (cJSON_IsString(nm) && cJSON_IsString(st) &&
			    strcmp(nm->valuestring, name) == 0 &&
			    strncmp(st->valuestring, "UP", 2) == 0 &&
			    cJSON_IsNumber(wt) && wt->valuedouble > 0)
				return 1;
		}
	}
	return reports == 0;
}

/* Control commands "pools", "pool_set", "pool_forget"; 0 for others. */
int
pools_command(const cJSON *req, cJSON **resp)
{
	const cJSON	*cmd = cJSON_GetObjectItemCaseSensitive(req, "command");

	if (!cJSON_IsString(cmd))
		return 0;
	if (strcmp(cmd->valuestring, "pools") == 0)
		*resp = control_ok(pools_json());
	else if (strcmp(cmd->valuestring, "pool_set") == 0)
		*resp = pool_set(req);
	else if (strcmp(cmd->valuestring, "pool_forget") == 0)
		*resp = pool_forget(req);
	else
		return 0;
	return 1;
}
