/*
 * test_bundle: the stream of files of one sync round.  Real files are
 * encoded on a "master" home and decoded into a "worker" home, fed in
 * pieces of every size; hostile streams are written here by hand (the
 * record layout of bundle.h, compressed with compress2) so the decoder is
 * not checked against its own encoder.  Every test runs in a temp folder
 * holding the homes and an "outside" folder nothing may reach.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "base/buf.h"
#include "sync/bundle.h"
#include "sync/syncset.h"

#include "helpers/fixture.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* ---- the folders: base/{master,worker,outside} (helpers/fixture.c) ---- */

/* Nothing but the three folders in base, and nothing in outside. */
static void
check_contained(struct fx_homes *f)
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

static uint32_t
rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* ---- the files of a round ---- */

struct spec {
	const char	*path;
	uint8_t		*data;
	size_t		 len;
	mode_t		 mode;
};

/* The worker's expected list for specs, as wsync builds it. */
static struct bundle_file *
expect(const struct spec *s, size_t n)
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

static void
free_files(struct bundle_file *f, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(f[i].path);
		free(f[i].tmpname);
	}
	free(f);
}

static struct bundle_file *
find(struct bundle_file *f, size_t n, const char *path)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(f[i].path, path) == 0)
			return &f[i];
	fail_msg("%s not in the expected list", path);
	return NULL;
}

