#include <stdlib.h>

#include "base/log.h"
#include "base/reap.h"

struct reap_item {
	void			(*fn)(void *);
	void			*ptr;
	struct reap_item	*next;
};

static struct reap_item	*reap_list;
static ev_prepare	 reap_watcher;
static struct ev_loop	*reap_loop;

static void
reap_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	reap_now();
}

void
reap_init(struct ev_loop *loop)
{
	reap_loop = loop;
	ev_prepare_init(&reap_watcher, reap_cb);
	ev_prepare_start(loop, &reap_watcher);
	ev_unref(loop);		/* the reaper alone must not keep the loop alive */
}

void
reap_later(void (*fn)(void *), void *ptr)
{
	struct reap_item	*r;

	if ((r = malloc(sizeof(*r))) == NULL)
		fatal("reap_later");
	r->fn = fn;
	r->ptr = ptr;
	r->next = reap_list;
	reap_list = r;
}

/* Free everything queued so far, including what the frees themselves queue. */
void
reap_now(void)
{
	struct reap_item	*r;

	while ((r = reap_list) != NULL) {
		reap_list = r->next;
		r->fn(r->ptr);
		free(r);
	}
}
