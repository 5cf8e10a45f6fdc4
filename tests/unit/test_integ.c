/*
 * test_integ: integrity indexes.  Scans of real trees built in temp homes
 * (what is listed, what is skipped, MD5s computed here independently) and
 * the size+mtime cache.  test_integ_index has the digest, the JSON form
 * and the create/update/remove classification.
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
#include <openssl/evp.h>

#include "sync/integ.h"
#include "sync/syncset.h"

#include "helpers/fixture.h"
#include "helpers/integ_kit.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define MD5_EMPTY	"d41d8cd98f00b204e9800998ecf8427e"
#define MD5_ABC		"900150983cd24fb0d6963f7d28e17f72"

/* ---- scan ---- */

static void
test_md5_vectors(void **state)
{
	char	hex[33];

	(void)state;
	/* The helper is right before it is used as the oracle. */
	ik_md5hex("", 0, hex);
	assert_string_equal(hex, MD5_EMPTY);
	ik_md5hex("abc", 3, hex);
	assert_string_equal(hex, MD5_ABC);
	ik_md5hex("message digest", 14, hex);
	assert_string_equal(hex, "f96b697d7cb7938d525a2f31aaf161d0");
}

static void
test_md5_file(void **state)
{
	char		*home = ik_mkhome(), p[PATH_MAX], hex[33], want[33];
	uint8_t		 md5[16], *big;
	uint64_t	 size = 77;
	size_t		 i, n = 200000;
	int		 fd;

	(void)state;
	fx_puts_mode(home, "e", "", 0644);
	snprintf(p, sizeof(p), "%s/e", home);
	assert_true((fd = open(p, O_RDONLY)) != -1);
	assert_int_equal(integ_md5_file(fd, md5, &size), 0);
	close(fd);
	integ_hex(md5, hex);
	assert_string_equal(hex, MD5_EMPTY);
	assert_int_equal(size, 0);
	/* Bigger than one read. */
	assert_non_null(big = malloc(n));
	for (i = 0; i < n; i++)
		big[i] = (uint8_t)(i * 7 + i / 251);
	fx_put_mode(home, "big", big, n, 0644);
	snprintf(p, sizeof(p), "%s/big", home);
	assert_true((fd = open(p, O_RDONLY)) != -1);
	assert_int_equal(integ_md5_file(fd, md5, &size), 0);
	close(fd);
	integ_hex(md5, hex);
	ik_md5hex(big, n, want);
	assert_string_equal(hex, want);
	assert_int_equal(size, n);
	free(big);
	/* A descriptor that cannot be read fails. */
	snprintf(p, sizeof(p), "%s/e", home);
	assert_true((fd = open(p, O_WRONLY)) != -1);
	assert_int_equal(integ_md5_file(fd, md5, &size), -1);
	close(fd);
	ik_rmhome(home);
}

static void
test_hex(void **state)
{
	uint8_t	md5[16], back[16];
	char	hex[33];
	int	v, i;

	(void)state;
	for (v = 0; v < 256; v += 15) {
		for (i = 0; i < 16; i++)
			md5[i] = (uint8_t)(v + i * 17);
		integ_hex(md5, hex);
		assert_int_equal(strlen(hex), 32);
		assert_int_equal(integ_unhex(hex, back), 0);
		assert_memory_equal(md5, back, 16);
	}
	memset(md5, 0xab, sizeof(md5));
	integ_hex(md5, hex);
	assert_string_equal(hex, "abababababababababababababababab");
	/* Lower case only, as integ_hex writes it; exactly 32 digits. */
	assert_int_equal(integ_unhex("ABABABABABABABABABABABABABABABAB", back),
	    -1);
	assert_int_equal(integ_unhex("abababababababababababababababaB", back),
	    -1);
	assert_int_equal(integ_unhex(MD5_EMPTY "0", back), -1);
	assert_int_equal(integ_unhex("d41d8cd98f00b204e9800998ecf8427", back),
	    -1);
	assert_int_equal(integ_unhex("", back), -1);
	assert_int_equal(integ_unhex("g41d8cd98f00b204e9800998ecf8427e", back),
	    -1);
	assert_int_equal(integ_unhex("d41d8cd98f00b204e9800998ecf8427 ", back),
	    -1);
	assert_int_equal(integ_unhex(" d41d8cd98f00b204e9800998ecf8427", back),
	    -1);
	assert_int_equal(integ_unhex("0x1d8cd98f00b204e9800998ecf8427e", back),
	    -1);
	assert_int_equal(integ_unhex(MD5_EMPTY, back), 0);
	integ_hex(back, hex);
	assert_string_equal(hex, MD5_EMPTY);
}

