/*
 * test_msync: the master's side of file synchronization (master/msync.c)
 * with the cluster link faked at its seam.  This file defines the link
 * functions msync calls (link_notify, link_respond, link_send_frame, ...),
 * so the linker takes them instead of net/link.o: every frame msync would
 * send lands in a recorder, and the test decides when the link is
 * congested.  The master's tree is real (a temp home), scanned by the real
 * integrity code; the worker's index is built by scanning another temp
 * home, as the worker does.
 *
 * Covered: the answers to a check (in sync, need the index, a plan with
 * its creates, updates and deletes), the bundle a plan streams (decoded
 * with the worker's decoder), sync_max_bundle's cut, back-pressure, a
 * check that supersedes a transfer, bad checks, the push of a change
 * to a worker known to be in sync, and the metrics of sync rounds, files
 * and a worker's lag.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <ev.h>

#include "base/buf.h"
#include "base/config.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/node.h"
#include "master/msync.h"
#include "net/link.h"
#include "sync/bundle.h"
#include "sync/integ.h"

#include "helpers/fixture.h"

#define GUARD_SECONDS	5.0

/* ---- the fake link: what msync sent ---- */

struct sent {
	uint8_t	 type;		/* FRAME_* */
	int	 error;		/* a response with FRAME_F_ERROR */
	cJSON	*body;		/* JSON frames */
};

static struct {
	struct sent	 f[256];
	size_t		 n;
	struct buf	 data;		/* SYNC_DATA payloads, concatenated */
	int		 congested;
	size_t		 out_high;	/* what msync asked to queue at most */
	int		 by_bytes;	/* congested once out_high is queued */
	size_t		 queued;	/* since the last drain */
	size_t		 max_queued;
} L;

static void
record(uint8_t type, int error, const cJSON *body)
{
	assert_true(L.n < sizeof(L.f) / sizeof(L.f[0]));
	L.f[L.n].type = type;
	L.f[L.n].error = error;
	L.f[L.n].body = body != NULL ? cJSON_Duplicate(body, 1) : NULL;
	L.n++;
}

int
link_notify(struct link *l, uint8_t type, const cJSON *body)
{
	(void)l;
	record(type, 0, body);
	return 0;
}

int
link_respond(struct link *l, const struct frame_hdr *req, int error,
    const cJSON *body)
{
	(void)l;
	record(req->type, error, body);
	return 0;
}

int
link_respond_error(struct link *l, const struct frame_hdr *req,
    const char *reason)
{
	cJSON	*j = cJSON_CreateObject();

	(void)l;
	cJSON_AddStringToObject(j, "error", reason);
	record(req->type, 1, j);
	cJSON_Delete(j);
	return 0;
}

/* A body msync wrote as text must be one JSON object: recorded parsed. */
static void
record_text(uint8_t type, const char *json, size_t len)
{
	cJSON	*j = cJSON_ParseWithLength(json, len);

	if (!cJSON_IsObject(j))
		fail_msg("msync sent a body that is not one JSON object: %.*s",
		    (int)(len < 200 ? len : 200), json);
	record(type, 0, j);
	cJSON_Delete(j);
}

int
link_notify_text(struct link *l, uint8_t type, const char *json, size_t len)
{
	(void)l;
	record_text(type, json, len);
	return 0;
}

int
link_respond_text(struct link *l, const struct frame_hdr *req,
    const char *json, size_t len)
{
	(void)l;
	record_text(req->type, json, len);
	return 0;
}

int
link_send_frame(struct link *l, uint8_t type, uint8_t flags, uint32_t id,
    const void *payload, size_t len)
{
	(void)l;
	(void)id;
	assert_int_equal(type, FRAME_SYNC_DATA);
	assert_true(flags & FRAME_F_BINARY);
	assert_int_equal(buf_append(&L.data, payload, len), 0);
	L.queued += len;
	if (L.queued > L.max_queued)
		L.max_queued = L.queued;
	return 0;
}

int
link_congested(const struct link *l)
{
	(void)l;
	return L.congested || (L.by_bytes && L.queued > L.out_high);
}

void
link_set_out_high(struct link *l, size_t bytes)
{
	(void)l;
	L.out_high = bytes;
}

static void
sent_clear(void)
{
	size_t	i;

	for (i = 0; i < L.n; i++)
		cJSON_Delete(L.f[i].body);
	L.n = 0;
	buf_reset(&L.data);
}

/* The last frame of that type msync sent; fails when there is none. */
static const struct sent *
last(uint8_t type)
{
	size_t	i;

	for (i = L.n; i > 0; i--)
		if (L.f[i - 1].type == type)
			return &L.f[i - 1];
	fail_msg("no frame of type %u was sent", type);
	return NULL;
}

