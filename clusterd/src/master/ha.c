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
#include "base/config.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/node.h"
#include "master/ha.h"
#include "master/master.h"
#include "master/mstandby.h"
#include "master/registry.h"
#include "net/control.h"
#include "net/etcd.h"

#define TASK		"HA"
#define HOLDOFF_ENV	"CLUSTERD_HA_HOLDOFF"
#define TXN_OPS		100	/* etcd refuses more than 128 by default */
#ifndef RANGE_PAGE		/* tests build with a small one */
#define RANGE_PAGE	5000	/* keys per range answer when reading all */
#endif

enum ha_state { HA_STANDBY, HA_ACTIVE };

static struct {
	struct node	*node;
	struct etcd	 e;		/* the HA thread's client */
	struct etcd	 we;		/* the registry thread's client */
	char		 prefix[CONFIG_NAME_MAX + 16];
	double		 ttl;
	pthread_t	 thread;
	int		 running;
	ev_async	 async;
	ev_timer	 watch;		/* loop: the lease's deadline */
	int		 serving;	/* loop: the master role runs */
	pthread_mutex_t	 mu;
	/* under mu */
	int		 quit;
	enum ha_state	 state;
	long long	 term;		/* leader key's create revision */
	long long	 lease;
	double		 deadline;	/* monotonic: the lease may end after */
	double		 holdoff;	/* monotonic: no campaign before */
	double		 since;		/* wall: state since */
	int		 step_down;	/* asked by an operator */
	int		 promote;	/* asked by an operator, on a standby */
	char		 handover[CONFIG_NAME_MAX + 1];	/* <prefix>handover */
	char		 leader[CONFIG_NAME_MAX + 1];
	long long	 leader_term;
	char		 error[256];	/* last etcd failure, "" when fine */
	cJSON		*nodes;		/* <prefix>nodes/ as last read */
	double		 restore_secs;
} H;

