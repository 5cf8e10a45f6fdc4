#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "safefs.h"

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
