/*
 * fuzz_nodelist: nodelist_parse() on arbitrary bytes, as the master reads
 * a nodes_file.  A list it accepts holds valid, distinct, sorted names,
 * each found again by nodelist_find(), with a known role and a generation
 * in range.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/nodelist.h"

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nodelist	 l;
	char		 err[256];
	size_t		 i;

	if (nodelist_parse((const char *)data, size, &l, err, sizeof(err)) ==
	    -1) {
		CHECK(l.v == NULL && l.n == 0 && err[0] != '\0');
		return 0;
	}
	CHECK(l.n <= NODELIST_MAX);
	for (i = 0; i < l.n; i++) {
		CHECK(config_valid_name(l.v[i].name));
		CHECK(l.v[i].revoked || l.v[i].type == NODE_WORKER ||
		    l.v[i].type == NODE_BALANCER ||
		    l.v[i].type == NODE_MASTER);	/* a standby */
		CHECK(l.v[i].generation >= 1 &&
		    l.v[i].generation <= NODELIST_GEN_MAX);
		CHECK(i == 0 || strcmp(l.v[i - 1].name, l.v[i].name) < 0);
		CHECK(nodelist_find(&l, l.v[i].name) == &l.v[i]);
	}
	nodelist_free(&l);
	return 0;
}