static void
test_scan_tree(void **state)
{
	char			*home = ik_mkhome();
	struct integ_index	*x;
	size_t			 i;

	(void)state;
	ik_build_tree(home);
	assert_non_null(x = integ_scan(home, NULL));
	assert_int_equal(x->refs, 1);
	ik_check_tree_index(x);
	/* Every listed file was read: there was no cache. */
	assert_int_equal(x->hashed, IK_NTREE);
	/* Two symlinks to files, a symlinked folder, a fifo, a bad name. */
	assert_true(x->skipped >= 5);
	assert_true(x->duration >= 0);
	/* Known vectors, not only the helper. */
	{
		char hex[33];

		integ_hex(integ_find(x, "etc/rules/empty.xml")->md5, hex);
		assert_string_equal(hex, MD5_EMPTY);
		integ_hex(integ_find(x, "etc/lists/abc")->md5, hex);
		assert_string_equal(hex, MD5_ABC);
	}
	/* Nothing outside, excluded or linked is listed. */
	assert_null(integ_find(x, "etc/ossec.conf"));
	assert_null(integ_find(x, "etc/rulesX/a.xml"));
	assert_null(integ_find(x, "etc/rules/link.xml"));
	assert_null(integ_find(x, "etc/rules/linkdir/deep/x.xml"));
	assert_null(integ_find(x, "etc/rules/passwd"));
	assert_null(integ_find(x, "etc/rules/fifo"));
	assert_null(integ_find(x, "etc/rules/b.tmp"));
	assert_null(integ_find(x, "etc/rules/skip.tmp/inside.xml"));
	assert_null(integ_find(x, "etc/rules/" SYNCSET_TMP_PREFIX "f.xml"));
	/* Folders for the watcher: the real ones, not links or excluded. */
	assert_true(ik_has_dir(x, "etc/rules"));
	assert_true(ik_has_dir(x, "etc/rules/sub"));
	assert_true(ik_has_dir(x, "etc/rules/sub/deep"));
	assert_true(ik_has_dir(x, "etc/decoders"));
	assert_true(ik_has_dir(x, "etc/decoders/sub"));
	assert_true(ik_has_dir(x, "etc/lists"));
	assert_true(ik_has_dir(x, "etc/shared"));
	assert_true(ik_has_dir(x, "etc/shared/default"));
	assert_false(ik_has_dir(x, "etc/rules/linkdir"));
	assert_false(ik_has_dir(x, "etc/rules/skip.tmp"));
	assert_false(ik_has_dir(x, "etc/rulesX"));
	assert_false(ik_has_dir(x, "etc"));
	for (i = 0; i < x->ndirs; i++)
		assert_non_null(x->dirs[i]);
	/* mtimes are the files' own. */
	for (i = 0; i < x->nfiles; i++) {
		char		p[PATH_MAX];
		struct stat	st;

		snprintf(p, sizeof(p), "%s/%s", home, x->files[i].path);
		assert_int_equal(lstat(p, &st), 0);
		assert_int_equal(x->files[i].mtime_ns,
		    (int64_t)st.st_mtim.tv_sec * 1000000000 +
		    st.st_mtim.tv_nsec);
	}
	integ_unref(x);
	ik_rmhome(home);
}