static size_t
count(uint8_t type)
{
	size_t	i, k = 0;

	for (i = 0; i < L.n; i++)
		k += L.f[i].type == type;
	return k;
}

/* ---- the fixture: a master home and a worker home ---- */

struct fixture {
	struct fx_homes		*h;
	struct node		 node;
	struct msync_peer	*peer;
	char			 logpath[256];
};

static int
setup(void **state)
{
	struct fixture	*f;
	struct config	*c;

	assert_non_null(f = calloc(1, sizeof(*f)));
	fx_homes_setup((void **)&f->h);
	fx_puts(f->h->master, "etc/rules/a.xml", "<rule id=\"1\"/>\n");
	fx_puts(f->h->master, "etc/rules/b.xml", "<rule id=\"2\"/>\n");
	fx_puts(f->h->master, "etc/lists/bad-ips", "192.0.2.1:\n");
	fx_puts(f->h->master, "etc/shared/default/agent.conf", "<agent_config/>\n");
	c = &f->node.cfg;
	config_defaults(c);
	snprintf(c->node_name, sizeof(c->node_name), "master1");
	c->node_type = NODE_MASTER;
	snprintf(c->home, sizeof(c->home), "%s", f->h->master);
	snprintf(f->logpath, sizeof(f->logpath), "%s/msync.log", f->h->base);
	assert_int_equal(log_init(f->logpath, 0, LOG_LVL_INFO), 0);
	assert_non_null(f->node.loop = ev_loop_new(EVFLAG_AUTO));
	buf_init(&L.data);
	L.congested = 0;
	L.by_bytes = 0;
	L.queued = L.max_queued = 0;
	assert_int_equal(msync_start(&f->node), 0);
	/* The link pointer is only handed back to the fakes. */
	assert_non_null(f->peer = msync_peer_new((struct link *)&L, "worker1"));
	msync_peer_ready(f->peer);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*f = *state;

	msync_peer_free(f->peer);
	msync_stop();
	ev_loop_destroy(f->node.loop);
	log_close();
	sent_clear();
	buf_free(&L.data);
	fx_homes_teardown((void **)&f->h);
	free(f);
	return 0;
}

/* ---- talking to msync as a worker does ---- */

static void
check_with(struct fixture *f, cJSON *body)
{
	struct frame_hdr	h = { 0 };

	h.type = FRAME_INTEGRITY;
	h.id = 7;
	assert_int_equal(msync_on_request(f->peer, &h, body), 1);
	cJSON_Delete(body);
}

/* The worker's whole index: a scan of its home, as JSON. */
static cJSON *
worker_index(const struct fixture *f)
{
	struct integ_index	*w;
	cJSON			*j;

	assert_non_null(w = integ_scan(f->h->worker, NULL));
	j = integ_to_json(w);
	integ_unref(w);
	return j;
}

/* The digest alone, the worker's cheap first question. */
static cJSON *
worker_digest(const struct fixture *f)
{
	cJSON	*j = worker_index(f), *d;

	d = cJSON_DetachItemFromObjectCaseSensitive(j, "digest");
	cJSON_Delete(j);
	j = cJSON_CreateObject();
	cJSON_AddItemToObject(j, "digest", d);
	return j;
}

/* Make the worker's home hold the same files as the master's. */
static void
copy_to_worker(const struct fixture *f, const char *rel)
{
	char	 p[512];
	uint8_t	*s;
	size_t	 n;

	snprintf(p, sizeof(p), "%s/%s", f->h->master, rel);
	assert_non_null(s = fx_slurp(p, &n));
	fx_put(f->h->worker, rel, s, n);
	free(s);
}

static void
same_trees(const struct fixture *f)
{
	copy_to_worker(f, "etc/rules/a.xml");
	copy_to_worker(f, "etc/rules/b.xml");
	copy_to_worker(f, "etc/lists/bad-ips");
	copy_to_worker(f, "etc/shared/default/agent.conf");
}

static const char *
str(const cJSON *j, const char *k)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(j, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int
flag(const cJSON *j, const char *k)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, k));
}

/* The paths of a plan's list ("create", "update": [path, md5, mode]). */
static int
lists(const cJSON *plan, const char *list, const char *path)
{
	const cJSON	*e;

	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(plan, list)) {
		const cJSON *p = cJSON_IsArray(e) ? cJSON_GetArrayItem(e, 0) : e;

		if (cJSON_IsString(p) && strcmp(p->valuestring, path) == 0)
			return 1;
	}
	return 0;
}

