#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agents.h"
#include "agent/keysfile.h"
#include "agent/replay.h"
#include "base/log.h"
#include "base/node.h"
#include "net/link.h"
#include "sync/integ.h"
#include "worker/wagents.h"

#define TASK		"Agents"
#define SAVE_DELAY	1.0	/* snapshot rewrite after a burst */
#define KEYS_DELAY	1.0	/* client.keys written after a burst */
#define JOURNAL_MIN	(1 << 20)	/* no compaction below (bytes) */
#define JOURNAL_MAX	(64 << 20)	/* longest journal line read back */

static struct {
	struct node	*node;
	struct agents	 t;
	struct link	*link;
	struct keysfile	 keys;		/* etc/client.keys */
	ev_timer	 save_timer;
	int		 jfd;		/* the journal, appended to */
	off_t		 jbytes;	/* its length */
	off_t		 snap_bytes;	/* the snapshot's length */
	int		 jfailed;	/* the last append failed (logged) */
	int		 sfailed;	/* the last snapshot failed (logged) */
	int		 checking;
	double		 synced_at;
	unsigned long	 deltas;
	void		(*gone)(struct agent *, struct agent *);
} WA;

void
wagents_on_gone(void (*fn)(struct agent *, struct agent *))
{
	WA.gone = fn;
}

static void
drop(struct agent *a, struct agent *replacement)
{
	if (WA.gone != NULL)
		WA.gone(a, replacement);
	agent_free(a);
}

static void
hex(char out[33])
{
	integ_hex(WA.t.digest, out);
}

static void
journal_path(char *out, size_t len)
{
	if (config_path(&WA.node->cfg, WAGENTS_JOURNAL_REL, out, len) == -1)
		out[0] = '\0';
}

/* Logged once while snapshots fail (a full disk), not at every try. */
static void
save_failed(const char *path)
{
	if (!WA.sfailed)
		log_warn(TASK, "cannot save %s", path);
	WA.sfailed = 1;
}

/*
 * The snapshot: a first line {"digest":...}, then one record a line
 * (temp file, fsync, rename, mode 0600: it holds keys), then an empty
 * journal.  Written a record at a time, so it costs no memory beside the
 * table; it costs the table's size in time, so it runs after a full
 * resynchronization and when the journal has grown past the snapshot,
 * never per delta.
 */
static void
save(void)
{
	char		 path[PATH_MAX], tmp[PATH_MAX + 8], *s, d[33];
	struct agent	*a;
	cJSON		*rec;
	size_t		 it = 0;
	off_t		 bytes = 0;
	FILE		*fp;
	int		 fd, ok = 1;

	if (config_path(&WA.node->cfg, WAGENTS_FILE_REL, path,
	    sizeof(path)) == -1)
		return;
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) ==
	    -1 || (fp = fdopen(fd, "w")) == NULL) {
		save_failed(tmp);
		if (fd != -1)
			close(fd);
		return;
	}
	hex(d);
	bytes += fprintf(fp, "{\"digest\":\"%s\"}\n", d);
	while (ok && (a = strmap_next(&WA.t.by_id, &it)) != NULL) {
		rec = agent_record_json(a);
		if ((s = cJSON_PrintUnformatted(rec)) == NULL ||
		    fprintf(fp, "%s\n", s) < 0)
			ok = 0;
		else
			bytes += (off_t)strlen(s) + 1;
		cJSON_free(s);
		cJSON_Delete(rec);
	}
	if (fflush(fp) != 0 || fsync(fd) != 0)
		ok = 0;
	if (fclose(fp) != 0)
		ok = 0;
	if (!ok || rename(tmp, path) == -1) {
		save_failed(path);
		unlink(tmp);
		return;
	}
	WA.sfailed = 0;
	WA.snap_bytes = bytes;
	if (WA.jfd != -1 && ftruncate(WA.jfd, 0) == 0)
		WA.jbytes = 0;
}

static void
save_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	save();
}

static void
save_soon(void)
{
	if (!ev_is_active(&WA.save_timer))
		ev_timer_start(WA.node->loop, &WA.save_timer);
}

/*
 * One delta at the end of the journal: what it costs is the delta's
 * size, whatever the table's.  No fsync: the replica is a cache the
 * master refills (the digest check after each connect), the journal
 * only spares that transfer after a restart.  A torn last line is
 * ignored when read back.
 */
static void
journal_append(const cJSON *delta)
{
	char	*s;
	size_t	 n;

	if (WA.jfd == -1 || (s = cJSON_PrintUnformatted(delta)) == NULL)
		return;
	n = strlen(s);
	s[n] = '\n';	/* over the NUL: the line's end */
	if (write(WA.jfd, s, n + 1) == (ssize_t)(n + 1)) {
		WA.jbytes += (off_t)(n + 1);
		WA.jfailed = 0;
	} else {
		/* No torn line stays (later lines would be ignored after
		 * it); logged once while the failure lasts (a full disk). */
		if (ftruncate(WA.jfd, WA.jbytes) == -1 || !WA.jfailed)
			log_warn(TASK, "cannot append to the agents journal");
		WA.jfailed = 1;
		save_soon();
	}
	cJSON_free(s);
	if (WA.jbytes > JOURNAL_MIN && WA.jbytes > WA.snap_bytes)
		save_soon();
}

