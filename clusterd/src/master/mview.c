/*
 * mview: what the master shows of the cluster: the nodes with their
 * health and agents (-l, -i, --health), the pools' members with theirs,
 * the balancers' view (--lb-state), and the control commands the master
 * answers itself or hands to the registry (mreg) and the pools.
 */
#include <sys/queue.h>
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/gateway.h"
#include "agent/gwhealth.h"
#include "base/log.h"
#include "base/node.h"
#include "base/version.h"
#include "master/ha.h"
#include "master/master.h"
#include "master/master_int.h"
#include "master/mreg.h"
#include "master/msync.h"
#include "master/pools.h"
#include "net/control.h"


/*
 * A standby's health in -l: how far its copy of the files is from ours
 * (it takes no agents).
 */
static const char *
standby_health(const struct peer *p)
{
	static char	buf[64];
	double		lag;

	if (p->sync == NULL || (lag = msync_peer_lag(p->sync)) == 0)
		return "files in sync";
	snprintf(buf, sizeof(buf), "files behind for %.1fs", lag);
	return buf;
}

/* A node's health as -l and --pools show it. */
static const char *
health_of(const char *name)
{
	struct peer	*p;
	const char	*r;

	if (strcmp(name, M.node->cfg.node_name) == 0)
		return (r = gwhealth_reason()) != NULL ? r : "ok";
	TAILQ_FOREACH(p, &M.peers, entry)
		if (p->state == PEER_READY && strcmp(p->name, name) == 0)
			return p->standby ? standby_health(p) :
			    p->health[0] != '\0' ? p->health : "ok";
	return "-";
}

/* The pools' members, each with its health. */
static void
pools_health(cJSON *resp)
{
	cJSON	*m, *n;

	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(resp, "data"), "members")) {
		n = cJSON_GetObjectItemCaseSensitive(m, "name");
		if (cJSON_IsString(n))
			cJSON_AddStringToObject(m, "health",
			    health_of(n->valuestring));
	}
}

static cJSON *
node_json(const char *name, const char *type, const char *version,
    const char *address, double since, double keepalive)
{
	cJSON	*o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "name", name);
	cJSON_AddStringToObject(o, "type", type);
	cJSON_AddStringToObject(o, "version", version);
	cJSON_AddStringToObject(o, "address", address);
	cJSON_AddItemToObject(o, "connected_since", node_time_json(since));
	cJSON_AddItemToObject(o, "last_keepalive", node_time_json(keepalive));
	if (strcmp(type, "balancer") != 0)
		cJSON_AddStringToObject(o, "health", health_of(name));
	return o;
}

/* A serving node's agents in the health view: "agent_counts". */
static void
agent_counts_json(cJSON *o, unsigned total, unsigned active)
{
	cJSON	*k = cJSON_AddObjectToObject(o, "agent_counts");

	cJSON_AddNumberToObject(k, "total", total);
	cJSON_AddNumberToObject(k, "active", active);
}

/*
 * The node list: the master first, then workers in order of arrival; with
 * health, each node's synchronization state too.
 */
static cJSON *
nodes_json(int health, const cJSON *only)
{
	const struct config	*c = &M.node->cfg;
	struct peer		*p;
	cJSON			*data, *arr, *o;
	const char		*addr;
	char			**names = NULL;
	unsigned		*total = NULL, *active = NULL;
	size_t			 n = 1, i = 1;

	addr = strcmp(c->bind_address, "0.0.0.0") != 0 &&
	    strcmp(c->bind_address, "::") != 0 ? c->bind_address :
	    M.local_address[0] ? M.local_address : c->bind_address;
	/* Every node's agent counts, in one pass over the agents: the
	 * master's first (index 0), then the peers' in order. */
	TAILQ_FOREACH(p, &M.peers, entry)
		n++;
	if (health && ((names = calloc(n, sizeof(*names))) == NULL ||
	    (total = calloc(n, sizeof(*total))) == NULL ||
	    (active = calloc(n, sizeof(*active))) == NULL))
		health = 0;
	if (health) {
		names[0] = M.node->cfg.node_name;
		TAILQ_FOREACH(p, &M.peers, entry)
			names[i++] = p->name;
		mreg_node_counts(names, n, total, active);
	}
	data = cJSON_CreateObject();
	cJSON_AddStringToObject(data, "cluster_name", c->cluster_name);
	arr = cJSON_AddArrayToObject(data, "nodes");
	o = node_json(c->node_name, "master", CLUSTERD_VERSION, addr,
	    (double)M.node->started, 0);
	if (health) {
		msync_health(o);
		mreg_health(o);
		if (c->gateway == 1)	/* serving agents, as a worker does */
			agent_counts_json(o, total[0], active[0]);
	}
	if (control_match(only, c->node_name))
		cJSON_AddItemToArray(arr, o);
	else
		cJSON_Delete(o);
	i = 1;
	TAILQ_FOREACH(p, &M.peers, entry) {
		if (p->state != PEER_READY || !control_match(only, p->name)) {
			i++;
			continue;
		}
		o = node_json(p->name, mpeer_role(p),
		    p->version, p->address, p->connected_since,
		    p->last_keepalive);
		if (health && !p->balancer)
			msync_peer_health(p->sync, o);
		if (health && mpeer_is_worker(p))
			agent_counts_json(o, total[i], active[i]);
		cJSON_AddItemToArray(arr, o);
		i++;
	}
	free(names);
	free(total);
	free(active);
	ha_annotate(data);
	return data;
}

