/*
 * integ_scan: the walk that builds an integrity index of the set under a
 * home.
 *
 * A pass over an unchanged tree must cost little more than one fstatat()
 * per file, so the walk does no other system call per file: it stats each
 * name relative to the folder's descriptor without following symlinks,
 * and opens a file (O_NOFOLLOW | O_NONBLOCK, then checked to be the very
 * inode it stat'ed) only to hash it.  Each folder's names are sorted as the
 * index sorts paths, so files come out in index order: the previous index
 * is then matched with a cursor instead of a search, no final sort is
 * needed, and when every file matched its place in the previous index the
 * tree digest is the previous one.
 */
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

/* A name read from a folder, in scan->names; a folder's ends in '/'. */
struct scan_name {
	size_t	off;
	size_t	len;		/* without the '/' */
};

struct scan {
	const struct integ_index *prev;
	size_t			 pnext;		/* prev's files before: passed */
	int			 same;		/* so far, prev's files exactly */
	struct integ_index	*idx;
	size_t			 fcap;
	size_t			 dcap;
	char			 path[SYNCSET_PATH_MAX];	/* being built */
	/* names of the folders being walked, innermost last */
	char			*names;
	size_t			 nlen, ncap;
	struct scan_name	*ents;
	size_t			 elen, ecap;
};

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
 * Hash name in folder dfd, which fstatat() described as *st.  Opened
 * without following a symlink and without blocking on a FIFO, and only if
 * it is the inode stat'ed: a name swapped between the stat and the open is
 * stat'ed again once, and then hashed only if the two agree.  *st becomes
 * the open file's own, so what is recorded is what was read.
 */
static int
hash_at(int dfd, const char *name, struct stat *st, uint8_t md5[16])
{
	struct stat	fst;
	uint64_t	size;
	int		fd = -1, tries, rv = -1;

	for (tries = 0; tries < 2; tries++) {
		if (tries > 0 && (fstatat(dfd, name, st,
		    AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(st->st_mode)))
			return -1;
		fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_CLOEXEC);
		if (fd == -1)
			return -1;
		if (fstat(fd, &fst) == 0 && fst.st_dev == st->st_dev &&
		    fst.st_ino == st->st_ino)
			break;
		close(fd);
		fd = -1;
	}
	if (fd == -1 || !S_ISREG(fst.st_mode) ||
	    integ_md5_file(fd, md5, &size) == -1)
		goto done;
	*st = fst;
	st->st_size = (off_t)size;
	rv = 0;
done:
	if (fd != -1)
		close(fd);
	return rv;
}

/*
 * The previous index's entry for rel, or NULL.  Files come in path order,
 * so a cursor finds it; a search is the fallback for a file out of order
 * (a folder that became a file mid-scan) or new.
 */
static const struct integ_file *
match_prev(struct scan *s, const char *rel)
{
	const struct integ_index *p = s->prev;
	int			 c;

	if (p == NULL)
		return NULL;
	while (s->pnext < p->nfiles) {
		c = strcmp(p->files[s->pnext].path, rel);
		if (c == 0)
			return &p->files[s->pnext++];
		if (c > 0)
			break;
		s->pnext++;
	}
	return integ_find(p, rel);
}

static int64_t
ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

static int
add_dir(struct scan *s, size_t plen)
{
	struct integ_index	*x = s->idx;
	char			**p;

	if (x->ndirs == s->dcap) {
		s->dcap = s->dcap ? s->dcap * 2 : 16;
		if ((p = realloc(x->dirs, s->dcap * sizeof(*p))) == NULL)
			return -1;
		x->dirs = p;
	}
	if ((x->dirs[x->ndirs] = integ_strdup(x, s->path, plen)) == NULL)
		return -1;
	x->ndirs++;
	return 0;
}

/*
 * Add the regular file s->path (plen bytes; name in folder dfd), stat'ed
 * as *st.  Its MD5 comes from the previous index when the cache key is
 * unchanged, without opening it; otherwise the file is read.  A path found
 * in the previous index passed syncset_check() when that index was built
 * (the set's rules are fixed), so only a new one is checked.
 */
