#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balancer/balancer.h"
#include "balancer/vrrpwatch.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/node.h"
#include "lb/haproxy.h"
#include "lb/lbpool.h"
#include "net/frame.h"
#include "net/link.h"

#define TASK		"Pools"
#define LEAVING_MAX	256

enum { BE_AGENTS, BE_ENROLL, BE_N };

/* Servers' states as the metrics count them, from HAProxy's status. */
enum { ST_UP, ST_DOWN, ST_DRAIN, ST_MAINT, ST_OTHER, ST_N };
static const char *const state_names[ST_N] = {
	"up", "down", "drain", "maint", "other"
};

/* A server HAProxy holds that the pool no longer has: drained, then gone. */
struct leaving {
	char		 name[64];
	ev_tstamp	 since;
};

struct backend {
	const char		*name;		/* in haproxy.cfg */
	const char		*pool;		/* in FRAME_POOLS */
	struct lbpool_server	 want[LBPOOL_MAX];
	size_t			 nwant;
	struct leaving		 leaving[LEAVING_MAX];
	size_t			 nleaving;
};

static struct {
	struct node	*node;
	struct link	*link;
	struct backend	 be[BE_N];
	int		 have_pools;	/* nothing is removed before */
	ev_timer	 check;
	char		 last_error[256];
	double		 last_sync;	/* wall clock */
	unsigned long	 edits;
	int		 serving;	/* 0 while keepalived is gone */
	unsigned long	 shut;		/* sessions-shut rounds */
	unsigned	 servers[BE_N][ST_N];	/* at the last good read */
} B;

static const struct metrics_def M_SERVERS = {
	"clusterd_balancer_servers", METRICS_GAUGE,
	"Servers of each pool in the local HAProxy by state (up, down, drain, "
	"maint, other), as last read."
};
static const struct metrics_def M_WANTED = {
	"clusterd_balancer_pool_servers", METRICS_GAUGE,
	"Servers of each pool in the master's last pool list."
};
static const struct metrics_def M_HAPROXY = {
	"clusterd_balancer_haproxy_up", METRICS_GAUGE,
	"1 while HAProxy answers on its stats socket as expected, else 0."
};
static const struct metrics_def M_SERVING = {
	"clusterd_balancer_serving", METRICS_GAUGE,
	"1 while this balancer serves, 0 while keepalived is gone (frontends "
	"paused)."
};
static const struct metrics_def M_EDITS = {
	"clusterd_balancer_edits_total", METRICS_COUNTER,
	"Changes made to HAProxy's servers through the Runtime API."
};

/*
 * Log a HAProxy outage once, when it starts.  Its cause may change while
 * it lasts (a restart: the socket refuses, then is gone, then refuses):
 * the status shows the latest, the log says it at debug only.
 */
static void
haproxy_problem(const char *msg)
{
	if (strcmp(msg, B.last_error) == 0)
		return;
	if (B.last_error[0] == '\0')
		log_errx(TASK, "HAProxy: %s.", msg);
	else
		log_debug(TASK, "HAProxy, still out: %s.", msg);
	snprintf(B.last_error, sizeof(B.last_error), "%s", msg);
}

/*
 * One Runtime API command whose success is an empty answer or one that
 * contains ok; anything else is HAProxy's error, logged.  Returns 0 or -1.
 */
static int
api(const char *ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
api(const char *ok, const char *fmt, ...)
{
	char	 cmd[512], err[256], *ans;
	va_list	 ap;
	size_t	 n;
	int	 rv = -1;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (haproxy_command(B.node->cfg.haproxy_socket, cmd, &ans, err,
	    sizeof(err)) == -1) {
		haproxy_problem(err);
		return -1;
	}
	n = strlen(ans);
	while (n > 0 && (ans[n - 1] == '\n' || ans[n - 1] == ' '))
		ans[--n] = '\0';
	if (n == 0 || (ok != NULL && strstr(ans, ok) != NULL))
		rv = 0;
	else
		log_warnx(TASK, "HAProxy refused \"%s\": %s", cmd, ans);
	free(ans);
	return rv;
}

static const char *
forced_state(unsigned admin)
{
	if (admin & HAPROXY_ADMF_FMAINT)
		return "maint";
	if (admin & HAPROXY_ADMF_FDRAIN)
		return "drain";
	return "ready";
}

static struct haproxy_server *
held(struct haproxy_server *v, size_t n, const char *be, const char *name)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].backend, be) == 0 && strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

