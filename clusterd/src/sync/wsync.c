#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "base/metrics.h"
#include "base/node.h"
#include "net/link.h"
#include "sync/apply.h"
#include "sync/bundle.h"
#include "sync/integ.h"
#include "sync/reload.h"
#include "sync/scanner.h"
#include "sync/syncset.h"
#include "sync/wsync.h"

#define RETRY_MIN	1.0	/* after a failed round; doubles per failure */

enum wsync_state {
	WS_IDLE,
	WS_SCANNING,	/* local integrity before a check */
	WS_ASKING,	/* digest sent */
	WS_INDEX,	/* full index sent */
	WS_RECEIVING	/* plan received, bundle arriving */
};

static struct {
	struct node		*node;
	struct link		*link;
	struct scanner		*scanner;
	ev_timer		 periodic;
	ev_timer		 retry;
	enum wsync_state	 st;
	int			 again;
	unsigned		 want_gen;
	struct integ_index	*local;
	/* the round in progress */
	struct bundle_dec	*dec;
	struct bundle_file	*files;
	size_t			 nfiles;
	char			**remove;
	size_t			 nremove;
	uint32_t		 transfer;
	double			 t_check;
	double			 t_sync;
	unsigned		 failures;	/* rounds failed in a row */
	char			 last_error[256];
	/* for status */
	int			 in_sync;
	double			 check_at, check_took;
	double			 sync_at, sync_took;
	/* for metrics, since start */
	unsigned long		 rounds, failed;
	double			 rounds_seconds;
} WS;

static const struct metrics_def M_ROUNDS = {
	"clusterd_sync_rounds_total", METRICS_COUNTER,
	"Sync rounds whose files this node applied."
};
static const struct metrics_def M_FAILED = {
	"clusterd_sync_failures_total", METRICS_COUNTER,
	"Integrity checks and sync rounds that failed (retried later)."
};
static const struct metrics_def M_SECONDS = {
	"clusterd_sync_seconds_total", METRICS_COUNTER,
	"Seconds the applied sync rounds took, from plan to files in place."
};
static const struct metrics_def M_LAST = {
	"clusterd_sync_last_seconds", METRICS_GAUGE,
	"Seconds the last applied sync round took."
};
static const struct metrics_def M_IN_SYNC = {
	"clusterd_sync_in_sync", METRICS_GAUGE,
	"1 when the master answered the last integrity check with in sync."
};

static void start_check(void);

static void
round_free(void)
{
	size_t	i;

	if (WS.dec != NULL) {
		bundle_dec_abort(WS.dec);
		bundle_dec_free(WS.dec);
		WS.dec = NULL;
	}
	for (i = 0; i < WS.nfiles; i++) {
		free(WS.files[i].path);
		free(WS.files[i].tmpname);
	}
	free(WS.files);
	for (i = 0; i < WS.nremove; i++)
		free(WS.remove[i]);
	free(WS.remove);
	WS.files = NULL;
	WS.remove = NULL;
	WS.nfiles = WS.nremove = 0;
}

/* The round ended: run the next one if something asked meanwhile. */
static void
round_done(void)
{
	WS.st = WS_IDLE;
	if (WS.again && WS.link != NULL) {
		WS.again = 0;
		start_check();
	}
}

/*
 * A round failed: drop what it received and retry later, backing off to
 * sync_interval.  The same failure again is logged at debug level only, so
 * a master that keeps sending something we refuse cannot flood the log.
 */
static void
round_failed(const char *task, const char *why)
{
	double	delay;

	if (strcmp(why, WS.last_error) != 0) {
		log_errx(task, "%s.", why);
		snprintf(WS.last_error, sizeof(WS.last_error), "%s", why);
	} else
		log_debug(task, "%s (again).", why);
	WS.failed++;
	round_free();
	WS.st = WS_IDLE;
	WS.again = 0;
	delay = RETRY_MIN * (double)(1u << (WS.failures < 16 ? WS.failures :
	    16));
	if (delay > WS.node->cfg.sync_interval)
		delay = WS.node->cfg.sync_interval;
	WS.failures++;
	if (WS.link != NULL) {
		ev_timer_stop(WS.node->loop, &WS.retry);
		ev_timer_set(&WS.retry, delay, 0);
		ev_timer_start(WS.node->loop, &WS.retry);
	}
}

