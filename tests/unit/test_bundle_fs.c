/*
 * test_bundle_fs: the bundle decoder and encoder against a hostile file
 * system: symlinks planted on the worker where folders or temp files go,
 * files missing, changed, replaced by symlinks, folders or fifos on the
 * master after its scan.  Every test runs in a temp folder holding the
 * homes and an "outside" folder nothing may reach.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "sync/bundle.h"
#include "sync/syncset.h"

#include "helpers/bundle_kit.h"
#include "helpers/fixture.h"

/* ---- symlinks on the worker ---- */

static void
test_symlinked_folder(void **state)
{
	struct fx_homes		 *x = *state;
	struct bundle_file	*f;
	struct bk_raw		 r = { NULL, 0 };
	uint8_t			*z;
	size_t			 zlen;
	char			 p[PATH_MAX];

	(void)state;
	f = bk_expect(bk_three, BK_NTHREE);
	r.n = 0;
	bk_raw_rec(&r, bk_three[1].path, bk_three[1].data, bk_three[1].len);
	bk_raw_end(&r);
	z = bk_zip(r.p, r.n, &zlen);
	/* etc/rules/sub -> outside */
	fx_mkparents(x->worker, "etc/rules/x");
	snprintf(p, sizeof(p), "%s/etc/rules/sub", x->worker);
	assert_int_equal(symlink(x->outside, p), 0);
	bk_refused(x, f, BK_NTHREE, z, zlen, "symlink");
	assert_int_equal(unlink(p), 0);
	/* etc/rules itself -> outside */
	snprintf(p, sizeof(p), "%s/etc/rules", x->worker);
	assert_int_equal(rmdir(p), 0);
	assert_int_equal(symlink(x->outside, p), 0);
	bk_refused(x, f, BK_NTHREE, z, zlen, "symlink");
	free(z);
	/* etc -> outside, for etc/lists/keys */
	r.n = 0;
	bk_raw_rec(&r, bk_three[2].path, bk_three[2].data, bk_three[2].len);
	bk_raw_end(&r);
	z = bk_zip(r.p, r.n, &zlen);
	assert_int_equal(unlink(p), 0);
	snprintf(p, sizeof(p), "%s/etc", x->worker);
	assert_int_equal(rmdir(p), 0);
	assert_int_equal(symlink(x->outside, p), 0);
	bk_refused(x, f, BK_NTHREE, z, zlen, "symlink");
	assert_int_equal(unlink(p), 0);
	free(z);
	bk_free_files(f, BK_NTHREE);
	free(r.p);
	bk_check_contained(x);
}

/* A symlink planted where the temp file goes is not written through. */
static void
test_symlinked_temp(void **state)
{
	struct fx_homes		 *x = *state;
	struct bundle_file	*f;
	struct bundle_dec	*d;
	struct bk_raw		 r = { NULL, 0 };
	uint8_t			*z, *got;
	size_t			 zlen, len;
	char			 p[PATH_MAX], target[PATH_MAX], err[256];
	int			 rv;

	(void)state;
	f = bk_expect(bk_three, BK_NTHREE);
	bk_raw_rec(&r, bk_three[0].path, bk_three[0].data, bk_three[0].len);
	bk_raw_end(&r);
	z = bk_zip(r.p, r.n, &zlen);
	snprintf(target, sizeof(target), "%s/victim", x->base);
	fx_put(x->base, "victim", "precious", 8);
	fx_mkparents(x->worker, "etc/rules/x");
	snprintf(p, sizeof(p), "%s/etc/rules/" SYNCSET_TMP_PREFIX "a.xml",
	    x->worker);
	assert_int_equal(symlink(target, p), 0);
	d = bk_decode(x->worker, f, BK_NTHREE, z, zlen, 0, &rv, err,
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
	bk_free_files(f, BK_NTHREE);
	free(r.p);
	bk_check_contained(x);
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
	bk_check_contained(x);
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
	bk_check_contained(x);
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
	bk_check_contained(x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
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
