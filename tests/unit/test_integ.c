/*
 * test_integ: integrity indexes.  Scans of real trees built in temp homes
 * (what is listed, what is skipped, MD5s computed here independently), the
 * size+mtime cache, the tree digest, the JSON form a worker sends and the
 * master's checks on it, and the create/update/remove classification.
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

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define MD5_EMPTY	"d41d8cd98f00b204e9800998ecf8427e"
#define MD5_ABC		"900150983cd24fb0d6963f7d28e17f72"

/* ---- helpers: temp homes, files, MD5 computed without integ.c ---- */

/* Homes of the running test, removed by its teardown if it fails. */
static char	*homes[4];

static char *
mkhome(void)
{
	char	tmpl[] = "/tmp/test_integ.XXXXXX", *p;
	size_t	i;

	assert_non_null(mkdtemp(tmpl));
	assert_non_null(p = strdup(tmpl));
	for (i = 0; i < NELEM(homes) && homes[i] != NULL; i++)
		;
	assert_true(i < NELEM(homes));
	homes[i] = p;
	return p;
}

static void
rmhome(char *home)
{
	size_t	i;

	if (home == NULL)
		return;
	for (i = 0; i < NELEM(homes); i++)
		if (homes[i] == home)
			homes[i] = NULL;
	assert_int_equal(fx_rmtree(home), 0);
	free(home);
}

static int
rm_homes(void **state)
{
	size_t	i;

	(void)state;
	for (i = 0; i < NELEM(homes); i++) {
		if (homes[i] == NULL)
			continue;
		fx_rmtree(homes[i]);
		free(homes[i]);
		homes[i] = NULL;
	}
	return 0;
}

