/*
 * test_bundle: the stream of files of one sync round.  Real files are
 * encoded on a "master" home and decoded into a "worker" home, fed in
 * pieces of every size; hostile streams are written by hand
 * (helpers/bundle_kit.c: the record layout of bundle.h, compressed with
 * compress2) so the decoder is not checked against its own encoder.
 * test_bundle_fs has the hostile file systems.  Every test runs in a temp
 * folder holding the homes and an "outside" folder nothing may reach.
 */
#include <sys/stat.h>
#include <sys/types.h>

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

#include "helpers/bundle_kit.h"
#include "helpers/fixture.h"

static void
test_roundtrip(void **state)
{
	static const size_t	 pieces[] = { 0, 1, (size_t)-1, 4096 };
	struct fx_homes		 *x = *state;
	struct bk_round		 r;
	struct bundle_file	*f;
	struct bundle_dec	*d;
	uint8_t			*z;
	uint64_t		 raw;
	size_t			 zlen, calls, i, k;
	char			 err[256];
	int			 rv;

	(void)state;
	bk_round_init(&r, x->master);
	z = bk_encode(x->master, r.paths, r.modes, r.n, 256, &zlen, &calls,
	    &raw);
	/* Each deflate step may add up to a chunk: several calls, not one. */
	assert_true(calls >= 5);
	bk_check_stream(z, zlen, r.s, r.n, raw);
	for (i = 0; i < BK_NELEM(pieces); i++) {
		f = bk_expect(r.s, r.n);
		d = bk_decode(x->worker, f, r.n, z, zlen, pieces[i], &rv, err,
		    sizeof(err));
		if (rv != 0)
			fail_msg("piece %zu: %s", pieces[i], err);
		for (k = 0; k < r.n; k++) {
			struct bundle_file *b = bk_find(f, r.n, r.s[k].path);

			assert_int_equal(b->received, 1);
			assert_int_equal(b->stale, 0);
			bk_check_temp(x->worker, b, r.s[k].data, r.s[k].len);
		}
		assert_int_equal(fx_count_temps(x->worker), r.n);
		bundle_dec_free(d);
		/* Free without abort keeps the temp files for apply. */
		assert_int_equal(fx_count_temps(x->worker), r.n);
		d = bundle_dec_new(x->worker, f, r.n);
		bundle_dec_abort(d);
		bundle_dec_free(d);
		assert_int_equal(fx_count_temps(x->worker), 0);
		bk_free_files(f, r.n);
		assert_int_equal(fx_rmtree(x->worker), 0);
		assert_int_equal(mkdir(x->worker, 0750), 0);
	}
	free(z);
	/* One big call per file set: max larger than everything. */
	z = bk_encode(x->master, r.paths, r.modes, r.n, 64 << 20, &zlen, &calls,
	    &raw);
	assert_int_equal(calls, 1);
	bk_check_stream(z, zlen, r.s, r.n, raw);
	free(z);
	bk_round_free(&r);
	bk_check_contained(x);
}

