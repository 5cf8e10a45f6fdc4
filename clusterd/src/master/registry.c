#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include <ev.h>

#include "agent/agents.h"
#include "base/log.h"
#include "base/strmap.h"
#include "master/ha_record.h"
#include "master/registry.h"

#define TASK	"Registry"
#define WHY_LEN	256
/*
 * SQLite's page cache, per connection, in KiB (negative: a size, not
 * pages).  Its default, 2 MiB, is most of the master's memory beside the
 * agent table at 50,000 agents; a batch touches the table's right edge,
 * a few index leaves and the rows it updates, and a page not cached is
 * read back from the kernel's page cache of the file.
 */
#define REG_CACHE_KIB	"-512"

enum reg_op {
	REG_PUT_AGENT,
	REG_DEL_AGENT,
	REG_SET_GROUPS,
	REG_PUT_GROUP,
	REG_DEL_GROUP,
	REG_INFO,
	REG_NEXT_ID,
	REG_BACKUP	/* after the batch's commit, outside any transaction */
};

struct reg_job {
	enum reg_op	 op;
	struct agent	 a;		/* PUT_AGENT: a copy; else id/groups */
	long		 next_id;
	/* Small: thousands of status jobs can queue behind one commit (a
	 * worker reporting 5,000 agents back at once), so what only some ops
	 * need is allocated apart, and REG_INFO's os fields and labels wait
	 * as JSON text (about a fifth of the parsed tree's size). */
	char		*group;		/* PUT_GROUP, DEL_GROUP: its name */
	char		*why;		/* REG_BACKUP: the failure, WHY_LEN */
	char		*info;		/* REG_INFO: os fields and labels */
	char		*path;		/* REG_BACKUP: the copy to write */
	registry_done	 cb;
	registry_backup_done bcb;
	void		*arg;
	int		 ok;
	struct reg_job	*next;
};

static struct {
	struct ev_loop	*loop;
	sqlite3		*db;
	pthread_t	 thread;
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct reg_job	*queue, **qtail;	/* under mu */
	struct reg_job	*done, **dtail;		/* under mu */
	int		 quit;			/* under mu */
	int		 running;
	ev_async	 async;
	unsigned	 batches;
	/* The registry thread's own: the reason of the failure last
	 * logged ("" while writes work) and the changes refused since. */
	char		 failure[256];
	char		 path[4096];
	sqlite3		*reader;	/* the loop's, registry_agent_detail() */
	unsigned long	 refused;
	/* The registry thread's prepared statements, by their SQL text. */
	struct {
		const char	*sql;
		sqlite3_stmt	*st;
	}		 cache[16];
} R;

static const struct registry_replica *replica;

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

