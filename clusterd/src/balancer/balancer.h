/*
 * balancer: the balancer role.  It joins the cluster over the same link as
 * a worker (the uplink), learns the pools from the master
 * (FRAME_POOLS), and keeps the local HAProxy equal to them through the
 * Runtime API: adds servers that joined, drains then deletes those that
 * left, sets the states operators asked for.  It rewrites the persisted
 * haproxy.cfg pool blocks and saves the server-state file, so a HAProxy
 * reload or restart keeps the pools, and reports what HAProxy holds.
 */
#ifndef CLUSTERD_BALANCER_H
#define CLUSTERD_BALANCER_H

#include "uplink/uplink.h"

extern const struct uplink_role balancer_role;

#endif