static int
wanted(const struct backend *be, const char *name)
{
	size_t	i;

	for (i = 0; i < be->nwant; i++)
		if (strcmp(be->want[i].name, name) == 0)
			return 1;
	return 0;
}

static struct leaving *
leaving_find(struct backend *be, const char *name)
{
	size_t	i;

	for (i = 0; i < be->nleaving; i++)
		if (strcmp(be->leaving[i].name, name) == 0)
			return &be->leaving[i];
	return NULL;
}

static void
leaving_drop(struct backend *be, const char *name)
{
	struct leaving	*l = leaving_find(be, name);

	if (l != NULL)
		*l = be->leaving[--be->nleaving];
}

/* Bring one wanted server into HAProxy, or its address and state up to date. */
static void
sync_wanted(struct backend *be, const struct lbpool_server *w,
    struct haproxy_server *h)
{
	const char	*st = lbpool_state_name(w->state);
	char		 opts[LBPOOL_OPTS_MAX];

	leaving_drop(be, w->name);
	if (h == NULL) {
		if (lbpool_server_options(w, opts, sizeof(opts)) == -1 ||
		    api("New server registered.", "add server %s/%s %s:%u %s",
		    be->name, w->name, w->address, w->port, opts) == -1)
			return;
		/* A runtime server starts in maintenance, checks off. */
		api(NULL, "enable health %s/%s", be->name, w->name);
		if (w->check_port != 0)
			api(NULL, "enable agent %s/%s", be->name, w->name);
		api(NULL, "set server %s/%s state %s", be->name, w->name, st);
		log_info(TASK, "Added %s/%s (%s:%u), %s.", be->name, w->name,
		    w->address, w->port, st);
		B.edits++;
		return;
	}
	if (strcmp(h->address, w->address) != 0 || h->port != w->port) {
		if (api("changed from", "set server %s/%s addr %s port %u", be->name,
		    w->name, w->address, w->port) == 0) {
			log_info(TASK, "%s/%s moved to %s:%u.", be->name,
			    w->name, w->address, w->port);
			B.edits++;
		}
	}
	if (h->agent_port != w->check_port) {
		if (h->agent_port != 0 && w->check_port != 0) {
			if (api(NULL, "set server %s/%s agent-port %u",
			    be->name, w->name, w->check_port) == 0)
				log_info(TASK, "%s/%s: agent-check on port %u.",
				    be->name, w->name, w->check_port);
		} else {
			/* Turning agent-check on or off needs the server
			 * made anew: the rewritten config does it. */
			log_debug(TASK, "%s/%s: agent-check %s from the next "
			    "HAProxy reload.", be->name, w->name,
			    w->check_port ? "starts" : "stops");
		}
	}
	if (strcmp(forced_state(h->admin), st) != 0 &&
	    api(NULL, "set server %s/%s state %s", be->name, w->name, st) == 0) {
		log_info(TASK, "%s/%s: %s (was %s).", be->name, w->name, st,
		    forced_state(h->admin));
		B.edits++;
	}
}

/*
 * A server the pool no longer has: drain it so it takes no new agents,
 * and delete it once its connections are gone or pool_drain_timeout has
 * passed (then what is left is shut).  HAProxy deletes only servers in
 * maintenance with no connection.
 */