/* Remove one agent by id; 1 when it was there. */
static int
remove_id(const char *id)
{
	struct agent	*a;

	if ((a = agents_remove(&WA.t, id)) == NULL)
		return 0;
	log_debug(TASK, "Agent %s removed.", a->id);
	drop(a, NULL);
	return 1;
}

/*
 * Insert or replace one record; the master's word wins on name clashes.
 * client.keys follows: a new id is appended, anything else rewrites it.
 */
static int
upsert(const cJSON *rec)
{
	struct agent	*a, *old;
	char		 err[64];
	int		 same = 0, fresh = 1;

	if ((a = agent_from_record(rec, err, sizeof(err))) == NULL) {
		log_warnx(TASK, "Ignoring an agent record from the master: %s.",
		    err);
		return -1;
	}
	if ((old = agents_remove(&WA.t, a->id)) != NULL) {
		same = keysfile_same_line(old, a);
		fresh = 0;
		drop(old, a);
	}
	if ((old = agents_by_name(&WA.t, a->name)) != NULL) {
		drop(agents_remove(&WA.t, old->id), NULL);
		same = fresh = 0;
	}
	if (agents_add(&WA.t, a) == -1) {
		agent_free(a);
		keysfile_changed(&WA.keys);
		return -1;
	}
	if (fresh)
		keysfile_added(&WA.keys, a);
	else if (!same)
		keysfile_changed(&WA.keys);
	return 0;
}

/* The highest id in t, 0 when empty. */
static long
max_id(const struct agents *t)
{
	struct agent	*a;
	size_t		 it = 0;
	long		 max = 0;

	while ((a = strmap_next(&t->by_id, &it)) != NULL)
		if (atol(a->id) > max)
			max = atol(a->id);
	return max;
}

/*
 * Replace the whole table with the master's; live agents carry over.
 * Agents the master no longer has are dropped: removals missed while
 * disconnected, or a registry restored from an older backup, which is
 * worth a warning when it takes many.
 */
static void
take_all(const cJSON *agents)
{
	struct agents	 old = WA.t;
	struct agent	*a;
	const cJSON	*r;
	size_t		 it = 0, dropped = 0;
	long		 top = 0;

	/* The whole file is due: no agent is noted for appending. */
	keysfile_changed(&WA.keys);
	agents_init(&WA.t);
	cJSON_ArrayForEach(r, agents)
		upsert(r);
	while ((a = strmap_next(&old.by_id, &it)) != NULL) {
		if (agents_by_id(&WA.t, a->id) == NULL) {
			dropped++;
			if (atol(a->id) > top)
				top = atol(a->id);
		}
		if (WA.gone != NULL)
			WA.gone(a, agents_by_id(&WA.t, a->id));
	}
	if (dropped > 0 && top > max_id(&WA.t))
		log_warnx(TASK, "The master's agents lack %zu this worker "
		    "knew, up to id %03ld past its highest %03ld: was its "
		    "registry restored from an older backup? They are dropped "
		    "and must enroll again.", dropped, top, max_id(&WA.t));
	else if (dropped > 0)
		log_debug(TASK, "Resynchronization drops %zu agent(s) the "
		    "master no longer has.", dropped);
	agents_free(&old);
}

/*
 * Agents' last counters, from the worker that served them (replay.h):
 * an agent that moves here goes on from them.  Never lowered.
 */
static void
take_counters(const cJSON *body)
{
	const cJSON	*e;
	const char	*id;
	struct agent	*a;
	uint32_t	 g;
	unsigned	 l;

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(body,
	    "counters"))
		if (replay_parse(e, &id, &g, &l) == 0 &&
		    (a = agents_by_id(&WA.t, id)) != NULL)
			replay_raise(a, g, l);
}

/* One delta into the table (from the master, or read back). */
static void
apply_delta(const cJSON *body)
{
	const cJSON	*r;

	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(body,
	    "upsert"))
		upsert(r);
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(body,
	    "remove"))
		if (cJSON_IsString(r) && remove_id(r->valuestring))
			keysfile_changed(&WA.keys);
	take_counters(body);
}

/*
 * Read back a file of JSON lines: the snapshot (records, after its first
 * line) or the journal (deltas), up to the first line that does not
 * parse, such as one cut by a crash.  A line at a time: no more memory
 * than the table.
 */
static void
replay(const char *path, int snapshot)
{
	char	*line = NULL;
	size_t	 cap = 0, n = 0;
	ssize_t	 len;
	cJSON	*d;
	FILE	*fp;

	if ((fp = fopen(path, "re")) == NULL) {
		if (errno != ENOENT)
			log_warn(TASK, "Cannot read %s", path);
		return;
	}
	while ((len = getline(&line, &cap, fp)) > 0 && len < JOURNAL_MAX &&
	    line[len - 1] == '\n' &&
	    (d = cJSON_ParseWithLength(line, (size_t)len)) != NULL) {
		if (!snapshot)
			apply_delta(d);
		else if (n > 0)
			upsert(d);
		cJSON_Delete(d);
		n++;
	}
	if (!feof(fp))
		log_warnx(TASK, "%s: stopped at line %zu, which does not parse; "
		    "the master's table fills in the rest.", path, n + 1);
	else if (snapshot)
		WA.snap_bytes = ftello(fp);
	free(line);
	fclose(fp);
}

