#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

void
buf_init(struct buf *b)
{
	memset(b, 0, sizeof(*b));
}

void
buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

size_t
buf_used(const struct buf *b)
{
	return b->len - b->off;
}

uint8_t *
buf_head(const struct buf *b)
{
	return b->data + b->off;
}

/*
 * Make room for at least n more bytes after the tail.  Compacts first when
 * the consumed prefix is large enough to satisfy the request, so a buffer
 * used as a queue stays at its working size.  Returns 0, or -1 on ENOMEM.
 */
int
buf_reserve(struct buf *b, size_t n)
{
	size_t	 need, ncap;
	uint8_t	*p;

	if (b->cap - b->len >= n)
		return 0;
	if (n > SIZE_MAX - b->len)
		return -1;
	if (b->off > 0) {
		memmove(b->data, b->data + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
		if (b->cap - b->len >= n)
			return 0;
	}
	need = b->len + n;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return -1;
		ncap *= 2;
	}
	if ((p = realloc(b->data, ncap)) == NULL)
		return -1;
	b->data = p;
	b->cap = ncap;
	return 0;
}

uint8_t *
buf_tail(struct buf *b)
{
	return b->data + b->len;
}

void
buf_commit(struct buf *b, size_t n)
{
	b->len += n;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (buf_reserve(b, n) == -1)
		return -1;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

/* Storage past this is given back once the buffer is drained. */
#define BUF_KEEP	(64 * 1024)

/*
 * A drained buffer that grew past BUF_KEEP frees its storage: a queue that
 * took one burst (a full resynchronization, a backlog to a slow peer)
 * does not hold that burst's size for the rest of the process's life.
 */
void
buf_consume(struct buf *b, size_t n)
{
	b->off += n;
	if (b->off < b->len)
		return;
	b->off = b->len = 0;
	if (b->cap > BUF_KEEP)
		buf_free(b);
}

void
buf_reset(struct buf *b)
{
	b->off = b->len = 0;
}

/* Remove n unread bytes at offset at (from the head), keeping the rest. */
void
buf_cut(struct buf *b, size_t at, size_t n)
{
	uint8_t	*p;

	if (at > buf_used(b) || n > buf_used(b) - at || n == 0)
		return;
	p = b->data + b->off + at;
	memmove(p, p + n, buf_used(b) - at - n);
	b->len -= n;
}
