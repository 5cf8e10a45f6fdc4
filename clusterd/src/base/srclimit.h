/*
 * srclimit: per-source-address limits for a service open to the world: a
 * token bucket of requests per minute, and a tally of refusals so the log
 * gets one line per address and minute ("N more refusals from X in the
 * last minute"), not one per refused request.  A fixed table: an address
 * not seen for a while gives its slot to a new one, so memory does not grow
 * with the number of addresses.  Pure (times are passed in), unit tested.
 */
#ifndef CLUSTERD_SRCLIMIT_H
#define CLUSTERD_SRCLIMIT_H

#include <stddef.h>

#define SRCLIMIT_WINDOW	60.0	/* seconds: the rate's and the log's */

struct srclimit_slot {
	char		 addr[64];
	double		 tokens;
	double		 last;		/* last request, for tokens and reuse */
	double		 since;		/* first refusal logged; 0: none */
	unsigned	 quiet;		/* refusals not logged since */
	char		 why[96];	/* the last of them */
};

struct srclimit {
	struct srclimit_slot	*slots;
	size_t			 nslots;
	unsigned		 per_minute;	/* 0: no rate limit */
};

typedef void (*srclimit_emit_fn)(const char *addr, unsigned n,
    const char *why, void *arg);

int	 srclimit_init(struct srclimit *, size_t nslots, unsigned per_minute);
void	 srclimit_set_rate(struct srclimit *, unsigned per_minute);
void	 srclimit_free(struct srclimit *);
int	 srclimit_take(struct srclimit *, const char *addr, double now);
int	 srclimit_refused(struct srclimit *, const char *addr,
	    const char *why, double now);
void	 srclimit_flush(struct srclimit *, double now, srclimit_emit_fn,
	    void *arg);

#endif
