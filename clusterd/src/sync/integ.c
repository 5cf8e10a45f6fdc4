#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "base/safefs.h"
#include "sync/integ.h"
#include "sync/syncset.h"

struct scan {
	const char			*home;
	const struct integ_index	*prev;
	struct integ_index		*idx;
	size_t				 fcap;
	size_t				 dcap;
};

static int
add_dir(struct scan *s, const char *rel)
{
	struct integ_index	*x = s->idx;
	char			**p;

	if (x->ndirs == s->dcap) {
		s->dcap = s->dcap ? s->dcap * 2 : 16;
		if ((p = realloc(x->dirs, s->dcap * sizeof(*p))) == NULL)
			return -1;
		x->dirs = p;
	}
	if ((x->dirs[x->ndirs] = strdup(rel)) == NULL)
		return -1;
	x->ndirs++;
	return 0;
}

/* MD5 of an open file, read to its end; its size through *size. */
int
integ_md5_file(int fd, uint8_t md5[16], uint64_t *size)
{
	EVP_MD_CTX	*ctx;
	uint8_t		 buf[65536];
	ssize_t		 n;
	unsigned	 len;
	int		 rv = -1;

	*size = 0;
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    !EVP_DigestInit_ex(ctx, EVP_md5(), NULL))
		goto done;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			goto done;
		}
		if (!EVP_DigestUpdate(ctx, buf, (size_t)n))
			goto done;
		*size += (uint64_t)n;
	}
	if (EVP_DigestFinal_ex(ctx, md5, &len) && len == 16)
		rv = 0;
done:
	EVP_MD_CTX_free(ctx);
	return rv;
}

/*
 * Add one regular file, open as fd (the caller closes it).  Its MD5 comes
 * from the previous index when the cache key is unchanged; otherwise the
 * file is read.
 */
static int
add_file(struct scan *s, const char *rel, int fd, const struct stat *st,
    const struct syncset_entry *e)
{
	struct integ_index	*x = s->idx;
	struct integ_file	*f, *p;
	const struct integ_file	*old;
	uint64_t		 size;

	if (x->nfiles == s->fcap) {
		s->fcap = s->fcap ? s->fcap * 2 : 256;
		if ((p = realloc(x->files, s->fcap * sizeof(*p))) == NULL)
			return -1;
		x->files = p;
	}
	f = &x->files[x->nfiles];
	memset(f, 0, sizeof(*f));
	f->mode = syncset_mode(e, st->st_mode & 07777);
	f->size = (uint64_t)st->st_size;
	f->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 +
	    st->st_mtim.tv_nsec;
	f->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 +
	    st->st_ctim.tv_nsec;
	f->ino = (uint64_t)st->st_ino;
	old = s->prev != NULL ? integ_find(s->prev, rel) : NULL;
	if (old != NULL && old->size == f->size &&
	    old->mtime_ns == f->mtime_ns && old->ctime_ns == f->ctime_ns &&
	    old->ino == f->ino)
		memcpy(f->md5, old->md5, 16);
	else {
		if (integ_md5_file(fd, f->md5, &size) == -1) {
			x->skipped++;
			return 0;
		}
		f->size = size;
		x->hashed++;
	}
	if ((f->path = strdup(rel)) == NULL)
		return -1;
	x->nfiles++;
	return 0;
}

/*
 * Open name in folder dfd for the scan: never through a symlink, never
 * blocking on a FIFO; only a regular file is kept.  Returns the fd with st
 * filled, or -1 (skipped).
 */
