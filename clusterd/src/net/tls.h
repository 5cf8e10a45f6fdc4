/*
 * tls: TLS 1.3 contexts for the cluster link, authenticated by an external
 * pre-shared key derived from the cluster key (no certificates).  The only
 * cipher suite is TLS_AES_256_GCM_SHA384 with (EC)DHE key exchange, so both
 * sides prove the key and every byte on the wire is AES-GCM encrypted.
 * For a key rotation, a server also accepts a next key (key_next): each
 * key's PSK has its own identity, TLS_PSK_IDENTITY ":" and a fingerprint;
 * the bare TLS_PSK_IDENTITY of older clients means the current key.
 */
#ifndef CLUSTERD_TLS_H
#define CLUSTERD_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#define TLS_PSK_LEN		48	/* SHA-384 output */
#define TLS_PSK_IDENTITY	"clusterd-link-v1"

int	 tls_derive_psk(const char *cluster_key, unsigned char *out);
SSL_CTX	*tls_ctx_new(int server, const char *cluster_key,
	    const char *key_next);
void	 tls_ctx_free(SSL_CTX *);
const char *tls_error_string(void);

#endif
