/*
 * nodelist: the master's list of expected nodes (nodes_file), one per
 * line: "NAME ROLE [GENERATION]".  With it, each worker and balancer holds
 * a credential of its own (clusterkey_node_credential()) instead of the
 * cluster key, and may join only under its listed name and role.
 */
#ifndef CLUSTERD_NODELIST_H
#define CLUSTERD_NODELIST_H

#include <stddef.h>

#include "base/config.h"

#define NODELIST_MAX		4096	/* nodes in one file */
#define NODELIST_FILE_MAX	(1024 * 1024)
#define NODELIST_GEN_MAX	999999

struct nodelist_entry {
	char		 name[CONFIG_NAME_MAX + 1];
	enum node_type	 type;		/* NODE_WORKER, NODE_BALANCER, or
					   NODE_MASTER: a master-eligible
					   node, joining as a standby */
	int		 revoked;	/* listed as "revoked": refused */
	unsigned	 generation;	/* 1 unless given */
	size_t		 line;		/* in the file */
};

struct nodelist {
	struct nodelist_entry	*v;
	size_t			 n;
};

int	 nodelist_parse(const char *text, size_t len, struct nodelist *,
	    char *err, size_t errlen);
int	 nodelist_load(const char *path, struct nodelist *, char *err,
	    size_t errlen);
const struct nodelist_entry *nodelist_find(const struct nodelist *,
	    const char *name);
void	 nodelist_free(struct nodelist *);

#endif
