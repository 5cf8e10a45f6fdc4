/*
 * worker: the worker role (file sync, agent keys, enrollment relay and
 * the agents' port), run over the uplink to the master.
 */
#ifndef CLUSTERD_WORKER_H
#define CLUSTERD_WORKER_H

#include "uplink/uplink.h"

extern const struct uplink_role worker_role;

#endif
