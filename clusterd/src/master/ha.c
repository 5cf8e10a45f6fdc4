#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "agent/agents.h"
#include "agent/enroll.h"
#include "base/config.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/node.h"
#include "master/ha.h"
#include "master/ha_int.h"
#include "master/ha_record.h"
#include "master/master.h"
#include "master/mreg.h"
#include "master/mstandby.h"
#include "master/pools.h"
#include "master/registry.h"
#include "net/control.h"
#include "net/etcd.h"

#define TASK		HA_TASK
#define HOLDOFF_ENV	"CLUSTERD_HA_HOLDOFF"
#define LAG_PUBLISH_MIN		1.0	/* seconds: a lag worth publishing */
#define LAG_PUBLISH_EVERY	10.0	/* seconds between two while late */


#define STEP_DOWN_WAIT	2.0	/* most a planned step-down waits on agents */
static ev_timer	step_wait;	/* loop: a planned step-down's enrollments */
static double	step_by;
static int	handing_over;	/* loop: step_wait started; the node re-executes
				 * as a standby once it ends */
static ev_async	handover_async;	/* HA thread -> loop: a standby promoted */
static void	handover_cb(struct ev_loop *, ev_async *, int);

struct ha_shared H;	/* ha_int.h */

double
ha_mono(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void
ha_sleep_until(double t)
{
	struct timespec	ts;
	double		d = t - ha_mono();

	if (d <= 0)
		return;
	ts.tv_sec = (time_t)d;
	ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

/* The standby's lag: seconds since it last was at the head, and how far
 * behind the head it is, in revisions; 0 and 0 on the active master. */
static void
lag_locked(double now, double *secs, long long *behind)
{
	*secs = 0;
	*behind = 0;
	if (H.state == HA_ACTIVE)
		return;
	*behind = H.head > H.applied ? H.head - H.applied : 0;
	if (H.applied == 0 || *behind > 0 || now - H.probed > 2.0)
		*secs = now - H.caught;
}

char *
ha_key_b64(const char *rel)
{
	char	k[512];

	snprintf(k, sizeof(k), "%s%s", H.prefix, rel);
	return etcd_b64(k, strlen(k));
}

void
ha_add_b64(cJSON *o, const char *name, char *b64)
{
	cJSON_AddStringToObject(o, name, b64 ? b64 : "");
	free(b64);
}

void
ha_add_int(cJSON *o, const char *name, long long v)
{
	char	num[32];

	snprintf(num, sizeof(num), "%lld", v);
	cJSON_AddStringToObject(o, name, num);
}

/* The range_end that makes a range of every key under rel. */
char *
ha_prefix_end_b64(const char *rel)
{
	char	k[512];
	size_t	n;

	n = (size_t)snprintf(k, sizeof(k), "%s%s", H.prefix, rel);
	k[n - 1]++;		/* rel ends in '/': '0' follows */
	return etcd_b64(k, n);
}

static void
set_error(const char *what, const char *err)
{
	pthread_mutex_lock(&H.mu);
	if (strcmp(H.error, err) != 0)
		log_warnx(TASK, "%s: %s.", what, err);
	snprintf(H.error, sizeof(H.error), "%s", err);
	pthread_mutex_unlock(&H.mu);
}

static void
clear_error(void)
{
	pthread_mutex_lock(&H.mu);
	if (H.error[0] != '\0')
		log_info(TASK, "The cluster store answers again.");
	H.error[0] = '\0';
	pthread_mutex_unlock(&H.mu);
}

/*
 * Stop acting as master at once: every descriptor closes on exec, and the
 * same program starts again with the same arguments, as a standby (after
 * holdoff seconds, when it stepped down on purpose).  Nothing of the old
 * master survives to answer anyone.
 */
static void
reexec(double holdoff)
{
	char	 buf[8192], *argv[64], num[32];
	int	 fd, argc = 0;
	ssize_t	 n, i;

	if ((fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC)) == -1 ||
	    (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
		goto die;
	close(fd);
	buf[n] = '\0';
	for (i = 0; i < n && argc < 63; i += (ssize_t)strlen(buf + i) + 1)
		argv[argc++] = buf + i;
	argv[argc] = NULL;
	snprintf(num, sizeof(num), "%g", holdoff);
	setenv(HOLDOFF_ENV, num, 1);
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == -1) {
		DIR		*d = opendir("/proc/self/fd");
		struct dirent	*de;

		while (d != NULL && (de = readdir(d)) != NULL)
			if (atoi(de->d_name) > 2)
				fcntl(atoi(de->d_name), F_SETFD, FD_CLOEXEC);
	}
	execv("/proc/self/exe", argv);
die:
	log_errx(TASK, "Cannot start again as a standby: exiting.");
	_exit(1);
}

static void
depose(const char *why, double holdoff)
{
	log_errx(TASK, "No longer the active master (term %lld): %s. "
	    "Stopping at once; starting again as a standby.", H.term, why);
	reexec(holdoff);
}

void
ha_depose_now(const char *why)
{
	depose(why, 0);
}

static int
lease_grant(void)
{
	cJSON		*req = cJSON_CreateObject(), *ans;
	char		 err[256];
	double		 t0 = ha_mono();
	long long	 id, ttl;

	ha_add_int(req, "TTL", (long long)(H.ttl + 0.999));
	ans = etcd_call(&H.e, "/v3/lease/grant", req, err, sizeof(err));
	cJSON_Delete(req);
	if (ans == NULL) {
		set_error("Cannot get a lease", err);
		return -1;
	}
	id = etcd_int(ans, "ID");
	ttl = etcd_int(ans, "TTL");
	cJSON_Delete(ans);
	if (id == 0 || ttl <= 0) {
		set_error("Cannot get a lease", "no lease in the answer");
		return -1;
	}
	pthread_mutex_lock(&H.mu);
	H.lease = id;
	H.deadline = t0 + (double)ttl;
	pthread_mutex_unlock(&H.mu);
	return 0;
}

/* Renew the lease; 0, or -1 when it is gone or etcd did not answer. */
static int
lease_keepalive(void)
{
	cJSON		*req = cJSON_CreateObject(), *ans, *res;
	char		 err[256];
	double		 t0 = ha_mono();
	long long	 ttl;

	ha_add_int(req, "ID", H.lease);
	ans = etcd_call(&H.e, "/v3/lease/keepalive", req, err, sizeof(err));
	cJSON_Delete(req);
	if (ans == NULL) {
		set_error("Cannot renew the lease", err);
		return -1;
	}
	res = cJSON_GetObjectItemCaseSensitive(ans, "result");
	ttl = etcd_int(res, "TTL");
	cJSON_Delete(ans);
	if (ttl <= 0 && H.state == HA_ACTIVE)
		depose("etcd says its lease has ended", 0);
	pthread_mutex_lock(&H.mu);
	if (ttl > 0)
		H.deadline = t0 + (double)ttl;
	else
		H.lease = 0;	/* expired: a new one next round */
	pthread_mutex_unlock(&H.mu);
	return ttl > 0 ? 0 : -1;
}

static void
lease_revoke(void)
{
	cJSON	*req = cJSON_CreateObject(), *ans;
	char	 err[256];

	ha_add_int(req, "ID", H.lease);
	ans = etcd_call(&H.e, "/v3/lease/revoke", req, err, sizeof(err));
	cJSON_Delete(req);
	cJSON_Delete(ans);
}

/* Our value of the leader key and of our node key. */
static char *
self_value(const char *state)
{
	cJSON	*o = cJSON_CreateObject();
	char	*s, *b;

	cJSON_AddStringToObject(o, "node", H.node->cfg.node_name);
	cJSON_AddStringToObject(o, "address", H.node->cfg.bind_address);
	cJSON_AddNumberToObject(o, "port", H.node->cfg.port);
	cJSON_AddStringToObject(o, "state", state);
	cJSON_AddNumberToObject(o, "since", H.since);
	cJSON_AddNumberToObject(o, "term", (double)H.term);
	cJSON_AddNumberToObject(o, "restore_seconds", H.restore_secs);
	cJSON_AddNumberToObject(o, "lag_seconds", H.pub_lag);
	cJSON_AddNumberToObject(o, "revisions_behind", (double)H.pub_behind);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	b = s ? etcd_b64(s, strlen(s)) : NULL;
	free(s);
	return b;
}

cJSON *
ha_put_op(char *kb64, char *vb64, long long lease)
{
	cJSON	*op = cJSON_CreateObject(), *p = cJSON_CreateObject();

	ha_add_b64(p, "key", kb64);
	ha_add_b64(p, "value", vb64);
	if (lease != 0)
		ha_add_int(p, "lease", lease);
	cJSON_AddItemToObject(op, "request_put", p);
	return op;
}

static cJSON *
range_op(char *kb64)
{
	cJSON	*op = cJSON_CreateObject(), *r = cJSON_CreateObject();

	ha_add_b64(r, "key", kb64);
	cJSON_AddItemToObject(op, "request_range", r);
	return op;
}

cJSON *
ha_compare_create(long long rev)
{
	cJSON	*cmp = cJSON_CreateArray(), *c = cJSON_CreateObject();

	ha_add_b64(c, "key", ha_key_b64("leader"));
	cJSON_AddStringToObject(c, "target", "CREATE");
	cJSON_AddStringToObject(c, "result", "EQUAL");
	ha_add_int(c, "create_revision", rev);
	cJSON_AddItemToArray(cmp, c);
	return cmp;
}

/* A range's first kv: its value (decoded) and create revision. */
static char *
first_kv(const cJSON *range_resp, long long *create)
{
	const cJSON	*kvs = cJSON_GetObjectItemCaseSensitive(range_resp,
	    "kvs"), *kv = cJSON_GetArrayItem(kvs, 0), *v;
	size_t		 n;

	*create = 0;
	if (kv == NULL)
		return NULL;
	*create = etcd_int(kv, "create_revision");
	v = cJSON_GetObjectItemCaseSensitive(kv, "value");
	return cJSON_IsString(v) ? etcd_unb64(v->valuestring, &n) : NULL;
}

static void
note_leader(const char *value, long long create)
{
	cJSON		*o = value ? cJSON_Parse(value) : NULL;
	const cJSON	*n = cJSON_GetObjectItemCaseSensitive(o, "node");

	pthread_mutex_lock(&H.mu);
	snprintf(H.leader, sizeof(H.leader), "%s", cJSON_IsString(n) &&
	    config_valid_name(n->valuestring) ? n->valuestring : "");
	H.leader_term = create;
	pthread_mutex_unlock(&H.mu);
	cJSON_Delete(o);
}

/*
 * The election recipe: create <prefix>leader with our lease if nobody
 * holds it; else learn who does.  Our term is the key's create revision:
 * unique, increasing with every new holder, and what every write of ours
 * compares against.  Returns 1 when elected.
 */
static int
campaign(void)
{
	cJSON		*req = cJSON_CreateObject(), *ok, *fail, *ans, *r;
	char		 err[256], *val;
	long long	 create;
	int		 won = 0;

	cJSON_AddItemToObject(req, "compare", ha_compare_create(0));
	ok = cJSON_AddArrayToObject(req, "success");
	cJSON_AddItemToArray(ok, ha_put_op(ha_key_b64("leader"),
	    self_value("active"), H.lease));
	fail = cJSON_AddArrayToObject(req, "failure");
	cJSON_AddItemToArray(fail, range_op(ha_key_b64("leader")));
	ans = etcd_call(&H.e, "/v3/kv/txn", req, err, sizeof(err));
	cJSON_Delete(req);
	if (ans == NULL) {
		set_error("Cannot campaign", err);
		return 0;
	}
	clear_error();
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ans, "succeeded"))) {
		create = etcd_int(cJSON_GetObjectItemCaseSensitive(ans,
		    "header"), "revision");
		note_leader(NULL, create);
		pthread_mutex_lock(&H.mu);
		snprintf(H.leader, sizeof(H.leader), "%s",
		    H.node->cfg.node_name);
		H.term = create;
		H.state = HA_ACTIVE;
		H.since = node_wall_now();
		pthread_mutex_unlock(&H.mu);
		won = 1;
	} else {
		r = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ans,
		    "responses"), 0);
		val = first_kv(cJSON_GetObjectItemCaseSensitive(r,
		    "response_range"), &create);
		note_leader(val, create);
		free(val);
	}
	cJSON_Delete(ans);
	return won;
}

