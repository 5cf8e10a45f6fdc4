/*
 * test_pools_persist: what the balancers' pools (master/pools.c) keep:
 * the operators' edits across a node leaving and coming back and across
 * a restart (pools_stop, pools_start on the same home, var/pools.json,
 * damaged too); the leave timer, and edits kept across it.  The fakes at
 * the seam and the loop are helpers/pools_kit's.
 */
#include <sys/types.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "base/node.h"
#include "master/pools.h"
#include "net/hello.h"

#include "helpers/pools_kit.h"

#define LEAVE_SHORT	0.2	/* pool_leave_after in the leave tests */

/* ---- edits kept ---- */

/*
 * An edit outlives the node leaving and coming back, at another address
 * too: the address follows the new hello, the state stays.
 */
static void
test_edit_survives_reconnect(void **state)
{
	struct pk_fx	*f = *state;
	const cJSON	*j;
	cJSON		*l;

	pk_up("worker1", "192.0.2.11");
	pk_flush(f);
	pk_set_ok("worker1", "drain", "agents");
	pk_set_ok("worker1", "maint", "enrollment");
	j = pk_flush(f);
	assert_string_equal(pk_state_in(j, "agents", "worker1"), "drain");

	/* Gone a moment: still in the pools, edits and all, nothing sent. */
	pools_node_down("worker1");
	assert_true(pk_now_state_is("agents", "worker1", "drain"));
	assert_true(pk_now_state_is("enrollment", "worker1", "maint"));
	l = pk_listing();
	assert_false(pk_flag(pk_listed(l, "members", "worker1"), "connected"));
	cJSON_Delete(l);
	pk_quiet(f);

	pk_up("worker1", "192.0.2.99");
	j = pk_flush(f);
	assert_string_equal(pk_state_in(j, "agents", "worker1"), "drain");
	assert_string_equal(pk_state_in(j, "enrollment", "worker1"), "maint");
	assert_string_equal(pk_str(pk_member(j, "agents", "worker1"),
	    "address"), "192.0.2.99");
	l = pk_listing();
	assert_true(pk_flag(pk_listed(l, "members", "worker1"), "connected"));
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
	struct pk_fx	*f = *state;
	const cJSON	*j, *o;
	cJSON		*l, *snap;
	struct hello	 h;

	pk_up("worker1", "192.0.2.11");
	pk_up("worker2", "192.0.2.12");
	pk_hello_of(&h, "worker3", "198.51.100.3", 1514, "", 0, 0);
	pools_node_up(&h, "worker", "192.0.2.13");
	pk_set_ok("worker1", "drain", NULL);
	pk_set_ok("worker2", "remove", "agents");
	pk_set_ok("worker2", "maint", "enrollment");
	pk_flush(f);
	assert_true(pk_file_has(f->pools_json, "\"drain\""));

	pk_restart(f);
	snap = pools_snapshot();
	pk_check_pool(snap, "agents");
	pk_check_pool(snap, "enrollment");
	assert_string_equal(pk_state_in(snap, "agents", "worker1"), "drain");
	assert_string_equal(pk_state_in(snap, "enrollment", "worker1"),
	    "drain");
	assert_string_equal(pk_str(pk_member(snap, "agents", "worker1"),
	    "address"), "192.0.2.11");
	assert_int_equal(pk_num(pk_member(snap, "agents", "worker1"),
	    "check_port"), 1517);
	assert_null(pk_member(snap, "agents", "worker2"));
	assert_string_equal(pk_state_in(snap, "enrollment", "worker2"),
	    "maint");
	assert_string_equal(pk_str(pk_member(snap, "agents", "worker3"),
	    "address"), "198.51.100.3");
	assert_null(cJSON_GetObjectItemCaseSensitive(pk_member(snap, "agents",
	    "worker3"), "check_port"));
	assert_null(pk_member(snap, "enrollment", "worker3"));
	cJSON_Delete(snap);
	assert_true(pk_file_has(f->logpath, "Loaded 3 pool member(s)"));
	l = pk_listing();
	o = pk_listed(l, "members", "worker2");
	assert_non_null(o);
	assert_false(pk_flag(o, "connected"));
	assert_string_equal(pk_str(o, "type"), "worker");
	assert_string_equal(pk_str(cJSON_GetObjectItemCaseSensitive(o,
	    "agents"), "state"), "removed");
	cJSON_Delete(l);

	/* Reconnecting after the restart keeps the edits. */
	pk_up("worker1", "192.0.2.11");
	pk_up("worker2", "192.0.2.12");
	j = pk_flush(f);
	assert_string_equal(pk_state_in(j, "agents", "worker1"), "drain");
	assert_null(pk_member(j, "agents", "worker2"));
	assert_string_equal(pk_state_in(j, "enrollment", "worker2"), "maint");

	/* And a second restart still has them. */
	pk_restart(f);
	assert_true(pk_now_state_is("agents", "worker1", "drain"));
	assert_true(pk_now_state_is("agents", "worker2", NULL));
	assert_true(pk_now_state_is("enrollment", "worker2", "maint"));
}

