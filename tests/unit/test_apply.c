/*
 * test_apply: making a received bundle live on a worker.  Bundles are
 * encoded from a "master" temp home and decoded into a "worker" one with
 * the real modules, then applied: installs with modes, counts, removals,
 * pruning of emptied folders (never a set root), stale files, refusals,
 * and the start-up cleanup of temp files a crash left behind.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
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

#include "base/buf.h"
#include "sync/apply.h"
#include "sync/bundle.h"
#include "sync/syncset.h"

#include "helpers/fixture.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* ---- what a home holds (the homes: helpers/fixture.c) ---- */

static int
exists(const char *home, const char *rel)
{
	char		p[PATH_MAX];
	struct stat	st;

	snprintf(p, sizeof(p), "%s/%s", home, rel);
	return lstat(p, &st) == 0;
}

static int
is_dir(const char *home, const char *rel)
{
	char		p[PATH_MAX];
	struct stat	st;

	snprintf(p, sizeof(p), "%s/%s", home, rel);
	return lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* home/rel holds exactly s, with permission bits mode. */
static void
check_file(const char *home, const char *rel, const char *s, mode_t mode)
{
	char		p[PATH_MAX], got[4096];
	struct stat	st;
	ssize_t		n;
	int		fd;

	snprintf(p, sizeof(p), "%s/%s", home, rel);
	if ((fd = open(p, O_RDONLY | O_NOFOLLOW)) == -1)
		fail_msg("%s: %s", rel, strerror(errno));
	assert_int_equal(fstat(fd, &st), 0);
	n = read(fd, got, sizeof(got));
	close(fd);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(n, (ssize_t)strlen(s));
	assert_memory_equal(got, s, strlen(s));
	if ((st.st_mode & 07777) != mode)
		fail_msg("%s has mode %04o, want %04o", rel,
		    (unsigned)(st.st_mode & 07777), (unsigned)mode);
}

/* ---- a round: encode on the master, decode on the worker ---- */

struct plan_file {
	const char	*path;
	const char	*data;		/* on the master */
	mode_t		 mode;		/* in the plan */
	int		 is_new;
	const char	*planned;	/* content the plan's MD5 is of */
};

/*
 * Write the plan's files on the master, send them, and decode them on the
 * worker; returns the decoded expected list (finish succeeded).
 */
static struct bundle_file *
receive(struct fx_homes *x, const struct plan_file *pf, size_t n)
{
	struct bundle_file	*f;
	struct bundle_enc	*e;
	struct bundle_dec	*d;
	struct buf		 out;
	char			*paths[32], err[256];
	mode_t			 modes[32];
	size_t			 i;
	int			 r;

	assert_true(n <= NELEM(paths));
	assert_non_null(f = calloc(n ? n : 1, sizeof(*f)));
	for (i = 0; i < n; i++) {
		const char *c = pf[i].planned ? pf[i].planned : pf[i].data;

		fx_puts(x->master, pf[i].path, pf[i].data);
		paths[i] = (char *)(uintptr_t)pf[i].path;
		modes[i] = pf[i].mode;
		assert_non_null(f[i].path = strdup(pf[i].path));
		fx_md5(c, strlen(c), f[i].md5);
		f[i].mode = pf[i].mode;
		f[i].is_new = pf[i].is_new;
	}
	buf_init(&out);
	assert_non_null(e = bundle_enc_new(x->master, paths, modes, n, 6));
	while ((r = bundle_enc_next(e, &out, 1024, err, sizeof(err))) == 1)
		;
	if (r != 0)
		fail_msg("encode: %s", err);
	bundle_enc_free(e);
	assert_non_null(d = bundle_dec_new(x->worker, f, n));
	if (bundle_dec_feed(d, buf_head(&out), buf_used(&out), err,
	    sizeof(err)) == -1 || bundle_dec_finish(d, err, sizeof(err)) == -1)
		fail_msg("decode: %s", err);
	bundle_dec_free(d);	/* the temp files stay for apply */
	buf_free(&out);
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

static int
changed(const struct apply_changes *ch, const char *path)
{
	size_t	i, k = 0;

	for (i = 0; i < ch->n; i++)
		if (strcmp(ch->paths[i], path) == 0)
			k++;
	assert_true(k <= 1);
	return k == 1;
}

/* ---- tests ---- */

static void
test_apply_round(void **state)
{
	static const struct plan_file	 pf[] = {
		{ "etc/rules/old.xml", "the new content of old", 0640, 0,
		    NULL },
		{ "etc/rules/new/n.xml", "n", 0644, 1, NULL },
		{ "etc/rules/stale.xml", "changed meanwhile", 0644, 1,
		    "what the plan saw" },
		{ "etc/lists/keys", "001 w1 any 00112233\n", 0640, 1, NULL },
	};
	char				*rm[] = {
		"etc/rules/gone/deep/x.xml", "etc/rules/keep/z.xml",
		"etc/decoders/only.xml", "etc/ossec.conf",
		"../outside/victim", "etc/rules/../../outside/victim",
	};
	struct fx_homes			 *x = *state;
	struct bundle_file		*f;
	struct apply_stats		 st;
	struct apply_changes		 ch;

	(void)state;
	fx_puts(x->worker, "etc/rules/old.xml", "old");
	fx_puts(x->worker, "etc/rules/gone/deep/x.xml", "x");
	fx_puts(x->worker, "etc/rules/keep/y.xml", "y");
	fx_puts(x->worker, "etc/rules/keep/z.xml", "z");
	fx_puts(x->worker, "etc/decoders/only.xml", "d");
	fx_puts(x->worker, "etc/ossec.conf", "<ossec_config/>");
	fx_puts(x->worker, "etc/lists/l", "l");
	fx_puts(x->outside, "victim", "v");
	f = receive(x, pf, NELEM(pf));
	assert_int_equal(apply_bundle(x->worker, f, NELEM(pf), rm, NELEM(rm),
	    &st, &ch), 0);
	assert_int_equal(st.created, 2);
	assert_int_equal(st.updated, 1);
	assert_int_equal(st.stale, 1);
	assert_int_equal(st.deleted, 3);
	assert_int_equal(st.failed, 3);		/* the three refusals */
	/* Installed, with the plan's modes. */
	check_file(x->worker, "etc/rules/old.xml", "the new content of old",
	    0640);
	check_file(x->worker, "etc/rules/new/n.xml", "n", 0644);
	check_file(x->worker, "etc/lists/keys", "001 w1 any 00112233\n",
	    0640);
	/* The stale file is not installed. */
	assert_false(exists(x->worker, "etc/rules/stale.xml"));
	/* Removed, folders emptied by it pruned, set roots kept. */
	assert_false(exists(x->worker, "etc/rules/gone/deep/x.xml"));
	assert_false(exists(x->worker, "etc/rules/gone/deep"));
	assert_false(exists(x->worker, "etc/rules/gone"));
	assert_false(exists(x->worker, "etc/rules/keep/z.xml"));
	check_file(x->worker, "etc/rules/keep/y.xml", "y", 0644);
	assert_false(exists(x->worker, "etc/decoders/only.xml"));
	assert_true(is_dir(x->worker, "etc/decoders"));
	assert_true(is_dir(x->worker, "etc/rules"));
	/* Refused: outside the set, outside the home. */
	check_file(x->worker, "etc/ossec.conf", "<ossec_config/>", 0644);
	check_file(x->outside, "victim", "v", 0644);
	check_file(x->worker, "etc/lists/l", "l", 0644);
	/* What changed, for the reload: installs and removals only. */
	assert_int_equal(ch.n, 6);
	assert_true(changed(&ch, "etc/rules/old.xml"));
	assert_true(changed(&ch, "etc/rules/new/n.xml"));
	assert_true(changed(&ch, "etc/lists/keys"));
	assert_true(changed(&ch, "etc/rules/gone/deep/x.xml"));
	assert_true(changed(&ch, "etc/rules/keep/z.xml"));
	assert_true(changed(&ch, "etc/decoders/only.xml"));
	assert_false(changed(&ch, "etc/rules/stale.xml"));
	assert_false(changed(&ch, "etc/ossec.conf"));
	apply_changes_free(&ch);
	assert_int_equal(ch.n, 0);
	assert_null(ch.paths);
	/*
	 * "Dropped": no temp file is left behind once the round is applied,
	 * the stale one included (the caller frees the decoder without an
	 * abort after applying).
	 */
	if (fx_count_temps(x->worker) != 0)
		fail_msg("the stale file's temp file was left in etc/rules");
	free_files(f, NELEM(pf));
}

/*
 * The set's masks hold on the worker whatever mode a plan carries: a
 * shared file never becomes executable or setuid (syncset.c's table).
 */
static void
test_modes_masked(void **state)
{
	static const struct plan_file	 pf[] = {
		{ "etc/rules/suid.xml", "s", 04777, 1, NULL },
		{ "etc/rules/exec.xml", "e", 0755, 1, NULL },
		{ "etc/rules/private.xml", "p", 0600, 1, NULL },
		{ "etc/shared/default/sticky.conf", "t", 03775, 1, NULL },
		{ "etc/lists/keys", "k", 0666, 1, NULL },
	};
	struct fx_homes			 *x = *state;
	struct bundle_file		*f;
	struct apply_stats		 st;
	struct apply_changes		 ch;

	(void)state;
	f = receive(x, pf, NELEM(pf));
	assert_int_equal(apply_bundle(x->worker, f, NELEM(pf), NULL, 0, &st,
	    &ch), 0);
	assert_int_equal(st.created, NELEM(pf));
	assert_int_equal(st.failed, 0);
	check_file(x->worker, "etc/rules/private.xml", "p", 0600);
	check_file(x->worker, "etc/rules/exec.xml", "e", 0644);
	check_file(x->worker, "etc/rules/suid.xml", "s", 0664);
	check_file(x->worker, "etc/shared/default/sticky.conf", "t", 0664);
	check_file(x->worker, "etc/lists/keys", "k", 0664);
	apply_changes_free(&ch);
	free_files(f, NELEM(pf));
}

/* An update replaces the file (new inode), never writes into it. */
static void
test_update_replaces(void **state)
{
	static const struct plan_file	 pf[] = {
		{ "etc/rules/a.xml", "new a", 0644, 0, NULL },
	};
	struct fx_homes			 *x = *state;
	struct bundle_file		*f;
	struct apply_stats		 st;
	struct apply_changes		 ch;
	char				 p[PATH_MAX], q[PATH_MAX];

	(void)state;
	fx_puts(x->worker, "etc/rules/a.xml", "old a");
	/* A hard link elsewhere keeps the old content. */
	snprintf(p, sizeof(p), "%s/etc/rules/a.xml", x->worker);
	snprintf(q, sizeof(q), "%s/hardlink", x->outside);
	assert_int_equal(link(p, q), 0);
	f = receive(x, pf, NELEM(pf));
	assert_int_equal(apply_bundle(x->worker, f, 1, NULL, 0, &st, &ch), 0);
	assert_int_equal(st.updated, 1);
	check_file(x->worker, "etc/rules/a.xml", "new a", 0644);
	check_file(x->outside, "hardlink", "old a", 0644);
	assert_int_equal(fx_count_temps(x->worker), 0);
	apply_changes_free(&ch);
	free_files(f, 1);
}

/* Pruning stops at every set root, and at the home's etc. */
static void
test_prune_roots(void **state)
{
	char			*rm[] = {
		"etc/rules/a.xml", "etc/shared/default/agent.conf",
		"etc/lists/keys", "etc/lists/x/y/z/deep.txt",
		"etc/decoders/d/e.xml",
	};
	struct fx_homes		 *x = *state;
	struct bundle_file	 none[1];
	struct apply_stats	 st;
	struct apply_changes	 ch;

	(void)state;
	memset(none, 0, sizeof(none));
	fx_puts(x->worker, "etc/rules/a.xml", "a");
	fx_puts(x->worker, "etc/shared/default/agent.conf", "c");
	fx_puts(x->worker, "etc/lists/keys", "k");
	fx_puts(x->worker, "etc/lists/x/y/z/deep.txt", "z");
	fx_puts(x->worker, "etc/lists/x/other", "o");
	fx_puts(x->worker, "etc/decoders/d/e.xml", "e");
	assert_int_equal(apply_bundle(x->worker, none, 0, rm, NELEM(rm), &st,
	    &ch), 0);
	assert_int_equal(st.deleted, NELEM(rm));
	assert_int_equal(st.failed, 0);
	assert_int_equal(ch.n, NELEM(rm));
	assert_true(is_dir(x->worker, "etc/rules"));
	assert_true(is_dir(x->worker, "etc/shared"));
	assert_false(exists(x->worker, "etc/shared/default"));
	assert_true(is_dir(x->worker, "etc"));
	assert_false(exists(x->worker, "etc/lists/keys"));
	assert_true(is_dir(x->worker, "etc/lists"));
	assert_true(is_dir(x->worker, "etc/lists/x"));	/* not empty */
	assert_false(exists(x->worker, "etc/lists/x/y"));
	assert_true(is_dir(x->worker, "etc/decoders"));
	assert_false(exists(x->worker, "etc/decoders/d"));
	apply_changes_free(&ch);
}

static void
test_remove_refused(void **state)
{
	char			*rm[] = {
		"etc/rules/link/victim",	/* through a symlinked folder */
		"etc/rules",			/* a set root */
		"etc/rules/dir",		/* a folder, not a file */
		"/etc/passwd",
		"etc/rules/a.xml.tmp",		/* excluded name */
		"etc/rules/" SYNCSET_TMP_PREFIX "x",
	};
	char			*rm_link[] = { "etc/rules/link" };
	char			*rm_missing[] = { "etc/rules/never.xml",
	    "etc/rules/nodir/never.xml" };
	struct fx_homes		 *x = *state;
	struct bundle_file	 none[1];
	struct apply_stats	 st;
	struct apply_changes	 ch;
	char			 p[PATH_MAX];

	(void)state;
	memset(none, 0, sizeof(none));
	fx_puts(x->outside, "victim", "v");
	fx_puts(x->worker, "etc/rules/dir/inside.xml", "i");
	fx_puts(x->worker, "etc/rules/a.xml.tmp", "t");
	fx_puts(x->worker, "etc/rules/" SYNCSET_TMP_PREFIX "x", "t");
	snprintf(p, sizeof(p), "%s/etc/rules/link", x->worker);
	assert_int_equal(symlink(x->outside, p), 0);
	assert_int_equal(apply_bundle(x->worker, none, 0, rm, NELEM(rm), &st,
	    &ch), 0);
	assert_int_equal(st.deleted, 0);
	assert_int_equal(st.failed, NELEM(rm));
	assert_int_equal(ch.n, 0);
	apply_changes_free(&ch);
	check_file(x->outside, "victim", "v", 0644);
	assert_true(is_dir(x->worker, "etc/rules"));
	check_file(x->worker, "etc/rules/dir/inside.xml", "i", 0644);
	check_file(x->worker, "etc/rules/a.xml.tmp", "t", 0644);
	check_file(x->worker, "etc/rules/" SYNCSET_TMP_PREFIX "x", "t", 0644);
	/* The symlink itself may go; what it points to stays. */
	assert_int_equal(apply_bundle(x->worker, none, 0, rm_link, 1, &st,
	    &ch), 0);
	assert_int_equal(st.failed, 0);
	apply_changes_free(&ch);
	assert_false(exists(x->worker, "etc/rules/link"));
	check_file(x->outside, "victim", "v", 0644);
	/* Removing what is already gone is not a failure. */
	assert_int_equal(apply_bundle(x->worker, none, 0, rm_missing, 2, &st,
	    &ch), 0);
	assert_int_equal(st.failed, 0);
	apply_changes_free(&ch);
}

/* A temp file gone before apply: that file fails, the others go in. */
static void
test_install_failure(void **state)
{
	static const struct plan_file	 pf[] = {
		{ "etc/rules/a.xml", "a", 0644, 1, NULL },
		{ "etc/rules/b.xml", "b", 0644, 1, NULL },
	};
	struct fx_homes			 *x = *state;
	struct bundle_file		*f, *a = NULL;
	struct apply_stats		 st;
	struct apply_changes		 ch;
	char				 p[PATH_MAX];
	size_t				 i;

	(void)state;
	f = receive(x, pf, NELEM(pf));
	for (i = 0; i < NELEM(pf); i++)
		if (strcmp(f[i].path, "etc/rules/a.xml") == 0)
			a = &f[i];
	assert_non_null(a);
	assert_non_null(a->tmpname);
	snprintf(p, sizeof(p), "%s/etc/rules/%s", x->worker, a->tmpname);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(apply_bundle(x->worker, f, NELEM(pf), NULL, 0, &st,
	    &ch), 0);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.created, 1);
	assert_false(exists(x->worker, "etc/rules/a.xml"));
	check_file(x->worker, "etc/rules/b.xml", "b", 0644);
	assert_int_equal(ch.n, 1);
	assert_true(changed(&ch, "etc/rules/b.xml"));
	apply_changes_free(&ch);
	free_files(f, NELEM(pf));
}

/* Nothing received, nothing to remove. */
static void
test_apply_nothing(void **state)
{
	struct fx_homes		 *x = *state;
	struct bundle_file	 none[1];
	struct apply_stats	 st;
	struct apply_changes	 ch;

	(void)state;
	memset(none, 0, sizeof(none));
	memset(&st, 0xff, sizeof(st));
	memset(&ch, 0xff, sizeof(ch));
	assert_int_equal(apply_bundle(x->worker, none, 0, NULL, 0, &st, &ch),
	    0);
	assert_int_equal(st.created + st.updated + st.deleted + st.stale +
	    st.failed, 0);
	assert_int_equal(ch.n, 0);
	apply_changes_free(&ch);
}

/* Leftover temp files: every one under the set, nothing else. */
static void
test_cleanup_temps(void **state)
{
	static const char	*temps[] = {
		"etc/rules/" SYNCSET_TMP_PREFIX "a.xml",
		"etc/rules/" SYNCSET_TMP_PREFIX,
		"etc/rules/sub/deep/" SYNCSET_TMP_PREFIX "b.xml",
		"etc/decoders/" SYNCSET_TMP_PREFIX "c.xml",
		"etc/lists/amazon/" SYNCSET_TMP_PREFIX "d",
		"etc/shared/default/" SYNCSET_TMP_PREFIX "agent.conf",
	};
	static const char	*keep[] = {
		"etc/rules/a.xml", "etc/rules/clusterd-sync.x",
		"etc/rules/x" SYNCSET_TMP_PREFIX "y",
		"etc/rules/.clusterd-sync",
		"etc/rules/sub/deep/b.xml", "etc/decoders/c.xml",
		"etc/ossec.conf", "etc/client.keys", "etc/rules/a.xml~",
		/* etc itself is no folder of the set */
		"etc/" SYNCSET_TMP_PREFIX "client.keys",
		SYNCSET_TMP_PREFIX "home", "logs/" SYNCSET_TMP_PREFIX "log",
		"etc/rulesX/" SYNCSET_TMP_PREFIX "x",
	};
	struct fx_homes		 *x = *state;
	char			 p[PATH_MAX];
	size_t			 i;

	(void)state;
	for (i = 0; i < NELEM(temps); i++)
		fx_puts(x->worker, temps[i], "t");
	for (i = 0; i < NELEM(keep); i++)
		fx_puts(x->worker, keep[i], "k");
	/* Behind a symlinked folder: not ours to touch. */
	fx_puts(x->outside, SYNCSET_TMP_PREFIX "z", "o");
	snprintf(p, sizeof(p), "%s/etc/rules/link", x->worker);
	assert_int_equal(symlink(x->outside, p), 0);
	apply_cleanup_temps(x->worker);
	for (i = 0; i < NELEM(keep); i++)
		check_file(x->worker, keep[i], "k", 0644);
	check_file(x->outside, SYNCSET_TMP_PREFIX "z", "o", 0644);
	for (i = 0; i < NELEM(temps); i++)
		if (exists(x->worker, temps[i]))
			fail_msg("%s left behind", temps[i]);
	assert_int_equal(unlink(p), 0);
	/* A set root that is a symlink is not followed either. */
	snprintf(p, sizeof(p), "%s/etc/lists", x->worker);
	assert_int_equal(fx_rmtree(p), 0);
	assert_int_equal(symlink(x->outside, p), 0);
	apply_cleanup_temps(x->worker);
	check_file(x->outside, SYNCSET_TMP_PREFIX "z", "o", 0644);
	/* An empty home, or one without etc/, is fine. */
	apply_cleanup_temps(x->master);
}

/* A decode cut off by a crash: cleanup then removes what it wrote. */
static void
test_cleanup_after_decode(void **state)
{
	static const struct plan_file	 pf[] = {
		{ "etc/rules/a.xml", "a", 0644, 1, NULL },
		{ "etc/rules/sub/b.xml", "b", 0644, 1, NULL },
		{ "etc/shared/default/agent.conf", "c", 0644, 1, NULL },
		{ "etc/lists/keys", "k", 0640, 1, NULL },
	};
	struct fx_homes			 *x = *state;
	struct bundle_file		*f;

	(void)state;
	f = receive(x, pf, NELEM(pf));
	assert_int_equal(fx_count_temps(x->worker), NELEM(pf));
	apply_cleanup_temps(x->worker);
	assert_int_equal(fx_count_temps(x->worker), 0);
	free_files(f, NELEM(pf));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_apply_round,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test_setup_teardown(test_modes_masked,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test_setup_teardown(test_update_replaces,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test_setup_teardown(test_prune_roots,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test_setup_teardown(test_remove_refused,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test_setup_teardown(test_install_failure,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test_setup_teardown(test_apply_nothing,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test_setup_teardown(test_cleanup_temps,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test_setup_teardown(test_cleanup_after_decode,
		    fx_homes_setup, fx_homes_teardown),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	umask(022);	/* modes of the files written here */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
