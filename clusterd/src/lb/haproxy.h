/*
 * haproxy: what the balancer role needs of a local HAProxy: one Runtime
 * API command over the admin stats socket, the parsers for the answers it
 * reads ("show servers state", "show stat"), and the rewrite of the pool
 * blocks in the persisted haproxy.cfg.  The parsers and the rewrite are
 * pure functions over text, unit tested and fuzzed on their own.
 */
#ifndef CLUSTERD_HAPROXY_H
#define CLUSTERD_HAPROXY_H

#include <stddef.h>

#define HAPROXY_NAME_MAX	64
#define HAPROXY_ANSWER_MAX	(4u * 1024 * 1024)

/* srv_admin_state bits (HAProxy's SRV_ADMF_*) the balancer sets. */
#define HAPROXY_ADMF_FMAINT	0x01	/* forced maintenance */
#define HAPROXY_ADMF_FDRAIN	0x08	/* forced drain */

struct haproxy_server {
	char		 backend[HAPROXY_NAME_MAX];
	char		 name[HAPROXY_NAME_MAX];
	char		 address[HAPROXY_NAME_MAX];
	unsigned	 port;
	unsigned	 admin;		/* srv_admin_state bits */
	unsigned	 agent_port;	/* 0: no agent-check */
	/* From "show stat"; status "" until merged. */
	char		 status[32];	/* UP, DOWN, DRAIN, MAINT, ... */
	unsigned	 connections;	/* scur */
	unsigned	 weight;	/* effective; 0: takes no new ones */
};

int	 haproxy_command(const char *socket_path, const char *cmd,
	    char **answer, char *err, size_t errlen);
int	 haproxy_parse_state(const char *text, size_t len,
	    struct haproxy_server **out, size_t *n);
int	 haproxy_merge_stat(const char *text, size_t len,
	    struct haproxy_server *servers, size_t n);
int	 haproxy_rewrite_pool(const char *cfg, size_t len,
	    const char *backend, const char *servers, char **out);
const char *haproxy_admin_name(unsigned admin);

#endif