/* Is the leader key still the one we created?  -1 when etcd is silent. */
static int
still_leader(void)
{
	cJSON		*req = cJSON_CreateObject(), *ans;
	char		 err[256], *val;
	long long	 create;

	ha_add_b64(req, "key", ha_key_b64("leader"));
	ans = etcd_call(&H.e, "/v3/kv/range", req, err, sizeof(err));
	cJSON_Delete(req);
	if (ans == NULL) {
		set_error("Cannot read the leader key", err);
		return -1;
	}
	val = first_kv(ans, &create);
	free(val);
	cJSON_Delete(ans);
	return create == H.term;
}

/*
 * The lag a standby publishes in its nodes/<name> key, for -l and -i on
 * every node.  Each write is a revision that etcd keeps until compacted
 * and that every standby's follower reads once more: so the key changes
 * when the standby falls LAG_PUBLISH_MIN behind or catches up again, and
 * while it stays behind, every LAG_PUBLISH_EVERY at most.
 */
static void
publish_lag(void)
{
	double		 lag, now = ha_mono();
	long long	 behind;
	int		 late, was = H.pub_lag >= LAG_PUBLISH_MIN;

	pthread_mutex_lock(&H.mu);
	lag_locked(now, &lag, &behind);
	pthread_mutex_unlock(&H.mu);
	late = lag >= LAG_PUBLISH_MIN;
	if (late == was && (!late || now - H.pub_at < LAG_PUBLISH_EVERY))
		return;
	H.pub_lag = late ? (double)(long long)(lag * 10) / 10 : 0;
	H.pub_behind = late ? behind : 0;
	H.pub_at = now;
}

