/*
 * test_pools: the master's view of the balancers' pools (master/pools.c),
 * with its collaborators faked at the seam: hellos built by hand (or by
 * hello_build for the master itself), a struct node with a default config
 * and a temp home under /tmp, and a send callback that records each
 * snapshot instead of sending it to balancers.  Covered: membership from
 * hellos and the addresses balancers can use; the operators' edits
 * (pool_set: the states and pools accepted, the refusals); edits kept
 * across a node leaving and coming back and across a restart (pools_stop,
 * pools_start on the same home, var/pools.json); the leave timer; the
 * balancers' reports and pools_serving; and that every change sends a
 * snapshot showing it, one balancers accept (lbpool_parse).
 *
 * pools.c keeps one global state and sends from libev timers (a 10 ms
 * push, a 1 s leave tick), so each test runs a fresh loop until the
 * callback it waits for came, bounded by a guard timer.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <ev.h>

#include "base/config.h"
#include "base/node.h"
#include "lb/lbpool.h"
#include "master/pools.h"
#include "net/hello.h"

#include "helpers/fixture.h"

#define KEY		"85482860b191589c071454938c1bd2e1"
#define GUARD_SECONDS	3.0	/* the longest any wait may take */
#define QUIET_SECONDS	0.05	/* five push delays: nothing sent */
#define LEAVE_SHORT	0.2	/* pool_leave_after in the leave tests */

struct fixture {
	char		 home[64];
	char		 pools_json[PATH_MAX];
	char		 logpath[PATH_MAX];
	struct node	 node;
};

/* What the send callback was given. */
static struct {
	cJSON	*last;		/* a copy of the last snapshot */
	int	 count;
} S;

static void
record(const cJSON *j)
{
	cJSON_Delete(S.last);
	S.last = cJSON_Duplicate(j, 1);
	S.count++;
}

static int
setup(void **state)
{
	struct fixture	*f;
	struct config	*c;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	snprintf(f->home, sizeof(f->home), "/tmp/test_pools.XXXXXX");
	if (mkdtemp(f->home) == NULL) {
		free(f);
		return -1;
	}
	c = &f->node.cfg;
	config_defaults(c);
	snprintf(c->node_name, sizeof(c->node_name), "master1");
	c->node_type = NODE_MASTER;
	snprintf(c->key, sizeof(c->key), "%s", KEY);
	snprintf(c->home, sizeof(c->home), "%s", f->home);
	snprintf(f->pools_json, sizeof(f->pools_json), "%s/var/pools.json",
	    f->home);
	snprintf(f->logpath, sizeof(f->logpath), "%s/logs/cluster.log",
	    f->home);
	if (node_make_home(c) == -1 ||
	    log_init(f->logpath, 0, LOG_LVL_INFO) == -1 ||
	    (f->node.loop = ev_loop_new(EVFLAG_AUTO)) == NULL)
		return -1;
	memset(&S, 0, sizeof(S));
	if (pools_start(&f->node, record) == -1)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	pools_stop();
	ev_loop_destroy(f->node.loop);
	log_close();
	fx_rmtree(f->home);
	cJSON_Delete(S.last);
	memset(&S, 0, sizeof(S));
	free(f);
	return 0;
}

/* ---- the loop ---- */

static void
guard_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	*(int *)t->data = 1;
}

/* Run the loop for secs, or until `until` snapshots were sent (0: all). */
static void
run(struct fixture *f, double secs, int until)
{
	ev_timer	guard;
	int		fired = 0;

	ev_timer_init(&guard, guard_cb, secs, 0);
	guard.data = &fired;
	ev_timer_start(f->node.loop, &guard);
	while (!fired && (until == 0 || S.count < until))
		ev_run(f->node.loop, EVRUN_ONCE);
	ev_timer_stop(f->node.loop, &guard);
}

/* One pool of a snapshot is a list balancers accept. */
static void
check_pool(const cJSON *j, const char *pool)
{
	struct lbpool_server	*v;
	char			 err[128];
	size_t			 n;

	assert_non_null(v = calloc(LBPOOL_MAX, sizeof(*v)));
	if (lbpool_parse(cJSON_GetObjectItemCaseSensitive(j, pool), v,
	    LBPOOL_MAX, &n, err, sizeof(err)) == -1)
		fail_msg("%s pool refused by balancers: %s", pool, err);
	free(v);
}

/*
 * Wait for the next snapshot sent: it is what pools_snapshot gives now,
 * and balancers accept both of its pools.
 */
static const cJSON *
flush(struct fixture *f)
{
	cJSON	*now;
	int	 n = S.count;

	run(f, GUARD_SECONDS, n + 1);
	if (S.count != n + 1)
		fail_msg("no snapshot sent within %gs", GUARD_SECONDS);
	assert_non_null(S.last);
	now = pools_snapshot();
	assert_true(cJSON_Compare(now, S.last, 1));
	cJSON_Delete(now);
	check_pool(S.last, "agents");
	check_pool(S.last, "enrollment");
	return S.last;
}

/* Nothing is sent meanwhile. */
static void
quiet(struct fixture *f)
{
	int	n = S.count;

	run(f, QUIET_SECONDS, 0);
	assert_int_equal(S.count, n);
}

/* ---- snapshots and the "pools" listing ---- */

static const cJSON *
named(const cJSON *arr, const char *name)
{
	const cJSON	*o, *nm;

	cJSON_ArrayForEach(o, arr) {
		nm = cJSON_GetObjectItemCaseSensitive(o, "name");
		if (cJSON_IsString(nm) && strcmp(nm->valuestring, name) == 0)
			return o;
	}
	return NULL;
}

/* The entry of name in pool of snapshot j, or NULL. */
static const cJSON *
member(const cJSON *j, const char *pool, const char *name)
{
	return named(cJSON_GetObjectItemCaseSensitive(j, pool), name);
}

