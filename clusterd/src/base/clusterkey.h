/*
 * clusterkey: the cluster key's own rules.  The key (32 printable
 * characters) is the input of the TLS PSK of the cluster link, so a
 * captured handshake lets anyone guess it offline: a guessable key is
 * refused, a new one is made from 16 random bytes, and a key kept in a file
 * of its own is read only from a file nobody else may read.
 */
#ifndef CLUSTERD_CLUSTERKEY_H
#define CLUSTERD_CLUSTERKEY_H

#include <stddef.h>

#define CLUSTERKEY_LEN		32	/* characters */
#define CLUSTERKEY_LINE_MAX	4096	/* longest first line of a key file */
#define CLUSTERKEY_NODE_MAX	64	/* longest node name it derives for */

int	clusterkey_weak(const char *key, char *why, size_t whylen);
int	clusterkey_generate(char out[CLUSTERKEY_LEN + 1]);
int	clusterkey_read_file(const char *path, char *line, size_t linesize,
	    size_t *lenp, char *err, size_t errlen);
int	clusterkey_node_credential(const char *cluster_key, const char *node,
	    unsigned generation, char out[CLUSTERKEY_LEN + 1]);

#endif