/*
 * Keep <prefix>nodes/<name> (under our lease) and read every node's.
 * Written only when it changes: each write is a new revision that etcd
 * keeps until compacted.
 */
static void
refresh_nodes(const char *state)
{
	static char		*published;
	static long long	 published_lease;
	cJSON			*req, *ans, *list, *kv;
	char			 rel[CONFIG_NAME_MAX + 8], err[256], *v, *mine;
	size_t			 n;

	publish_lag();
	mine = self_value(state);
	if (mine != NULL && (published == NULL || published_lease != H.lease ||
	    strcmp(published, mine) != 0)) {
		snprintf(rel, sizeof(rel), "nodes/%s", H.node->cfg.node_name);
		req = ha_put_op(ha_key_b64(rel), strdup(mine), H.lease);
		ans = etcd_call(&H.e, "/v3/kv/put", cJSON_GetObjectItem(req,
		    "request_put"), err, sizeof(err));
		cJSON_Delete(req);
		if (ans != NULL) {
			free(published);
			published = mine;
			mine = NULL;
			published_lease = H.lease;
		}
		cJSON_Delete(ans);
	}
	free(mine);
	req = cJSON_CreateObject();
	ha_add_b64(req, "key", ha_key_b64("nodes/"));
	ha_add_b64(req, "range_end", ha_prefix_end_b64("nodes/"));
	ans = etcd_call(&H.e, "/v3/kv/range", req, err, sizeof(err));
	cJSON_Delete(req);
	if (ans == NULL)
		return;
	list = cJSON_CreateArray();
	cJSON_ArrayForEach(kv, cJSON_GetObjectItemCaseSensitive(ans, "kvs")) {
		const cJSON *val = cJSON_GetObjectItemCaseSensitive(kv,
		    "value");
		cJSON	*o;

		if (!cJSON_IsString(val) || (v = etcd_unb64(val->valuestring,
		    &n)) == NULL)
			continue;
		if ((o = cJSON_Parse(v)) != NULL && cJSON_IsObject(o))
			cJSON_AddItemToArray(list, o);
		else
			cJSON_Delete(o);
		free(v);
	}
	cJSON_Delete(ans);
	pthread_mutex_lock(&H.mu);
	cJSON_Delete(H.nodes);
	H.nodes = list;
	pthread_mutex_unlock(&H.mu);
}

