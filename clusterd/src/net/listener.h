/*
 * listener: the one accept path of every service a node serves (cluster
 * link, enrollment, agents, agent-check, control socket).  Each call of
 * its watcher accepts at most LISTENER_BATCH connections, so one busy
 * service cannot starve the loop; when the process runs out of file
 * descriptors the listener pauses for LISTENER_PAUSE seconds instead of
 * spinning on a ready socket it cannot accept, and says so in one log line
 * (at most one a minute).  The service gets each accepted socket,
 * non-blocking and close-on-exec, with its peer's printable address.
 * A service that counts its connections not yet identified (preauth.h)
 * hands its count to the listener, which closes at once a connection from
 * an address already at its bound, before the service spends anything on
 * it.  A service that accepts PROXY headers (proxy_from) has the listener
 * read the header of a listed peer's connection first (proxywait.h): the
 * service, and the bound, then see the address the header gives.
 */
#ifndef CLUSTERD_LISTENER_H
#define CLUSTERD_LISTENER_H

#include <ev.h>

#define LISTENER_BATCH	64	/* accepts per wake-up */
#define LISTENER_PAUSE	0.5	/* seconds without accepting at the limit */
#define LISTENER_LOG_EVERY 60.0	/* seconds between "out of descriptors" */

struct config;
struct listener;
struct preauth;
struct proxywait;

/* fd: the accepted socket, the callee's to keep or close. */
typedef void (*listener_cb)(struct listener *, int fd, const char *addr,
    void *arg);

struct listener {
	struct ev_loop	*loop;
	int		 fd;
	ev_io		 io;
	ev_timer	 pause;
	listener_cb	 cb;
	void		*arg;
	const char	*task;		/* log task */
	const char	*what;		/* "agents", "enrollment requests" */
	struct preauth	*preauth;	/* per-source bound, or NULL */
	struct proxywait *proxy;	/* PROXY headers awaited, or NULL */
	double		 last_log;
	unsigned long	 accepted;	/* counters, for status and metrics */
	unsigned long	 pauses;
	unsigned long	 pauses_unlogged;
	unsigned long	 refused;	/* over the per-source bound */
};

int	listener_tcp(struct listener *, struct ev_loop *, const char *addr,
	    unsigned port, int backlog, const char *task, const char *what,
	    listener_cb, void *arg);
void	listener_start(struct listener *, struct ev_loop *, int fd,
	    const char *task, const char *what, listener_cb, void *arg);
void	listener_set_preauth(struct listener *, struct preauth *);
int	listener_set_proxy(struct listener *, const struct config *,
	    const char *port);
void	listener_hand(struct listener *, int fd, const char *addr);
void	listener_close(struct listener *);
void	listener_quiesce(struct listener *);
int	listener_paused(struct listener *);

#endif
