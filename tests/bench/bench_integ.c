/*
 * bench_integ: time the master's local integrity pass over a home, cold
 * (every file hashed) and warm (the previous index as cache: stat only).
 * Prints one JSON object: medians in seconds over the runs.
 *   usage: bench_integ HOME [RUNS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

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

int
main(int argc, char *argv[])
{
	struct integ_index	*idx, *prev = NULL;
	double			 cold[64], warm[64], t;
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
	for (i = 0; i < runs; i++) {
		t = now();
		if ((idx = integ_scan(argv[1], prev)) == NULL)
			return 1;
		warm[i] = now() - t;
		hashed_warm += idx->hashed;
		integ_unref(prev);
		prev = idx;
	}
	integ_unref(prev);
	qsort(cold, (size_t)runs, sizeof(double), cmp_d);
	qsort(warm, (size_t)runs, sizeof(double), cmp_d);
	printf("{\"files\": %zu, \"runs\": %d, \"cold_median\": %.6f, "
	    "\"warm_median\": %.6f, \"warm_hashed\": %zu}\n", files, runs,
	    cold[runs / 2], warm[runs / 2], hashed_warm);
	return 0;
}
