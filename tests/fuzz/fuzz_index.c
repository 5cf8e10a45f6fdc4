/*
 * fuzz_index: a peer's integrity index on arbitrary bytes.
 *
 * The input is parsed as JSON (cJSON_ParseWithLength) and, separately,
 * inflated as a compressed control payload (frame_json_inflate); whatever
 * parses goes to integ_from_json().  An index it accepts must keep every
 * promise integ.h makes: paths of the set, unique and sorted, modes in
 * range, a digest that matches, and a JSON form that comes back the same.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/frame.h"
#include "sync/integ.h"
#include "sync/syncset.h"

#include "fuzz.h"

/* Undefined behaviour is a finding: stop on it like on a crash. */
const char *__ubsan_default_options(void);
const char *
__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1";
}

static void
check_accepted(struct integ_index *x)
{
	struct integ_index	*back, empty;
	struct integ_plan	 plan;
	uint8_t			 d[16];
	char			 why[128], err[256];
	cJSON			*j;
	size_t			 i;

	CHECK(x->refs == 1);
	CHECK(x->nfiles == 0 || x->files != NULL);
	for (i = 0; i < x->nfiles; i++) {
		CHECK(x->files[i].path != NULL);
		CHECK(syncset_check(x->files[i].path, why, sizeof(why)) !=
		    NULL);
		CHECK(x->files[i].mode <= 07777);
		if (i > 0)
			CHECK(strcmp(x->files[i - 1].path, x->files[i].path) <
			    0);
		CHECK(integ_find(x, x->files[i].path) == &x->files[i]);
	}
	memcpy(d, x->digest, 16);
	integ_digest(x);
	CHECK(memcmp(d, x->digest, 16) == 0);
	/* Out and back in: the same index. */
	CHECK((j = integ_to_json(x)) != NULL);
	back = integ_from_json(j, err, sizeof(err));
	cJSON_Delete(j);
	CHECK(back != NULL);
	CHECK(back->nfiles == x->nfiles);
	CHECK(memcmp(back->digest, x->digest, 16) == 0);
	for (i = 0; i < x->nfiles; i++) {
		CHECK(strcmp(back->files[i].path, x->files[i].path) == 0);
		CHECK(memcmp(back->files[i].md5, x->files[i].md5, 16) == 0);
		CHECK(back->files[i].mode == x->files[i].mode);
	}
	/* Against itself nothing to do; against nothing, all to create. */
	CHECK(integ_diff(x, back, &plan) == 0);
	CHECK(plan.ncreate == 0 && plan.nupdate == 0 && plan.nremove == 0);
	integ_plan_free(&plan);
	memset(&empty, 0, sizeof(empty));
	CHECK(integ_diff(x, &empty, &plan) == 0);
	CHECK(plan.ncreate == x->nfiles && plan.nremove == 0);
	for (i = 0; i < plan.ncreate; i++)
		CHECK(plan.create[i] == i);
	integ_plan_free(&plan);
	CHECK(integ_diff(&empty, x, &plan) == 0);
	CHECK(plan.nremove == x->nfiles && plan.ncreate == 0);
	integ_plan_free(&plan);
	integ_unref(back);
}

static void
try_index(const cJSON *j)
{
	struct integ_index	*x;
	char			 err[256];

	err[0] = '\0';
	if ((x = integ_from_json(j, err, sizeof(err))) == NULL) {
		CHECK(err[0] != '\0');
		CHECK(memchr(err, '\0', sizeof(err)) != NULL);
		return;
	}
	check_accepted(x);
	integ_unref(x);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON	*j;

	if ((j = cJSON_ParseWithLength((const char *)data, size)) != NULL) {
		try_index(j);
		cJSON_Delete(j);
	}
	if ((j = frame_json_inflate(data, size)) != NULL) {
		CHECK(cJSON_IsObject(j));
		try_index(j);
		cJSON_Delete(j);
	}
	return 0;
}