/*
 * A damaged var/pools.json is not fatal: not JSON, the pools start empty;
 * damaged members are left out, a bad state read as ready, a bad address
 * or port keeps the member out of that pool only.
 */
static void
test_damaged_file(void **state)
{
	struct pk_fx	*f = *state;
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
	assert_int_equal(pools_start(&f->node, pk_record), 0);
	assert_true(pk_file_has(f->logpath, "is not valid JSON"));
	snap = pools_snapshot();
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
	    snap, "agents")), 0);
	cJSON_Delete(snap);
	pk_up("worker1", "192.0.2.11");
	pk_flush(f);
	assert_non_null(o = pk_saved(f, "worker1"));
	cJSON_Delete(o);

	pools_stop();
	assert_int_equal(node_write_file(f->pools_json, damaged,
	    strlen(damaged), 0640), 0);
	assert_int_equal(pools_start(&f->node, pk_record), 0);
	snap = pools_snapshot();
	pk_check_pool(snap, "agents");
	pk_check_pool(snap, "enrollment");
	assert_string_equal(pk_state_in(snap, "agents", "worker1"), "ready");
	assert_string_equal(pk_str(pk_member(snap, "agents", "worker1"),
	    "address"), "192.0.2.11");
	assert_null(pk_member(snap, "enrollment", "worker1"));
	assert_null(pk_member(snap, "agents", "bad name!"));
	assert_null(pk_member(snap, "agents", "worker4"));
	assert_string_equal(pk_state_in(snap, "enrollment", "worker4"),
	    "ready");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
	    snap, "agents")), 1);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
	    snap, "enrollment")), 1);
	cJSON_Delete(snap);
	l = pk_listing();
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
	struct pk_fx	*f = *state;
	const cJSON	*j;
	cJSON		*s;

	f->node.cfg.pool_leave_after = LEAVE_SHORT;
	pk_up("worker1", "192.0.2.11");
	pk_up("worker2", "192.0.2.12");
	pk_flush(f);

	pools_node_down("worker1");
	pools_node_down("worker1");		/* a second time: no change */
	pools_node_down("worker9");		/* unknown: ignored */
	assert_true(pk_now_state_is("agents", "worker1", "ready"));
	assert_true(pk_file_has(f->logpath, "worker1 is gone"));
	j = pk_flush(f);
	assert_null(pk_member(j, "agents", "worker1"));
	assert_null(pk_member(j, "enrollment", "worker1"));
	assert_non_null(pk_member(j, "agents", "worker2"));
	assert_false(pk_is_listed("worker1"));
	assert_null(s = pk_saved(f, "worker1"));
	assert_non_null(s = pk_saved(f, "worker2"));
	cJSON_Delete(s);
	assert_true(pk_file_has(f->logpath, "worker1 has been gone"));

	/* Back before pool_leave_after: it stays. */
	f->node.cfg.pool_leave_after = 60;
	pools_node_down("worker2");
	pk_run(f, 1.2, 0);			/* one leave tick or more */
	assert_true(pk_now_state_is("agents", "worker2", "ready"));
	assert_true(pk_is_listed("worker2"));
	pk_up("worker2", "192.0.2.12");
	j = pk_flush(f);
	assert_string_equal(pk_state_in(j, "agents", "worker2"), "ready");
}

/*
 * A node in var/pools.json counts as gone since the restart: in the pools
 * for pool_leave_after, time to reconnect, then it leaves.
 */
static void
test_restart_then_leave(void **state)
{
	struct pk_fx	*f = *state;
	const cJSON	*j;

	f->node.cfg.pool_leave_after = LEAVE_SHORT;
	pk_up("worker1", "192.0.2.11");
	pk_up("worker2", "192.0.2.12");
	pk_flush(f);
	pk_restart(f);
	assert_true(pk_now_state_is("agents", "worker1", "ready"));
	assert_true(pk_now_state_is("agents", "worker2", "ready"));
	pk_up("worker2", "192.0.2.12");		/* back in time */
	j = pk_flush(f);
	assert_non_null(pk_member(j, "agents", "worker1"));
	j = pk_flush(f);				/* worker1 leaves */
	assert_null(pk_member(j, "agents", "worker1"));
	assert_non_null(pk_member(j, "agents", "worker2"));
	assert_false(pk_is_listed("worker1"));
}

/*
 * A node with an edit on it leaves the pools but stays listed (left), so
 * the edit outlives it and applies when it is back; its entry goes once
 * the edit is set back to ready.
 */
