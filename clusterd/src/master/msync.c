#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "base/metrics.h"
#include "base/node.h"
#include "master/mplan.h"
#include "master/mshared.h"
#include "master/msync.h"

#define PLAN_LOGGED	20	/* paths of each kind logged at debug */
#include "net/link.h"
#include "sync/bundle.h"
#include "sync/integ.h"
#include "sync/scanner.h"
#include "sync/watch.h"

#define DATA_CHUNK	(128 * 1024)	/* bundle bytes per SYNC_DATA frame */
/*
 * Bundle bytes queued for one worker before the encoder waits for the
 * link to drain.  The socket's own buffer keeps the worker fed meanwhile;
 * more queued here only costs the master memory, times its workers.
 */
#define SEND_QUEUE	(512 * 1024)
#define SUPERSEDED	"superseded by the worker's check"

struct msync_peer {
	struct link		*link;
	const char		*ctx;		/* log context, owned by peer */
	int			 ready;
	/* the transfer in flight */
	struct bundle_enc	*enc;
	struct integ_index	*enc_idx;	/* ref: files being sent */
	struct mplan		 round;		/* its files, enc_idx's paths */
	uint32_t		 transfer;
	double			 started;
	uint64_t		 sent;		/* compressed bytes */
	uint64_t		 last_sent;	/* of the last transfer */
	uint64_t		 total_sent;	/* since connected */
	/* the index the worker was last confirmed to hold, or NULL */
	struct integ_index	*known;
	/* for cluster_control -i */
	uint8_t			 digest[16];	/* worker's, last check */
	int			 have_digest;
	ev_tstamp		 since;		/* connected, for the lag */
	double			 check_at, check_took;
	double			 sync_at, sync_took;
	size_t			 created, updated, deleted;
	TAILQ_ENTRY(msync_peer)	 entry;
};

static struct {
	struct node		*node;
	struct integ_index	*idx;		/* current */
	struct scanner		*scanner;
	struct watch		*watch;
	ev_timer		 periodic;
	uint32_t		 next_transfer;
	double			 scan_at;
	ev_tstamp		 changed_at;	/* the digest, last */
	TAILQ_HEAD(, msync_peer) peers;
	unsigned long		 rounds;		/* workers' results */
	double			 rounds_seconds;
} MS;

static const struct metrics_def M_ROUNDS = {
	"clusterd_sync_rounds_total", METRICS_COUNTER,
	"Sync rounds the workers reported applied."
};
static const struct metrics_def M_SECONDS = {
	"clusterd_sync_seconds_total", METRICS_COUNTER,
	"Seconds the workers' applied sync rounds took, as they reported."
};
static const struct metrics_def M_FILES = {
	"clusterd_sync_files", METRICS_GAUGE,
	"Files in the master's shared set, at its last scan."
};
static const struct metrics_def M_PEER_IN_SYNC = {
	"clusterd_peer_in_sync", METRICS_GAUGE,
	"1 when the worker's last integrity check matched the master's files."
};
static const struct metrics_def M_PEER_LAG = {
	"clusterd_peer_sync_lag_seconds", METRICS_GAUGE,
	"Seconds the worker has been behind the master's files (since they "
	"changed, or since it connected); 0 when in sync."
};
static const struct metrics_def M_PEER_LAST = {
	"clusterd_peer_sync_last_seconds", METRICS_GAUGE,
	"Seconds the worker's last applied sync round took, as it reported."
};

static cJSON *
digest_json(const uint8_t d[16])
{
	char	hex[33];

	integ_hex(d, hex);
	return cJSON_CreateString(hex);
}

static void push(struct msync_peer *);
static int start_transfer(struct msync_peer *, const struct integ_index *,
    struct integ_plan *);

static void
notify(struct msync_peer *p)
{
	cJSON	*j = cJSON_CreateObject();

	cJSON_AddItemToObject(j, "digest", digest_json(MS.idx->digest));
	link_notify(p->link, FRAME_SYNC_NOTIFY, j);
	cJSON_Delete(j);
}

/*
 * A scan finished.  A new digest becomes current and every worker hears of
 * it at once; an unchanged one only refreshes the cache.
 */