/* Missing folders, or a home with nothing: an empty index. */
static void
test_scan_empty(void **state)
{
	char			*home = ik_mkhome(), hex[33];
	struct integ_index	*x;

	(void)state;
	assert_non_null(x = integ_scan(home, NULL));
	assert_int_equal(x->nfiles, 0);
	assert_int_equal(x->hashed, 0);
	assert_null(integ_find(x, "etc/rules/a"));
	integ_hex(x->digest, hex);
	assert_string_equal(hex, MD5_EMPTY);	/* MD5 of no lines */
	integ_unref(x);
	/* Folders present but empty. */
	fx_mkparents(home, "etc/rules/x");
	fx_mkparents(home, "etc/shared/default/x");
	assert_non_null(x = integ_scan(home, NULL));
	assert_int_equal(x->nfiles, 0);
	assert_true(ik_has_dir(x, "etc/shared/default"));
	integ_unref(x);
	ik_rmhome(home);
}

/*
 * etc/client.keys is not shared (each node writes its own from its agent
 * table), nor is anything else in etc outside the set's folders.
 */
static void
test_scan_skips_client_keys(void **state)
{
	char			*home = ik_mkhome();
	struct integ_index	*x;

	(void)state;
	fx_puts_mode(home, "etc/client.keys", "001 a any k\n", 0640);
	fx_puts_mode(home, "etc/ossec.conf", "<ossec_config/>\n", 0640);
	fx_puts_mode(home, "etc/rules/a.xml", "<group/>\n", 0640);
	assert_non_null(x = integ_scan(home, NULL));
	assert_int_equal(x->nfiles, 1);
	assert_string_equal(x->files[0].path, "etc/rules/a.xml");
	integ_unref(x);
	ik_rmhome(home);
}

/* Many files across folders come out sorted, whatever readdir's order. */
static void
test_scan_sorted(void **state)
{
	char			*home = ik_mkhome(), rel[128];
	struct integ_index	*x;
	size_t			 i;

	(void)state;
	for (i = 0; i < 300; i++) {
		snprintf(rel, sizeof(rel), "etc/%s/d%zu/f%zu.xml",
		    i % 3 == 0 ? "rules" : i % 3 == 1 ? "lists" : "decoders",
		    i % 7, (i * 7919) % 1000);
		fx_puts_mode(home, rel, rel, 0644);
	}
	assert_non_null(x = integ_scan(home, NULL));
	assert_int_equal(x->nfiles, 300);
	for (i = 1; i < x->nfiles; i++)
		assert_true(strcmp(x->files[i - 1].path, x->files[i].path) < 0);
	for (i = 0; i < x->nfiles; i++) {
		char hex[33], want[33];

		ik_md5hex(x->files[i].path, strlen(x->files[i].path), want);
		integ_hex(x->files[i].md5, hex);
		assert_string_equal(hex, want);
		assert_ptr_equal(integ_find(x, x->files[i].path),
		    &x->files[i]);
	}
	integ_unref(x);
	ik_rmhome(home);
}

/*
 * Folder and file names where a walk's order and path order differ:
 * "a-b" < "a/x" < "a0" as paths although "a" < "a-b" < "a0" as names.
 * The index is in path order, and its digest is the definition's.
 */
