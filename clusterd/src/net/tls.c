#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "net/tls.h"

static const unsigned char tls13_aes256gcm_sha384[] = { 0x13, 0x02 };
static int psk_index = -1;

/*
 * A context's keys: the current one, and on a server the next one during a
 * rotation.  Each PSK has its own identity, the legacy identity plus a
 * fingerprint of the key, so a server holding two keys knows which one a
 * client's binder is made with; the legacy identity alone (clients of
 * 0.2 and older) means the current key.
 */
struct tls_keys {
	int		 n;
	unsigned char	 psk[2][TLS_PSK_LEN];
	char		 ident[2][sizeof(TLS_PSK_IDENTITY) + 1 + 16];
};

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

/*
 * The identity of a key's PSK: "clusterd-link-v1:" and 16 hex digits of an
 * HKDF of the key with its own label, so it tells which key without
 * telling more about it than the handshake does.
 */
static int
psk_identity(const char *key, char *out, size_t outlen)
{
	static const char info[] = "clusterd tls13 psk identity v1";
	unsigned char	 fp[8];
	EVP_PKEY_CTX	*pctx;
	size_t		 fplen = sizeof(fp), i;
	int		 rv = -1;

	if ((pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL)) == NULL)
		return -1;
	if (EVP_PKEY_derive_init(pctx) <= 0 ||
	    EVP_PKEY_CTX_set_hkdf_md(pctx, EVP_sha384()) <= 0 ||
	    EVP_PKEY_CTX_set1_hkdf_key(pctx, (const unsigned char *)key,
	    (int)strlen(key)) <= 0 ||
	    EVP_PKEY_CTX_add1_hkdf_info(pctx, (const unsigned char *)info,
	    (int)strlen(info)) <= 0 ||
	    EVP_PKEY_derive(pctx, fp, &fplen) <= 0 || fplen != sizeof(fp))
		goto done;
	snprintf(out, outlen, "%s:", TLS_PSK_IDENTITY);
	for (i = 0; i < sizeof(fp); i++)
		snprintf(out + strlen(out), outlen - strlen(out), "%02x",
		    fp[i]);
	rv = 0;
done:
	EVP_PKEY_CTX_free(pctx);
	return rv;
}

/* Build the session object OpenSSL uses to carry external PSK i. */
static SSL_SESSION *
psk_session(SSL *ssl, int i)
{
	const struct tls_keys	*k;
	const SSL_CIPHER	*cipher;
	SSL_SESSION		*sess;
	const unsigned char	*psk;

	k = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), psk_index);
	psk = k != NULL && i < k->n ? k->psk[i] : NULL;
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
	const struct tls_keys	*k;
	SSL_SESSION		*sess;

	k = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), psk_index);
	if (k == NULL || (sess = psk_session(ssl, 0)) == NULL)
		return 0;
	if (md != NULL && md != SSL_CIPHER_get_handshake_digest(
	    SSL_SESSION_get0_cipher(sess))) {
		/* A HelloRetryRequest picked another hash: offer no PSK. */
		SSL_SESSION_free(sess);
		*sessp = NULL;
		return 1;
	}
	*id = (const unsigned char *)k->ident[0];
	*idlen = strlen(k->ident[0]);
	*sessp = sess;
	return 1;
}

static int
server_psk_cb(SSL *ssl, const unsigned char *id, size_t idlen,
    SSL_SESSION **sessp)
{
	const struct tls_keys	*k;
	int			 i;

	k = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), psk_index);
	*sessp = NULL;		/* unknown identity: handshake will fail */
	if (k == NULL)
		return 1;
	if (idlen == strlen(TLS_PSK_IDENTITY) &&
	    memcmp(id, TLS_PSK_IDENTITY, idlen) == 0)
		i = 0;		/* a client of 0.2: the current key */
	else
		for (i = 0; i < k->n; i++)
			if (idlen == strlen(k->ident[i]) &&
			    memcmp(id, k->ident[i], idlen) == 0)
				break;
	if (i == k->n)
		return 1;
	*sessp = psk_session(ssl, i);
	return *sessp != NULL;
}

/* ex_data's destructor: the keys go with the last reference to the ctx. */
static void
keys_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
    void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	OPENSSL_clear_free(ptr, sizeof(struct tls_keys));
}

/*
 * A context for one side of the link.  The derived PSKs live in the
 * context's ex_data so the callbacks need no globals besides the index;
 * they are freed with the context's last reference, so a context replaced
 * on reload stays whole for the connections still using it.  A server
 * accepts key_next (NULL or "" for none) beside cluster_key; a client
 * uses cluster_key only.
 */
SSL_CTX *
tls_ctx_new(int server, const char *cluster_key, const char *key_next)
{
	SSL_CTX		*ctx;
	struct tls_keys	*k = NULL;

	if (psk_index == -1)
		psk_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL,
		    keys_free);
	ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (ctx == NULL)
		return NULL;
	if ((k = OPENSSL_zalloc(sizeof(*k))) == NULL)
		goto fail;
	if (tls_derive_psk(cluster_key, k->psk[0]) == -1 ||
	    psk_identity(cluster_key, k->ident[0], sizeof(k->ident[0])) == -1)
		goto fail;
	k->n = 1;
	if (server && key_next != NULL && key_next[0] != '\0') {
		if (tls_derive_psk(key_next, k->psk[1]) == -1 ||
		    psk_identity(key_next, k->ident[1],
		    sizeof(k->ident[1])) == -1)
			goto fail;
		k->n = 2;
	}
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_ciphersuites(ctx, "TLS_AES_256_GCM_SHA384") ||
	    !SSL_CTX_set_ex_data(ctx, psk_index, k))
		goto fail;
	k = NULL;
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
	OPENSSL_clear_free(k, sizeof(*k));
	SSL_CTX_free(ctx);
	return NULL;
}

/* Drop our reference; connections still using the context keep it. */
void
tls_ctx_free(SSL_CTX *ctx)
{
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