static const char *
str(const cJSON *o, const char *key)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsString(v))
		fail_msg("no string \"%s\"", key);
	return v->valuestring;
}

static double
num(const cJSON *o, const char *key)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(v))
		fail_msg("no number \"%s\"", key);
	return v->valuedouble;
}

static int
flag(const cJSON *o, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* name's state in pool of snapshot j; NULL when it is not in that pool. */
static const char *
state_in(const cJSON *j, const char *pool, const char *name)
{
	const cJSON	*o = member(j, pool, name);

	return o == NULL ? NULL : str(o, "state");
}

/* The same, of the snapshot pools_snapshot gives now. */
static int
now_state_is(const char *pool, const char *name, const char *state)
{
	cJSON	*j = pools_snapshot();
	const char *s = state_in(j, pool, name);
	int	 ok;

	ok = state == NULL ? s == NULL : s != NULL && strcmp(s, state) == 0;
	cJSON_Delete(j);
	return ok;
}

/* pools_command of text: it is one of its commands; the answer. */
static cJSON *
command(const char *text)
{
	cJSON	*req, *resp = NULL;

	assert_non_null(req = cJSON_Parse(text));
	assert_int_equal(pools_command(req, &resp), 1);
	cJSON_Delete(req);
	assert_non_null(resp);
	return resp;
}

/* The "pools" listing (members and balancers), to be freed. */
static cJSON *
listing(void)
{
	cJSON	*resp = command("{\"command\":\"pools\"}");

	assert_int_equal(num(resp, "error"), 0);
	return resp;
}

static const cJSON *
listed(const cJSON *resp, const char *what, const char *name)
{
	return named(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(resp, "data"), what), name);
}

static int
is_listed(const char *name)
{
	cJSON	*l = listing();
	int	 r = listed(l, "members", name) != NULL;

	cJSON_Delete(l);
	return r;
}

/* pool_set, pool NULL for both; the answer, to be freed. */
static cJSON *
pool_set(const char *node, const char *state, const char *pool)
{
	cJSON	*req, *resp = NULL;

	assert_non_null(req = cJSON_CreateObject());
	cJSON_AddStringToObject(req, "command", "pool_set");
	cJSON_AddStringToObject(req, "node", node);
	cJSON_AddStringToObject(req, "state", state);
	if (pool != NULL)
		cJSON_AddStringToObject(req, "pool", pool);
	assert_int_equal(pools_command(req, &resp), 1);
	cJSON_Delete(req);
	assert_non_null(resp);
	return resp;
}

static void
set_ok(const char *node, const char *state, const char *pool)
{
	cJSON	*resp = pool_set(node, state, pool);

	if (num(resp, "error") != 0)
		fail_msg("pool_set %s %s refused: %s", node, state,
		    str(resp, "message"));
	assert_true(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(resp,
	    "data")));
	cJSON_Delete(resp);
}

/* ---- files ---- */

static char *
slurp(const char *path)
{
	char	*s;
	size_t	 len;

	if (node_read_file(path, 1u << 20, &s, &len) == -1)
		return NULL;
	return s;
}

static int
file_has(const char *path, const char *needle)
{
	char	*s = slurp(path);
	int	 r = s != NULL && strstr(s, needle) != NULL;

	free(s);
	return r;
}

/* The member name as saved in var/pools.json, to be freed; NULL if absent. */
static cJSON *
saved(const struct fixture *f, const char *name)
{
	const cJSON	*c;
	char		*s;
	cJSON		*j, *o;

	assert_non_null(s = slurp(f->pools_json));
	assert_non_null(j = cJSON_Parse(s));
	free(s);
	c = named(cJSON_GetObjectItemCaseSensitive(j, "members"), name);
	o = c != NULL ? cJSON_Duplicate(c, 1) : NULL;
	cJSON_Delete(j);
	return o;
}

static void
restart(struct fixture *f)
{
	pools_stop();
	assert_int_equal(pools_start(&f->node, record), 0);
}

/* ---- hellos ---- */

/* A worker's hello: what it serves, port 0 for not served. */
static void
hello_of(struct hello *h, const char *name, const char *gw, unsigned gwport,
    const char *en, unsigned enport, unsigned check)
{
	memset(h, 0, sizeof(*h));
	snprintf(h->cluster_name, sizeof(h->cluster_name), "wazuh");
	snprintf(h->node_name, sizeof(h->node_name), "%s", name);
	snprintf(h->node_type, sizeof(h->node_type), "worker");
	snprintf(h->version, sizeof(h->version), "0.1.0");
	snprintf(h->gateway_address, sizeof(h->gateway_address), "%s", gw);
	h->gateway_port = gwport;
	snprintf(h->enrollment_address, sizeof(h->enrollment_address), "%s",
	    en);
	h->enrollment_port = enport;
	h->agent_check_port = check;
}

/* A worker with the defaults (every address, 1514, 1515, check 1517). */
static void
up(const char *name, const char *peer)
{
	struct hello	h;

	hello_of(&h, name, "0.0.0.0", 1514, "0.0.0.0", 1515, 1517);
	pools_node_up(&h, "worker", peer);
}

/* The master as master.c puts itself in: its own hello. */
static void
master_up(const struct fixture *f, const char *address)
{
	struct hello	 h;
	cJSON		*j;
	char		 err[64];

	assert_non_null(j = hello_build(&f->node.cfg, "0.1.0"));
	assert_int_equal(hello_parse(j, &h, err, sizeof(err)), 0);
	cJSON_Delete(j);
	pools_node_up(&h, "master", address);
}

/* ---- membership ---- */