static int
add_file(struct scan *s, int dfd, const char *name, size_t plen,
    struct stat *st, const struct syncset_entry *e)
{
	struct integ_index	*x = s->idx;
	struct integ_file	*f, *p;
	const struct integ_file	*old;
	char			 why[64];
	int			 hit;

	old = match_prev(s, s->path);
	if (old == NULL && syncset_check(s->path, why, sizeof(why)) == NULL) {
		x->skipped++;
		s->same = 0;
		return 0;
	}
	if (x->nfiles == s->fcap) {
		s->fcap = s->fcap ? s->fcap * 2 : 256;
		if ((p = realloc(x->files, s->fcap * sizeof(*p))) == NULL)
			return -1;
		x->files = p;
	}
	f = &x->files[x->nfiles];
	hit = old != NULL && old->size == (uint64_t)st->st_size &&
	    old->ino == (uint64_t)st->st_ino &&
	    old->mtime_ns == ns(&st->st_mtim) &&
	    old->ctime_ns == ns(&st->st_ctim);
	if (hit)
		memcpy(f->md5, old->md5, 16);
	else if (hash_at(dfd, name, st, f->md5) == -1) {
		x->skipped++;
		s->same = 0;
		return 0;
	} else
		x->hashed++;
	f->mode = syncset_mode(e, st->st_mode & 07777);
	f->size = (uint64_t)st->st_size;
	f->mtime_ns = ns(&st->st_mtim);
	f->ctime_ns = ns(&st->st_ctim);
	f->ino = (uint64_t)st->st_ino;
	s->same = s->same && hit && old == &s->prev->files[x->nfiles] &&
	    old->mode == f->mode;
	if ((f->path = integ_strdup(x, s->path, plen)) == NULL)
		return -1;
	x->nfiles++;
	return 0;
}

/* Index order of two names of one folder: a folder's sorts as "name/". */
static int
cmp_name(const void *a, const void *b, void *arg)
{
	const struct scan_name	*x = a, *y = b;
	const char		*names = arg;

	return strcmp(names + x->off, names + y->off);
}

/*
 * Read the names of folder d (excluded names left out) onto the name
 * stack, each folder's with a '/' after it, and sort them.  Sorting
 * "name/" for a folder is what makes the walk's order the index's:
 * "a-b" < "a/x" < "a0" as paths, although "a" < "a-b" < "a0" as names.
 */
