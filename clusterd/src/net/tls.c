#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "net/tls.h"

static const unsigned char tls13_aes256gcm_sha384[] = { 0x13, 0x02 };
static int psk_index = -1;

/*
 * HKDF-SHA384 of the 32-character cluster key, with a fixed salt and info
 * naming this use, so the key typed into configs is never used directly.
 */
int
tls_derive_psk(const char *cluster_key, unsigned char *out)
{
	static const char salt[] = "clusterd cluster link";
	static const char info[] = "clusterd tls13 external psk v1";
	EVP_PKEY_CTX	*pctx;
	size_t		 outlen = TLS_PSK_LEN;
	int		 rv = -1;

	if ((pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL)) == NULL)
		return -1;
	if (EVP_PKEY_derive_init(pctx) <= 0 ||
	    EVP_PKEY_CTX_set_hkdf_md(pctx, EVP_sha384()) <= 0 ||
	    EVP_PKEY_CTX_set1_hkdf_salt(pctx, (const unsigned char *)salt,
	    (int)strlen(salt)) <= 0 ||
	    EVP_PKEY_CTX_set1_hkdf_key(pctx, (const unsigned char *)cluster_key,
	    (int)strlen(cluster_key)) <= 0 ||
	    EVP_PKEY_CTX_add1_hkdf_info(pctx, (const unsigned char *)info,
	    (int)strlen(info)) <= 0 ||
	    EVP_PKEY_derive(pctx, out, &outlen) <= 0 || outlen != TLS_PSK_LEN)
		goto done;
	rv = 0;
done:
	EVP_PKEY_CTX_free(pctx);
	return rv;
}

/* Build the session object OpenSSL uses to carry an external PSK. */
static SSL_SESSION *
psk_session(SSL *ssl)
{
	const unsigned char	*psk;
	const SSL_CIPHER	*cipher;
	SSL_SESSION		*sess;

	psk = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), psk_index);
	cipher = SSL_CIPHER_find(ssl, tls13_aes256gcm_sha384);
	if (psk == NULL || cipher == NULL || (sess = SSL_SESSION_new()) == NULL)
		return NULL;
	if (!SSL_SESSION_set1_master_key(sess, psk, TLS_PSK_LEN) ||
	    !SSL_SESSION_set_cipher(sess, cipher) ||
	    !SSL_SESSION_set_protocol_version(sess, TLS1_3_VERSION)) {
		SSL_SESSION_free(sess);
		return NULL;
	}
	return sess;
}

static int
client_psk_cb(SSL *ssl, const EVP_MD *md, const unsigned char **id,
    size_t *idlen, SSL_SESSION **sessp)
{
	SSL_SESSION	*sess;

	if ((sess = psk_session(ssl)) == NULL)
		return 0;
	if (md != NULL && md != SSL_CIPHER_get_handshake_digest(
	    SSL_SESSION_get0_cipher(sess))) {
		/* A HelloRetryRequest picked another hash: offer no PSK. */
		SSL_SESSION_free(sess);
		*sessp = NULL;
		return 1;
	}
	*id = (const unsigned char *)TLS_PSK_IDENTITY;
	*idlen = strlen(TLS_PSK_IDENTITY);
	*sessp = sess;
	return 1;
}

static int
server_psk_cb(SSL *ssl, const unsigned char *id, size_t idlen,
    SSL_SESSION **sessp)
{
	if (idlen != strlen(TLS_PSK_IDENTITY) ||
	    memcmp(id, TLS_PSK_IDENTITY, idlen) != 0) {
		*sessp = NULL;	/* unknown identity: handshake will fail */
		return 1;
	}
	*sessp = psk_session(ssl);
	return *sessp != NULL;
}

/*
 * A context for one side of the link.  The derived PSK lives in the
 * context's ex_data so the callbacks need no globals besides the index.
 */
SSL_CTX *
tls_ctx_new(int server, const char *cluster_key)
{
	SSL_CTX		*ctx;
	unsigned char	*psk = NULL;

	if (psk_index == -1)
		psk_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (ctx == NULL)
		return NULL;
	if ((psk = OPENSSL_malloc(TLS_PSK_LEN)) == NULL)
		goto fail;
	if (tls_derive_psk(cluster_key, psk) == -1)
		goto fail;
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_ciphersuites(ctx, "TLS_AES_256_GCM_SHA384") ||
	    !SSL_CTX_set_ex_data(ctx, psk_index, psk))
		goto fail;
	psk = NULL;
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	if (server)
		SSL_CTX_set_psk_find_session_callback(ctx, server_psk_cb);
	else
		SSL_CTX_set_psk_use_session_callback(ctx, client_psk_cb);
	return ctx;
fail:
	OPENSSL_clear_free(psk, TLS_PSK_LEN);
	SSL_CTX_free(ctx);
	return NULL;
}

void
tls_ctx_free(SSL_CTX *ctx)
{
	unsigned char	*psk;

	if (ctx == NULL)
		return;
	psk = SSL_CTX_get_ex_data(ctx, psk_index);
	OPENSSL_clear_free(psk, TLS_PSK_LEN);
	SSL_CTX_free(ctx);
}

/* The oldest queued OpenSSL error as text, queue cleared; for log lines. */
const char *
tls_error_string(void)
{
	static char	 buf[256];
	unsigned long	 e;

	e = ERR_get_error();
	if (e == 0)
		return "unknown error";
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return buf;
}