/*
 * A planned promotion: the standby asked to take over writes its name in
 * <prefix>handover, under its own lease (gone if it dies).  While that
 * key names another node, the active master steps down and the other
 * standbys do not campaign, so the named one wins.  Read every round.
 */
static void
read_handover(void)
{
	cJSON		*req = cJSON_CreateObject(), *ans;
	char		 err[256], *val;
	long long	 create;

	ha_add_b64(req, "key", ha_key_b64("handover"));
	ans = etcd_call(&H.e, "/v3/kv/range", req, err, sizeof(err));
	cJSON_Delete(req);
	if (ans == NULL)
		return;
	val = first_kv(ans, &create);
	pthread_mutex_lock(&H.mu);
	snprintf(H.handover, sizeof(H.handover), "%s", val != NULL &&
	    config_valid_name(val) ? val : "");
	pthread_mutex_unlock(&H.mu);
	free(val);
	cJSON_Delete(ans);
}

static void
write_handover(int clear)
{
	const char	*me = H.node->cfg.node_name;
	cJSON		*req, *ans;
	char		 err[256];

	if (clear) {
		req = cJSON_CreateObject();
		ha_add_b64(req, "key", ha_key_b64("handover"));
		ans = etcd_call(&H.e, "/v3/kv/deleterange", req, err,
		    sizeof(err));
	} else {
		req = ha_put_op(ha_key_b64("handover"), etcd_b64(me, strlen(me)),
		    H.lease);
		ans = etcd_call(&H.e, "/v3/kv/put", cJSON_GetObjectItem(req,
		    "request_put"), err, sizeof(err));
	}
	cJSON_Delete(req);
	if (ans == NULL)
		set_error("Cannot write the handover key", err);
	cJSON_Delete(ans);
}

