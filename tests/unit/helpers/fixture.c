/*
 * fixture: temp homes and files for the unit tests; see fixture.h.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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

#include "base/log.h"
#include "sync/syncset.h"

#include "fixture.h"

/*
 * Each test gets its folders, named after the test binary
 * (/tmp/test_apply.XXXXXX); its teardown removes them even when the test
 * fails.
 */
int
fx_homes_setup(void **state)
{
	struct fx_homes	*f;

	assert_non_null(f = calloc(1, sizeof(*f)));
	snprintf(f->base, sizeof(f->base), "/tmp/%s.XXXXXX",
	    program_invocation_short_name);
	assert_non_null(mkdtemp(f->base));
	snprintf(f->master, sizeof(f->master), "%s/master", f->base);
	snprintf(f->worker, sizeof(f->worker), "%s/worker", f->base);
	snprintf(f->outside, sizeof(f->outside), "%s/outside", f->base);
	assert_int_equal(mkdir(f->master, 0750), 0);
	assert_int_equal(mkdir(f->worker, 0750), 0);
	assert_int_equal(mkdir(f->outside, 0750), 0);
	*state = f;
	return 0;
}

/* Removes what fx_homes_setup made, whatever the test left in it. */
int
fx_homes_teardown(void **state)
{
	struct fx_homes	*f = *state;

	fx_rmtree(f->base);
	free(f);
	return 0;
}

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return flag == FTW_DP ? rmdir(p) : unlink(p);
}

/* rm -rf of p, never through a symlink; nftw's result (0: all gone). */
int
fx_rmtree(const char *p)
{
	return nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static size_t	n_entries;
static size_t	n_temps;

static int
count_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	if (ftw->level > 0)
		n_entries++;
	if (strncmp(p + ftw->base, SYNCSET_TMP_PREFIX,
	    strlen(SYNCSET_TMP_PREFIX)) == 0)
		n_temps++;
	return 0;
}

/* Temp files (SYNCSET_TMP_PREFIX) anywhere under dir. */
size_t
fx_count_temps(const char *dir)
{
	n_temps = n_entries = 0;
	assert_int_equal(nftw(dir, count_one, 16, FTW_PHYS), 0);
	return n_temps;
}

/* Everything under dir, dir itself not counted. */
size_t
fx_count_entries(const char *dir)
{
	n_temps = n_entries = 0;
	assert_int_equal(nftw(dir, count_one, 16, FTW_PHYS), 0);
	return n_entries;
}

/* mkdir -p of rel's folders under home (not rel's last component). */
void
fx_mkparents(const char *home, const char *rel)
{
	char	p[PATH_MAX], *s;

	snprintf(p, sizeof(p), "%s/%s", home, rel);
	for (s = p + strlen(home) + 1; (s = strchr(s, '/')) != NULL; s++) {
		*s = '\0';
		if (mkdir(p, 0750) == -1 && errno != EEXIST)
			fail_msg("mkdir %s: %s", p, strerror(errno));
		*s = '/';
	}
}

/* home/rel, its folders made, opened for writing from the start. */
static int
create(const char *home, const char *rel, mode_t mode)
{
	char	p[PATH_MAX];
	int	fd;

	fx_mkparents(home, rel);
	snprintf(p, sizeof(p), "%s/%s", home, rel);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode)) == -1)
		fail_msg("create %s: %s", p, strerror(errno));
	return fd;
}

/* home/rel holds len bytes of data, created 0644 (less the umask). */
void
fx_put(const char *home, const char *rel, const void *data, size_t len)
{
	int	fd;

	fd = create(home, rel, 0644);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* fx_put of a string, without its NUL. */
void
fx_puts(const char *home, const char *rel, const char *s)
{
	fx_put(home, rel, s, strlen(s));
}

/* home/rel holds len bytes of data, with exactly the mode given. */
void
fx_put_mode(const char *home, const char *rel, const void *data, size_t len,
    mode_t mode)
{
	int	fd;

	fd = create(home, rel, 0600);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

/* fx_put_mode of a string, without its NUL. */
void
fx_puts_mode(const char *home, const char *rel, const char *s, mode_t mode)
{
	fx_put_mode(home, rel, s, strlen(s), mode);
}

/*
 * A whole file (not through a symlink) in a malloc'd buffer, its length
 * in *lenp; NULL if it cannot be opened.
 */
uint8_t *
fx_slurp(const char *path, size_t *lenp)
{
	struct stat	 st;
	uint8_t		*p;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW)) == -1)
		return NULL;
	assert_int_equal(fstat(fd, &st), 0);
	assert_non_null(p = malloc((size_t)st.st_size + 1));
	assert_int_equal(read(fd, p, (size_t)st.st_size), st.st_size);
	close(fd);
	p[st.st_size] = '\0';	/* callers may read it as a string */
	*lenp = (size_t)st.st_size;
	return p;
}

/* MD5 of data by OpenSSL, not by the code under test. */
void
fx_md5(const void *data, size_t len, uint8_t out[16])
{
	unsigned	n;

	assert_int_equal(EVP_Digest(data, len, out, &n, EVP_md5(), NULL), 1);
	assert_int_equal(n, 16);
}

/* Log to /tmp/NAME.PID.log at info level, and open it for reading. */
void
fx_log_open(struct fx_log *l, const char *name)
{
	snprintf(l->path, sizeof(l->path), "/tmp/%s.%d.log", name,
	    (int)getpid());
	assert_int_equal(log_init(l->path, 0, LOG_LVL_INFO), 0);
	assert_non_null(l->fp = fopen(l->path, "r"));
}

/* How many lines of the log so far contain needle. */
size_t
fx_log_count(struct fx_log *l, const char *needle)
{
	char	line[1024];
	size_t	n = 0;

	rewind(l->fp);
	while (fgets(line, sizeof(line), l->fp) != NULL)
		if (strstr(line, needle) != NULL)
			n++;
	return n;
}

void
fx_log_close(struct fx_log *l)
{
	log_close();
	fclose(l->fp);
	unlink(l->path);
}
