/*
 * test_registry: the master's SQLite agent registry in a temp folder:
 * schema creation and the version guard, every kind of change confirmed
 * through its callback on the loop, what a re-open loads back, and the
 * batching of changes queued while a commit runs.  A standby's copy
 * (registry_follow): every record, then only what changed (records,
 * tombstones, groups), a refused record that changes nothing, and the
 * copy taken over by registry_open without loading it again.
 *
 * The registry keeps one global state and reports on the loop given to
 * registry_open through an ev_async, so every test opens it on the
 * default loop and runs that loop until the callbacks it waits for came,
 * bounded by a guard timer.
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
#include <ev.h>
#include <sqlite3.h>

#include "agent/agents.h"
#include "master/ha_record.h"
#include "master/registry.h"

#include "helpers/fixture.h"

#define GUARD_SECONDS	10.0
#define KEY_A	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define KEY_B	"fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

/* ---- fixture: a temp folder holding the database ---- */

struct fx {
	char	dir[64];
	char	db[128];
};

static int
fx_setup(void **state)
{
	struct fx	*f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	strcpy(f->dir, "/tmp/test_registry.XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->db, sizeof(f->db), "%s/global.db", f->dir);
	*state = f;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fx	*f = *state;

	/* A test that failed midway may have left the registry open. */
	registry_close();
	fx_rmtree(f->dir);
	free(f);
	return 0;
}

/*
 * ---- waiting for callbacks ----
 * Result slots handed to the registry are static: a callback that comes
 * late (after its test gave up) must not write into a dead stack frame.
 */

struct waiter {
	int	want;
	int	got;
	int	ok;
	int	timed_out;
};

static struct waiter	W;

static void
done_cb(void *arg, int ok)
{
	int	*slot = arg;

	if (slot != NULL)
		*slot = ok ? 1 : 0;
	W.got++;
	W.ok += ok ? 1 : 0;
	if (W.got >= W.want)
		ev_break(EV_DEFAULT, EVBREAK_ALL);
}

static void
guard_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)t;
	(void)revents;
	W.timed_out = 1;
	ev_break(loop, EVBREAK_ALL);
}

static void
expect(int n)
{
	memset(&W, 0, sizeof(W));
	W.want = n;
}

/* Run the loop until the n callbacks announced by expect() came. */
static void
wait_all(void)
{
	ev_timer	guard;

	if (W.got < W.want) {
		ev_timer_init(&guard, guard_cb, GUARD_SECONDS, 0);
		ev_now_update(EV_DEFAULT);
		ev_timer_start(EV_DEFAULT, &guard);
		while (W.got < W.want && !W.timed_out)
			ev_run(EV_DEFAULT, 0);
		ev_timer_stop(EV_DEFAULT, &guard);
	}
	if (W.timed_out)
		fail_msg("%d of %d registry callbacks in %gs", W.got, W.want,
		    GUARD_SECONDS);
	assert_int_equal(W.got, W.want);
}

static void
open_ok(struct fx *f, struct agents *t)
{
	char	err[256] = "";

	agents_init(t);
	if (registry_open(EV_DEFAULT, f->db, t, err, sizeof(err)) != 0)
		fail_msg("registry_open %s: %s", f->db, err);
}

/* ---- sample agents ---- */

static struct agent *
sample(long id, const char *name, const char *ip, const char *key,
    const char *groups)
{
	struct agent	*a = agent_new();
	char		 buf[64];

	assert_non_null(a);
	agents_format_id(id, a->id);
	agent_set_name(a, name);
	agent_set_ip(a, ip);
	agent_set_register_ip(a, ip);
	snprintf(buf, sizeof(buf), "192.0.2.%ld", id);
	agent_set_enroll_src(a, buf);
	assert_int_equal(agent_set_key(a, key), 0);
	snprintf(buf, sizeof(buf), "v4.14.%ld", id);
	agent_set_version(a, buf);
	snprintf(buf, sizeof(buf), "worker-%ld", id);
	agent_set_node(a, buf);
	a->date_add = 1700000000 + id;
	assert_int_equal(agent_set_groups(a, groups), 0);
	return a;
}