static double
mono(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
sleep_until(double t)
{
	struct timespec	ts;
	double		d = t - mono();

	if (d <= 0)
		return;
	ts.tv_sec = (time_t)d;
	ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

static char *
key_b64(const char *rel)
{
	char	k[512];

	snprintf(k, sizeof(k), "%s%s", H.prefix, rel);
	return etcd_b64(k, strlen(k));
}

static void
add_b64(cJSON *o, const char *name, char *b64)
{
	cJSON_AddStringToObject(o, name, b64 ? b64 : "");
	free(b64);
}

static void
add_int(cJSON *o, const char *name, long long v)
{
	char	num[32];

	snprintf(num, sizeof(num), "%lld", v);
	cJSON_AddStringToObject(o, name, num);
}

/* The range_end that makes a range of every key under rel. */
static char *
prefix_end_b64(const char *rel)
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

static int
lease_grant(void)
{
	cJSON		*req = cJSON_CreateObject(), *ans;
	char		 err[256];
	double		 t0 = mono();
	long long	 id, ttl;

	add_int(req, "TTL", (long long)(H.ttl + 0.999));
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
	double		 t0 = mono();
	long long	 ttl;

	add_int(req, "ID", H.lease);
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

	add_int(req, "ID", H.lease);
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
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	b = s ? etcd_b64(s, strlen(s)) : NULL;
	free(s);
	return b;
}

static cJSON *
put_op(char *kb64, char *vb64, long long lease)
{
	cJSON	*op = cJSON_CreateObject(), *p = cJSON_CreateObject();

	add_b64(p, "key", kb64);
	add_b64(p, "value", vb64);
	if (lease != 0)
		add_int(p, "lease", lease);
	cJSON_AddItemToObject(op, "request_put", p);
	return op;
}

static cJSON *
range_op(char *kb64)
{
	cJSON	*op = cJSON_CreateObject(), *r = cJSON_CreateObject();

	add_b64(r, "key", kb64);
	cJSON_AddItemToObject(op, "request_range", r);
	return op;
}

static cJSON *
compare_create(long long rev)
{
	cJSON	*cmp = cJSON_CreateArray(), *c = cJSON_CreateObject();

	add_b64(c, "key", key_b64("leader"));
	cJSON_AddStringToObject(c, "target", "CREATE");
	cJSON_AddStringToObject(c, "result", "EQUAL");
	add_int(c, "create_revision", rev);
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

	cJSON_AddItemToObject(req, "compare", compare_create(0));
	ok = cJSON_AddArrayToObject(req, "success");
	cJSON_AddItemToArray(ok, put_op(key_b64("leader"),
	    self_value("active"), H.lease));
	fail = cJSON_AddArrayToObject(req, "failure");
	cJSON_AddItemToArray(fail, range_op(key_b64("leader")));
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

	add_b64(req, "key", key_b64("leader"));
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

	mine = self_value(state);
	if (mine != NULL && (published == NULL || published_lease != H.lease ||
	    strcmp(published, mine) != 0)) {
		snprintf(rel, sizeof(rel), "nodes/%s", H.node->cfg.node_name);
		req = put_op(key_b64(rel), strdup(mine), H.lease);
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
	add_b64(req, "key", key_b64("nodes/"));
	add_b64(req, "range_end", prefix_end_b64("nodes/"));
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

	add_b64(req, "key", key_b64("handover"));
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
		add_b64(req, "key", key_b64("handover"));
		ans = etcd_call(&H.e, "/v3/kv/deleterange", req, err,
		    sizeof(err));
	} else {
		req = put_op(key_b64("handover"), etcd_b64(me, strlen(me)),
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

	(void)arg;
	for (;;) {
		t0 = mono();
		pthread_mutex_lock(&H.mu);
		quit = H.quit;
		st = H.state;
		step = H.step_down;
		promote = H.promote;
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
			if (other) {
				lease_revoke();
				depose("handing over to the node promoted",
				    3 * H.ttl);
			}
			if (mono() > H.deadline - margin)
				depose("its lease was not renewed in time", 0);
			if (still_leader() == 0)
				depose("another node holds the leader key", 0);
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
		sleep_until(t0 + round);
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
	if (mono() > deadline - H.ttl / 5)
		depose("its lease was not renewed in time", 0);
}

/* On the loop, once elected: restore the registry, then serve. */
static void
elected_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	double	t0 = mono();

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
	H.restore_secs = mono() - t0;
	pthread_mutex_unlock(&H.mu);
	log_info(TASK, "Serving as the active master, term %lld (started in "
	    "%.3fs).", H.term, H.restore_secs);
}

static const char *
change_id(const cJSON *c)
{
	const cJSON	*a = cJSON_GetObjectItemCaseSensitive(c, "agent");

	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(a ? a :
	    c, "id"));
}

static cJSON *
delete_op(const char *pre, const char *id)
{
	cJSON	*op = cJSON_CreateObject(), *d = cJSON_CreateObject();
	char	 rel[64];

	snprintf(rel, sizeof(rel), "%s%s", pre, id);
	add_b64(d, "key", key_b64(rel));
	cJSON_AddItemToObject(op, "request_delete_range", d);
	return op;
}

static cJSON *
put_text(const char *pre, const char *id, const char *text)
{
	char	rel[64];

	snprintf(rel, sizeof(rel), "%s%s", pre, id);
	return put_op(key_b64(rel), etcd_b64(text, strlen(text)), 0);
}

/* One change as the operations of a transaction (at most 2). */
static void
add_change(cJSON *ops, const cJSON *c, const char *id, long long *next)
{
	const char	*op = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(c, "op"));
	const char	*g;
	char		*rec;
	long long	 n;

	if (op == NULL)
		return;
	if (strcmp(op, "put") == 0) {
		rec = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(c,
		    "agent"));
		cJSON_AddItemToArray(ops, put_text("a/", id, rec ? rec : ""));
		cJSON_AddItemToArray(ops, delete_op("g/", id));
		free(rec);
		n = (long long)cJSON_GetNumberValue(
		    cJSON_GetObjectItemCaseSensitive(c, "next_id"));
		if (n > *next)
			*next = n;
	} else if (strcmp(op, "del") == 0) {
		cJSON_AddItemToArray(ops, delete_op("a/", id));
		cJSON_AddItemToArray(ops, delete_op("g/", id));
	} else if (strcmp(op, "groups") == 0) {
		g = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c,
		    "groups"));
		cJSON_AddItemToArray(ops, put_text("g/", id, g ? g : ""));
	}
}

/* Send one fenced transaction; it must succeed. */
static int
txn_flush(cJSON *req, long long next, long long term, char *err,
    size_t errlen)
{
	cJSON	*ans;
	char	 num[32];
	int	 ok;

	if (next > 0) {
		snprintf(num, sizeof(num), "%lld", next);
		cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(req,
		    "success"), put_text("next_", "id", num));
	}
	if ((ans = etcd_call(&H.we, "/v3/kv/txn", req, err, errlen)) == NULL)
		return -1;
	ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ans, "succeeded"));
	cJSON_Delete(ans);
	if (!ok)
		snprintf(err, errlen, "the leader key is no longer the one "
		    "of term %lld", term);
	return ok ? 0 : -1;
}

