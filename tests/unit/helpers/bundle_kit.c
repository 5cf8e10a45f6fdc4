/*
 * bundle_kit: hand-written streams and decoder/encoder drivers for the
 * bundle tests; see bundle_kit.h.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "base/buf.h"
#include "sync/bundle.h"
#include "sync/syncset.h"

#include "bundle_kit.h"
#include "fixture.h"

/* ---- the folders: base/{master,worker,outside} (helpers/fixture.c) ---- */

/* Nothing but the bk_three folders in base, and nothing in outside. */
void
bk_check_contained(struct fx_homes *f)
{
	DIR		*d;
	struct dirent	*de;
	size_t		 n = 0;

	assert_non_null(d = opendir(f->base));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (strcmp(de->d_name, "master") != 0 &&
		    strcmp(de->d_name, "worker") != 0 &&
		    strcmp(de->d_name, "outside") != 0)
			fail_msg("%s/%s was created", f->base, de->d_name);
		n++;
	}
	closedir(d);
	assert_int_equal(n, 3);
	if (fx_count_entries(f->outside) != 0)
		fail_msg("something was written in %s", f->outside);
}

uint32_t
bk_rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* ---- the files of a round ---- */

/* The worker's expected list for specs, as wsync builds it. */
struct bundle_file *
bk_expect(const struct bk_spec *s, size_t n)
{
	struct bundle_file	*f;
	size_t			 i;

	assert_non_null(f = calloc(n ? n : 1, sizeof(*f)));
	for (i = 0; i < n; i++) {
		assert_non_null(f[i].path = strdup(s[i].path));
		fx_md5(s[i].data, s[i].len, f[i].md5);
		f[i].mode = s[i].mode;
		f[i].is_new = 1;
	}
	return f;
}

void
bk_free_files(struct bundle_file *f, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(f[i].path);
		free(f[i].tmpname);
	}
	free(f);
}

struct bundle_file *
bk_find(struct bundle_file *f, size_t n, const char *path)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(f[i].path, path) == 0)
			return &f[i];
	fail_msg("%s not in the expected list", path);
	return NULL;
}

/* The temp file of f under home holds want, and only its owner reads it. */
void
bk_check_temp(const char *home, const struct bundle_file *f, const void *want,
    size_t wantlen)
{
	char		 p[PATH_MAX], t[PATH_MAX];
	const char	*slash;
	struct stat	 st;
	uint8_t		*got;
	size_t		 len;

	assert_non_null(f->tmpname);
	assert_null(strchr(f->tmpname, '/'));
	assert_int_equal(strncmp(f->tmpname, SYNCSET_TMP_PREFIX,
	    strlen(SYNCSET_TMP_PREFIX)), 0);
	slash = strrchr(f->path, '/');
	assert_non_null(slash);
	snprintf(p, sizeof(p), "%s/%.*s/%s", home, (int)(slash - f->path),
	    f->path, f->tmpname);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 077, 0);
	if ((got = fx_slurp(p, &len)) == NULL)
		fail_msg("cannot read %s", p);
	assert_int_equal(len, wantlen);
	assert_memory_equal(got, want, len);
	free(got);
	/* Nothing is installed by the decoder. */
	snprintf(t, sizeof(t), "%s/%s", home, f->path);
	assert_int_equal(access(t, F_OK), -1);
}

/* ---- raw streams written by hand ---- */

void
bk_raw_put(struct bk_raw *r, const void *d, size_t n)
{
	assert_non_null(r->p = realloc(r->p, r->n + n + 1));
	memcpy(r->p + r->n, d, n);
	r->n += n;
}