static void
scan_done(struct integ_index *idx, unsigned gen, void *arg)
{
	struct msync_peer	*p;
	int			 changed;

	(void)gen;
	(void)arg;
	/* New folders: a file written there before the watch is seen only by
	 * another scan. */
	if (watch_dirs(MS.watch, idx->dirs, idx->ndirs) > 0)
		scanner_request(MS.scanner);
	if (idx->skipped != MS.idx->skipped && idx->skipped > 0)
		log_warnx("Local integrity", "%zu entries of the shared set "
		    "are not shared: symlinks, special files or unreadable "
		    "files.", idx->skipped);
	changed = memcmp(idx->digest, MS.idx->digest, 16) != 0;
	if (changed || idx->hashed > 0)
		log_info("Local integrity", "Finished in %.3fs. %zu files, "
		    "%zu hashed%s.", idx->duration, idx->nfiles, idx->hashed,
		    changed ? ", tree changed" : "");
	else
		log_debug("Local integrity", "Finished in %.3fs. %zu files, "
		    "unchanged.", idx->duration, idx->nfiles);
	MS.scan_at = node_wall_now();
	integ_unref(MS.idx);
	MS.idx = idx;
	if (!changed)
		return;
	MS.changed_at = ev_now(MS.node->loop);
	/*
	 * A worker known to hold the previous tree gets the difference pushed
	 * at once; any other is told the digest and runs a check.
	 */
	TAILQ_FOREACH(p, &MS.peers, entry) {
		if (!p->ready)
			continue;
		if (p->known != NULL && p->enc == NULL)
			push(p);
		else
			notify(p);
	}
}

/* Files changed: the merged.mg files follow first, then the scan. */
static void
rescan(void *arg)
{
	(void)arg;
	mshared_rebuild();
	scanner_request(MS.scanner);
}

/* Something else wrote in the shared set (mshared.c). */
void
msync_rescan(void)
{
	if (MS.scanner != NULL)
		scanner_request(MS.scanner);
}

static void
periodic_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	mshared_rebuild();
	scanner_request(MS.scanner);
}

/*
 * The first scan runs before workers are served, on the loop's thread:
 * start-up may wait for it, workers must never get a plan from nothing.
 */
/* A collector (metrics.h): the master's side of sync, every worker. */
static void
msync_metrics(struct metrics *m, void *arg)
{
	(void)arg;
	metrics_put(m, &M_ROUNDS, (double)MS.rounds, NULL);
	metrics_put(m, &M_SECONDS, MS.rounds_seconds, NULL);
	metrics_put(m, &M_FILES, (double)MS.idx->nfiles, NULL);
}

/*
 * One worker's sync metrics, labelled peer (master.c's collector).  Its
 * lag counts from the later of the master's last change and its connect
 * until a check shows it in sync.
 */
void
msync_peer_metrics(const struct msync_peer *p, struct metrics *m,
    const char *peer)
{
	double	lag = msync_peer_lag(p);

	metrics_put(m, &M_PEER_IN_SYNC, lag == 0, "peer", peer, NULL);
	metrics_put(m, &M_PEER_LAG, lag, "peer", peer, NULL);
	metrics_put(m, &M_PEER_LAST, p->sync_took, "peer", peer, NULL);
}

/*
 * How long a peer has been behind our files: 0 when its last check
 * matched our digest, else from our last change (or its connect, if
 * later) until now.
 */
double
msync_peer_lag(const struct msync_peer *p)
{
	ev_tstamp	from = p->since > MS.changed_at ? p->since :
	    MS.changed_at;
	double		lag = ev_now(MS.node->loop) - from;

	if (p->have_digest && memcmp(p->digest, MS.idx->digest, 16) == 0)
		return 0;
	return lag > 0 ? lag : 1e-3;	/* behind, however briefly */
}

int
msync_start(struct node *n)
{
	MS.node = n;
	TAILQ_INIT(&MS.peers);
	MS.next_transfer = 1;
	if ((MS.idx = integ_scan(n->cfg.home, NULL)) == NULL) {
		log_errx("Local integrity", "Out of memory scanning the tree.");
		return -1;
	}
	MS.scan_at = node_wall_now();
	MS.changed_at = ev_now(n->loop);
	log_info("Local integrity", "Finished in %.3fs. %zu files.",
	    MS.idx->duration, MS.idx->nfiles);
	if ((MS.scanner = scanner_new(n->loop, n->cfg.home, MS.idx, scan_done,
	    NULL)) == NULL ||
	    (MS.watch = watch_new(n->loop, n->cfg.home, n->cfg.sync_debounce,
	    rescan, NULL)) == NULL)
		return -1;
	watch_dirs(MS.watch, MS.idx->dirs, MS.idx->ndirs);
	ev_timer_init(&MS.periodic, periodic_cb, n->cfg.sync_interval,
	    n->cfg.sync_interval);
	ev_timer_start(n->loop, &MS.periodic);
	metrics_register(msync_metrics, NULL);
	return 0;
}

