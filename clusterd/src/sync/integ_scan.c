/*
 * integ_scan: the walk that builds an integrity index of the set under a
 * home.
 *
 * A pass over an unchanged tree must cost little more than reading each
 * folder and one fstatat() per file, so the walk does no other system call
 * per file and little work besides: it reads a folder's entries with
 * getdents64() into one buffer, stats each name relative to the folder's
 * descriptor without following symlinks, and opens a file (O_NOFOLLOW |
 * O_NONBLOCK, then checked to be the very inode it stat'ed) only to hash
 * it.  Names are taken in the order the folder lists them, the order the
 * previous scan met them in too (kept in its index): each file's previous
 * entry is then the next one of that order, and its place in path order
 * is the previous entry's place, so nothing is searched or sorted, and
 * when every file matched unchanged the tree digest is the previous one.
 * Once the walk departs from the previous one (a file added, gone or
 * renamed), files are matched by search and put into path order at the
 * end: by their previous places, with only the new ones sorted.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "base/safefs.h"
#include "sync/integ.h"
#include "sync/syncset.h"

#define NO_SLOT		UINT32_MAX
#define DENTS_MIN	32768	/* free room for each getdents64() */

struct scan {
	const struct integ_index *prev;
	struct integ_index	*idx;
	size_t			 fcap;
	size_t			 dcap;
	/*
	 * lazy: so far the walk met prev's folders and files in prev's walk
	 * order, each unchanged, and wrote nothing: the new index counts
	 * them and will share prev's arrays if the walk ends so.
	 * in_place: so far the walk met prev's files in prev's walk order,
	 * so file k of the walk was written at prev->order[k], its place in
	 * path order.  Otherwise files are in walk order and slot[k] is the
	 * place of file k's entry in prev, or NO_SLOT; and the walk goes on
	 * matching prev's walk from pk, the place in it after the last file
	 * found (walk_of: a file's place in prev's walk, by its place in
	 * prev), so a departure costs one search, not one per later file.
	 */
	int			 lazy;
	int			 in_place;
	int			 same;		/* and unchanged: prev's digest */
	uint32_t		*slot;
	uint32_t		*walk_of;
	size_t			 pk;
	char			 path[SYNCSET_PATH_MAX];	/* being built */
	/* folder entries as getdents64() wrote them, innermost folder's
	 * last */
	char			*dents;
	size_t			 dlen, dents_cap;
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

static int64_t
ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/*
 * The walk departs from prev (lazy no more): write down what it met so
 * far, prev's first ndirs folders and the files of its first nfiles walk
 * places, each where it goes, with strings of the new index's own.
 */
static int
materialize(struct scan *s)
{
	const struct integ_index *p = s->prev;
	struct integ_index	*x = s->idx;
	struct integ_file	*f;
	size_t			 k;
	uint32_t		 i;

	s->lazy = 0;
	s->fcap = p->nfiles;
	s->dcap = p->ndirs > 16 ? p->ndirs : 16;
	if ((x->files = malloc(s->fcap * sizeof(*x->files))) == NULL ||
	    (x->dirs = malloc(s->dcap * sizeof(*x->dirs))) == NULL)
		return -1;
	for (k = 0; k < x->ndirs; k++)
		if ((x->dirs[k] = integ_strdup(x, p->dirs[k],
		    strlen(p->dirs[k]))) == NULL)
			return -1;
	for (k = 0; k < x->nfiles; k++) {
		i = p->order[k];
		f = &x->files[i];
		*f = p->files[i];
		if ((f->path = integ_strdup(x, f->path, strlen(f->path))) ==
		    NULL)
			return -1;
	}
	return 0;
}

/* Whether a file stat'ed as *st is as the cache entry f describes it. */
static int
key_same(const struct integ_file *f, const struct stat *st)
{
	return f->size == (uint64_t)st->st_size &&
	    f->ino == (uint64_t)st->st_ino &&
	    f->mtime_ns == ns(&st->st_mtim) &&
	    f->ctime_ns == ns(&st->st_ctim);
}

static int
add_dir(struct scan *s, size_t plen)
{
	const struct integ_index *p = s->prev;
	struct integ_index	*x = s->idx;
	char			**d;

	if (s->lazy) {
		if (x->ndirs < p->ndirs && strncmp(p->dirs[x->ndirs], s->path,
		    plen) == 0 && p->dirs[x->ndirs][plen] == '\0') {
			x->ndirs++;
			return 0;
		}
		if (materialize(s) == -1)
			return -1;
	}
	if (x->ndirs == s->dcap) {
		s->dcap = s->dcap ? s->dcap * 2 : 16;
		if ((d = realloc(x->dirs, s->dcap * sizeof(*d))) == NULL)
			return -1;
		x->dirs = d;
	}
	if ((x->dirs[x->ndirs] = integ_strdup(x, s->path, plen)) == NULL)
		return -1;
	x->ndirs++;
	return 0;
}

/*
 * Stop placing files where prev had them: the walk met something prev's
 * walk did not.  The files placed so far are gathered into walk order,
 * each with its place in prev, and later ones are appended.
 */
static int
leave_place(struct scan *s)
{
	struct integ_index	*x = s->idx;
	const uint32_t		*order = s->prev->order;
	struct integ_file	*files;
	size_t			 k;

	s->in_place = 0;
	s->same = 0;
	s->pk = x->nfiles;
	if ((files = malloc(s->fcap * sizeof(*files))) == NULL)
		return -1;
	if ((s->slot = malloc(s->fcap * sizeof(*s->slot))) == NULL ||
	    (s->walk_of = malloc(s->prev->nfiles * sizeof(*s->walk_of))) ==
	    NULL) {
		free(files);
		return -1;
	}
	for (k = 0; k < x->nfiles; k++) {
		files[k] = x->files[order[k]];
		s->slot[k] = order[k];
	}
	for (k = 0; k < s->prev->nfiles; k++)
		s->walk_of[order[k]] = (uint32_t)k;
	free(x->files);
	x->files = files;
	return 0;
}

/* A file of the set the walk cannot read (gone, swapped): not indexed. */
static int
skip_file(struct scan *s)
{
	if (s->lazy && materialize(s) == -1)
		return -1;
	s->idx->skipped++;
	s->same = 0;
	return s->in_place ? leave_place(s) : 0;
}

/*
 * Where the walk's next file goes, old its entry in prev (or NULL): its
 * place in path order while in_place, else the end of the walk order.
 */
static struct integ_file *
next_file(struct scan *s, const struct integ_file *old)
{
	struct integ_index	*x = s->idx;
	struct integ_file	*f;
	uint32_t		*sl;
	size_t			 cap;

	if (s->in_place)
		return &x->files[s->prev->order[x->nfiles]];
	if (x->nfiles == s->fcap) {
		cap = s->fcap ? s->fcap * 2 : 256;
		if (cap > NO_SLOT)
			return NULL;
		if ((f = realloc(x->files, cap * sizeof(*f))) == NULL)
			return NULL;
		x->files = f;
		if ((sl = realloc(s->slot, cap * sizeof(*sl))) == NULL)
			return NULL;
		s->slot = sl;
		s->fcap = cap;
	}
	s->slot[x->nfiles] = old != NULL ?
	    (uint32_t)(old - s->prev->files) : NO_SLOT;
	return &x->files[x->nfiles];
}

/*
 * Add the regular file s->path (plen bytes; name in folder dfd), stat'ed
 * as *st.  Its entry in the previous index is the one prev's walk met at
 * this point, found with one comparison; a search is the fallback for a
 * file out of that order or new, and the walk resumes matching prev's
 * after the entry found.  Its MD5 comes from that entry when the
 * cache key is unchanged, without opening it; otherwise the file is read.
 * A path found in the previous index passed syncset_check() when that
 * index was built (the set's rules are fixed), so only a new one is
 * checked.
 */
static int
add_file(struct scan *s, int dfd, const char *name, size_t plen,
    struct stat *st, const struct syncset_entry *e)
{
	const struct integ_index *p = s->prev;
	struct integ_index	*x = s->idx;
	const struct integ_file	*old = NULL, *want = NULL;
	struct integ_file	*f;
	char			 why[64];
	uint8_t			 md5[16];
	size_t			 k;
	int			 hit;