static void
same_agent(const struct agent *got, const struct agent *want)
{
	assert_non_null(got);
	assert_string_equal(got->id, want->id);
	assert_string_equal(got->name, want->name);
	assert_string_equal(got->ip, want->ip);
	assert_string_equal(AGENT_ADDR_OF(got, AGENT_REGISTER_IP),
	    AGENT_ADDR_OF(want, AGENT_REGISTER_IP));
	assert_string_equal(AGENT_ADDR_OF(got, AGENT_ENROLL_SRC),
	    AGENT_ADDR_OF(want, AGENT_ENROLL_SRC));
	assert_string_equal(AGENT_KEY_OF(got), AGENT_KEY_OF(want));
	assert_string_equal(got->version, want->version);
	assert_string_equal(agent_status(got), agent_status(want));
	assert_string_equal(got->node_name, want->node_name);
	assert_int_equal(got->date_add, want->date_add);
	if (want->groups == NULL)
		assert_null(got->groups);
	else {
		assert_non_null(got->groups);
		assert_string_equal(got->groups, want->groups);
	}
}

/* Integer result of one query on the database file, opened on the side. */
static long long
query_int(const char *db, const char *sql)
{
	sqlite3		*h;
	sqlite3_stmt	*st;
	long long	 v;

	assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

/* ---- tests ---- */

/* A new file gets the current schema version and an empty registry. */
static void
test_open_new_file(void **state)
{
	struct fx	*f = *state;
	struct agents	 t;

	open_ok(f, &t);
	assert_int_equal(agents_count(&t), 0);
	assert_int_equal(t.next_id, 1);
	registry_close();
	assert_int_equal(query_int(f->db, "PRAGMA user_version"),
	    REGISTRY_SCHEMA_VERSION);
	assert_int_equal(REGISTRY_SCHEMA_VERSION, 4);
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM sqlite_master "
	    "WHERE type = 'table' AND name IN ('meta', 'agent', 'group', "
	    "'belongs', 'labels')"), 5);
	assert_int_equal(query_int(f->db, "SELECT value FROM meta WHERE key "
	    "= 'next_id'"), 1);
	agents_free(&t);

	/* Opening it again migrates nothing and still loads nothing. */
	open_ok(f, &t);
	assert_int_equal(agents_count(&t), 0);
	registry_close();
	agents_free(&t);
}

/*
 * A second open in the same process (the registry has one global state)
 * must serve changes like the first, for as long as it is open: one
 * change, confirmed, then another one, confirmed too.
 */
static void
test_reopen_serves_changes(void **state)
{
	struct fx	*f = *state;
	struct agents	 t;
	struct agent	*a, *b;
	static int	 ok;

	open_ok(f, &t);
	ok = -1;
	registry_close();
	agents_free(&t);

	open_ok(f, &t);
	a = sample(1, "web-01", "any", KEY_A, NULL);
	b = sample(2, "web-02", "any", KEY_B, NULL);
	expect(1);
	registry_put_agent(a, 2, done_cb, &ok);
	wait_all();
	assert_int_equal(ok, 1);
	ok = -1;
	expect(1);
	registry_put_agent(b, 3, done_cb, &ok);
	wait_all();
	assert_int_equal(ok, 1);
	registry_close();
	agents_free(&t);
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM agent"), 2);
	agent_free(a);
	agent_free(b);
}

/*
 * Every kind of change is confirmed with ok = 1, and a re-open into a new
 * table loads exactly the result: fields, group order, next_id, and the
 * same digest as the table the changes were made from.
 */