/*
 * The registry thread's write: a batch in transactions that each compare
 * the leader key's create revision with our term, so that a deposed
 * master can never make a change durable; etcd answers once the
 * transaction is committed on a majority of its members.  A key appears
 * once per transaction (etcd's rule): a batch that touches an agent twice
 * is cut there, and so is one longer than TXN_OPS operations.
 */
static int
replica_write(const cJSON *changes, char *err, size_t errlen)
{
	const cJSON	*c;
	cJSON		*req = NULL;
	const char	*id, *ids[TXN_OPS];
	long long	 term, next = 0;
	int		 n = 0, i, dup, rv = -1;

	pthread_mutex_lock(&H.mu);
	term = H.state == HA_ACTIVE ? H.term : 0;
	pthread_mutex_unlock(&H.mu);
	if (term == 0) {
		snprintf(err, errlen, "not the active master");
		return -1;
	}
	cJSON_ArrayForEach(c, changes) {
		if ((id = change_id(c)) == NULL || strlen(id) >= AGENT_ID_MAX)
			continue;
		for (dup = 0, i = 0; i < n; i++)
			dup |= strcmp(ids[i], id) == 0;
		if (req != NULL && (dup || n + 3 > TXN_OPS)) {
			if (txn_flush(req, next, term, err, errlen) == -1)
				goto done;
			cJSON_Delete(req);
			req = NULL;
			n = 0;
			next = 0;
		}
		if (req == NULL) {
			req = cJSON_CreateObject();
			cJSON_AddItemToObject(req, "compare",
			    compare_create(term));
			cJSON_AddArrayToObject(req, "success");
		}
		ids[n++] = id;
		add_change(cJSON_GetObjectItemCaseSensitive(req, "success"), c,
		    id, &next);
	}
	if (req != NULL && txn_flush(req, next, term, err, errlen) == -1)
		goto done;
	rv = 0;
done:
	cJSON_Delete(req);
	return rv;
}

static char *
kv_text(const cJSON *kv, const char *field, size_t *n)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(kv, field);

	*n = 0;
	return cJSON_IsString(v) ? etcd_unb64(v->valuestring, n) : NULL;
}

/*
 * Every key under rel: the ranges' kvs (one array), or NULL.  Read in
 * pages of RANGE_PAGE keys, each from the key after the last one read, so
 * that no answer grows with the registry.
 */
static cJSON *
read_prefix(const char *rel, char *err, size_t errlen)
{
	cJSON		*all = cJSON_CreateArray(), *req, *ans, *kvs, *kv;
	char		*from = key_b64(rel), *k;
	size_t		 n;
	int		 more = 1;

	while (more && from != NULL) {
		req = cJSON_CreateObject();
		cJSON_AddStringToObject(req, "key", from);
		add_b64(req, "range_end", prefix_end_b64(rel));
		add_int(req, "limit", RANGE_PAGE);
		free(from);
		from = NULL;
		ans = etcd_call(&H.we, "/v3/kv/range", req, err, errlen);
		cJSON_Delete(req);
		if (ans == NULL) {
			cJSON_Delete(all);
			return NULL;
		}
		more = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ans,
		    "more"));
		kvs = cJSON_GetObjectItemCaseSensitive(ans, "kvs");
		while (kvs != NULL && (kv = cJSON_DetachItemFromArray(kvs,
		    0)) != NULL) {
			if (more && kvs->child == NULL &&
			    (k = kv_text(kv, "key", &n)) != NULL) {
				/* The next page starts just after this key. */
				char	*next = malloc(n + 2);

				if (next != NULL) {
					memcpy(next, k, n);
					next[n] = '\0';
					from = etcd_b64(next, n + 1);
					free(next);
				}
				free(k);
			}
			cJSON_AddItemToArray(all, kv);
		}
		cJSON_Delete(ans);
	}
	if (more) {
		snprintf(err, errlen, "out of memory");
		cJSON_Delete(all);
		return NULL;
	}
	return all;
}

/*
 * registry_open's read, on the loop (nothing is served yet): every
 * agent's record, with its groups as last set, and the next id.
 */
