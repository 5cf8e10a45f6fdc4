/*
 * mnodes: the master's expected nodes (nodes_file).  Each listed worker,
 * balancer or standby master joins with a credential of its own, under its
 * listed name and role only; the list is read again when it changes, and a node removed,
 * marked revoked or given a new generation is cut off at once.
 */
#ifndef CLUSTERD_MNODES_H
#define CLUSTERD_MNODES_H

#include <stddef.h>

struct node;

int	 mnodes_start(struct node *, void (*changed)(void));
void	 mnodes_stop(void);
int	 mnodes_check(const char *tls_name, const char *name,
	    const char *node_type, unsigned *generation, char *reason,
	    size_t reasonlen);
int	 mnodes_admits(const char *name, const char *node_type,
	    unsigned generation);
void	 mnodes_explain(const char *tls_name, char *out, size_t outlen);

#endif