static void
test_changes_survive_reopen(void **state)
{
	struct fx	*f = *state;
	struct agents	 t, mem;
	struct agent	*a, *b, *c;
	static int	 ok[9];
	int		 i;

	open_ok(f, &t);
	agents_init(&mem);
	a = sample(1, "web-01", "10.0.0.1", KEY_A, "a,b");
	b = sample(2, "db-01", "any", KEY_B, NULL);
	agent_set_status(b, "active");
	c = sample(3, "gone-01", "10.0.0.3", KEY_A, "a");
	for (i = 0; i < 9; i++)
		ok[i] = -1;
	expect(9);
	registry_put_agent(a, 2, done_cb, &ok[0]);
	registry_put_agent(b, 3, done_cb, &ok[1]);
	registry_put_agent(c, 4, done_cb, &ok[2]);
	registry_set_groups("002", "zeta,alpha,mid", done_cb, &ok[3]);
	registry_del_agent("003", done_cb, &ok[4]);
	registry_put_group("empty", done_cb, &ok[5]);
	registry_put_group("doomed", done_cb, &ok[6]);
	registry_del_group("doomed", done_cb, &ok[7]);
	/* A group that exists already is not an error. */
	registry_put_group("a", done_cb, &ok[8]);
	wait_all();
	for (i = 0; i < 9; i++)
		if (ok[i] != 1)
			fail_msg("change %d: ok = %d", i, ok[i]);
	registry_close();
	agents_free(&t);

	/* What the master's table holds after the same decisions. */
	assert_int_equal(agent_set_groups(b, "zeta,alpha,mid"), 0);
	assert_int_equal(agents_add(&mem, a), 0);
	assert_int_equal(agents_add(&mem, b), 0);

	open_ok(f, &t);
	assert_int_equal(agents_count(&t), 2);
	assert_int_equal(t.next_id, 4);
	same_agent(agents_by_id(&t, "001"), a);
	same_agent(agents_by_id(&t, "002"), b);
	assert_string_equal(agents_by_id(&t, "001")->groups, "a,b");
	assert_string_equal(agents_by_id(&t, "002")->groups, "zeta,alpha,mid");
	assert_null(agents_by_id(&t, "003"));
	assert_null(agents_by_name(&t, "gone-01"));
	assert_ptr_equal(agents_by_name(&t, "web-01"), agents_by_id(&t, "001"));
	assert_ptr_equal(agents_by_ip(&t, "10.0.0.1"), agents_by_id(&t, "001"));
	assert_null(agents_by_ip(&t, "10.0.0.3"));
	assert_memory_equal(t.digest, mem.digest, 16);
	registry_close();
	agents_free(&t);
	agents_free(&mem);
	agent_free(c);

	assert_int_equal(query_int(f->db, "SELECT count(*) FROM \"group\" "
	    "WHERE name = 'empty'"), 1);
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM \"group\" "
	    "WHERE name = 'doomed'"), 0);
	/* The deleted agent took its memberships with it. */
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM belongs "
	    "WHERE id_agent = 3"), 0);
}

/*
 * next_id only grows: a put carrying a smaller one (a late change) does
 * not move it back.  Deleting a group removes it from its agents.
 */
static void
test_next_id_and_group_delete(void **state)
{
	struct fx	*f = *state;
	struct agents	 t;
	struct agent	*a, *b;

	open_ok(f, &t);
	a = sample(7, "web-07", "any", KEY_A, "web,linux,prod");
	b = sample(3, "web-03", "any", KEY_B, "linux");
	expect(3);
	registry_put_agent(a, 8, done_cb, NULL);
	registry_put_agent(b, 4, done_cb, NULL);
	registry_del_group("linux", done_cb, NULL);
	wait_all();
	assert_int_equal(W.ok, 3);
	registry_close();
	agents_free(&t);

	open_ok(f, &t);
	assert_int_equal(t.next_id, 8);
	assert_string_equal(agents_by_id(&t, "007")->groups, "web,prod");
	assert_null(agents_by_id(&t, "003")->groups);
	registry_close();
	agents_free(&t);
	agent_free(a);
	agent_free(b);
}

