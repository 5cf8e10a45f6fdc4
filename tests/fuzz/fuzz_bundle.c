/*
 * fuzz_bundle: the worker's bundle decoder on arbitrary bytes.
 *
 * The first input byte chooses how the rest is used: bit 0 set, it is a
 * raw record stream, compressed here with compress2 so the fuzzer reaches
 * the record parser easily; clear, it is the zlib stream itself.  The other
 * seven bits give the size of the pieces it is fed in (0: all at once).
 * A fresh decoder runs each input against a fixed expected list in a temp
 * home made once; after bundle_dec_abort() no temp file may remain, and
 * nothing may ever appear beside the home.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "sync/bundle.h"
#include "sync/syncset.h"

#include "fuzz.h"

/* Undefined behaviour is a finding: stop on it like on a crash. */
const char *__ubsan_default_options(void);
const char *
__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1";
}

/* What the worker expects; mkseeds-sync.sh writes bundles of these. */
static const struct {
	const char	*path;
	const char	*data;
} want[] = {
	{ "etc/rules/a.xml", "a" },
	{ "etc/rules/sub/b.xml", "bb" },
	{ "etc/rules/empty.xml", "" },
	{ "etc/decoders/d.xml", "<decoder/>" },
	{ "etc/client.keys", "001 k\n" },
};
#define NWANT	(sizeof(want) / sizeof(want[0]))

static char			base[64];
static char			home[96];
static struct bundle_file	files[NWANT];

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return flag == FTW_DP ? rmdir(p) : unlink(p);
}

static void
cleanup(void)
{
	if (base[0] != '\0')
		nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void
setup(void)
{
	unsigned	len;
	size_t		i;

	snprintf(base, sizeof(base), "/tmp/fuzz_bundle.XXXXXX");
	CHECK(mkdtemp(base) != NULL);
	snprintf(home, sizeof(home), "%s/home", base);
	CHECK(mkdir(home, 0750) == 0);
	atexit(cleanup);
	for (i = 0; i < NWANT; i++) {
		CHECK((files[i].path = strdup(want[i].path)) != NULL);
		CHECK(EVP_Digest(want[i].data, strlen(want[i].data),
		    files[i].md5, &len, EVP_md5(), NULL) == 1);
		files[i].mode = 0644;
		files[i].is_new = 1;
	}
}

static size_t	ntemps;

static int
count_temp(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	if (strncmp(p + ftw->base, SYNCSET_TMP_PREFIX,
	    strlen(SYNCSET_TMP_PREFIX)) == 0)
		ntemps++;
	return 0;
}

/* Only the home in base, and no temp file in the home. */
static void
check_clean(void)
{
	struct dirent	*de;
	DIR		*d;

	CHECK((d = opendir(base)) != NULL);
	while ((de = readdir(d)) != NULL)
		CHECK(strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, "home") == 0);
	closedir(d);
	ntemps = 0;
	CHECK(nftw(home, count_temp, 16, FTW_PHYS) == 0);
	CHECK(ntemps == 0);
}

/* A received file's temp file holds content with the expected MD5. */
static void
check_received(const struct bundle_file *f)
{
	char		 p[PATH_MAX];
	const char	*slash = strrchr(f->path, '/');
	uint8_t		 buf[4096], md[EVP_MAX_MD_SIZE];
	unsigned	 len;
	EVP_MD_CTX	*ctx;
	ssize_t		 n;
	int		 fd;

	CHECK(f->tmpname != NULL && slash != NULL);
	CHECK(strchr(f->tmpname, '/') == NULL);
	snprintf(p, sizeof(p), "%s/%.*s/%s", home, (int)(slash - f->path),
	    f->path, f->tmpname);
	CHECK((fd = open(p, O_RDONLY | O_NOFOLLOW)) != -1);
	CHECK((ctx = EVP_MD_CTX_new()) != NULL);
	CHECK(EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		EVP_DigestUpdate(ctx, buf, (size_t)n);
	CHECK(n == 0);
	close(fd);
	EVP_DigestFinal_ex(ctx, md, &len);
	EVP_MD_CTX_free(ctx);
	CHECK(memcmp(md, f->md5, 16) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bundle_dec	*d;
	const uint8_t		*s;
	uint8_t			*z = NULL;
	uLongf			 zlen;
	size_t			 len, off, piece, k, i;
	char			 err[256];
	int			 ok = 1;

	if (base[0] == '\0')
		setup();
	if (size == 0)
		return 0;
	piece = data[0] >> 1;
	s = data + 1;
	len = size - 1;
	if (data[0] & 1) {
		zlen = compressBound(len);
		CHECK((z = malloc(zlen)) != NULL);
		CHECK(compress2(z, &zlen, s, len, 1) == Z_OK);
		s = z;
		len = zlen;
	}
	CHECK((d = bundle_dec_new(home, files, NWANT)) != NULL);
	for (off = 0; off < len && ok; off += k) {
		k = piece == 0 || piece > len - off ? len - off : piece;
		err[0] = '\0';
		if (bundle_dec_feed(d, s + off, k, err, sizeof(err)) == -1) {
			CHECK(err[0] != '\0');
			ok = 0;
		}
	}
	if (ok) {
		err[0] = '\0';
		if (bundle_dec_finish(d, err, sizeof(err)) == -1) {
			CHECK(err[0] != '\0');
			ok = 0;
		}
	}
	for (i = 0; i < NWANT; i++) {
		CHECK(!(files[i].received && files[i].stale));
		if (files[i].received)
			check_received(&files[i]);
		if (ok)		/* a complete bundle has no file half done */
			CHECK(files[i].tmpname == NULL || files[i].received ||
			    files[i].stale);
	}
	bundle_dec_abort(d);
	bundle_dec_free(d);
	for (i = 0; i < NWANT; i++)
		CHECK(files[i].tmpname == NULL && !files[i].received &&
		    !files[i].stale);
	check_clean();
	free(z);
	return 0;
}
