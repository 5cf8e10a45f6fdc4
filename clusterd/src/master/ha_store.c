/*
 * ha_store: the agents' records in etcd (docs/ha.md).  The active
 * master's registry batches become fenced transactions (each compares the
 * leader key's create revision with its term) before SQLite commits them;
 * a standby's follower thread reads what changed since its copy's
 * revision and the loop applies it; an elected standby reads only the
 * tail.  The operators' pool states ride along under "pools".
 */
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
#include "base/node.h"
#include "master/ha.h"
#include "master/ha_int.h"
#include "master/ha_record.h"
#include "master/mreg.h"
#include "master/pools.h"
#include "master/registry.h"
#include "net/etcd.h"

#define TASK		HA_TASK

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
	ha_add_b64(d, "key", ha_key_b64(rel));
	cJSON_AddItemToObject(op, "request_delete_range", d);
	return op;
}

static cJSON *
put_text(const char *pre, const char *id, const char *text)
{
	char	rel[64];

	snprintf(rel, sizeof(rel), "%s%s", pre, id);
	return ha_put_op(ha_key_b64(rel), etcd_b64(text, strlen(text)), 0);
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
		/* A tombstone, not a deletion: a standby reading what
		 * changed since a revision must see the removal. */
		cJSON_AddItemToArray(ops, put_text("a/", id, ""));
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
int
ha_replica_write(const cJSON *changes, char *err, size_t errlen)
{
	const cJSON	*c;
	cJSON		*req = NULL;
	const char	*id, *ids[TXN_OPS];
	long long	 term, next = 0;
	int		 n = 0, i, dup, rv = -1, flushed = 0;

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
		/* A change adds at most two operations, next_id one more. */
		if (req != NULL && (dup || cJSON_GetArraySize(
		    cJSON_GetObjectItemCaseSensitive(req, "success")) + 3 >
		    TXN_OPS)) {
			if (txn_flush(req, next, term, err, errlen) == -1)
				goto done;
			flushed++;
			cJSON_Delete(req);
			req = NULL;
			n = 0;
			next = 0;
		}
		if (req == NULL) {
			req = cJSON_CreateObject();
			cJSON_AddItemToObject(req, "compare",
			    ha_compare_create(term));
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
	/*
	 * A batch cut in several transactions is not atomic: when one fails
	 * after others were taken, etcd holds part of a batch that SQLite
	 * will not, and whose agents are told it failed.  This master's
	 * table no longer equals the store: it steps down, and whoever is
	 * elected next starts from the store.
	 */
	if (rv == -1 && flushed > 0)
		ha_depose_now("etcd took only part of a registry batch");
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
 * Every key under rel modified after revision since (0: all of them), as
 * the store held them at revision rev (0: its head), appended to out; the
 * first answer's header revision in *head when asked.  Read in pages of
 * RANGE_PAGE keys, each from the key after the last one read, so that no
 * answer grows with the registry.
 */
static int
range_all(struct etcd *e, const char *rel, long long since, long long rev,
    cJSON *out, long long *head, char *err, size_t errlen)
{
	cJSON		*req, *ans, *kvs, *kv;
	char		*from = ha_key_b64(rel), *k;
	size_t		 n;
	int		 more = 1;

	while (more && from != NULL) {
		req = cJSON_CreateObject();
		cJSON_AddStringToObject(req, "key", from);
		ha_add_b64(req, "range_end", ha_prefix_end_b64(rel));
		ha_add_int(req, "limit", RANGE_PAGE);
		if (since > 0)
			ha_add_int(req, "min_mod_revision", since + 1);
		if (rev > 0)
			ha_add_int(req, "revision", rev);
		free(from);
		from = NULL;
		ans = etcd_call(e, "/v3/kv/range", req, err, errlen);
		cJSON_Delete(req);
		if (ans == NULL)
			return -1;
		if (head != NULL) {
			*head = etcd_int(cJSON_GetObjectItemCaseSensitive(ans,
			    "header"), "revision");
			rev = *head;	/* the next pages at the same one */
			head = NULL;
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
			cJSON_AddItemToArray(out, kv);
		}
		cJSON_Delete(ans);
	}
	if (more) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/*
 * What the store's agents' keys changed after revision since (every
 * record when since is 0), as registry_follow takes it, all read at one
 * revision: the head, as the first answer (next_id's) gives it, in *head.
 * NULL with err "" when nothing changed since; NULL with err on failure.
 */
static cJSON *
read_changes(struct etcd *e, long long since, long long *head, char *err,
    size_t errlen)
{
	cJSON	*nk = cJSON_CreateArray(), *ak = NULL, *gk = NULL, *pk = NULL;
	cJSON	*out = NULL;
	char	*v;
	size_t	 n;

	*head = 0;
	err[0] = '\0';
	if (range_all(e, "next_", 0, 0, nk, head, err, errlen) == -1)
		goto done;
	if (*head <= 0) {
		snprintf(err, errlen, "no revision in etcd's answer");
		goto done;
	}
	if (since > 0 && *head <= since)
		goto done;	/* nothing new */
	ak = cJSON_CreateArray();
	gk = cJSON_CreateArray();
	pk = cJSON_CreateArray();
	if (range_all(e, "a/", since, *head, ak, NULL, err, errlen) == -1 ||
	    range_all(e, "g/", since, *head, gk, NULL, err, errlen) == -1 ||
	    range_all(e, "pools", since, *head, pk, NULL, err, errlen) == -1 ||
	    (out = ha_record_delta(ak, gk, err, errlen)) == NULL)
		goto done;
	if ((v = kv_text(cJSON_GetArrayItem(pk, 0), "value", &n)) != NULL &&
	    strlen(v) == n)
		cJSON_AddStringToObject(out, "pools", v);
	free(v);
	v = kv_text(cJSON_GetArrayItem(nk, 0), "value", &n);
	cJSON_AddNumberToObject(out, "next_id", v ? (double)strtol(v, NULL,
	    10) : 0);
	free(v);
	cJSON_AddBoolToObject(out, "full", since == 0);
	cJSON_AddNumberToObject(out, "revision", (double)*head);
done:
	cJSON_Delete(nk);
	cJSON_Delete(ak);
	cJSON_Delete(gk);
	cJSON_Delete(pk);
	return out;
}

static unsigned
delta_size(const cJSON *d)
{
	return (unsigned)(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
	    d, "agents")) + cJSON_GetArraySize(
	    cJSON_GetObjectItemCaseSensitive(d, "removed")) +
	    cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(d, "groups")) +
	    (cJSON_GetObjectItemCaseSensitive(d, "pools") != NULL));
}

/*
 * The pools' members and operator states (var/pools.json), as the active
 * master last put them in <prefix>pools: written where the pools read
 * them when this node starts serving as master.
 */
static void
pools_mirror(const cJSON *d)
{
	const char	*text = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(d, "pools"));
	char		 path[PATH_MAX];

	if (text == NULL || config_path(&H.node->cfg, POOLS_REL, path,
	    sizeof(path)) == -1)
		return;
	if (node_write_file(path, text, strlen(text), 0640) == -1)
		log_warn(TASK, "cannot write %s", path);
}