	k = s->in_place ? x->nfiles : s->pk;
	if ((s->in_place || s->walk_of != NULL) && k < p->nfiles)
		want = &p->files[p->order[k]];
	if (want != NULL && strcmp(want->path, s->path) == 0)
		old = want;
	else if (p != NULL)
		old = integ_find(p, s->path);
	/* A name never indexed leaves the walk of indexed files as it was. */
	if (old == NULL && syncset_check(s->path, why, sizeof(why)) == NULL) {
		x->skipped++;
		return 0;
	}
	hit = old != NULL && key_same(old, st);
	if (s->lazy) {
		if (old == want && hit &&
		    old->mode == syncset_mode(e, st->st_mode & 07777)) {
			x->nfiles++;
			return 0;
		}
		if (materialize(s) == -1)
			return -1;
	}
	if (s->in_place && (old == NULL || old != want) &&
	    leave_place(s) == -1)
		return -1;
	if (!s->in_place && old != NULL && s->walk_of != NULL)
		s->pk = s->walk_of[old - p->files] + 1;
	if (hit)
		memcpy(md5, old->md5, 16);
	else if (hash_at(dfd, name, st, md5) == -1)
		return skip_file(s);
	else
		x->hashed++;
	if ((f = next_file(s, old)) == NULL)
		return -1;
	memcpy(f->md5, md5, 16);
	f->mode = syncset_mode(e, st->st_mode & 07777);
	f->size = (uint64_t)st->st_size;
	f->mtime_ns = ns(&st->st_mtim);
	f->ctime_ns = ns(&st->st_ctim);
	f->ino = (uint64_t)st->st_ino;
	s->same = s->same && hit && old->mode == f->mode;
	if ((f->path = integ_strdup(x, s->path, plen)) == NULL)
		return -1;
	x->nfiles++;
	return 0;
}

/*
 * Read every entry of folder dfd onto s->dents, after those of the
 * folders being walked; *start is where this folder's begin.  An error
 * ends the folder, as it ends readdir().
 */
static int
read_dents(struct scan *s, int dfd, size_t *start)
{
	ssize_t	 n;
	size_t	 cap;
	char	*p;

	*start = s->dlen;
	for (;;) {
		if (s->dents_cap - s->dlen < DENTS_MIN) {
			cap = s->dents_cap ? s->dents_cap * 2 : 4 * DENTS_MIN;
			while (cap - s->dlen < DENTS_MIN)
				cap *= 2;
			if ((p = realloc(s->dents, cap)) == NULL)
				return -1;
			s->dents = p;
			s->dents_cap = cap;
		}
		n = getdents64(dfd, s->dents + s->dlen, s->dents_cap - s->dlen);
		if (n <= 0)
			return 0;
		s->dlen += (size_t)n;
	}
}

/*
 * Walk one folder of the set, open as dfd (closed here), its path the
 * first plen bytes of s->path, in the order the folder lists its names:
 * getdents64() straight into the scan's buffer, with no fstat() or
 * fcntl() per folder as fdopendir() does, then one fstatat() per name.
 * Subfolders are opened relative to it with O_NOFOLLOW, so a folder
 * swapped for a symlink during the scan is not followed, and names come
 * from the folder itself, so none holds a '/' or is "." or "..".
 */
static int
walk(struct scan *s, int dfd, size_t plen, const struct syncset_entry *e)
{
	const struct integ_index *pf = s->prev;
	struct dirent64	*de;
	struct stat	 st;
	size_t		 start, off, next, end, len, clen, k;
	int		 rv = -1, fd;

	if (add_dir(s, plen) == -1 || read_dents(s, dfd, &start) == -1)
		goto done;
	rv = 0;
	/* Offsets, not pointers: a subfolder's walk may move s->dents. */
	for (off = start, end = s->dlen; rv == 0 && off < end; off = next) {
		de = (struct dirent64 *)(void *)(s->dents + off);
		next = off + de->d_reclen;
		if (syncset_excluded_name(de->d_name))
			continue;
		len = strlen(de->d_name);
		clen = plen + 1 + len;
		if (clen >= sizeof(s->path)) {
			s->idx->skipped++;
			continue;
		}
		s->path[plen] = '/';
		memcpy(s->path + plen + 1, de->d_name, len + 1);
		/*
		 * While the walk places files as prev did, what this file
		 * needs from prev is known before its fstatat(): asked for
		 * now, it is in the cache when the call returns.  prev's
		 * entries are met in walk order, not in memory order, which
		 * no hardware prefetch foresees.
		 */
		if (s->in_place && (k = s->idx->nfiles) < pf->nfiles) {
			__builtin_prefetch(pf->files[pf->order[k]].path);
			if (k + 1 < pf->nfiles)
				__builtin_prefetch(&pf->files[pf->order[k + 1]]);
		}
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			s->idx->skipped++;
		else if (S_ISDIR(st.st_mode)) {
			fd = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
			if (fd != -1)
				rv = walk(s, fd, clen, e);
		} else if (S_ISREG(st.st_mode))
			rv = add_file(s, dfd, de->d_name, clen, &st, e);
		else
			s->idx->skipped++;
	}
	s->dlen = start;
done:
	close(dfd);
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

/* Two files of the walk, by path. */
static int
cmp_walked(const void *a, const void *b, void *arg)
{
	const struct integ_file	*files = arg;

	return strcmp(files[*(const uint32_t *)a].path,
	    files[*(const uint32_t *)b].path);
}

/*
 * Put the files met in walk order into path order, and keep the walk
 * order for the next scan.  Files found in prev go in the order of their
 * places there, which is path order: no comparison among them.  Only the
 * new ones are sorted, then merged in.
 */
static int
sort_walked(struct scan *s)
{
	struct integ_index	*x = s->idx;
	struct integ_file	*out = NULL;
	uint32_t		*by_slot = NULL, *fresh = NULL, *order = NULL;
	size_t			 n = x->nfiles, pn, nf = 0, b = 0, f = 0, i, k;
	int			 rv = -1;

	pn = s->prev != NULL ? s->prev->nfiles : 0;
	if (n == 0)
		return 0;
	if ((out = malloc(n * sizeof(*out))) == NULL ||
	    (fresh = malloc(n * sizeof(*fresh))) == NULL ||
	    (order = malloc(n * sizeof(*order))) == NULL ||
	    (pn > 0 && (by_slot = malloc(pn * sizeof(*by_slot))) == NULL))
		goto fail;
	for (b = 0; b < pn; b++)
		by_slot[b] = NO_SLOT;
	for (i = 0; i < n; i++) {
		if (s->slot[i] != NO_SLOT && by_slot[s->slot[i]] == NO_SLOT)
			by_slot[s->slot[i]] = (uint32_t)i;
		else
			fresh[nf++] = (uint32_t)i;
	}
	if (nf > 1)
		qsort_r(fresh, nf, sizeof(*fresh), cmp_walked, x->files);
	for (b = 0, k = 0; k < n; k++) {
		while (b < pn && by_slot[b] == NO_SLOT)
			b++;
		if (b < pn && (f == nf || strcmp(x->files[by_slot[b]].path,
		    x->files[fresh[f]].path) < 0))
			i = by_slot[b++];
		else
			i = fresh[f++];
		out[k] = x->files[i];
		order[i] = (uint32_t)k;
	}
	free(x->files);
	x->files = out;
	x->order = order;
	out = NULL;
	order = NULL;
	rv = 0;
fail:
	free(out);
	free(fresh);
	free(order);
	free(by_slot);
	return rv;
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
	struct integ_index *x;
	double		 t0 = mono_now();
	size_t		 i;

	memset(&s, 0, sizeof(s));
	s.prev = prev;
	if ((x = s.idx = integ_new()) == NULL)
		goto fail;
	if (prev != NULL && prev->order != NULL && prev->nfiles > 0)
		s.lazy = s.in_place = s.same = 1;
	for (i = 0; i < syncset_count; i++)
		if (scan_entry(&s, home, &syncset_table[i]) == -1)
			goto fail;
	if (s.lazy && x->nfiles == prev->nfiles && x->ndirs == prev->ndirs) {
		integ_share(x, prev);
		goto done;
	}
	if (s.lazy && materialize(&s) == -1)
		goto fail;
	/* Files of prev not met at the end of the walk: gone. */
	if (s.in_place && x->nfiles < prev->nfiles && leave_place(&s) == -1)
		goto fail;
	if (s.in_place) {
		if ((x->order = malloc(x->nfiles * sizeof(*x->order))) ==
		    NULL)
			goto fail;
		memcpy(x->order, prev->order, x->nfiles * sizeof(*x->order));
	} else if (sort_walked(&s) == -1)
		goto fail;
	if (s.same)
		memcpy(x->digest, prev->digest, sizeof(x->digest));
	else
		integ_digest(x);
done:
	free(s.slot);
	free(s.walk_of);
	free(s.dents);
	x->duration = mono_now() - t0;
	return x;
fail:
	free(s.slot);
	free(s.walk_of);
	free(s.dents);
	integ_unref(s.idx);
	return NULL;
}