/* A change that cannot be stored fails alone, with ok = 0. */
static void
test_failed_change(void **state)
{
	struct fx	*f = *state;
	struct agents	 t;
	struct agent	*a, *b;
	static int	 ok[3];

	ok[0] = ok[1] = ok[2] = -1;
	open_ok(f, &t);
	a = sample(1, "web-01", "any", KEY_A, NULL);
	b = sample(2, "web-02", "any", KEY_B, NULL);
	expect(3);
	registry_put_agent(a, 2, done_cb, &ok[0]);
	/* No agent 099: its memberships break the foreign key. */
	registry_set_groups("099", "web", done_cb, &ok[1]);
	registry_put_agent(b, 3, done_cb, &ok[2]);
	wait_all();
	assert_int_equal(ok[0], 1);
	assert_int_equal(ok[1], 0);
	assert_int_equal(ok[2], 1);
	registry_close();
	agents_free(&t);

	open_ok(f, &t);
	assert_int_equal(agents_count(&t), 2);
	assert_non_null(agents_by_id(&t, "001"));
	assert_non_null(agents_by_id(&t, "002"));
	registry_close();
	agents_free(&t);
	agent_free(a);
	agent_free(b);
}

/*
 * The registry's own connection, caught as it opens: a test limits its
 * size (PRAGMA max_page_count) to stand for a full disk.
 */
static sqlite3	*conn;

static int
catch_conn(sqlite3 *db, char **err, const void *api)
{
	(void)err;
	(void)api;
	conn = db;
	return SQLITE_OK;
}

static void
db_limit(long long pages)
{
	char	sql[64];

	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld;", pages);
	assert_non_null(conn);
	assert_int_equal(sqlite3_exec(conn, sql, NULL, NULL, NULL), SQLITE_OK);
}