/*
 * On the active master's HA thread, every round: var/pools.json into
 * <prefix>pools when it changed (operators' pool states, members), in a
 * transaction fenced by the term like every registry write, for the
 * standbys to mirror.  Written only when it changed: each write is a
 * revision etcd keeps until compacted.
 */
void
ha_pools_publish(void)
{
	static char	*published;
	char		 path[PATH_MAX], err[256], *s;
	size_t		 len;
	cJSON		*req, *ans;
	int		 ok;

	if (config_path(&H.node->cfg, POOLS_REL, path, sizeof(path)) == -1 ||
	    node_read_file(path, 4u << 20, &s, &len) == -1)
		return;
	if (strlen(s) != len || (published != NULL && strcmp(published, s) ==
	    0)) {
		free(s);
		return;
	}
	req = cJSON_CreateObject();
	cJSON_AddItemToObject(req, "compare", ha_compare_create(H.term));
	cJSON_AddItemToArray(cJSON_AddArrayToObject(req, "success"),
	    put_text("", "pools", s));
	ans = etcd_call(&H.e, "/v3/kv/txn", req, err, sizeof(err));
	cJSON_Delete(req);
	ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ans, "succeeded"));
	cJSON_Delete(ans);
	if (!ok) {
		free(s);
		return;
	}
	free(published);
	published = s;
}

/*
 * registry_open's read, on the loop, once elected (nothing is served
 * yet): what changed since the revision the standby's copy equals, or
 * every record when it has none.
 */
cJSON *
ha_replica_read(char *err, size_t errlen)
{
	cJSON		*d;
	long long	 since, head;

	pthread_mutex_lock(&H.mu);
	since = H.full_next ? 0 : H.applied;
	pthread_mutex_unlock(&H.mu);
	d = read_changes(&H.we, since, &head, err, errlen);
	if (d == NULL && err[0] == '\0') {
		/* Nothing since: an empty change. */
		d = cJSON_CreateObject();
		cJSON_AddArrayToObject(d, "agents");
	}
	pools_mirror(d);	/* before the pools start and read it */
	pthread_mutex_lock(&H.mu);
	H.restore_full = since == 0;
	H.restore_since = since;
	H.restore_records = d != NULL ? delta_size(d) : 0;
	pthread_mutex_unlock(&H.mu);
	return d;
}