static int
size_of(const cJSON *plan, const char *list)
{
	return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(plan, list));
}

/*
 * Decode what msync streamed with the worker's decoder, expecting the
 * plan's creates and updates: each arrives whole with its MD5.
 */
static void
decode_bundle(const struct fixture *f, const cJSON *plan)
{
	struct bundle_file	 files[16];
	struct bundle_dec	*d;
	const cJSON		*e;
	char			 err[256];
	size_t			 n = 0, i;
	const char		*lst[2] = { "create", "update" };

	memset(files, 0, sizeof(files));
	for (i = 0; i < 2; i++)
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(plan,
		    lst[i])) {
			assert_true(n < 16);
			files[n].path = cJSON_GetArrayItem(e, 0)->valuestring;
			assert_int_equal(integ_unhex(
			    cJSON_GetArrayItem(e, 1)->valuestring,
			    files[n].md5), 0);
			files[n].mode = (mode_t)
			    cJSON_GetArrayItem(e, 2)->valuedouble;
			files[n].is_new = i == 0;
			n++;
		}
	assert_non_null(d = bundle_dec_new(f->h->worker, files, n));
	if (bundle_dec_feed(d, buf_head(&L.data), buf_used(&L.data), err,
	    sizeof(err)) == -1 || bundle_dec_finish(d, err, sizeof(err)) == -1)
		fail_msg("the bundle does not decode: %s", err);
	for (i = 0; i < n; i++)
		if (!files[i].received)
			fail_msg("%s missing from the bundle", files[i].path);
	bundle_dec_abort(d);		/* removes the temp files */
	bundle_dec_free(d);
	for (i = 0; i < n; i++)
		free(files[i].tmpname);
}

/* ---- the answers to a check ---- */

static void
test_in_sync(void **state)
{
	struct fixture		*f = *state;
	const struct sent	*s;

	same_trees(f);
	sent_clear();
	check_with(f, worker_digest(f));
	s = last(FRAME_INTEGRITY);
	assert_false(s->error);
	assert_true(flag(s->body, "in_sync"));
	assert_int_equal(count(FRAME_SYNC_DATA), 0);
	assert_int_equal(buf_used(&L.data), 0);
}

/* A digest that differs, without an index: msync asks for the index. */
static void
test_needs_index(void **state)
{
	struct fixture		*f = *state;
	const struct sent	*s;

	sent_clear();
	check_with(f, worker_digest(f));
	s = last(FRAME_INTEGRITY);
	assert_false(s->error);
	assert_false(flag(s->body, "in_sync"));
	assert_true(flag(s->body, "need_index"));
	assert_int_equal(buf_used(&L.data), 0);
}

/* Missing files are created, changed ones updated, extra ones deleted. */
static void
test_plan(void **state)
{
	struct fixture		*f = *state;
	const struct sent	*s;
	const cJSON		*plan;

	copy_to_worker(f, "etc/rules/a.xml");
	fx_puts(f->h->worker, "etc/rules/b.xml", "<rule id=\"old\"/>\n");
	fx_puts(f->h->worker, "etc/rules/gone.xml", "<rule id=\"9\"/>\n");
	sent_clear();
	check_with(f, worker_index(f));
	s = last(FRAME_INTEGRITY);
	assert_false(s->error);
	plan = s->body;
	assert_false(flag(plan, "in_sync"));
	assert_false(flag(plan, "more"));
	assert_int_equal(size_of(plan, "create"), 2);
	assert_true(lists(plan, "create", "etc/lists/bad-ips"));
	assert_true(lists(plan, "create", "etc/shared/default/agent.conf"));
	assert_int_equal(size_of(plan, "update"), 1);
	assert_true(lists(plan, "update", "etc/rules/b.xml"));
	assert_int_equal(size_of(plan, "delete"), 1);
	assert_true(lists(plan, "delete", "etc/rules/gone.xml"));
	assert_non_null(str(plan, "digest"));
	assert_non_null(str(plan, "base"));
	assert_string_not_equal(str(plan, "digest"), str(plan, "base"));

	/* The bundle follows at once, then its end. */
	assert_true(buf_used(&L.data) > 0);
	s = last(FRAME_SYNC_END);
	assert_true(flag(s->body, "ok"));
	decode_bundle(f, plan);
}

/*
 * A round carries at most sync_max_bundle bytes of files, but always one
 * file, and says there is more.
 */