/* The temp file of f under home holds want, and only its owner reads it. */
static void
check_temp(const char *home, const struct bundle_file *f, const void *want,
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

struct raw {
	uint8_t	*p;
	size_t	 n;
};

static void
raw_put(struct raw *r, const void *d, size_t n)
{
	assert_non_null(r->p = realloc(r->p, r->n + n + 1));
	memcpy(r->p + r->n, d, n);
	r->n += n;
}

static void
raw_be(struct raw *r, uint64_t v, int bytes)
{
	uint8_t	b[8];
	int	i;

	for (i = 0; i < bytes; i++)
		b[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
	raw_put(r, b, (size_t)bytes);
}

/* A record header with any path bytes and any declared size. */
static void
raw_hdr(struct raw *r, const void *path, size_t plen, uint32_t mode,
    uint64_t size)
{
	raw_be(r, plen, 2);
	raw_put(r, path, plen);
	raw_be(r, mode, 4);
	raw_be(r, size, 8);
}

static void
raw_rec(struct raw *r, const char *path, const void *data, size_t len)
{
	raw_hdr(r, path, strlen(path), 0644, len);
	raw_put(r, data, len);
}

static void
raw_end(struct raw *r)
{
	raw_be(r, 0, 2);
}

/* compress2 of p: a complete zlib stream. */
static uint8_t *
zip(const uint8_t *p, size_t n, size_t *zlen)
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
static const size_t	cycle[] = { 1, 2, 3, 5, 7, 11, 13, 64, 1000, 4097,
    65535, 65536, 70001 };

static struct bundle_dec *
decode(const char *home, struct bundle_file *f, size_t n, const uint8_t *z,
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
			k = cycle[i++ % NELEM(cycle)];
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

static void
dec_done(struct bundle_dec *d, const char *home)
{
	bundle_dec_abort(d);
	bundle_dec_free(d);
	assert_int_equal(fx_count_temps(home), 0);
}

/* A stream the decoder must refuse, in any piece size; nothing left. */
static void
refused(struct fx_homes *x, struct bundle_file *f, size_t n, const uint8_t *z,
    size_t zlen, const char *what)
{
	static const size_t	 pieces[] = { 0, 1, 3, (size_t)-1 };
	struct bundle_dec	*d;
	char			 err[256];
	size_t			 i, k;
	int			 rv;

	for (i = 0; i < NELEM(pieces); i++) {
		d = decode(x->worker, f, n, z, zlen, pieces[i], &rv, err,
		    sizeof(err));
		if (rv != -1)
			fail_msg("%s: accepted (piece %zu)", what, pieces[i]);
		if (what != NULL && strstr(err, what) == NULL)
			print_message("note: %s refused as: %s\n", what, err);
		dec_done(d, x->worker);
		for (k = 0; k < n; k++) {
			assert_null(f[k].tmpname);
			assert_int_equal(f[k].received, 0);
		}
	}
	check_contained(x);
}

/* ---- the encoder, checked by hand ---- */

/* Encode paths of home, max bytes per call; returns the whole stream. */
static uint8_t *
encode(const char *home, char *const *paths, const mode_t *modes, size_t n,
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
static void
check_stream(const uint8_t *z, size_t zlen, const struct spec *s, size_t n,
    uint64_t raw)
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

/* The reference round: sizes around the 64 KiB chunk, empty, nested. */
struct round {
	struct spec	 s[8];
	size_t		 n;
	char		*paths[8];
	mode_t		 modes[8];
};

static void
round_init(struct round *r, const char *home)
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
	r->n = NELEM(paths);
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
				r->s[i].data[k] = (uint8_t)rnd(&seed);
		}
		fx_put(home, paths[i], r->s[i].data, lens[i]);
		r->paths[i] = (char *)(uintptr_t)paths[i];
		r->modes[i] = r->s[i].mode;
	}
}

static void
round_free(struct round *r)
{
	size_t	i;

	for (i = 0; i < r->n; i++)
		free(r->s[i].data);
}

static void
test_roundtrip(void **state)
{
	static const size_t	 pieces[] = { 0, 1, (size_t)-1, 4096 };
	struct fx_homes		 *x = *state;
	struct round		 r;
	struct bundle_file	*f;
	struct bundle_dec	*d;
	uint8_t			*z;
	uint64_t		 raw;
	size_t			 zlen, calls, i, k;
	char			 err[256];
	int			 rv;

	(void)state;
	round_init(&r, x->master);
	z = encode(x->master, r.paths, r.modes, r.n, 256, &zlen, &calls, &raw);
	/* Each deflate step may add up to a chunk: several calls, not one. */
	assert_true(calls >= 5);
	check_stream(z, zlen, r.s, r.n, raw);
	for (i = 0; i < NELEM(pieces); i++) {
		f = expect(r.s, r.n);
		d = decode(x->worker, f, r.n, z, zlen, pieces[i], &rv, err,
		    sizeof(err));
		if (rv != 0)
			fail_msg("piece %zu: %s", pieces[i], err);
		for (k = 0; k < r.n; k++) {
			struct bundle_file *b = find(f, r.n, r.s[k].path);

			assert_int_equal(b->received, 1);
			assert_int_equal(b->stale, 0);
			check_temp(x->worker, b, r.s[k].data, r.s[k].len);
		}
		assert_int_equal(fx_count_temps(x->worker), r.n);
		bundle_dec_free(d);
		/* Free without abort keeps the temp files for apply. */
		assert_int_equal(fx_count_temps(x->worker), r.n);
		d = bundle_dec_new(x->worker, f, r.n);
		bundle_dec_abort(d);
		bundle_dec_free(d);
		assert_int_equal(fx_count_temps(x->worker), 0);
		free_files(f, r.n);
		assert_int_equal(fx_rmtree(x->worker), 0);
		assert_int_equal(mkdir(x->worker, 0750), 0);
	}
	free(z);
	/* One big call per file set: max larger than everything. */
	z = encode(x->master, r.paths, r.modes, r.n, 64 << 20, &zlen, &calls,
	    &raw);
	assert_int_equal(calls, 1);
	check_stream(z, zlen, r.s, r.n, raw);
	free(z);
	round_free(&r);
	check_contained(x);
}

/* Many small files, one byte of output asked at a time. */
static void
test_many_small(void **state)
{
	struct fx_homes		 *x = *state;
	struct spec		 s[150];
	char			*paths[150], name[150][64];
	mode_t			 modes[150];
	struct bundle_file	*f;
	struct bundle_dec	*d;
	uint8_t			*z;
	uint64_t		 raw;
	size_t			 zlen, calls, i;
	char			 err[256];
	int			 rv;

	(void)state;
	for (i = 0; i < NELEM(s); i++) {
		snprintf(name[i], sizeof(name[i]), "etc/%s/d%zu/f%03zu.xml",
		    i % 2 ? "rules" : "decoders", i % 5, i);
		s[i].path = name[i];
		assert_non_null(s[i].data = malloc(i + 1));
		memset(s[i].data, 'a' + (int)(i % 26), i);
		s[i].len = i;
		s[i].mode = 0644;
		paths[i] = name[i];
		modes[i] = 0644;
		fx_put(x->master, name[i], s[i].data, i);
	}
	z = encode(x->master, paths, modes, NELEM(s), 1, &zlen, &calls, &raw);
	assert_true(calls > 1);
	check_stream(z, zlen, s, NELEM(s), raw);
	f = expect(s, NELEM(s));
	d = decode(x->worker, f, NELEM(s), z, zlen, 1, &rv, err, sizeof(err));
	if (rv != 0)
		fail_msg("%s", err);
	for (i = 0; i < NELEM(s); i++) {
		struct bundle_file *b = find(f, NELEM(s), s[i].path);

		assert_int_equal(b->received, 1);
		check_temp(x->worker, b, s[i].data, s[i].len);
	}
	dec_done(d, x->worker);
	for (i = 0; i < NELEM(s); i++) {
		assert_null(f[i].tmpname);
		assert_int_equal(f[i].received, 0);
		free(s[i].data);
	}
	free_files(f, NELEM(s));
	free(z);
	check_contained(x);
}

/* Zero-length files only, and a bundle with no file at all. */
static void
test_empty_files(void **state)
{
	static uint8_t		 nothing[1];
	struct fx_homes		 *x = *state;
	struct spec		 s[] = {
		{ "etc/rules/a.xml", nothing, 0, 0644 },
		{ "etc/lists/keys", nothing, 0, 0640 },
		{ "etc/rules/sub/b.xml", nothing, 0, 0600 },
	};
	struct bundle_file	*f;
	struct bundle_dec	*d;
	struct raw		 r = { NULL, 0 };
	uint8_t			*z;
	size_t			 zlen, i;
	char			 err[256];
	int			 rv;

	(void)state;
	for (i = 0; i < NELEM(s); i++)
		raw_rec(&r, s[i].path, "", 0);
	raw_end(&r);
	z = zip(r.p, r.n, &zlen);
	f = expect(s, NELEM(s));
	d = decode(x->worker, f, NELEM(s), z, zlen, 1, &rv, err, sizeof(err));
	if (rv != 0)
		fail_msg("%s", err);
	for (i = 0; i < NELEM(s); i++) {
		assert_int_equal(f[i].received, 1);
		check_temp(x->worker, &f[i], "", 0);
	}
	dec_done(d, x->worker);
	free_files(f, NELEM(s));
	free(z);
	/* Just the end marker: a valid, empty bundle. */
	r.n = 0;
	raw_end(&r);
	z = zip(r.p, r.n, &zlen);
	f = expect(s, 0);
	d = decode(x->worker, f, 0, z, zlen, 0, &rv, err, sizeof(err));
	if (rv != 0)
		fail_msg("%s", err);
	dec_done(d, x->worker);
	free_files(f, 0);
	free(z);
	free(r.p);
	check_contained(x);
}

/* A file that changed on the master meanwhile: stale, never received. */
static void
test_stale(void **state)
{
	struct fx_homes		 *x = *state;
	struct spec		 s[] = {
		{ "etc/rules/a.xml", (uint8_t *)"new a", 5, 0644 },
		{ "etc/rules/b.xml", (uint8_t *)"b", 1, 0644 },
		{ "etc/rules/c.xml", (uint8_t *)"", 0, 0644 },
	};
	struct bundle_file	*f, *a, *b, *c;
	struct bundle_dec	*d;
	struct raw		 r = { NULL, 0 };
	uint8_t			*z;
	size_t			 zlen;
	char			 err[256];
	int			 rv;

	(void)state;
	f = expect(s, NELEM(s));
	/* The plan's MD5 of a.xml and c.xml was of older contents. */
	fx_md5("old a", 5, f[0].md5);
	fx_md5("x", 1, f[2].md5);
	raw_rec(&r, "etc/rules/a.xml", "new a", 5);
	raw_rec(&r, "etc/rules/b.xml", "b", 1);
	raw_rec(&r, "etc/rules/c.xml", "", 0);
	raw_end(&r);
	z = zip(r.p, r.n, &zlen);
	d = decode(x->worker, f, NELEM(s), z, zlen, 2, &rv, err, sizeof(err));
	if (rv != 0)
		fail_msg("%s", err);
	a = find(f, 3, "etc/rules/a.xml");
	b = find(f, 3, "etc/rules/b.xml");
	c = find(f, 3, "etc/rules/c.xml");
	assert_int_equal(a->stale, 1);
	assert_int_equal(a->received, 0);
	assert_int_equal(b->stale, 0);
	assert_int_equal(b->received, 1);
	assert_int_equal(c->stale, 1);
	assert_int_equal(c->received, 0);
	dec_done(d, x->worker);
	assert_int_equal(a->stale, 0);
	free_files(f, NELEM(s));
	free(z);
	free(r.p);
	check_contained(x);
}

/* A file of the plan the bundle does not carry is neither. */
static void
test_not_sent(void **state)
{
	struct fx_homes		 *x = *state;
	struct spec		 s[] = {
		{ "etc/rules/a.xml", (uint8_t *)"a", 1, 0644 },
		{ "etc/rules/b.xml", (uint8_t *)"b", 1, 0644 },
	};
	struct bundle_file	*f;
	struct bundle_dec	*d;
	struct raw		 r = { NULL, 0 };
	uint8_t			*z;
	size_t			 zlen;
	char			 err[256];
	int			 rv;

	(void)state;
	f = expect(s, NELEM(s));
	raw_rec(&r, "etc/rules/b.xml", "b", 1);
	raw_end(&r);
	z = zip(r.p, r.n, &zlen);
	d = decode(x->worker, f, NELEM(s), z, zlen, 0, &rv, err, sizeof(err));
	if (rv != 0)
		fail_msg("%s", err);
	assert_int_equal(find(f, 2, "etc/rules/a.xml")->received, 0);
	assert_int_equal(find(f, 2, "etc/rules/a.xml")->stale, 0);
	assert_null(find(f, 2, "etc/rules/a.xml")->tmpname);
	assert_int_equal(find(f, 2, "etc/rules/b.xml")->received, 1);
	dec_done(d, x->worker);
	free_files(f, NELEM(s));
	free(z);
	free(r.p);
	check_contained(x);
}

/* ---- hostile and broken streams ---- */

/* A small valid bundle of three files, as raw records. */
static const struct spec three[] = {
	{ "etc/rules/a.xml", (uint8_t *)"<group name=\"a\"/>\n", 18, 0644 },
	{ "etc/rules/sub/b.xml", (uint8_t *)"bbbbbbbbbbbbbbbbbbbbbbbbbbbb", 28,
	    0644 },
	{ "etc/lists/keys", (uint8_t *)"001 w any 0123\n", 15, 0640 },
};

static void
raw_three(struct raw *r)
{
	size_t	i;

	for (i = 0; i < NELEM(three); i++)
		raw_rec(r, three[i].path, three[i].data, three[i].len);
}

static void
test_flipped_byte(void **state)
{
	struct fx_homes		 *x = *state;
	struct bundle_file	*f;
	struct bundle_dec	*d;
	struct raw		 r = { NULL, 0 };
	uint8_t			*z;
	size_t			 zlen, i, k;
	char			 err[256];
	int			 rv;

	(void)state;
	raw_three(&r);
	raw_end(&r);
	z = zip(r.p, r.n, &zlen);
	f = expect(three, NELEM(three));
	/* The intact stream is fine... */
	d = decode(x->worker, f, NELEM(three), z, zlen, 0, &rv, err,
	    sizeof(err));
	assert_int_equal(rv, 0);
	dec_done(d, x->worker);
	/* ...and any byte changed anywhere is caught, at worst at the end. */
	for (i = 0; i < zlen; i++) {
		z[i] ^= 0xff;
		d = decode(x->worker, f, NELEM(three), z, zlen, 0, &rv, err,
		    sizeof(err));
		if (rv != -1)
			fail_msg("byte %zu of %zu flipped: accepted", i, zlen);
		dec_done(d, x->worker);
		for (k = 0; k < NELEM(three); k++)
			assert_null(f[k].tmpname);
		z[i] ^= 0xff;
	}
	/* Single bits in the middle, too: not in the deflate data's last
	 * byte, whose padding bits inflate ignores, nor in the Adler-32
	 * after it (whole bytes flipped above cover both). */
	for (i = 0; i < (zlen - 5) * 8; i += 3) {
		z[i / 8] ^= (uint8_t)(1u << (i % 8));
		d = decode(x->worker, f, NELEM(three), z, zlen, 1, &rv, err,
		    sizeof(err));
		if (rv != -1)
			fail_msg("bit %zu flipped: accepted", i);
		dec_done(d, x->worker);
		z[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	free_files(f, NELEM(three));
	free(z);
	free(r.p);
	check_contained(x);
}

/* Every proper prefix of a good stream: "truncated" at finish. */
static void
test_truncated(void **state)
{
	struct fx_homes		 *x = *state;
	struct bundle_file	*f;
	struct bundle_dec	*d;
	struct raw		 r = { NULL, 0 };
	uint8_t			*z;
	size_t			 zlen, cut, i, full;
	char			 err[256];

	(void)state;
	raw_three(&r);
	full = r.n;
	raw_end(&r);
	z = zip(r.p, r.n, &zlen);
	f = expect(three, NELEM(three));
	for (cut = 0; cut < zlen; cut++) {
		assert_non_null(d = bundle_dec_new(x->worker, f,
		    NELEM(three)));
		err[0] = '\0';
		if (bundle_dec_feed(d, z, cut, err, sizeof(err)) == -1)
			fail_msg("prefix of %zu bytes refused: %s", cut, err);
		assert_int_equal(bundle_dec_finish(d, err, sizeof(err)), -1);
		if (strstr(err, "truncated") == NULL)
			fail_msg("prefix of %zu: \"%s\"", cut, err);
		dec_done(d, x->worker);
	}
	free(z);
	/* A complete zlib stream whose records stop early. */
	for (i = 0; i < 3; i++) {
		size_t	lens[] = { full, full - 5, 3 };

		z = zip(r.p, lens[i], &zlen);
		assert_non_null(d = bundle_dec_new(x->worker, f,
		    NELEM(three)));
		assert_int_equal(bundle_dec_feed(d, z, zlen, err, sizeof(err)),
		    0);
		assert_int_equal(bundle_dec_finish(d, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "truncated"));
		dec_done(d, x->worker);
		free(z);
	}
	free_files(f, NELEM(three));
	free(r.p);
	check_contained(x);
}

static void
test_trailing_data(void **state)
{
	struct fx_homes		 *x = *state;
	struct bundle_file	*f;
	struct bundle_dec	*d;
	struct raw		 r = { NULL, 0 };
	uint8_t			*z, *z2;
	size_t			 zlen;
	char			 err[256];

	(void)state;
	raw_three(&r);
	raw_end(&r);
	z = zip(r.p, r.n, &zlen);
	f = expect(three, NELEM(three));
	/* Bytes after the zlib stream, in the same piece... */
	assert_non_null(z2 = malloc(zlen + 1));
	memcpy(z2, z, zlen);
	z2[zlen] = 'x';
	refused(x, f, NELEM(three), z2, zlen + 1, "after the end");
	/* ...or in a later one. */
	assert_non_null(d = bundle_dec_new(x->worker, f, NELEM(three)));
	assert_int_equal(bundle_dec_feed(d, z, zlen, err, sizeof(err)), 0);
	assert_int_equal(bundle_dec_feed(d, z2 + zlen, 1, err, sizeof(err)),
	    -1);
	dec_done(d, x->worker);
	/* A second zlib stream after the first. */
	free(z2);
	assert_non_null(z2 = malloc(2 * zlen));
	memcpy(z2, z, zlen);
	memcpy(z2 + zlen, z, zlen);
	refused(x, f, NELEM(three), z2, 2 * zlen, "after the end");
	free(z2);
	free(z);
	/* Records after the end marker, inside the zlib stream. */
	raw_rec(&r, "etc/rules/late.xml", "late", 4);
	z = zip(r.p, r.n, &zlen);
	refused(x, f, NELEM(three), z, zlen, "after the end");
	free(z);
	/* A lone byte after the end marker. */
	r.n = 0;
	raw_three(&r);
	raw_end(&r);
	raw_put(&r, "", 1);
	z = zip(r.p, r.n, &zlen);
	refused(x, f, NELEM(three), z, zlen, "after the end");
	free(z);
	free_files(f, NELEM(three));
	free(r.p);
	check_contained(x);
}

/* A record for a file the plan did not ask for. */
static void
test_unexpected(void **state)
{
	struct fx_homes		 *x = *state;
	struct bundle_file	*f;
	struct raw		 r = { NULL, 0 };
	uint8_t			*z;
	size_t			 zlen;

	(void)state;
	f = expect(three, NELEM(three));
	raw_rec(&r, "etc/rules/a.xml", three[0].data, three[0].len);
	raw_rec(&r, "etc/rules/other.xml", "o", 1);
	raw_end(&r);
	z = zip(r.p, r.n, &zlen);
	refused(x, f, NELEM(three), z, zlen, "unexpected");
	free(z);
	/* A name differing only in case, or by a prefix. */
	r.n = 0;
	raw_rec(&r, "etc/rules/A.xml", "a", 1);
	raw_end(&r);
	z = zip(r.p, r.n, &zlen);
	refused(x, f, NELEM(three), z, zlen, "unexpected");
	free(z);
	r.n = 0;
	raw_rec(&r, "etc/rules/sub", "a", 1);
	raw_end(&r);
	z = zip(r.p, r.n, &zlen);
	refused(x, f, NELEM(three), z, zlen, "unexpected");
	free(z);
	/* Nothing expected at all. */
	r.n = 0;
	raw_rec(&r, "etc/rules/a.xml", "a", 1);
	raw_end(&r);
	z = zip(r.p, r.n, &zlen);
	refused(x, f, 0, z, zlen, "unexpected");
	free(z);
	free_files(f, NELEM(three));
	free(r.p);
	check_contained(x);
}

/*
 * Paths out of the set, even when the expected list names them too (a
 * master's plan is checked elsewhere; the decoder checks again).
 */
static void
test_unsafe_paths(void **state)
{
	static const char	*bad[] = { "../x", "etc/rules/../../x",
	    "etc/rules/../../../x", "/tmp/x", "etc/ossec.conf",
	    "etc/rules/./a", "etc//rules/a", "etc/rules/a/", "etc/rules",
	    "etc/rulesX/a", "etc/client.keys/x", "etc/rules/a.tmp",
	    "etc/rules/" SYNCSET_TMP_PREFIX "a", "etc/rules/a\nb",
	    "etc/rules/sub/../../../outside/x", "..", "." };
	struct fx_homes		 *x = *state;
	struct spec		 s[1];
	struct bundle_file	*f;
	struct raw		 r = { NULL, 0 };
	uint8_t			*z;
	size_t			 zlen, i;
	char			 p[PATH_MAX];

	(void)state;
	for (i = 0; i < NELEM(bad); i++) {
		s[0].path = bad[i];
		s[0].data = (uint8_t *)"evil";
		s[0].len = 4;
		s[0].mode = 0644;
		f = expect(s, 1);
		r.n = 0;
		raw_rec(&r, bad[i], "evil", 4);
		raw_end(&r);
		z = zip(r.p, r.n, &zlen);
		refused(x, f, 1, z, zlen, "refused path");
		free(z);
		free_files(f, 1);
	}
	snprintf(p, sizeof(p), "%s/x", x->worker);
	assert_int_equal(access(p, F_OK), -1);
	snprintf(p, sizeof(p), "%s/etc/ossec.conf", x->worker);
	assert_int_equal(access(p, F_OK), -1);
	/* A NUL inside the declared path length. */
	f = expect(three, NELEM(three));
	r.n = 0;
	raw_hdr(&r, "etc/rules/a.xml\0/../../x", 24, 0644, 1);
	raw_put(&r, "e", 1);
	raw_end(&r);
	z = zip(r.p, r.n, &zlen);
	refused(x, f, NELEM(three), z, zlen, "NUL");
	free(z);
	free_files(f, NELEM(three));
	free(r.p);
	check_contained(x);
}

static void
test_path_length(void **state)
{
	struct fx_homes		 *x = *state;
	struct bundle_file	*f;
	struct raw		 r = { NULL, 0 };
	uint8_t			*z, *name;
	size_t			 zlen, i;
	static const size_t	 lens[] = { SYNCSET_PATH_MAX,
	    SYNCSET_PATH_MAX + 1, 4096, 65535 };

	(void)state;
	f = expect(three, NELEM(three));
	assert_non_null(name = malloc(65536));
	memcpy(name, "etc/rules/", 10);
	memset(name + 10, 'n', 65536 - 10);
	for (i = 0; i < NELEM(lens); i++) {
		r.n = 0;
		raw_hdr(&r, name, lens[i], 0644, 1);
		raw_put(&r, "e", 1);
		raw_end(&r);
		z = zip(r.p, r.n, &zlen);
		refused(x, f, NELEM(three), z, zlen, "over the limit");
		free(z);
	}
	/* Just under the limit: a well-formed record, but not expected. */
	for (i = 10 + 200; i < SYNCSET_PATH_MAX - 1; i += 200)
		name[i] = '/';
	r.n = 0;
	raw_hdr(&r, name, SYNCSET_PATH_MAX - 1, 0644, 1);
	raw_put(&r, "e", 1);
	raw_end(&r);
	z = zip(r.p, r.n, &zlen);
	refused(x, f, NELEM(three), z, zlen, "unexpected");
	free(z);
	free(name);
	free_files(f, NELEM(three));
	free(r.p);
	check_contained(x);
}

static void
test_duplicate(void **state)
{
	struct fx_homes		 *x = *state;
	struct bundle_file	*f;
	struct raw		 r = { NULL, 0 };
	uint8_t			*z;
	size_t			 zlen;

	(void)state;
	f = expect(three, NELEM(three));
	/* Twice the same good record. */
	raw_rec(&r, "etc/rules/a.xml", three[0].data, three[0].len);
	raw_rec(&r, "etc/rules/a.xml", three[0].data, three[0].len);
	raw_end(&r);
	z = zip(r.p, r.n, &zlen);
	refused(x, f, NELEM(three), z, zlen, "unexpected");
	free(z);
	/* A stale one then a good one. */
	r.n = 0;
	raw_rec(&r, "etc/lists/keys", "old", 3);
	raw_rec(&r, "etc/lists/keys", three[2].data, three[2].len);
	raw_end(&r);
	z = zip(r.p, r.n, &zlen);
	refused(x, f, NELEM(three), z, zlen, "unexpected");
	free(z);
	/* Empty twice. */
	r.n = 0;
	raw_rec(&r, "etc/rules/sub/b.xml", "", 0);
	raw_rec(&r, "etc/rules/sub/b.xml", "", 0);
	raw_end(&r);
	z = zip(r.p, r.n, &zlen);
	refused(x, f, NELEM(three), z, zlen, "unexpected");
	free(z);
	free_files(f, NELEM(three));
	free(r.p);
	check_contained(x);
}

static void
test_too_large(void **state)
{
	struct fx_homes		 *x = *state;
	struct bundle_file	*f;
	struct bundle_dec	*d;
	struct raw		 r = { NULL, 0 };
	uint8_t			*z;
	size_t			 zlen;
	char			 err[256];
	int			 rv;

	(void)state;
	f = expect(three, NELEM(three));
	raw_hdr(&r, "etc/rules/a.xml", 15, 0644, BUNDLE_MAX_FILE_SIZE + 1);
	raw_put(&r, "e", 1);
	raw_end(&r);
	z = zip(r.p, r.n, &zlen);
	refused(x, f, NELEM(three), z, zlen, "too large");
	free(z);
	r.n = 0;
	raw_hdr(&r, "etc/rules/a.xml", 15, 0644, UINT64_MAX);
	z = zip(r.p, r.n, &zlen);
	refused(x, f, NELEM(three), z, zlen, "too large");
	free(z);
	/* At the limit it is accepted, and waits for its bytes. */
	r.n = 0;
	raw_hdr(&r, "etc/rules/a.xml", 15, 0644, BUNDLE_MAX_FILE_SIZE);
	raw_put(&r, "e", 1);
	z = zip(r.p, r.n, &zlen);
	d = decode(x->worker, f, NELEM(three), z, zlen, 0, &rv, err,
	    sizeof(err));
	assert_int_equal(rv, -1);
	assert_non_null(strstr(err, "truncated"));
	dec_done(d, x->worker);
	/* Declared longer than what follows. */
	r.n = 0;
	raw_hdr(&r, "etc/rules/a.xml", 15, 0644, 100);
	raw_put(&r, "short", 5);
	raw_end(&r);
	free(z);
	z = zip(r.p, r.n, &zlen);
	d = decode(x->worker, f, NELEM(three), z, zlen, 0, &rv, err,
	    sizeof(err));
	assert_int_equal(rv, -1);
	assert_non_null(strstr(err, "truncated"));
	dec_done(d, x->worker);
	free(z);
	free_files(f, NELEM(three));
	free(r.p);
	check_contained(x);
}

/* Not a zlib stream at all. */
static void
test_garbage(void **state)
{
	struct fx_homes		 *x = *state;
	struct bundle_file	*f;
	struct bundle_dec	*d;
	uint8_t			 g[4096];
	uint32_t		 seed = 99;
	size_t			 i, k;
	char			 err[256];
	int			 rv;

	(void)state;
	f = expect(three, NELEM(three));
	for (i = 0; i < 200; i++) {
		for (k = 0; k < sizeof(g); k++)
			g[k] = (uint8_t)rnd(&seed);
		d = decode(x->worker, f, NELEM(three), g, 1 + i * 17, 0, &rv,
		    err, sizeof(err));
		assert_int_equal(rv, -1);
		dec_done(d, x->worker);
	}
	refused(x, f, NELEM(three), (const uint8_t *)"plain text, no zlib",
	    19, "corrupt");
	free_files(f, NELEM(three));
	check_contained(x);
}

/* ---- abort ---- */

static void
test_abort(void **state)
{
	struct fx_homes		 *x = *state;
	struct bundle_file	*f;
	struct bundle_dec	*d;
	struct raw		 r = { NULL, 0 };
	uint8_t			*z;
	size_t			 zlen, k;
	char			 err[256];
	int			 rv;

	(void)state;
	f = expect(three, NELEM(three));
	raw_three(&r);
	raw_end(&r);
	z = zip(r.p, r.n, &zlen);
	/* Cut off in the middle of the second file. */
	r.n = 0;
	raw_rec(&r, three[0].path, three[0].data, three[0].len);
	raw_hdr(&r, three[1].path, strlen(three[1].path), 0644, three[1].len);
	raw_put(&r, three[1].data, 5);
	free(z);
	z = zip(r.p, r.n, &zlen);
	assert_non_null(d = bundle_dec_new(x->worker, f, NELEM(three)));
	assert_int_equal(bundle_dec_feed(d, z, zlen, err, sizeof(err)), 0);
	assert_int_equal(fx_count_temps(x->worker), 2);
	assert_int_equal(find(f, 3, three[0].path)->received, 1);
	bundle_dec_abort(d);
	assert_int_equal(fx_count_temps(x->worker), 0);
	for (k = 0; k < NELEM(three); k++) {
		assert_null(f[k].tmpname);
		assert_int_equal(f[k].received, 0);
		assert_int_equal(f[k].stale, 0);
	}
	bundle_dec_free(d);
	free(z);
	/* After a complete bundle, abort still removes every temp file. */
	r.n = 0;
	raw_three(&r);
	raw_end(&r);
	z = zip(r.p, r.n, &zlen);
	d = decode(x->worker, f, NELEM(three), z, zlen, 7, &rv, err,
	    sizeof(err));
	assert_int_equal(rv, 0);
	assert_int_equal(fx_count_temps(x->worker), 3);
	dec_done(d, x->worker);
	/* Abort twice, and with nothing received, is harmless. */
	assert_non_null(d = bundle_dec_new(x->worker, f, NELEM(three)));
	bundle_dec_abort(d);
	bundle_dec_abort(d);
	bundle_dec_free(d);
	bundle_dec_free(NULL);
	free(z);
	free_files(f, NELEM(three));
	free(r.p);
	check_contained(x);
}

/* ---- symlinks on the worker ---- */

static void
test_symlinked_folder(void **state)
{
	struct fx_homes		 *x = *state;
	struct bundle_file	*f;
	struct raw		 r = { NULL, 0 };
	uint8_t			*z;
	size_t			 zlen;
	char			 p[PATH_MAX];

	(void)state;
	f = expect(three, NELEM(three));
	r.n = 0;
	raw_rec(&r, three[1].path, three[1].data, three[1].len);
	raw_end(&r);
	z = zip(r.p, r.n, &zlen);
	/* etc/rules/sub -> outside */
	fx_mkparents(x->worker, "etc/rules/x");
	snprintf(p, sizeof(p), "%s/etc/rules/sub", x->worker);
	assert_int_equal(symlink(x->outside, p), 0);
	refused(x, f, NELEM(three), z, zlen, "symlink");
	assert_int_equal(unlink(p), 0);
	/* etc/rules itself -> outside */
	snprintf(p, sizeof(p), "%s/etc/rules", x->worker);
	assert_int_equal(rmdir(p), 0);
	assert_int_equal(symlink(x->outside, p), 0);
	refused(x, f, NELEM(three), z, zlen, "symlink");
	free(z);
	/* etc -> outside, for etc/lists/keys */
	r.n = 0;
	raw_rec(&r, three[2].path, three[2].data, three[2].len);
	raw_end(&r);
	z = zip(r.p, r.n, &zlen);
	assert_int_equal(unlink(p), 0);
	snprintf(p, sizeof(p), "%s/etc", x->worker);
	assert_int_equal(rmdir(p), 0);
	assert_int_equal(symlink(x->outside, p), 0);
	refused(x, f, NELEM(three), z, zlen, "symlink");
	assert_int_equal(unlink(p), 0);
	free(z);
	free_files(f, NELEM(three));
	free(r.p);
	check_contained(x);
}

/* A symlink planted where the temp file goes is not written through. */
static void
test_symlinked_temp(void **state)
{
	struct fx_homes		 *x = *state;
	struct bundle_file	*f;
	struct bundle_dec	*d;
	struct raw		 r = { NULL, 0 };
	uint8_t			*z, *got;
	size_t			 zlen, len;
	char			 p[PATH_MAX], target[PATH_MAX], err[256];
	int			 rv;

	(void)state;
	f = expect(three, NELEM(three));
	raw_rec(&r, three[0].path, three[0].data, three[0].len);
	raw_end(&r);
	z = zip(r.p, r.n, &zlen);
	snprintf(target, sizeof(target), "%s/victim", x->base);
	fx_put(x->base, "victim", "precious", 8);
	fx_mkparents(x->worker, "etc/rules/x");
	snprintf(p, sizeof(p), "%s/etc/rules/" SYNCSET_TMP_PREFIX "a.xml",
	    x->worker);
	assert_int_equal(symlink(target, p), 0);
	d = decode(x->worker, f, NELEM(three), z, zlen, 0, &rv, err,
	    sizeof(err));
	assert_int_equal(rv, -1);
	bundle_dec_abort(d);
	bundle_dec_free(d);
	assert_non_null(got = fx_slurp(target, &len));
	assert_int_equal(len, 8);
	assert_memory_equal(got, "precious", 8);
	free(got);
	unlink(p);
	unlink(target);
	free(z);
	free_files(f, NELEM(three));
	free(r.p);
	check_contained(x);
}

/* ---- encoder errors ---- */

static int
enc_all(const char *home, char *const *paths, const mode_t *modes, size_t n,
    char *err, size_t errlen)
{
	struct bundle_enc	*e;
	struct buf		 out;
	int			 r;

	buf_init(&out);
	assert_non_null(e = bundle_enc_new(home, paths, modes, n, 1));
	err[0] = '\0';
	while ((r = bundle_enc_next(e, &out, 4096, err, errlen)) == 1)
		;
	bundle_enc_free(e);
	buf_free(&out);
	return r;
}

static void
test_enc_errors(void **state)
{
	struct fx_homes		 *x = *state;
	char			*paths[2] = { "etc/rules/a.xml",
	    "etc/rules/b.xml" };
	mode_t			 modes[2] = { 0644, 0644 };
	struct bundle_enc	*e;
	struct buf		 out;
	char			 err[256], p[PATH_MAX];

	(void)state;
	fx_put(x->master, "etc/rules/a.xml", "aaaa", 4);
	/* b.xml missing. */
	assert_int_equal(enc_all(x->master, paths, modes, 2, err, sizeof(err)),
	    -1);
	assert_true(err[0] != '\0');
	/* b.xml a symlink. */
	snprintf(p, sizeof(p), "%s/etc/rules/b.xml", x->master);
	assert_int_equal(symlink("a.xml", p), 0);
	assert_int_equal(enc_all(x->master, paths, modes, 2, err, sizeof(err)),
	    -1);
	assert_int_equal(unlink(p), 0);
	/* b.xml a folder. */
	assert_int_equal(mkdir(p, 0750), 0);
	assert_int_equal(enc_all(x->master, paths, modes, 2, err, sizeof(err)),
	    -1);
	assert_int_equal(rmdir(p), 0);
	/* Both there: fine. */
	fx_put(x->master, "etc/rules/b.xml", "bbbbbbbb", 8);
	assert_int_equal(enc_all(x->master, paths, modes, 2, err, sizeof(err)),
	    0);
	/* A file that shrinks once its size is in the header. */
	buf_init(&out);
	assert_non_null(e = bundle_enc_new(x->master, paths, modes, 2, 1));
	assert_int_equal(bundle_enc_next(e, &out, 1, err, sizeof(err)), 1);
	snprintf(p, sizeof(p), "%s/etc/rules/a.xml", x->master);
	assert_int_equal(truncate(p, 0), 0);
	snprintf(p, sizeof(p), "%s/etc/rules/b.xml", x->master);
	assert_int_equal(truncate(p, 0), 0);
	while (bundle_enc_next(e, &out, 1, err, sizeof(err)) == 1)
		;
	assert_non_null(strstr(err, "changed"));
	bundle_enc_free(e);
	buf_free(&out);
	check_contained(x);
}

/*
 * A folder of the set replaced by a symlink after the master's scan: the
 * encoder must not read through it (the scan never lists files behind
 * symlinks, so such content is not part of the set).
 */
static void
test_enc_symlinked_folder(void **state)
{
	struct fx_homes	 *x = *state;
	char		*paths[1] = { "etc/rules/sub/secret.xml" };
	mode_t		 modes[1] = { 0644 };
	char		 err[256], p[PATH_MAX];

	(void)state;
	fx_put(x->outside, "secret.xml", "not for workers", 15);
	fx_mkparents(x->master, "etc/rules/x");
	snprintf(p, sizeof(p), "%s/etc/rules/sub", x->master);
	assert_int_equal(symlink(x->outside, p), 0);
	if (enc_all(x->master, paths, modes, 1, err, sizeof(err)) != -1)
		fail_msg("the encoder read etc/rules/sub/secret.xml through "
		    "a symlinked folder");
	assert_int_equal(unlink(p), 0);
	snprintf(p, sizeof(p), "%s/secret.xml", x->outside);
	assert_int_equal(unlink(p), 0);
	check_contained(x);
}

/*
 * A file replaced by a fifo after the scan: the encoder runs in the
 * master's only thread, so opening it must not block.  Run in a child
 * with a deadline.
 */
static void
test_enc_fifo(void **state)
{
	struct fx_homes	 *x = *state;
	char		*paths[1] = { "etc/rules/a.xml" };
	mode_t		 modes[1] = { 0644 };
	char		 err[256], p[PATH_MAX];
	pid_t		 pid, w;
	int		 status = 0, i;

	(void)state;
	fx_mkparents(x->master, "etc/rules/x");
	snprintf(p, sizeof(p), "%s/etc/rules/a.xml", x->master);
	assert_int_equal(mkfifo(p, 0644), 0);
	fflush(NULL);
	assert_true((pid = fork()) != -1);
	if (pid == 0) {
		alarm(30);
		_exit(enc_all(x->master, paths, modes, 1, err,
		    sizeof(err)) == -1 ? 0 : 1);
	}
	for (i = 0, w = 0; i < 500 && w == 0; i++) {
		w = waitpid(pid, &status, WNOHANG);
		if (w == 0)
			usleep(10000);
	}
	if (w == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		fail_msg("the encoder blocked opening a fifo for 5 s");
	}
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	unlink(p);
	check_contained(x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test_setup_teardown(test_many_small,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test_setup_teardown(test_empty_files,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test_setup_teardown(test_stale,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test_setup_teardown(test_not_sent,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test_setup_teardown(test_flipped_byte,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test_setup_teardown(test_truncated,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test_setup_teardown(test_trailing_data,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test_setup_teardown(test_unexpected,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test_setup_teardown(test_unsafe_paths,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test_setup_teardown(test_path_length,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test_setup_teardown(test_duplicate,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test_setup_teardown(test_too_large,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test_setup_teardown(test_garbage,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test_setup_teardown(test_abort,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test_setup_teardown(test_symlinked_folder,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test_setup_teardown(test_symlinked_temp,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test_setup_teardown(test_enc_errors,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test_setup_teardown(test_enc_symlinked_folder,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test_setup_teardown(test_enc_fifo,
		    fx_homes_setup, fx_homes_teardown),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
