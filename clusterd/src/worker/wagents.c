#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agents.h"
#include "base/log.h"
#include "base/node.h"
#include "net/link.h"
#include "sync/integ.h"
#include "worker/wagents.h"

#define TASK		"Agents"
#define SAVE_DELAY	1.0	/* agents.json rewrite after a burst */

static struct {
	struct node	*node;
	struct agents	 t;
	struct link	*link;
	ev_timer	 save_timer;
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

/* Persist the table: temp file, fsync, rename (mode 0600: it holds keys). */
static void
save(void)
{
	char		 path[PATH_MAX], *s = NULL, d[33];
	struct agent	*a;
	cJSON		*j, *arr;
	size_t		 it = 0;

	if (config_path(&WA.node->cfg, WAGENTS_FILE_REL, path,
	    sizeof(path)) == -1)
		return;
	j = cJSON_CreateObject();
	hex(d);
	cJSON_AddStringToObject(j, "digest", d);
	arr = cJSON_AddArrayToObject(j, "agents");
	while ((a = strmap_next(&WA.t.by_id, &it)) != NULL)
		cJSON_AddItemToArray(arr, agent_record_json(a));
	if ((s = cJSON_PrintUnformatted(j)) != NULL &&
	    node_write_file(path, s, strlen(s), 0600) == -1)
		log_warn(TASK, "cannot save %s", path);
	cJSON_free(s);
	cJSON_Delete(j);
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
changed(void)
{
	if (!ev_is_active(&WA.save_timer))
		ev_timer_start(WA.node->loop, &WA.save_timer);
}

/* Insert or replace one record; the master's word wins on name clashes. */
static int
upsert(const cJSON *rec)
{
	struct agent	*a, *old;
	char		 err[64];

	if ((a = agent_from_record(rec, err, sizeof(err))) == NULL) {
		log_warnx(TASK, "Ignoring an agent record from the master: %s.",
		    err);
		return -1;
	}
	if ((old = agents_remove(&WA.t, a->id)) != NULL)
		drop(old, a);
	if ((old = agents_by_name(&WA.t, a->name)) != NULL)
		drop(agents_remove(&WA.t, old->id), NULL);
	if (agents_add(&WA.t, a) == -1) {
		agent_free(a);
		return -1;
	}
	return 0;
}

/* Replace the whole table with the master's; live agents carry over. */
static void
take_all(const cJSON *agents)
{
	struct agents	 old = WA.t;
	struct agent	*a;
	const cJSON	*r;
	size_t		 it = 0;

	agents_init(&WA.t);
	cJSON_ArrayForEach(r, agents)
		upsert(r);
	while ((a = strmap_next(&old.by_id, &it)) != NULL)
		if (WA.gone != NULL)
			WA.gone(a, agents_by_id(&WA.t, a->id));
	agents_free(&old);
	changed();
}

static void
load(void)
{
	char	 path[PATH_MAX], *text = NULL;
	cJSON	*j;
	FILE	*fp;
	long	 n;

	if (config_path(&WA.node->cfg, WAGENTS_FILE_REL, path,
	    sizeof(path)) == -1 || (fp = fopen(path, "r")) == NULL)
		return;
	if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) > 0 &&
	    fseek(fp, 0, SEEK_SET) == 0 && (text = malloc((size_t)n)) != NULL &&
	    fread(text, 1, (size_t)n, fp) == (size_t)n &&
	    (j = cJSON_ParseWithLength(text, (size_t)n)) != NULL) {
		take_all(cJSON_GetObjectItemCaseSensitive(j, "agents"));
		ev_timer_stop(WA.node->loop, &WA.save_timer);
		cJSON_Delete(j);
	} else
		log_warnx(TASK, "Cannot read %s; starting empty.", path);
	free(text);
	fclose(fp);
}

int
wagents_start(struct node *n)
{
	WA.node = n;
	agents_init(&WA.t);
	ev_timer_init(&WA.save_timer, save_cb, SAVE_DELAY, 0);
	load();
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
	const cJSON	*r, *d;
	struct agent	*a;
	char		 mine[33];

	if (h->type != FRAME_AGENTS_DELTA)
		return 0;
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(body,
	    "upsert"))
		upsert(r);
	cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(body,
	    "remove")) {
		if (cJSON_IsString(r) &&
		    (a = agents_remove(&WA.t, r->valuestring)) != NULL) {
			log_debug(TASK, "Agent %s removed.", a->id);
			drop(a, NULL);
		}
	}
	WA.deltas++;
	changed();
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