static int
exec(const char *sql, char *err, size_t errlen)
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
		if (exec("BEGIN IMMEDIATE;", err, errlen) == -1)
			return -1;
		if (exec(migrations[v], err, errlen) == -1 ||
		    exec(sql, err, errlen) == -1 ||
		    exec("COMMIT;", err, errlen) == -1) {
			exec("ROLLBACK;", err, errlen);
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

/*
 * The prepared statement for sql, a string constant: prepared once, then
 * reset and reused.  Parsing the SQL again for every change cost a third
 * of the registry thread's time while agents enrolled and reported.
 */
static sqlite3_stmt *
stmt(const char *sql)
{
	size_t	i;

	for (i = 0; i < sizeof(R.cache) / sizeof(R.cache[0]); i++) {
		if (R.cache[i].sql == sql) {
			sqlite3_reset(R.cache[i].st);
			sqlite3_clear_bindings(R.cache[i].st);
			return R.cache[i].st;
		}
		if (R.cache[i].sql == NULL) {
			if (sqlite3_prepare_v3(R.db, sql, -1,
			    SQLITE_PREPARE_PERSISTENT, &R.cache[i].st, NULL) !=
			    SQLITE_OK)
				return NULL;
			R.cache[i].sql = sql;
			return R.cache[i].st;
		}
	}
	return NULL;	/* more statements than slots: a programming error */
}

static void
stmt_free_all(void)
{
	size_t	i;

	for (i = 0; i < sizeof(R.cache) / sizeof(R.cache[0]); i++) {
		sqlite3_finalize(R.cache[i].st);
		R.cache[i].st = NULL;
		R.cache[i].sql = NULL;
	}
}

/* Run one statement with text/int parameters given as a printf-less list. */
static int
run(const char *sql, const char *const *text, int ntext)
{
	sqlite3_stmt	*st;
	int		 i, rc;

	if ((st = stmt(sql)) == NULL)
		return -1;
	for (i = 0; i < ntext; i++)
		sqlite3_bind_text(st, i + 1, text[i], -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
set_groups(const char *id, const char *groups)
{
	char	*copy, *g, *save = NULL, prio[16];
	int	 n = 0, rv = 0;

	if (run("DELETE FROM belongs WHERE id_agent = CAST(?1 AS INTEGER)",
	    (const char *[]){ id }, 1) == -1)
		return -1;
	if (groups == NULL || *groups == '\0')
		return 0;
	if ((copy = strdup(groups)) == NULL)
		return -1;
	for (g = strtok_r(copy, ",", &save); g != NULL && rv == 0;
	    g = strtok_r(NULL, ",", &save)) {
		snprintf(prio, sizeof(prio), "%d", n++);
		rv = run("INSERT OR IGNORE INTO \"group\"(name) VALUES (?1)",
		    (const char *[]){ g }, 1);
		if (rv == 0)
			rv = run("INSERT INTO belongs VALUES (CAST(?1 AS "
			    "INTEGER), (SELECT id FROM \"group\" WHERE name = "
			    "?2), CAST(?3 AS INTEGER))",
			    (const char *[]){ id, g, prio }, 3);
	}
	free(copy);
	return rv;
}

static const char *
info_str(const cJSON *info, const char *k)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(info, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* An agent's status, and its OS info and labels when a keepalive had them. */
static int
store_info(struct reg_job *j)
{
	static const char *const f[] = {
		"os_name", "os_version", "os_major", "os_minor", "os_codename",
		"os_build", "os_platform", "os_uname", "os_arch", "config_sum",
		"merged_sum", "version", "group_config_status", NULL
	};
	static const char sql[] = "UPDATE agent SET connection_status = ?1, "
	    "last_keepalive = CAST(?2 AS INTEGER), disconnection_time = "
	    "CAST(?3 AS INTEGER), node_name = ?4, os_name = COALESCE(?5, "
	    "os_name), os_version = COALESCE(?6, os_version), os_major = "
	    "COALESCE(?7, os_major), os_minor = COALESCE(?8, os_minor), "
	    "os_codename = COALESCE(?9, os_codename), os_build = COALESCE(?10, "
	    "os_build), os_platform = COALESCE(?11, os_platform), os_uname = "
	    "COALESCE(?12, os_uname), os_arch = COALESCE(?13, os_arch), "
	    "config_sum = COALESCE(?14, config_sum), merged_sum = COALESCE(?15,"
	    " merged_sum), version = COALESCE(?16, version), "
	    "group_config_status = COALESCE(?17, group_config_status), "
	    "reported_ip = ?19, source_ip = ?20 WHERE id = CAST(?18 AS INTEGER)";
	const cJSON	*labels, *l;
	cJSON		*info = NULL;
	sqlite3_stmt	*st;
	char		 ka[32], dt[32];
	int		 i, rc, rv = -1;

	snprintf(ka, sizeof(ka), "%lld", (long long)j->a.last_keepalive);
	snprintf(dt, sizeof(dt), "%lld", (long long)j->a.disconnection_time);
	if ((j->info != NULL && (info = cJSON_Parse(j->info)) == NULL) ||
	    (st = stmt(sql)) == NULL)
		goto fail;
	sqlite3_bind_text(st, 1, agent_status(&j->a), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ka, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, dt, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, j->a.node_name, -1, SQLITE_STATIC);
	for (i = 0; f[i] != NULL; i++)
		sqlite3_bind_text(st, 5 + i, info_str(info, f[i]), -1,
		    SQLITE_STATIC);
	sqlite3_bind_text(st, 18, j->a.id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 19, AGENT_ADDR_OF(&j->a, AGENT_REPORTED_IP), -1,
	    SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 20, AGENT_ADDR_OF(&j->a, AGENT_SOURCE_IP), -1,
	    SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		goto fail;
	if ((labels = cJSON_GetObjectItemCaseSensitive(info, "labels")) ==
	    NULL) {
		rv = 0;
		goto fail;
	}
	if (run("DELETE FROM labels WHERE id = CAST(?1 AS INTEGER)",
	    (const char *[]){ j->a.id }, 1) == -1)
		goto fail;
	cJSON_ArrayForEach(l, labels)
		if (cJSON_IsString(l) && run("INSERT OR REPLACE INTO labels "
		    "VALUES (CAST(?1 AS INTEGER), ?2, ?3)",
		    (const char *[]){ j->a.id, l->string, l->valuestring }, 3) ==
		    -1)
			goto fail;
	rv = 0;
fail:
	cJSON_Delete(info);
	return rv;
}

/* An agent's row, its groups, and next_id if that is higher. */
static int
put_agent(const struct agent *a, long next_id)
{
	char	date[32], next[32];

	snprintf(date, sizeof(date), "%lld", (long long)a->date_add);
	snprintf(next, sizeof(next), "%ld", next_id);
	if (run("INSERT OR REPLACE INTO agent (id, name, ip, "
	    "register_ip, internal_key, version, date_add, "
	    "connection_status, node_name, enroll_src, reported_ip, "
	    "source_ip) VALUES (CAST(?1 AS INTEGER), ?2, ?3, ?4, ?5, "
	    "?6, CAST(?7 AS INTEGER), ?8, ?9, ?10, ?11, ?12)",
	    (const char *[]){ a->id, a->name, a->ip,
	    AGENT_ADDR_OF(a, AGENT_REGISTER_IP), AGENT_KEY_OF(a), a->version,
	    date, agent_status(a), a->node_name,
	    AGENT_ADDR_OF(a, AGENT_ENROLL_SRC),
	    AGENT_ADDR_OF(a, AGENT_REPORTED_IP),
	    AGENT_ADDR_OF(a, AGENT_SOURCE_IP) }, 12) == -1)
		return -1;
	if (run("UPDATE meta SET value = ?1 WHERE key = 'next_id' AND "
	    "CAST(value AS INTEGER) < CAST(?1 AS INTEGER)",
	    (const char *[]){ next }, 1) == -1)
		return -1;
	return set_groups(a->id, a->groups);
}

static int
apply_job(struct reg_job *j)
{
	char	next[32];

	switch (j->op) {
	case REG_PUT_AGENT:
		return put_agent(&j->a, j->next_id);
	case REG_DEL_AGENT:
		return run("DELETE FROM agent WHERE id = CAST(?1 AS INTEGER)",
		    (const char *[]){ j->a.id }, 1);
	case REG_SET_GROUPS:
		return set_groups(j->a.id, j->a.groups);
	case REG_PUT_GROUP:
		return run("INSERT OR IGNORE INTO \"group\"(name) VALUES (?1)",
		    (const char *[]){ j->group }, 1);
	case REG_DEL_GROUP:
		return run("DELETE FROM \"group\" WHERE name = ?1",
		    (const char *[]){ j->group }, 1);
	case REG_INFO:
		return store_info(j);
	case REG_NEXT_ID:
		snprintf(next, sizeof(next), "%ld", j->next_id);
		return run("UPDATE meta SET value = ?1 WHERE key = 'next_id' "
		    "AND CAST(value AS INTEGER) < CAST(?1 AS INTEGER)",
		    (const char *[]){ next }, 1);
	case REG_BACKUP:
		return 0;	/* backup() runs it after the commit */
	}
	return -1;
}

/*
 * A consistent copy of the registry, as committed up to now, into a new
 * file: created empty first (owner-only: it holds the agents' keys), then
 * filled by VACUUM INTO, which reads one snapshot, and synced.
 */
static void
backup(struct reg_job *j)
{
	sqlite3_stmt	*st = NULL;
	int		 fd;

	j->ok = 0;
	if ((fd = open(j->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1) {
		snprintf(j->why, WHY_LEN, "cannot create %s: %s",
		    j->path, strerror(errno));
		return;
	}
	close(fd);
	if (sqlite3_prepare_v2(R.db, "VACUUM INTO ?1", -1, &st, NULL) !=
	    SQLITE_OK || sqlite3_bind_text(st, 1, j->path, -1,
	    SQLITE_STATIC) != SQLITE_OK || sqlite3_step(st) != SQLITE_DONE) {
		snprintf(j->why, WHY_LEN, "%s", sqlite3_errmsg(R.db));
		goto fail;
	}
	if ((fd = open(j->path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fsync(fd) == -1) {
		snprintf(j->why, WHY_LEN, "cannot sync %s: %s",
		    j->path, strerror(errno));
		if (fd != -1)
			close(fd);
		goto fail;
	}
	close(fd);
	sqlite3_finalize(st);
	j->ok = 1;
	return;
fail:
	sqlite3_finalize(st);
	unlink(j->path);
}

/*
 * A failure to store, logged once while the same one lasts: a full disk
 * fails every change until space returns, and one line per enrollment or
 * status report would bury the log.  Logged once more, at info, when a
 * batch is stored whole again.
 */
static void
store_failed(const char *what, const char *why, unsigned n)
{
	R.refused += n;
	if (strcmp(why, R.failure) == 0) {
		log_debug(TASK, "%s: %s (again).", what, why);
		return;
	}
	log_errx(TASK, "%s: %s (the same failure again is logged at debug "
	    "until the registry stores again).", what, why);
	snprintf(R.failure, sizeof(R.failure), "%s", why);
}

static void
store_worked(void)
{
	if (R.failure[0] == '\0')
		return;
	log_info(TASK, "The registry stores changes again (%lu refused "
	    "meanwhile).", R.refused);
	R.failure[0] = '\0';
	R.refused = 0;
}

static void
batch_failed(struct reg_job *batch, const char *what, const char *why)
{
	struct reg_job	*j;
	unsigned	 n = 0;

	for (j = batch; j != NULL; j = j->next, n++)
		j->ok = 0;
	store_failed(what, why, n);
}

/* The batch's changes to agents, as the replica takes them. */
static int
replicate(struct reg_job *batch, char *err, size_t errlen)
{
	struct reg_job	*j;
	cJSON		*all = cJSON_CreateArray(), *c;
	int		 rv;

	for (j = batch; j != NULL; j = j->next) {
		c = cJSON_CreateObject();
		switch (j->op) {
		case REG_PUT_AGENT:
			cJSON_AddStringToObject(c, "op", "put");
			cJSON_AddItemToObject(c, "agent", ha_record_json(&j->a));
			cJSON_AddNumberToObject(c, "next_id",
			    (double)j->next_id);
			break;
		case REG_DEL_AGENT:
			cJSON_AddStringToObject(c, "op", "del");
			cJSON_AddStringToObject(c, "id", j->a.id);
			break;
		case REG_SET_GROUPS:
			cJSON_AddStringToObject(c, "op", "groups");
			cJSON_AddStringToObject(c, "id", j->a.id);
			cJSON_AddStringToObject(c, "groups", j->a.groups ?
			    j->a.groups : "");
			break;
		default:
			cJSON_Delete(c);
			continue;
		}
		cJSON_AddItemToArray(all, c);
	}
	rv = cJSON_GetArraySize(all) == 0 ? 0 : replica->write(all, err,
	    errlen);
	cJSON_Delete(all);
	return rv;
}

/* Drop an agent from SQLite and the table; -1 on an SQLite failure. */
static int
drop(struct agents *t, const char *id)
{
	char	copy[AGENT_ID_MAX];

	snprintf(copy, sizeof(copy), "%s", id);
	if (run("DELETE FROM agent WHERE id = CAST(?1 AS INTEGER)",
	    (const char *[]){ copy }, 1) == -1)
		return -1;
	agent_free(agents_remove(t, copy));
	return 0;
}

/* Agents of the table that the full answer (seen) does not name. */
static int
drop_unseen(struct agents *t, struct strmap *seen, struct registry_applied *c)
{
	struct agent	**all;
	size_t		  i, n = 0;
	int		  rv = 0;

	if ((all = agents_sorted(t, &n)) == NULL && n > 0)
		return -1;
	for (i = 0; i < n && rv == 0; i++)
		if (strmap_get(seen, all[i]->id) == NULL) {
			rv = drop(t, all[i]->id);
			c->removed++;
		}
	free(all);
	return rv;
}

/* Groups set after the record (g/ keys) of agents the table holds. */
static int
regroup(struct agents *t, const cJSON *groups, struct registry_applied *c)
{
	const cJSON	*g;
	struct agent	*a;

	cJSON_ArrayForEach(g, groups) {
		if (!cJSON_IsString(g) || (a = agents_by_id(t, g->string)) ==
		    NULL || strlen(g->valuestring) > AGENT_GROUPS_MAX)
			continue;
		if (set_groups(a->id, g->valuestring) == -1)
			return -1;
		agents_rehash(t, a, g->valuestring[0] ? g->valuestring : NULL);
		c->regrouped++;
	}
	return 0;
}

/*
 * Make the registry (SQLite and its table) equal the replica's records,
 * in one transaction.  A full answer ("full": true) names every agent:
 * agents it does not name are dropped (their enrollment was never
 * durable there, so never answered).  Otherwise it holds what changed
 * since the last one applied: records written, agents removed, groups
 * set.  Status columns of agents already known are kept.  A node promoted
 * to active master does this before anything is served; a standby does
 * it every round as it follows the store.
 */
static int
apply_store(struct agents *t, const cJSON *st, struct registry_applied *c,
    char *err, size_t errlen)
{
	const cJSON	*arr, *o, *rm;
	struct agent	*a, *old;
	struct strmap	 seen;
	long		 next;
	int		 full, rv = -1;

	memset(c, 0, sizeof(*c));
	arr = cJSON_GetObjectItemCaseSensitive(st, "agents");
	next = (long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(st,
	    "next_id"));
	c->full = full = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st,
	    "full"));
	strmap_init(&seen);
	if (!cJSON_IsArray(arr)) {
		snprintf(err, errlen, "no agents in the store's answer");
		goto done;
	}
	if (exec("BEGIN IMMEDIATE;", err, errlen) == -1)
		goto done;
	cJSON_ArrayForEach(o, arr) {
		if ((a = ha_record_agent(o, err, errlen)) == NULL)
			goto rollback;
		c->records++;
		/* The key lives in st, kept until the end. */
		if (strmap_put(&seen, cJSON_GetObjectItemCaseSensitive(o,
		    "id")->valuestring, &seen) == -1) {
			agent_free(a);
			goto sqlerr;
		}
		if ((old = agents_by_id(t, a->id)) != NULL &&
		    ha_record_same(old, a)) {
			agent_free(a);
			continue;
		}
		if (old != NULL) {
			agent_free(agents_remove(t, old->id));
			c->replaced++;
		}
		if ((old = agents_by_name(t, a->name)) != NULL) {
			/* Ids only grow: the same name under a higher id is
			 * the newer record, whichever etcd lists first (keys
			 * sort as bytes: a/1000 before a/999).  A lower one is
			 * a leftover, e.g. of a batch etcd took in part. */
			if (strtol(old->id, NULL, 10) > strtol(a->id, NULL,
			    10)) {
				if (strtol(a->id, NULL, 10) >= next)
					next = strtol(a->id, NULL, 10) + 1;
				agent_free(a);
				continue;
			}
			if (drop(t, old->id) == -1) {
				agent_free(a);
				goto sqlerr;
			}
			c->removed++;
		}
		if (put_agent(a, next) == -1 || agents_add(t, a) == -1) {
			agent_free(a);
			goto sqlerr;
		}
		c->written++;
		if (strtol(a->id, NULL, 10) >= next)
			next = strtol(a->id, NULL, 10) + 1;
	}
	cJSON_ArrayForEach(rm, cJSON_GetObjectItemCaseSensitive(st,
	    "removed")) {
		if (!cJSON_IsString(rm) || agents_by_id(t,
		    rm->valuestring) == NULL)
			continue;
		if (drop(t, rm->valuestring) == -1)
			goto sqlerr;
		c->removed++;
	}
	if ((full && drop_unseen(t, &seen, c) == -1) || regroup(t,
	    cJSON_GetObjectItemCaseSensitive(st, "groups"), c) == -1)
		goto sqlerr;
	if (next > t->next_id) {
		char	num[32];

		snprintf(num, sizeof(num), "%ld", next);
		if (run("UPDATE meta SET value = ?1 WHERE key = 'next_id'",
		    (const char *[]){ num }, 1) == -1)
			goto sqlerr;
		t->next_id = next;
	}
	if (exec("COMMIT;", err, errlen) == -1)
		goto rollback;
	rv = 0;
	goto done;
sqlerr:
	snprintf(err, errlen, "%s", sqlite3_errmsg(R.db));
rollback:
	exec("ROLLBACK;", NULL, 0);
done:
	strmap_free(&seen);
	return rv;
}

/* registry_open's read of the replica: the registry then equals it. */
static int
restore(struct agents *t, char *err, size_t errlen)
{
	struct registry_applied	 c;
	cJSON			*st;
	int			 rv;

	if ((st = replica->read(err, errlen)) == NULL)
		return -1;
	if ((rv = apply_store(t, st, &c, err, errlen)) == 0)
		log_info(TASK, "Registry equal to the cluster store (%s): %u "
		    "records read, %u written, %u removed or dropped, %u "
		    "regrouped; %zu agents, next id %ld.", c.full ?
		    "every record" : "the changes since the copy followed",
		    c.records, c.written, c.removed, c.regrouped,
		    agents_count(t), t->next_id);
	cJSON_Delete(st);
	return rv;
}

void
registry_set_replica(const struct registry_replica *r)
{
	replica = r;
}

/*
 * Commit one batch: every job in its own savepoint, so a failing change
 * fails alone; the whole batch is durable at COMMIT (synchronous=FULL).
 * Some errors (disk full, I/O) may make SQLite roll the whole transaction
 * back: then the whole batch failed, and no job may run after it, or it
 * would commit on its own while reported as failed.
 */
static void
commit_batch(struct reg_job *batch)
{
	struct reg_job	*j;
	char		 err[256];
	int		 failed = 0;

	if (replica != NULL && replicate(batch, err, sizeof(err)) == -1) {
		batch_failed(batch, "Not durable on the cluster store", err);
		return;
	}
	if (exec("BEGIN IMMEDIATE;", err, sizeof(err)) == -1) {
		batch_failed(batch, "Cannot begin a transaction", err);
		return;
	}
	for (j = batch; j != NULL; j = j->next) {
		run("SAVEPOINT job", NULL, 0);
		j->ok = apply_job(j) == 0;
		if (!j->ok) {
			snprintf(err, sizeof(err), "%s", sqlite3_errmsg(R.db));
			if (sqlite3_get_autocommit(R.db)) {
				batch_failed(batch, "Cannot store changes", err);
				return;
			}
			store_failed("Cannot store a change", err, 1);
			failed = 1;
			run("ROLLBACK TO job", NULL, 0);
		}
		run("RELEASE job", NULL, 0);
	}
	if (exec("COMMIT;", err, sizeof(err)) == -1) {
		exec("ROLLBACK;", NULL, 0);
		batch_failed(batch, "Cannot commit", err);
		return;
	}
	if (!failed)
		store_worked();
}

static void *
registry_main(void *p)
{
	struct reg_job	*batch, *last;

	(void)p;
	pthread_mutex_lock(&R.mu);
	for (;;) {
		while (R.queue == NULL && !R.quit)
			pthread_cond_wait(&R.cv, &R.mu);
		if (R.queue == NULL && R.quit)
			break;
		batch = R.queue;
		R.queue = NULL;
		R.qtail = &R.queue;
		pthread_mutex_unlock(&R.mu);

		commit_batch(batch);
		for (last = batch; last != NULL; last = last->next)
			if (last->op == REG_BACKUP)
				backup(last);

		pthread_mutex_lock(&R.mu);
		R.batches++;
		for (last = batch; last->next != NULL; last = last->next)
			;
		*R.dtail = batch;
		R.dtail = &last->next;
		ev_async_send(R.loop, &R.async);
	}
	pthread_mutex_unlock(&R.mu);
	return NULL;
}

/* On the loop: run the callbacks of committed jobs, in order. */
static void
done_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct reg_job	*j, *next;

	(void)loop;
	(void)w;
	(void)revents;
	pthread_mutex_lock(&R.mu);
	j = R.done;
	R.done = NULL;
	R.dtail = &R.done;
	pthread_mutex_unlock(&R.mu);
	for (; j != NULL; j = next) {
		next = j->next;
		if (j->bcb != NULL)
			j->bcb(j->arg, j->ok ? NULL : j->why);
		else if (j->cb != NULL)
			j->cb(j->arg, j->ok);
		free(j->group);
		free(j->why);
		free(j->path);
		agent_clear(&j->a);
		cJSON_free(j->info);
		free(j);
	}
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
	if (exec("PRAGMA journal_mode = WAL;", err, errlen) == -1 ||
	    exec("PRAGMA synchronous = FULL;", err, errlen) == -1 ||
	    exec("PRAGMA foreign_keys = ON;", err, errlen) == -1 ||
	    exec("PRAGMA cache_size = " REG_CACHE_KIB ";", err, errlen) == -1 ||
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
	if (apply_store(t, changes, c, err, errlen) == 0)
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
	stmt_free_all();
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
	if (replica != NULL && restore(t, err, errlen) == -1)
		goto fail;
	pthread_mutex_init(&R.mu, NULL);
	pthread_cond_init(&R.cv, NULL);
	ev_async_init(&R.async, done_cb);
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
	done_cb(R.loop, &R.async, 0);
	ev_async_stop(R.loop, &R.async);
	stmt_free_all();
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

static void
enqueue(struct reg_job *j)
{
	pthread_mutex_lock(&R.mu);
	*R.qtail = j;
	R.qtail = &j->next;
	pthread_cond_signal(&R.cv);
	pthread_mutex_unlock(&R.mu);
}

static struct reg_job *
job_new(enum reg_op op, registry_done cb, void *arg)
{
	struct reg_job	*j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		fatal("registry: out of memory");
	j->op = op;
	j->cb = cb;
	j->arg = arg;
	return j;
}

void
registry_put_agent(const struct agent *a, long next_id, registry_done cb,
    void *arg)
{
	struct reg_job	*j = job_new(REG_PUT_AGENT, cb, arg);

	/* The thread gets its own copy: the table's may change meanwhile. */
	if (agent_copy(&j->a, a) == -1)
		fatal("registry: out of memory");
	j->next_id = next_id;
	enqueue(j);
}

void
registry_del_agent(const char *id, registry_done cb, void *arg)
{
	struct reg_job	*j = job_new(REG_DEL_AGENT, cb, arg);

	snprintf(j->a.id, sizeof(j->a.id), "%s", id);
	enqueue(j);
}

void
registry_set_groups(const char *id, const char *groups, registry_done cb,
    void *arg)
{
	struct reg_job	*j = job_new(REG_SET_GROUPS, cb, arg);

	snprintf(j->a.id, sizeof(j->a.id), "%s", id);
	if (agent_set_groups(&j->a, groups) == -1)
		fatal("registry: out of memory");
	enqueue(j);
}

void
registry_put_group(const char *name, registry_done cb, void *arg)
{
	struct reg_job	*j = job_new(REG_PUT_GROUP, cb, arg);

	if ((j->group = strndup(name, AGENT_GROUP_NAME_MAX)) == NULL)
		fatal("registry: out of memory");
	enqueue(j);
}

void
registry_del_group(const char *name, registry_done cb, void *arg)
{
	struct reg_job	*j = job_new(REG_DEL_GROUP, cb, arg);

	if ((j->group = strndup(name, AGENT_GROUP_NAME_MAX)) == NULL)
		fatal("registry: out of memory");
	enqueue(j);
}

unsigned
registry_batches(void)
{
	unsigned	n;

	pthread_mutex_lock(&R.mu);
	n = R.batches;
	pthread_mutex_unlock(&R.mu);
	return n;
}

/* Status and OS info; no callback: the next batch carries it. */
void
registry_agent_info(const struct agent *a, const cJSON *info)
{
	struct reg_job	*j = job_new(REG_INFO, NULL, NULL);

	memcpy(j->a.id, a->id, sizeof(j->a.id));
	j->a.status = a->status;
	if (agent_set_node(&j->a, a->node_name) == -1 ||
	    agent_set_reported_ip(&j->a, AGENT_ADDR_OF(a,
	    AGENT_REPORTED_IP)) == -1 ||
	    agent_set_source_ip(&j->a, AGENT_ADDR_OF(a, AGENT_SOURCE_IP)) == -1)
		fatal("registry: out of memory");
	j->a.last_keepalive = a->last_keepalive;
	j->a.disconnection_time = a->disconnection_time;
	if (info != NULL && (j->info = cJSON_PrintUnformatted(info)) == NULL)
		fatal("registry: out of memory");
	enqueue(j);
}

/* Persist next_id (kept if the registry's is already higher). */
void
registry_set_next_id(long next_id)
{
	struct reg_job	*j = job_new(REG_NEXT_ID, NULL, NULL);

	j->next_id = next_id;
	enqueue(j);
}

/* A copy of the registry into the new file path, after what is queued. */
void
registry_backup(const char *path, registry_backup_done cb, void *arg)
{
	struct reg_job	*j = job_new(REG_BACKUP, NULL, arg);

	if ((j->path = strdup(path)) == NULL ||
	    (j->why = calloc(1, WHY_LEN)) == NULL)
		fatal("registry: out of memory");
	j->bcb = cb;
	enqueue(j);
}