static cJSON *
digest_json(const uint8_t d[16])
{
	char	hex[33];

	integ_hex(d, hex);
	return cJSON_CreateString(hex);
}

/* A plan path: in the set, or the whole round is refused (why set). */
static int
plan_path_ok(const cJSON *p, char *why, size_t whylen)
{
	char	r[96];

	if (!cJSON_IsString(p)) {
		snprintf(why, whylen, "malformed plan from the master");
		return 0;
	}
	if (syncset_check(p->valuestring, r, sizeof(r)) == NULL) {
		snprintf(why, whylen, "Refused a round with the unsafe path "
		    "\"%.120s\" (%.60s)", p->valuestring, r);
		return 0;
	}
	return 1;
}

/* Take one plan entry into WS.files; -1 (why set) if unusable. */
static int
add_plan_file(const cJSON *e, int is_new, char *why, size_t whylen)
{
	const cJSON		*p = cJSON_GetArrayItem(e, 0);
	const cJSON		*m = cJSON_GetArrayItem(e, 1);
	const cJSON		*mode = cJSON_GetArrayItem(e, 2);
	struct bundle_file	*f = &WS.files[WS.nfiles];

	memset(f, 0, sizeof(*f));
	if (!plan_path_ok(p, why, whylen))
		return -1;
	if (!cJSON_IsString(m) || !cJSON_IsNumber(mode) ||
	    mode->valuedouble < 0 || mode->valuedouble > 07777 ||
	    mode->valuedouble != (double)mode->valueint ||
	    integ_unhex(m->valuestring, f->md5) == -1) {
		snprintf(why, whylen, "malformed plan from the master");
		return -1;
	}
	if ((f->path = strdup(p->valuestring)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	f->mode = (mode_t)mode->valueint;
	f->is_new = is_new;
	WS.nfiles++;
	return 0;
}

/* Read the master's plan; -1 with why set when it cannot be used. */
static int
take_plan(const cJSON *body, char *why, size_t whylen)
{
	const cJSON	*cr, *up, *rm, *t, *e;
	size_t		 n;

	cr = cJSON_GetObjectItemCaseSensitive(body, "create");
	up = cJSON_GetObjectItemCaseSensitive(body, "update");
	rm = cJSON_GetObjectItemCaseSensitive(body, "delete");
	t = cJSON_GetObjectItemCaseSensitive(body, "transfer");
	if (!cJSON_IsArray(cr) || !cJSON_IsArray(up) || !cJSON_IsArray(rm) ||
	    !cJSON_IsNumber(t)) {
		snprintf(why, whylen, "malformed plan from the master");
		return -1;
	}
	WS.transfer = (uint32_t)t->valuedouble;
	n = (size_t)cJSON_GetArraySize(cr) + (size_t)cJSON_GetArraySize(up);
	if ((WS.files = calloc(n ? n : 1, sizeof(*WS.files))) == NULL ||
	    (WS.remove = calloc((size_t)cJSON_GetArraySize(rm) + 1,
	    sizeof(*WS.remove))) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	cJSON_ArrayForEach(e, cr)
		if (add_plan_file(e, 1, why, whylen) == -1)
			return -1;
	cJSON_ArrayForEach(e, up)
		if (add_plan_file(e, 0, why, whylen) == -1)
			return -1;
	cJSON_ArrayForEach(e, rm) {
		if (!plan_path_ok(e, why, whylen))
			return -1;
		if ((WS.remove[WS.nremove] = strdup(e->valuestring)) == NULL) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		WS.nremove++;
	}
	if ((WS.dec = bundle_dec_new(WS.node->cfg.home, WS.files,
	    WS.nfiles)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	return 0;
}

static void
index_done(struct link *l, void *arg, enum link_result r, const cJSON *body)
{
	const cJSON	*v;
	char		 why[256];

	(void)l;
	(void)arg;
	if (r != LINK_OK) {
		if (r == LINK_CLOSED)
			WS.st = WS_IDLE;
		else
			round_failed("Integrity check", r == LINK_TIMEOUT ?
			    "The master did not answer the integrity check" :
			    "The master refused the integrity check");
		return;
	}
	WS.check_at = node_wall_now();
	WS.check_took = ev_time() - WS.t_check;
	v = cJSON_GetObjectItemCaseSensitive(body, "in_sync");
	if (cJSON_IsTrue(v)) {
		WS.in_sync = 1;
		WS.failures = 0;
		WS.last_error[0] = '\0';
		log_info("Integrity check", "Finished in %.3fs. Files are in "
		    "sync.", WS.check_took);
		round_done();
		return;
	}
	WS.in_sync = 0;
	if (take_plan(body, why, sizeof(why)) == -1) {
		round_failed("Integrity check", why);
		return;
	}
	log_info("Integrity check", "Finished in %.3fs. Sync required.",
	    WS.check_took);
	log_info("Integrity check", "Files to create: %d | Files to update: "
	    "%d | Files to delete: %zu",
	    cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(body,
	    "create")), cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
	    body, "update")), WS.nremove);
	WS.again = WS.again || cJSON_IsTrue(
	    cJSON_GetObjectItemCaseSensitive(body, "more"));
	WS.t_sync = ev_time();
	WS.st = WS_RECEIVING;
}

static void
send_index(void)
{
	cJSON	*j;

	WS.st = WS_INDEX;
	if ((j = integ_to_json(WS.local)) == NULL ||
	    link_request(WS.link, FRAME_INTEGRITY, j, 0, index_done, NULL) ==
	    -1)
		round_failed("Integrity check", "Cannot send the index");
	cJSON_Delete(j);
}

static void
ask_done(struct link *l, void *arg, enum link_result r, const cJSON *body)
{
	(void)l;
	(void)arg;
	if (r == LINK_OK && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body,
	    "need_index"))) {
		send_index();
		return;
	}
	index_done(l, arg, r, body);
}

