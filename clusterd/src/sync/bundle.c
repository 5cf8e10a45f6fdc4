#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "base/safefs.h"
#include "sync/bundle.h"
#include "sync/syncset.h"

#define CHUNK		65536
#define HDR_FIXED	12	/* u32 mode + u64 size */

/* ---- encoder (master) ---- */

struct bundle_enc {
	char		*home;
	char *const	*paths;
	const mode_t	*modes;
	size_t		 n;
	size_t		 next;		/* next file to open */
	struct safefs_dircache dirs;	/* folder of the file being read */
	int		 fd;		/* file being read, or -1 */
	uint64_t	 left;		/* bytes of it still to read */
	int		 ended;		/* end marker queued, Z_FINISH given */
	int		 done;		/* zlib stream finished */
	z_stream	 zs;
	uint8_t		 in[CHUNK + SYNCSET_PATH_MAX + 16];
	uint64_t	 raw;		/* uncompressed bytes produced */
};

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void
put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static uint64_t
get_be(const uint8_t *p, int n)
{
	uint64_t	v = 0;
	int		i;

	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

struct bundle_enc *
bundle_enc_new(const char *home, char *const *paths, const mode_t *modes,
    size_t n, int level)
{
	struct bundle_enc	*e;

	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->home = strdup(home)) == NULL) {
		free(e);
		return NULL;
	}
	e->paths = paths;
	e->modes = modes;
	e->n = n;
	e->fd = -1;
	safefs_cache_init(&e->dirs);
	if (deflateInit(&e->zs, level) != Z_OK) {
		free(e->home);
		free(e);
		return NULL;
	}
	return e;
}

/*
 * Fill e->in with the next piece of raw stream: a record header when no
 * file is open, else up to CHUNK bytes of content.  Returns the length, 0
 * at the end of the stream, -1 on error.
 */
static ssize_t
enc_fill(struct bundle_enc *e, char *err, size_t errlen)
{
	char		 dir[SYNCSET_PATH_MAX], why[256];
	const char	*base;
	struct stat	 st;
	size_t		 plen;
	ssize_t		 r;
	int		 dfd;

	if (e->fd == -1) {
		if (e->next == e->n) {
			put16(e->in, 0);
			e->ended = 1;
			return 2;
		}
		/* Never through a symlinked folder, never blocked on a FIFO. */
		plen = strlen(e->paths[e->next]);
		if (plen >= SYNCSET_PATH_MAX || safefs_split(e->paths[e->next],
		    dir, sizeof(dir), &base) == -1 ||
		    (dfd = safefs_cache_open(&e->dirs, e->home, dir, 0, why,
		    sizeof(why))) == -1) {
			snprintf(err, errlen, "cannot read %.200s: unsafe or "
			    "missing folder", e->paths[e->next]);
			return -1;
		}
		e->fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_CLOEXEC);
		if (e->fd == -1 || fstat(e->fd, &st) == -1 ||
		    !S_ISREG(st.st_mode)) {
			snprintf(err, errlen, "cannot read %.200s: %s",
			    e->paths[e->next], e->fd == -1 ? strerror(errno) :
			    "not a regular file");
			if (e->fd != -1)
				close(e->fd);
			e->fd = -1;
			return -1;
		}
		put16(e->in, (uint16_t)plen);
		memcpy(e->in + 2, e->paths[e->next], plen);
		put32(e->in + 2 + plen, (uint32_t)e->modes[e->next]);
		put64(e->in + 6 + plen, (uint64_t)st.st_size);
		e->left = (uint64_t)st.st_size;
		e->next++;
		if (e->left == 0) {
			close(e->fd);
			e->fd = -1;
		}
		return (ssize_t)(2 + plen + HDR_FIXED);
	}
	do
		r = read(e->fd, e->in, e->left < CHUNK ? (size_t)e->left : CHUNK);
	while (r == -1 && errno == EINTR);
	if (r <= 0) {
		snprintf(err, errlen, "%s changed while being sent",
		    e->paths[e->next - 1]);
		return -1;
	}
	e->left -= (uint64_t)r;
	if (e->left == 0) {
		close(e->fd);
		e->fd = -1;
	}
	return r;
}

/*
 * Append up to about max compressed bytes to out.  Returns 1 when more
 * remains, 0 when the bundle is complete, -1 on error (err set).
 */
int
bundle_enc_next(struct bundle_enc *e, struct buf *out, size_t max, char *err,
    size_t errlen)
{
	size_t	start = buf_used(out), room;
	ssize_t	n;
	int	zr;

	while (!e->done && buf_used(out) - start < max) {
		if (e->zs.avail_in == 0 && !e->ended) {
			if ((n = enc_fill(e, err, errlen)) == -1)
				return -1;
			e->zs.next_in = e->in;
			e->zs.avail_in = (uInt)n;
			e->raw += (uint64_t)n;
		}
		room = CHUNK;
		if (buf_reserve(out, room) == -1) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		e->zs.next_out = buf_tail(out);
		e->zs.avail_out = (uInt)room;
		zr = deflate(&e->zs, e->ended ? Z_FINISH : Z_NO_FLUSH);
		if (zr == Z_STREAM_ERROR) {
			snprintf(err, errlen, "deflate failed");
			return -1;
		}
		buf_commit(out, room - e->zs.avail_out);
		if (zr == Z_STREAM_END)
			e->done = 1;
	}
	return e->done ? 0 : 1;
}

