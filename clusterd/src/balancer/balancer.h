/*
 * balancer: the balancer role.  It joins the cluster over the same link as
 * a worker (worker.c keeps that link), learns the pools from the master
 * (FRAME_POOLS), and keeps the local HAProxy equal to them through the
 * Runtime API: adds servers that joined, drains then deletes those that
 * left, sets the states operators asked for.  It rewrites the persisted
 * haproxy.cfg pool blocks and saves the server-state file, so a HAProxy
 * reload or restart keeps the pools, and reports what HAProxy holds.
 */
#ifndef CLUSTERD_BALANCER_H
#define CLUSTERD_BALANCER_H

#include <cjson/cJSON.h>

#include "frame.h"
#include "link.h"
#include "node.h"

int	 balancer_start(struct node *);
void	 balancer_stop(void);
void	 balancer_link_up(struct link *);
void	 balancer_link_down(void);
int	 balancer_on_frame(const struct frame_hdr *, const cJSON *);
void	 balancer_status(cJSON *);

#endif