static void
test_bundle_limit(void **state)
{
	struct fixture		*f = *state;
	const struct sent	*s;
	char			 big[4096];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	fx_puts(f->h->master, "etc/lists/big", big);
	msync_stop();
	assert_int_equal(msync_start(&f->node), 0);	/* rescan */
	f->node.cfg.sync_max_bundle = 100;
	sent_clear();
	check_with(f, worker_index(f));
	s = last(FRAME_INTEGRITY);
	assert_true(flag(s->body, "more"));
	assert_int_equal(size_of(s->body, "create") +
	    size_of(s->body, "update"), 1);
	decode_bundle(f, s->body);

	f->node.cfg.sync_max_bundle = 10;		/* below any file */
	sent_clear();
	check_with(f, worker_index(f));
	s = last(FRAME_INTEGRITY);
	assert_int_equal(size_of(s->body, "create"), 1);
	assert_true(flag(s->body, "more"));
}

/* While the link is congested nothing is sent; a drain resumes. */
static void
test_back_pressure(void **state)
{
	struct fixture		*f = *state;
	const struct sent	*s;
	const cJSON		*plan;

	L.congested = 1;
	sent_clear();
	check_with(f, worker_index(f));
	s = last(FRAME_INTEGRITY);
	plan = s->body;
	assert_int_equal(size_of(plan, "create"), 4);
	assert_int_equal(buf_used(&L.data), 0);
	assert_int_equal(count(FRAME_SYNC_END), 0);
	msync_on_drain(f->peer);		/* still congested */
	assert_int_equal(buf_used(&L.data), 0);
	L.congested = 0;
	msync_on_drain(f->peer);
	assert_true(flag(last(FRAME_SYNC_END)->body, "ok"));
	decode_bundle(f, plan);
}

/*
 * A bundle larger than the link's mark goes out in steps: each drain lets
 * msync queue about the mark and no more, so the master's memory per
 * worker does not grow with the tree.
 */
static void
test_streams_in_steps(void **state)
{
	struct fixture		*f = *state;
	const struct sent	*s;
	uint8_t			*blob;
	size_t			 i, n = 3 * 1024 * 1024, steps = 0;
	uint32_t		 x = 1;

	/* Incompressible: compressed about as large as it is. */
	assert_non_null(blob = malloc(n));
	for (i = 0; i < n; i++) {
		x = x * 1103515245 + 12345;
		blob[i] = (uint8_t)(x >> 16);
	}
	fx_put_mode(f->h->master, "etc/lists/huge", blob, n, 0644);
	free(blob);
	msync_stop();
	assert_int_equal(msync_start(&f->node), 0);	/* rescan */
	/* msync asked the link for a small queue. */
	assert_true(L.out_high > 0 && L.out_high <= 1024 * 1024);
	L.by_bytes = 1;
	sent_clear();
	check_with(f, worker_index(f));
	while (count(FRAME_SYNC_END) == 0) {
		assert_true(steps++ < 100);
		L.queued = 0;			/* the link drained */
		msync_on_drain(f->peer);
	}
	assert_true(steps >= 2);
	/* One frame past the mark at most. */
	assert_true(L.max_queued <= L.out_high + 256 * 1024);
	assert_true(buf_used(&L.data) > n);
	s = last(FRAME_INTEGRITY);
	assert_true(flag(last(FRAME_SYNC_END)->body, "ok"));
	decode_bundle(f, s->body);
}

/* A new check while a transfer is in flight ends it as superseded. */
static void
test_superseded(void **state)
{
	struct fixture		*f = *state;
	const struct sent	*s;

	L.congested = 1;
	sent_clear();
	check_with(f, worker_index(f));
	assert_int_equal(count(FRAME_SYNC_END), 0);
	check_with(f, worker_index(f));
	s = last(FRAME_SYNC_END);
	assert_false(flag(s->body, "ok"));
	assert_non_null(strstr(str(s->body, "error"), "superseded"));
	assert_int_equal(count(FRAME_INTEGRITY), 2);
	L.congested = 0;
	msync_on_drain(f->peer);
	assert_true(flag(last(FRAME_SYNC_END)->body, "ok"));
}

/* Checks msync cannot use are refused, and nothing is streamed. */
static void
test_bad_checks(void **state)
{
	struct fixture		*f = *state;
	cJSON			*j;
	const struct sent	*s;

	sent_clear();
	check_with(f, cJSON_CreateObject());
	s = last(FRAME_INTEGRITY);
	assert_true(s->error);
	assert_non_null(strstr(str(s->body, "error"), "digest"));

	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "digest", "not hex");
	check_with(f, j);
	assert_true(last(FRAME_INTEGRITY)->error);

	j = worker_index(f);		/* an index whose files are garbage */
	cJSON_ReplaceItemInObjectCaseSensitive(j, "files",
	    cJSON_CreateString("x"));
	cJSON_ReplaceItemInObjectCaseSensitive(j, "digest",
	    cJSON_CreateString("00000000000000000000000000000000"));
	check_with(f, j);
	assert_true(last(FRAME_INTEGRITY)->error);
	assert_int_equal(buf_used(&L.data), 0);
	assert_int_equal(count(FRAME_SYNC_END), 0);
}