void
msync_stop(void)
{
	if (MS.node == NULL)
		return;
	metrics_unregister(msync_metrics, NULL);
	ev_timer_stop(MS.node->loop, &MS.periodic);
	watch_free(MS.watch);
	scanner_free(MS.scanner);
	integ_unref(MS.idx);
	MS.watch = NULL;
	MS.scanner = NULL;
	MS.idx = NULL;
}

void
msync_reconfigure(void)
{
	MS.periodic.repeat = MS.node->cfg.sync_interval;
	ev_timer_again(MS.node->loop, &MS.periodic);
	watch_set_debounce(MS.watch, MS.node->cfg.sync_debounce);
}

struct msync_peer *
msync_peer_new(struct link *l, const char *ctx)
{
	struct msync_peer	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->link = l;
	p->ctx = ctx;
	p->since = ev_now(MS.node->loop);
	link_set_out_high(l, SEND_QUEUE);
	TAILQ_INSERT_TAIL(&MS.peers, p, entry);
	return p;
}

static void
transfer_free(struct msync_peer *p)
{
	bundle_enc_free(p->enc);
	p->enc = NULL;
	mplan_free(&p->round);
	integ_unref(p->enc_idx);
	p->enc_idx = NULL;
}

static void
set_known(struct msync_peer *p, struct integ_index *idx)
{
	integ_unref(p->known);
	p->known = idx != NULL ? integ_ref(idx) : NULL;
}

void
msync_peer_free(struct msync_peer *p)
{
	if (p == NULL)
		return;
	transfer_free(p);
	set_known(p, NULL);
	TAILQ_REMOVE(&MS.peers, p, entry);
	free(p);
}

/* The worker was admitted: tell it the current digest. */
void
msync_peer_ready(struct msync_peer *p)
{
	p->ready = 1;
	notify(p);
}

/* End the transfer in flight; error NULL for success. */
static void
end_transfer(struct msync_peer *p, const char *error)
{
	cJSON	*j = cJSON_CreateObject();

	cJSON_AddNumberToObject(j, "transfer", p->transfer);
	cJSON_AddBoolToObject(j, "ok", error == NULL);
	if (error != NULL) {
		cJSON_AddStringToObject(j, "error", error);
		if (strcmp(error, SUPERSEDED) == 0)	/* a normal race */
			plog_info(p->ctx, "Integrity sync", "Push dropped: the "
			    "worker asked for a check instead.");
		else
			plog_errx(p->ctx, "Integrity sync", "Sending files "
			    "failed: %s.", error);
	}
	link_notify(p->link, FRAME_SYNC_END, j);
	cJSON_Delete(j);
	p->last_sent = p->sent;
	p->total_sent += p->sent;
	plog_debug(p->ctx, "Integrity sync", "Sent %zu file(s), %llu bytes "
	    "compressed, in %.3fs.", p->round.npaths,
	    (unsigned long long)p->sent,
	    ev_now(MS.node->loop) - p->started);
	transfer_free(p);
}

/* Send bundle bytes while the link takes them; on_drain resumes. */
static void
pump(struct msync_peer *p)
{
	struct buf	out;
	char		err[256];
	int		r;

	buf_init(&out);
	while (p->enc != NULL && !link_congested(p->link)) {
		buf_reset(&out);
		r = bundle_enc_next(p->enc, &out, DATA_CHUNK, err, sizeof(err));
		if (r == -1) {
			end_transfer(p, err);
			break;
		}
		if (buf_used(&out) > 0) {
			if (link_send_frame(p->link, FRAME_SYNC_DATA,
			    FRAME_F_BINARY, p->transfer, buf_head(&out),
			    buf_used(&out)) == -1)
				break;	/* the link is closing */
			p->sent += buf_used(&out);
		}
		if (r == 0)
			end_transfer(p, NULL);
	}
	buf_free(&out);
}

void
msync_on_drain(struct msync_peer *p)
{
	pump(p);
}

/*
 * An integrity check from a worker.  Same digest: in sync.  A digest alone
 * (the worker's cheap first question) that differs: ask for the index.
 * An index: classify, answer with the plan, start the bundle.
 */
