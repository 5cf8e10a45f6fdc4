/*
 * framer: an agent connection's byte stream cut into frames, as Wazuh
 * frames them over TCP: a 4-byte little-endian length (1 to SECMSG_MAX,
 * secmsg_frame_length), then that many bytes.  Bytes go in as they were
 * read, in pieces of any size; each whole frame goes out to a callback.
 */
#ifndef AGENT_FRAMER_H
#define AGENT_FRAMER_H

#include <stddef.h>
#include <stdint.h>

struct framer {
	uint32_t	 need;		/* frame length, 0 while in the header */
	uint32_t	 got;		/* bytes of the header or of frame */
	uint8_t		 hdr[4];	/* the last header (a bad one stays) */
	uint8_t		*frame;		/* a frame split across reads */
};

/* One whole frame; m is valid only during the call.  -1 stops the feed
 * (the framer may be gone by then), 0 goes on. */
typedef int	(*framer_fn)(void *arg, const uint8_t *m, size_t len);

#define FRAMER_STOPPED	(-1)	/* fn returned -1: the framer is not touched */
#define FRAMER_BAD	(-2)	/* an invalid length; f->hdr holds it */
#define FRAMER_NOMEM	(-3)

int	framer_feed(struct framer *f, const uint8_t *p, size_t n,
	    framer_fn fn, void *arg);
void	framer_free(struct framer *f);

#endif