static cJSON *
replica_read(char *err, size_t errlen)
{
	cJSON	*recs = NULL, *groups = NULL, *out = NULL, *arr, *kv, *o;
	cJSON	*gmap = cJSON_CreateObject();
	char	*k, *v, *id;
	size_t	 n;
	long	 next = 0;

	if ((recs = read_prefix("a/", err, errlen)) == NULL ||
	    (groups = read_prefix("g/", err, errlen)) == NULL)
		goto done;
	cJSON_ArrayForEach(kv, groups) {
		k = kv_text(kv, "key", &n);
		v = kv_text(kv, "value", &n);
		if (k != NULL && v != NULL && (id = strrchr(k, '/')) != NULL)
			cJSON_AddStringToObject(gmap, id + 1, v);
		free(k);
		free(v);
	}
	out = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(out, "agents");
	cJSON_ArrayForEach(kv, recs) {
		if ((v = kv_text(kv, "value", &n)) == NULL)
			continue;
		if ((o = cJSON_Parse(v)) != NULL) {
			id = cJSON_GetStringValue(
			    cJSON_GetObjectItemCaseSensitive(o, "id"));
			if (id != NULL && cJSON_GetObjectItemCaseSensitive(
			    gmap, id) != NULL)
				cJSON_ReplaceItemInObjectCaseSensitive(o,
				    "groups", cJSON_CreateString(
				    cJSON_GetStringValue(
				    cJSON_GetObjectItemCaseSensitive(gmap,
				    id))));
			cJSON_AddItemToArray(arr, o);
		}
		free(v);
	}
	cJSON_Delete(recs);
	recs = read_prefix("next_", err, errlen);
	if (recs == NULL) {
		cJSON_Delete(out);
		out = NULL;
		goto done;
	}
	if ((v = kv_text(cJSON_GetArrayItem(recs, 0), "value", &n)) != NULL)
		next = strtol(v, NULL, 10);
	free(v);
	cJSON_AddNumberToObject(out, "next_id", (double)next);
done:
	cJSON_Delete(recs);
	cJSON_Delete(groups);
	cJSON_Delete(gmap);
	return out;
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

static void
ha_metrics(struct metrics *m, void *arg)
{
	int		 store_up;
	long long	 lt;

	(void)arg;
	pthread_mutex_lock(&H.mu);
	store_up = H.error[0] == '\0';
	lt = H.state == HA_ACTIVE ? H.term : H.leader_term;
	pthread_mutex_unlock(&H.mu);
	metrics_put(m, &M_ACTIVE, ha_active() ? 1.0 : 0.0, NULL);
	metrics_put(m, &M_TERM, (double)lt, NULL);
	metrics_put(m, &M_STORE_UP, store_up ? 1.0 : 0.0, NULL);
}

static const struct registry_replica ha_replica = {
	replica_write,
	replica_read,
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
	H.holdoff = mono() + (h != NULL ? atof(h) : 0);
	unsetenv(HOLDOFF_ENV);
	H.since = node_wall_now();
	pthread_mutex_init(&H.mu, NULL);
	registry_set_replica(&ha_replica);
	ev_async_init(&H.async, elected_cb);
	ev_async_start(n->loop, &H.async);
	if (pthread_create(&H.thread, NULL, ha_main, NULL) != 0) {
		log_errx(TASK, "Cannot start the HA thread.");
		return -1;
	}
	H.running = 1;
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
		master_stop();
	}
	pthread_mutex_lock(&H.mu);
	H.quit = 1;
	pthread_mutex_unlock(&H.mu);
	pthread_join(H.thread, NULL);
	ev_async_stop(H.node->loop, &H.async);
	etcd_free(&H.e);
	etcd_free(&H.we);
	H.running = 0;
}

int
ha_active(void)
{
	int	on;

	if (!H.running)
		return 1;
	pthread_mutex_lock(&H.mu);
	on = H.state == HA_ACTIVE && mono() < H.deadline - H.ttl / 5;
	pthread_mutex_unlock(&H.mu);
	return on && H.serving;
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
	cJSON	*o = cJSON_CreateObject();

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
	pthread_mutex_unlock(&H.mu);
	return o;
}

void
ha_annotate(cJSON *data)
{
	if (H.running)
		cJSON_AddItemToObject(data, "ha", status_json());
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
		pthread_mutex_lock(&H.mu);
		H.step_down = 1;
		pthread_mutex_unlock(&H.mu);
		log_info(TASK, "Stepping down, as asked by %s.",
		    control_client_who(cl));
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
	/* Read-only on a standby: its metrics, the master-eligible nodes. */
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