/* A worker joins both pools at the address balancers reach it on. */
static void
test_worker_joins(void **state)
{
	struct fixture	*f = *state;
	const cJSON	*j, *o;
	cJSON		*l, *s;
	struct hello	 h;

	s = pools_snapshot();
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
	    s, "agents")), 0);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
	    s, "enrollment")), 0);
	cJSON_Delete(s);

	up("worker1", "192.0.2.11");
	j = flush(f);
	assert_non_null(o = member(j, "agents", "worker1"));
	assert_string_equal(str(o, "address"), "192.0.2.11");
	assert_int_equal(num(o, "port"), 1514);
	assert_int_equal(num(o, "check_port"), 1517);
	assert_string_equal(str(o, "state"), "ready");
	assert_non_null(o = member(j, "enrollment", "worker1"));
	assert_string_equal(str(o, "address"), "192.0.2.11");
	assert_int_equal(num(o, "port"), 1515);
	assert_null(cJSON_GetObjectItemCaseSensitive(o, "check_port"));
	assert_string_equal(str(o, "state"), "ready");
	assert_true(file_has(f->logpath, "worker1 joins the pools"));

	/* A listening address of its own is kept; "::" is the peer's. */
	hello_of(&h, "worker2", "198.51.100.2", 11514, "::", 11515, 0);
	pools_node_up(&h, "worker", "2001:db8::12");
	j = flush(f);
	assert_non_null(o = member(j, "agents", "worker2"));
	assert_string_equal(str(o, "address"), "198.51.100.2");
	assert_int_equal(num(o, "port"), 11514);
	assert_null(cJSON_GetObjectItemCaseSensitive(o, "check_port"));
	assert_non_null(o = member(j, "enrollment", "worker2"));
	assert_string_equal(str(o, "address"), "2001:db8::12");

	/* Not serving enrollment: in the agents' pool only. */
	hello_of(&h, "worker3", "", 1514, "", 0, 0);
	pools_node_up(&h, "worker", "192.0.2.13");
	j = flush(f);
	assert_non_null(member(j, "agents", "worker3"));
	assert_null(member(j, "enrollment", "worker3"));

	l = listing();
	assert_non_null(o = listed(l, "members", "worker1"));
	assert_string_equal(str(o, "type"), "worker");
	assert_int_equal(num(o, "check_port"), 1517);
	assert_true(flag(o, "connected"));
	assert_true(flag(cJSON_GetObjectItemCaseSensitive(o, "agents"),
	    "in_pool"));
	assert_non_null(o = listed(l, "members", "worker3"));
	assert_false(flag(cJSON_GetObjectItemCaseSensitive(o, "enrollment"),
	    "in_pool"));
	cJSON_Delete(l);

	/* Saved: membership is in var/pools.json at once. */
	assert_non_null(s = saved(f, "worker1"));
	assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(s, "agents"),
	    "address"), "192.0.2.11");
	cJSON_Delete(s);
	assert_non_null(s = saved(f, "worker3"));
	cJSON_Delete(s);
}

/*
 * A worker serving on an address the balancers could not put in a HAProxy
 * command is left out of that pool only, with a warning, and the pool
 * list stays one balancers accept; a usable address later brings it in.
 */
static void
test_unusable_address_left_out(void **state)
{
	struct fixture	*f = *state;
	const cJSON	*j;
	struct hello	 h;

	up("worker1", "192.0.2.11");
	hello_of(&h, "worker2", "bad addr", 1514, "0.0.0.0", 1515, 1517);
	pools_node_up(&h, "worker", "192.0.2.12");
	hello_of(&h, "worker3", "0.0.0.0", 1514, "fe80::1%eth0", 1515, 0);
	pools_node_up(&h, "worker", "192.0.2.13");
	hello_of(&h, "worker4", "0.0.0.0", 1514, "0.0.0.0", 1515, 0);
	pools_node_up(&h, "worker", "x;del server");
	j = flush(f);
	assert_non_null(member(j, "agents", "worker1"));
	assert_null(member(j, "agents", "worker2"));
	assert_non_null(member(j, "enrollment", "worker2"));
	assert_non_null(member(j, "agents", "worker3"));
	assert_null(member(j, "enrollment", "worker3"));
	assert_null(member(j, "agents", "worker4"));
	assert_null(member(j, "enrollment", "worker4"));
	assert_true(file_has(f->logpath, "worker2 serves agents on \"bad "
	    "addr\", which the balancers cannot use"));
	assert_true(file_has(f->logpath, "worker3 serves enrollment on "
	    "\"fe80::1%eth0\""));
	assert_true(is_listed("worker2"));

	hello_of(&h, "worker2", "192.0.2.22", 1514, "0.0.0.0", 1515, 1517);
	pools_node_up(&h, "worker", "192.0.2.12");
	j = flush(f);
	assert_string_equal(str(member(j, "agents", "worker2"), "address"),
	    "192.0.2.22");
}

/*
 * The master, from its own hello: always in the enrollment pool, in the
 * agents' pool only with gateway yes; in none while its address is not
 * known (it listens on every address, no cluster connection yet).
 */
static void
test_master_agents_only_with_gateway(void **state)
{
	struct fixture	*f = *state;
	const cJSON	*j, *o;
	cJSON		*l;

	/* gateway unset: a master takes no agents. */
	assert_int_equal(f->node.cfg.gateway, -1);
	master_up(f, "192.0.2.10");
	j = flush(f);
	assert_null(member(j, "agents", "master1"));
	assert_non_null(o = member(j, "enrollment", "master1"));
	assert_string_equal(str(o, "address"), "192.0.2.10");
	assert_int_equal(num(o, "port"), 1515);

	f->node.cfg.gateway = 0;
	master_up(f, "192.0.2.10");
	j = flush(f);
	assert_null(member(j, "agents", "master1"));
	assert_non_null(member(j, "enrollment", "master1"));

	f->node.cfg.gateway = 1;
	master_up(f, "192.0.2.10");
	j = flush(f);
	assert_non_null(o = member(j, "agents", "master1"));
	assert_string_equal(str(o, "address"), "192.0.2.10");
	assert_int_equal(num(o, "port"), 1514);
	assert_non_null(member(j, "enrollment", "master1"));

	f->node.cfg.gateway = 0;
	master_up(f, "192.0.2.10");
	j = flush(f);
	assert_null(member(j, "agents", "master1"));

	/* Its address not known yet: listed, in no pool. */
	f->node.cfg.gateway = 1;
	master_up(f, "");
	j = flush(f);
	assert_null(member(j, "agents", "master1"));
	assert_null(member(j, "enrollment", "master1"));
	l = listing();
	assert_non_null(o = listed(l, "members", "master1"));
	assert_string_equal(str(o, "type"), "master");
	cJSON_Delete(l);
	master_up(f, "192.0.2.10");
	j = flush(f);
	assert_non_null(member(j, "agents", "master1"));
	assert_non_null(member(j, "enrollment", "master1"));
}

