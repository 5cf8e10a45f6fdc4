#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/safefs.h"
#include "sync/apply.h"
#include "sync/syncset.h"

#define TASK	"Integrity sync"
#define APPLY_FSYNC_MAX	32	/* files in a round flushed one by one */

static int
note_change(struct apply_changes *c, const char *path)
{
	char	**p;

	if ((c->n & (c->n - 1)) == 0) {
		if ((p = realloc(c->paths, (c->n ? c->n * 2 : 1) *
		    sizeof(*p))) == NULL)
			return -1;
		c->paths = p;
	}
	if ((c->paths[c->n] = strdup(path)) == NULL)
		return -1;
	c->n++;
	return 0;
}

void
apply_changes_free(struct apply_changes *c)
{
	size_t	i;

	for (i = 0; i < c->n; i++)
		free(c->paths[i]);
	free(c->paths);
	c->paths = NULL;
	c->n = 0;
}

/* Remove the temp file of an entry that will not be installed. */
static void
drop_temp(const char *home, struct safefs_dircache *dc, struct bundle_file *f)
{
	char		 dir[SYNCSET_PATH_MAX], err[128];
	const char	*base;
	int		 dfd;

	if (f->tmpname == NULL || safefs_split(f->path, dir, sizeof(dir),
	    &base) == -1 || (dfd = safefs_cache_open(dc, home, dir, 0, err,
	    sizeof(err))) == -1)
		return;
	unlinkat(dfd, f->tmpname, 0);
}

/* Install one received file: mode, then rename over the target. */
static int
install(const char *home, struct safefs_dircache *dc, struct bundle_file *f)
{
	const struct syncset_entry *e;
	char		 dir[SYNCSET_PATH_MAX], err[256];
	const char	*base;
	int		 dfd;

	if (safefs_split(f->path, dir, sizeof(dir), &base) == -1 ||
	    (dfd = safefs_cache_open(dc, home, dir, 0, err, sizeof(err))) ==
	    -1) {
		log_errx(TASK, "Cannot install %s: %s", f->path, err);
		return -1;
	}
	/* The set's mask, whatever the plan said: never setuid or exec. */
	if ((e = syncset_check(f->path, err, sizeof(err))) == NULL) {
		log_errx(TASK, "Refused to install %s: %s", f->path, err);
		unlinkat(dfd, f->tmpname, 0);
		return -1;
	}
	if (fchmodat(dfd, f->tmpname, syncset_mode(e, f->mode), 0) == -1 ||
	    renameat(dfd, f->tmpname, dfd, base) == -1) {
		log_err(TASK, "Cannot install %s", f->path);
		unlinkat(dfd, f->tmpname, 0);
		return -1;
	}
	return 0;
}

/*
 * Remove rel's folder and its parents while they are empty, stopping at
 * the set entry's own folder, which stays.
 */
static void
prune_empty(const char *home, const char *rel)
{
	char		 dir[SYNCSET_PATH_MAX], parent[SYNCSET_PATH_MAX], e[128];
	const char	*base, *name;
	size_t		 i, rootlen;
	int		 pfd, rv;

	snprintf(dir, sizeof(dir), "%s", rel);
	for (;;) {
		if (safefs_split(dir, parent, sizeof(parent), &base) == -1)
			return;
		/* dir is now the folder to try; stop at a set root. */
		snprintf(dir, sizeof(dir), "%s", parent);
		for (i = 0; i < syncset_count; i++) {
			rootlen = strlen(syncset_table[i].path);
			if (strlen(dir) <= rootlen &&
			    strncmp(syncset_table[i].path, dir,
			    strlen(dir)) == 0)
				return;
		}
		if (safefs_split(dir, parent, sizeof(parent), &name) == -1 ||
		    (pfd = safefs_open_dir(home, parent, 0, e, sizeof(e))) ==
		    -1)
			return;
		rv = unlinkat(pfd, name, AT_REMOVEDIR);
		close(pfd);
		if (rv == -1)
			return;
	}
}

static int
remove_extra(const char *home, const char *rel)
{
	char		 dir[SYNCSET_PATH_MAX], err[256];
	const char	*base;
	int		 dfd, rv;

	if (syncset_check(rel, err, sizeof(err)) == NULL) {
		log_warnx(TASK, "Refused to remove \"%s\": %s", rel, err);
		return -1;
	}
	if (safefs_split(rel, dir, sizeof(dir), &base) == -1)
		return -1;
	if ((dfd = safefs_open_dir(home, dir, 0, err, sizeof(err))) == -1)
		return errno == ENOENT ? 0 : -1;
	rv = unlinkat(dfd, base, 0);
	if (rv == -1 && errno == ENOENT)
		rv = 0;
	else if (rv == -1)
		log_err(TASK, "Cannot remove %s", rel);
	close(dfd);
	if (rv == 0)
		prune_empty(home, rel);
	return rv;
}

/*
 * Flush the file system holding home: for a large round one syncfs()
 * covers every file and folder written, where per-file fsyncs would cost
 * a flush each.
 */