/* A local scan finished; the one a check waits for starts the question. */
static void
scan_done(struct integ_index *idx, unsigned gen, void *arg)
{
	cJSON	*j;

	(void)arg;
	integ_unref(WS.local);
	WS.local = idx;
	if (WS.st != WS_SCANNING || gen < WS.want_gen)
		return;
	if (WS.link == NULL) {
		WS.st = WS_IDLE;
		return;
	}
	WS.st = WS_ASKING;
	j = cJSON_CreateObject();
	cJSON_AddItemToObject(j, "digest", digest_json(idx->digest));
	if (link_request(WS.link, FRAME_INTEGRITY, j, 0, ask_done, NULL) ==
	    -1)
		round_failed("Integrity check", "Cannot send the check");
	cJSON_Delete(j);
}

static void
start_check(void)
{
	if (WS.link == NULL)
		return;
	if (WS.st != WS_IDLE) {
		WS.again = 1;
		return;
	}
	WS.st = WS_SCANNING;
	WS.t_check = ev_time();
	WS.want_gen = scanner_request(WS.scanner);
}

static void
timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	start_check();
}

/* The bundle is complete: check it, apply it, report, reload. */
static void
sync_end(const cJSON *body)
{
	struct apply_stats	 st;
	struct apply_changes	 ch;
	const cJSON		*ok, *err;
	cJSON			*res;
	char			 why[256];

	ok = cJSON_GetObjectItemCaseSensitive(body, "ok");
	err = cJSON_GetObjectItemCaseSensitive(body, "error");
	if (!cJSON_IsTrue(ok)) {
		snprintf(why, sizeof(why), "The master could not send the "
		    "files: %s", cJSON_IsString(err) ? err->valuestring :
		    "no reason");
		round_failed("Integrity sync", why);
		return;
	}
	if (bundle_dec_finish(WS.dec, why, sizeof(why)) == -1) {
		round_failed("Integrity sync", why);
		return;
	}
	if (apply_bundle(WS.node->cfg.home, WS.files, WS.nfiles, WS.remove,
	    WS.nremove, &st, &ch) == -1) {
		apply_changes_free(&ch);
		round_failed("Integrity sync", "Out of memory applying files");
		return;
	}
	WS.sync_at = node_wall_now();
	WS.sync_took = ev_time() - WS.t_sync;
	WS.rounds++;
	WS.rounds_seconds += WS.sync_took;
	log_info("Integrity sync", "Finished in %.3fs.", WS.sync_took);
	log_info("Integrity sync", "Created: %zu | Updated: %zu | Deleted: %zu"
	    "%s", st.created, st.updated, st.deleted, st.stale || st.failed ?
	    " (some files left for the next round)" : "");
	res = cJSON_CreateObject();
	cJSON_AddNumberToObject(res, "transfer", WS.transfer);
	cJSON_AddNumberToObject(res, "created", (double)st.created);
	cJSON_AddNumberToObject(res, "updated", (double)st.updated);
	cJSON_AddNumberToObject(res, "deleted", (double)st.deleted);
	cJSON_AddNumberToObject(res, "stale", (double)st.stale);
	cJSON_AddNumberToObject(res, "failed", (double)st.failed);
	cJSON_AddNumberToObject(res, "took", WS.sync_took);
	link_request(WS.link, FRAME_SYNC_RESULT, res, 0, NULL, NULL);
	cJSON_Delete(res);
	reload_request(ch.paths, ch.n);
	apply_changes_free(&ch);
	bundle_dec_free(WS.dec);	/* applied: nothing to abort */
	WS.dec = NULL;
	if (st.failed > 0) {
		/* Back off rather than retry at once what just failed. */
		WS.again = 0;
		round_failed("Integrity sync", "Some files could not be "
		    "installed or removed; see the lines above");
		return;
	}
	round_free();
	/* Confirm with a fresh check; it also carries any "more". */
	WS.again = 1;
	round_done();
}