/*
 * The HA thread.  Each round (a sixth of the lease, at most 0.5 s): keep
 * the lease, then as a standby campaign, as the active master check that
 * the lease cannot have ended and the leader key is still ours.  The
 * active master steps down when its lease was last renewed so long ago
 * that etcd may already have let it go (a fifth of the lease early, for
 * clocks that drift); a hung process finds this out the moment it runs
 * again, here or in the loop's watch (watch_cb), whichever runs first;
 * whatever else it does meanwhile cannot become durable (fencing).
 */
static void *
ha_main(void *arg)
{
	double		 round = H.ttl / 6 > 0.5 ? 0.5 : H.ttl / 6;
	double		 t0, next_ka = 0, margin = H.ttl / 5;
	enum ha_state	 st;
	int		 quit, step, promote, other, named;
	double		 handing = 0;	/* when a promotion was first seen */

	(void)arg;
	for (;;) {
		t0 = ha_mono();
		pthread_mutex_lock(&H.mu);
		quit = H.quit;
		st = H.state;
		step = H.step_down;
		promote = H.promote;
		/* Kept until acted on: a round without a lease must not
		 * lose a promotion the operator was told is under way. */
		if (st != HA_STANDBY || H.lease != 0)
			H.promote = 0;
		pthread_mutex_unlock(&H.mu);
		if (quit)
			break;
		if (st == HA_ACTIVE && t0 > H.deadline - margin)
			depose("its lease was not renewed in time", 0);
		if (H.lease == 0) {
			if (lease_grant() == 0)
				next_ka = t0 + H.ttl / 3;
		} else if (t0 >= next_ka && lease_keepalive() == 0) {
			clear_error();
			next_ka = t0 + H.ttl / 3;
		}
		if (promote && st == HA_STANDBY && H.lease != 0) {
			write_handover(0);
			log_info(TASK, "Taking over: the active master is asked "
			    "to step down.");
		}
		read_handover();
		pthread_mutex_lock(&H.mu);
		named = strcmp(H.handover, H.node->cfg.node_name) == 0;
		other = H.handover[0] != '\0' && !named;
		pthread_mutex_unlock(&H.mu);
		if (st == HA_ACTIVE) {
			/* A promotion: answer the enrollments under way as a
			 * step-down does (the loop's step_wait), then go; a
			 * loop that does not get there in time is not
			 * waited for. */
			if (other && handing == 0) {
				handing = t0;
				ev_async_send(H.node->loop, &handover_async);
			}
			if (other && (step ||
			    t0 > handing + STEP_DOWN_WAIT + 1)) {
				lease_revoke();
				depose("handing over to the node promoted",
				    3 * H.ttl);
			}
			if (ha_mono() > H.deadline - margin)
				depose("its lease was not renewed in time", 0);
			if (still_leader() == 0)
				depose("another node holds the leader key", 0);
			ha_pools_publish();
			if (step) {
				lease_revoke();
				depose("asked to step down", 3 * H.ttl);
			}
		} else if (H.lease != 0 && (t0 >= H.holdoff || named) &&
		    !other) {
			if (campaign()) {
				if (H.handover[0] != '\0')
					write_handover(1);
				log_info(TASK, "Elected active master, term "
				    "%lld.", H.term);
				ev_async_send(H.node->loop, &H.async);
			}
		}
		if (H.lease != 0)
			refresh_nodes(H.state == HA_ACTIVE ? "active" :
			    "standby");
		ha_sleep_until(t0 + round);
	}
	if (H.lease != 0)
		lease_revoke();		/* planned stop: no wait for expiry */
	return NULL;
}

/*
 * The loop checks the lease's deadline too, every 0.1 s: the HA thread
 * may be waiting on an etcd member that does not answer, and the loop
 * must not serve a moment longer than the lease may hold.
 */
static void
watch_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	double	deadline;

	(void)loop;
	(void)t;
	(void)revents;
	pthread_mutex_lock(&H.mu);
	deadline = H.deadline;
	pthread_mutex_unlock(&H.mu);
	if (ha_mono() > deadline - H.ttl / 5)
		depose("its lease was not renewed in time", 0);
}

