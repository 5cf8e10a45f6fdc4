/*
 * lbpool: one pool as the master describes it to a balancer (a FRAME_POOLS
 * member list), checked strictly because its names and addresses end up
 * in HAProxy Runtime API commands and in haproxy.cfg; and the server line
 * both of those use.  Pure functions, unit tested and fuzzed.
 */
#ifndef CLUSTERD_LBPOOL_H
#define CLUSTERD_LBPOOL_H

#include <stddef.h>

#include <cjson/cJSON.h>

#define LBPOOL_OPTS_MAX	256	/* lbpool_server_options()' output */
#define LBPOOL_MAX	1024

enum lbpool_state { LBPOOL_READY, LBPOOL_DRAIN, LBPOOL_MAINT };

struct lbpool_server {
	char			 name[64];
	char			 address[64];
	unsigned		 port;
	unsigned		 check_port;	/* 0: no agent-check */
	enum lbpool_state	 state;
};

int		 lbpool_parse(const cJSON *arr, struct lbpool_server *out,
		    size_t max, size_t *n, char *err, size_t errlen);
int		 lbpool_server_options(const struct lbpool_server *, char *out,
		    size_t outlen);
const char	*lbpool_state_name(enum lbpool_state);
int		 lbpool_valid_address(const char *);
unsigned	 lbpool_port(const cJSON *, const char *key);

#endif
