/*
 * ha_record: an agent's durable record as the cluster store (etcd) holds
 * it under <prefix>/a/<id>: every field the registry needs to give the
 * agent the same key and id on any master-eligible node.  Read back from
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

#endif
