/*
 * bundle: the stream of files a master sends a worker in one sync round.
 *
 * Uncompressed, a bundle is a sequence of records, all integers big endian:
 *   u16 path length (1..SYNCSET_PATH_MAX-1) | path | u32 mode | u64 size |
 *   size bytes of content
 * closed by a u16 zero.  The whole stream is one zlib stream, cut into
 * frames of any size.  The encoder reads files as the link drains; the
 * decoder writes each file to a temp file beside its target, checking its
 * MD5 against the plan, and applies nothing: apply.c does that once the
 * whole bundle has arrived.
 */
#ifndef CLUSTERD_BUNDLE_H
#define CLUSTERD_BUNDLE_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

#define BUNDLE_MAX_FILE_SIZE	(4ull * 1024 * 1024 * 1024)

struct bundle_enc;
struct bundle_dec;

/* What the worker expects: the plan's files to create or update. */
struct bundle_file {
	char		*path;
	uint8_t		 md5[16];
	mode_t		 mode;
	int		 is_new;	/* create (else update) */
	/* filled by the decoder */
	int		 received;	/* complete and MD5 matched */
	int		 stale;		/* complete, MD5 differs: skip */
	char		*tmpname;	/* temp file's base name */
};

struct bundle_enc *bundle_enc_new(const char *home, char *const *paths,
		    const mode_t *modes, size_t n, int level);
int		 bundle_enc_next(struct bundle_enc *, struct buf *out,
		    size_t max, char *err, size_t errlen);
uint64_t	 bundle_enc_raw_bytes(const struct bundle_enc *);
void		 bundle_enc_free(struct bundle_enc *);

struct bundle_dec *bundle_dec_new(const char *home, struct bundle_file *,
		    size_t n);
int		 bundle_dec_feed(struct bundle_dec *, const uint8_t *, size_t,
		    char *err, size_t errlen);
int		 bundle_dec_finish(struct bundle_dec *, char *err,
		    size_t errlen);
void		 bundle_dec_abort(struct bundle_dec *);
void		 bundle_dec_free(struct bundle_dec *);

#endif