static void
test_scan_order_names(void **state)
{
	static const char *const paths[] = {
		"etc/rules/A", "etc/rules/a", "etc/rules/a-b", "etc/rules/a.x",
		"etc/rules/a0", "etc/rules/a0x/y", "etc/rules/ab/c-d",
		"etc/rules/ab/c.d", "etc/rules/ab/c/d", "etc/rules/ab/c0",
		"etc/rules/b-/z", "etc/rules/b/y", "etc/rules/sp ace",
		"etc/rules/\xc3\xa9", "etc/shared/x.y", "etc/shared/x/y/z",
		"etc/shared/x0",
	};
	char			*home = ik_mkhome(), sub[PATH_MAX];
	struct integ_index	*x, *y;
	uint8_t			 d[16];
	size_t			 i;

	(void)state;
	/* "etc/rules/a" is a file here and "etc/rules/ab" a folder. */
	for (i = 0; i < NELEM(paths); i++)
		fx_puts_mode(home, paths[i], paths[i], 0644);
	assert_non_null(x = integ_scan(home, NULL));
	assert_int_equal(x->nfiles, NELEM(paths));
	for (i = 0; i < NELEM(paths); i++)
		assert_string_equal(x->files[i].path, paths[i]);
	ik_digest_by_hand(x, d);
	assert_memory_equal(x->digest, d, 16);
	/* Unchanged: nothing read, the same digest. */
	assert_non_null(y = integ_scan(home, x));
	assert_int_equal(y->hashed, 0);
	assert_int_equal(y->nfiles, NELEM(paths));
	for (i = 0; i < NELEM(paths); i++)
		assert_string_equal(y->files[i].path, paths[i]);
	assert_memory_equal(y->digest, d, 16);
	integ_unref(y);
	/* A file turned into a folder of the same name moves in the order. */
	snprintf(sub, sizeof(sub), "%s/etc/rules/a", home);
	assert_int_equal(unlink(sub), 0);
	fx_puts_mode(home, "etc/rules/a/z", "z", 0644);
	assert_non_null(y = integ_scan(home, x));
	assert_int_equal(y->hashed, 1);
	for (i = 1; i < y->nfiles; i++)
		assert_true(strcmp(y->files[i - 1].path, y->files[i].path) < 0);
	assert_non_null(integ_find(y, "etc/rules/a/z"));
	assert_null(integ_find(y, "etc/rules/a"));
	ik_digest_by_hand(y, d);
	assert_memory_equal(y->digest, d, 16);
	integ_unref(x);
	integ_unref(y);
	ik_rmhome(home);
}

/* ---- the cache ---- */

static void
test_cache(void **state)
{
	char			*home = ik_mkhome(), hex[33], want[33];
	struct integ_index	*a, *b, *c, *d, *e;
	const struct integ_file	*f;
	size_t			 i;

	(void)state;
	ik_build_tree(home);
	for (i = 0; i < IK_NTREE; i++)
		ik_set_mtime(home, ik_tree[i].path, 1700000000, 123456789);
	assert_non_null(a = integ_scan(home, NULL));
	assert_int_equal(a->hashed, IK_NTREE);
	/* Unchanged tree: nothing read, same answer. */
	assert_non_null(b = integ_scan(home, a));
	assert_int_equal(b->hashed, 0);
	ik_check_tree_index(b);
	assert_memory_equal(a->digest, b->digest, 16);
	/* One file changes content and size: only it is read. */
	fx_puts_mode(home, "etc/rules/local_rules.xml", "<group/>\n", 0660);
	ik_set_mtime(home, "etc/rules/local_rules.xml", 1700000000, 123456789);
	assert_non_null(c = integ_scan(home, b));
	assert_int_equal(c->hashed, 1);
	f = integ_find(c, "etc/rules/local_rules.xml");
	assert_non_null(f);
	integ_hex(f->md5, hex);
	ik_md5hex("<group/>\n", 9, want);
	assert_string_equal(hex, want);
	assert_int_equal(f->size, 9);
	assert_memory_not_equal(b->digest, c->digest, 16);
	/* Same size, new mtime (one nanosecond later): only it is read. */
	fx_puts_mode(home, "etc/rules/sub/deep/x.xml", "y", 0755);
	ik_set_mtime(home, "etc/rules/sub/deep/x.xml", 1700000000, 123456790);
	assert_non_null(d = integ_scan(home, c));
	assert_int_equal(d->hashed, 1);
	integ_hex(integ_find(d, "etc/rules/sub/deep/x.xml")->md5, hex);
	ik_md5hex("y", 1, want);
	assert_string_equal(hex, want);
	/* A new file is read, a removed one disappears. */
	fx_puts_mode(home, "etc/lists/new", "new", 0644);
	{
		char p[PATH_MAX];

		snprintf(p, sizeof(p), "%s/etc/lists/abc", home);
		assert_int_equal(unlink(p), 0);
	}
	assert_non_null(e = integ_scan(home, d));
	assert_int_equal(e->hashed, 1);
	assert_int_equal(e->nfiles, IK_NTREE);
	assert_null(integ_find(e, "etc/lists/abc"));
	assert_non_null(integ_find(e, "etc/lists/new"));
	/* The cache outlives nothing: each index stands alone. */
	integ_unref(a);
	integ_unref(b);
	integ_unref(c);
	integ_unref(d);
	integ_hex(integ_find(e, "etc/decoders/a")->md5, hex);
	ik_md5hex(ik_tree[0].data, strlen(ik_tree[0].data), want);
	assert_string_equal(hex, want);
	integ_unref(e);
	ik_rmhome(home);
}