uint64_t
bundle_enc_raw_bytes(const struct bundle_enc *e)
{
	return e->raw;
}

void
bundle_enc_free(struct bundle_enc *e)
{
	if (e == NULL)
		return;
	if (e->fd != -1)
		close(e->fd);
	safefs_cache_close(&e->dirs);
	deflateEnd(&e->zs);
	free(e->home);
	free(e);
}

/* ---- decoder (worker) ---- */

enum dec_state {
	D_PATHLEN,
	D_PATH,		/* path and the fixed fields */
	D_DATA,
	D_END
};

struct bundle_dec {
	char			*home;
	struct bundle_file	*files;	/* sorted by path */
	size_t			 n;
	z_stream		 zs;
	int			 zdone;
	enum dec_state		 st;
	uint8_t			 hdr[SYNCSET_PATH_MAX + HDR_FIXED];
	size_t			 need;	/* bytes wanted in hdr */
	size_t			 have;
	size_t			 pathlen;
	struct bundle_file	*cur;
	uint64_t		 left;
	struct safefs_dircache	 dirs;
	int			 fd;
	EVP_MD_CTX		*md;
};

static int
cmp_bf(const void *a, const void *b)
{
	return strcmp(((const struct bundle_file *)a)->path,
	    ((const struct bundle_file *)b)->path);
}

struct bundle_dec *
bundle_dec_new(const char *home, struct bundle_file *files, size_t n)
{
	struct bundle_dec	*d;

	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->home = strdup(home)) == NULL ||
	    (d->md = EVP_MD_CTX_new()) == NULL) {
		if (d != NULL)
			free(d->home);
		free(d);
		return NULL;
	}
	if (inflateInit(&d->zs) != Z_OK) {
		EVP_MD_CTX_free(d->md);
		free(d->home);
		free(d);
		return NULL;
	}
	if (n > 1)
		qsort(files, n, sizeof(*files), cmp_bf);
	d->files = files;
	d->n = n;
	d->st = D_PATHLEN;
	d->need = 2;
	d->fd = -1;
	safefs_cache_init(&d->dirs);
	return d;
}

static void
close_current(struct bundle_dec *d)
{
	if (d->fd != -1)
		close(d->fd);
	d->fd = -1;
}

