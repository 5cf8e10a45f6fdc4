#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/safefs.h"

/*
 * Open home/reldir as a folder, component by component, refusing symlinks
 * and non-folders; with create, missing folders are made (0750).  Returns
 * a descriptor, or -1 with err set.
 */
int
safefs_open_dir(const char *home, const char *reldir, int create, char *err,
    size_t errlen)
{
	char	 comp[256];
	const char *p, *slash;
	size_t	 n;
	int	 fd, nfd;

	if ((fd = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "cannot open %s: %s", home,
		    strerror(errno));
		return -1;
	}
	for (p = reldir; *p != '\0'; p = slash != NULL ? slash + 1 : p + n) {
		slash = strchr(p, '/');
		n = slash != NULL ? (size_t)(slash - p) : strlen(p);
		if (n == 0 || n >= sizeof(comp)) {
			snprintf(err, errlen, "bad folder name in %s", reldir);
			goto fail;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		if (create && mkdirat(fd, comp, 0750) == -1 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", reldir,
			    strerror(errno));
			goto fail;
		}
		nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (nfd == -1) {
			snprintf(err, errlen, "%s: %s", reldir,
			    errno == ELOOP || errno == ENOTDIR ?
			    "a component is a symlink or not a folder" :
			    strerror(errno));
			goto fail;
		}
		close(fd);
		fd = nfd;
		if (slash == NULL)
			break;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/* Split "a/b/c" into dir "a/b" and base "c"; -1 if there is no folder. */
int
safefs_split(const char *rel, char *dir, size_t dirlen, const char **base)
{
	const char	*slash = strrchr(rel, '/');

	if (slash == NULL || (size_t)(slash - rel) >= dirlen)
		return -1;
	memcpy(dir, rel, (size_t)(slash - rel));
	dir[slash - rel] = '\0';
	*base = slash + 1;
	return 0;
}

void
safefs_cache_init(struct safefs_dircache *c)
{
	c->path[0] = '\0';
	c->fd = -1;
}

/* Like safefs_open_dir, but the descriptor belongs to the cache. */
int
safefs_cache_open(struct safefs_dircache *c, const char *home,
    const char *reldir, int create, char *err, size_t errlen)
{
	if (c->fd != -1 && strcmp(c->path, reldir) == 0)
		return c->fd;
	safefs_cache_close(c);
	if (strlen(reldir) >= sizeof(c->path)) {
		snprintf(err, errlen, "folder path too long");
		return -1;
	}
	if ((c->fd = safefs_open_dir(home, reldir, create, err, errlen)) != -1)
		strcpy(c->path, reldir);
	return c->fd;
}

void
safefs_cache_close(struct safefs_dircache *c)
{
	if (c->fd != -1)
		close(c->fd);
	safefs_cache_init(c);
}

/* Empty the folder open as dfd, never following symlinks; closes dfd. */
static int
empty_dir(int dfd)
{
	struct dirent	*de;
	struct stat	 sb;
	DIR		*d;
	int		 cfd, rv = 0;

	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) ==
		    -1)
			continue;
		if (S_ISDIR(sb.st_mode)) {
			cfd = openat(dirfd(d), de->d_name, O_RDONLY |
			    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd == -1 || empty_dir(cfd) == -1 ||
			    unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) == -1)
				rv = -1;
		} else if (unlinkat(dirfd(d), de->d_name, 0) == -1)
			rv = -1;
	}
	closedir(d);
	return rv;
}

/*
 * Remove home/rel and everything below it, without ever leaving the tree
 * through a symlink (a symlink is removed, not followed).
 */
int
safefs_remove_tree(const char *home, const char *rel)
{
	char		 parent[1024], err[256];
	const char	*base;
	int		 pfd, dfd, rv;

	if (safefs_split(rel, parent, sizeof(parent), &base) == -1 ||
	    (pfd = safefs_open_dir(home, parent, 0, err, sizeof(err))) == -1)
		return -1;
	dfd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (dfd == -1) {
		rv = errno == ENOENT ? 0 : unlinkat(pfd, base, 0);
		close(pfd);
		return rv;
	}
	rv = empty_dir(dfd);
	if (rv == 0)
		rv = unlinkat(pfd, base, AT_REMOVEDIR);
	close(pfd);
	return rv;
}