/* On the loop, once elected: restore the registry, then serve. */
static void
elected_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	double	t0 = ha_mono();

	(void)loop;
	(void)w;
	(void)revents;
	if (H.serving)
		return;
	H.serving = 1;
	ev_timer_init(&H.watch, watch_cb, 0.1, 0.1);
	ev_timer_start(H.node->loop, &H.watch);
	mstandby_stop();	/* the files are ours from now on */
	if (master_start(H.node) == -1)
		depose("the master role could not start", H.ttl);
	pthread_mutex_lock(&H.mu);
	H.restore_secs = ha_mono() - t0;
	pthread_mutex_unlock(&H.mu);
	log_info(TASK, "Serving as the active master, term %lld (started in "
	    "%.3fs; registry: %s, %u records read since revision %lld).",
	    H.term, H.restore_secs, H.restore_full ? "every record" :
	    "the tail", H.restore_records, H.restore_since);
}


static const struct metrics_def M_ACTIVE = {
	"clusterd_ha_active", METRICS_GAUGE,
	"1 while this master-eligible node is the active master, else 0."
};
static const struct metrics_def M_TERM = {
	"clusterd_ha_term", METRICS_GAUGE,
	"The active master's term (the leader key's create revision in etcd), "
	"as this node last saw it."
};
static const struct metrics_def M_STORE_UP = {
	"clusterd_ha_store_up", METRICS_GAUGE,
	"1 while etcd answered this node's last call, else 0."
};

static const struct metrics_def M_LAG = {
	"clusterd_ha_standby_lag_seconds", METRICS_GAUGE,
	"Seconds since this standby's copy of the registry last equaled the "
	"cluster store's head revision it saw; 0 while caught up and on the "
	"active master."
};
static const struct metrics_def M_BEHIND = {
	"clusterd_ha_standby_revisions_behind", METRICS_GAUGE,
	"Revisions of the cluster store this standby's copy of the registry "
	"has not applied yet; 0 on the active master."
};

static void
ha_metrics(struct metrics *m, void *arg)
{
	int		 store_up;
	long long	 lt, behind;
	double		 lag;

	(void)arg;
	pthread_mutex_lock(&H.mu);
	store_up = H.error[0] == '\0';
	lt = H.state == HA_ACTIVE ? H.term : H.leader_term;
	lag_locked(ha_mono(), &lag, &behind);
	pthread_mutex_unlock(&H.mu);
	metrics_put(m, &M_ACTIVE, ha_active() ? 1.0 : 0.0, NULL);
	metrics_put(m, &M_TERM, (double)lt, NULL);
	metrics_put(m, &M_STORE_UP, store_up ? 1.0 : 0.0, NULL);
	metrics_put(m, &M_LAG, lag, NULL);
	metrics_put(m, &M_BEHIND, (double)behind, NULL);
}

static const struct registry_replica ha_replica = {
	ha_replica_write,
	ha_replica_read,
};

int
ha_enabled(const struct config *c)
{
	return c->node_type == NODE_MASTER && c->ha_etcd[0] != '\0';
}


int
ha_start(struct node *n)
{
	char		 err[256];
	const char	*h = getenv(HOLDOFF_ENV);

	memset(&H, 0, sizeof(H));
	H.node = n;
	H.ttl = n->cfg.ha_lease_ttl;
	snprintf(H.prefix, sizeof(H.prefix), "/clusterd/%s/",
	    n->cfg.cluster_name);
	if (etcd_init(&H.e, n->cfg.ha_etcd, H.ttl / 4, err, sizeof(err)) ==
	    -1 || etcd_init(&H.we, n->cfg.ha_etcd, n->cfg.request_timeout,
	    err, sizeof(err)) == -1) {
		log_errx(TASK, "ha_etcd: %s.", err);
		return -1;
	}
	if (n->cfg.ha_etcd_ca[0] != '\0' && (etcd_tls(&H.e, n->cfg.ha_etcd_ca,
	    n->cfg.ha_etcd_cert, n->cfg.ha_etcd_key, err, sizeof(err)) == -1 ||
	    etcd_tls(&H.we, n->cfg.ha_etcd_ca, n->cfg.ha_etcd_cert,
	    n->cfg.ha_etcd_key, err, sizeof(err)) == -1)) {
		log_errx(TASK, "TLS to etcd: %s.", err);
		return -1;
	}
	H.holdoff = ha_mono() + (h != NULL ? atof(h) : 0);
	unsetenv(HOLDOFF_ENV);
	H.since = node_wall_now();
	pthread_mutex_init(&H.mu, NULL);
	registry_set_replica(&ha_replica);
	ev_async_init(&H.async, elected_cb);
	ev_async_start(n->loop, &H.async);
	ev_async_init(&handover_async, handover_cb);
	ev_async_start(n->loop, &handover_async);
	H.caught = ha_mono();
	if (pthread_create(&H.thread, NULL, ha_main, NULL) != 0) {
		log_errx(TASK, "Cannot start the HA thread.");
		return -1;
	}
	H.running = 1;
	ha_follow_start(n);
	metrics_register(ha_metrics, NULL);
	mstandby_start(n);	/* follow the active master's files */
	log_info(TASK, "Master-eligible node: standby until elected through "
	    "etcd at %s%s (lease %gs).", n->cfg.ha_etcd, H.e.tls ?
	    " over TLS" : "", H.ttl);
	return 0;
}