/* Many small files, one byte of output asked at a time. */
static void
test_many_small(void **state)
{
	struct fx_homes		 *x = *state;
	struct bk_spec		 s[150];
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
	for (i = 0; i < BK_NELEM(s); i++) {
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
	z = bk_encode(x->master, paths, modes, BK_NELEM(s), 1, &zlen, &calls,
	    &raw);
	assert_true(calls > 1);
	bk_check_stream(z, zlen, s, BK_NELEM(s), raw);
	f = bk_expect(s, BK_NELEM(s));
	d = bk_decode(x->worker, f, BK_NELEM(s), z, zlen, 1, &rv, err,
	    sizeof(err));
	if (rv != 0)
		fail_msg("%s", err);
	for (i = 0; i < BK_NELEM(s); i++) {
		struct bundle_file *b = bk_find(f, BK_NELEM(s), s[i].path);

		assert_int_equal(b->received, 1);
		bk_check_temp(x->worker, b, s[i].data, s[i].len);
	}
	bk_dec_done(d, x->worker);
	for (i = 0; i < BK_NELEM(s); i++) {
		assert_null(f[i].tmpname);
		assert_int_equal(f[i].received, 0);
		free(s[i].data);
	}
	bk_free_files(f, BK_NELEM(s));
	free(z);
	bk_check_contained(x);
}

/* Zero-length files only, and a bundle with no file at all. */
static void
test_empty_files(void **state)
{
	static uint8_t		 nothing[1];
	struct fx_homes		 *x = *state;
	struct bk_spec		 s[] = {
		{ "etc/rules/a.xml", nothing, 0, 0644 },
		{ "etc/lists/keys", nothing, 0, 0640 },
		{ "etc/rules/sub/b.xml", nothing, 0, 0600 },
	};
	struct bundle_file	*f;
	struct bundle_dec	*d;
	struct bk_raw		 r = { NULL, 0 };
	uint8_t			*z;
	size_t			 zlen, i;
	char			 err[256];
	int			 rv;

	(void)state;
	for (i = 0; i < BK_NELEM(s); i++)
		bk_raw_rec(&r, s[i].path, "", 0);
	bk_raw_end(&r);
	z = bk_zip(r.p, r.n, &zlen);
	f = bk_expect(s, BK_NELEM(s));
	d = bk_decode(x->worker, f, BK_NELEM(s), z, zlen, 1, &rv, err,
	    sizeof(err));
	if (rv != 0)
		fail_msg("%s", err);
	for (i = 0; i < BK_NELEM(s); i++) {
		assert_int_equal(f[i].received, 1);
		bk_check_temp(x->worker, &f[i], "", 0);
	}
	bk_dec_done(d, x->worker);
	bk_free_files(f, BK_NELEM(s));
	free(z);
	/* Just the end marker: a valid, empty bundle. */
	r.n = 0;
	bk_raw_end(&r);
	z = bk_zip(r.p, r.n, &zlen);
	f = bk_expect(s, 0);
	d = bk_decode(x->worker, f, 0, z, zlen, 0, &rv, err, sizeof(err));
	if (rv != 0)
		fail_msg("%s", err);
	bk_dec_done(d, x->worker);
	bk_free_files(f, 0);
	free(z);
	free(r.p);
	bk_check_contained(x);
}

/* A file that changed on the master meanwhile: stale, never received. */
static void
test_stale(void **state)
{
	struct fx_homes		 *x = *state;
	struct bk_spec		 s[] = {
		{ "etc/rules/a.xml", (uint8_t *)"new a", 5, 0644 },
		{ "etc/rules/b.xml", (uint8_t *)"b", 1, 0644 },
		{ "etc/rules/c.xml", (uint8_t *)"", 0, 0644 },
	};
	struct bundle_file	*f, *a, *b, *c;
	struct bundle_dec	*d;
	struct bk_raw		 r = { NULL, 0 };
	uint8_t			*z;
	size_t			 zlen;
	char			 err[256];
	int			 rv;

	(void)state;
	f = bk_expect(s, BK_NELEM(s));
	/* The plan's MD5 of a.xml and c.xml was of older contents. */
	fx_md5("old a", 5, f[0].md5);
	fx_md5("x", 1, f[2].md5);
	bk_raw_rec(&r, "etc/rules/a.xml", "new a", 5);
	bk_raw_rec(&r, "etc/rules/b.xml", "b", 1);
	bk_raw_rec(&r, "etc/rules/c.xml", "", 0);
	bk_raw_end(&r);
	z = bk_zip(r.p, r.n, &zlen);
	d = bk_decode(x->worker, f, BK_NELEM(s), z, zlen, 2, &rv, err,
	    sizeof(err));
	if (rv != 0)
		fail_msg("%s", err);
	a = bk_find(f, 3, "etc/rules/a.xml");
	b = bk_find(f, 3, "etc/rules/b.xml");
	c = bk_find(f, 3, "etc/rules/c.xml");
	assert_int_equal(a->stale, 1);
	assert_int_equal(a->received, 0);
	assert_int_equal(b->stale, 0);
	assert_int_equal(b->received, 1);
	assert_int_equal(c->stale, 1);
	assert_int_equal(c->received, 0);
	bk_dec_done(d, x->worker);
	assert_int_equal(a->stale, 0);
	bk_free_files(f, BK_NELEM(s));
	free(z);
	free(r.p);
	bk_check_contained(x);
}

/* A file of the plan the bundle does not carry is neither. */
static void
test_not_sent(void **state)
{
	struct fx_homes		 *x = *state;
	struct bk_spec		 s[] = {
		{ "etc/rules/a.xml", (uint8_t *)"a", 1, 0644 },
		{ "etc/rules/b.xml", (uint8_t *)"b", 1, 0644 },
	};
	struct bundle_file	*f;
	struct bundle_dec	*d;
	struct bk_raw		 r = { NULL, 0 };
	uint8_t			*z;
	size_t			 zlen;
	char			 err[256];
	int			 rv;

	(void)state;
	f = bk_expect(s, BK_NELEM(s));
	bk_raw_rec(&r, "etc/rules/b.xml", "b", 1);
	bk_raw_end(&r);
	z = bk_zip(r.p, r.n, &zlen);
	d = bk_decode(x->worker, f, BK_NELEM(s), z, zlen, 0, &rv, err,
	    sizeof(err));
	if (rv != 0)
		fail_msg("%s", err);
	assert_int_equal(bk_find(f, 2, "etc/rules/a.xml")->received, 0);
	assert_int_equal(bk_find(f, 2, "etc/rules/a.xml")->stale, 0);
	assert_null(bk_find(f, 2, "etc/rules/a.xml")->tmpname);
	assert_int_equal(bk_find(f, 2, "etc/rules/b.xml")->received, 1);
	bk_dec_done(d, x->worker);
	bk_free_files(f, BK_NELEM(s));
	free(z);
	free(r.p);
	bk_check_contained(x);
}

static void
test_flipped_byte(void **state)
{
	struct fx_homes		 *x = *state;
	struct bundle_file	*f;
	struct bundle_dec	*d;
	struct bk_raw		 r = { NULL, 0 };
	uint8_t			*z;
	size_t			 zlen, i, k;
	char			 err[256];
	int			 rv;

	(void)state;
	bk_raw_three(&r);
	bk_raw_end(&r);
	z = bk_zip(r.p, r.n, &zlen);
	f = bk_expect(bk_three, BK_NTHREE);
	/* The intact stream is fine... */
	d = bk_decode(x->worker, f, BK_NTHREE, z, zlen, 0, &rv, err,
	    sizeof(err));
	assert_int_equal(rv, 0);
	bk_dec_done(d, x->worker);
	/* ...and any byte changed anywhere is caught, at worst at the end. */
	for (i = 0; i < zlen; i++) {
		z[i] ^= 0xff;
		d = bk_decode(x->worker, f, BK_NTHREE, z, zlen, 0, &rv, err,
		    sizeof(err));
		if (rv != -1)
			fail_msg("byte %zu of %zu flipped: accepted", i, zlen);
		bk_dec_done(d, x->worker);
		for (k = 0; k < BK_NTHREE; k++)
			assert_null(f[k].tmpname);
		z[i] ^= 0xff;
	}
	/* Single bits in the middle, too: not in the deflate data's last
	 * byte, whose padding bits inflate ignores, nor in the Adler-32
	 * after it (whole bytes flipped above cover both). */
	for (i = 0; i < (zlen - 5) * 8; i += 3) {
		z[i / 8] ^= (uint8_t)(1u << (i % 8));
		d = bk_decode(x->worker, f, BK_NTHREE, z, zlen, 1, &rv, err,
		    sizeof(err));
		if (rv != -1)
			fail_msg("bit %zu flipped: accepted", i);
		bk_dec_done(d, x->worker);
		z[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	bk_free_files(f, BK_NTHREE);
	free(z);
	free(r.p);
	bk_check_contained(x);
}

/* Every proper prefix of a good stream: "truncated" at finish. */
static void
test_truncated(void **state)
{
	struct fx_homes		 *x = *state;
	struct bundle_file	*f;
	struct bundle_dec	*d;
	struct bk_raw		 r = { NULL, 0 };
	uint8_t			*z;
	size_t			 zlen, cut, i, full;
	char			 err[256];

	(void)state;
	bk_raw_three(&r);
	full = r.n;
	bk_raw_end(&r);
	z = bk_zip(r.p, r.n, &zlen);
	f = bk_expect(bk_three, BK_NTHREE);
	for (cut = 0; cut < zlen; cut++) {
		assert_non_null(d = bundle_dec_new(x->worker, f,
		    BK_NTHREE));
		err[0] = '\0';
		if (bundle_dec_feed(d, z, cut, err, sizeof(err)) == -1)
			fail_msg("prefix of %zu bytes refused: %s", cut, err);
		assert_int_equal(bundle_dec_finish(d, err, sizeof(err)), -1);
		if (strstr(err, "truncated") == NULL)
			fail_msg("prefix of %zu: \"%s\"", cut, err);
		bk_dec_done(d, x->worker);
	}
	free(z);
	/* A complete zlib stream whose records stop early. */
	for (i = 0; i < 3; i++) {
		size_t	lens[] = { full, full - 5, 3 };

		z = bk_zip(r.p, lens[i], &zlen);
		assert_non_null(d = bundle_dec_new(x->worker, f,
		    BK_NTHREE));
		assert_int_equal(bundle_dec_feed(d, z, zlen, err, sizeof(err)),
		    0);
		assert_int_equal(bundle_dec_finish(d, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "truncated"));
		bk_dec_done(d, x->worker);
		free(z);
	}
	bk_free_files(f, BK_NTHREE);
	free(r.p);
	bk_check_contained(x);
}

static void
test_trailing_data(void **state)
{
	struct fx_homes		 *x = *state;
	struct bundle_file	*f;
	struct bundle_dec	*d;
	struct bk_raw		 r = { NULL, 0 };
	uint8_t			*z, *z2;
	size_t			 zlen;
	char			 err[256];

	(void)state;
	bk_raw_three(&r);
	bk_raw_end(&r);
	z = bk_zip(r.p, r.n, &zlen);
	f = bk_expect(bk_three, BK_NTHREE);
	/* Bytes after the zlib stream, in the same piece... */
	assert_non_null(z2 = malloc(zlen + 1));
	memcpy(z2, z, zlen);
	z2[zlen] = 'x';
	bk_refused(x, f, BK_NTHREE, z2, zlen + 1, "after the end");
	/* ...or in a later one. */
	assert_non_null(d = bundle_dec_new(x->worker, f, BK_NTHREE));
	assert_int_equal(bundle_dec_feed(d, z, zlen, err, sizeof(err)), 0);
	assert_int_equal(bundle_dec_feed(d, z2 + zlen, 1, err, sizeof(err)),
	    -1);
	bk_dec_done(d, x->worker);
	/* A second zlib stream after the first. */
	free(z2);
	assert_non_null(z2 = malloc(2 * zlen));
	memcpy(z2, z, zlen);
	memcpy(z2 + zlen, z, zlen);
	bk_refused(x, f, BK_NTHREE, z2, 2 * zlen, "after the end");
	free(z2);
	free(z);
	/* Records after the end marker, inside the zlib stream. */
	bk_raw_rec(&r, "etc/rules/late.xml", "late", 4);
	z = bk_zip(r.p, r.n, &zlen);
	bk_refused(x, f, BK_NTHREE, z, zlen, "after the end");
	free(z);
	/* A lone byte after the end marker. */
	r.n = 0;
	bk_raw_three(&r);
	bk_raw_end(&r);
	bk_raw_put(&r, "", 1);
	z = bk_zip(r.p, r.n, &zlen);
	bk_refused(x, f, BK_NTHREE, z, zlen, "after the end");
	free(z);
	bk_free_files(f, BK_NTHREE);
	free(r.p);
	bk_check_contained(x);
}

/* A record for a file the plan did not ask for. */
static void
test_unexpected(void **state)
{
	struct fx_homes		 *x = *state;
	struct bundle_file	*f;
	struct bk_raw		 r = { NULL, 0 };
	uint8_t			*z;
	size_t			 zlen;

	(void)state;
	f = bk_expect(bk_three, BK_NTHREE);
	bk_raw_rec(&r, "etc/rules/a.xml", bk_three[0].data, bk_three[0].len);
	bk_raw_rec(&r, "etc/rules/other.xml", "o", 1);
	bk_raw_end(&r);
	z = bk_zip(r.p, r.n, &zlen);
	bk_refused(x, f, BK_NTHREE, z, zlen, "unexpected");
	free(z);
	/* A name differing only in case, or by a prefix. */
	r.n = 0;
	bk_raw_rec(&r, "etc/rules/A.xml", "a", 1);
	bk_raw_end(&r);
	z = bk_zip(r.p, r.n, &zlen);
	bk_refused(x, f, BK_NTHREE, z, zlen, "unexpected");
	free(z);
	r.n = 0;
	bk_raw_rec(&r, "etc/rules/sub", "a", 1);
	bk_raw_end(&r);
	z = bk_zip(r.p, r.n, &zlen);
	bk_refused(x, f, BK_NTHREE, z, zlen, "unexpected");
	free(z);
	/* Nothing expected at all. */
	r.n = 0;
	bk_raw_rec(&r, "etc/rules/a.xml", "a", 1);
	bk_raw_end(&r);
	z = bk_zip(r.p, r.n, &zlen);
	bk_refused(x, f, 0, z, zlen, "unexpected");
	free(z);
	bk_free_files(f, BK_NTHREE);
	free(r.p);
	bk_check_contained(x);
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
	struct bk_spec		 s[1];
	struct bundle_file	*f;
	struct bk_raw		 r = { NULL, 0 };
	uint8_t			*z;
	size_t			 zlen, i;
	char			 p[PATH_MAX];

	(void)state;
	for (i = 0; i < BK_NELEM(bad); i++) {
		s[0].path = bad[i];
		s[0].data = (uint8_t *)"evil";
		s[0].len = 4;
		s[0].mode = 0644;
		f = bk_expect(s, 1);
		r.n = 0;
		bk_raw_rec(&r, bad[i], "evil", 4);
		bk_raw_end(&r);
		z = bk_zip(r.p, r.n, &zlen);
		bk_refused(x, f, 1, z, zlen, "refused path");
		free(z);
		bk_free_files(f, 1);
	}
	snprintf(p, sizeof(p), "%s/x", x->worker);
	assert_int_equal(access(p, F_OK), -1);
	snprintf(p, sizeof(p), "%s/etc/ossec.conf", x->worker);
	assert_int_equal(access(p, F_OK), -1);
	/* A NUL inside the declared path length. */
	f = bk_expect(bk_three, BK_NTHREE);
	r.n = 0;
	bk_raw_hdr(&r, "etc/rules/a.xml\0/../../x", 24, 0644, 1);
	bk_raw_put(&r, "e", 1);
	bk_raw_end(&r);
	z = bk_zip(r.p, r.n, &zlen);
	bk_refused(x, f, BK_NTHREE, z, zlen, "NUL");
	free(z);
	bk_free_files(f, BK_NTHREE);
	free(r.p);
	bk_check_contained(x);
}

static void
test_path_length(void **state)
{
	struct fx_homes		 *x = *state;
	struct bundle_file	*f;
	struct bk_raw		 r = { NULL, 0 };
	uint8_t			*z, *name;
	size_t			 zlen, i;
	static const size_t	 lens[] = { SYNCSET_PATH_MAX,
	    SYNCSET_PATH_MAX + 1, 4096, 65535 };

	(void)state;
	f = bk_expect(bk_three, BK_NTHREE);
	assert_non_null(name = malloc(65536));
	memcpy(name, "etc/rules/", 10);
	memset(name + 10, 'n', 65536 - 10);
	for (i = 0; i < BK_NELEM(lens); i++) {
		r.n = 0;
		bk_raw_hdr(&r, name, lens[i], 0644, 1);
		bk_raw_put(&r, "e", 1);
		bk_raw_end(&r);
		z = bk_zip(r.p, r.n, &zlen);
		bk_refused(x, f, BK_NTHREE, z, zlen, "over the limit");
		free(z);
	}
	/* Just under the limit: a well-formed record, but not expected. */
	for (i = 10 + 200; i < SYNCSET_PATH_MAX - 1; i += 200)
		name[i] = '/';
	r.n = 0;
	bk_raw_hdr(&r, name, SYNCSET_PATH_MAX - 1, 0644, 1);
	bk_raw_put(&r, "e", 1);
	bk_raw_end(&r);
	z = bk_zip(r.p, r.n, &zlen);
	bk_refused(x, f, BK_NTHREE, z, zlen, "unexpected");
	free(z);
	free(name);
	bk_free_files(f, BK_NTHREE);
	free(r.p);
	bk_check_contained(x);
}

static void
test_duplicate(void **state)
{
	struct fx_homes		 *x = *state;
	struct bundle_file	*f;
	struct bk_raw		 r = { NULL, 0 };
	uint8_t			*z;
	size_t			 zlen;

	(void)state;
	f = bk_expect(bk_three, BK_NTHREE);
	/* Twice the same good record. */
	bk_raw_rec(&r, "etc/rules/a.xml", bk_three[0].data, bk_three[0].len);
	bk_raw_rec(&r, "etc/rules/a.xml", bk_three[0].data, bk_three[0].len);
	bk_raw_end(&r);
	z = bk_zip(r.p, r.n, &zlen);
	bk_refused(x, f, BK_NTHREE, z, zlen, "unexpected");
	free(z);
	/* A stale one then a good one. */
	r.n = 0;
	bk_raw_rec(&r, "etc/lists/keys", "old", 3);
	bk_raw_rec(&r, "etc/lists/keys", bk_three[2].data, bk_three[2].len);
	bk_raw_end(&r);
	z = bk_zip(r.p, r.n, &zlen);
	bk_refused(x, f, BK_NTHREE, z, zlen, "unexpected");
	free(z);
	/* Empty twice. */
	r.n = 0;
	bk_raw_rec(&r, "etc/rules/sub/b.xml", "", 0);
	bk_raw_rec(&r, "etc/rules/sub/b.xml", "", 0);
	bk_raw_end(&r);
	z = bk_zip(r.p, r.n, &zlen);
	bk_refused(x, f, BK_NTHREE, z, zlen, "unexpected");
	free(z);
	bk_free_files(f, BK_NTHREE);
	free(r.p);
	bk_check_contained(x);
}

static void
test_too_large(void **state)
{
	struct fx_homes		 *x = *state;
	struct bundle_file	*f;
	struct bundle_dec	*d;
	struct bk_raw		 r = { NULL, 0 };
	uint8_t			*z;
	size_t			 zlen;
	char			 err[256];
	int			 rv;

	(void)state;
	f = bk_expect(bk_three, BK_NTHREE);
	bk_raw_hdr(&r, "etc/rules/a.xml", 15, 0644, BUNDLE_MAX_FILE_SIZE + 1);
	bk_raw_put(&r, "e", 1);
	bk_raw_end(&r);
	z = bk_zip(r.p, r.n, &zlen);
	bk_refused(x, f, BK_NTHREE, z, zlen, "too large");
	free(z);
	r.n = 0;
	bk_raw_hdr(&r, "etc/rules/a.xml", 15, 0644, UINT64_MAX);
	z = bk_zip(r.p, r.n, &zlen);
	bk_refused(x, f, BK_NTHREE, z, zlen, "too large");
	free(z);
	/* At the limit it is accepted, and waits for its bytes. */
	r.n = 0;
	bk_raw_hdr(&r, "etc/rules/a.xml", 15, 0644, BUNDLE_MAX_FILE_SIZE);
	bk_raw_put(&r, "e", 1);
	z = bk_zip(r.p, r.n, &zlen);
	d = bk_decode(x->worker, f, BK_NTHREE, z, zlen, 0, &rv, err,
	    sizeof(err));
	assert_int_equal(rv, -1);
	assert_non_null(strstr(err, "truncated"));
	bk_dec_done(d, x->worker);
	/* Declared longer than what follows. */
	r.n = 0;
	bk_raw_hdr(&r, "etc/rules/a.xml", 15, 0644, 100);
	bk_raw_put(&r, "short", 5);
	bk_raw_end(&r);
	free(z);
	z = bk_zip(r.p, r.n, &zlen);
	d = bk_decode(x->worker, f, BK_NTHREE, z, zlen, 0, &rv, err,
	    sizeof(err));
	assert_int_equal(rv, -1);
	assert_non_null(strstr(err, "truncated"));
	bk_dec_done(d, x->worker);
	free(z);
	bk_free_files(f, BK_NTHREE);
	free(r.p);
	bk_check_contained(x);
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
	f = bk_expect(bk_three, BK_NTHREE);
	for (i = 0; i < 200; i++) {
		for (k = 0; k < sizeof(g); k++)
			g[k] = (uint8_t)bk_rnd(&seed);
		d = bk_decode(x->worker, f, BK_NTHREE, g, 1 + i * 17, 0, &rv,
		    err, sizeof(err));
		assert_int_equal(rv, -1);
		bk_dec_done(d, x->worker);
	}
	bk_refused(x, f, BK_NTHREE, (const uint8_t *)"plain text, no zlib",
	    19, "corrupt");
	bk_free_files(f, BK_NTHREE);
	bk_check_contained(x);
}

/* ---- abort ---- */

static void
test_abort(void **state)
{
	struct fx_homes		 *x = *state;
	struct bundle_file	*f;
	struct bundle_dec	*d;
	struct bk_raw		 r = { NULL, 0 };
	uint8_t			*z;
	size_t			 zlen, k;
	char			 err[256];
	int			 rv;

	(void)state;
	f = bk_expect(bk_three, BK_NTHREE);
	bk_raw_three(&r);
	bk_raw_end(&r);
	z = bk_zip(r.p, r.n, &zlen);
	/* Cut off in the middle of the second file. */
	r.n = 0;
	bk_raw_rec(&r, bk_three[0].path, bk_three[0].data, bk_three[0].len);
	bk_raw_hdr(&r, bk_three[1].path, strlen(bk_three[1].path), 0644,
	    bk_three[1].len);
	bk_raw_put(&r, bk_three[1].data, 5);
	free(z);
	z = bk_zip(r.p, r.n, &zlen);
	assert_non_null(d = bundle_dec_new(x->worker, f, BK_NTHREE));
	assert_int_equal(bundle_dec_feed(d, z, zlen, err, sizeof(err)), 0);
	assert_int_equal(fx_count_temps(x->worker), 2);
	assert_int_equal(bk_find(f, 3, bk_three[0].path)->received, 1);
	bundle_dec_abort(d);
	assert_int_equal(fx_count_temps(x->worker), 0);
	for (k = 0; k < BK_NTHREE; k++) {
		assert_null(f[k].tmpname);
		assert_int_equal(f[k].received, 0);
		assert_int_equal(f[k].stale, 0);
	}
	bundle_dec_free(d);
	free(z);
	/* After a complete bundle, abort still removes every temp file. */
	r.n = 0;
	bk_raw_three(&r);
	bk_raw_end(&r);
	z = bk_zip(r.p, r.n, &zlen);
	d = bk_decode(x->worker, f, BK_NTHREE, z, zlen, 7, &rv, err,
	    sizeof(err));
	assert_int_equal(rv, 0);
	assert_int_equal(fx_count_temps(x->worker), 3);
	bk_dec_done(d, x->worker);
	/* Abort twice, and with nothing received, is harmless. */
	assert_non_null(d = bundle_dec_new(x->worker, f, BK_NTHREE));
	bundle_dec_abort(d);
	bundle_dec_abort(d);
	bundle_dec_free(d);
	bundle_dec_free(NULL);
	free(z);
	bk_free_files(f, BK_NTHREE);
	free(r.p);
	bk_check_contained(x);
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
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