static long long
db_pages(void)
{
	sqlite3_stmt	*st;
	long long	 n;

	assert_int_equal(sqlite3_prepare_v2(conn, "PRAGMA page_count", -1, &st,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/*
 * A full disk (SQLITE_FULL, which may cost the whole transaction): every
 * change reported stored is there after a re-open, and no change reported
 * failed is (none committed on its own after the transaction was lost);
 * once there is room again, changes are stored without a re-open.
 */
static void
test_disk_full(void **state)
{
	struct fx	*f = *state;
	struct agents	 t;
	struct agent	*a;
	static int	 ok[201];
	char		 name[32], id[AGENT_ID_MAX], sql[128];
	int		 i, stored = 0;

	sqlite3_auto_extension((void (*)(void))catch_conn);
	open_ok(f, &t);
	sqlite3_cancel_auto_extension((void (*)(void))catch_conn);
	expect(1);
	registry_put_group("warm-up", done_cb, NULL);
	wait_all();
	db_limit(db_pages() + 2);
	/* Agents fill pages; a small group row still fits after a loss. */
	expect(200);
	for (i = 0; i < 100; i++) {
		ok[2 * i] = ok[2 * i + 1] = -1;
		snprintf(name, sizeof(name), "full-%03d", i + 1);
		a = sample(i + 1, name, "any", KEY_A, "web");
		registry_put_agent(a, i + 2, done_cb, &ok[2 * i]);
		agent_free(a);
		snprintf(name, sizeof(name), "g-%03d", i + 1);
		registry_put_group(name, done_cb, &ok[2 * i + 1]);
	}
	wait_all();
	print_message("%d of 200 changes stored before the disk was full\n",
	    W.ok);
	assert_true(W.ok < 200);
	db_limit(1000000);
	expect(1);
	a = sample(101, "after-001", "any", KEY_B, NULL);
	registry_put_agent(a, 102, done_cb, &ok[200]);
	agent_free(a);
	wait_all();
	assert_int_equal(ok[200], 1);
	registry_close();
	agents_free(&t);

	for (i = 0; i < 100; i++) {
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM \"group\" "
		    "WHERE name = 'g-%03d'", i + 1);
		assert_int_equal(query_int(f->db, sql), ok[2 * i + 1]);
	}
	open_ok(f, &t);
	for (i = 0; i < 100; i++) {
		agents_format_id(i + 1, id);
		if (ok[2 * i] == 1) {
			assert_non_null(agents_by_id(&t, id));
			stored++;
		} else
			assert_null(agents_by_id(&t, id));
	}
	assert_non_null(agents_by_name(&t, "after-001"));
	assert_int_equal(agents_count(&t), stored + 1);
	registry_close();
	agents_free(&t);
}

/*
 * A version 1 registry (before enroll_src and group_config_status) is
 * migrated: its agents load, with an empty enrollment source.
 */
static void
test_migrate_from_1(void **state)
{
	struct fx	*f = *state;
	struct agents	 t;
	sqlite3		*h;

	open_ok(f, &t);
	registry_close();
	agents_free(&t);
	assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "ALTER TABLE agent DROP COLUMN "
	    "enroll_src; ALTER TABLE agent DROP COLUMN group_config_status; "
	    "ALTER TABLE agent DROP COLUMN reported_ip; "
	    "ALTER TABLE agent DROP COLUMN source_ip; "
	    "PRAGMA user_version = 1; INSERT INTO agent (id, name, "
	    "ip, register_ip, internal_key, version, date_add) VALUES (7, "
	    "'old-07', 'any', 'any', '" KEY_A "', 'v4.14.7', 1700000000);",
	    NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);

	open_ok(f, &t);
	assert_int_equal(agents_count(&t), 1);
	assert_string_equal(agents_by_id(&t, "007")->name, "old-07");
	assert_string_equal(AGENT_ADDR_OF(agents_by_id(&t, "007"),
	    AGENT_ENROLL_SRC),
	    "");
	assert_string_equal(AGENT_ADDR_OF(agents_by_id(&t, "007"),
	    AGENT_REPORTED_IP),
	    "");
	assert_string_equal(AGENT_ADDR_OF(agents_by_id(&t, "007"),
	    AGENT_SOURCE_IP), "");
	registry_close();
	agents_free(&t);
	assert_int_equal(query_int(f->db, "PRAGMA user_version"),
	    REGISTRY_SCHEMA_VERSION);
	/* 2 -> 3: agents start "not synced", as in Wazuh's schema. */
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM agent WHERE "
	    "group_config_status = 'not synced'"), 1);
}

/*
 * An agent's reported and source addresses: stored with its status,
 * loaded again after a re-open; kept by a later status without them; an
 * address that is not one (edited into the file) loads as unknown.
 */
static void
test_info_addresses(void **state)
{
	struct fx	*f = *state;
	struct agents	 t;
	struct agent	*a;
	sqlite3		*h;

	open_ok(f, &t);
	a = sample(1, "web-01", "any", KEY_A, NULL);
	expect(1);
	registry_put_agent(a, 2, done_cb, NULL);
	wait_all();
	assert_int_equal(agent_set_reported_ip(a, "10.0.2.15"), 0);
	assert_int_equal(agent_set_source_ip(a, "2001:db8::7"), 0);
	agent_set_status(a, "active");
	registry_agent_info(a, NULL);
	registry_close();
	agents_free(&t);

	open_ok(f, &t);
	assert_string_equal(AGENT_ADDR_OF(agents_by_id(&t, "001"),
	    AGENT_REPORTED_IP),
	    "10.0.2.15");
	assert_string_equal(AGENT_ADDR_OF(agents_by_id(&t, "001"),
	    AGENT_SOURCE_IP),
	    "2001:db8::7");
	assert_string_equal(AGENT_ADDR_OF(agents_by_id(&t, "001"),
	    AGENT_REGISTER_IP),
	    "any");
	registry_close();
	agents_free(&t);
	agent_free(a);

	assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "UPDATE agent SET reported_ip = "
	    "'10.0.0.1; DROP', source_ip = 'host.example'", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(h);
	open_ok(f, &t);
	assert_string_equal(AGENT_ADDR_OF(agents_by_id(&t, "001"),
	    AGENT_REPORTED_IP),
	    "");
	assert_string_equal(AGENT_ADDR_OF(agents_by_id(&t, "001"),
	    AGENT_SOURCE_IP), "");
	registry_close();
	agents_free(&t);
}

