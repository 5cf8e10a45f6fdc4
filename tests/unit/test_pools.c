/*
 * test_pools: the master's view of the balancers' pools (master/pools.c):
 * membership from hellos and the addresses balancers can use; the
 * operators' edits (pool_set: the states and pools accepted, the
 * refusals).  test_pools_persist has what outlives a node leaving and a
 * master restart, and the leave timer; test_pools_balancers the
 * balancers' reports and the snapshots sent.  The fakes at the seam and
 * the loop are helpers/pools_kit's.
 */
#include <sys/types.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "master/pools.h"
#include "net/hello.h"

#include "helpers/pools_kit.h"

/* ---- membership ---- */

/* A worker joins both pools at the address balancers reach it on. */
static void
test_worker_joins(void **state)
{
	struct pk_fx	*f = *state;
	const cJSON	*j, *o;
	cJSON		*l, *s;
	struct hello	 h;

	s = pools_snapshot();
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
	    s, "agents")), 0);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
	    s, "enrollment")), 0);
	cJSON_Delete(s);

	pk_up("worker1", "192.0.2.11");
	j = pk_flush(f);
	assert_non_null(o = pk_member(j, "agents", "worker1"));
	assert_string_equal(pk_str(o, "address"), "192.0.2.11");
	assert_int_equal(pk_num(o, "port"), 1514);
	assert_int_equal(pk_num(o, "check_port"), 1517);
	assert_string_equal(pk_str(o, "state"), "ready");
	assert_non_null(o = pk_member(j, "enrollment", "worker1"));
	assert_string_equal(pk_str(o, "address"), "192.0.2.11");
	assert_int_equal(pk_num(o, "port"), 1515);
	assert_null(cJSON_GetObjectItemCaseSensitive(o, "check_port"));
	assert_string_equal(pk_str(o, "state"), "ready");
	assert_true(pk_file_has(f->logpath, "worker1 joins the pools"));

	/* A listening address of its own is kept; "::" is the peer's. */
	pk_hello_of(&h, "worker2", "198.51.100.2", 11514, "::", 11515, 0);
	pools_node_up(&h, "worker", "2001:db8::12");
	j = pk_flush(f);
	assert_non_null(o = pk_member(j, "agents", "worker2"));
	assert_string_equal(pk_str(o, "address"), "198.51.100.2");
	assert_int_equal(pk_num(o, "port"), 11514);
	assert_null(cJSON_GetObjectItemCaseSensitive(o, "check_port"));
	assert_non_null(o = pk_member(j, "enrollment", "worker2"));
	assert_string_equal(pk_str(o, "address"), "2001:db8::12");

	/* Not serving enrollment: in the agents' pool only. */
	pk_hello_of(&h, "worker3", "", 1514, "", 0, 0);
	pools_node_up(&h, "worker", "192.0.2.13");
	j = pk_flush(f);
	assert_non_null(pk_member(j, "agents", "worker3"));
	assert_null(pk_member(j, "enrollment", "worker3"));

	l = pk_listing();
	assert_non_null(o = pk_listed(l, "members", "worker1"));
	assert_string_equal(pk_str(o, "type"), "worker");
	assert_int_equal(pk_num(o, "check_port"), 1517);
	assert_true(pk_flag(o, "connected"));
	assert_true(pk_flag(cJSON_GetObjectItemCaseSensitive(o, "agents"),
	    "in_pool"));
	assert_non_null(o = pk_listed(l, "members", "worker3"));
	assert_false(pk_flag(cJSON_GetObjectItemCaseSensitive(o, "enrollment"),
	    "in_pool"));
	cJSON_Delete(l);

	/* Saved: membership is in var/pools.json at once. */
	assert_non_null(s = pk_saved(f, "worker1"));
	assert_string_equal(pk_str(cJSON_GetObjectItemCaseSensitive(s,
	    "agents"), "address"), "192.0.2.11");
	cJSON_Delete(s);
	assert_non_null(s = pk_saved(f, "worker3"));
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
	struct pk_fx	*f = *state;
	const cJSON	*j;
	struct hello	 h;

	pk_up("worker1", "192.0.2.11");
	pk_hello_of(&h, "worker2", "bad addr", 1514, "0.0.0.0", 1515, 1517);
	pools_node_up(&h, "worker", "192.0.2.12");
	pk_hello_of(&h, "worker3", "0.0.0.0", 1514, "fe80::1%eth0", 1515, 0);
	pools_node_up(&h, "worker", "192.0.2.13");
	pk_hello_of(&h, "worker4", "0.0.0.0", 1514, "0.0.0.0", 1515, 0);
	pools_node_up(&h, "worker", "x;del server");
	j = pk_flush(f);
	assert_non_null(pk_member(j, "agents", "worker1"));
	assert_null(pk_member(j, "agents", "worker2"));
	assert_non_null(pk_member(j, "enrollment", "worker2"));
	assert_non_null(pk_member(j, "agents", "worker3"));
	assert_null(pk_member(j, "enrollment", "worker3"));
	assert_null(pk_member(j, "agents", "worker4"));
	assert_null(pk_member(j, "enrollment", "worker4"));
	assert_true(pk_file_has(f->logpath, "worker2 serves agents on \"bad "
	    "addr\", which the balancers cannot use"));
	assert_true(pk_file_has(f->logpath, "worker3 serves enrollment on "
	    "\"fe80::1%eth0\""));
	assert_true(pk_is_listed("worker2"));

	pk_hello_of(&h, "worker2", "192.0.2.22", 1514, "0.0.0.0", 1515, 1517);
	pools_node_up(&h, "worker", "192.0.2.12");
	j = pk_flush(f);
	assert_string_equal(pk_str(pk_member(j, "agents", "worker2"),
	    "address"), "192.0.2.22");
}