/*
 * The master pushed a plan computed from the tree it believes we hold.
 * Taken only when idle and our digest is that base; otherwise a check
 * (which makes the master drop the push) sorts things out.
 */
static void
push_received(const cJSON *body)
{
	const cJSON	*base = cJSON_GetObjectItemCaseSensitive(body, "base");
	uint8_t		 bd[16];
	char		 why[256];

	if (WS.st != WS_IDLE || WS.local == NULL || !cJSON_IsString(base) ||
	    integ_unhex(base->valuestring, bd) == -1 ||
	    memcmp(bd, WS.local->digest, 16) != 0) {
		log_debug("Integrity sync", "Ignoring a push; checking "
		    "instead.");
		start_check();
		return;
	}
	if (take_plan(body, why, sizeof(why)) == -1) {
		round_failed("Integrity sync", why);
		return;
	}
	log_info("Integrity sync", "Receiving changes from the master: Files "
	    "to create: %d | Files to update: %d | Files to delete: %zu",
	    cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(body,
	    "create")), cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
	    body, "update")), WS.nremove);
	WS.again = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body,
	    "more"));
	WS.in_sync = 0;
	WS.t_sync = ev_time();
	WS.st = WS_RECEIVING;
}

/* Returns 1 when the frame belongs to file synchronization. */
int
wsync_on_frame(const struct frame_hdr *h, const cJSON *body,
    const uint8_t *payload)
{
	const cJSON	*d;
	uint8_t		 md[16];
	char		 why[256];

	switch (h->type) {
	case FRAME_SYNC_NOTIFY:
		d = cJSON_GetObjectItemCaseSensitive(body, "digest");
		if (!cJSON_IsString(d) || integ_unhex(d->valuestring, md) == -1)
			return 1;
		/* A round under way already compares with the master's
		 * current tree, and re-checks after applying. */
		if (WS.st == WS_IDLE && (WS.local == NULL ||
		    memcmp(md, WS.local->digest, 16) != 0))
			start_check();
		return 1;
	case FRAME_SYNC_PUSH:
		push_received(body);
		return 1;
	case FRAME_SYNC_DATA:
		if (WS.st != WS_RECEIVING || h->id != WS.transfer)
			return 1;	/* a cancelled round's tail */
		if (bundle_dec_feed(WS.dec, payload, h->len, why,
		    sizeof(why)) == -1)
			round_failed("Integrity sync", why);
		return 1;
	case FRAME_SYNC_END:
		d = cJSON_GetObjectItemCaseSensitive(body, "transfer");
		if (WS.st == WS_RECEIVING && cJSON_IsNumber(d) &&
		    (uint32_t)d->valuedouble == WS.transfer)
			sync_end(body);
		return 1;
	default:
		return 0;
	}
}