static void
guard_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)revents;
	(void)t;
	ev_break(loop, EVBREAK_ALL);
}

/*
 * A worker known to hold the master's tree gets a change pushed, with
 * only the difference, as soon as a scan sees it.
 */
static void
test_push(void **state)
{
	struct fixture		*f = *state;
	const struct sent	*s;
	ev_timer		 guard;
	double			 until;

	same_trees(f);
	check_with(f, worker_digest(f));
	assert_true(flag(last(FRAME_INTEGRITY)->body, "in_sync"));
	sent_clear();
	fx_puts(f->h->master, "etc/rules/b.xml", "<rule id=\"2b\"/>\n");
	/* The watch (inotify) sees the write and asks for a scan; the guard
	 * wakes the loop so that the wait is bounded. */
	ev_timer_init(&guard, guard_cb, 0.05, 0.05);
	ev_timer_start(f->node.loop, &guard);
	until = ev_time() + GUARD_SECONDS;
	while (count(FRAME_SYNC_END) == 0 && ev_time() < until)
		ev_run(f->node.loop, 0);
	ev_timer_stop(f->node.loop, &guard);
	s = last(FRAME_SYNC_PUSH);
	assert_int_equal(size_of(s->body, "create"), 0);
	assert_int_equal(size_of(s->body, "update"), 1);
	assert_true(lists(s->body, "update", "etc/rules/b.xml"));
	assert_int_equal(size_of(s->body, "delete"), 0);
	assert_true(flag(last(FRAME_SYNC_END)->body, "ok"));
	decode_bundle(f, s->body);
}

/* ---- metrics ---- */

static void
collect_peer(struct metrics *m, void *arg)
{
	msync_peer_metrics(arg, m, "worker1");
}

/* The value of series in a scrape; fails when it is not there. */
static double
metric(const char *series)
{
	char	*text, *p, needle[256];
	size_t	 len;
	double	 v;

	snprintf(needle, sizeof(needle), "\n%s ", series);
	assert_non_null(text = metrics_scrape(&len));
	if ((p = strstr(text, needle)) == NULL ||
	    sscanf(p + strlen(needle), "%lf", &v) != 1)
		fail_msg("no %s in:\n%s", series, text);
	free(text);
	return v;
}

/*
 * A worker behind the master lags from its connect; once a check shows
 * it in sync it lags 0.  Its reported round counts, with its seconds.
 */
static void
test_metrics(void **state)
{
	struct fixture		*f = *state;
	struct frame_hdr	 h = { 0 };
	cJSON			*res;

	assert_int_equal(metrics_register(collect_peer, f->peer), 0);
	assert_true(metric("clusterd_sync_files") == 4);
	assert_true(metric("clusterd_sync_rounds_total") == 0);
	usleep(30000);
	ev_now_update(f->node.loop);
	check_with(f, worker_digest(f));
	assert_true(metric("clusterd_peer_in_sync{peer=\"worker1\"}") == 0);
	assert_true(metric("clusterd_peer_sync_lag_seconds{peer=\"worker1\"}")
	    >= 0.02);
	assert_true(msync_peer_lag(f->peer) >= 0.02);	/* -l for a standby */
	same_trees(f);
	check_with(f, worker_digest(f));
	assert_true(metric("clusterd_peer_in_sync{peer=\"worker1\"}") == 1);
	assert_true(metric("clusterd_peer_sync_lag_seconds{peer=\"worker1\"}")
	    == 0);
	assert_true(msync_peer_lag(f->peer) == 0);
	h.type = FRAME_SYNC_RESULT;
	h.id = 9;
	res = cJSON_Parse("{\"transfer\":1,\"created\":1,\"took\":0.5}");
	assert_int_equal(msync_on_request(f->peer, &h, res), 1);
	cJSON_Delete(res);
	assert_true(metric("clusterd_sync_rounds_total") == 1);
	assert_true(metric("clusterd_sync_seconds_total") == 0.5);
	assert_true(metric("clusterd_peer_sync_last_seconds{peer=\"worker1\"}")
	    == 0.5);
	metrics_unregister(collect_peer, f->peer);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_in_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_needs_index, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_plan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bundle_limit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_back_pressure, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_streams_in_steps, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_superseded, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_checks, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_push, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