static void
sync_leaving(struct backend *be, const struct haproxy_server *h)
{
	struct leaving	*l;
	ev_tstamp	 now = ev_now(B.node->loop);

	if ((l = leaving_find(be, h->name)) == NULL) {
		if (be->nleaving == LEAVING_MAX)
			return;
		l = &be->leaving[be->nleaving++];
		snprintf(l->name, sizeof(l->name), "%s", h->name);
		l->since = now;
		if (!(h->admin & (HAPROXY_ADMF_FMAINT | HAPROXY_ADMF_FDRAIN)))
			api(NULL, "set server %s/%s state drain", be->name,
			    h->name);
		log_info(TASK, "%s/%s left the pool: draining its %u "
		    "connection(s).", be->name, h->name, h->connections);
	}
	if (h->connections > 0 && now - l->since < B.node->cfg.pool_drain_timeout)
		return;
	if (h->connections > 0)
		api(NULL, "shutdown sessions server %s/%s", be->name, h->name);
	api(NULL, "set server %s/%s state maint", be->name, h->name);
	if (api("Server deleted.", "del server %s/%s", be->name, h->name) == 0) {
		log_info(TASK, "Deleted %s/%s.", be->name, h->name);
		leaving_drop(be, h->name);
		B.edits++;
	}
}

static cJSON *
report_json(const struct haproxy_server *v, size_t n)
{
	cJSON	*j, *bes, *arr, *o;
	size_t	 i;
	int	 b;

	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "status", B.last_error[0] ? B.last_error :
	    "ok");
	bes = cJSON_AddObjectToObject(j, "pools");
	for (b = 0; b < BE_N; b++) {
		arr = cJSON_AddArrayToObject(bes, B.be[b].pool);
		for (i = 0; i < n; i++) {
			if (strcmp(v[i].backend, B.be[b].name) != 0)
				continue;
			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "backend", v[i].backend);
			cJSON_AddStringToObject(o, "name", v[i].name);
			cJSON_AddStringToObject(o, "address", v[i].address);
			cJSON_AddNumberToObject(o, "port", v[i].port);
			cJSON_AddStringToObject(o, "admin",
			    haproxy_admin_name(v[i].admin));
			cJSON_AddStringToObject(o, "status", v[i].status);
			cJSON_AddNumberToObject(o, "connections",
			    v[i].connections);
			cJSON_AddNumberToObject(o, "weight", v[i].weight);
			cJSON_AddItemToArray(arr, o);
		}
	}
	return j;
}

/* Read both backends' servers and their connections; -1 if unreachable. */
static int
read_servers(struct haproxy_server **v, size_t *n, char **state)
{
	char	 err[256], *stat = NULL;
	int	 rv = -1;

	*v = NULL;
	*n = 0;
	*state = NULL;
	if (haproxy_command(B.node->cfg.haproxy_socket, "show servers state",
	    state, err, sizeof(err)) == -1 ||
	    haproxy_command(B.node->cfg.haproxy_socket, "show stat -1 4 -1",
	    &stat, err, sizeof(err)) == -1) {
		haproxy_problem(err);
		goto done;
	}
	if (haproxy_parse_state(*state, strlen(*state), v, n) == -1 ||
	    haproxy_merge_stat(stat, strlen(stat), *v, *n) == -1) {
		haproxy_problem("unexpected answer to show servers state or "
		    "show stat");
		goto done;
	}
	rv = 0;
done:
	free(stat);
	if (rv == -1) {
		free(*v);
		*v = NULL;
		free(*state);
		*state = NULL;
	}
	return rv;
}

/* The server lines of one backend's pool block (to free). */
static char *
pool_block(const struct backend *be)
{
	char	*block, opts[LBPOOL_OPTS_MAX];
	size_t	 cap = be->nwant * 256 + 1, used = 0, i;
	int	 k;

	if ((block = malloc(cap)) == NULL)
		return NULL;
	block[0] = '\0';
	for (i = 0; i < be->nwant; i++) {
		if (lbpool_server_options(&be->want[i], opts, sizeof(opts)) == -1)
			continue;
		k = snprintf(block + used, cap - used, "    server %s %s:%u %s\n",
		    be->want[i].name, be->want[i].address, be->want[i].port,
		    opts);
		if (k > 0 && (size_t)k < cap - used)
			used += (size_t)k;
	}
	return block;
}