/*
 * The master, from its own hello: always in the enrollment pool, in the
 * agents' pool only with gateway yes; in none while its address is not
 * known (it listens on every address, no cluster connection yet).
 */
static void
test_master_agents_only_with_gateway(void **state)
{
	struct pk_fx	*f = *state;
	const cJSON	*j, *o;
	cJSON		*l;

	/* gateway unset: a master takes no agents. */
	assert_int_equal(f->node.cfg.gateway, -1);
	pk_master_up(f, "192.0.2.10");
	j = pk_flush(f);
	assert_null(pk_member(j, "agents", "master1"));
	assert_non_null(o = pk_member(j, "enrollment", "master1"));
	assert_string_equal(pk_str(o, "address"), "192.0.2.10");
	assert_int_equal(pk_num(o, "port"), 1515);

	f->node.cfg.gateway = 0;
	pk_master_up(f, "192.0.2.10");
	j = pk_flush(f);
	assert_null(pk_member(j, "agents", "master1"));
	assert_non_null(pk_member(j, "enrollment", "master1"));

	f->node.cfg.gateway = 1;
	pk_master_up(f, "192.0.2.10");
	j = pk_flush(f);
	assert_non_null(o = pk_member(j, "agents", "master1"));
	assert_string_equal(pk_str(o, "address"), "192.0.2.10");
	assert_int_equal(pk_num(o, "port"), 1514);
	assert_non_null(pk_member(j, "enrollment", "master1"));

	f->node.cfg.gateway = 0;
	pk_master_up(f, "192.0.2.10");
	j = pk_flush(f);
	assert_null(pk_member(j, "agents", "master1"));

	/* Its address not known yet: listed, in no pool. */
	f->node.cfg.gateway = 1;
	pk_master_up(f, "");
	j = pk_flush(f);
	assert_null(pk_member(j, "agents", "master1"));
	assert_null(pk_member(j, "enrollment", "master1"));
	l = pk_listing();
	assert_non_null(o = pk_listed(l, "members", "master1"));
	assert_string_equal(pk_str(o, "type"), "master");
	cJSON_Delete(l);
	pk_master_up(f, "192.0.2.10");
	j = pk_flush(f);
	assert_non_null(pk_member(j, "agents", "master1"));
	assert_non_null(pk_member(j, "enrollment", "master1"));
}

/* ---- edits ---- */

/* ready, drain and maint, in both pools or in one; each one is sent. */
static void
test_set_states(void **state)
{
	struct pk_fx		*f = *state;
	static const char *const st[] = { "drain", "maint", "ready" };
	const cJSON		*j;
	cJSON			*l, *s;
	size_t			 i;

	pk_up("worker1", "192.0.2.11");
	pk_up("worker2", "192.0.2.12");
	pk_flush(f);
	for (i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
		pk_set_ok("worker1", st[i], NULL);
		j = pk_flush(f);
		assert_string_equal(pk_state_in(j, "agents", "worker1"), st[i]);
		assert_string_equal(pk_state_in(j, "enrollment", "worker1"),
		    st[i]);
		assert_string_equal(pk_state_in(j, "agents", "worker2"),
		    "ready");
	}
	assert_true(pk_file_has(f->logpath, "Pool edit: worker1 set to drain "
	    "in both pools."));

	pk_set_ok("worker1", "drain", "agents");
	j = pk_flush(f);
	assert_string_equal(pk_state_in(j, "agents", "worker1"), "drain");
	assert_string_equal(pk_state_in(j, "enrollment", "worker1"), "ready");
	pk_set_ok("worker1", "maint", "enrollment");
	j = pk_flush(f);
	assert_string_equal(pk_state_in(j, "agents", "worker1"), "drain");
	assert_string_equal(pk_state_in(j, "enrollment", "worker1"), "maint");
	assert_true(pk_file_has(f->logpath, "Pool edit: worker1 set to maint "
	    "in enrollment."));

	l = pk_listing();
	assert_string_equal(pk_str(cJSON_GetObjectItemCaseSensitive(pk_listed(l,
	    "members", "worker1"), "agents"), "state"), "drain");
	assert_string_equal(pk_str(cJSON_GetObjectItemCaseSensitive(pk_listed(l,
	    "members", "worker1"), "enrollment"), "state"), "maint");
	cJSON_Delete(l);
	assert_non_null(s = pk_saved(f, "worker1"));
	assert_string_equal(pk_str(cJSON_GetObjectItemCaseSensitive(s,
	    "agents"), "state"), "drain");
	assert_string_equal(pk_str(cJSON_GetObjectItemCaseSensitive(s,
	    "enrollment"), "state"), "maint");
	cJSON_Delete(s);

	/* Setting what is already set is answered ok, and sent again. */
	pk_set_ok("worker1", "drain", "agents");
	j = pk_flush(f);
	assert_string_equal(pk_state_in(j, "agents", "worker1"), "drain");
}

