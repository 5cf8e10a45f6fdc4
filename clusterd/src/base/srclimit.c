/*
 * srclimit: per-source rate limits and refusal tallies.  See srclimit.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/srclimit.h"

#define PROBES	8	/* slots an address may use */

int
srclimit_init(struct srclimit *l, size_t nslots, unsigned per_minute)
{
	memset(l, 0, sizeof(*l));
	if (nslots == 0 || (l->slots = calloc(nslots, sizeof(*l->slots))) ==
	    NULL)
		return -1;
	l->nslots = nslots;
	l->per_minute = per_minute;
	return 0;
}

void
srclimit_set_rate(struct srclimit *l, unsigned per_minute)
{
	l->per_minute = per_minute;
}

void
srclimit_free(struct srclimit *l)
{
	free(l->slots);
	memset(l, 0, sizeof(*l));
}

static size_t
hash(const char *s)
{
	size_t	h = 2166136261u;

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

/*
 * The address's slot: its own among PROBES, or else the one used least
 * recently, taken over (a new address starts with a full bucket).
 */
static struct srclimit_slot *
slot_of(struct srclimit *l, const char *addr, double now)
{
	struct srclimit_slot	*s, *old = NULL;
	size_t			 h = hash(addr), i;

	for (i = 0; i < PROBES && i < l->nslots; i++) {
		s = &l->slots[(h + i) % l->nslots];
		if (strcmp(s->addr, addr) == 0)
			return s;
		if (old == NULL || s->addr[0] == '\0' ||
		    (old->addr[0] != '\0' && s->last < old->last))
			old = s;
	}
	memset(old, 0, sizeof(*old));
	snprintf(old->addr, sizeof(old->addr), "%s", addr);
	old->tokens = l->per_minute;
	old->last = now;
	return old;
}

/*
 * One request from addr at now: 1 if within the rate (a token is spent),
 * 0 if over it.  The bucket holds a minute's worth of requests and refills
 * evenly over the minute.
 */
int
srclimit_take(struct srclimit *l, const char *addr, double now)
{
	struct srclimit_slot	*s;

	if (l->per_minute == 0 || l->slots == NULL)
		return 1;
	s = slot_of(l, addr, now);
	if (now > s->last)
		s->tokens += (now - s->last) * l->per_minute / SRCLIMIT_WINDOW;
	if (s->tokens > l->per_minute)
		s->tokens = l->per_minute;
	s->last = now;
	if (s->tokens < 1)
		return 0;
	s->tokens -= 1;
	return 1;
}

/*
 * A refusal of addr's request: 1 if the caller logs it now (the first in
 * the address's minute), 0 if it is counted for srclimit_flush().
 */
int
srclimit_refused(struct srclimit *l, const char *addr, const char *why,
    double now)
{
	struct srclimit_slot	*s;

	if (l->slots == NULL)
		return 1;
	s = slot_of(l, addr, now);
	if (s->since == 0 || now - s->since >= SRCLIMIT_WINDOW) {
		if (s->quiet == 0) {
			s->since = now;
			return 1;
		}
	}
	s->quiet++;
	snprintf(s->why, sizeof(s->why), "%s", why);
	return 0;
}

/*
 * Emit each address's refusals not logged, once its minute is over; its
 * next refusal is logged again.  Call it every few seconds.
 */
void
srclimit_flush(struct srclimit *l, double now, srclimit_emit_fn emit,
    void *arg)
{
	struct srclimit_slot	*s;
	size_t			 i;

	for (i = 0; i < l->nslots; i++) {
		s = &l->slots[i];
		if (s->since == 0 || now - s->since < SRCLIMIT_WINDOW)
			continue;
		if (s->quiet > 0)
			emit(s->addr, s->quiet, s->why, arg);
		s->since = 0;
		s->quiet = 0;
	}
}
