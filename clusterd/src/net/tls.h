/*
 * tls: TLS 1.3 contexts for the cluster link, authenticated by an external
 * pre-shared key derived from the cluster key (no certificates).  The only
 * cipher suite is TLS_AES_256_GCM_SHA384 with (EC)DHE key exchange, so both
 * sides prove the key and every byte on the wire is AES-GCM encrypted.
 * For a key rotation, a server also accepts a next key (key_next): each
 * key's PSK has its own identity, TLS_PSK_IDENTITY ":" and a fingerprint;
 * the bare TLS_PSK_IDENTITY of older clients means the current key.  A
 * node that names itself offers TLS_PSK_NODE_PREFIX, its name, "/" and the
 * fingerprint; with a nodes_file the master admits only those, each with
 * the PSK of the node's own credential.
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
SSL_CTX	*tls_ctx_new(int server, const char *key, const char *key_next,
	    const char *node_name);
void	 tls_ctx_set_node_keys(SSL_CTX *, tls_node_key_fn, void *arg);
void	 tls_ctx_inherit_node_keys(SSL_CTX *to, SSL_CTX *from);
const char *tls_peer_node(const SSL *);
void	 tls_ctx_free(SSL_CTX *);
const char *tls_error_string(void);

#endif