/* ---- edits ---- */

/* ready, drain and maint, in both pools or in one; each one is sent. */
static void
test_set_states(void **state)
{
	struct fixture		*f = *state;
	static const char *const st[] = { "drain", "maint", "ready" };
	const cJSON		*j;
	cJSON			*l, *s;
	size_t			 i;

	up("worker1", "192.0.2.11");
	up("worker2", "192.0.2.12");
	flush(f);
	for (i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
		set_ok("worker1", st[i], NULL);
		j = flush(f);
		assert_string_equal(state_in(j, "agents", "worker1"), st[i]);
		assert_string_equal(state_in(j, "enrollment", "worker1"),
		    st[i]);
		assert_string_equal(state_in(j, "agents", "worker2"), "ready");
	}
	assert_true(file_has(f->logpath, "Pool edit: worker1 set to drain "
	    "in both pools."));

	set_ok("worker1", "drain", "agents");
	j = flush(f);
	assert_string_equal(state_in(j, "agents", "worker1"), "drain");
	assert_string_equal(state_in(j, "enrollment", "worker1"), "ready");
	set_ok("worker1", "maint", "enrollment");
	j = flush(f);
	assert_string_equal(state_in(j, "agents", "worker1"), "drain");
	assert_string_equal(state_in(j, "enrollment", "worker1"), "maint");
	assert_true(file_has(f->logpath, "Pool edit: worker1 set to maint "
	    "in enrollment."));

	l = listing();
	assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(listed(l,
	    "members", "worker1"), "agents"), "state"), "drain");
	assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(listed(l,
	    "members", "worker1"), "enrollment"), "state"), "maint");
	cJSON_Delete(l);
	assert_non_null(s = saved(f, "worker1"));
	assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(s, "agents"),
	    "state"), "drain");
	assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(s,
	    "enrollment"), "state"), "maint");
	cJSON_Delete(s);

	/* Setting what is already set is answered ok, and sent again. */
	set_ok("worker1", "drain", "agents");
	j = flush(f);
	assert_string_equal(state_in(j, "agents", "worker1"), "drain");
}

/* What pool_set refuses, with its answer; a refusal changes nothing. */
static void
test_set_refused(void **state)
{
	struct fixture	*f = *state;
	static const struct {
		const char	*req;
		const char	*message;
	} bad[] = {
		{ "{\"command\":\"pool_set\",\"node\":\"worker1\","
		    "\"state\":\"up\"}",
		    "state must be ready, drain, maint or remove, not \"up\"" },
		{ "{\"command\":\"pool_set\",\"node\":\"worker1\","
		    "\"state\":\"\"}",
		    "state must be ready, drain, maint or remove, not \"\"" },
		{ "{\"command\":\"pool_set\",\"node\":\"worker1\","
		    "\"state\":\"Drain\"}",
		    "state must be ready, drain, maint or remove, not "
		    "\"Drain\"" },
		{ "{\"command\":\"pool_set\",\"node\":\"worker1\","
		    "\"state\":\"drain\",\"pool\":\"both\"}",
		    "pool must be agents or enrollment, not \"both\"" },
		{ "{\"command\":\"pool_set\",\"node\":\"worker1\","
		    "\"state\":\"drain\",\"pool\":\"Agents\"}",
		    "pool must be agents or enrollment, not \"Agents\"" },
		{ "{\"command\":\"pool_set\",\"node\":\"worker9\","
		    "\"state\":\"drain\"}",
		    "no node \"worker9\" in the pools" },
		{ "{\"command\":\"pool_set\",\"node\":\"worker9\","
		    "\"state\":\"up\"}",
		    "state must be ready, drain, maint or remove, not \"up\"" },
		{ "{\"command\":\"pool_set\",\"state\":\"drain\"}",
		    "pool_set needs a node and a state" },
		{ "{\"command\":\"pool_set\",\"node\":\"worker1\"}",
		    "pool_set needs a node and a state" },
		{ "{\"command\":\"pool_set\",\"node\":\"worker1\","
		    "\"state\":1}",
		    "pool_set needs a node and a state" },
		{ "{\"command\":\"pool_set\",\"node\":[\"worker1\"],"
		    "\"state\":\"drain\"}",
		    "pool_set needs a node and a state" },
	};
	static const char *const others[] = {
		"{\"command\":\"nodes\"}", "{\"command\":\"pool\"}",
		"{\"command\":5}", "{}", "{\"node\":\"worker1\"}",
	};
	cJSON		*req, *resp;
	char		*before, *after;
	size_t		 i;

	up("worker1", "192.0.2.11");
	flush(f);
	set_ok("worker1", "maint", "enrollment");
	flush(f);
	assert_non_null(before = slurp(f->pools_json));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		resp = command(bad[i].req);
		assert_int_equal(num(resp, "error"), 1);
		assert_string_equal(str(resp, "message"), bad[i].message);
		cJSON_Delete(resp);
	}
	quiet(f);
	assert_true(now_state_is("agents", "worker1", "ready"));
	assert_true(now_state_is("enrollment", "worker1", "maint"));
	assert_non_null(after = slurp(f->pools_json));
	assert_string_equal(after, before);
	free(before);
	free(after);

	/* Not its commands: left for the caller, resp untouched. */
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		assert_non_null(req = cJSON_Parse(others[i]));
		resp = (cJSON *)&i;
		assert_int_equal(pools_command(req, &resp), 0);
		assert_ptr_equal(resp, &i);
		cJSON_Delete(req);
	}
}