/* A mode change is seen at the next scan, and changes the digest. */
static void
test_cache_mode(void **state)
{
	char			*home = ik_mkhome(), p[PATH_MAX];
	struct integ_index	*a, *b;

	(void)state;
	ik_build_tree(home);
	assert_non_null(a = integ_scan(home, NULL));
	snprintf(p, sizeof(p), "%s/etc/rules/empty.xml", home);
	assert_int_equal(chmod(p, 0600), 0);
	assert_non_null(b = integ_scan(home, a));
	/* chmod moves ctime, part of the cache key: that one file is read
	 * again, and its MD5 is the same. */
	assert_int_equal(b->hashed, 1);
	assert_memory_equal(integ_find(b, "etc/rules/empty.xml")->md5,
	    integ_find(a, "etc/rules/empty.xml")->md5, 16);
	assert_int_equal(integ_find(b, "etc/rules/empty.xml")->mode, 0600);
	assert_memory_not_equal(a->digest, b->digest, 16);
	integ_unref(a);
	integ_unref(b);
	ik_rmhome(home);
}

/*
 * The unchanged pass reuses the previous digest; any difference from the
 * previous index (a file gone at the end, one added, a mode) must give
 * the digest of the definition, not the previous one.
 */
static void
test_cache_digest(void **state)
{
	char			*home = ik_mkhome(), p[PATH_MAX];
	struct integ_index	*a, *b;
	uint8_t			 d[16];

	(void)state;
	fx_puts_mode(home, "etc/rules/a.xml", "a", 0644);
	fx_puts_mode(home, "etc/rules/b.xml", "b", 0644);
	fx_puts_mode(home, "etc/shared/z", "z", 0644);
	assert_non_null(a = integ_scan(home, NULL));
	/* The last file goes: every remaining one is where it was. */
	snprintf(p, sizeof(p), "%s/etc/shared/z", home);
	assert_int_equal(unlink(p), 0);
	assert_non_null(b = integ_scan(home, a));
	assert_int_equal(b->nfiles, 2);
	assert_int_equal(b->hashed, 0);
	ik_digest_by_hand(b, d);
	assert_memory_equal(b->digest, d, 16);
	assert_memory_not_equal(b->digest, a->digest, 16);
	integ_unref(a);
	/* One added at the end. */
	fx_puts_mode(home, "etc/shared/z", "z", 0644);
	assert_non_null(a = integ_scan(home, b));
	assert_int_equal(a->nfiles, 3);
	ik_digest_by_hand(a, d);
	assert_memory_equal(a->digest, d, 16);
	integ_unref(b);
	/* Unchanged. */
	assert_non_null(b = integ_scan(home, a));
	assert_int_equal(b->hashed, 0);
	assert_memory_equal(b->digest, a->digest, 16);
	integ_unref(a);
	integ_unref(b);
	ik_rmhome(home);
}