/* On the loop: apply what the follower read to the standby's copy. */
static void
follow_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct registry_applied	 c;
	cJSON			*d;
	char			 err[256];
	long long		 rev;
	int			 ok;

	(void)loop;
	(void)w;
	(void)revents;
	/* Left in H.pending while it is applied: the follower reads the
	 * next changes only once this one's revision is noted. */
	pthread_mutex_lock(&H.mu);
	d = H.pending;
	if (H.serving)			/* elected: registry_open reads */
		H.pending = NULL;
	pthread_mutex_unlock(&H.mu);
	if (d == NULL || H.serving) {
		cJSON_Delete(d);
		return;
	}
	rev = (long long)cJSON_GetNumberValue(
	    cJSON_GetObjectItemCaseSensitive(d, "revision"));
	memset(&c, 0, sizeof(c));
	/* Only other keys moved (nodes/, leader): nothing to write. */
	ok = (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "full")) &&
	    delta_size(d) == 0) || mreg_follow(d, &c, err, sizeof(err)) == 0;
	pthread_mutex_lock(&H.mu);
	H.pending = NULL;
	if (ok) {
		H.applied = rev;
		H.full_next = 0;
		if (H.applied >= H.head)
			H.caught = ha_mono();
		H.frounds++;
		H.frecords += c.records;
		H.ferror[0] = '\0';
	} else {
		if (strcmp(H.ferror, err) != 0)
			log_warnx(TASK, "Cannot apply the cluster store's "
			    "changes to this standby's registry: %s (tried "
			    "again in 5s).", err);
		snprintf(H.ferror, sizeof(H.ferror), "%s", err);
		H.retry_at = ha_mono() + 5;
	}
	pthread_mutex_unlock(&H.mu);
	if (ok)
		pools_mirror(d);
	if (ok && c.full)
		log_info(TASK, "Standby's registry equal to the cluster store at "
		    "revision %lld: %u records, %u written, %u dropped.", rev,
		    c.records, c.written, c.removed);
	cJSON_Delete(d);
}

/*
 * The follower thread of a standby: each round (as the HA thread's), the
 * store's head revision, and when it moved past the revision the copy
 * equals, what changed since (etcd's min_mod_revision; removals are
 * tombstones), handed to the loop, which applies it in one transaction.
 * One read at a time: the next waits until the loop applied this one.
 * It ends once this node is the active master (registry_open reads the
 * rest) or stops.
 */
static void *
follow_main(void *arg)
{
	double		 round = H.ttl / 6 > 0.5 ? 0.5 : H.ttl / 6, t0;
	cJSON		*d;
	char		 err[256];
	long long	 since, head;
	int		 busy;

	(void)arg;
	for (;;) {
		t0 = ha_mono();
		pthread_mutex_lock(&H.mu);
		if (H.quit || H.state == HA_ACTIVE) {
			pthread_mutex_unlock(&H.mu);
			break;
		}
		since = H.full_next ? 0 : H.applied;
		busy = H.pending != NULL || t0 < H.retry_at;
		pthread_mutex_unlock(&H.mu);
		if (!busy) {
			d = read_changes(&H.fe, since, &head, err, sizeof(err));
			pthread_mutex_lock(&H.mu);
			if (d == NULL && err[0] != '\0') {
				/* Read at a revision compacted meanwhile:
				 * every record again. */
				if (strstr(err, "compacted") != NULL)
					H.full_next = 1;
				snprintf(H.ferror, sizeof(H.ferror), "%s", err);
			} else {
				H.head = head;
				H.probed = ha_mono();
				if (d == NULL && head <= H.applied)
					H.caught = H.probed;
				H.pending = d;
			}
			pthread_mutex_unlock(&H.mu);
			if (d != NULL)
				ev_async_send(H.node->loop, &H.fasync);
		}
		ha_sleep_until(t0 + round);
	}
	return NULL;
}

/*
 * The standby's copy of the registry and its follower thread.  Without
 * them (a registry that cannot open), the node still campaigns, and
 * reads every record once elected.
 */
void
ha_follow_start(struct node *n)
{
	char	err[256];

	if (etcd_init(&H.fe, n->cfg.ha_etcd, n->cfg.request_timeout, err,
	    sizeof(err)) == -1 || (n->cfg.ha_etcd_ca[0] != '\0' &&
	    etcd_tls(&H.fe, n->cfg.ha_etcd_ca, n->cfg.ha_etcd_cert,
	    n->cfg.ha_etcd_key, err, sizeof(err)) == -1)) {
		log_warnx(TASK, "No standby's copy of the registry: %s.", err);
		return;
	}
	if (mreg_standby_start(n) == -1)
		return;
	ev_async_init(&H.fasync, follow_cb);
	ev_async_start(n->loop, &H.fasync);
	if (pthread_create(&H.fthread, NULL, follow_main, NULL) != 0) {
		log_warnx(TASK, "Cannot start the follower thread.");
		ev_async_stop(n->loop, &H.fasync);
		mreg_standby_stop();
		return;
	}
	H.following = 1;
}
