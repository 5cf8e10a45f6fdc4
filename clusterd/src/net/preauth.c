#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/log.h"
#include "net/preauth.h"

/* The connections of one source address not yet identified. */
struct preauth_src {
	char			 addr[PREAUTH_ADDR_MAX];	/* strmap key */
	unsigned		 pending;
	unsigned long		 closed;	/* since the last line */
	TAILQ_ENTRY(preauth_src) entry;
};

enum closing { CLOSED_TIMEOUT, CLOSED_REFUSED };

static void timer_cb(struct ev_loop *, ev_timer *, int);
static struct preauth_src *lookup(const struct preauth *, const char *);
static void log_cb(struct ev_loop *, ev_timer *, int);

/*
 * Serve one service: cfg is read at each use, so a reload's
 * preauth_timeout and preauth_per_source apply without a restart.  what
 * names its connections and ident what identifies one, for the log.
 */
void
preauth_init(struct preauth *pa, struct ev_loop *loop,
    const struct config *cfg, const char *task, const char *what,
    const char *ident, preauth_expire_cb expire)
{
	memset(pa, 0, sizeof(*pa));
	pa->loop = loop;
	pa->cfg = cfg;
	pa->task = task;
	pa->what = what;
	pa->ident = ident;
	pa->expire = expire;
	strmap_init(&pa->by_addr);
	TAILQ_INIT(&pa->srcs);
	TAILQ_INIT(&pa->pending);
	ev_timer_init(&pa->timer, timer_cb, 0, 0);
	pa->timer.data = pa;
	ev_timer_init(&pa->logt, log_cb, 0, 0);
	pa->logt.data = pa;
	pa->started = 1;
}

static void
src_free(struct preauth *pa, struct preauth_src *s)
{
	strmap_del(&pa->by_addr, s->addr);
	TAILQ_REMOVE(&pa->srcs, s, entry);
	free(s);
}

/* Forget a source that has nothing pending and nothing left to log. */
static void
src_release(struct preauth *pa, struct preauth_src *s)
{
	if (s->pending == 0 && s->closed == 0)
		src_free(pa, s);
}

/* Stop counting: every entry still pending becomes uncounted, so the
 * service may close its connections before or after. */
void
preauth_stop(struct preauth *pa)
{
	struct preauth_entry	*e;
	struct preauth_src	*s;

	if (!pa->started)
		return;
	ev_timer_stop(pa->loop, &pa->timer);
	ev_timer_stop(pa->loop, &pa->logt);
	while ((e = TAILQ_FIRST(&pa->pending)) != NULL) {
		TAILQ_REMOVE(&pa->pending, e, q);
		e->src = NULL;
	}
	while ((s = TAILQ_FIRST(&pa->srcs)) != NULL)
		src_free(pa, s);
	strmap_free(&pa->by_addr);
	pa->npending = 0;
	pa->started = 0;
}

/* A new line may say everything afresh: counts and sources restart. */
static void
window_reset(struct preauth *pa)
{
	struct preauth_src	*s, *next;

	pa->win_timeouts = pa->win_refused = pa->top_count = 0;
	pa->top_addr[0] = '\0';
	for (s = TAILQ_FIRST(&pa->srcs); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		s->closed = 0;
		src_release(pa, s);
	}
}

/*
 * Count one closing caused by s.  The first closing after a quiet minute
 * is logged at once, so an operator sees it start; the ones that follow
 * are summed into one line a minute (log_cb).  s survives: it still
 * counts the connection being closed.
 */
static void
note_closed(struct preauth *pa, struct preauth_src *s, enum closing why)
{
	if (why == CLOSED_TIMEOUT) {
		pa->timeouts++;
		pa->win_timeouts++;
	} else {
		pa->refused++;
		pa->win_refused++;
	}
	if (++s->closed > pa->top_count) {
		pa->top_count = s->closed;
		memcpy(pa->top_addr, s->addr, sizeof(pa->top_addr));
	}
	if (ev_is_active(&pa->logt))
		return;
	if (why == CLOSED_TIMEOUT)
		log_warnx(pa->task, "Closed a silent connection from %s: no %s "
		    "within %gs (preauth_timeout); more such closings are "
		    "counted and logged once a minute.", s->addr, pa->ident,
		    pa->cfg->preauth_timeout);
	else
		log_warnx(pa->task, "Closed a connection from %s at once: %u "
		    "%s from that address are not identified yet "
		    "(preauth_per_source); more such closings are counted and "
		    "logged once a minute.", s->addr, s->pending, pa->what);
	window_reset(pa);
	ev_timer_set(&pa->logt, PREAUTH_LOG_EVERY, 0);
	ev_timer_start(pa->loop, &pa->logt);
}