/*
 * Rewrite the pool blocks of haproxy_config to the wanted servers, so a
 * restart from the file has them; untouched when already equal.
 */
static void
rewrite_config(void)
{
	const char	*path = B.node->cfg.haproxy_config;
	char		*old = NULL, *cur, *next, *block;
	size_t		 len;
	int		 b, rv;

	if (path[0] == '\0')
		return;
	if (node_read_file(path, 4u << 20, &old, &len) == -1) {
		log_warn(TASK, "cannot read %s", path);
		return;
	}
	if ((cur = strdup(old)) == NULL)
		goto done;
	for (b = 0; b < BE_N; b++) {
		if ((block = pool_block(&B.be[b])) == NULL)
			goto done;
		rv = haproxy_rewrite_pool(cur, strlen(cur), B.be[b].name, block,
		    &next);
		free(block);
		if (rv == -1) {
			log_warnx(TASK, "%s: no \"backend %s\" with \"# "
			    "clusterd pool begin\" and \"# clusterd pool end\" "
			    "lines: not rewritten.", path, B.be[b].name);
			goto done;
		}
		free(cur);
		cur = next;
	}
	if (strcmp(old, cur) == 0)
		goto done;
	if (node_write_file(path, cur, strlen(cur), 0644) == -1)
		log_warn(TASK, "cannot rewrite %s", path);
	else
		log_info(TASK, "Rewrote the pools in %s.", path);
done:
	free(old);
	free(cur);
}

/* Count each backend's servers by state, for the metrics. */
static void
count_states(const struct haproxy_server *v, size_t n)
{
	static const struct {
		const char	*prefix;
		int		 st;
	} map[] = {
		{ "UP", ST_UP }, { "DOWN", ST_DOWN }, { "DRAIN", ST_DRAIN },
		{ "NOLB", ST_DRAIN }, { "MAINT", ST_MAINT }
	};
	size_t	i, k;
	int	b, st;

	memset(B.servers, 0, sizeof(B.servers));
	for (b = 0; b < BE_N; b++)
		for (i = 0; i < n; i++) {
			if (strcmp(v[i].backend, B.be[b].name) != 0)
				continue;
			st = ST_OTHER;
			for (k = 0; k < sizeof(map) / sizeof(map[0]); k++)
				if (strncmp(v[i].status, map[k].prefix,
				    strlen(map[k].prefix)) == 0)
					st = map[k].st;
			B.servers[b][st]++;
		}
}

/*
 * Make HAProxy's pools what the master says, then save the server state
 * and report.  Before the first pool list nothing is changed: a balancer
 * that cannot reach the master keeps serving what it has.
 */
static void
reconcile(void)
{
	struct haproxy_server	*v;
	char			*state;
	size_t			 n, i;
	int			 b;
	cJSON			*rep;
	unsigned long		 before = B.edits;

	if (read_servers(&v, &n, &state) == -1)
		return;
	if (B.last_error[0] != '\0') {
		log_info(TASK, "HAProxy answers again on %s.",
		    B.node->cfg.haproxy_socket);
		B.last_error[0] = '\0';
	}
	/* A HAProxy that stops answering ends the round (each command
	 * could wait 2 s); the next check starts again. */
	for (b = 0; B.have_pools && b < BE_N; b++) {
		/* Leaving servers HAProxy no longer has (a restart) are done. */
		for (i = 0; i < B.be[b].nleaving; )
			if (held(v, n, B.be[b].name, B.be[b].leaving[i].name) ==
			    NULL)
				B.be[b].leaving[i] = B.be[b].leaving[--B.be[b].nleaving];
			else
				i++;
		for (i = 0; i < B.be[b].nwant && !B.last_error[0]; i++)
			sync_wanted(&B.be[b], &B.be[b].want[i], held(v, n,
			    B.be[b].name, B.be[b].want[i].name));
		for (i = 0; i < n && !B.last_error[0]; i++)
			if (strcmp(v[i].backend, B.be[b].name) == 0 &&
			    !wanted(&B.be[b], v[i].name))
				sync_leaving(&B.be[b], &v[i]);
	}
	if (B.last_error[0] != '\0')
		goto done;
	if (B.edits != before) {	/* report what HAProxy holds now */
		free(v);
		free(state);
		if (read_servers(&v, &n, &state) == -1)
			return;
	}
	if (B.node->cfg.haproxy_state_file[0] != '\0' &&
	    node_write_file(B.node->cfg.haproxy_state_file, state,
	    strlen(state), 0644) == -1)
		log_warn(TASK, "cannot save %s",
		    B.node->cfg.haproxy_state_file);
	B.last_sync = node_wall_now();
	count_states(v, n);
	if (B.link != NULL) {
		rep = report_json(v, n);
		link_notify(B.link, FRAME_POOL_REPORT, rep);
		cJSON_Delete(rep);
	}
done:
	free(v);
	free(state);
}

