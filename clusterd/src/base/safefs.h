/*
 * safefs: file system steps for writing received files under a home
 * without ever following a symlink, even one planted inside the home:
 * folders are opened one component at a time with O_NOFOLLOW.
 */
#ifndef CLUSTERD_SAFEFS_H
#define CLUSTERD_SAFEFS_H

#include <stddef.h>

int	safefs_open_dir(const char *home, const char *reldir, int create,
	    char *err, size_t errlen);
int	safefs_split(const char *rel, char *dir, size_t dirlen,
	    const char **base);

/*
 * The last folder opened, kept open: files of a bundle come sorted by path,
 * so consecutive files mostly share a folder and skip the walk.
 */
struct safefs_dircache {
	char	path[1024];
	int	fd;
};

void	safefs_cache_init(struct safefs_dircache *);
int	safefs_cache_open(struct safefs_dircache *, const char *home,
	    const char *reldir, int create, char *err, size_t errlen);
void	safefs_cache_close(struct safefs_dircache *);
int	safefs_remove_tree(const char *home, const char *rel);

#endif