void
bk_raw_be(struct bk_raw *r, uint64_t v, int bytes)
{
	uint8_t	b[8];
	int	i;

	for (i = 0; i < bytes; i++)
		b[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
	bk_raw_put(r, b, (size_t)bytes);
}

/* A record header with any path bytes and any declared size. */
void
bk_raw_hdr(struct bk_raw *r, const void *path, size_t plen, uint32_t mode,
    uint64_t size)
{
	bk_raw_be(r, plen, 2);
	bk_raw_put(r, path, plen);
	bk_raw_be(r, mode, 4);
	bk_raw_be(r, size, 8);
}

void
bk_raw_rec(struct bk_raw *r, const char *path, const void *data, size_t len)
{
	bk_raw_hdr(r, path, strlen(path), 0644, len);
	bk_raw_put(r, data, len);
}

void
bk_raw_end(struct bk_raw *r)
{
	bk_raw_be(r, 0, 2);
}

/* compress2 of p: a complete zlib stream. */
uint8_t *
bk_zip(const uint8_t *p, size_t n, size_t *zlen)
{
	uLongf	 len = compressBound(n);
	uint8_t	*z;

	assert_non_null(z = malloc(len));
	assert_int_equal(compress2(z, &len, p, n, 6), Z_OK);
	*zlen = len;
	return z;
}

/* ---- driving the decoder ---- */

/*
 * Feed z in pieces (piece 0: all at once; else sizes cycling through
 * pieces[]) then finish.  Returns the decoder for the caller to inspect,
 * abort and free; *rv is 0 when feed and finish succeeded.
 */
static const size_t	bk_cycle[] = { 1, 2, 3, 5, 7, 11, 13, 64, 1000, 4097,
    65535, 65536, 70001 };

struct bundle_dec *
bk_decode(const char *home, struct bundle_file *f, size_t n, const uint8_t *z,
    size_t zlen, size_t piece, int *rv, char *err, size_t errlen)
{
	struct bundle_dec	*d;
	size_t			 off = 0, k, i = 0;

	assert_non_null(d = bundle_dec_new(home, f, n));
	err[0] = '\0';
	*rv = 0;
	while (off < zlen) {
		if (piece == 0)
			k = zlen - off;
		else if (piece == (size_t)-1)
			k = bk_cycle[i++ % BK_NELEM(bk_cycle)];
		else
			k = piece;
		if (k > zlen - off)
			k = zlen - off;
		if (bundle_dec_feed(d, z + off, k, err, errlen) == -1) {
			assert_true(err[0] != '\0');
			*rv = -1;
			return d;
		}
		off += k;
	}
	if (bundle_dec_finish(d, err, errlen) == -1) {
		assert_true(err[0] != '\0');
		*rv = -1;
	}
	return d;
}

void
bk_dec_done(struct bundle_dec *d, const char *home)
{
	bundle_dec_abort(d);
	bundle_dec_free(d);
	assert_int_equal(fx_count_temps(home), 0);
}

/* A stream the decoder must refuse, in any piece size; nothing left. */
void
bk_refused(struct fx_homes *x, struct bundle_file *f, size_t n,
    const uint8_t *z, size_t zlen, const char *what)
{
	static const size_t	 pieces[] = { 0, 1, 3, (size_t)-1 };
	struct bundle_dec	*d;
	char			 err[256];
	size_t			 i, k;
	int			 rv;

	for (i = 0; i < BK_NELEM(pieces); i++) {
		d = bk_decode(x->worker, f, n, z, zlen, pieces[i], &rv, err,
		    sizeof(err));
		if (rv != -1)
			fail_msg("%s: accepted (piece %zu)", what, pieces[i]);
		if (what != NULL && strstr(err, what) == NULL)
			print_message("note: %s refused as: %s\n", what, err);
		bk_dec_done(d, x->worker);
		for (k = 0; k < n; k++) {
			assert_null(f[k].tmpname);
			assert_int_equal(f[k].received, 0);
		}
	}
	bk_check_contained(x);
}

/* ---- the encoder, checked by hand ---- */

/* Encode paths of home, max bytes per call; returns the whole stream. */
uint8_t *
bk_encode(const char *home, char *const *paths, const mode_t *modes, size_t n,
    size_t max, size_t *zlen, size_t *calls, uint64_t *raw)
{
	struct bundle_enc	*e;
	struct buf		 out;
	uint8_t			*z;
	char			 err[256];
	size_t			 before;
	int			 r;

	buf_init(&out);
	assert_non_null(e = bundle_enc_new(home, paths, modes, n, 6));
	*calls = 0;
	do {
		before = buf_used(&out);
		r = bundle_enc_next(e, &out, max, err, sizeof(err));
		if (r == -1)
			fail_msg("encoder: %s", err);
		(*calls)++;
		/* Something each call, and "about" max: one chunk over. */
		assert_true(buf_used(&out) > before);
		assert_true(buf_used(&out) - before <= max + 65536);
	} while (r == 1);
	assert_int_equal(r, 0);
	/* Done is done. */
	before = buf_used(&out);
	assert_int_equal(bundle_enc_next(e, &out, max, err, sizeof(err)), 0);
	assert_int_equal(buf_used(&out), before);
	*raw = bundle_enc_raw_bytes(e);
	bundle_enc_free(e);
	*zlen = buf_used(&out);
	assert_non_null(z = malloc(*zlen ? *zlen : 1));
	memcpy(z, buf_head(&out), *zlen);
	buf_free(&out);
	return z;
}

/* Inflate z with zlib alone and check its records against specs. */
void
bk_check_stream(const uint8_t *z, size_t zlen, const struct bk_spec *s,
    size_t n, uint64_t raw)
{
	z_stream	 zs;
	uint8_t		*out, *p;
	size_t		 cap = 0, i, plen, want = 2;
	int		 zr;

	for (i = 0; i < n; i++)
		want += 2 + strlen(s[i].path) + 12 + s[i].len;
	assert_int_equal(raw, want);
	cap = want + 1;
	assert_non_null(out = malloc(cap));
	memset(&zs, 0, sizeof(zs));
	assert_int_equal(inflateInit(&zs), Z_OK);
	zs.next_in = (Bytef *)(uintptr_t)z;
	zs.avail_in = (uInt)zlen;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	zr = inflate(&zs, Z_FINISH);
	assert_int_equal(zr, Z_STREAM_END);
	assert_int_equal(zs.avail_in, 0);
	assert_int_equal(zs.total_out, want);
	inflateEnd(&zs);
	p = out;
	for (i = 0; i < n; i++) {
		plen = (size_t)p[0] << 8 | p[1];
		assert_int_equal(plen, strlen(s[i].path));
		assert_memory_equal(p + 2, s[i].path, plen);
		p += 2 + plen;
		assert_int_equal((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		    (uint32_t)p[2] << 8 | p[3], s[i].mode);
		p += 4;
		{
			uint64_t	sz = 0;
			int		k;

			for (k = 0; k < 8; k++)
				sz = sz << 8 | p[k];
			assert_int_equal(sz, s[i].len);
		}
		p += 8;
		assert_memory_equal(p, s[i].data, s[i].len);
		p += s[i].len;
	}
	assert_int_equal(p[0], 0);
	assert_int_equal(p[1], 0);
	free(out);
}

void
bk_round_init(struct bk_round *r, const char *home)
{
	static const char	*paths[] = { "etc/decoders/a.xml",
	    "etc/decoders/rep.xml", "etc/lists/zeros", "etc/rules/big.xml",
	    "etc/rules/chunk.xml", "etc/rules/empty.xml",
	    "etc/rules/sub/deep/small.xml", "etc/shared/default/agent.conf" };
	static const size_t	 lens[] = { 40, 200000, 1 << 20, 300001,
	    65536, 0, 1, 65537 };
	uint32_t		 seed = 0xc0ffee;
	size_t			 i, k;

	memset(r, 0, sizeof(*r));
	r->n = BK_NELEM(paths);
	for (i = 0; i < r->n; i++) {
		r->s[i].path = paths[i];
		r->s[i].len = lens[i];
		r->s[i].mode = i == 0 ? 0640 : 0644;
		assert_non_null(r->s[i].data = malloc(lens[i] + 1));
		for (k = 0; k < lens[i]; k++) {
			if (strstr(paths[i], "zeros") != NULL)
				r->s[i].data[k] = 0;
			else if (strstr(paths[i], "rep") != NULL)
				r->s[i].data[k] = (uint8_t)"abcdefgh\n"[k % 9];
			else
				r->s[i].data[k] = (uint8_t)bk_rnd(&seed);
		}
		fx_put(home, paths[i], r->s[i].data, lens[i]);
		r->paths[i] = (char *)(uintptr_t)paths[i];
		r->modes[i] = r->s[i].mode;
	}
}

void
bk_round_free(struct bk_round *r)
{
	size_t	i;

	for (i = 0; i < r->n; i++)
		free(r->s[i].data);
}

/* A small valid bundle of bk_three files, as raw records. */
const struct bk_spec bk_three[BK_NTHREE] = {
	{ "etc/rules/a.xml", (uint8_t *)"<group name=\"a\"/>\n", 18, 0644 },
	{ "etc/rules/sub/b.xml", (uint8_t *)"bbbbbbbbbbbbbbbbbbbbbbbbbbbb", 28,
	    0644 },
	{ "etc/lists/keys", (uint8_t *)"001 w any 0123\n", 15, 0640 },
};

void
bk_raw_three(struct bk_raw *r)
{
	size_t	i;

	for (i = 0; i < BK_NTHREE; i++)
		bk_raw_rec(r, bk_three[i].path, bk_three[i].data,
		    bk_three[i].len);
}
