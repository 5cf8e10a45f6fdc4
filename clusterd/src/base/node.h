/*
 * node: what both roles share: the running node's state and the entry
 * points main() uses.  master.c and worker.c each implement one role.
 */
#ifndef CLUSTERD_NODE_H
#define CLUSTERD_NODE_H

#include <sys/types.h>

#include <cjson/cJSON.h>
#include <ev.h>
#include <openssl/ssl.h>

#include "config.h"
#include "control.h"

struct node {
	struct ev_loop	*loop;
	struct config	 cfg;
	SSL_CTX		*ctx;
	time_t		 started;
};

int	 master_start(struct node *);
void	 master_stop(void);
void	 master_reconfigure(void);
void	 master_control(struct control_client *, const cJSON *, void *);
void	 master_command(const cJSON *req, void (*reply)(void *, cJSON *),
	    void *arg);

int	 worker_start(struct node *);
void	 worker_stop(void);
void	 worker_reconfigure(void);
void	 worker_control(struct control_client *, const cJSON *, void *);

cJSON	*node_time_json(double);
double	 node_wall_now(void);
int	 node_make_home(const struct config *);
int	 node_write_file(const char *path, const void *, size_t, mode_t);
int	 node_read_file(const char *path, size_t max, char **, size_t *);

#endif
