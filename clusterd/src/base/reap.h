/*
 * reap: free objects at a safe point of the event loop.  An object closed
 * from inside one of its own callbacks must stay valid until that callback
 * has returned; reap_later() frees it before the loop next blocks.
 */
#ifndef CLUSTERD_REAP_H
#define CLUSTERD_REAP_H

#include <ev.h>

void	reap_init(struct ev_loop *);
void	reap_later(void (*fn)(void *), void *);
void	reap_now(void);

#endif