/*
 * remove takes a node out of a pool's snapshot (listed as removed, not in
 * the pool) until ready brings it back; a removed node that reconnects
 * stays out.
 */
static void
test_remove_then_ready(void **state)
{
	struct fixture	*f = *state;
	const cJSON	*j, *o;
	cJSON		*l;

	up("worker1", "192.0.2.11");
	up("worker2", "192.0.2.12");
	flush(f);

	set_ok("worker1", "remove", "agents");
	j = flush(f);
	assert_null(member(j, "agents", "worker1"));
	assert_string_equal(state_in(j, "enrollment", "worker1"), "ready");
	assert_non_null(member(j, "agents", "worker2"));
	l = listing();
	o = cJSON_GetObjectItemCaseSensitive(listed(l, "members", "worker1"),
	    "agents");
	assert_string_equal(str(o, "state"), "removed");
	assert_false(flag(o, "in_pool"));
	cJSON_Delete(l);
	assert_true(file_has(f->logpath, "Pool edit: worker1 set to removed "
	    "in agents."));

	set_ok("worker1", "ready", "agents");
	j = flush(f);
	assert_string_equal(state_in(j, "agents", "worker1"), "ready");
	assert_string_equal(str(member(j, "agents", "worker1"), "address"),
	    "192.0.2.11");

	set_ok("worker1", "remove", NULL);
	j = flush(f);
	assert_null(member(j, "agents", "worker1"));
	assert_null(member(j, "enrollment", "worker1"));
	assert_true(is_listed("worker1"));

	/* Reconnecting does not undo a removal. */
	pools_node_down("worker1");
	up("worker1", "192.0.2.11");
	j = flush(f);
	assert_null(member(j, "agents", "worker1"));
	assert_null(member(j, "enrollment", "worker1"));

	/* A drain of a removed node keeps it in the pool, drained. */
	set_ok("worker1", "drain", "enrollment");
	j = flush(f);
	assert_null(member(j, "agents", "worker1"));
	assert_string_equal(state_in(j, "enrollment", "worker1"), "drain");

	set_ok("worker1", "ready", NULL);
	j = flush(f);
	assert_string_equal(state_in(j, "agents", "worker1"), "ready");
	assert_string_equal(state_in(j, "enrollment", "worker1"), "ready");
}

/*
 * An edit outlives the node leaving and coming back, at another address
 * too: the address follows the new hello, the state stays.
 */
static void
test_edit_survives_reconnect(void **state)
{
	struct fixture	*f = *state;
	const cJSON	*j;
	cJSON		*l;

	up("worker1", "192.0.2.11");
	flush(f);
	set_ok("worker1", "drain", "agents");
	set_ok("worker1", "maint", "enrollment");
	j = flush(f);
	assert_string_equal(state_in(j, "agents", "worker1"), "drain");

	/* Gone a moment: still in the pools, edits and all, nothing sent. */
	pools_node_down("worker1");
	assert_true(now_state_is("agents", "worker1", "drain"));
	assert_true(now_state_is("enrollment", "worker1", "maint"));
	l = listing();
	assert_false(flag(listed(l, "members", "worker1"), "connected"));
	cJSON_Delete(l);
	quiet(f);

	up("worker1", "192.0.2.99");
	j = flush(f);
	assert_string_equal(state_in(j, "agents", "worker1"), "drain");
	assert_string_equal(state_in(j, "enrollment", "worker1"), "maint");
	assert_string_equal(str(member(j, "agents", "worker1"), "address"),
	    "192.0.2.99");
	l = listing();
	assert_true(flag(listed(l, "members", "worker1"), "connected"));
	cJSON_Delete(l);
}

/*
 * Membership and edits persist in var/pools.json: after pools_stop and
 * pools_start on the same home the members are back, not connected, with
 * their addresses and edits, in the pools for pool_leave_after.
 */
static void
test_edit_survives_restart(void **state)
{
	struct fixture	*f = *state;
	const cJSON	*j, *o;
	cJSON		*l, *snap;
	struct hello	 h;

	up("worker1", "192.0.2.11");
	up("worker2", "192.0.2.12");
	hello_of(&h, "worker3", "198.51.100.3", 1514, "", 0, 0);
	pools_node_up(&h, "worker", "192.0.2.13");
	set_ok("worker1", "drain", NULL);
	set_ok("worker2", "remove", "agents");
	set_ok("worker2", "maint", "enrollment");
	flush(f);
	assert_true(file_has(f->pools_json, "\"drain\""));

	restart(f);
	snap = pools_snapshot();
	check_pool(snap, "agents");
	check_pool(snap, "enrollment");
	assert_string_equal(state_in(snap, "agents", "worker1"), "drain");
	assert_string_equal(state_in(snap, "enrollment", "worker1"), "drain");
	assert_string_equal(str(member(snap, "agents", "worker1"), "address"),
	    "192.0.2.11");
	assert_int_equal(num(member(snap, "agents", "worker1"), "check_port"),
	    1517);
	assert_null(member(snap, "agents", "worker2"));
	assert_string_equal(state_in(snap, "enrollment", "worker2"), "maint");
	assert_string_equal(str(member(snap, "agents", "worker3"), "address"),
	    "198.51.100.3");
	assert_null(cJSON_GetObjectItemCaseSensitive(member(snap, "agents",
	    "worker3"), "check_port"));
	assert_null(member(snap, "enrollment", "worker3"));
	cJSON_Delete(snap);
	assert_true(file_has(f->logpath, "Loaded 3 pool member(s)"));
	l = listing();
	o = listed(l, "members", "worker2");
	assert_non_null(o);
	assert_false(flag(o, "connected"));
	assert_string_equal(str(o, "type"), "worker");
	assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(o, "agents"),
	    "state"), "removed");
	cJSON_Delete(l);

	/* Reconnecting after the restart keeps the edits. */
	up("worker1", "192.0.2.11");
	up("worker2", "192.0.2.12");
	j = flush(f);
	assert_string_equal(state_in(j, "agents", "worker1"), "drain");
	assert_null(member(j, "agents", "worker2"));
	assert_string_equal(state_in(j, "enrollment", "worker2"), "maint");

	/* And a second restart still has them. */
	restart(f);
	assert_true(now_state_is("agents", "worker1", "drain"));
	assert_true(now_state_is("agents", "worker2", NULL));
	assert_true(now_state_is("enrollment", "worker2", "maint"));
}

