/*
 * preauth: the connections of one service that have not yet said who they
 * are (no first agent message on the agents' port, no complete request on
 * the enrollment port, no hello on the cluster port).  Such a connection
 * costs a descriptor and memory while proving nothing, so each service
 * bounds them twice:
 *
 *  - in time: one not identified within cfg->preauth_timeout is handed to
 *    the service's expire callback, which closes it;
 *  - in number: at most cfg->preauth_per_source (0: no bound) per source
 *    address; the listener closes any further connection from that
 *    address at once (listener_set_preauth).  Behind a balancer every
 *    agent comes from the balancer's address, so the bound counts only
 *    connections not yet identified, never connected agents.
 *
 * Closings are logged at most once a minute per service, with counts and
 * the address that caused most of them, never one line per connection.
 * Entries live in the service's connection struct; pending ones form one
 * list in arrival order, so a single timer serves them all.
 */
#ifndef CLUSTERD_PREAUTH_H
#define CLUSTERD_PREAUTH_H

#include <sys/queue.h>

#include <ev.h>

#include "base/strmap.h"

#define PREAUTH_LOG_EVERY	60.0	/* seconds between summary lines */
#define PREAUTH_ADDR_MAX	64

struct config;
struct preauth;
struct preauth_src;

/* One connection's place in the count, embedded in the service's struct. */
struct preauth_entry {
	struct preauth_src		*src;	/* NULL: not counted */
	ev_tstamp			 since;
	void				*owner;	/* the service's connection */
	TAILQ_ENTRY(preauth_entry)	 q;
};

/* Close the connection owning e: it stayed silent too long.  e is no
 * longer counted when this is called. */
typedef void (*preauth_expire_cb)(struct preauth *, struct preauth_entry *);

struct preauth {
	struct ev_loop			*loop;
	const struct config		*cfg;	/* read live: reloads apply */
	const char			*task;	/* log task */
	const char			*what;	/* "agent connections" */
	const char			*ident;	/* "a first agent message" */
	preauth_expire_cb		 expire;
	struct strmap			 by_addr;	/* preauth_src by address */
	TAILQ_HEAD(, preauth_src)	 srcs;
	TAILQ_HEAD(, preauth_entry)	 pending;	/* oldest first */
	ev_timer			 timer;		/* the oldest's deadline */
	ev_timer			 logt;		/* next summary line */
	unsigned long			 npending;
	/* Since the last line: */
	unsigned long			 win_timeouts, win_refused;
	unsigned long			 top_count;
	char				 top_addr[PREAUTH_ADDR_MAX];
	/* Since start, for status: */
	unsigned long			 timeouts, refused;
	int				 started;
};

void	preauth_init(struct preauth *, struct ev_loop *, const struct config *,
	    const char *task, const char *what, const char *ident,
	    preauth_expire_cb);
void	preauth_stop(struct preauth *);
int	preauth_refuse(struct preauth *, const char *addr);
int	preauth_add(struct preauth *, struct preauth_entry *, const char *addr,
	    void *owner);
void	preauth_done(struct preauth *, struct preauth_entry *);
unsigned preauth_count(const struct preauth *, const char *addr);

#endif
