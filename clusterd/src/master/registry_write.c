/*
 * registry_write: the registry's writer thread.  The loop queues jobs
 * (registry_put_agent, registry_agent_info, registry_backup, ...); the
 * thread takes all those queued as one batch, writes each in a savepoint
 * of one durable transaction (after the replica took it, if any), makes
 * the backups asked, and hands the batch back to the loop, which runs the
 * callbacks.  Also the SQL of each change (prepared once, reused) and the
 * failures to store, logged once while they last.
 */
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
#include "master/registry.h"
#include "master/registry_int.h"

#define TASK	REGISTRY_TASK
#define WHY_LEN	256

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

void
registry_stmts_free(void)
{
	size_t	i;

	for (i = 0; i < sizeof(R.cache) / sizeof(R.cache[0]); i++) {
		sqlite3_finalize(R.cache[i].st);
		R.cache[i].st = NULL;
		R.cache[i].sql = NULL;
	}
}

/* Run one statement with text/int parameters given as a printf-less list. */
int
registry_run(const char *sql, const char *const *text, int ntext)
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

int
registry_write_groups(const char *id, const char *groups)
{
	char	*copy, *g, *save = NULL, prio[16];
	int	 n = 0, rv = 0;

	if (registry_run("DELETE FROM belongs WHERE id_agent = CAST(?1 AS "
	    "INTEGER)", (const char *[]){ id }, 1) == -1)
		return -1;
	if (groups == NULL || *groups == '\0')
		return 0;
	if ((copy = strdup(groups)) == NULL)
		return -1;
	for (g = strtok_r(copy, ",", &save); g != NULL && rv == 0;
	    g = strtok_r(NULL, ",", &save)) {
		snprintf(prio, sizeof(prio), "%d", n++);
		rv = registry_run("INSERT OR IGNORE INTO \"group\"(name) "
		    "VALUES (?1)", (const char *[]){ g }, 1);
		if (rv == 0)
			rv = registry_run("INSERT INTO belongs VALUES (CAST(?1 "
			    "AS INTEGER), (SELECT id FROM \"group\" WHERE "
			    "name = ?2), CAST(?3 AS INTEGER))",
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
	if (registry_run("DELETE FROM labels WHERE id = CAST(?1 AS INTEGER)",
	    (const char *[]){ j->a.id }, 1) == -1)
		goto fail;
	cJSON_ArrayForEach(l, labels)
		if (cJSON_IsString(l) && registry_run("INSERT OR REPLACE INTO "
		    "labels VALUES (CAST(?1 AS INTEGER), ?2, ?3)",
		    (const char *[]){ j->a.id, l->string, l->valuestring }, 3) ==
		    -1)
			goto fail;
	rv = 0;
fail:
	cJSON_Delete(info);
	return rv;
}

/* An agent's row, its groups, and next_id if that is higher. */
int
registry_write_agent(const struct agent *a, long next_id)
{
	char	date[32], next[32];

	snprintf(date, sizeof(date), "%lld", (long long)a->date_add);
	snprintf(next, sizeof(next), "%ld", next_id);
	if (registry_run("INSERT OR REPLACE INTO agent (id, name, ip, "
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
	if (registry_run("UPDATE meta SET value = ?1 WHERE key = 'next_id' AND "
	    "CAST(value AS INTEGER) < CAST(?1 AS INTEGER)",
	    (const char *[]){ next }, 1) == -1)
		return -1;
	return registry_write_groups(a->id, a->groups);
}

static int
apply_job(struct reg_job *j)
{
	char	next[32];

	switch (j->op) {
	case REG_PUT_AGENT:
		return registry_write_agent(&j->a, j->next_id);
	case REG_DEL_AGENT:
		return registry_run("DELETE FROM agent WHERE id = CAST(?1 AS "
		    "INTEGER)", (const char *[]){ j->a.id }, 1);
	case REG_SET_GROUPS:
		return registry_write_groups(j->a.id, j->a.groups);
	case REG_PUT_GROUP:
		return registry_run("INSERT OR IGNORE INTO \"group\"(name) "
		    "VALUES (?1)", (const char *[]){ j->group }, 1);
	case REG_DEL_GROUP:
		return registry_run("DELETE FROM \"group\" WHERE name = ?1",
		    (const char *[]){ j->group }, 1);
	case REG_INFO:
		return store_info(j);
	case REG_NEXT_ID:
		snprintf(next, sizeof(next), "%ld", j->next_id);
		return registry_run("UPDATE meta SET value = ?1 WHERE key = "
		    "'next_id' AND CAST(value AS INTEGER) < CAST(?1 AS "
		    "INTEGER)",
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

	if (R.replica != NULL && registry_replicate(batch, err,
	    sizeof(err)) == -1) {
		batch_failed(batch, "Not durable on the cluster store", err);
		return;
	}
	if (registry_exec("BEGIN IMMEDIATE;", err, sizeof(err)) == -1) {
		batch_failed(batch, "Cannot begin a transaction", err);
		return;
	}
	for (j = batch; j != NULL; j = j->next) {
		registry_run("SAVEPOINT job", NULL, 0);
		j->ok = apply_job(j) == 0;
		if (!j->ok) {
			snprintf(err, sizeof(err), "%s", sqlite3_errmsg(R.db));
			if (sqlite3_get_autocommit(R.db)) {
				batch_failed(batch, "Cannot store changes", err);
				return;
			}
			store_failed("Cannot store a change", err, 1);
			failed = 1;
			registry_run("ROLLBACK TO job", NULL, 0);
		}
		registry_run("RELEASE job", NULL, 0);
	}
	if (registry_exec("COMMIT;", err, sizeof(err)) == -1) {
		registry_exec("ROLLBACK;", NULL, 0);
		batch_failed(batch, "Cannot commit", err);
		return;
	}
	if (!failed)
		store_worked();
}

void *
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
void
registry_done_cb(struct ev_loop *loop, ev_async *w, int revents)
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