/* Pause or resume the frontends that face the agents (the VIP's ports). */
static void
frontends(const char *verb)
{
	char	 list[sizeof(B.node->cfg.haproxy_frontends)], *f, *sp;

	snprintf(list, sizeof(list), "%s", B.node->cfg.haproxy_frontends);
	for (f = strtok_r(list, ",", &sp); f != NULL;
	    f = strtok_r(NULL, ",", &sp))
		api("already", "%s frontend %s", verb, f);
}

/* Close every session of every server of both backends. */
static void
shut_all_sessions(void)
{
	struct haproxy_server	*v;
	char			*state;
	size_t			 n, i;

	if (read_servers(&v, &n, &state) == -1)
		return;
	for (i = 0; i < n; i++)
		if (strcmp(v[i].backend, B.be[BE_AGENTS].name) == 0 ||
		    strcmp(v[i].backend, B.be[BE_ENROLL].name) == 0)
			api(NULL, "shutdown sessions server %s/%s",
			    v[i].backend, v[i].name);
	B.shut++;
	free(v);
	free(state);
}

/*
 * keepalived came or went.  Without it this balancer cannot know whether
 * it holds the VIP, and the other one has taken it within a second
 * (VRRP): sessions left open here would keep the agents' slots on the
 * workers while the agents reconnect through the other balancer, and new
 * ones would go stale in turn.  So stop serving at once (frontends
 * paused, sessions shut) and serve again when keepalived is back, which
 * decides anew who holds the VIP.
 */
static void
on_vrrp(enum vrrpwatch_state st, long pid, const char *why)
{
	if (st == VRRPWATCH_GONE) {
		if (B.serving)
			log_warnx(TASK, "keepalived is gone (%s): pausing "
			    "frontends %s and shutting their sessions.", why,
			    B.node->cfg.haproxy_frontends);
		B.serving = 0;
		frontends("disable");
		shut_all_sessions();
	} else if (st == VRRPWATCH_RUNNING && !B.serving) {
		log_info(TASK, "keepalived is running (pid %ld): serving "
		    "again.", pid);
		B.serving = 1;
		frontends("enable");
	}
}

static void
check_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	reconcile();
	/* A HAProxy restarted meanwhile serves again: pause it anew. */
	if (!B.serving)
		frontends("disable");
}

/* A new pool list from the master: checked whole, then applied. */
static void
on_pools(const cJSON *body)
{
	static struct lbpool_server	 tmp[BE_N][LBPOOL_MAX];
	size_t				 n[BE_N];
	char				 err[128];
	int				 b;

	for (b = 0; b < BE_N; b++) {
		if (lbpool_parse(cJSON_GetObjectItemCaseSensitive(body,
		    B.be[b].pool), tmp[b], LBPOOL_MAX, &n[b], err,
		    sizeof(err)) == -1) {
			log_errx(TASK, "Ignoring the master's %s pool: %s.",
			    B.be[b].pool, err);
			return;
		}
	}
	for (b = 0; b < BE_N; b++) {
		memcpy(B.be[b].want, tmp[b], n[b] * sizeof(tmp[b][0]));
		B.be[b].nwant = n[b];
	}
	if (!B.have_pools)
		log_info(TASK, "Pools from the master: %zu agents server(s), "
		    "%zu enrollment server(s).", n[BE_AGENTS], n[BE_ENROLL]);
	B.have_pools = 1;
	rewrite_config();
	reconcile();
}

