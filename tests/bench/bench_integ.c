/*
 * bench_integ: time the master's local integrity pass over a home, cold
 * (every file hashed) and warm (the previous index as cache: stat only),
 * and, as the floor a warm pass can approach, a bare walk of HOME/etc that
 * does readdir and one fstatat per name and nothing else.
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

/* The floor: readdir, and fstatat on each name, folders walked. */
static size_t
stat_walk(int dfd)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	size_t		 n = 0;
	int		 fd;

	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
		    -1)
			continue;
		if (S_ISDIR(st.st_mode)) {
			fd = openat(dirfd(d), de->d_name, O_RDONLY |
			    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd != -1)
				n += stat_walk(fd);
		} else
			n++;
	}
	closedir(d);
	return n;
}

int
main(int argc, char *argv[])
{
	struct integ_index	*idx, *prev = NULL;
	double			 cold[64], warm[64], bare[64], t;
	char			 etc[4096];
	int			 runs = argc > 2 ? atoi(argv[2]) : 9, i;
	size_t			 files = 0, hashed_warm = 0;

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
	snprintf(etc, sizeof(etc), "%s/etc", argv[1]);
	for (i = 0; i < runs; i++) {
		t = now();
		if ((idx = integ_scan(argv[1], prev)) == NULL)
			return 1;
		warm[i] = now() - t;
		hashed_warm += idx->hashed;
		integ_unref(prev);
		prev = idx;
		t = now();
		stat_walk(open(etc, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
		bare[i] = now() - t;
	}
	integ_unref(prev);
	qsort(cold, (size_t)runs, sizeof(double), cmp_d);
	qsort(warm, (size_t)runs, sizeof(double), cmp_d);
	qsort(bare, (size_t)runs, sizeof(double), cmp_d);
	printf("{\"files\": %zu, \"runs\": %d, \"cold_median\": %.6f, "
	    "\"warm_median\": %.6f, \"warm_hashed\": %zu, "
	    "\"stat_median\": %.6f}\n", files, runs, cold[runs / 2],
	    warm[runs / 2], hashed_warm, bare[runs / 2]);
	return 0;
}