/* A database from a newer clusterd is refused, and left as it was. */
static void
test_newer_schema_refused(void **state)
{
	struct fx	*f = *state;
	struct agents	 t;
	sqlite3		*h;
	char		 err[256] = "";

	assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "CREATE TABLE future (x); "
	    "PRAGMA user_version = 99;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);

	agents_init(&t);
	assert_int_equal(registry_open(EV_DEFAULT, f->db, &t, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "99"));
	assert_non_null(strstr(err, "newer"));
	assert_int_equal(agents_count(&t), 0);
	agents_free(&t);
	assert_int_equal(query_int(f->db, "PRAGMA user_version"), 99);
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM sqlite_master "
	    "WHERE name = 'agent'"), 0);
}

/*
 * What only an edited registry holds: times outside 32 unsigned bits load
 * clamped; a key that is not 64 hex digits fails the load, naming the
 * agent (enrollment and the store give no other key).
 */
static void
test_odd_rows_at_load(void **state)
{
	struct fx	*f = *state;
	struct agents	 t;
	struct agent	*a;
	sqlite3		*h;
	char		 err[256] = "";

	open_ok(f, &t);
	a = sample(1, "web-01", "any", KEY_A, NULL);
	expect(1);
	registry_put_agent(a, 2, done_cb, NULL);
	wait_all();
	agent_free(a);
	registry_close();
	agents_free(&t);
	assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "UPDATE agent SET date_add = -5, "
	    "last_keepalive = 99999999999, disconnection_time = "
	    "9223372036854775807", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	open_ok(f, &t);
	a = agents_by_id(&t, "001");
	assert_non_null(a);
	assert_int_equal(a->date_add, 0);
	assert_int_equal(a->last_keepalive, UINT32_MAX);
	assert_int_equal(a->disconnection_time, UINT32_MAX);
	assert_string_equal(AGENT_KEY_OF(a), KEY_A);
	registry_close();
	agents_free(&t);

	assert_int_equal(sqlite3_open(f->db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "UPDATE agent SET internal_key = "
	    "'" KEY_A "0'", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	agents_init(&t);
	assert_int_equal(registry_open(EV_DEFAULT, f->db, &t, err,
	    sizeof(err)), -1);
	if (strstr(err, "agent 001 (web-01)") == NULL || strstr(err, "key") ==
	    NULL)
		fail_msg("refusal does not name the agent's key: %s", err);
	assert_int_equal(agents_count(&t), 0);
	agents_free(&t);
}

/* A file that is not a database is refused with SQLite's reason. */
static void
test_not_a_database(void **state)
{
	struct fx	*f = *state;
	struct agents	 t;
	FILE		*fp;
	char		 err[256] = "";
	int		 i;

	fp = fopen(f->db, "w");
	assert_non_null(fp);
	for (i = 0; i < 200; i++)
		fputs("this is not an SQLite database\n", fp);
	fclose(fp);
	agents_init(&t);
	assert_int_equal(registry_open(EV_DEFAULT, f->db, &t, err,
	    sizeof(err)), -1);
	assert_true(err[0] != '\0');
	agents_free(&t);
}

/*
 * 200 changes queued at once: all confirmed, in far fewer transactions
 * than changes, since the thread takes everything queued meanwhile.  A
 * first change, waited for, makes sure the thread is idle when they come.
 */
static void
test_batches(void **state)
{
	struct fx	*f = *state;
	struct agents	 t;
	struct agent	*a;
	unsigned	 before, used;
	char		 name[32];
	int		 i;

	open_ok(f, &t);
	expect(1);
	registry_put_group("warm-up", done_cb, NULL);
	wait_all();
	assert_int_equal(W.ok, 1);
	before = registry_batches();
	expect(200);
	for (i = 1; i <= 200; i++) {
		snprintf(name, sizeof(name), "fleet-%03d", i);
		a = sample(i, name, "any", KEY_A, i % 2 ? "web" : "db,web");
		registry_put_agent(a, i + 1, done_cb, NULL);
		agent_free(a);	/* the registry keeps its own copy */
	}
	wait_all();
	assert_int_equal(W.ok, 200);
	used = registry_batches() - before;
	print_message("200 changes in %u transactions\n", used);
	assert_true(used >= 1);
	assert_true(used < 200);
	registry_close();
	agents_free(&t);

	open_ok(f, &t);
	assert_int_equal(agents_count(&t), 200);
	assert_int_equal(t.next_id, 201);
	assert_string_equal(agents_by_name(&t, "fleet-200")->groups, "db,web");
	assert_string_equal(agents_by_name(&t, "fleet-199")->groups, "web");
	registry_close();
	agents_free(&t);
}

/* Closing commits what is still queued and runs its callbacks. */
static void
test_close_flushes(void **state)
{
	struct fx	*f = *state;
	struct agents	 t;
	struct agent	*a;
	static int	 ok;

	ok = -1;
	open_ok(f, &t);
	a = sample(1, "web-01", "any", KEY_A, "web");
	expect(1);
	registry_put_agent(a, 2, done_cb, &ok);
	registry_close();
	assert_int_equal(W.got, 1);
	assert_int_equal(ok, 1);
	agents_free(&t);
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM agent"), 1);
	agent_free(a);
}

/* One record of the store for registry_follow. */
static cJSON *
store_record(long id, const char *name, const char *key, const char *groups)
{
	struct agent	*a = sample(id, name, "any", key, groups);
	cJSON		*o = ha_record_json(a);

	agent_free(a);
	return o;
}

static void
follow_ok(struct agents *t, cJSON *changes, struct registry_applied *c)
{
	char	err[256] = "";

	if (registry_follow(t, changes, c, err, sizeof(err)) != 0)
		fail_msg("registry_follow: %s", err);
	cJSON_Delete(changes);
}

static void
test_follow(void **state)
{
	struct fx		*f = *state;
	struct agents		 t;
	struct registry_applied	 c;
	struct agent		*a;
	cJSON			*ch, *arr;
	char			 err[256];
	static int		 ok;

	agents_init(&t);
	assert_int_equal(registry_follow_open(f->db, &t, err, sizeof(err)), 0);
	/* Every record. */
	ch = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(ch, "agents");
	cJSON_AddItemToArray(arr, store_record(1, "web-01", KEY_A, "a"));
	cJSON_AddItemToArray(arr, store_record(2, "web-02", KEY_B, NULL));
	cJSON_AddBoolToObject(ch, "full", 1);
	cJSON_AddNumberToObject(ch, "next_id", 3);
	follow_ok(&t, ch, &c);
	assert_true(c.full);
	assert_int_equal(c.written, 2);
	assert_int_equal(agents_count(&t), 2);
	assert_int_equal(t.next_id, 3);
	/* What changed: a new agent, a tombstone, groups set later. */
	ch = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(ch, "agents");
	cJSON_AddItemToArray(arr, store_record(3, "web-03", KEY_A, "b"));
	cJSON_AddItemToArray(cJSON_AddArrayToObject(ch, "removed"),
	    cJSON_CreateString("001"));
	cJSON_AddStringToObject(cJSON_AddObjectToObject(ch, "groups"), "002",
	    "x,y");
	cJSON_AddNumberToObject(ch, "next_id", 4);
	follow_ok(&t, ch, &c);
	assert_false(c.full);
	assert_int_equal(c.written, 1);
	assert_int_equal(c.removed, 1);
	assert_int_equal(c.regrouped, 1);
	assert_null(agents_by_id(&t, "001"));
	assert_non_null(a = agents_by_id(&t, "002"));
	assert_string_equal(a->groups, "x,y");
	assert_int_equal(t.next_id, 4);
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM belongs WHERE "
	    "id_agent = 2"), 2);
	/* A record the registry refuses: nothing of the read is applied. */
	ch = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(ch, "agents");
	cJSON_AddItemToArray(arr, store_record(4, "web-04", KEY_A, NULL));
	cJSON_AddItemToArray(arr, cJSON_Parse("{\"id\":\"005\"}"));
	assert_int_equal(registry_follow(&t, ch, &c, err, sizeof(err)), -1);
	cJSON_Delete(ch);
	assert_null(agents_by_id(&t, "004"));
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM agent"), 2);
	/* Every record again: an agent it does not name is dropped. */
	ch = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(ch, "agents");
	cJSON_AddItemToArray(arr, store_record(3, "web-03", KEY_A, "b"));
	cJSON_AddBoolToObject(ch, "full", 1);
	follow_ok(&t, ch, &c);
	assert_int_equal(c.written, 0);
	assert_int_equal(c.removed, 1);
	assert_int_equal(agents_count(&t), 1);
	/* registry_open takes the copy over as it is, then writes. */
	if (registry_open(EV_DEFAULT, f->db, &t, err, sizeof(err)) != 0)
		fail_msg("registry_open after follow: %s", err);
	assert_int_equal(agents_count(&t), 1);
	assert_int_equal(registry_follow(&t, NULL, &c, err, sizeof(err)), -1);
	a = sample(5, "web-05", "any", KEY_B, NULL);
	ok = -1;
	expect(1);
	registry_put_agent(a, 6, done_cb, &ok);
	wait_all();
	assert_int_equal(ok, 1);
	agent_free(a);
	registry_close();
	agents_free(&t);
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM agent"), 2);
	assert_int_equal(query_int(f->db, "SELECT value FROM meta WHERE key "
	    "= 'next_id'"), 6);
}