static void
md5hex(const void *data, size_t len, char out[33])
{
	uint8_t		md[EVP_MAX_MD_SIZE];
	unsigned	n, i;

	assert_int_equal(EVP_Digest(data, len, md, &n, EVP_md5(), NULL), 1);
	assert_int_equal(n, 16);
	for (i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void
file_md5hex(const struct integ_file *f, char out[33])
{
	integ_hex(f->md5, out);
}

/* Set a file's mtime (seconds) so cache tests do not depend on timing. */
static void
set_mtime(const char *home, const char *rel, time_t sec, long nsec)
{
	char		p[PATH_MAX];
	struct timespec	ts[2];

	snprintf(p, sizeof(p), "%s/%s", home, rel);
	ts[0].tv_sec = ts[1].tv_sec = sec;
	ts[0].tv_nsec = ts[1].tv_nsec = nsec;
	assert_int_equal(utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static int
has_dir(const struct integ_index *x, const char *rel)
{
	size_t	i;

	for (i = 0; i < x->ndirs; i++)
		if (strcmp(x->dirs[i], rel) == 0)
			return 1;
	return 0;
}

/* The reference tree: what it holds and what a scan must list. */
struct want {
	const char	*path;
	const char	*data;
	mode_t		 mode;		/* on disk */
	mode_t		 listed;	/* masked by the set */
};

static const char big_rule[] =
    "<group name=\"local,\">\n  <rule id=\"100001\" level=\"5\">\n"
    "    <if_sid>5716</if_sid>\n    <srcip>1.1.1.1</srcip>\n"
    "    <description>sshd: authentication failed.</description>\n"
    "  </rule>\n</group>\n";

/* In path (strcmp) order, as the index must be. */
static const struct want tree[] = {
	{ "etc/decoders/a", "001 agent any 0123456789abcdef\n", 0640, 0640 },
	{ "etc/decoders/local_decoder.xml", "<decoder name=\"x\"/>\n", 0600,
	    0600 },
	{ "etc/lists/abc", "abc", 04644, 0644 },
	{ "etc/rules/empty.xml", "", 0644, 0644 },
	{ "etc/rules/local_rules.xml", big_rule, 0660, 0660 },
	{ "etc/rules/sub/deep/x.xml", "x", 0755, 0644 },
	{ "etc/shared/default/agent.conf", "<agent_config/>\n", 0664, 0664 },
};

static void
build_tree(const char *home)
{
	char	p[PATH_MAX], q[PATH_MAX];
	size_t	i;

	for (i = 0; i < NELEM(tree); i++)
		fx_puts_mode(home, tree[i].path, tree[i].data, tree[i].mode);
	/* Symlinks (to a file, a folder, outside), a fifo: skipped. */
	snprintf(p, sizeof(p), "%s/etc/rules/link.xml", home);
	assert_int_equal(symlink("local_rules.xml", p), 0);
	snprintf(p, sizeof(p), "%s/etc/rules/linkdir", home);
	assert_int_equal(symlink("sub", p), 0);
	snprintf(p, sizeof(p), "%s/etc/rules/passwd", home);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	snprintf(p, sizeof(p), "%s/etc/rules/fifo", home);
	assert_int_equal(mkfifo(p, 0644), 0);
	/* Excluded names, as files and as a folder. */
	fx_puts_mode(home, "etc/rules/a.xml~", "e", 0644);
	fx_puts_mode(home, "etc/rules/b.tmp", "e", 0644);
	fx_puts_mode(home, "etc/rules/.c.xml.swp", "e", 0644);
	fx_puts_mode(home, "etc/rules/d.swx", "e", 0644);
	fx_puts_mode(home, "etc/rules/e.lock", "e", 0644);
	fx_puts_mode(home, "etc/rules/" SYNCSET_TMP_PREFIX "f.xml", "e", 0600);
	fx_puts_mode(home, "etc/rules/skip.tmp/inside.xml", "e", 0644);
	fx_puts_mode(home, "etc/decoders/sub/g.xml~", "e", 0644);
	/* A name with a control character is no path of the set. */
	fx_puts_mode(home, "etc/rules/bad\nname.xml", "e", 0644);
	/* Outside the set. */
	fx_puts_mode(home, "etc/ossec.conf", "<ossec_config/>", 0644);
	fx_puts_mode(home, "etc/rulesX/a.xml", "e", 0644);
	fx_puts_mode(home, "etc/client.keys.bak", "e", 0644);
	fx_puts_mode(home, "etc/internal_options.conf", "e", 0644);
	fx_puts_mode(home, "logs/cluster.log", "e", 0644);
	/* Sanity: the symlinked folder really leads to a file. */
	snprintf(q, sizeof(q), "%s/etc/rules/linkdir/deep/x.xml", home);
	assert_int_equal(access(q, R_OK), 0);
}

static void
check_tree_index(const struct integ_index *x)
{
	char	hex[33], want[33];
	size_t	i;

	assert_int_equal(x->nfiles, NELEM(tree));
	for (i = 0; i < x->nfiles; i++) {
		const struct integ_file *f = &x->files[i];

		assert_string_equal(f->path, tree[i].path);
		md5hex(tree[i].data, strlen(tree[i].data), want);
		file_md5hex(f, hex);
		assert_string_equal(hex, want);
		assert_int_equal(f->mode, tree[i].listed);
		assert_int_equal(f->size, strlen(tree[i].data));
		assert_ptr_equal(integ_find(x, tree[i].path), f);
	}
}

/* ---- scan ---- */

static void
test_md5_vectors(void **state)
{
	char	hex[33];

	(void)state;
	/* The helper is right before it is used as the oracle. */
	md5hex("", 0, hex);
	assert_string_equal(hex, MD5_EMPTY);
	md5hex("abc", 3, hex);
	assert_string_equal(hex, MD5_ABC);
	md5hex("message digest", 14, hex);
	assert_string_equal(hex, "f96b697d7cb7938d525a2f31aaf161d0");
}

static void
test_md5_file(void **state)
{
	char		*home = mkhome(), p[PATH_MAX], hex[33], want[33];
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
	md5hex(big, n, want);
	assert_string_equal(hex, want);
	assert_int_equal(size, n);
	free(big);
	/* A descriptor that cannot be read fails. */
	snprintf(p, sizeof(p), "%s/e", home);
	assert_true((fd = open(p, O_WRONLY)) != -1);
	assert_int_equal(integ_md5_file(fd, md5, &size), -1);
	close(fd);
	rmhome(home);
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
	char			*home = mkhome();
	struct integ_index	*x;
	size_t			 i;

	(void)state;
	build_tree(home);
	assert_non_null(x = integ_scan(home, NULL));
	assert_int_equal(x->refs, 1);
	check_tree_index(x);
	/* Every listed file was read: there was no cache. */
	assert_int_equal(x->hashed, NELEM(tree));
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
	assert_true(has_dir(x, "etc/rules"));
	assert_true(has_dir(x, "etc/rules/sub"));
	assert_true(has_dir(x, "etc/rules/sub/deep"));
	assert_true(has_dir(x, "etc/decoders"));
	assert_true(has_dir(x, "etc/decoders/sub"));
	assert_true(has_dir(x, "etc/lists"));
	assert_true(has_dir(x, "etc/shared"));
	assert_true(has_dir(x, "etc/shared/default"));
	assert_false(has_dir(x, "etc/rules/linkdir"));
	assert_false(has_dir(x, "etc/rules/skip.tmp"));
	assert_false(has_dir(x, "etc/rulesX"));
	assert_false(has_dir(x, "etc"));
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
	rmhome(home);
}

/* Missing folders, or a home with nothing: an empty index. */
static void
test_scan_empty(void **state)
{
	char			*home = mkhome(), hex[33];
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
	assert_true(has_dir(x, "etc/shared/default"));
	integ_unref(x);
	rmhome(home);
}

/*
 * etc/client.keys is not shared (each node writes its own from its agent
 * table), nor is anything else in etc outside the set's folders.
 */
static void
test_scan_skips_client_keys(void **state)
{
	char			*home = mkhome();
	struct integ_index	*x;

	(void)state;
	fx_puts_mode(home, "etc/client.keys", "001 a any k\n", 0640);
	fx_puts_mode(home, "etc/ossec.conf", "<ossec_config/>\n", 0640);
	fx_puts_mode(home, "etc/rules/a.xml", "<group/>\n", 0640);
	assert_non_null(x = integ_scan(home, NULL));
	assert_int_equal(x->nfiles, 1);
	assert_string_equal(x->files[0].path, "etc/rules/a.xml");
	integ_unref(x);
	rmhome(home);
}

/* Many files across folders come out sorted, whatever readdir's order. */
static void
test_scan_sorted(void **state)
{
	char			*home = mkhome(), rel[128];
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

		md5hex(x->files[i].path, strlen(x->files[i].path), want);
		integ_hex(x->files[i].md5, hex);
		assert_string_equal(hex, want);
		assert_ptr_equal(integ_find(x, x->files[i].path),
		    &x->files[i]);
	}
	integ_unref(x);
	rmhome(home);
}

/* The digest recomputed from its definition in integ.c. */
static void
digest_by_hand(const struct integ_index *x, uint8_t out[16])
{
	EVP_MD_CTX	*ctx;
	char		 hex[33], line[64];
	unsigned	 len;
	size_t		 i;

	assert_non_null(ctx = EVP_MD_CTX_new());
	assert_int_equal(EVP_DigestInit_ex(ctx, EVP_md5(), NULL), 1);
	for (i = 0; i < x->nfiles; i++) {
		integ_hex(x->files[i].md5, hex);
		snprintf(line, sizeof(line), "%s %o\n", hex,
		    (unsigned)x->files[i].mode);
		EVP_DigestUpdate(ctx, x->files[i].path,
		    strlen(x->files[i].path) + 1);
		EVP_DigestUpdate(ctx, line, strlen(line));
	}
	EVP_DigestFinal_ex(ctx, out, &len);
	EVP_MD_CTX_free(ctx);
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
	char			*home = mkhome(), sub[PATH_MAX];
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
	digest_by_hand(x, d);
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
	digest_by_hand(y, d);
	assert_memory_equal(y->digest, d, 16);
	integ_unref(x);
	integ_unref(y);
	rmhome(home);
}

/* ---- the cache ---- */

static void
test_cache(void **state)
{
	char			*home = mkhome(), hex[33], want[33];
	struct integ_index	*a, *b, *c, *d, *e;
	const struct integ_file	*f;
	size_t			 i;

	(void)state;
	build_tree(home);
	for (i = 0; i < NELEM(tree); i++)
		set_mtime(home, tree[i].path, 1700000000, 123456789);
	assert_non_null(a = integ_scan(home, NULL));
	assert_int_equal(a->hashed, NELEM(tree));
	/* Unchanged tree: nothing read, same answer. */
	assert_non_null(b = integ_scan(home, a));
	assert_int_equal(b->hashed, 0);
	check_tree_index(b);
	assert_memory_equal(a->digest, b->digest, 16);
	/* One file changes content and size: only it is read. */
	fx_puts_mode(home, "etc/rules/local_rules.xml", "<group/>\n", 0660);
	set_mtime(home, "etc/rules/local_rules.xml", 1700000000, 123456789);
	assert_non_null(c = integ_scan(home, b));
	assert_int_equal(c->hashed, 1);
	f = integ_find(c, "etc/rules/local_rules.xml");
	assert_non_null(f);
	integ_hex(f->md5, hex);
	md5hex("<group/>\n", 9, want);
	assert_string_equal(hex, want);
	assert_int_equal(f->size, 9);
	assert_memory_not_equal(b->digest, c->digest, 16);
	/* Same size, new mtime (one nanosecond later): only it is read. */
	fx_puts_mode(home, "etc/rules/sub/deep/x.xml", "y", 0755);
	set_mtime(home, "etc/rules/sub/deep/x.xml", 1700000000, 123456790);
	assert_non_null(d = integ_scan(home, c));
	assert_int_equal(d->hashed, 1);
	integ_hex(integ_find(d, "etc/rules/sub/deep/x.xml")->md5, hex);
	md5hex("y", 1, want);
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
	assert_int_equal(e->nfiles, NELEM(tree));
	assert_null(integ_find(e, "etc/lists/abc"));
	assert_non_null(integ_find(e, "etc/lists/new"));
	/* The cache outlives nothing: each index stands alone. */
	integ_unref(a);
	integ_unref(b);
	integ_unref(c);
	integ_unref(d);
	integ_hex(integ_find(e, "etc/decoders/a")->md5, hex);
	md5hex(tree[0].data, strlen(tree[0].data), want);
	assert_string_equal(hex, want);
	integ_unref(e);
	rmhome(home);
}

/* A mode change is seen at the next scan, and changes the digest. */
static void
test_cache_mode(void **state)
{
	char			*home = mkhome(), p[PATH_MAX];
	struct integ_index	*a, *b;

	(void)state;
	build_tree(home);
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
	rmhome(home);
}

/*
 * The unchanged pass reuses the previous digest; any difference from the
 * previous index (a file gone at the end, one added, a mode) must give
 * the digest of the definition, not the previous one.
 */
static void
test_cache_digest(void **state)
{
	char			*home = mkhome(), p[PATH_MAX];
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
	digest_by_hand(b, d);
	assert_memory_equal(b->digest, d, 16);
	assert_memory_not_equal(b->digest, a->digest, 16);
	integ_unref(a);
	/* One added at the end. */
	fx_puts_mode(home, "etc/shared/z", "z", 0644);
	assert_non_null(a = integ_scan(home, b));
	assert_int_equal(a->nfiles, 3);
	digest_by_hand(a, d);
	assert_memory_equal(a->digest, d, 16);
	integ_unref(b);
	/* Unchanged. */
	assert_non_null(b = integ_scan(home, a));
	assert_int_equal(b->hashed, 0);
	assert_memory_equal(b->digest, a->digest, 16);
	integ_unref(a);
	integ_unref(b);
	rmhome(home);
}

/*
 * A cached file replaced by a symlink (to a file outside, with the same
 * size) is dropped, not described by the cache: the pass that does not
 * open files must follow no more than the one that does.
 */
static void
test_cache_symlink_swap(void **state)
{
	char			*home = mkhome(), p[PATH_MAX], q[PATH_MAX];
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
	rmhome(home);
}

/*
 * An unchanged pass shares the previous index's arrays instead of copying
 * them; what it shares outlives the index it came from, and sharing never
 * chains (an index shares its owner's arrays, not a sharer's).
 */
static void
test_scan_share(void **state)
{
	char			*home = mkhome();
	struct integ_index	*a, *b, *c;

	(void)state;
	build_tree(home);
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
	check_tree_index(c);
	assert_true(has_dir(c, "etc/rules/sub/deep"));
	/* A change: the next index owns its arrays again. */
	fx_puts_mode(home, "etc/lists/abc", "abcd", 0644);
	assert_non_null(a = integ_scan(home, c));
	assert_null(a->base);
	assert_int_equal(a->hashed, 1);
	assert_ptr_not_equal(a->files, c->files);
	integ_unref(c);
	assert_int_equal(a->nfiles, NELEM(tree));
	assert_int_equal(integ_find(a, "etc/lists/abc")->size, 4);
	assert_true(has_dir(a, "etc/rules/sub/deep"));
	integ_unref(a);
	rmhome(home);
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
		md5hex(x->files[i].path, strlen(x->files[i].path), want);
		integ_hex(x->files[i].md5, hex);
		assert_string_equal(hex, want);
		assert_ptr_equal(integ_find(x, x->files[i].path),
		    &x->files[i]);
	}
	digest_by_hand(x, d);
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
	char			*home = mkhome(), p[PATH_MAX], q[PATH_MAX];
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
	assert_true(has_dir(a, "etc/rules/d1/sub"));
	assert_false(has_dir(a, "etc/rules/d2"));
	assert_memory_not_equal(a->digest, b->digest, 16);
	integ_unref(b);
	/* Unchanged again: every file where the kept walk order says. */
	assert_non_null(b = integ_scan(home, a));
	assert_int_equal(b->hashed, 0);
	assert_ptr_equal(b->base, a);
	check_many(b, 352);
	integ_unref(a);
	integ_unref(b);
	rmhome(home);
}

/*
 * A folder of an unchanged tree swapped for a symlink to the very same
 * files moved outside: the walk that matches the previous one by path
 * follows no symlink either; the files leave the index.
 */
static void
test_scan_folder_symlink_swap(void **state)
{
	char			*home = mkhome(), p[PATH_MAX], q[PATH_MAX];
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
	assert_false(has_dir(b, "etc/rules/d1"));
	integ_unref(a);
	integ_unref(b);
	rmhome(home);
}

/*
 * An index that no scan built (a worker's, from JSON) has no walk order
 * and no cache key: as the cache it makes every file read, and the result
 * is right; the scan after that one matches every file.
 */
static void
test_scan_cache_from_json(void **state)
{
	char			*home = mkhome(), err[128];
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
	rmhome(home);
}

/* ---- digest ---- */

static void
test_digest(void **state)
{
	char			*h1 = mkhome(), *h2 = mkhome(), p[PATH_MAX];
	struct integ_index	*a, *b;
	uint8_t			 d[16], first[16];

	(void)state;
	build_tree(h1);
	build_tree(h2);
	/* Different mtimes do not matter. */
	set_mtime(h2, "etc/rules/local_rules.xml", 1000000000, 0);
	assert_non_null(a = integ_scan(h1, NULL));
	assert_non_null(b = integ_scan(h2, NULL));
	assert_memory_equal(a->digest, b->digest, 16);
	digest_by_hand(a, d);
	assert_memory_equal(a->digest, d, 16);
	memcpy(first, a->digest, 16);
	integ_unref(b);
	/* Content. */
	fx_puts_mode(h2, "etc/lists/abc", "abd", 04644);
	assert_non_null(b = integ_scan(h2, NULL));
	assert_memory_not_equal(a->digest, b->digest, 16);
	integ_unref(b);
	fx_puts_mode(h2, "etc/lists/abc", "abc", 04644);
	assert_non_null(b = integ_scan(h2, NULL));
	assert_memory_equal(a->digest, b->digest, 16);
	integ_unref(b);
	/* Mode, when the set keeps the bit... */
	snprintf(p, sizeof(p), "%s/etc/shared/default/agent.conf", h2);
	assert_int_equal(chmod(p, 0644), 0);
	assert_non_null(b = integ_scan(h2, NULL));
	assert_memory_not_equal(a->digest, b->digest, 16);
	integ_unref(b);
	/* ...and not when the mask drops it (exec bits never count). */
	assert_int_equal(chmod(p, 0775), 0);
	assert_non_null(b = integ_scan(h2, NULL));
	assert_memory_equal(a->digest, b->digest, 16);
	integ_unref(b);
	/* A file more, a file renamed. */
	fx_puts_mode(h2, "etc/rules/extra.xml", "", 0644);
	assert_non_null(b = integ_scan(h2, NULL));
	assert_memory_not_equal(a->digest, b->digest, 16);
	integ_unref(b);
	snprintf(p, sizeof(p), "%s/etc/rules/extra.xml", h2);
	assert_int_equal(unlink(p), 0);
	{
		char q[PATH_MAX];

		snprintf(p, sizeof(p), "%s/etc/rules/empty.xml", h2);
		snprintf(q, sizeof(q), "%s/etc/rules/empty2.xml", h2);
		assert_int_equal(rename(p, q), 0);
	}
	assert_non_null(b = integ_scan(h2, NULL));
	assert_memory_not_equal(a->digest, b->digest, 16);
	integ_unref(b);
	/* integ_digest is deterministic on a given index. */
	integ_digest(a);
	assert_memory_equal(a->digest, first, 16);
	integ_unref(a);
	rmhome(h1);
	rmhome(h2);
}

static void
test_refs(void **state)
{
	char			*home = mkhome();
	struct integ_index	*x;

	(void)state;
	build_tree(home);
	assert_non_null(x = integ_scan(home, NULL));
	assert_ptr_equal(integ_ref(x), x);
	assert_int_equal(x->refs, 2);
	integ_unref(x);
	assert_int_equal(x->refs, 1);
	check_tree_index(x);
	integ_unref(x);			/* freed: ASan would see a leak else */
	integ_unref(NULL);
	rmhome(home);
}

/* ---- JSON ---- */

static struct integ_index *
from_str(const char *s, char *err, size_t errlen)
{
	struct integ_index	*x;
	cJSON			*j;

	j = cJSON_Parse(s);
	if (j == NULL)
		fail_msg("test JSON does not parse: %s", s);
	err[0] = '\0';
	x = integ_from_json(j, err, errlen);
	cJSON_Delete(j);
	return x;
}

static void
test_json_roundtrip(void **state)
{
	char			*home = mkhome(), *s, err[256], hex[33];
	struct integ_index	*a, *b;
	cJSON			*j, *back;
	const cJSON		*d, *files;
	size_t			 i;

	(void)state;
	build_tree(home);
	assert_non_null(a = integ_scan(home, NULL));
	assert_non_null(j = integ_to_json(a));
	d = cJSON_GetObjectItemCaseSensitive(j, "digest");
	assert_true(cJSON_IsString(d));
	integ_hex(a->digest, hex);
	assert_string_equal(d->valuestring, hex);
	files = cJSON_GetObjectItemCaseSensitive(j, "files");
	assert_true(cJSON_IsArray(files));
	assert_int_equal(cJSON_GetArraySize(files), NELEM(tree));
	/* Through text, as over the link. */
	assert_non_null(s = cJSON_PrintUnformatted(j));
	assert_non_null(back = cJSON_Parse(s));
	cJSON_free(s);
	b = integ_from_json(back, err, sizeof(err));
	if (b == NULL)
		fail_msg("round trip refused: %s", err);
	assert_int_equal(b->refs, 1);
	assert_int_equal(b->nfiles, a->nfiles);
	for (i = 0; i < a->nfiles; i++) {
		assert_string_equal(b->files[i].path, a->files[i].path);
		assert_memory_equal(b->files[i].md5, a->files[i].md5, 16);
		assert_int_equal(b->files[i].mode, a->files[i].mode);
	}
	assert_memory_equal(a->digest, b->digest, 16);
	cJSON_Delete(back);
	cJSON_Delete(j);
	integ_unref(b);
	integ_unref(a);
	/* An empty index too. */
	assert_non_null(b = from_str("{\"files\":[]}", err, sizeof(err)));
	assert_int_equal(b->nfiles, 0);
	integ_hex(b->digest, hex);
	assert_string_equal(hex, MD5_EMPTY);
	assert_non_null(j = integ_to_json(b));
	files = cJSON_GetObjectItemCaseSensitive(j, "files");
	assert_true(cJSON_IsArray(files));
	assert_int_equal(cJSON_GetArraySize(files), 0);
	cJSON_Delete(j);
	integ_unref(b);
	rmhome(home);
}

/* A peer's list in any order comes out sorted and searchable. */
static void
test_json_unsorted(void **state)
{
	struct integ_index	*x;
	char			 err[256];

	(void)state;
	x = from_str("{\"digest\":\"ignored\",\"files\":["
	    "[\"etc/rules/b\",\"" MD5_ABC "\",420],"
	    "[\"etc/decoders/k\",\"" MD5_EMPTY "\",416],"
	    "[\"etc/rules/a\",\"" MD5_EMPTY "\",0],"
	    "[\"etc/lists/z\",\"" MD5_EMPTY "\",4095]]}", err, sizeof(err));
	if (x == NULL)
		fail_msg("refused: %s", err);
	assert_int_equal(x->nfiles, 4);
	assert_string_equal(x->files[0].path, "etc/decoders/k");
	assert_string_equal(x->files[1].path, "etc/lists/z");
	assert_string_equal(x->files[2].path, "etc/rules/a");
	assert_string_equal(x->files[3].path, "etc/rules/b");
	assert_int_equal(x->files[0].mode, 0640);
	assert_int_equal(x->files[1].mode, 07777);
	assert_int_equal(x->files[2].mode, 0);
	assert_int_equal(x->files[3].mode, 0644);
	assert_non_null(integ_find(x, "etc/rules/b"));
	assert_null(integ_find(x, "etc/rules/c"));
	{
		uint8_t d[16];

		digest_by_hand(x, d);
		assert_memory_equal(x->digest, d, 16);
	}
	integ_unref(x);
}

static void
test_json_refused(void **state)
{
	static const char	*bad[] = {
		/* no files array */
		"{}", "{\"files\":{}}", "{\"files\":\"x\"}", "{\"files\":null}",
		"{\"files\":1}", "{\"Files\":[]}", "[]", "\"files\"",
		/* wrong entry arity or shape */
		"{\"files\":[[]]}",
		"{\"files\":[[\"etc/rules/a\"]]}",
		"{\"files\":[[\"etc/rules/a\",\"" MD5_EMPTY "\"]]}",
		"{\"files\":[[\"etc/rules/a\",\"" MD5_EMPTY "\",420,1]]}",
		"{\"files\":[{\"p\":\"etc/rules/a\",\"m\":\"" MD5_EMPTY
		    "\",\"o\":420}]}",
		"{\"files\":[\"etc/rules/a\"]}",
		"{\"files\":[null]}",
		"{\"files\":[[\"etc/rules/a\",\"" MD5_EMPTY "\",420],3]}",
		/* non-string path or md5, non-number mode */
		"{\"files\":[[1,\"" MD5_EMPTY "\",420]]}",
		"{\"files\":[[null,\"" MD5_EMPTY "\",420]]}",
		"{\"files\":[[[\"etc/rules/a\"],\"" MD5_EMPTY "\",420]]}",
		"{\"files\":[[\"etc/rules/a\",5,420]]}",
		"{\"files\":[[\"etc/rules/a\",null,420]]}",
		"{\"files\":[[\"etc/rules/a\",\"" MD5_EMPTY "\",\"420\"]]}",
		"{\"files\":[[\"etc/rules/a\",\"" MD5_EMPTY "\",true]]}",
		"{\"files\":[[\"etc/rules/a\",\"" MD5_EMPTY "\",null]]}",
		/* bad md5 */
		"{\"files\":[[\"etc/rules/a\","
		    "\"d41d8cd98f00b204e9800998ecf8427\",420]]}",
		"{\"files\":[[\"etc/rules/a\",\"" MD5_EMPTY "0\",420]]}",
		"{\"files\":[[\"etc/rules/a\",\"\",420]]}",
		"{\"files\":[[\"etc/rules/a\","
		    "\"z41d8cd98f00b204e9800998ecf8427e\",420]]}",
		"{\"files\":[[\"etc/rules/a\","
		    "\"D41D8CD98F00B204E9800998ECF8427E\",420]]}",
		"{\"files\":[[\"etc/rules/a\",\"d41d8cd98f00b204\\u0000"
		    "9800998ecf8427e\",420]]}",
		/* mode out of range */
		"{\"files\":[[\"etc/rules/a\",\"" MD5_EMPTY "\",-1]]}",
		"{\"files\":[[\"etc/rules/a\",\"" MD5_EMPTY "\",4096]]}",
		"{\"files\":[[\"etc/rules/a\",\"" MD5_EMPTY "\",65535]]}",
		"{\"files\":[[\"etc/rules/a\",\"" MD5_EMPTY "\",1e300]]}",
		"{\"files\":[[\"etc/rules/a\",\"" MD5_EMPTY "\",-1e300]]}",
		/* unsafe or outside path */
		"{\"files\":[[\"/etc/passwd\",\"" MD5_EMPTY "\",420]]}",
		"{\"files\":[[\"../etc/rules/a\",\"" MD5_EMPTY "\",420]]}",
		"{\"files\":[[\"etc/rules/../../x\",\"" MD5_EMPTY "\",420]]}",
		"{\"files\":[[\"etc/rules/./a\",\"" MD5_EMPTY "\",420]]}",
		"{\"files\":[[\"etc//rules/a\",\"" MD5_EMPTY "\",420]]}",
		"{\"files\":[[\"etc/rules/a/\",\"" MD5_EMPTY "\",420]]}",
		"{\"files\":[[\"etc/rules\",\"" MD5_EMPTY "\",420]]}",
		"{\"files\":[[\"etc/ossec.conf\",\"" MD5_EMPTY "\",420]]}",
		"{\"files\":[[\"etc/rulesX/a\",\"" MD5_EMPTY "\",420]]}",
		"{\"files\":[[\"etc/client.keys/x\",\"" MD5_EMPTY "\",420]]}",
		"{\"files\":[[\"etc/rules/a.tmp\",\"" MD5_EMPTY "\",420]]}",
		"{\"files\":[[\"etc/rules/" SYNCSET_TMP_PREFIX "a\",\""
		    MD5_EMPTY "\",420]]}",
		"{\"files\":[[\"etc/rules/a\\nb\",\"" MD5_EMPTY "\",420]]}",
		"{\"files\":[[\"\",\"" MD5_EMPTY "\",420]]}",
		/* duplicate path, adjacent or not in the input */
		"{\"files\":[[\"etc/rules/a\",\"" MD5_EMPTY "\",420],"
		    "[\"etc/rules/a\",\"" MD5_EMPTY "\",420]]}",
		"{\"files\":[[\"etc/rules/a\",\"" MD5_EMPTY "\",420],"
		    "[\"etc/lists/b\",\"" MD5_EMPTY "\",420],"
		    "[\"etc/rules/a\",\"" MD5_ABC "\",384]]}",
		/* one bad entry after good ones spoils the index */
		"{\"files\":[[\"etc/rules/a\",\"" MD5_EMPTY "\",420],"
		    "[\"etc/rules/b\",\"" MD5_EMPTY "\",420],"
		    "[\"etc/ossec.conf\",\"" MD5_EMPTY "\",420]]}",
	};
	struct integ_index	*x;
	char			 err[256 + 8];
	size_t			 i;

	(void)state;
	for (i = 0; i < NELEM(bad); i++) {
		memset(err, 0x5a, sizeof(err));
		x = from_str(bad[i], err, 256);
		if (x != NULL) {
			integ_unref(x);
			fail_msg("accepted %s", bad[i]);
		}
		if (err[0] == '\0')
			fail_msg("no reason for refusing %s", bad[i]);
		assert_non_null(memchr(err, '\0', 256));
		assert_memory_equal(err + 256,
		    "\x5a\x5a\x5a\x5a\x5a\x5a\x5a\x5a", 8);
	}
}

/* Boundary values that are legal. */
static void
test_json_accepted(void **state)
{
	static const char	*good[] = {
		"{\"files\":[]}",
		"{\"files\":[],\"digest\":\"anything\"}",
		"{\"files\":[[\"etc/rules/a\",\"" MD5_EMPTY "\",0]]}",
		"{\"files\":[[\"etc/rules/a\",\"" MD5_EMPTY "\",4095]]}",
		"{\"files\":[[\"etc/rules/sub/deep/a\",\"ffffffffffffffff"
		    "ffffffffffffffff\",420]]}",
		"{\"files\":[[\"etc/decoders/k\",\"00000000000000000000000000"
		    "000000\",416]]}",
	};
	struct integ_index	*x;
	char			 err[256];
	size_t			 i;

	(void)state;
	for (i = 0; i < NELEM(good); i++) {
		x = from_str(good[i], err, sizeof(err));
		if (x == NULL)
			fail_msg("refused %s: %s", good[i], err);
		integ_unref(x);
	}
}

/* ---- diff ---- */

struct hf {
	const char	*path;
	uint8_t		 md5;	/* every byte of the MD5 */
	mode_t		 mode;
};

/* An index built by hand, sorted by the caller. */
static struct integ_index *
mkidx(const struct hf *f, size_t n)
{
	struct integ_index	*x;
	size_t			 i;

	assert_non_null(x = integ_new());
	assert_int_equal(x->refs, 1);
	if (n > 0)
		assert_non_null(x->files = calloc(n, sizeof(*x->files)));
	for (i = 0; i < n; i++) {
		assert_non_null(x->files[i].path = integ_strdup(x, f[i].path,
		    strlen(f[i].path)));
		memset(x->files[i].md5, f[i].md5, 16);
		x->files[i].mode = f[i].mode;
		if (i > 0)
			assert_true(strcmp(f[i - 1].path, f[i].path) < 0);
	}
	x->nfiles = n;
	integ_digest(x);
	return x;
}

static void
check_list(const size_t *got, size_t ngot, const size_t *want, size_t nwant)
{
	size_t	i;

	assert_int_equal(ngot, nwant);
	for (i = 0; i < nwant; i++)
		assert_int_equal(got[i], want[i]);
}

static void
test_diff(void **state)
{
	static const struct hf	 m[] = {
		{ "etc/decoders/a", 1, 0640 },		/* 0 same */
		{ "etc/lists/a", 2, 0644 },		/* 1 create */
		{ "etc/rules/b", 3, 0644 },		/* 2 md5 differs */
		{ "etc/rules/c", 4, 0644 },		/* 3 mode differs */
		{ "etc/rules/d", 5, 0644 },		/* 4 same */
		{ "etc/rules/sub/e", 6, 0600 },		/* 5 create */
	};
	static const struct hf	 w[] = {
		{ "etc/decoders/a", 1, 0640 },		/* 0 */
		{ "etc/decoders/x", 9, 0644 },		/* 1 remove */
		{ "etc/rules/b", 7, 0644 },		/* 2 */
		{ "etc/rules/c", 4, 0664 },		/* 3 */
		{ "etc/rules/d", 5, 0644 },		/* 4 */
		{ "etc/rules/sub", 5, 0644 },		/* 5 remove */
		{ "etc/shared/z", 1, 0644 },		/* 6 remove */
	};
	static const size_t	 cr[] = { 1, 5 }, up[] = { 2, 3 },
	    rm[] = { 1, 5, 6 };
	struct integ_index	*a, *b;
	struct integ_plan	 p;

	(void)state;
	a = mkidx(m, NELEM(m));
	b = mkidx(w, NELEM(w));
	assert_int_equal(integ_diff(a, b, &p), 0);
	check_list(p.create, p.ncreate, cr, NELEM(cr));
	check_list(p.update, p.nupdate, up, NELEM(up));
	check_list(p.remove, p.nremove, rm, NELEM(rm));
	integ_plan_free(&p);
	assert_null(p.create);
	assert_int_equal(p.ncreate + p.nupdate + p.nremove, 0);
	/* Identical: nothing to do, either way round. */
	assert_int_equal(integ_diff(a, a, &p), 0);
	assert_int_equal(p.ncreate + p.nupdate + p.nremove, 0);
	integ_plan_free(&p);
	/* The other way round: what was removed is created, and so on. */
	{
		static const size_t cr2[] = { 1, 5, 6 }, up2[] = { 2, 3 },
		    rm2[] = { 1, 5 };

		assert_int_equal(integ_diff(b, a, &p), 0);
		check_list(p.create, p.ncreate, cr2, NELEM(cr2));
		check_list(p.update, p.nupdate, up2, NELEM(up2));
		check_list(p.remove, p.nremove, rm2, NELEM(rm2));
		integ_plan_free(&p);
	}
	integ_unref(a);
	integ_unref(b);
}

static void
test_diff_empty_sides(void **state)
{
	static const struct hf	 m[] = {
		{ "etc/lists/a", 2, 0644 }, { "etc/rules/b", 3, 0644 },
		{ "etc/rules/c", 4, 0644 },
	};
	static const size_t	 all[] = { 0, 1, 2 };
	struct integ_index	*full, *none;
	struct integ_plan	 p;

	(void)state;
	full = mkidx(m, NELEM(m));
	none = mkidx(NULL, 0);
	assert_int_equal(integ_diff(full, none, &p), 0);
	check_list(p.create, p.ncreate, all, NELEM(all));
	assert_int_equal(p.nupdate + p.nremove, 0);
	integ_plan_free(&p);
	assert_int_equal(integ_diff(none, full, &p), 0);
	check_list(p.remove, p.nremove, all, NELEM(all));
	assert_int_equal(p.ncreate + p.nupdate, 0);
	integ_plan_free(&p);
	assert_int_equal(integ_diff(none, none, &p), 0);
	assert_int_equal(p.ncreate + p.nupdate + p.nremove, 0);
	integ_plan_free(&p);
	integ_unref(full);
	integ_unref(none);
}

/* Lists that grow past many powers of two keep every index, in order. */
static void
test_diff_large(void **state)
{
	struct integ_index	*a, *b;
	struct integ_plan	 p;
	struct hf		*m, *w;
	char			(*names)[32];
	size_t			 n = 1500, i, nm = 0, nw = 0;
	size_t			 c = 0, u = 0, r = 0;

	(void)state;
	assert_non_null(names = calloc(n, sizeof(*names)));
	assert_non_null(m = calloc(n, sizeof(*m)));
	assert_non_null(w = calloc(n, sizeof(*w)));
	/* i%4: 0 both same, 1 master only, 2 both differ, 3 worker only. */
	for (i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "etc/rules/f%06zu", i);
		if (i % 4 != 3)
			m[nm++] = (struct hf){ names[i], 1, 0644 };
		if (i % 4 != 1)
			w[nw++] = (struct hf){ names[i], (uint8_t)(i % 4 == 2 ?
			    2 : 1), 0644 };
	}
	a = mkidx(m, nm);
	b = mkidx(w, nw);
	assert_int_equal(integ_diff(a, b, &p), 0);
	assert_int_equal(p.ncreate, n / 4);
	assert_int_equal(p.nupdate, n / 4);
	assert_int_equal(p.nremove, n / 4);
	for (i = 0; i < n; i++) {
		const char *name = names[i];

		switch (i % 4) {
		case 1:
			assert_string_equal(a->files[p.create[c++]].path, name);
			break;
		case 2:
			assert_string_equal(a->files[p.update[u++]].path, name);
			break;
		case 3:
			assert_string_equal(b->files[p.remove[r++]].path, name);
			break;
		}
	}
	integ_plan_free(&p);
	integ_unref(a);
	integ_unref(b);
	free(names);
	free(m);
	free(w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_md5_vectors,
		    rm_homes),
		cmocka_unit_test_teardown(test_md5_file,
		    rm_homes),
		cmocka_unit_test_teardown(test_hex,
		    rm_homes),
		cmocka_unit_test_teardown(test_scan_tree,
		    rm_homes),
		cmocka_unit_test_teardown(test_scan_empty,
		    rm_homes),
		cmocka_unit_test_teardown(test_scan_skips_client_keys,
		    rm_homes),
		cmocka_unit_test_teardown(test_scan_sorted,
		    rm_homes),
		cmocka_unit_test_teardown(test_scan_order_names,
		    rm_homes),
		cmocka_unit_test_teardown(test_cache_digest,
		    rm_homes),
		cmocka_unit_test_teardown(test_cache_symlink_swap,
		    rm_homes),
		cmocka_unit_test_teardown(test_cache,
		    rm_homes),
		cmocka_unit_test_teardown(test_scan_share, rm_homes),
		cmocka_unit_test_teardown(test_scan_walk_departs, rm_homes),
		cmocka_unit_test_teardown(test_scan_cache_from_json, rm_homes),
		cmocka_unit_test_teardown(test_scan_folder_symlink_swap,
		    rm_homes),
		cmocka_unit_test_teardown(test_cache_mode,
		    rm_homes),
		cmocka_unit_test_teardown(test_digest,
		    rm_homes),
		cmocka_unit_test_teardown(test_refs,
		    rm_homes),
		cmocka_unit_test_teardown(test_json_roundtrip,
		    rm_homes),
		cmocka_unit_test_teardown(test_json_unsorted,
		    rm_homes),
		cmocka_unit_test_teardown(test_json_refused,
		    rm_homes),
		cmocka_unit_test_teardown(test_json_accepted,
		    rm_homes),
		cmocka_unit_test_teardown(test_diff,
		    rm_homes),
		cmocka_unit_test_teardown(test_diff_empty_sides,
		    rm_homes),
		cmocka_unit_test_teardown(test_diff_large,
		    rm_homes),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