/*
 * A damaged var/pools.json is not fatal: not JSON, the pools start empty;
 * damaged members are left out, a bad state read as ready, a bad address
 * or port keeps the member out of that pool only.
 */
static void
test_damaged_file(void **state)
{
	struct fixture	*f = *state;
	static const char garbage[] = "{\"members\":[{\"name\":";
	static const char damaged[] = "{\"members\":["
	    "{\"name\":\"worker1\",\"type\":\"worker\",\"check_port\":1517,"
	    "\"agents\":{\"address\":\"192.0.2.11\",\"port\":1514,"
	    "\"state\":\"bogus\"},"
	    "\"enrollment\":{\"address\":\"bad addr\",\"port\":1515,"
	    "\"state\":\"drain\"}},"
	    "{\"name\":\"bad name!\",\"agents\":{\"address\":\"192.0.2.2\","
	    "\"port\":1514,\"state\":\"ready\"}},"
	    "{\"name\":\"worker1\",\"agents\":{\"address\":\"192.0.2.3\","
	    "\"port\":1514,\"state\":\"maint\"}},"
	    "{\"name\":\"worker4\",\"check_port\":\"x\","
	    "\"agents\":{\"address\":\"192.0.2.4\",\"port\":99999,"
	    "\"state\":\"ready\"},"
	    "\"enrollment\":{\"address\":\"192.0.2.4\",\"port\":1515}},"
	    "{\"agents\":{\"address\":\"192.0.2.5\",\"port\":1514}},"
	    "17]}";
	cJSON		*snap, *l, *o;

	pools_stop();
	assert_int_equal(node_write_file(f->pools_json, garbage,
	    strlen(garbage), 0640), 0);
	assert_int_equal(pools_start(&f->node, record), 0);
	assert_true(file_has(f->logpath, "is not valid JSON"));
	snap = pools_snapshot();
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
	    snap, "agents")), 0);
	cJSON_Delete(snap);
	up("worker1", "192.0.2.11");
	flush(f);
	assert_non_null(o = saved(f, "worker1"));
	cJSON_Delete(o);

	pools_stop();
	assert_int_equal(node_write_file(f->pools_json, damaged,
	    strlen(damaged), 0640), 0);
	assert_int_equal(pools_start(&f->node, record), 0);
	snap = pools_snapshot();
	check_pool(snap, "agents");
	check_pool(snap, "enrollment");
	assert_string_equal(state_in(snap, "agents", "worker1"), "ready");
	assert_string_equal(str(member(snap, "agents", "worker1"), "address"),
	    "192.0.2.11");
	assert_null(member(snap, "enrollment", "worker1"));
	assert_null(member(snap, "agents", "bad name!"));
	assert_null(member(snap, "agents", "worker4"));
	assert_string_equal(state_in(snap, "enrollment", "worker4"), "ready");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
	    snap, "agents")), 1);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
	    snap, "enrollment")), 1);
	cJSON_Delete(snap);
	l = listing();
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(l, "data"), "members")), 2);
	cJSON_Delete(l);
}

/* ---- the leave timer ---- */

/*
 * A node that stays down past pool_leave_after leaves the pools (one
 * snapshot without it), the listing and var/pools.json; one that is
 * back in time stays.
 */
static void
test_leave_after(void **state)
{
	struct fixture	*f = *state;
	const cJSON	*j;
	cJSON		*s;

	f->node.cfg.pool_leave_after = LEAVE_SHORT;
	up("worker1", "192.0.2.11");
	up("worker2", "192.0.2.12");
	flush(f);

	pools_node_down("worker1");
	pools_node_down("worker1");		/* a second time: no change */
	pools_node_down("worker9");		/* unknown: ignored */
	assert_true(now_state_is("agents", "worker1", "ready"));
	assert_true(file_has(f->logpath, "worker1 is gone"));
	j = flush(f);
	assert_null(member(j, "agents", "worker1"));
	assert_null(member(j, "enrollment", "worker1"));
	assert_non_null(member(j, "agents", "worker2"));
	assert_false(is_listed("worker1"));
	assert_null(s = saved(f, "worker1"));
	assert_non_null(s = saved(f, "worker2"));
	cJSON_Delete(s);
	assert_true(file_has(f->logpath, "worker1 has been gone"));

	/* Back before pool_leave_after: it stays. */
	f->node.cfg.pool_leave_after = 60;
	pools_node_down("worker2");
	run(f, 1.2, 0);				/* one leave tick or more */
	assert_true(now_state_is("agents", "worker2", "ready"));
	assert_true(is_listed("worker2"));
	up("worker2", "192.0.2.12");
	j = flush(f);
	assert_string_equal(state_in(j, "agents", "worker2"), "ready");
}

/*
 * A node in var/pools.json counts as gone since the restart: in the pools
 * for pool_leave_after, time to reconnect, then it leaves.
 */
