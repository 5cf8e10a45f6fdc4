/*
 * bench_integ: time the master's local integrity pass over a home, cold
 * (every file hashed) and warm (the previous index as cache: stat only),
 * and, as the floor a warm pass can approach, a bare walk of the same
 * folders of the set in the same order that reads each folder's entries
 * (getdents64, what readdir does underneath) and does one fstatat per name
 * and nothing else.
 * Prints one JSON object: medians in seconds over the runs.
 *   usage: bench_integ HOME [RUNS]
 */
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sync/integ.h"
#include "sync/syncset.h"

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
cmp_d(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#define FLOOR_DEPTH	64
#define FLOOR_BUF	65536

/* One getdents64() buffer per folder depth. */
static char	floor_buf[FLOOR_DEPTH][FLOOR_BUF]
		    __attribute__((aligned(8)));

/*
 * The floor: the folder's entries as the kernel lists them, one fstatat()
 * per name, each subfolder opened (O_NOFOLLOW) and walked when met; dfd is
 * closed here.  Files counted.
 */
static size_t
stat_walk(int dfd, int depth)
{
	struct dirent64	*de;
	struct stat	 st;
	char		*buf = floor_buf[depth];
	size_t		 n = 0;
	ssize_t		 len, off;
	int		 fd;

	while ((len = getdents64(dfd, buf, FLOOR_BUF)) > 0) {
		for (off = 0; off < len; off += de->d_reclen) {
			de = (struct dirent64 *)(void *)(buf + off);
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0 ||
			    fstatat(dfd, de->d_name, &st,
			    AT_SYMLINK_NOFOLLOW) == -1)
				continue;
			if (!S_ISDIR(st.st_mode))
				n++;
			else if (depth + 1 < FLOOR_DEPTH && (fd = openat(dfd,
			    de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			    O_CLOEXEC)) != -1)
				n += stat_walk(fd, depth + 1);
		}
	}
	close(dfd);
	return n;
}

/* The floor over every folder of the set, in the scan's order. */
static size_t
stat_set(const char *home)
{
	char	path[4096];
	size_t	i, n = 0;
	int	fd;

	for (i = 0; i < syncset_count; i++) {
		snprintf(path, sizeof(path), "%s/%s", home,
		    syncset_table[i].path);
		fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (fd != -1)
			n += stat_walk(fd, 0);
	}
	return n;
}

int
main(int argc, char *argv[])
{
	struct integ_index	*idx, *prev = NULL;
	double			 cold[64], warm[64], bare[64], t;
	int			 runs = argc > 2 ? atoi(argv[2]) : 9, i;
	size_t			 files = 0, hashed_warm = 0, stat_files = 0;

	if (argc < 2 || runs < 1 || runs > 64) {
		fprintf(stderr, "usage: bench_integ HOME [RUNS<=64]\n");
		return 2;
	}
	for (i = 0; i < runs; i++) {
		t = now();
		if ((idx = integ_scan(argv[1], NULL)) == NULL)
			return 1;
		cold[i] = now() - t;
		files = idx->nfiles;
		integ_unref(prev);
		prev = idx;
	}
	/* Warm passes and bare walks in turn: a busy machine slows both. */
	for (i = 0; i < runs; i++) {
		t = now();
		if ((idx = integ_scan(argv[1], prev)) == NULL)
			return 1;
		warm[i] = now() - t;
		hashed_warm += idx->hashed;
		integ_unref(prev);
		prev = idx;
		t = now();
		stat_files = stat_set(argv[1]);
		bare[i] = now() - t;
	}
	integ_unref(prev);
	qsort(cold, (size_t)runs, sizeof(double), cmp_d);
	qsort(warm, (size_t)runs, sizeof(double), cmp_d);
	qsort(bare, (size_t)runs, sizeof(double), cmp_d);
	printf("{\"files\": %zu, \"runs\": %d, \"cold_median\": %.6f, "
	    "\"warm_median\": %.6f, \"warm_hashed\": %zu, "
	    "\"stat_median\": %.6f, \"stat_files\": %zu}\n", files, runs,
	    cold[runs / 2], warm[runs / 2], hashed_warm, bare[runs / 2],
	    stat_files);
	return 0;
}