/* A record header is complete: check it and open the temp file. */
static int
begin_file(struct bundle_dec *d, char *err, size_t errlen)
{
	struct bundle_file	 key, *f;
	char			 path[SYNCSET_PATH_MAX], dir[SYNCSET_PATH_MAX];
	char			 why[96], tmp[300];
	const char		*base;
	uint64_t		 size;
	int			 dfd;

	memcpy(path, d->hdr, d->pathlen);
	path[d->pathlen] = '\0';
	size = get_be(d->hdr + d->pathlen + 4, 8);
	if (strlen(path) != d->pathlen ||
	    syncset_check(path, why, sizeof(why)) == NULL) {
		snprintf(err, errlen, "refused path \"%.200s\": %s", path,
		    strlen(path) != d->pathlen ? "NUL in path" : why);
		return -1;
	}
	key.path = path;
	f = d->n > 0 ? bsearch(&key, d->files, d->n, sizeof(key), cmp_bf) :
	    NULL;
	if (f == NULL || f->received || f->stale || f->tmpname != NULL) {
		snprintf(err, errlen, "unexpected file \"%.200s\" in bundle",
		    path);
		return -1;
	}
	if (size > BUNDLE_MAX_FILE_SIZE) {
		snprintf(err, errlen, "file \"%.200s\" too large", path);
		return -1;
	}
	if (safefs_split(path, dir, sizeof(dir), &base) == -1 ||
	    (dfd = safefs_cache_open(&d->dirs, d->home, dir, 1, err,
	    errlen)) == -1)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s%s", SYNCSET_TMP_PREFIX, base);
	if ((f->tmpname = strdup(tmp)) == NULL ||
	    (d->fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1) {
		snprintf(err, errlen, "cannot write %s/%s: %s", dir, tmp,
		    strerror(errno));
		return -1;
	}
	EVP_DigestInit_ex(d->md, EVP_md5(), NULL);
	d->cur = f;
	d->left = size;
	return 0;
}

/*
 * The current file's content is complete: check it.  Durability comes
 * later, in one syncfs() for the whole bundle (apply.c), not one fsync per
 * file: a thousand small rule files must not cost a thousand disk flushes.
 */
static int
end_file(struct bundle_dec *d, char *err, size_t errlen)
{
	uint8_t		md5[16];
	unsigned	len;

	(void)err;
	(void)errlen;
	EVP_DigestFinal_ex(d->md, md5, &len);
	if (memcmp(md5, d->cur->md5, 16) == 0)
		d->cur->received = 1;
	else
		d->cur->stale = 1;	/* changed on the master meanwhile */
	close_current(d);
	d->cur = NULL;
	return 0;
}

/* Consume inflated bytes through the record state machine. */
static int
dec_raw(struct bundle_dec *d, const uint8_t *p, size_t len, char *err,
    size_t errlen)
{
	size_t	take;
	ssize_t	w;

	while (len > 0) {
		if (d->st == D_END) {
			snprintf(err, errlen, "data after the end of the "
			    "bundle");
			return -1;
		}
		if (d->st == D_DATA) {
			take = len < d->left ? len : (size_t)d->left;
			if ((w = write(d->fd, p, take)) != (ssize_t)take) {
				snprintf(err, errlen, "write %s: %s",
				    d->cur->path, w == -1 ? strerror(errno) :
				    "short write");
				return -1;
			}
			EVP_DigestUpdate(d->md, p, take);
			p += take;
			len -= take;
			d->left -= take;
			if (d->left == 0) {
				if (end_file(d, err, errlen) == -1)
					return -1;
				d->st = D_PATHLEN;
				d->need = 2;
				d->have = 0;
			}
			continue;
		}
		take = d->need - d->have;
		if (take > len)
			take = len;
		memcpy(d->hdr + d->have, p, take);
		d->have += take;
		p += take;
		len -= take;
		if (d->have < d->need)
			continue;
		switch (d->st) {
		case D_PATHLEN:
			d->pathlen = (size_t)get_be(d->hdr, 2);
			if (d->pathlen == 0) {
				d->st = D_END;
				break;
			}
			if (d->pathlen >= SYNCSET_PATH_MAX) {
				snprintf(err, errlen, "path length %zu over "
				    "the limit", d->pathlen);
				return -1;
			}
			d->st = D_PATH;
			d->need = d->pathlen + HDR_FIXED;
			d->have = 0;
			break;
		case D_PATH:
			if (begin_file(d, err, errlen) == -1)
				return -1;
			if (d->left == 0) {
				if (end_file(d, err, errlen) == -1)
					return -1;
				d->st = D_PATHLEN;
				d->need = 2;
				d->have = 0;
			} else
				d->st = D_DATA;
			break;
		default:
			break;
		}
	}
	return 0;
}

/* Feed compressed bytes as they arrive; -1 (err set) on a corrupt bundle. */
int
bundle_dec_feed(struct bundle_dec *d, const uint8_t *p, size_t len,
    char *err, size_t errlen)
{
	uint8_t	out[CHUNK];
	int	zr;

	if (d->zdone && len > 0) {
		snprintf(err, errlen, "data after the end of the zlib stream");
		return -1;
	}
	d->zs.next_in = (Bytef *)(uintptr_t)p;
	d->zs.avail_in = (uInt)len;
	while (d->zs.avail_in > 0 && !d->zdone) {
		d->zs.next_out = out;
		d->zs.avail_out = sizeof(out);
		zr = inflate(&d->zs, Z_NO_FLUSH);
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
			snprintf(err, errlen, "corrupt bundle: %s",
			    d->zs.msg ? d->zs.msg : "inflate error");
			return -1;
		}
		if (dec_raw(d, out, sizeof(out) - d->zs.avail_out, err,
		    errlen) == -1)
			return -1;
		if (zr == Z_STREAM_END)
			d->zdone = 1;
		else if (zr == Z_BUF_ERROR && d->zs.avail_in == 0)
			break;
	}
	if (d->zdone && d->zs.avail_in > 0) {
		snprintf(err, errlen, "data after the end of the zlib stream");
		return -1;
	}
	return 0;
}

/* The sender says the bundle is complete: check that it really is. */
int
bundle_dec_finish(struct bundle_dec *d, char *err, size_t errlen)
{
	if (!d->zdone || d->st != D_END) {
		snprintf(err, errlen, "truncated bundle");
		return -1;
	}
	return 0;
}

/* Remove every temp file written so far (a sync cut off or refused). */
void
bundle_dec_abort(struct bundle_dec *d)
{
	char	dir[SYNCSET_PATH_MAX], e[128];
	const char *base;
	size_t	i;
	int	dfd;

	close_current(d);
	for (i = 0; i < d->n; i++) {
		if (d->files[i].tmpname == NULL)
			continue;
		if (safefs_split(d->files[i].path, dir, sizeof(dir), &base) ==
		    0 && (dfd = safefs_open_dir(d->home, dir, 0, e,
		    sizeof(e))) != -1) {
			unlinkat(dfd, d->files[i].tmpname, 0);
			close(dfd);
		}
		free(d->files[i].tmpname);
		d->files[i].tmpname = NULL;
		d->files[i].received = d->files[i].stale = 0;
	}
}

void
bundle_dec_free(struct bundle_dec *d)
{
	if (d == NULL)
		return;
	close_current(d);
	safefs_cache_close(&d->dirs);
	inflateEnd(&d->zs);
	EVP_MD_CTX_free(d->md);
	free(d->home);
	free(d);
}