void
ha_stop(void)
{
	if (!H.running)
		return;
	mstandby_stop();
	if (H.serving) {
		ev_timer_stop(H.node->loop, &H.watch);
		ev_timer_stop(H.node->loop, &step_wait);
		master_stop();
	}
	pthread_mutex_lock(&H.mu);
	H.quit = 1;
	pthread_mutex_unlock(&H.mu);
	pthread_join(H.thread, NULL);
	ev_async_stop(H.node->loop, &H.async);
	ev_async_stop(H.node->loop, &handover_async);
	if (H.following) {
		pthread_join(H.fthread, NULL);
		ev_async_stop(H.node->loop, &H.fasync);
		H.following = 0;
	}
	if (!H.serving)
		mreg_standby_stop();
	cJSON_Delete(H.pending);
	H.pending = NULL;
	etcd_free(&H.e);
	etcd_free(&H.we);
	etcd_free(&H.fe);
	H.running = 0;
}

int
ha_active(void)
{
	int	on;

	if (!H.running)
		return 1;
	pthread_mutex_lock(&H.mu);
	on = H.state == HA_ACTIVE && ha_mono() < H.deadline - H.ttl / 5;
	pthread_mutex_unlock(&H.mu);
	return on && H.serving;
}

int
ha_handing_over(void)
{
	return handing_over;
}

int
ha_serving(void)
{
	return !H.running || H.serving;
}

long long
ha_term(void)
{
	long long	t;

	if (!H.running)
		return 0;
	pthread_mutex_lock(&H.mu);
	t = H.state == HA_ACTIVE ? H.term : 0;
	pthread_mutex_unlock(&H.mu);
	return t;
}

static cJSON *
status_json(void)
{
	cJSON		*o = cJSON_CreateObject(), *r;
	double		 lag;
	long long	 behind;

	pthread_mutex_lock(&H.mu);
	cJSON_AddStringToObject(o, "node", H.node->cfg.node_name);
	cJSON_AddStringToObject(o, "state", H.state == HA_ACTIVE ? "active" :
	    "standby");
	cJSON_AddNumberToObject(o, "term", (double)H.term);
	cJSON_AddStringToObject(o, "leader", H.leader);
	cJSON_AddNumberToObject(o, "leader_term", (double)H.leader_term);
	cJSON_AddStringToObject(o, "store", H.node->cfg.ha_etcd);
	cJSON_AddStringToObject(o, "store_error", H.error);
	cJSON_AddStringToObject(o, "handover", H.handover);
	cJSON_AddNumberToObject(o, "lease_ttl", H.ttl);
	cJSON_AddItemToObject(o, "since", node_time_json(H.since));
	cJSON_AddItemToObject(o, "masters", H.nodes ?
	    cJSON_Duplicate(H.nodes, 1) : cJSON_CreateArray());
	lag_locked(ha_mono(), &lag, &behind);
	r = cJSON_AddObjectToObject(o, "replication");
	cJSON_AddNumberToObject(r, "lag_seconds", lag);
	cJSON_AddNumberToObject(r, "revisions_behind", (double)behind);
	cJSON_AddNumberToObject(r, "applied_revision", (double)H.applied);
	cJSON_AddNumberToObject(r, "head_revision", (double)H.head);
	cJSON_AddNumberToObject(r, "reads_applied", (double)H.frounds);
	cJSON_AddNumberToObject(r, "records_applied", (double)H.frecords);
	cJSON_AddStringToObject(r, "error", H.ferror);
	r = cJSON_AddObjectToObject(o, "restore");
	cJSON_AddBoolToObject(r, "full", H.restore_full);
	cJSON_AddNumberToObject(r, "since_revision", (double)H.restore_since);
	cJSON_AddNumberToObject(r, "records", H.restore_records);
	cJSON_AddNumberToObject(r, "seconds", H.restore_secs);
	pthread_mutex_unlock(&H.mu);
	return o;
}

