/*
 * test_pools_balancers: what the balancers' pools (master/pools.c) take
 * from and give to balancers: their reports and pools_serving; that every
 * change sends a snapshot showing it, one balancers accept (lbpool_parse),
 * and that what changes no pool sends none.  The fakes at the seam and the
 * loop are helpers/pools_kit's.
 */
#include <sys/types.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "master/pools.h"

#include "helpers/pools_kit.h"

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

/* Balancer lb reports servers (report()'s) in its agents' pool. */
static void
send_report(const char *lb, const char *servers)
{
	cJSON	*r = report(servers);

	pools_report(lb, r);
	cJSON_Delete(r);
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
	struct pk_fx	*f = *state;
	const cJSON	*b;
	cJSON		*r, *l;

	pk_up("worker1", "192.0.2.11");
	pk_flush(f);
	assert_true(pools_serving("worker1"));
	assert_true(pools_serving("anyone"));

	r = report(SERVER("worker1", "UP", "100") ","
	    SERVER("worker2", "UP", "0") ","
	    SERVER("worker3", "DOWN", "100") ","
	    SERVER("worker4", "UP 1/3", "50") ","
	    SERVER("worker6", "MAINT", "100"));
	pools_report("lb1", r);
	cJSON_Delete(r);			/* pools keeps its own copy */
	pk_quiet(f);
	assert_true(pools_serving("worker1"));
	assert_false(pools_serving("worker2"));	/* drained: weight 0 */
	assert_false(pools_serving("worker3"));
	assert_true(pools_serving("worker4"));	/* UP, going down */
	assert_false(pools_serving("worker5"));	/* enrollment only */
	assert_false(pools_serving("worker6"));
	assert_false(pools_serving("anyone"));

	l = pk_listing();
	assert_non_null(b = pk_listed(l, "balancers", "lb1"));
	assert_true(pk_flag(b, "connected"));
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
	send_report("lb1", SERVER("worker2", "UP", "100"));
	assert_false(pools_serving("worker1"));
	assert_true(pools_serving("worker2"));

	/* Another balancer: serving on either is serving. */
	send_report("lb2", SERVER("worker3", "UP", "10"));
	assert_true(pools_serving("worker2"));
	assert_true(pools_serving("worker3"));
	assert_false(pools_serving("worker1"));

	/* A balancer gone: its report no longer counts, but is listed. */
	pools_balancer_down("lb2");
	assert_false(pools_serving("worker3"));
	assert_true(pools_serving("worker2"));
	l = pk_listing();
	assert_non_null(b = pk_listed(l, "balancers", "lb2"));
	assert_false(pk_flag(b, "connected"));
	assert_true(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(b,
	    "haproxy")));
	cJSON_Delete(l);

	/* None connected: as with no balancer, every node serves. */
	pools_balancer_down("lb1");
	assert_true(pools_serving("worker1"));
	assert_true(pools_serving("anyone"));

	/* Reporting again reconnects it. */
	send_report("lb2", SERVER("worker3", "UP", "10"));
	assert_true(pools_serving("worker3"));
	assert_false(pools_serving("worker1"));

	/* A report without an agents' pool: nothing serves there. */
	assert_non_null(r = cJSON_Parse("{\"status\":\"HAProxy: down\"}"));
	pools_report("lb2", r);
	cJSON_Delete(r);
	assert_false(pools_serving("worker3"));
	pk_quiet(f);

	/* A balancer down before any report: listed, nothing reported. */
	pools_balancer_down("lb3");
	l = pk_listing();
	assert_non_null(b = pk_listed(l, "balancers", "lb3"));
	assert_false(pk_flag(b, "connected"));
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(b,
	    "haproxy")));
	cJSON_Delete(l);

	/* Reports go with a restart (kept in memory only). */
	pk_restart(f);
	l = pk_listing();
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
	struct pk_fx	*f = *state;
	const cJSON	*j;
	cJSON		*r;

	pk_quiet(f);
	assert_null(pk_sent.last);

	pk_up("worker1", "192.0.2.11");
	pk_up("worker2", "192.0.2.12");
	pk_set_ok("worker1", "drain", NULL);
	pk_set_ok("worker2", "remove", "enrollment");
	j = pk_flush(f);
	assert_int_equal(pk_sent.count, 1);
	assert_string_equal(pk_state_in(j, "agents", "worker1"), "drain");
	assert_string_equal(pk_state_in(j, "enrollment", "worker1"), "drain");
	assert_string_equal(pk_state_in(j, "agents", "worker2"), "ready");
	assert_null(pk_member(j, "enrollment", "worker2"));
	pk_quiet(f);

	pools_node_down("worker2");
	pk_quiet(f);
	assert_non_null(r = cJSON_Parse("{\"pools\":{\"agents\":[]}}"));
	pools_report("lb1", r);
	cJSON_Delete(r);
	pools_balancer_down("lb1");
	pk_quiet(f);

	pk_up("worker2", "192.0.2.12");
	j = pk_flush(f);
	assert_non_null(pk_member(j, "agents", "worker2"));
	pk_set_ok("worker2", "ready", NULL);
	j = pk_flush(f);
	assert_string_equal(pk_state_in(j, "enrollment", "worker2"), "ready");
	pk_quiet(f);
	assert_int_equal(pk_sent.count, 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reports_and_serving,
		    pk_setup, pk_teardown),
		cmocka_unit_test_setup_teardown(test_changes_send_snapshots,
		    pk_setup, pk_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