/* A collector (metrics.h): the pools in the local HAProxy. */
static void
balancer_metrics(struct metrics *m, void *arg)
{
	int	b, st;

	(void)arg;
	for (b = 0; b < BE_N; b++)
		for (st = 0; st < ST_N; st++)
			metrics_put(m, &M_SERVERS, B.servers[b][st], "pool",
			    B.be[b].pool, "state", state_names[st], NULL);
	for (b = 0; b < BE_N; b++)
		metrics_put(m, &M_WANTED, (double)B.be[b].nwant, "pool",
		    B.be[b].pool, NULL);
	metrics_put(m, &M_HAPROXY, B.last_error[0] == '\0' &&
	    B.last_sync != 0, NULL);
	metrics_put(m, &M_SERVING, B.serving, NULL);
	metrics_put(m, &M_EDITS, (double)B.edits, NULL);
}

static int
balancer_start(struct node *n)
{
	B.node = n;
	B.be[BE_AGENTS].name = n->cfg.haproxy_agents_backend;
	B.be[BE_AGENTS].pool = "agents";
	B.be[BE_ENROLL].name = n->cfg.haproxy_enrollment_backend;
	B.be[BE_ENROLL].pool = "enrollment";
	ev_timer_init(&B.check, check_cb, 0.1, n->cfg.pool_check_interval);
	ev_timer_start(n->loop, &B.check);
	B.serving = 1;
	metrics_register(balancer_metrics, NULL);
	if (n->cfg.keepalived_pid_file[0] != '\0' &&
	    vrrpwatch_start(n->loop, n->cfg.keepalived_pid_file, 0.2,
	    on_vrrp) == -1)
		return -1;
	log_info(TASK, "Keeping HAProxy's backends %s and %s through %s.",
	    B.be[BE_AGENTS].name, B.be[BE_ENROLL].name,
	    n->cfg.haproxy_socket);
	return 0;
}

static void
balancer_stop(void)
{
	metrics_unregister(balancer_metrics, NULL);
	ev_timer_stop(B.node->loop, &B.check);
	vrrpwatch_stop();
	B.link = NULL;
}

static void
balancer_link_up(struct link *l)
{
	B.link = l;
}

static void
balancer_link_down(void)
{
	B.link = NULL;
}

static int
balancer_on_frame(const struct frame_hdr *h, const cJSON *body,
    const uint8_t *payload)
{
	(void)payload;
	if (h->type != FRAME_POOLS)
		return 0;
	on_pools(body);
	return 1;
}

static void
balancer_status(cJSON *d)
{
	cJSON	*o = cJSON_AddObjectToObject(d, "balancer");
	int	 b;

	cJSON_AddStringToObject(o, "haproxy_socket", B.node->cfg.haproxy_socket);
	cJSON_AddStringToObject(o, "haproxy", B.last_error[0] ? B.last_error :
	    "ok");
	cJSON_AddBoolToObject(o, "pools_known", B.have_pools);
	cJSON_AddItemToObject(o, "last_sync", node_time_json(B.last_sync));
	cJSON_AddNumberToObject(o, "edits", (double)B.edits);
	cJSON_AddBoolToObject(o, "serving", B.serving);
	cJSON_AddNumberToObject(o, "sessions_shut", (double)B.shut);
	vrrpwatch_status(o);
	for (b = 0; b < BE_N; b++)
		cJSON_AddNumberToObject(o, B.be[b].name, (double)B.be[b].nwant);
}

const struct uplink_role balancer_role = {
	.name = "balancer",
	.start = balancer_start,
	.stop = balancer_stop,
	.up = balancer_link_up,
	.down = balancer_link_down,
	.frame = balancer_on_frame,
	.status = balancer_status,
};