/*
 * A cached file replaced by a symlink (to a file outside, with the same
 * size) is dropped, not described by the cache: the pass that does not
 * open files must follow no more than the one that does.
 */
static void
test_cache_symlink_swap(void **state)
{
	char			*home = ik_mkhome(), p[PATH_MAX], q[PATH_MAX];
	struct integ_index	*a, *b;

	(void)state;
	fx_puts_mode(home, "etc/rules/r.xml", "secret", 0644);
	fx_puts_mode(home, "outside", "SECRET", 0644);
	assert_non_null(a = integ_scan(home, NULL));
	assert_int_equal(a->nfiles, 1);
	snprintf(p, sizeof(p), "%s/etc/rules/r.xml", home);
	snprintf(q, sizeof(q), "%s/outside", home);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink(q, p), 0);
	assert_non_null(b = integ_scan(home, a));
	assert_int_equal(b->nfiles, 0);
	assert_int_equal(b->hashed, 0);
	assert_int_equal(b->skipped, 1);
	integ_unref(b);
	/* A hard link is a regular file of the tree: read like one. */
	assert_int_equal(unlink(p), 0);
	assert_int_equal(link(q, p), 0);
	assert_non_null(b = integ_scan(home, a));
	assert_int_equal(b->nfiles, 1);
	assert_int_equal(b->hashed, 1);
	integ_unref(a);
	integ_unref(b);
	ik_rmhome(home);
}

/*
 * An unchanged pass shares the previous index's arrays instead of copying
 * them; what it shares outlives the index it came from, and sharing never
 * chains (an index shares its owner's arrays, not a sharer's).
 */
static void
test_scan_share(void **state)
{
	char			*home = ik_mkhome();
	struct integ_index	*a, *b, *c;

	(void)state;
	ik_build_tree(home);
	assert_non_null(a = integ_scan(home, NULL));
	assert_null(a->base);
	assert_non_null(b = integ_scan(home, a));
	assert_int_equal(b->hashed, 0);
	assert_ptr_equal(b->base, a);
	assert_ptr_equal(b->files, a->files);
	assert_ptr_equal(b->dirs, a->dirs);
	assert_int_equal(b->ndirs, a->ndirs);
	assert_memory_equal(b->digest, a->digest, 16);
	assert_non_null(c = integ_scan(home, b));
	assert_ptr_equal(c->base, a);
	assert_int_equal(c->skipped, a->skipped);
	integ_unref(a);
	integ_unref(b);
	/* a's arrays live on in c. */
	ik_check_tree_index(c);
	assert_true(ik_has_dir(c, "etc/rules/sub/deep"));
	/* A change: the next index owns its arrays again. */
	fx_puts_mode(home, "etc/lists/abc", "abcd", 0644);
	assert_non_null(a = integ_scan(home, c));
	assert_null(a->base);
	assert_int_equal(a->hashed, 1);
	assert_ptr_not_equal(a->files, c->files);
	integ_unref(c);
	assert_int_equal(a->nfiles, IK_NTREE);
	assert_int_equal(integ_find(a, "etc/lists/abc")->size, 4);
	assert_true(ik_has_dir(a, "etc/rules/sub/deep"));
	integ_unref(a);
	ik_rmhome(home);
}

/* n files in etc/rules/dN folders, each holding its own path. */
static void
many_files(const char *home, size_t n, size_t folders)
{
	char	rel[128];
	size_t	i;

	for (i = 0; i < n; i++) {
		snprintf(rel, sizeof(rel), "etc/rules/d%zu/f%zu.xml",
		    i % folders, i);
		fx_puts_mode(home, rel, rel, 0644);
	}
}

/* Every entry sorted, its MD5 that of its path (many_files), the digest
 * the definition's. */
