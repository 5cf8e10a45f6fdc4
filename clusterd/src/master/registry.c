/*
 * registry: the master's SQLite registry opened, brought to the current
 * schema (its migrations) and loaded into the agent table; started with
 * its writer thread (registry_write.c) or as a standby's copy that
 * follows the replica (registry_follow), and closed; the loop's read of
 * an agent's detail.  Shared state: registry_int.h.
 */
#include <pthread.h>
#include <stdio.h>

#include <sqlite3.h>

#include <ev.h>

#include "agent/agents.h"
#include "base/log.h"
#include "master/registry.h"
#include "master/registry_int.h"

#define TASK	REGISTRY_TASK

/*
 * SQLite's page cache, per connection, in KiB (negative: a size, not
 * pages).  Its default, 2 MiB, is most of the master's memory beside the
 * agent table at 50,000 agents; a batch touches the table's right edge,
 * a few index leaves and the rows it updates, and a page not cached is
 * read back from the kernel's page cache of the file.
 */
#define REG_CACHE_KIB	"-512"

struct registry_state registry_state;

/* Schema steps: migrations[v] brings version v to v + 1. */
static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE agent ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  ip TEXT NOT NULL,"
	"  register_ip TEXT NOT NULL,"
	"  internal_key TEXT NOT NULL,"
	"  version TEXT,"
	"  date_add INTEGER NOT NULL,"
	"  last_keepalive INTEGER,"
	"  connection_status TEXT NOT NULL DEFAULT 'never_connected',"
	"  disconnection_time INTEGER NOT NULL DEFAULT 0,"
	"  node_name TEXT NOT NULL DEFAULT 'unknown',"
	"  os_name TEXT, os_version TEXT, os_major TEXT, os_minor TEXT,"
	"  os_codename TEXT, os_build TEXT, os_platform TEXT, os_uname TEXT,"
	"  os_arch TEXT, config_sum TEXT, merged_sum TEXT);"
	"CREATE TABLE \"group\" ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  name TEXT NOT NULL UNIQUE);"
	"CREATE TABLE belongs ("
	"  id_agent INTEGER NOT NULL REFERENCES agent(id) ON DELETE CASCADE,"
	"  id_group INTEGER NOT NULL REFERENCES \"group\"(id) ON DELETE CASCADE,"
	"  priority INTEGER NOT NULL,"
	"  PRIMARY KEY (id_agent, id_group));"
	"CREATE TABLE labels ("
	"  id INTEGER NOT NULL REFERENCES agent(id) ON DELETE CASCADE,"
	"  key TEXT NOT NULL, value TEXT,"
	"  PRIMARY KEY (id, key));"
	"INSERT INTO meta VALUES ('next_id', '1');",
	/* 1 -> 2: the enrollment's source address, for a lost answer's
	 * retry (mreg.c); '' for agents enrolled before. */
	"ALTER TABLE agent ADD COLUMN enroll_src TEXT NOT NULL DEFAULT '';",
	/* 2 -> 3: whether the agent's merged.mg is its groups' (Wazuh's
	 * group_config_status), as the gateway serving it last saw. */
	("ALTER TABLE agent ADD COLUMN group_config_status TEXT NOT NULL "
	"DEFAULT 'not synced';"),
	/* 3 -> 4: the address an agent reports in its keepalives and the
	 * one it connects from (behind a balancer, its PROXY header's);
	 * '' until its next keepalive. */
	("ALTER TABLE agent ADD COLUMN reported_ip TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE agent ADD COLUMN source_ip TEXT NOT NULL DEFAULT '';"),
};

