/*
 * fuzz_ha_record: ha_record_delta() and ha_record_agent() on arbitrary
 * JSON, as a standby reads etcd's range answers over the agents' keys:
 * {"a":[kvs],"g":[kvs]}.  An accepted answer gives lists of the expected
 * kinds, and every record in it goes through the record check.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agents.h"
#include "master/ha_record.h"

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON		*in = cJSON_ParseWithLength((const char *)data, size), *d;
	const cJSON	*r;
	struct agent	*a;
	char		 err[128];

	if (in == NULL)
		return 0;
	err[0] = '\0';
	d = ha_record_delta(cJSON_GetObjectItemCaseSensitive(in, "a"),
	    cJSON_GetObjectItemCaseSensitive(in, "g"), err, sizeof(err));
	if (d == NULL)
		CHECK(err[0] != '\0');
	else {
		CHECK(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(d,
		    "agents")));
		CHECK(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(d,
		    "removed")));
		CHECK(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(d,
		    "groups")));
		cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(d,
		    "agents"))
			if ((a = ha_record_agent(r, err, sizeof(err))) != NULL)
				agent_free(a);
		cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(d,
		    "removed"))
			CHECK(cJSON_IsString(r) &&
			    agents_valid_id(r->valuestring));
	}
	cJSON_Delete(d);
	cJSON_Delete(in);
	return 0;
}