static void
check_many(const struct integ_index *x, size_t nfiles)
{
	char	hex[33], want[33];
	uint8_t	d[16];
	size_t	i;

	assert_int_equal(x->nfiles, nfiles);
	for (i = 0; i < x->nfiles; i++) {
		if (i > 0)
			assert_true(strcmp(x->files[i - 1].path,
			    x->files[i].path) < 0);
		ik_md5hex(x->files[i].path, strlen(x->files[i].path), want);
		integ_hex(x->files[i].md5, hex);
		assert_string_equal(hex, want);
		assert_ptr_equal(integ_find(x, x->files[i].path),
		    &x->files[i]);
	}
	ik_digest_by_hand(x, d);
	assert_memory_equal(x->digest, d, 16);
}

/*
 * The walk departs from the previous one in every way a tree changes:
 * files added, removed, renamed, rewritten, a folder added and one
 * removed.  Only what changed is read; the index is sorted and its
 * digest the definition's; and the walk order it keeps is right, so the
 * next unchanged pass matches every file and shares the arrays.
 */
static void
test_scan_walk_departs(void **state)
{
	char			*home = ik_mkhome(), p[PATH_MAX], q[PATH_MAX];
	struct integ_index	*a, *b;
	size_t			 i;

	(void)state;
	many_files(home, 400, 8);
	assert_non_null(a = integ_scan(home, NULL));
	check_many(a, 400);
	assert_non_null(b = integ_scan(home, a));
	assert_int_equal(b->hashed, 0);
	integ_unref(a);
	/* Added in a folder met early and one met late, one removed, one
	 * renamed (its content is still its old path), one rewritten. */
	fx_puts_mode(home, "etc/rules/d0/new.xml", "etc/rules/d0/new.xml",
	    0644);
	fx_puts_mode(home, "etc/rules/d7/zz.xml", "etc/rules/d7/zz.xml",
	    0644);
	snprintf(p, sizeof(p), "%s/etc/rules/d3/f3.xml", home);
	assert_int_equal(unlink(p), 0);
	snprintf(p, sizeof(p), "%s/etc/rules/d5/f5.xml", home);
	snprintf(q, sizeof(q), "%s/etc/rules/d5/f5b.xml", home);
	assert_int_equal(rename(p, q), 0);
	fx_puts_mode(home, "etc/rules/d5/f5b.xml", "etc/rules/d5/f5b.xml",
	    0644);
	fx_puts_mode(home, "etc/rules/d6/f6.xml", "etc/rules/d6/f6.xml",
	    0600);
	/* A new folder, and a whole folder gone. */
	fx_puts_mode(home, "etc/rules/d1/sub/s.xml", "etc/rules/d1/sub/s.xml",
	    0644);
	for (i = 2; i < 400; i += 8) {
		snprintf(p, sizeof(p), "%s/etc/rules/d2/f%zu.xml", home, i);
		assert_int_equal(unlink(p), 0);
	}
	snprintf(p, sizeof(p), "%s/etc/rules/d2", home);
	assert_int_equal(rmdir(p), 0);
	assert_non_null(a = integ_scan(home, b));
	/* new.xml, zz.xml, f5b.xml, f6.xml (mode: ctime), s.xml */
	assert_int_equal(a->hashed, 5);
	check_many(a, 400 + 2 + 1 - 1 - 50);
	assert_null(integ_find(a, "etc/rules/d5/f5.xml"));
	assert_int_equal(integ_find(a, "etc/rules/d6/f6.xml")->mode, 0600);
	assert_true(ik_has_dir(a, "etc/rules/d1/sub"));
	assert_false(ik_has_dir(a, "etc/rules/d2"));
	assert_memory_not_equal(a->digest, b->digest, 16);
	integ_unref(b);
	/* Unchanged again: every file where the kept walk order says. */
	assert_non_null(b = integ_scan(home, a));
	assert_int_equal(b->hashed, 0);
	assert_ptr_equal(b->base, a);
	check_many(b, 352);
	integ_unref(a);
	integ_unref(b);
	ik_rmhome(home);
}