/* Whether name is the master or a worker or balancer it admitted. */
static int
is_node(const char *name)
{
	struct peer	*p;

	if (strcmp(name, M.node->cfg.node_name) == 0)
		return 1;
	TAILQ_FOREACH(p, &M.peers, entry)
		if (p->state == PEER_READY && strcmp(p->name, name) == 0)
			return 1;
	return 0;
}

/* The first name of a node filter that is not a node of the cluster. */
static const char *
unknown_node(const cJSON *only)
{
	const cJSON	*v;

	if (only == NULL)
		return NULL;
	if (cJSON_IsString(only))
		return is_node(only->valuestring) ? NULL : only->valuestring;
	if (!cJSON_IsArray(only))
		return "(not a name)";
	cJSON_ArrayForEach(v, only) {
		if (!cJSON_IsString(v))
			return "(not a name)";
		if (!is_node(v->valuestring))
			return v->valuestring;
	}
	return NULL;
}

/*
 * This node's own view ("status", as workers answer it): its name and
 * role, and its agents' port when it serves one.
 */
static cJSON *
status_json(void)
{
	cJSON	*d = cJSON_CreateObject();

	cJSON_AddStringToObject(d, "node_name", M.node->cfg.node_name);
	cJSON_AddStringToObject(d, "node_type", "master");
	if (M.node->cfg.gateway == 1)
		gateway_status(d);
	return d;
}

/*
 * "lb_state": the master's own answer to agent-check when it serves
 * agents (gateway yes), as a worker sets its own.
 */
static cJSON *
lb_state_command(const cJSON *req)
{
	const cJSON	*st = cJSON_GetObjectItemCaseSensitive(req, "state");

	if (M.node->cfg.gateway != 1)
		return control_error("%s serves no agents (gateway)",
		    M.node->cfg.node_name);
	return cJSON_IsString(st) && gateway_set_lb_state(st->valuestring) ==
	    0 ? control_ok(NULL) :
	    control_error("state must be ready, drain or maint");
}

/*
 * Answer a control command, local or forwarded by a worker; the answer
 * goes to reply (maybe later, once a registry change is durable).
 */
void
master_command(const cJSON *req, void (*reply)(void *, cJSON *), void *arg)
{
	const cJSON	*cmd, *only;
	const char	*missing;
	cJSON		*resp;

	cmd = cJSON_GetObjectItemCaseSensitive(req, "command");
	if (!cJSON_IsString(cmd)) {
		reply(arg, control_error("request without a command"));
		return;
	}
	if (strcmp(cmd->valuestring, "nodes") == 0 ||
	    strcmp(cmd->valuestring, "health") == 0) {
		only = cJSON_GetObjectItemCaseSensitive(req, "node");
		if ((missing = unknown_node(only)) != NULL)
			reply(arg, control_error("no node \"%s\" in the cluster",
			    missing));
		else
			reply(arg, control_ok(nodes_json(strcmp(cmd->valuestring,
			    "health") == 0, only)));
	} else if (strcmp(cmd->valuestring, "backup") == 0)
		reply(arg, control_error("a backup is made on the master, "
		    "where its file is written: run it there"));
	else if (strcmp(cmd->valuestring, "status") == 0)
		reply(arg, control_ok(status_json()));
	else if (strcmp(cmd->valuestring, "stats") == 0)
		reply(arg, control_stats());
	else if (strcmp(cmd->valuestring, "lb_state") == 0)
		reply(arg, lb_state_command(req));
	else if (pools_command(req, &resp)) {
		if (strcmp(cmd->valuestring, "pools") == 0)
			pools_health(resp);
		reply(arg, resp);
	}
	else if (!mreg_command(req, reply, arg))
		reply(arg, control_error("unknown command \"%s\"",
		    cmd->valuestring));
}

static void
reply_control(void *arg, cJSON *resp)
{
	control_reply(arg, resp);
}

void
master_control(struct control_client *cl, const cJSON *req, void *arg)
{
	const cJSON	*cmd = cJSON_GetObjectItemCaseSensitive(req, "command");

	(void)arg;
	if (strcmp(cmd->valuestring, "backup") == 0)
		mreg_backup(req, reply_control, cl);	/* local only */
	else
		master_command(req, reply_control, cl);
}