static int
open_regular(int dfd, const char *name, struct stat *st)
{
	int	fd;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (fstat(fd, st) == -1 || !S_ISREG(st->st_mode)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Walk one folder of the set, open as dfd (closed here).  Subfolders are
 * opened relative to it with O_NOFOLLOW, so a folder swapped for a symlink
 * during the scan is not followed.
 */
static int
walk(struct scan *s, int dfd, const char *rel, const struct syncset_entry *e)
{
	char		 child[PATH_MAX], why[64];
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	int		 rv = 0, fd;

	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return 0;
	}
	if (add_dir(s, rel) == -1) {
		closedir(d);
		return -1;
	}
	while (rv == 0 && (de = readdir(d)) != NULL) {
		if (syncset_excluded_name(de->d_name))
			continue;
		if ((size_t)snprintf(child, sizeof(child), "%s/%s", rel,
		    de->d_name) >= sizeof(child) ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
		    -1) {
			s->idx->skipped++;
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			fd = openat(dirfd(d), de->d_name, O_RDONLY |
			    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd != -1)
				rv = walk(s, fd, child, e);
		} else if (S_ISREG(st.st_mode) &&
		    syncset_check(child, why, sizeof(why)) != NULL &&
		    (fd = open_regular(dirfd(d), de->d_name, &st)) != -1) {
			rv = add_file(s, child, fd, &st, e);
			close(fd);
		} else
			s->idx->skipped++;
	}
	closedir(d);
	return rv;
}

static int
cmp_file(const void *a, const void *b)
{
	return strcmp(((const struct integ_file *)a)->path,
	    ((const struct integ_file *)b)->path);
}

static double
mono_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Scan the set under home.  prev (may be NULL) is the cache.  Returns a new
 * index with one reference, or NULL when out of memory.
 */
struct integ_index *
integ_scan(const char *home, const struct integ_index *prev)
{
	struct scan	 s;
	double		 t0 = mono_now();
	size_t		 i;

	memset(&s, 0, sizeof(s));
	s.home = home;
	s.prev = prev;
	if ((s.idx = calloc(1, sizeof(*s.idx))) == NULL)
		return NULL;
	s.idx->refs = 1;
	for (i = 0; i < syncset_count; i++) {
		const struct syncset_entry *e = &syncset_table[i];
		char		 err[128];
		int		 dfd;

		dfd = safefs_open_dir(home, e->path, 0, err, sizeof(err));
		if (dfd != -1 && walk(&s, dfd, e->path, e) == -1)
			goto fail;
	}
	if (s.idx->nfiles > 1)
		qsort(s.idx->files, s.idx->nfiles, sizeof(*s.idx->files),
		    cmp_file);
	integ_digest(s.idx);
	s.idx->duration = mono_now() - t0;
	return s.idx;
fail:
	integ_unref(s.idx);
	return NULL;
}

struct integ_index *
integ_ref(struct integ_index *x)
{
	__atomic_add_fetch(&x->refs, 1, __ATOMIC_ACQ_REL);
	return x;
}

void
integ_unref(struct integ_index *x)
{
	size_t	i;

	if (x == NULL || __atomic_sub_fetch(&x->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	for (i = 0; i < x->nfiles; i++)
		free(x->files[i].path);
	for (i = 0; i < x->ndirs; i++)
		free(x->dirs[i]);
	free(x->files);
	free(x->dirs);
	free(x);
}

const struct integ_file *
integ_find(const struct integ_index *x, const char *path)
{
	struct integ_file	key;

	if (x->nfiles == 0)
		return NULL;
	key.path = (char *)(uintptr_t)path;
	return bsearch(&key, x->files, x->nfiles, sizeof(key), cmp_file);
}

/* The tree digest: MD5 over "path NUL md5hex mode LF" in path order. */
void
integ_digest(struct integ_index *x)
{
	EVP_MD_CTX	*ctx;
	char		 hex[33], line[48];
	unsigned	 len;
	size_t		 i;

	memset(x->digest, 0, sizeof(x->digest));
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return;
	EVP_DigestInit_ex(ctx, EVP_md5(), NULL);
	for (i = 0; i < x->nfiles; i++) {
		integ_hex(x->files[i].md5, hex);
		snprintf(line, sizeof(line), "%s %o\n", hex,
		    (unsigned)x->files[i].mode);
		EVP_DigestUpdate(ctx, x->files[i].path,
		    strlen(x->files[i].path) + 1);
		EVP_DigestUpdate(ctx, line, strlen(line));
	}
	EVP_DigestFinal_ex(ctx, x->digest, &len);
	EVP_MD_CTX_free(ctx);
}

void
integ_hex(const uint8_t md5[16], char out[33])
{
	static const char	d[] = "0123456789abcdef";
	int			i;

	for (i = 0; i < 16; i++) {
		out[2 * i] = d[md5[i] >> 4];
		out[2 * i + 1] = d[md5[i] & 15];
	}
	out[32] = '\0';
}

int
integ_unhex(const char *hex, uint8_t md5[16])
{
	int	i, hi, lo;

	if (strlen(hex) != 32)
		return -1;
	for (i = 0; i < 16; i++) {
		hi = hex[2 * i];
		lo = hex[2 * i + 1];
#define NIB(c) ((c) >= '0' && (c) <= '9' ? (c) - '0' : \
	(c) >= 'a' && (c) <= 'f' ? (c) - 'a' + 10 : -1)
		if (NIB(hi) < 0 || NIB(lo) < 0)
			return -1;
		md5[i] = (uint8_t)(NIB(hi) << 4 | NIB(lo));
#undef NIB
	}
	return 0;
}

/* {"digest":"hex","files":[["path","md5hex",mode],...]} */
cJSON *
integ_to_json(const struct integ_index *x)
{
	cJSON	*j, *arr, *f;
	char	 hex[33];
	size_t	 i;

	if ((j = cJSON_CreateObject()) == NULL)
		return NULL;
	integ_hex(x->digest, hex);
	cJSON_AddStringToObject(j, "digest", hex);
	if ((arr = cJSON_AddArrayToObject(j, "files")) == NULL)
		goto fail;
	for (i = 0; i < x->nfiles; i++) {
		integ_hex(x->files[i].md5, hex);
		if ((f = cJSON_CreateArray()) == NULL)
			goto fail;
		cJSON_AddItemToArray(arr, f);
		cJSON_AddItemToArray(f, cJSON_CreateString(x->files[i].path));
		cJSON_AddItemToArray(f, cJSON_CreateString(hex));
		cJSON_AddItemToArray(f, cJSON_CreateNumber(x->files[i].mode));
	}
	return j;
fail:
	cJSON_Delete(j);
	return NULL;
}

/*
 * Rebuild an index from its JSON form, as received from a peer: every path
 * must belong to the set, be unique, and every MD5 and mode be well formed.
 */
struct integ_index *
integ_from_json(const cJSON *j, char *err, size_t errlen)
{
	struct integ_index	*x;
	const cJSON		*arr, *f, *p, *m, *mode;
	char			 why[64];
	size_t			 n, i;

	arr = cJSON_GetObjectItemCaseSensitive(j, "files");
	if (!cJSON_IsArray(arr)) {
		snprintf(err, errlen, "index without a files array");
		return NULL;
	}
	n = (size_t)cJSON_GetArraySize(arr);
	if ((x = calloc(1, sizeof(*x))) == NULL ||
	    (n > 0 && (x->files = calloc(n, sizeof(*x->files))) == NULL)) {
		free(x);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	x->refs = 1;
	cJSON_ArrayForEach(f, arr) {
		struct integ_file *e = &x->files[x->nfiles];

		p = cJSON_GetArrayItem(f, 0);
		m = cJSON_GetArrayItem(f, 1);
		mode = cJSON_GetArrayItem(f, 2);
		if (!cJSON_IsArray(f) || cJSON_GetArraySize(f) != 3 ||
		    !cJSON_IsString(p) || !cJSON_IsString(m) ||
		    !cJSON_IsNumber(mode) || mode->valuedouble < 0 ||
		    mode->valuedouble > 07777 ||
		    mode->valuedouble != (double)mode->valueint ||
		    integ_unhex(m->valuestring, e->md5) == -1) {
			snprintf(err, errlen, "malformed index entry %zu",
			    x->nfiles);
			goto fail;
		}
		if (syncset_check(p->valuestring, why, sizeof(why)) == NULL) {
			snprintf(err, errlen, "index entry \"%.200s\": %s",
			    p->valuestring, why);
			goto fail;
		}
		if ((e->path = strdup(p->valuestring)) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		e->mode = (mode_t)mode->valueint;
		x->nfiles++;
	}
	if (x->nfiles > 1)
		qsort(x->files, x->nfiles, sizeof(*x->files), cmp_file);
	for (i = 1; i < x->nfiles; i++) {
		if (strcmp(x->files[i - 1].path, x->files[i].path) == 0) {
			snprintf(err, errlen, "duplicate index entry \"%.200s\"",
			    x->files[i].path);
			goto fail;
		}
	}
	integ_digest(x);
	return x;
fail:
	integ_unref(x);
	return NULL;
}

static int
push(size_t **arr, size_t *n, size_t v)
{
	size_t	*p;

	if ((*n & (*n - 1)) == 0) {	/* grow at powers of two */
		if ((p = realloc(*arr, (*n ? *n * 2 : 1) * sizeof(*p))) ==
		    NULL)
			return -1;
		*arr = p;
	}
	(*arr)[(*n)++] = v;
	return 0;
}

/*
 * Classify: a master file absent on the worker is to create, one whose MD5
 * or mode differs to update, a worker file absent on the master to remove.
 * Both indexes are sorted, so one merge pass does it.
 */
int
integ_diff(const struct integ_index *m, const struct integ_index *w,
    struct integ_plan *plan)
{
	size_t	i = 0, k = 0;
	int	c, rv = 0;

	memset(plan, 0, sizeof(*plan));
	while (rv == 0 && (i < m->nfiles || k < w->nfiles)) {
		if (i == m->nfiles)
			c = 1;
		else if (k == w->nfiles)
			c = -1;
		else
			c = strcmp(m->files[i].path, w->files[k].path);
		if (c < 0)
			rv = push(&plan->create, &plan->ncreate, i++);
		else if (c > 0)
			rv = push(&plan->remove, &plan->nremove, k++);
		else {
			if (memcmp(m->files[i].md5, w->files[k].md5, 16) != 0 ||
			    m->files[i].mode != w->files[k].mode)
				rv = push(&plan->update, &plan->nupdate, i);
			i++;
			k++;
		}
	}
	if (rv == -1)
		integ_plan_free(plan);
	return rv;
}

void
integ_plan_free(struct integ_plan *plan)
{
	free(plan->create);
	free(plan->update);
	free(plan->remove);
	memset(plan, 0, sizeof(*plan));
}