static void
load(void)
{
	char	path[PATH_MAX];

	keysfile_changed(&WA.keys);	/* written whole once loaded */
	if (config_path(&WA.node->cfg, WAGENTS_FILE_REL, path,
	    sizeof(path)) == 0)
		replay(path, 1);
	journal_path(path, sizeof(path));
	replay(path, 0);
}

int
wagents_start(struct node *n)
{
	char		path[PATH_MAX];
	struct stat	sb;

	WA.node = n;
	WA.jfd = -1;
	agents_init(&WA.t);
	ev_timer_init(&WA.save_timer, save_cb, SAVE_DELAY, 0);
	config_path(&n->cfg, KEYSFILE_REL, path, sizeof(path));
	keysfile_init(&WA.keys, n->loop, path, &WA.t, KEYS_DELAY);
	load();
	/* client.keys starts equal to the table. */
	keysfile_flush(&WA.keys);
	journal_path(path, sizeof(path));
	WA.jfd = path[0] != '\0' ? open(path, O_WRONLY | O_CREAT | O_APPEND |
	    O_CLOEXEC, 0600) : -1;
	if (WA.jfd == -1)
		log_warn(TASK, "cannot open the agents journal %s", path);
	else if (fstat(WA.jfd, &sb) == 0)
		WA.jbytes = sb.st_size;
	log_info(TASK, "%zu agent keys loaded.", agents_count(&WA.t));
	return 0;
}

void
wagents_stop(void)
{
	if (WA.node == NULL)
		return;
	if (ev_is_active(&WA.save_timer)) {
		ev_timer_stop(WA.node->loop, &WA.save_timer);
		save();
	}
	keysfile_stop(&WA.keys);
	if (WA.jfd != -1)
		close(WA.jfd);
	WA.jfd = -1;
	agents_free(&WA.t);
	WA.node = NULL;
}

static void
check_done(struct link *l, void *arg, enum link_result r, const cJSON *body)
{
	const cJSON	*all;

	(void)l;
	(void)arg;
	WA.checking = 0;
	if (r != LINK_OK)
		return;
	all = cJSON_GetObjectItemCaseSensitive(body, "agents");
	if (cJSON_IsArray(all)) {
		take_all(all);
		save_soon();
		log_info(TASK, "Agents resynchronized from the master: %zu.",
		    agents_count(&WA.t));
	}
	WA.synced_at = ev_time();
}

static void
check(void)
{
	cJSON	*j;
	char	 d[33];

	if (WA.link == NULL || WA.checking)
		return;
	j = cJSON_CreateObject();
	hex(d);
	cJSON_AddStringToObject(j, "digest", d);
	/* What the master needs to see it has forgotten agents. */
	cJSON_AddNumberToObject(j, "count", (double)agents_count(&WA.t));
	cJSON_AddNumberToObject(j, "max_id", (double)max_id(&WA.t));
	if (link_request(WA.link, FRAME_AGENTS_CHECK, j, 0, check_done,
	    NULL) == 0)
		WA.checking = 1;
	cJSON_Delete(j);
}

void
wagents_link_up(struct link *l)
{
	WA.link = l;
	check();
}

void
wagents_link_down(void)
{
	WA.link = NULL;
	WA.checking = 0;
}

/* Returns 1 when the frame was an agents delta (handled here). */
int
wagents_on_frame(const struct frame_hdr *h, const cJSON *body)
{
	const cJSON	*d;
	char		 mine[33];

	if (h->type != FRAME_AGENTS_DELTA)
		return 0;
	apply_delta(body);
	/* Counters alone change no agent: not journaled (a restarted worker
	 * starts from the next ones the master sends). */
	if (cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(body,
	    "upsert")) > 0 || cJSON_GetArraySize(
	    cJSON_GetObjectItemCaseSensitive(body, "remove")) > 0)
		journal_append(body);
	WA.deltas++;
	d = cJSON_GetObjectItemCaseSensitive(body, "digest");
	hex(mine);
	if (cJSON_IsString(d) && strcmp(d->valuestring, mine) != 0 &&
	    !WA.checking) {
		log_info(TASK, "Agents differ from the master's; "
		    "resynchronizing.");
		check();
	}
	return 1;
}

void
wagents_status(cJSON *o)
{
	cJSON	*a = cJSON_AddObjectToObject(o, "agents");
	char	 d[33];

	hex(d);
	cJSON_AddNumberToObject(a, "count", (double)agents_count(&WA.t));
	cJSON_AddStringToObject(a, "digest", d);
	cJSON_AddNumberToObject(a, "deltas", (double)WA.deltas);
}

const struct agents *
wagents_table(void)
{
	return &WA.t;
}
