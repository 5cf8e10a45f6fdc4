/*
 * integ: integrity indexes of the synchronized set.
 *
 * An index lists every file of the set under a home, sorted by path, with
 * MD5, permission bits, size and modification time, plus a digest of the
 * whole tree.  A scan (integ_scan.c) reuses the previous index as its
 * cache: a file whose cache key did not change keeps its MD5 without being
 * opened, so a pass over an unchanged tree costs one fstatat() per file.
 * An index built by a scan also keeps the order its walk met the files
 * in, so the next scan, walking the same folders in the same order, finds
 * each file's previous entry with one comparison and puts it in place
 * without sorting.  When the tree is unchanged, the new index shares the
 * previous one's arrays (base) instead of copying them.
 * Indexes are immutable once built and reference counted, so the scanning
 * thread and the loop can share them.  The cache key is size, mtime, ctime
 * and inode: a rewrite of the same size in the same mtime tick, or a
 * restore that sets mtime back (cp -p, tar), still changes ctime or the
 * inode.
 */
#ifndef CLUSTERD_INTEG_H
#define CLUSTERD_INTEG_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct integ_file {
	char		*path;		/* relative to the home */
	uint8_t		 md5[16];
	mode_t		 mode;		/* permission bits, masked by the set */
	uint64_t	 size;
	int64_t		 mtime_ns;
	int64_t		 ctime_ns;	/* with ino: the cache key */
	uint64_t	 ino;
};

struct integ_strblock;

struct integ_index {
	int			 refs;
	struct integ_index	*base;		/* owns files, order, dirs and
						 * strings when not NULL */
	struct integ_strblock	*strings;	/* paths and dirs live here */
	struct integ_file	*files;
	size_t			 nfiles;
	uint32_t		*order;		/* walk order: files[order[k]]
						 * was the k-th file met; NULL
						 * unless built by a scan */
	char			**dirs;		/* folders seen, for inotify */
	size_t			 ndirs;
	uint8_t			 digest[16];
	size_t			 hashed;	/* files read by the scan */
	size_t			 skipped;	/* symlinks, specials, bad names */
	double			 duration;	/* seconds the scan took */
};

/* Indices into the master's index (create, update) and worker's (delete). */
struct integ_plan {
	size_t	*create;
	size_t	 ncreate;
	size_t	*update;
	size_t	 nupdate;
	size_t	*remove;
	size_t	 nremove;
};

struct integ_index *integ_scan(const char *home, const struct integ_index *prev);
struct integ_index *integ_new(void);
void	 integ_share(struct integ_index *, const struct integ_index *same);
char	*integ_strdup(struct integ_index *, const char *, size_t len);
int	 integ_cmp_file(const void *, const void *);
struct integ_index *integ_ref(struct integ_index *);
void	 integ_unref(struct integ_index *);
const struct integ_file *integ_find(const struct integ_index *,
	    const char *path);
void	 integ_digest(struct integ_index *);
int	 integ_md5_file(int fd, uint8_t md5[16], uint64_t *size);
void	 integ_hex(const uint8_t md5[16], char out[33]);
int	 integ_unhex(const char *hex, uint8_t md5[16]);

cJSON	*integ_to_json(const struct integ_index *);
struct integ_index *integ_from_json(const cJSON *, char *err, size_t errlen);

int	 integ_diff(const struct integ_index *master,
	    const struct integ_index *worker, struct integ_plan *);
void	 integ_plan_free(struct integ_plan *);

#endif