static void
test_restart_then_leave(void **state)
{
	struct fixture	*f = *state;
	const cJSON	*j;

	f->node.cfg.pool_leave_after = LEAVE_SHORT;
	up("worker1", "192.0.2.11");
	up("worker2", "192.0.2.12");
	flush(f);
	restart(f);
	assert_true(now_state_is("agents", "worker1", "ready"));
	assert_true(now_state_is("agents", "worker2", "ready"));
	up("worker2", "192.0.2.12");		/* back in time */
	j = flush(f);
	assert_non_null(member(j, "agents", "worker1"));
	j = flush(f);				/* worker1 leaves */
	assert_null(member(j, "agents", "worker1"));
	assert_non_null(member(j, "agents", "worker2"));
	assert_false(is_listed("worker1"));
}

/*
 * A node with an edit on it leaves the pools but stays listed (left), so
 * the edit outlives it and applies when it is back; its entry goes once
 * the edit is set back to ready.
 */
static void
test_leave_keeps_edit(void **state)
{
	struct fixture	*f = *state;
	const cJSON	*j, *o;
	cJSON		*l, *s;

	f->node.cfg.pool_leave_after = LEAVE_SHORT;
	up("worker1", "192.0.2.11");
	set_ok("worker1", "drain", "agents");
	flush(f);
	pools_node_down("worker1");
	j = flush(f);
	assert_null(member(j, "agents", "worker1"));
	assert_null(member(j, "enrollment", "worker1"));
	assert_true(file_has(f->logpath, "(its edits are kept)"));
	l = listing();
	assert_non_null(o = listed(l, "members", "worker1"));
	assert_true(flag(o, "left"));
	assert_false(flag(o, "connected"));
	assert_string_equal(str(cJSON_GetObjectItemCaseSensitive(o, "agents"),
	    "state"), "drain");
	assert_false(flag(cJSON_GetObjectItemCaseSensitive(o, "agents"),
	    "in_pool"));
	cJSON_Delete(l);
	assert_non_null(s = saved(f, "worker1"));
	cJSON_Delete(s);

	/* Editing a node that left is allowed, and keeps it out. */
	set_ok("worker1", "maint", "enrollment");
	j = flush(f);
	assert_null(member(j, "enrollment", "worker1"));

	up("worker1", "192.0.2.11");
	j = flush(f);
	assert_string_equal(state_in(j, "agents", "worker1"), "drain");
	assert_string_equal(state_in(j, "enrollment", "worker1"), "maint");
	l = listing();
	assert_false(flag(listed(l, "members", "worker1"), "left"));
	cJSON_Delete(l);

	/* Gone again, then set back to ready: the entry goes. */
	pools_node_down("worker1");
	j = flush(f);
	assert_null(member(j, "agents", "worker1"));
	set_ok("worker1", "ready", NULL);
	j = flush(f);
	assert_null(member(j, "agents", "worker1"));	/* still gone */
	run(f, 1.2, 0);				/* one leave tick or more */
	assert_false(is_listed("worker1"));
	assert_null(saved(f, "worker1"));
}

/*
 * A node with an edit that left the pools stays out of them across a
 * master restart: "left" is saved when it is set.
 */
static void
test_left_survives_restart(void **state)
{
	struct fixture	*f = *state;
	cJSON		*l;

	f->node.cfg.pool_leave_after = LEAVE_SHORT;
	up("worker1", "192.0.2.11");
	set_ok("worker1", "drain", NULL);
	flush(f);
	pools_node_down("worker1");
	flush(f);				/* it left */
	assert_true(now_state_is("agents", "worker1", NULL));
	restart(f);
	l = listing();
	assert_true(flag(listed(l, "members", "worker1"), "left"));
	cJSON_Delete(l);
	assert_true(now_state_is("agents", "worker1", NULL));
	assert_true(now_state_is("enrollment", "worker1", NULL));
}

/*
 * The other way round: a node that left, with an edit, and came back is
 * in the pools after a master restart: clearing "left" is saved too.
 */
static void
test_back_survives_restart(void **state)
{
	struct fixture	*f = *state;

	f->node.cfg.pool_leave_after = LEAVE_SHORT;
	up("worker1", "192.0.2.11");
	up("worker2", "192.0.2.12");
	set_ok("worker1", "drain", NULL);
	flush(f);
	pools_node_down("worker1");
	flush(f);				/* it left */
	set_ok("worker2", "maint", NULL);	/* saves worker1 "left" */
	flush(f);
	up("worker1", "192.0.2.11");		/* back */
	flush(f);
	assert_true(now_state_is("agents", "worker1", "drain"));
	restart(f);
	assert_true(now_state_is("agents", "worker1", "drain"));
}

/* ---- balancers' reports ---- */

/* A report as a balancer sends it: its HAProxy's agents' servers. */
static cJSON *
report(const char *servers)
{
	char	 text[1024];
	cJSON	*j;

	snprintf(text, sizeof(text), "{\"status\":\"ok\",\"pools\":{"
	    "\"agents\":[%s],\"enrollment\":[{\"backend\":"
	    "\"nodes_enrollment\",\"name\":\"worker5\",\"address\":"
	    "\"192.0.2.15\",\"port\":1515,\"admin\":\"ready\",\"status\":"
	    "\"UP\",\"connections\":0,\"weight\":1}]}}", servers);
	assert_non_null(j = cJSON_Parse(text));
	return j;
}

#define SERVER(name, status, weight)					\
	"{\"backend\":\"workers_agents\",\"name\":\"" name "\","	\
	"\"address\":\"192.0.2.1\",\"port\":1514,\"admin\":\"ready\","	\
	"\"status\":\"" status "\",\"connections\":3,\"weight\":" weight "}"

/*
 * pools_serving: every node while no connected balancer has reported;
 * then only a node UP with a weight in some connected balancer's agents'
 * pool.  Reports are kept (copied) for the listing and send nothing.
 */
