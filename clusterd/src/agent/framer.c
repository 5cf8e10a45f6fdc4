/*
 * framer: frames out of an agent connection's byte stream.  See framer.h.
 */
#include <stdlib.h>
#include <string.h>

#include "agent/framer.h"
#include "agent/secmsg.h"

/* Copy up to want bytes of *p (n left) to dst; returns how many. */
static size_t
take(uint8_t *dst, size_t want, const uint8_t **p, size_t *n)
{
	size_t	k = *n < want ? *n : want;

	memcpy(dst, *p, k);
	*p += k;
	*n -= k;
	return k;
}

/*
 * The n bytes at p, in order.  A frame whole among them goes to fn where
 * it lies, with no copy: the common case of a keepalive read at once.
 * Only a frame split across reads is gathered, in f->frame, and handed
 * over detached from f, so that fn may free f (closing its connection).
 * Returns 0 once every byte is taken, or a FRAMER_ code.
 */
int
framer_feed(struct framer *f, const uint8_t *p, size_t n, framer_fn fn,
    void *arg)
{
	uint8_t		*m;
	uint32_t	 len;
	int		 rv;

	while (n > 0) {
		if (f->need == 0) {
			f->got += (uint32_t)take(f->hdr + f->got, 4 - f->got,
			    &p, &n);
			if (f->got < 4)
				return 0;
			f->got = 0;
			if (secmsg_frame_length(f->hdr, &len) == -1)
				return FRAMER_BAD;
			if (n >= len) {
				p += len;
				n -= len;
				if (fn(arg, p - len, len) == -1)
					return FRAMER_STOPPED;
				continue;
			}
			if ((f->frame = malloc(len)) == NULL)
				return FRAMER_NOMEM;
			f->need = len;
		}
		f->got += (uint32_t)take(f->frame + f->got, f->need - f->got,
		    &p, &n);
		if (f->got < f->need)
			return 0;
		m = f->frame;
		len = f->need;
		f->frame = NULL;
		f->need = f->got = 0;
		rv = fn(arg, m, len);
		free(m);
		if (rv == -1)
			return FRAMER_STOPPED;
	}
	return 0;
}

void
framer_free(struct framer *f)
{
	free(f->frame);
	memset(f, 0, sizeof(*f));
}
