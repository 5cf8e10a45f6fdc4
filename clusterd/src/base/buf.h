/*
 * buf: a growable byte buffer with a read offset, used for socket input and
 * output queues.  Appending never shrinks; consuming moves the read offset and
 * compacts lazily so a stream of small reads does not memmove on every call.
 * A buffer drained after growing past 64 KiB gives its storage back.
 */
#ifndef CLUSTERD_BUF_H
#define CLUSTERD_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t	*data;
	size_t	 off;	/* first unread byte */
	size_t	 len;	/* one past the last written byte */
	size_t	 cap;
};

void	 buf_init(struct buf *);
void	 buf_free(struct buf *);
size_t	 buf_used(const struct buf *);
uint8_t	*buf_head(const struct buf *);
int	 buf_reserve(struct buf *, size_t);
uint8_t	*buf_tail(struct buf *);
void	 buf_commit(struct buf *, size_t);
int	 buf_append(struct buf *, const void *, size_t);
void	 buf_consume(struct buf *, size_t);
void	 buf_reset(struct buf *);
void	 buf_cut(struct buf *, size_t, size_t);

#endif
