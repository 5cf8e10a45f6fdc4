/*
 * tls: TLS 1.3 contexts for the cluster link, authenticated by an external
 * pre-shared key derived from the cluster key (no certificates).  The only
 * cipher suite is TLS_AES_256_GCM_SHA384 with (EC)DHE key exchange, so both
 * sides prove the key and every byte on the wire is AES-GCM encrypted.
 */
#ifndef CLUSTERD_TLS_H
#define CLUSTERD_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#define TLS_PSK_LEN		48	/* SHA-384 output */
#define TLS_PSK_IDENTITY	"clusterd-link-v1"	/* the shared key's */
#define TLS_PSK_NODE_PREFIX	"clusterd-node-v1:"	/* then the node name */

/* A node's credential (CLUSTERKEY_LEN characters) into cred: 0, or -1 to
 * refuse the node. */
typedef int (*tls_node_key_fn)(const char *node, char *cred, void *arg);

int	 tls_derive_psk(const char *cluster_key, unsigned char *out);
SSL_CTX	*tls_ctx_new(int server, const char *key, const char *node_name);
void	 tls_ctx_set_node_keys(SSL_CTX *, tls_node_key_fn, void *arg);
const char *tls_peer_node(const SSL *);
void	 tls_ctx_free(SSL_CTX *);
const char *tls_error_string(void);

#endif
