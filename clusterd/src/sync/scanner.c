#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "sync/scanner.h"

struct scanner {
	struct ev_loop		*loop;
	char			*home;
	scanner_cb		 cb;
	void			*arg;
	ev_async		 done;
	pthread_t		 thread;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	int			 requested;	/* under mu */
	unsigned		 gen;		/* under mu: last request */
	unsigned		 result_gen;	/* under mu */
	int			 quit;		/* under mu */
	struct integ_index	*result;	/* under mu: newest, not taken */
	struct integ_index	*cache;		/* thread only */
};

static void *
scanner_main(void *p)
{
	struct scanner		*s = p;
	struct integ_index	*idx, *old;
	unsigned		 gen;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->requested && !s->quit)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->quit)
			break;
		s->requested = 0;
		gen = s->gen;
		pthread_mutex_unlock(&s->mu);

		idx = integ_scan(s->home, s->cache);

		pthread_mutex_lock(&s->mu);
		if (idx == NULL)
			continue;
		if (s->cache != NULL)
			integ_unref(s->cache);
		s->cache = integ_ref(idx);
		old = s->result;
		s->result = idx;
		s->result_gen = gen;
		if (old != NULL)
			integ_unref(old);
		ev_async_send(s->loop, &s->done);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

static void
done_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct scanner		*s = w->data;
	struct integ_index	*idx;
	unsigned		 gen;

	(void)loop;
	(void)revents;
	pthread_mutex_lock(&s->mu);
	idx = s->result;
	gen = s->result_gen;
	s->result = NULL;
	pthread_mutex_unlock(&s->mu);
	if (idx != NULL)
		s->cb(idx, gen, s->arg);
}

struct scanner *
scanner_new(struct ev_loop *loop, const char *home, struct integ_index *seed,
    scanner_cb cb, void *arg)
{
	struct scanner	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->home = strdup(home)) == NULL) {
		free(s);
		return NULL;
	}
	s->loop = loop;
	s->cb = cb;
	s->arg = arg;
	s->cache = seed != NULL ? integ_ref(seed) : NULL;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	ev_async_init(&s->done, done_cb);
	s->done.data = s;
	ev_async_start(loop, &s->done);
	if (pthread_create(&s->thread, NULL, scanner_main, s) != 0) {
		log_err("Local integrity", "pthread_create");
		ev_async_stop(loop, &s->done);
		integ_unref(s->cache);
		free(s->home);
		free(s);
		return NULL;
	}
	return s;
}

unsigned
scanner_request(struct scanner *s)
{
	unsigned	gen;

	pthread_mutex_lock(&s->mu);
	s->requested = 1;
	gen = ++s->gen;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return gen;
}

void
scanner_free(struct scanner *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->quit = 1;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	ev_async_stop(s->loop, &s->done);
	integ_unref(s->result);
	integ_unref(s->cache);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s->home);
	free(s);
}
