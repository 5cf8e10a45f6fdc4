/*
 * node: what every role shares: the running node's state, time formatting
 * and whole-file reads and crash-safe writes.  The roles' entry points are
 * in their own headers (master/master.h, worker/worker.h,
 * balancer/balancer.h).
 */
#ifndef CLUSTERD_NODE_H
#define CLUSTERD_NODE_H

#include <sys/types.h>

#include <cjson/cJSON.h>
#include <openssl/types.h>

#include "base/config.h"

struct ev_loop;
struct metrics;

struct node {
	struct ev_loop	*loop;
	struct config	 cfg;
	SSL_CTX		*ctx;
	time_t		 started;
};

cJSON	*node_time_json(double);
double	 node_seconds(double);
double	 node_wall_now(void);
int	 node_make_home(const struct config *);
int	 node_write_file(const char *path, const void *, size_t, mode_t);
int	 node_read_file(const char *path, size_t max, char **, size_t *);
void	 node_metrics(struct metrics *, void *node);

#endif