int
registry_exec(const char *sql, char *err, size_t errlen)
{
	char	*msg = NULL;

	if (sqlite3_exec(R.db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		if (err != NULL)
			snprintf(err, errlen, "%s", msg ? msg :
			    sqlite3_errmsg(R.db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int
schema_version(void)
{
	sqlite3_stmt	*st;
	int		 v = -1;

	if (sqlite3_prepare_v2(R.db, "PRAGMA user_version", -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Bring the schema to REGISTRY_SCHEMA_VERSION, one step per transaction. */
static int
migrate(char *err, size_t errlen)
{
	char	sql[64];
	int	v = schema_version();

	if (v > REGISTRY_SCHEMA_VERSION) {
		snprintf(err, errlen, "registry schema version %d is newer "
		    "than this clusterd (%d)", v, REGISTRY_SCHEMA_VERSION);
		return -1;
	}
	for (; v < REGISTRY_SCHEMA_VERSION; v++) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d;", v + 1);
		if (registry_exec("BEGIN IMMEDIATE;", err, errlen) == -1)
			return -1;
		if (registry_exec(migrations[v], err, errlen) == -1 ||
		    registry_exec(sql, err, errlen) == -1 ||
		    registry_exec("COMMIT;", err, errlen) == -1) {
			registry_exec("ROLLBACK;", err, errlen);
			return -1;
		}
		log_info(TASK, "Registry schema migrated to version %d.", v + 1);
	}
	return 0;
}

/* Column i as text; "" for NULL. */
static const char *
col_text(sqlite3_stmt *st, int i)
{
	const unsigned char	*v = sqlite3_column_text(st, i);

	return v != NULL ? (const char *)v : "";
}

static void
col_copy(sqlite3_stmt *st, int i, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s", col_text(st, i));
}

/*
 * Load every agent with its groups in priority order into t.  A key that
 * is not 64 hex digits (only a hand-edited registry has one: enrollment
 * and the store give no other) fails the load, naming the agent.
 */
static int
load(struct agents *t, char *err, size_t errlen)
{
	sqlite3_stmt	*st = NULL;
	struct agent	*a;
	char		 buf[AGENT_GROUPS_MAX + 1], grp[AGENT_GROUP_NAME_MAX + 1];
	int		 rc, rv = -1, said = 0;

	if (sqlite3_prepare_v2(R.db, "SELECT value FROM meta WHERE key = "
	    "'next_id'", -1, &st, NULL) != SQLITE_OK)
		goto fail;
	if (sqlite3_step(st) == SQLITE_ROW)
		t->next_id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(R.db, "SELECT id, name, ip, register_ip, "
	    "internal_key, version, date_add, last_keepalive, "
	    "connection_status, disconnection_time, node_name, enroll_src, "
	    "reported_ip, source_ip FROM agent",
	    -1, &st, NULL) != SQLITE_OK)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((a = agent_new()) == NULL)
			goto fail;
		agents_format_id(sqlite3_column_int64(st, 0), a->id);
		if (agent_set_key(a, col_text(st, 4)) == -1) {
			snprintf(err, errlen, "agent %s (%s): its key is not "
			    "%d hex digits", a->id, col_text(st, 1),
			    AGENT_KEY_LEN);
			said = 1;
			agent_free(a);
			goto fail;
		}
		a->date_add = agent_time((double)sqlite3_column_int64(st, 6));
		a->last_keepalive = agent_time((double)
		    sqlite3_column_int64(st, 7));
		a->disconnection_time = agent_time((double)
		    sqlite3_column_int64(st, 9));
		/* A status this version does not know reads as never
		 * connected; the next report sets it. */
		agent_set_status(a, col_text(st, 8));
		/* An address this version would refuse reads as unknown. */
		agent_set_reported_ip(a, col_text(st, 12));
		agent_set_source_ip(a, col_text(st, 13));
		if (agent_set_name(a, col_text(st, 1)) == -1 ||
		    agent_set_ip(a, col_text(st, 2)) == -1 ||
		    agent_set_register_ip(a, col_text(st, 3)) == -1 ||
		    agent_set_version(a, col_text(st, 5)) == -1 ||
		    agent_set_node(a, col_text(st, 10)) == -1 ||
		    agent_set_enroll_src(a, col_text(st, 11)) == -1 ||
		    agents_add(t, a) == -1) {
			agent_free(a);
			goto fail;
		}
	}
	sqlite3_finalize(st);
	st = NULL;
	if (rc != SQLITE_DONE)
		goto fail;
	if (sqlite3_prepare_v2(R.db, "SELECT b.id_agent, g.name FROM belongs b "
	    "JOIN \"group\" g ON g.id = b.id_group ORDER BY b.id_agent, "
	    "b.priority", -1, &st, NULL) != SQLITE_OK)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char id[AGENT_ID_MAX];

		agents_format_id(sqlite3_column_int64(st, 0), id);
		col_copy(st, 1, grp, sizeof(grp));
		if ((a = agents_by_id(t, id)) == NULL)
			continue;
		snprintf(buf, sizeof(buf), "%s%s%s", a->groups ? a->groups : "",
		    a->groups ? "," : "", grp);
		agents_rehash(t, a, buf);
	}
	rv = rc == SQLITE_DONE ? 0 : -1;
fail:
	if (rv == -1 && !said)
		snprintf(err, errlen, "%s", sqlite3_errmsg(R.db));
	sqlite3_finalize(st);
	return rv;
}

/* Open the database at path, bring its schema up to date, load it in t. */
static int
open_load(const char *path, struct agents *t, char *err, size_t errlen)
{
	if (sqlite3_open_v2(path, &R.db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", path,
		    R.db ? sqlite3_errmsg(R.db) : "out of memory");
		return -1;
	}
	sqlite3_busy_timeout(R.db, 5000);
	snprintf(R.path, sizeof(R.path), "%s", path);
	if (registry_exec("PRAGMA journal_mode = WAL;", err, errlen) == -1 ||
	    registry_exec("PRAGMA synchronous = FULL;", err, errlen) == -1 ||
	    registry_exec("PRAGMA foreign_keys = ON;", err, errlen) == -1 ||
	    registry_exec("PRAGMA cache_size = " REG_CACHE_KIB ";", err,
	    errlen) == -1 ||
	    migrate(err, errlen) == -1 || load(t, err, errlen) == -1)
		return -1;
	return 0;
}

int
registry_follow_open(const char *path, struct agents *t, char *err,
    size_t errlen)
{
	if (open_load(path, t, err, errlen) == 0)
		return 0;
	sqlite3_close(R.db);
	R.db = NULL;
	return -1;
}

int
registry_follow(struct agents *t, const cJSON *changes,
    struct registry_applied *c, char *err, size_t errlen)
{
	char	why[256];

	if (R.db == NULL || R.running) {
		snprintf(err, errlen, "the registry is not a standby's copy");
		return -1;
	}
	if (registry_apply_store(t, changes, c, err, errlen) == 0)
		return 0;
	/* SQLite rolled back; the table may hold part of the read: load it
	 * again from what is committed. */
	agents_free(t);
	agents_init(t);
	if (load(t, why, sizeof(why)) == -1)
		log_errx(TASK, "Cannot load the registry again: %s.", why);
	return -1;
}

void
registry_follow_close(void)
{
	if (R.running || R.db == NULL)
		return;
	registry_stmts_free();
	sqlite3_close(R.db);
	R.db = NULL;
	sqlite3_close(R.reader);
	R.reader = NULL;
}

int
registry_open(struct ev_loop *loop, const char *path, struct agents *t,
    char *err, size_t errlen)
{
	R.loop = loop;
	R.queue = R.done = NULL;
	R.qtail = &R.queue;
	R.dtail = &R.done;
	R.quit = 0;		/* a registry closed before may be opened again */
	R.failure[0] = '\0';
	R.refused = 0;
	/* A standby's copy (registry_follow_open) is open and t holds it:
	 * only what changed since is read from the replica. */
	if (R.db == NULL && open_load(path, t, err, errlen) == -1)
		goto fail;
	if (R.replica != NULL && registry_restore(t, err, errlen) == -1)
		goto fail;
	pthread_mutex_init(&R.mu, NULL);
	pthread_cond_init(&R.cv, NULL);
	ev_async_init(&R.async, registry_done_cb);
	ev_async_start(loop, &R.async);
	if (pthread_create(&R.thread, NULL, registry_main, NULL) != 0) {
		snprintf(err, errlen, "cannot start the registry thread");
		ev_async_stop(loop, &R.async);
		goto fail;
	}
	R.running = 1;
	return 0;
fail:
	sqlite3_close(R.db);
	R.db = NULL;
	return -1;
}

/* Finish what is queued, then stop; callbacks of the last batch run. */
void
registry_close(void)
{
	if (!R.running) {
		registry_follow_close();
		return;
	}
	pthread_mutex_lock(&R.mu);
	R.quit = 1;
	pthread_cond_signal(&R.cv);
	pthread_mutex_unlock(&R.mu);
	pthread_join(R.thread, NULL);
	registry_done_cb(R.loop, &R.async, 0);
	ev_async_stop(R.loop, &R.async);
	registry_stmts_free();
	sqlite3_close(R.db);
	R.db = NULL;
	sqlite3_close(R.reader);
	R.reader = NULL;
	R.running = 0;
}

/*
 * What the registry holds of an agent beyond the agent table: OS, sums,
 * group_config_status, labels.  Read on the loop's thread through a
 * read-only connection of its own (WAL: readers never wait for the
 * writer), so it shows what is committed.  NULL when not found.
 */
cJSON *
registry_agent_detail(const char *id)
{
	static const char *const cols[] = {
		"os_name", "os_version", "os_major", "os_minor", "os_codename",
		"os_build", "os_platform", "os_uname", "os_arch", "config_sum",
		"merged_sum", "group_config_status"
	};
	sqlite3_stmt	*st = NULL;
	cJSON		*o = NULL, *labels;
	size_t		 i;

	if (R.reader == NULL) {
		if (sqlite3_open_v2(R.path, &R.reader, SQLITE_OPEN_READONLY |
		    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
			sqlite3_close(R.reader);
			R.reader = NULL;
			return NULL;
		}
		sqlite3_busy_timeout(R.reader, 1000);
		sqlite3_exec(R.reader, "PRAGMA cache_size = " REG_CACHE_KIB ";",
		    NULL, NULL, NULL);
	}
	if (sqlite3_prepare_v2(R.reader, "SELECT os_name, os_version, "
	    "os_major, os_minor, os_codename, os_build, os_platform, os_uname, "
	    "os_arch, config_sum, merged_sum, group_config_status FROM agent "
	    "WHERE id = CAST(?1 AS INTEGER)", -1, &st, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		goto fail;
	o = cJSON_CreateObject();
	for (i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
		cJSON_AddStringToObject(o, cols[i], col_text(st, (int)i));
	sqlite3_finalize(st);
	labels = cJSON_AddObjectToObject(o, "labels");
	if (sqlite3_prepare_v2(R.reader, "SELECT key, value FROM labels WHERE "
	    "id = CAST(?1 AS INTEGER) ORDER BY key", -1, &st, NULL) !=
	    SQLITE_OK)
		goto fail;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW)
		cJSON_AddStringToObject(labels, col_text(st, 0),
		    col_text(st, 1));
	sqlite3_finalize(st);
	return o;
fail:
	sqlite3_finalize(st);
	cJSON_Delete(o);
	return NULL;
}