static void
handle_integrity(struct msync_peer *p, const struct frame_hdr *h,
    const cJSON *body)
{
	struct integ_index	*w = NULL;
	struct integ_plan	 plan;
	const cJSON		*d, *files;
	cJSON			*resp = NULL;
	uint8_t			 wd[16];
	char			 err[256];
	double			 t0 = ev_time();

	d = cJSON_GetObjectItemCaseSensitive(body, "digest");
	files = cJSON_GetObjectItemCaseSensitive(body, "files");
	if (!cJSON_IsString(d) || integ_unhex(d->valuestring, wd) == -1) {
		link_respond_error(p->link, h, "integrity check without a "
		    "digest");
		return;
	}
	memcpy(p->digest, wd, 16);
	p->have_digest = 1;
	p->check_at = node_wall_now();
	set_known(p, NULL);
	if (p->enc != NULL)		/* the worker did not take a push */
		end_transfer(p, SUPERSEDED);
	if (memcmp(wd, MS.idx->digest, 16) == 0) {
		set_known(p, MS.idx);
		resp = cJSON_CreateObject();
		cJSON_AddBoolToObject(resp, "in_sync", 1);
		p->check_took = ev_time() - t0;
		plog_info(p->ctx, "Integrity check", "Finished in %.3fs. Files "
		    "are in sync.", p->check_took);
		goto answer;
	}
	if (files == NULL) {
		resp = cJSON_CreateObject();
		cJSON_AddBoolToObject(resp, "in_sync", 0);
		cJSON_AddBoolToObject(resp, "need_index", 1);
		goto answer;
	}
	if ((w = integ_from_json(body, err, sizeof(err))) == NULL) {
		plog_warnx(p->ctx, "Integrity check", "Bad index from the "
		    "worker: %s.", err);
		link_respond_error(p->link, h, err);
		return;
	}
	if (start_transfer(p, w, &plan) == -1) {
		link_respond_error(p->link, h, "out of memory");
		goto done;
	}
	p->check_took = ev_time() - t0;
	plog_info(p->ctx, "Integrity check", "Finished in %.3fs. Sync "
	    "required.", p->check_took);
	plog_info(p->ctx, "Integrity check", "Files to create: %zu | Files to "
	    "update: %zu | Files to delete: %zu", plan.ncreate, plan.nupdate,
	    plan.nremove);
	link_respond_text(p->link, h, (const char *)buf_head(&p->round.text),
	    buf_used(&p->round.text));
	mplan_free_text(&p->round);
	pump(p);
done:
	integ_plan_free(&plan);
	integ_unref(w);
	return;
answer:
	link_respond(p->link, h, 0, resp);
	cJSON_Delete(resp);
}

/*
 * At debug, the plan a transfer follows: the first paths of each kind,
 * and whether sync_max_bundle leaves files to a later round.
 */
static void
plan_paths(const struct msync_peer *p, const char *what,
    const struct integ_index *idx, const size_t *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n && i < PLAN_LOGGED; i++)
		plog_debug(p->ctx, "Integrity sync", "Plan: %s %s.", what,
		    idx->files[v[i]].path);
	if (n > PLAN_LOGGED)
		plog_debug(p->ctx, "Integrity sync", "Plan: %s %zu more.",
		    what, n - PLAN_LOGGED);
}

static void
log_plan(const struct msync_peer *p, const struct integ_index *w,
    const struct integ_plan *plan)
{
	plan_paths(p, "create", MS.idx, plan->create, plan->ncreate);
	plan_paths(p, "update", MS.idx, plan->update, plan->nupdate);
	plan_paths(p, "delete", w, plan->remove, plan->nremove);
	if (p->round.more)
		plog_debug(p->ctx, "Integrity sync", "This round sends %zu of "
		    "the %zu files to write, %llu bytes (sync_max_bundle "
		    "%llu); a later round sends the rest.", p->round.npaths,
		    plan->ncreate + plan->nupdate,
		    (unsigned long long)p->round.bytes,
		    (unsigned long long)MS.node->cfg.sync_max_bundle);
}

/*
 * Classify the master's index against what the worker holds (w), write
 * the plan and set up the bundle of its round; the caller sends the plan's
 * text, then pump() the bundle.  Returns 0, or -1 when out of memory.
 */
static int
start_transfer(struct msync_peer *p, const struct integ_index *w,
    struct integ_plan *plan)
{
	if (integ_diff(MS.idx, w, plan) == -1)
		return -1;
	p->enc_idx = integ_ref(MS.idx);		/* the paths sent are its own */
	p->transfer = MS.next_transfer++;
	if (mplan_build(&p->round, MS.idx, w, plan,
	    MS.node->cfg.sync_max_bundle, p->transfer) == -1 ||
	    (p->enc = bundle_enc_new(MS.node->cfg.home, p->round.paths,
	    p->round.modes, p->round.npaths, 1)) == NULL) {
		transfer_free(p);
		return -1;
	}
	p->started = ev_now(MS.node->loop);
	p->sent = 0;
	log_plan(p, w, plan);
	return 0;
}

