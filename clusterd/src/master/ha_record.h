/*
 * ha_record: an agent's durable record as the cluster store (etcd) holds
 * it under <prefix>/a/<id>: every field the registry needs to give the
 * agent the same key and id on any master-eligible node; a removed agent
 * leaves a tombstone there (the key, an empty value), so that a standby
 * reading what changed since a revision sees the removal.  Read back from
 * the store, checked like any bytes from the network.
 */
#ifndef CLUSTERD_HA_RECORD_H
#define CLUSTERD_HA_RECORD_H

#include <stddef.h>

#include <cjson/cJSON.h>

struct agent;

cJSON		*ha_record_json(const struct agent *);
struct agent	*ha_record_agent(const cJSON *, char *err, size_t errlen);
/* Do two agents carry the same durable record? */
int		 ha_record_same(const struct agent *, const struct agent *);
/*
 * The kvs of range answers over <prefix>a/ and <prefix>g/ (all keys, or
 * those changed since a revision) as the registry's changes:
 * {"agents":[records],"removed":[ids],"groups":{id:groups}}.  An a/ key
 * with an empty value is a removed agent's tombstone.  NULL, with err,
 * when a key or a value is not what the store holds.
 */
cJSON		*ha_record_delta(const cJSON *akvs, const cJSON *gkvs,
		    char *err, size_t errlen);

#endif
