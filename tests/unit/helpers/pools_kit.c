/*
 * pools_kit: the pools' fakes, the loop, snapshots, the "pools" listing,
 * pool_set and var/pools.json read back; see pools_kit.h.
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

#include "fixture.h"
#include "pools_kit.h"

#define KEY		"85482860b191589c071454938c1bd2e1"
#define GUARD_SECONDS	3.0	/* the longest any wait may take */
#define QUIET_SECONDS	0.05	/* five push delays: nothing sent */

/* Filled by pk_record; emptied by pk_setup and pk_teardown. */
struct pk_snapshots pk_sent;

void
pk_record(const cJSON *j)
{
	cJSON_Delete(pk_sent.last);
	pk_sent.last = cJSON_Duplicate(j, 1);
	pk_sent.count++;
}

int
pk_setup(void **state)
{
	struct pk_fx	*f;
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
	memset(&pk_sent, 0, sizeof(pk_sent));
	if (pools_start(&f->node, pk_record) == -1)
		return -1;
	*state = f;
	return 0;
}

int
pk_teardown(void **state)
{
	struct pk_fx	*f = *state;

	pools_stop();
	ev_loop_destroy(f->node.loop);
	log_close();
	fx_rmtree(f->home);
	cJSON_Delete(pk_sent.last);
	memset(&pk_sent, 0, sizeof(pk_sent));
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
void
pk_run(struct pk_fx *f, double secs, int until)
{
	ev_timer	guard;
	int		fired = 0;

	ev_timer_init(&guard, guard_cb, secs, 0);
	guard.data = &fired;
	ev_timer_start(f->node.loop, &guard);
	while (!fired && (until == 0 || pk_sent.count < until))
		ev_run(f->node.loop, EVRUN_ONCE);
	ev_timer_stop(f->node.loop, &guard);
}

/* One pool of a snapshot is a list balancers accept. */
void
pk_check_pool(const cJSON *j, const char *pool)
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
const cJSON *
pk_flush(struct pk_fx *f)
{
	cJSON	*now;
	int	 n = pk_sent.count;

	pk_run(f, GUARD_SECONDS, n + 1);
	if (pk_sent.count != n + 1)
		fail_msg("no snapshot sent within %gs", GUARD_SECONDS);
	assert_non_null(pk_sent.last);
	now = pools_snapshot();
	assert_true(cJSON_Compare(now, pk_sent.last, 1));
	cJSON_Delete(now);
	pk_check_pool(pk_sent.last, "agents");
	pk_check_pool(pk_sent.last, "enrollment");
	return pk_sent.last;
}

/* Nothing is sent meanwhile. */
void
pk_quiet(struct pk_fx *f)
{
	int	n = pk_sent.count;

	pk_run(f, QUIET_SECONDS, 0);
	assert_int_equal(pk_sent.count, n);
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
const cJSON *
pk_member(const cJSON *j, const char *pool, const char *name)
{
	return named(cJSON_GetObjectItemCaseSensitive(j, pool), name);
}

const char *
pk_str(const cJSON *o, const char *key)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsString(v))
		fail_msg("no string \"%s\"", key);
	return v->valuestring;
}

double
pk_num(const cJSON *o, const char *key)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(v))
		fail_msg("no number \"%s\"", key);
	return v->valuedouble;
}

int
pk_flag(const cJSON *o, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* name's state in pool of snapshot j; NULL when it is not in that pool. */
const char *
pk_state_in(const cJSON *j, const char *pool, const char *name)
{
	const cJSON	*o = pk_member(j, pool, name);

	return o == NULL ? NULL : pk_str(o, "state");
}

/* The same, of the snapshot pools_snapshot gives now. */
int
pk_now_state_is(const char *pool, const char *name, const char *state)
{
	cJSON	*j = pools_snapshot();
	const char *s = pk_state_in(j, pool, name);
	int	 ok;

	ok = state == NULL ? s == NULL : s != NULL && strcmp(s, state) == 0;
	cJSON_Delete(j);
	return ok;
}

/* pools_command of text: it is one of its commands; the answer. */
cJSON *
pk_command(const char *text)
{
	cJSON	*req, *resp = NULL;

	assert_non_null(req = cJSON_Parse(text));
	assert_int_equal(pools_command(req, &resp), 1);
	cJSON_Delete(req);
	assert_non_null(resp);
	return resp;
}

/* The "pools" listing (members and balancers), to be freed. */
cJSON *
pk_listing(void)
{
	cJSON	*resp = pk_command("{\"command\":\"pools\"}");

	assert_int_equal(pk_num(resp, "error"), 0);
	return resp;
}

const cJSON *
pk_listed(const cJSON *resp, const char *what, const char *name)
{
	return named(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(resp, "data"), what), name);
}

int
pk_is_listed(const char *name)
{
	cJSON	*l = pk_listing();
	int	 r = pk_listed(l, "members", name) != NULL;

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

void
pk_set_ok(const char *node, const char *state, const char *pool)
{
	cJSON	*resp = pool_set(node, state, pool);

	if (pk_num(resp, "error") != 0)
		fail_msg("pool_set %s %s refused: %s", node, state,
		    pk_str(resp, "message"));
	assert_true(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(resp,
	    "data")));
	cJSON_Delete(resp);
}

/* ---- files ---- */

char *
pk_slurp(const char *path)
{
	char	*s;
	size_t	 len;

	if (node_read_file(path, 1u << 20, &s, &len) == -1)
		return NULL;
	return s;
}

int
pk_file_has(const char *path, const char *needle)
{
	char	*s = pk_slurp(path);
	int	 r = s != NULL && strstr(s, needle) != NULL;

	free(s);
	return r;
}

/* The member name as saved in var/pools.json, to be freed; NULL if absent. */
cJSON *
pk_saved(const struct pk_fx *f, const char *name)
{
	const cJSON	*c;
	char		*s;
	cJSON		*j, *o;

	assert_non_null(s = pk_slurp(f->pools_json));
	assert_non_null(j = cJSON_Parse(s));
	free(s);
	c = named(cJSON_GetObjectItemCaseSensitive(j, "members"), name);
	o = c != NULL ? cJSON_Duplicate(c, 1) : NULL;
	cJSON_Delete(j);
	return o;
}

void
pk_restart(struct pk_fx *f)
{
	pools_stop();
	assert_int_equal(pools_start(&f->node, pk_record), 0);
}

/* ---- hellos ---- */

/* A worker's hello: what it serves, port 0 for not served. */
void
pk_hello_of(struct hello *h, const char *name, const char *gw, unsigned gwport,
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
void
pk_up(const char *name, const char *peer)
{
	struct hello	h;

	pk_hello_of(&h, name, "0.0.0.0", 1514, "0.0.0.0", 1515, 1517);
	pools_node_up(&h, "worker", peer);
}

/* The master as master.c puts itself in: its own hello. */
void
pk_master_up(const struct pk_fx *f, const char *address)
{
	struct hello	 h;
	cJSON		*j;
	char		 err[64];

	assert_non_null(j = hello_build(&f->node.cfg, "0.1.0"));
	assert_int_equal(hello_parse(j, &h, err, sizeof(err)), 0);
	cJSON_Delete(j);
	pools_node_up(&h, "master", address);
}