/*
 * A folder of an unchanged tree swapped for a symlink to the very same
 * files moved outside: the walk that matches the previous one by path
 * follows no symlink either; the files leave the index.
 */
static void
test_scan_folder_symlink_swap(void **state)
{
	char			*home = ik_mkhome(), p[PATH_MAX], q[PATH_MAX];
	struct integ_index	*a, *b;

	(void)state;
	many_files(home, 30, 3);
	assert_non_null(a = integ_scan(home, NULL));
	snprintf(p, sizeof(p), "%s/etc/rules/d1", home);
	snprintf(q, sizeof(q), "%s/d1", home);
	assert_int_equal(rename(p, q), 0);
	assert_int_equal(symlink(q, p), 0);
	assert_non_null(b = integ_scan(home, a));
	assert_null(b->base);
	assert_int_equal(b->hashed, 0);
	assert_int_equal(b->skipped, 1);
	check_many(b, 20);
	assert_null(integ_find(b, "etc/rules/d1/f1.xml"));
	assert_false(ik_has_dir(b, "etc/rules/d1"));
	integ_unref(a);
	integ_unref(b);
	ik_rmhome(home);
}

/*
 * An index that no scan built (a worker's, from JSON) has no walk order
 * and no cache key: as the cache it makes every file read, and the result
 * is right; the scan after that one matches every file.
 */
static void
test_scan_cache_from_json(void **state)
{
	char			*home = ik_mkhome(), err[128];
	struct integ_index	*a, *j, *b, *c;
	cJSON			*js;

	(void)state;
	many_files(home, 60, 3);
	assert_non_null(a = integ_scan(home, NULL));
	assert_non_null(js = integ_to_json(a));
	assert_non_null(j = integ_from_json(js, err, sizeof(err)));
	cJSON_Delete(js);
	assert_null(j->order);
	assert_non_null(b = integ_scan(home, j));
	assert_int_equal(b->hashed, 60);
	assert_null(b->base);
	check_many(b, 60);
	assert_memory_equal(b->digest, a->digest, 16);
	assert_non_null(c = integ_scan(home, b));
	assert_int_equal(c->hashed, 0);
	assert_ptr_equal(c->base, b);
	integ_unref(a);
	integ_unref(j);
	integ_unref(b);
	integ_unref(c);
	ik_rmhome(home);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_md5_vectors,
		    ik_rm_homes),
		cmocka_unit_test_teardown(test_md5_file,
		    ik_rm_homes),
		cmocka_unit_test_teardown(test_hex,
		    ik_rm_homes),
		cmocka_unit_test_teardown(test_scan_tree,
		    ik_rm_homes),
		cmocka_unit_test_teardown(test_scan_empty,
		    ik_rm_homes),
		cmocka_unit_test_teardown(test_scan_skips_client_keys,
		    ik_rm_homes),
		cmocka_unit_test_teardown(test_scan_sorted,
		    ik_rm_homes),
		cmocka_unit_test_teardown(test_scan_order_names,
		    ik_rm_homes),
		cmocka_unit_test_teardown(test_cache_digest,
		    ik_rm_homes),
		cmocka_unit_test_teardown(test_cache_symlink_swap,
		    ik_rm_homes),
		cmocka_unit_test_teardown(test_cache,
		    ik_rm_homes),
		cmocka_unit_test_teardown(test_scan_share, ik_rm_homes),
		cmocka_unit_test_teardown(test_scan_walk_departs, ik_rm_homes),
		cmocka_unit_test_teardown(test_scan_cache_from_json,
		    ik_rm_homes),
		cmocka_unit_test_teardown(test_scan_folder_symlink_swap,
		    ik_rm_homes),
		cmocka_unit_test_teardown(test_cache_mode,
		    ik_rm_homes),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