/* What pool_set refuses, with its answer; a refusal changes nothing. */
static void
test_set_refused(void **state)
{
	struct pk_fx	*f = *state;
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

	pk_up("worker1", "192.0.2.11");
	pk_flush(f);
	pk_set_ok("worker1", "maint", "enrollment");
	pk_flush(f);
	assert_non_null(before = pk_slurp(f->pools_json));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		resp = pk_command(bad[i].req);
		assert_int_equal(pk_num(resp, "error"), 1);
		assert_string_equal(pk_str(resp, "message"), bad[i].message);
		cJSON_Delete(resp);
	}
	pk_quiet(f);
	assert_true(pk_now_state_is("agents", "worker1", "ready"));
	assert_true(pk_now_state_is("enrollment", "worker1", "maint"));
	assert_non_null(after = pk_slurp(f->pools_json));
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
	struct pk_fx	*f = *state;
	const cJSON	*j, *o;
	cJSON		*l;

	pk_up("worker1", "192.0.2.11");
	pk_up("worker2", "192.0.2.12");
	pk_flush(f);

	pk_set_ok("worker1", "remove", "agents");
	j = pk_flush(f);
	assert_null(pk_member(j, "agents", "worker1"));
	assert_string_equal(pk_state_in(j, "enrollment", "worker1"), "ready");
	assert_non_null(pk_member(j, "agents", "worker2"));
	l = pk_listing();
	o = cJSON_GetObjectItemCaseSensitive(pk_listed(l, "members", "worker1"),
	    "agents");
	assert_string_equal(pk_str(o, "state"), "removed");
	assert_false(pk_flag(o, "in_pool"));
	cJSON_Delete(l);
	assert_true(pk_file_has(f->logpath, "Pool edit: worker1 set to removed "
	    "in agents."));

	pk_set_ok("worker1", "ready", "agents");
	j = pk_flush(f);
	assert_string_equal(pk_state_in(j, "agents", "worker1"), "ready");
	assert_string_equal(pk_str(pk_member(j, "agents", "worker1"),
	    "address"), "192.0.2.11");

	pk_set_ok("worker1", "remove", NULL);
	j = pk_flush(f);
	assert_null(pk_member(j, "agents", "worker1"));
	assert_null(pk_member(j, "enrollment", "worker1"));
	assert_true(pk_is_listed("worker1"));

	/* Reconnecting does not undo a removal. */
	pools_node_down("worker1");
	pk_up("worker1", "192.0.2.11");
	j = pk_flush(f);
	assert_null(pk_member(j, "agents", "worker1"));
	assert_null(pk_member(j, "enrollment", "worker1"));

	/* A drain of a removed node keeps it in the pool, drained. */
	pk_set_ok("worker1", "drain", "enrollment");
	j = pk_flush(f);
	assert_null(pk_member(j, "agents", "worker1"));
	assert_string_equal(pk_state_in(j, "enrollment", "worker1"), "drain");

	pk_set_ok("worker1", "ready", NULL);
	j = pk_flush(f);
	assert_string_equal(pk_state_in(j, "agents", "worker1"), "ready");
	assert_string_equal(pk_state_in(j, "enrollment", "worker1"), "ready");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_worker_joins, pk_setup,
		    pk_teardown),
		cmocka_unit_test_setup_teardown(test_unusable_address_left_out,
		    pk_setup, pk_teardown),
		cmocka_unit_test_setup_teardown(
		    test_master_agents_only_with_gateway, pk_setup,
		    pk_teardown),
		cmocka_unit_test_setup_teardown(test_set_states, pk_setup,
		    pk_teardown),
		cmocka_unit_test_setup_teardown(test_set_refused, pk_setup,
		    pk_teardown),
		cmocka_unit_test_setup_teardown(test_remove_then_ready,
		    pk_setup, pk_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
