/*
 * hello: the first request a worker sends on the cluster link, and the
 * master's decision on it.  Kept free of sockets so the rules are unit
 * tested on their own.
 */
#ifndef CLUSTERD_HELLO_H
#define CLUSTERD_HELLO_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "base/config.h"

struct hello {
	char	cluster_name[CONFIG_NAME_MAX + 1];
	char	node_name[CONFIG_NAME_MAX + 1];
	char	node_type[16];
	char	version[32];
	/* What a worker serves, for the balancers' pools (0: not served). */
	char	gateway_address[64];
	unsigned gateway_port;
	char	enrollment_address[64];
	unsigned enrollment_port;
	unsigned agent_check_port;
	/* A master-eligible node that follows the active master's files
	 * (node_type "master"; docs/ha.md). */
	int	standby;
};

cJSON	*hello_build(const struct config *, const char *version);
cJSON	*hello_build_standby(const struct config *, const char *version);
int	 hello_parse(const cJSON *, struct hello *, char *err, size_t errlen);
int	 hello_version_compatible(const char *a, const char *b);
int	 hello_check(const struct hello *, const struct config *master,
	    const char *master_version, int (*name_taken)(const char *, void *),
	    void *arg, char *reason, size_t reasonlen);

#endif