/*
 * The same name under two ids in one read, the higher first as etcd lists
 * keys (a/1000 before a/999): the higher id is kept whatever the order,
 * and the lower one still counts for the next id.
 */
static void
test_follow_same_name(void **state)
{
	struct fx		*f = *state;
	struct agents		 t;
	struct registry_applied	 c;
	struct agent		*a;
	cJSON			*ch, *arr;
	char			 err[256];

	agents_init(&t);
	assert_int_equal(registry_follow_open(f->db, &t, err, sizeof(err)), 0);
	ch = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(ch, "agents");
	cJSON_AddItemToArray(arr, store_record(1000, "twice", KEY_A, NULL));
	cJSON_AddItemToArray(arr, store_record(999, "twice", KEY_B, NULL));
	cJSON_AddBoolToObject(ch, "full", 1);
	cJSON_AddNumberToObject(ch, "next_id", 1);
	follow_ok(&t, ch, &c);
	assert_int_equal(agents_count(&t), 1);
	assert_non_null(a = agents_by_name(&t, "twice"));
	assert_string_equal(a->id, "1000");
	assert_string_equal(AGENT_KEY_OF(a), KEY_A);
	assert_true(t.next_id >= 1001);
	/* The lower one alone, later: still not taken over the higher. */
	ch = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(ch, "agents");
	cJSON_AddItemToArray(arr, store_record(998, "twice", KEY_B, NULL));
	follow_ok(&t, ch, &c);
	assert_string_equal(agents_by_name(&t, "twice")->id, "1000");
	assert_int_equal(query_int(f->db, "SELECT count(*) FROM agent"), 1);
	registry_follow_close();
	agents_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_new_file,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_reopen_serves_changes,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_changes_survive_reopen,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_next_id_and_group_delete,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_failed_change,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_disk_full,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_migrate_from_1,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_info_addresses,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_not_a_database,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_odd_rows_at_load,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_follow_same_name,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_follow, fx_setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_batches,
		    fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_close_flushes,
		    fx_setup, fx_teardown),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