static void
sync_home(const char *home)
{
	int	fd;

	if ((fd = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    syncfs(fd) == -1)
		log_warn(TASK, "syncfs %s", home);
	if (fd != -1)
		close(fd);
}

/*
 * A small round (the common case: one rule edited, client.keys rewritten)
 * flushes just its own files, so it does not wait for everything else
 * dirty on the file system, as syncfs() would.
 */
static void
flush_temps(const char *home, struct bundle_file *files, size_t n)
{
	struct safefs_dircache	 dc;
	char			 dir[SYNCSET_PATH_MAX], err[128];
	const char		*base;
	size_t			 i;
	int			 dfd, fd;

	safefs_cache_init(&dc);
	for (i = 0; i < n; i++) {
		if (!files[i].received || files[i].tmpname == NULL ||
		    safefs_split(files[i].path, dir, sizeof(dir), &base) ==
		    -1 || (dfd = safefs_cache_open(&dc, home, dir, 0, err,
		    sizeof(err))) == -1)
			continue;
		if ((fd = openat(dfd, files[i].tmpname, O_RDONLY | O_NOFOLLOW |
		    O_CLOEXEC)) == -1)
			continue;
		if (fsync(fd) == -1)
			log_warn(TASK, "fsync %s", files[i].path);
		close(fd);
	}
	safefs_cache_close(&dc);
}

/* fsync the folder of each path (consecutive duplicates skipped). */
static void
flush_dirs(const char *home, struct bundle_file *files, size_t n,
    char *const *remove, size_t nremove)
{
	char		 dir[SYNCSET_PATH_MAX], last[SYNCSET_PATH_MAX] = "";
	char		 err[128];
	const char	*base, *path;
	size_t		 i;
	int		 dfd;

	for (i = 0; i < n + nremove; i++) {
		path = i < n ? files[i].path : remove[i - n];
		if (safefs_split(path, dir, sizeof(dir), &base) == -1 ||
		    strcmp(dir, last) == 0)
			continue;
		snprintf(last, sizeof(last), "%s", dir);
		if ((dfd = safefs_open_dir(home, dir, 0, err, sizeof(err))) ==
		    -1)
			continue;
		fsync(dfd);
		close(dfd);
	}
}

/*
 * Install every received file and remove the extras.  Stale files (changed
 * on the master while in flight) are dropped; the next round brings them.
 */
int
apply_bundle(const char *home, struct bundle_file *files, size_t n,
    char *const *remove, size_t nremove, struct apply_stats *st,
    struct apply_changes *ch)
{
	struct safefs_dircache	 dc;
	size_t			 i;
	int			 rv = -1, small;

	memset(st, 0, sizeof(*st));
	memset(ch, 0, sizeof(*ch));
	safefs_cache_init(&dc);
	/* Every temp file's content on disk before any rename makes it live. */
	small = n + nremove <= APPLY_FSYNC_MAX;
	if (small)
		flush_temps(home, files, n);
	else
		sync_home(home);
	for (i = 0; i < n; i++) {
		struct bundle_file *f = &files[i];

		if (f->stale || !f->received) {
			drop_temp(home, &dc, f);
			st->stale++;
			continue;
		}
		if (install(home, &dc, f) == -1) {
			st->failed++;
			continue;
		}
		if (f->is_new)
			st->created++;
		else
			st->updated++;
		if (note_change(ch, f->path) == -1)
			goto done;
	}
	safefs_cache_close(&dc);
	for (i = 0; i < nremove; i++) {
		if (remove_extra(home, remove[i]) == -1) {
			st->failed++;
			continue;
		}
		st->deleted++;
		if (note_change(ch, remove[i]) == -1)
			goto done;
	}
	/* The renames and removals themselves (folder entries) on disk. */
	if (small)
		flush_dirs(home, files, n, remove, nremove);
	else
		sync_home(home);
	rv = 0;
done:
	safefs_cache_close(&dc);
	return rv;
}

static void
cleanup_dir(int dfd)
{
	struct dirent	*de;
	struct stat	 sb;
	DIR		*d;
	int		 cfd;

	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (strncmp(de->d_name, SYNCSET_TMP_PREFIX,
		    strlen(SYNCSET_TMP_PREFIX)) == 0) {
			unlinkat(dirfd(d), de->d_name, 0);
			continue;
		}
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) ==
		    0 && S_ISDIR(sb.st_mode) && (cfd = openat(dirfd(d),
		    de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC)) != -1)
			cleanup_dir(cfd);
	}
	closedir(d);
}

/* Remove temp files a sync cut off by a crash left behind. */
void
apply_cleanup_temps(const char *home)
{
	char		 err[128];
	size_t		 i;
	int		 dfd;

	for (i = 0; i < syncset_count; i++) {
		dfd = safefs_open_dir(home, syncset_table[i].path, 0, err,
		    sizeof(err));
		if (dfd != -1)
			cleanup_dir(dfd);
	}
}