static void
test_reports_and_serving(void **state)
{
	struct fixture	*f = *state;
	const cJSON	*b;
	cJSON		*r, *l;

	up("worker1", "192.0.2.11");
	flush(f);
	assert_true(pools_serving("worker1"));
	assert_true(pools_serving("anyone"));

	r = report(SERVER("worker1", "UP", "100") ","
	    SERVER("worker2", "UP", "0") ","
	    SERVER("worker3", "DOWN", "100") ","
	    SERVER("worker4", "UP 1/3", "50") ","
	    SERVER("worker6", "MAINT", "100"));
	pools_report("lb1", r);
	cJSON_Delete(r);			/* pools keeps its own copy */
	quiet(f);
	assert_true(pools_serving("worker1"));
	assert_false(pools_serving("worker2"));	/* drained: weight 0 */
	assert_false(pools_serving("worker3"));
	assert_true(pools_serving("worker4"));	/* UP, going down */
	assert_false(pools_serving("worker5"));	/* enrollment only */
	assert_false(pools_serving("worker6"));
	assert_false(pools_serving("anyone"));

	l = listing();
	assert_non_null(b = listed(l, "balancers", "lb1"));
	assert_true(flag(b, "connected"));
	assert_non_null(cJSON_GetObjectItemCaseSensitive(b, "reported"));
	r = report(SERVER("worker1", "UP", "100") ","
	    SERVER("worker2", "UP", "0") ","
	    SERVER("worker3", "DOWN", "100") ","
	    SERVER("worker4", "UP 1/3", "50") ","
	    SERVER("worker6", "MAINT", "100"));
	assert_true(cJSON_Compare(cJSON_GetObjectItemCaseSensitive(b,
	    "haproxy"), r, 1));
	cJSON_Delete(r);
	cJSON_Delete(l);

	/* A new report replaces the last. */
	r = report(SERVER("worker2", "UP", "100"));
	pools_report("lb1", r);
	cJSON_Delete(r);
	assert_false(pools_serving("worker1"));
	assert_true(pools_serving("worker2"));

	/* Another balancer: serving on either is serving. */
	r = report(SERVER("worker3", "UP", "10"));
	pools_report("lb2", r);
	cJSON_Delete(r);
	assert_true(pools_serving("worker2"));
	assert_true(pools_serving("worker3"));
	assert_false(pools_serving("worker1"));

	/* A balancer gone: its report no longer counts, but is listed. */
	pools_balancer_down("lb2");
	assert_false(pools_serving("worker3"));
	assert_true(pools_serving("worker2"));
	l = listing();
	assert_non_null(b = listed(l, "balancers", "lb2"));
	assert_false(flag(b, "connected"));
	assert_true(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(b,
	    "haproxy")));
	cJSON_Delete(l);

	/* None connected: as with no balancer, every node serves. */
	pools_balancer_down("lb1");
	assert_true(pools_serving("worker1"));
	assert_true(pools_serving("anyone"));

	/* Reporting again reconnects it. */
	r = report(SERVER("worker3", "UP", "10"));
	pools_report("lb2", r);
	cJSON_Delete(r);
	assert_true(pools_serving("worker3"));
	assert_false(pools_serving("worker1"));

	/* A report without an agents' pool: nothing serves there. */
	assert_non_null(r = cJSON_Parse("{\"status\":\"HAProxy: down\"}"));
	pools_report("lb2", r);
	cJSON_Delete(r);
	assert_false(pools_serving("worker3"));
	quiet(f);

	/* A balancer down before any report: listed, nothing reported. */
	pools_balancer_down("lb3");
	l = listing();
	assert_non_null(b = listed(l, "balancers", "lb3"));
	assert_false(flag(b, "connected"));
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(b,
	    "haproxy")));
	cJSON_Delete(l);

	/* Reports go with a restart (kept in memory only). */
	restart(f);
	l = listing();
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(l, "data"), "balancers")), 0);
	cJSON_Delete(l);
	assert_true(pools_serving("worker3"));
}

/* ---- sending ---- */

/*
 * A burst of changes is one snapshot showing all of them; membership
 * and edits each send one; a node going down or a report sends none.
 */
static void
test_changes_send_snapshots(void **state)
{
	struct fixture	*f = *state;
	const cJSON	*j;
	cJSON		*r;

	quiet(f);
	assert_null(S.last);

	up("worker1", "192.0.2.11");
	up("worker2", "192.0.2.12");
	set_ok("worker1", "drain", NULL);
	set_ok("worker2", "remove", "enrollment");
	j = flush(f);
	assert_int_equal(S.count, 1);
	assert_string_equal(state_in(j, "agents", "worker1"), "drain");
	assert_string_equal(state_in(j, "enrollment", "worker1"), "drain");
	assert_string_equal(state_in(j, "agents", "worker2"), "ready");
	assert_null(member(j, "enrollment", "worker2"));
	quiet(f);

	pools_node_down("worker2");
	quiet(f);
	assert_non_null(r = cJSON_Parse("{\"pools\":{\"agents\":[]}}"));
	pools_report("lb1", r);
	cJSON_Delete(r);
	pools_balancer_down("lb1");
	quiet(f);

	up("worker2", "192.0.2.12");
	j = flush(f);
	assert_non_null(member(j, "agents", "worker2"));
	set_ok("worker2", "ready", NULL);
	j = flush(f);
	assert_string_equal(state_in(j, "enrollment", "worker2"), "ready");
	quiet(f);
	assert_int_equal(S.count, 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_worker_joins, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_unusable_address_left_out, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_master_agents_only_with_gateway, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_states, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_set_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_remove_then_ready, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_edit_survives_reconnect,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_edit_survives_restart,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_leave_after, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_restart_then_leave, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_leave_keeps_edit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_left_survives_restart,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_back_survives_restart,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_reports_and_serving,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_changes_send_snapshots,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
