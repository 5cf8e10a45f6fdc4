/*
 * integ_kit: temp homes, the reference tree, MD5s by hand; see
 * integ_kit.h.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "sync/integ.h"
#include "sync/syncset.h"

#include "fixture.h"
#include "integ_kit.h"

/* Homes of the running test, removed by its teardown if it fails. */
static char	*homes[4];

char *
ik_mkhome(void)
{
	char	tmpl[] = "/tmp/test_integ.XXXXXX", *p;
	size_t	i;

	assert_non_null(mkdtemp(tmpl));
	assert_non_null(p = strdup(tmpl));
	for (i = 0; i < IK_NELEM(homes) && homes[i] != NULL; i++)
		;
	assert_true(i < IK_NELEM(homes));
	homes[i] = p;
	return p;
}

void
ik_rmhome(char *home)
{
	size_t	i;

	if (home == NULL)
		return;
	for (i = 0; i < IK_NELEM(homes); i++)
		if (homes[i] == home)
			homes[i] = NULL;
	assert_int_equal(fx_rmtree(home), 0);
	free(home);
}

int
ik_rm_homes(void **state)
{
	size_t	i;

	(void)state;
	for (i = 0; i < IK_NELEM(homes); i++) {
		if (homes[i] == NULL)
			continue;
		fx_rmtree(homes[i]);
		free(homes[i]);
		homes[i] = NULL;
	}
	return 0;
}

void
ik_md5hex(const void *data, size_t len, char out[33])
{
	uint8_t		md[EVP_MAX_MD_SIZE];
	unsigned	n, i;

	assert_int_equal(EVP_Digest(data, len, md, &n, EVP_md5(), NULL), 1);
	assert_int_equal(n, 16);
	for (i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

void
ik_file_md5hex(const struct integ_file *f, char out[33])
{
	integ_hex(f->md5, out);
}

/* Set a file's mtime (seconds) so cache tests do not depend on timing. */
void
ik_set_mtime(const char *home, const char *rel, time_t sec, long nsec)
{
	char		p[PATH_MAX];
	struct timespec	ts[2];

	snprintf(p, sizeof(p), "%s/%s", home, rel);
	ts[0].tv_sec = ts[1].tv_sec = sec;
	ts[0].tv_nsec = ts[1].tv_nsec = nsec;
	assert_int_equal(utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW), 0);
}

int
ik_has_dir(const struct integ_index *x, const char *rel)
{
	size_t	i;

	for (i = 0; i < x->ndirs; i++)
		if (strcmp(x->dirs[i], rel) == 0)
			return 1;
	return 0;
}

static const char big_rule[] =
    "<group name=\"local,\">\n  <rule id=\"100001\" level=\"5\">\n"
    "    <if_sid>5716</if_sid>\n    <srcip>1.1.1.1</srcip>\n"
    "    <description>sshd: authentication failed.</description>\n"
    "  </rule>\n</group>\n";

/* In path (strcmp) order, as the index must be. */
const struct ik_want ik_tree[IK_NTREE] = {
	{ "etc/decoders/a", "001 agent any 0123456789abcdef\n", 0640, 0640 },
	{ "etc/decoders/local_decoder.xml", "<decoder name=\"x\"/>\n", 0600,
	    0600 },
	{ "etc/lists/abc", "abc", 04644, 0644 },
	{ "etc/rules/empty.xml", "", 0644, 0644 },
	{ "etc/rules/local_rules.xml", big_rule, 0660, 0660 },
	{ "etc/rules/sub/deep/x.xml", "x", 0755, 0644 },
	{ "etc/shared/default/agent.conf", "<agent_config/>\n", 0664, 0664 },
};

void
ik_build_tree(const char *home)
{
	char	p[PATH_MAX], q[PATH_MAX];
	size_t	i;

	for (i = 0; i < IK_NTREE; i++)
		fx_puts_mode(home, ik_tree[i].path, ik_tree[i].data,
		    ik_tree[i].mode);
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

void
ik_check_tree_index(const struct integ_index *x)
{
	char	hex[33], want[33];
	size_t	i;

	assert_int_equal(x->nfiles, IK_NTREE);
	for (i = 0; i < x->nfiles; i++) {
		const struct integ_file *f = &x->files[i];

		assert_string_equal(f->path, ik_tree[i].path);
		ik_md5hex(ik_tree[i].data, strlen(ik_tree[i].data), want);
		ik_file_md5hex(f, hex);
		assert_string_equal(hex, want);
		assert_int_equal(f->mode, ik_tree[i].listed);
		assert_int_equal(f->size, strlen(ik_tree[i].data));
		assert_ptr_equal(integ_find(x, ik_tree[i].path), f);
	}
}

/* The digest recomputed from its definition in integ.c. */
void
ik_digest_by_hand(const struct integ_index *x, uint8_t out[16])
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