static void
test_leave_keeps_edit(void **state)
{
	struct pk_fx	*f = *state;
	const cJSON	*j, *o;
	cJSON		*l, *s;

	f->node.cfg.pool_leave_after = LEAVE_SHORT;
	pk_up("worker1", "192.0.2.11");
	pk_set_ok("worker1", "drain", "agents");
	pk_flush(f);
	pools_node_down("worker1");
	j = pk_flush(f);
	assert_null(pk_member(j, "agents", "worker1"));
	assert_null(pk_member(j, "enrollment", "worker1"));
	assert_true(pk_file_has(f->logpath, "(its edits are kept)"));
	l = pk_listing();
	assert_non_null(o = pk_listed(l, "members", "worker1"));
	assert_true(pk_flag(o, "left"));
	assert_false(pk_flag(o, "connected"));
	assert_string_equal(pk_str(cJSON_GetObjectItemCaseSensitive(o,
	    "agents"), "state"), "drain");
	assert_false(pk_flag(cJSON_GetObjectItemCaseSensitive(o, "agents"),
	    "in_pool"));
	cJSON_Delete(l);
	assert_non_null(s = pk_saved(f, "worker1"));
	cJSON_Delete(s);

	/* Editing a node that left is allowed, and keeps it out. */
	pk_set_ok("worker1", "maint", "enrollment");
	j = pk_flush(f);
	assert_null(pk_member(j, "enrollment", "worker1"));

	pk_up("worker1", "192.0.2.11");
	j = pk_flush(f);
	assert_string_equal(pk_state_in(j, "agents", "worker1"), "drain");
	assert_string_equal(pk_state_in(j, "enrollment", "worker1"), "maint");
	l = pk_listing();
	assert_false(pk_flag(pk_listed(l, "members", "worker1"), "left"));
	cJSON_Delete(l);

	/* Gone again, then set back to ready: the entry goes. */
	pools_node_down("worker1");
	j = pk_flush(f);
	assert_null(pk_member(j, "agents", "worker1"));
	pk_set_ok("worker1", "ready", NULL);
	j = pk_flush(f);
	assert_null(pk_member(j, "agents", "worker1"));	/* still gone */
	pk_run(f, 1.2, 0);			/* one leave tick or more */
	assert_false(pk_is_listed("worker1"));
	assert_null(pk_saved(f, "worker1"));
}

/*
 * A node with an edit that left the pools stays out of them across a
 * master restart: "left" is saved when it is set.
 */
static void
test_left_survives_restart(void **state)
{
	struct pk_fx	*f = *state;
	cJSON		*l;

	f->node.cfg.pool_leave_after = LEAVE_SHORT;
	pk_up("worker1", "192.0.2.11");
	pk_set_ok("worker1", "drain", NULL);
	pk_flush(f);
	pools_node_down("worker1");
	pk_flush(f);				/* it left */
	assert_true(pk_now_state_is("agents", "worker1", NULL));
	pk_restart(f);
	l = pk_listing();
	assert_true(pk_flag(pk_listed(l, "members", "worker1"), "left"));
	cJSON_Delete(l);
	assert_true(pk_now_state_is("agents", "worker1", NULL));
	assert_true(pk_now_state_is("enrollment", "worker1", NULL));
}

/*
 * The other way round: a node that left, with an edit, and came back is
 * in the pools after a master restart: clearing "left" is saved too.
 */
static void
test_back_survives_restart(void **state)
{
	struct pk_fx	*f = *state;

	f->node.cfg.pool_leave_after = LEAVE_SHORT;
	pk_up("worker1", "192.0.2.11");
	pk_up("worker2", "192.0.2.12");
	pk_set_ok("worker1", "drain", NULL);
	pk_flush(f);
	pools_node_down("worker1");
	pk_flush(f);				/* it left */
	pk_set_ok("worker2", "maint", NULL);	/* saves worker1 "left" */
	pk_flush(f);
	pk_up("worker1", "192.0.2.11");		/* back */
	pk_flush(f);
	assert_true(pk_now_state_is("agents", "worker1", "drain"));
	pk_restart(f);
	assert_true(pk_now_state_is("agents", "worker1", "drain"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_edit_survives_reconnect,
		    pk_setup, pk_teardown),
		cmocka_unit_test_setup_teardown(test_edit_survives_restart,
		    pk_setup, pk_teardown),
		cmocka_unit_test_setup_teardown(test_damaged_file, pk_setup,
		    pk_teardown),
		cmocka_unit_test_setup_teardown(test_leave_after, pk_setup,
		    pk_teardown),
		cmocka_unit_test_setup_teardown(test_restart_then_leave,
		    pk_setup, pk_teardown),
		cmocka_unit_test_setup_teardown(test_leave_keeps_edit, pk_setup,
		    pk_teardown),
		cmocka_unit_test_setup_teardown(test_left_survives_restart,
		    pk_setup, pk_teardown),
		cmocka_unit_test_setup_teardown(test_back_survives_restart,
		    pk_setup, pk_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