void
ha_annotate(cJSON *data)
{
	if (H.running)
		cJSON_AddItemToObject(data, "ha", status_json());
}

static void
reply_control(void *arg, cJSON *resp)
{
	control_reply(arg, resp);
}

/*
 * A planned step-down hands the role over once the agents already
 * connected to this master's enrollment port are answered (new ones are
 * refused meanwhile, and the balancers send them to a worker, which holds
 * them for the next master) and every enrollment decided is durable (an
 * enrollment the cluster store refuses once the lease is gone would be
 * refused to its agent): a handover refuses nobody.  The workers'
 * relays that come meanwhile get no answer (master.c): the link closes
 * when this node re-executes, and the worker sends them to the next
 * master.  At most STEP_DOWN_WAIT seconds.
 */
static void
step_wait_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)revents;
	if ((enroll_clients() > 0 || mreg_committing() > 0) &&
	    ev_now(loop) < step_by)
		return;
	ev_timer_stop(loop, t);
	pthread_mutex_lock(&H.mu);
	H.step_down = 1;
	pthread_mutex_unlock(&H.mu);
}

/* Close the enrollment port and wait for its clients (step_wait_cb). */
static void
step_wait_start(void)
{
	if (ev_is_active(&step_wait))
		return;
	handing_over = 1;
	enroll_quiesce();
	step_by = ev_now(H.node->loop) + STEP_DOWN_WAIT;
	ev_timer_init(&step_wait, step_wait_cb, 0.05, 0.05);
	ev_timer_start(H.node->loop, &step_wait);
}

/* The HA thread saw a standby promoted (--promote there). */
static void
handover_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	if (!H.serving)
		return;
	log_info(TASK, "A standby was promoted: handing over once the "
	    "enrollments under way are answered.");
	step_wait_start();
}

/*
 * The control socket of a master-eligible node: "ha" (the view),
 * "ha_step_down" (the active master gives up its lease and stays out of
 * the next election for a while), "ha_promote" (a standby asks to take
 * over); every other command only on the active master.  A standby answers with who is active.
 */
void
ha_control(struct control_client *cl, const cJSON *req, void *arg)
{
	const char	*cmd = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(req, "command"));
	char		 leader[CONFIG_NAME_MAX + 1];
	long long	 lt;

	if (cmd != NULL && strcmp(cmd, "ha") == 0) {
		control_reply(cl, control_ok(status_json()));
		return;
	}
	if (cmd != NULL && strcmp(cmd, "ha_step_down") == 0) {
		if (!ha_active()) {
			control_reply(cl, control_error("this node is not "
			    "the active master"));
			return;
		}
		log_info(TASK, "Stepping down, as asked by %s, once the "
		    "enrollments under way are answered.",
		    control_client_who(cl));
		step_wait_start();
		control_reply(cl, control_ok(cJSON_CreateString("stepping "
		    "down")));
		return;
	}
	if (cmd != NULL && strcmp(cmd, "ha_promote") == 0) {
		if (ha_active()) {
			control_reply(cl, control_error("this node is the "
			    "active master already"));
			return;
		}
		pthread_mutex_lock(&H.mu);
		H.promote = 1;
		pthread_mutex_unlock(&H.mu);
		log_info(TASK, "Promotion asked by %s.", control_client_who(cl));
		control_reply(cl, control_ok(cJSON_CreateString("taking "
		    "over")));
		return;
	}
	if (ha_active()) {
		master_control(cl, req, arg);
		return;
	}
	/* Read-only on a standby: its metrics, the master-eligible nodes,
	 * its copy of the registry. */
	if (mreg_standby_command(req, reply_control, cl))
		return;
	if (cmd != NULL && strcmp(cmd, "stats") == 0) {
		control_reply(cl, control_stats());
		return;
	}
	if (cmd != NULL && (strcmp(cmd, "nodes") == 0 || strcmp(cmd,
	    "health") == 0)) {
		cJSON	*data = cJSON_CreateObject();

		cJSON_AddStringToObject(data, "cluster_name",
		    H.node->cfg.cluster_name);
		cJSON_AddArrayToObject(data, "nodes");
		ha_annotate(data);
		control_reply(cl, control_ok(data));
		return;
	}
	pthread_mutex_lock(&H.mu);
	snprintf(leader, sizeof(leader), "%s", H.leader);
	lt = H.leader_term;
	pthread_mutex_unlock(&H.mu);
	control_reply(cl, control_error("%s is a standby master; the active "
	    "master is %s (term %lld)", H.node->cfg.node_name, leader[0] ?
	    leader : "not known", lt));
}
