/*
 * What every fuzz target shares: libFuzzer's entry point, and CHECK, an
 * invariant that aborts (so libFuzzer keeps the input) when it fails.
 */
#ifndef CLUSTERD_FUZZ_H
#define CLUSTERD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

#endif