void
wsync_link_up(struct link *l)
{
	WS.link = l;
	WS.again = 0;
	start_check();
}

/* The link is gone: a round in flight is dropped, nothing half-applied. */
void
wsync_link_down(void)
{
	WS.link = NULL;
	ev_timer_stop(WS.node->loop, &WS.retry);
	if (WS.st == WS_RECEIVING)
		log_warnx("Integrity sync", "Connection lost during the sync; "
		    "received files discarded.");
	round_free();
	WS.st = WS_IDLE;
	WS.again = 0;
}

/* A collector (metrics.h): this node's sync rounds. */
static void
wsync_metrics(struct metrics *m, void *arg)
{
	(void)arg;
	metrics_put(m, &M_ROUNDS, (double)WS.rounds, NULL);
	metrics_put(m, &M_FAILED, (double)WS.failed, NULL);
	metrics_put(m, &M_SECONDS, WS.rounds_seconds, NULL);
	metrics_put(m, &M_LAST, WS.sync_took, NULL);
	metrics_put(m, &M_IN_SYNC, WS.in_sync, NULL);
}

int
wsync_start(struct node *n)
{
	WS.node = n;
	apply_cleanup_temps(n->cfg.home);
	reload_init(n->loop, n->cfg.home, n->cfg.reload_command);
	if ((WS.scanner = scanner_new(n->loop, n->cfg.home, NULL, scan_done,
	    NULL)) == NULL)
		return -1;
	ev_timer_init(&WS.periodic, timer_cb, n->cfg.sync_interval,
	    n->cfg.sync_interval);
	ev_timer_start(n->loop, &WS.periodic);
	ev_init(&WS.retry, timer_cb);
	metrics_register(wsync_metrics, NULL);
	return 0;
}

void
wsync_stop(void)
{
	if (WS.node == NULL)
		return;
	metrics_unregister(wsync_metrics, NULL);
	ev_timer_stop(WS.node->loop, &WS.periodic);
	ev_timer_stop(WS.node->loop, &WS.retry);
	round_free();
	scanner_free(WS.scanner);
	WS.scanner = NULL;
	integ_unref(WS.local);
	WS.local = NULL;
	reload_shutdown();
}

void
wsync_reconfigure(void)
{
	WS.periodic.repeat = WS.node->cfg.sync_interval;
	ev_timer_again(WS.node->loop, &WS.periodic);
	reload_init(WS.node->loop, WS.node->cfg.home,
	    WS.node->cfg.reload_command);
}

void
wsync_status(cJSON *o)
{
	cJSON	*c = cJSON_AddObjectToObject(o, "integrity_check");
	cJSON	*s = cJSON_AddObjectToObject(o, "integrity_sync");

	cJSON_AddBoolToObject(o, "in_sync", WS.in_sync);
	if (WS.local != NULL)
		cJSON_AddItemToObject(o, "digest", digest_json(WS.local->digest));
	cJSON_AddItemToObject(c, "date", node_time_json(WS.check_at));
	cJSON_AddNumberToObject(c, "duration", node_seconds(WS.check_took));
	cJSON_AddItemToObject(s, "date", node_time_json(WS.sync_at));
	cJSON_AddNumberToObject(s, "duration", node_seconds(WS.sync_took));
}