/* The summary of the last minute, if anything was closed in it. */
static void
log_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct preauth	*pa = t->data;

	(void)revents;
	ev_timer_stop(loop, t);
	if (pa->win_timeouts + pa->win_refused == 0)
		return;		/* quiet: the next closing is logged at once */
	log_warnx(pa->task, "Closed %lu silent %s in the last %gs, %lu of them "
	    "from %s: %lu without %s within %gs, %lu beyond %u not identified "
	    "per address.", pa->win_timeouts + pa->win_refused, pa->what,
	    PREAUTH_LOG_EVERY, pa->top_count, pa->top_addr, pa->win_timeouts,
	    pa->ident, pa->cfg->preauth_timeout, pa->win_refused,
	    pa->cfg->preauth_per_source);
	window_reset(pa);
	ev_timer_set(t, PREAUTH_LOG_EVERY, 0);
	ev_timer_start(loop, t);
}

/* Wake up at the oldest pending connection's deadline. */
static void
arm(struct preauth *pa)
{
	struct preauth_entry	*e = TAILQ_FIRST(&pa->pending);
	double			 after;

	ev_timer_stop(pa->loop, &pa->timer);
	if (e == NULL)
		return;
	after = e->since + pa->cfg->preauth_timeout - ev_now(pa->loop);
	ev_timer_set(&pa->timer, after > 0 ? after : 0, 0);
	ev_timer_start(pa->loop, &pa->timer);
}

/*
 * Hand every connection past its deadline to the service, oldest first.
 * Each is uncounted before its callback, which closes it (and may call
 * preauth_done again: a no-op).
 */
static void
timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct preauth		*pa = t->data;
	struct preauth_entry	*e;

	(void)revents;
	while ((e = TAILQ_FIRST(&pa->pending)) != NULL &&
	    e->since + pa->cfg->preauth_timeout <= ev_now(loop) + 1e-6) {
		note_closed(pa, e->src, CLOSED_TIMEOUT);
		preauth_done(pa, e);
		pa->expire(pa, e);
	}
	arm(pa);
}

/* The source of addr, cut as its key was when stored, or NULL. */
static struct preauth_src *
lookup(const struct preauth *pa, const char *addr)
{
	char	key[PREAUTH_ADDR_MAX];

	snprintf(key, sizeof(key), "%s", addr);
	return strmap_get(&pa->by_addr, key);
}

/*
 * Called by the listener before the service sees a new connection: 1 when
 * addr already has preauth_per_source connections not identified (the
 * caller closes the new one at once; it is counted and logged here), 0 to
 * go on.
 */
int
preauth_refuse(struct preauth *pa, const char *addr)
{
	struct preauth_src	*s;

	if (!pa->started || pa->cfg->preauth_per_source == 0 ||
	    (s = lookup(pa, addr)) == NULL ||
	    s->pending < pa->cfg->preauth_per_source)
		return 0;
	note_closed(pa, s, CLOSED_REFUSED);
	return 1;
}

/*
 * Count a new connection from addr until preauth_done, and time it out
 * for owner.  Returns 0, or -1 when out of memory (the caller closes it).
 */
int
preauth_add(struct preauth *pa, struct preauth_entry *e, const char *addr,
    void *owner)
{
	struct preauth_src	*s;

	e->src = NULL;
	e->owner = owner;
	if (!pa->started)
		return -1;
	if ((s = lookup(pa, addr)) == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return -1;
		snprintf(s->addr, sizeof(s->addr), "%s", addr);
		if (strmap_put(&pa->by_addr, s->addr, s) == -1) {
			free(s);
			return -1;
		}
		TAILQ_INSERT_TAIL(&pa->srcs, s, entry);
	}
	s->pending++;
	pa->npending++;
	e->src = s;
	e->since = ev_now(pa->loop);
	TAILQ_INSERT_TAIL(&pa->pending, e, q);
	if (!ev_is_active(&pa->timer))
		arm(pa);
	return 0;
}

/*
 * The connection identified itself, or is closing: stop counting it.
 * Safe to call more than once, and on an entry never added.
 */
void
preauth_done(struct preauth *pa, struct preauth_entry *e)
{
	struct preauth_src	*s = e->src;

	if (s == NULL)
		return;
	TAILQ_REMOVE(&pa->pending, e, q);
	e->src = NULL;
	s->pending--;
	pa->npending--;
	src_release(pa, s);
}

/* Connections from addr not identified yet. */
unsigned
preauth_count(const struct preauth *pa, const char *addr)
{
	const struct preauth_src	*s;

	if (!pa->started || (s = lookup(pa, addr)) == NULL)
		return 0;
	return s->pending;
}