/*
 * Push the difference between the tree the worker is known to hold and
 * the current one, without waiting for it to ask.  If the worker is busy
 * or holds something else it ignores the push and runs a check instead,
 * which supersedes this transfer.
 */
static void
push(struct msync_peer *p)
{
	struct integ_plan	 plan;
	struct integ_index	*base = p->known;

	p->known = NULL;	/* unknown until the worker confirms again */
	if (start_transfer(p, base, &plan) == -1) {
		integ_unref(base);
		integ_plan_free(&plan);
		notify(p);
		return;
	}
	plog_info(p->ctx, "Integrity sync", "Pushing changes: Files to "
	    "create: %zu | Files to update: %zu | Files to delete: %zu",
	    plan.ncreate, plan.nupdate, plan.nremove);
	link_notify_text(p->link, FRAME_SYNC_PUSH,
	    (const char *)buf_head(&p->round.text), buf_used(&p->round.text));
	mplan_free_text(&p->round);
	integ_plan_free(&plan);
	integ_unref(base);
	pump(p);
}

static size_t
num(const cJSON *j, const char *k)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(j, k);

	return cJSON_IsNumber(v) && v->valuedouble >= 0 ?
	    (size_t)v->valuedouble : 0;
}

static void
handle_result(struct msync_peer *p, const struct frame_hdr *h,
    const cJSON *body)
{
	const cJSON	*took = cJSON_GetObjectItemCaseSensitive(body, "took");

	p->sync_at = node_wall_now();
	p->sync_took = cJSON_IsNumber(took) && took->valuedouble >= 0 ?
	    took->valuedouble : 0;
	MS.rounds++;
	MS.rounds_seconds += p->sync_took;
	p->created = num(body, "created");
	p->updated = num(body, "updated");
	p->deleted = num(body, "deleted");
	plog_info(p->ctx, "Integrity sync", "Worker applied the sync in "
	    "%.3fs: %zu created, %zu updated, %zu deleted.", p->sync_took,
	    p->created, p->updated, p->deleted);
	link_respond(p->link, h, 0, NULL);
}

/* Returns 1 when the frame was a sync request, handled here. */
int
msync_on_request(struct msync_peer *p, const struct frame_hdr *h,
    const cJSON *body)
{
	switch (h->type) {
	case FRAME_INTEGRITY:
		handle_integrity(p, h, body);
		return 1;
	case FRAME_SYNC_RESULT:
		handle_result(p, h, body);
		return 1;
	default:
		return 0;
	}
}

/* Sync facts about one worker, added to its node object for -i. */
void
msync_peer_health(const struct msync_peer *p, cJSON *o)
{
	cJSON	*c = cJSON_AddObjectToObject(o, "integrity_check");
	cJSON	*s = cJSON_AddObjectToObject(o, "integrity_sync");

	cJSON_AddBoolToObject(o, "in_sync", p->have_digest &&
	    memcmp(p->digest, MS.idx->digest, 16) == 0);
	cJSON_AddItemToObject(c, "date", node_time_json(p->check_at));
	cJSON_AddNumberToObject(c, "duration", node_seconds(p->check_took));
	cJSON_AddItemToObject(s, "date", node_time_json(p->sync_at));
	cJSON_AddNumberToObject(s, "duration", node_seconds(p->sync_took));
	cJSON_AddNumberToObject(s, "created", (double)p->created);
	cJSON_AddNumberToObject(s, "updated", (double)p->updated);
	cJSON_AddNumberToObject(s, "deleted", (double)p->deleted);
	cJSON_AddNumberToObject(s, "bytes", (double)p->last_sent);
	cJSON_AddNumberToObject(s, "total_bytes", (double)p->total_sent);
	cJSON_AddBoolToObject(o, "sending", p->enc != NULL);
}

/* The master's own tree: digest, file count, last local integrity pass. */
void
msync_health(cJSON *o)
{
	cJSON	*li = cJSON_AddObjectToObject(o, "local_integrity");

	cJSON_AddItemToObject(li, "digest", digest_json(MS.idx->digest));
	cJSON_AddNumberToObject(li, "files", (double)MS.idx->nfiles);
	cJSON_AddItemToObject(li, "date", node_time_json(MS.scan_at));
	cJSON_AddNumberToObject(li, "duration",
	    node_seconds(MS.idx->duration));
}