static int
read_names(struct scan *s, DIR *d)
{
	struct dirent		*de;
	struct scan_name	*ep;
	struct stat		 st;
	size_t			 first = s->elen, len, need;
	char			*np;
	int			 is_dir;

	while ((de = readdir(d)) != NULL) {
		if (syncset_excluded_name(de->d_name))
			continue;
		is_dir = de->d_type == DT_DIR;
		if (de->d_type == DT_UNKNOWN)
			is_dir = fstatat(dirfd(d), de->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
		len = strlen(de->d_name);
		need = s->nlen + len + 2;
		if (need > s->ncap) {
			s->ncap = s->ncap ? s->ncap : 4096;
			while (s->ncap < need)
				s->ncap *= 2;
			if ((np = realloc(s->names, s->ncap)) == NULL)
				return -1;
			s->names = np;
		}
		if (s->elen == s->ecap) {
			s->ecap = s->ecap ? s->ecap * 2 : 256;
			if ((ep = realloc(s->ents, s->ecap * sizeof(*ep))) ==
			    NULL)
				return -1;
			s->ents = ep;
		}
		s->ents[s->elen].off = s->nlen;
		s->ents[s->elen].len = len;
		s->elen++;
		memcpy(s->names + s->nlen, de->d_name, len);
		s->nlen += len;
		if (is_dir)
			s->names[s->nlen++] = '/';
		s->names[s->nlen++] = '\0';
	}
	if (s->elen - first > 1)
		qsort_r(s->ents + first, s->elen - first, sizeof(*s->ents),
		    cmp_name, s->names);
	return 0;
}

/*
 * Walk one folder of the set, open as dfd (closed here), its path the
 * first plen bytes of s->path.  Subfolders are opened relative to it with
 * O_NOFOLLOW, so a folder swapped for a symlink during the scan is not
 * followed.
 */
static int
walk(struct scan *s, int dfd, size_t plen, const struct syncset_entry *e)
{
	size_t		 first = s->elen, nfirst = s->nlen, k, len, clen;
	struct stat	 st;
	char		 name[256];
	DIR		*d;
	int		 rv = 0, fd;

	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return 0;
	}
	if (add_dir(s, plen) == -1 || read_names(s, d) == -1) {
		rv = -1;
		goto done;
	}
	for (k = first; rv == 0 && k < s->elen; k++) {
		/* Copied: a subfolder's walk may move the name stack. */
		len = s->ents[k].len;
		clen = plen + 1 + len;
		if (len >= sizeof(name) || clen >= sizeof(s->path)) {
			s->idx->skipped++;
			continue;
		}
		memcpy(name, s->names + s->ents[k].off, len);
		name[len] = '\0';
		s->path[plen] = '/';
		memcpy(s->path + plen + 1, name, len + 1);
		if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			s->idx->skipped++;
		else if (S_ISDIR(st.st_mode)) {
			fd = openat(dirfd(d), name, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
			if (fd != -1)
				rv = walk(s, fd, clen, e);
		} else if (S_ISREG(st.st_mode))
			rv = add_file(s, dirfd(d), name, clen, &st, e);
		else
			s->idx->skipped++;
	}
done:
	s->elen = first;
	s->nlen = nfirst;
	closedir(d);
	return rv;
}

/* One folder of the set, walked with its subfolders. */
static int
scan_entry(struct scan *s, const char *home, const struct syncset_entry *e)
{
	char		 err[128];
	size_t		 plen = strlen(e->path);
	int		 dfd;

	if (plen >= sizeof(s->path))
		return 0;
	memcpy(s->path, e->path, plen + 1);
	dfd = safefs_open_dir(home, e->path, 0, err, sizeof(err));
	return dfd == -1 ? 0 : walk(s, dfd, plen, e);
}

/* A folder of the set and its sort key, "path/": the walk's order. */
struct scan_root {
	const struct syncset_entry	*e;
	char				 key[SYNCSET_PATH_MAX + 1];
};

static int
cmp_root(const void *a, const void *b)
{
	return strcmp(((const struct scan_root *)a)->key,
	    ((const struct scan_root *)b)->key);
}

static int
is_sorted(const struct integ_index *x)
{
	size_t	i;

	for (i = 1; i < x->nfiles; i++)
		if (strcmp(x->files[i - 1].path, x->files[i].path) >= 0)
			return 0;
	return 1;
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
	struct scan_root *roots;
	struct scan	 s;
	double		 t0 = mono_now();
	size_t		 i;

	memset(&s, 0, sizeof(s));
	s.prev = prev;
	s.same = prev != NULL;
	if ((roots = calloc(syncset_count, sizeof(*roots))) == NULL ||
	    (s.idx = integ_new()) == NULL)
		goto fail;
	for (i = 0; i < syncset_count; i++) {
		roots[i].e = &syncset_table[i];
		snprintf(roots[i].key, sizeof(roots[i].key), "%s/",
		    syncset_table[i].path);
	}
	qsort(roots, syncset_count, sizeof(*roots), cmp_root);
	for (i = 0; i < syncset_count; i++)
		if (scan_entry(&s, home, roots[i].e) == -1)
			goto fail;
	if (s.same && s.idx->nfiles == prev->nfiles)
		memcpy(s.idx->digest, prev->digest, sizeof(s.idx->digest));
	else {
		if (!is_sorted(s.idx))
			qsort(s.idx->files, s.idx->nfiles,
			    sizeof(*s.idx->files), integ_cmp_file);
		integ_digest(s.idx);
	}
	free(roots);
	free(s.names);
	free(s.ents);
	s.idx->duration = mono_now() - t0;
	return s.idx;
fail:
	free(roots);
	free(s.names);
	free(s.ents);
	integ_unref(s.idx);
	return NULL;
}
