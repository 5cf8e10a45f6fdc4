/*
 * vrrpwatch: is this balancer's keepalived (its VRRP process) still
 * running?  A keepalived killed outright or stopped cannot send the
 * priority-0 advert or run the notify script, so the other balancer takes
 * the VIP while this HAProxy keeps its sessions; the balancer role must
 * then stop serving by itself (docs/lb.md, "When keepalived dies").
 */
#ifndef CLUSTERD_VRRPWATCH_H
#define CLUSTERD_VRRPWATCH_H

#include <cjson/cJSON.h>
#include <ev.h>

enum vrrpwatch_state {
	VRRPWATCH_UNKNOWN,	/* not seen yet */
	VRRPWATCH_RUNNING,
	VRRPWATCH_GONE		/* no process, a stale pid, or stopped */
};

/* Called on each change between RUNNING and GONE. */
typedef void (*vrrpwatch_cb)(enum vrrpwatch_state, long pid, const char *why);

int	vrrpwatch_start(struct ev_loop *, const char *pid_file, double interval,
	    vrrpwatch_cb);
void	vrrpwatch_stop(void);
void	vrrpwatch_status(cJSON *);

/* Exposed for tests: the state of the process a pid file names. */
enum vrrpwatch_state vrrpwatch_probe(const char *pid_file, const char *proc,
	    long *pid, char *why, size_t whylen);

#endif
