#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "base/clusterkey.h"
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

/*
 * What a context carries for its callbacks: the PSKs of the shared keys it
 * holds (the current one, and on a server the next one during a rotation),
 * each with its identity, "clusterd-link-v1:" and a fingerprint of the key;
 * the identity a client offers; and on a master with a nodes_file, how to
 * find a node's credential.
 */
struct tls_data {
	int		 n;
	unsigned char	 psk[2][TLS_PSK_LEN];
	char		 ident[2][sizeof(TLS_PSK_IDENTITY) + 1 + 16];
	char		 fp[2][17];
	char		 identity[sizeof(TLS_PSK_NODE_PREFIX) + 64 + 17];
	tls_node_key_fn	 node_key;
	void		*node_key_arg;
};

static int ssl_node_index = -1;

static void
free_node_name(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	free(ptr);
}

/* ex_data's destructor: the keys go with the last reference to the ctx. */
static void
data_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
    void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	OPENSSL_clear_free(ptr, sizeof(struct tls_data));
}

/*
 * 16 hex digits of an HKDF of a key with its own label: it tells which key
 * a peer uses without telling more about it than the handshake does.
 */
static int
key_fingerprint(const char *key, char out[17])
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
	for (i = 0; i < sizeof(fp); i++)
		snprintf(out + 2 * i, 3, "%02x", fp[i]);
	rv = 0;
done:
	EVP_PKEY_CTX_free(pctx);
	return rv;
}

/* Build the session object OpenSSL uses to carry an external PSK. */
static SSL_SESSION *
psk_session(SSL *ssl, const unsigned char *psk)
{
	const SSL_CIPHER	*cipher;
	SSL_SESSION		*sess;

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

static struct tls_data *
ssl_data(SSL *ssl)
{
	return SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), psk_index);
}

static int
client_psk_cb(SSL *ssl, const EVP_MD *md, const unsigned char **id,
    size_t *idlen, SSL_SESSION **sessp)
{
	struct tls_data	*d = ssl_data(ssl);
	SSL_SESSION	*sess;

	if (d == NULL || (sess = psk_session(ssl, d->psk[0])) == NULL)
		return 0;
	if (md != NULL && md != SSL_CIPHER_get_handshake_digest(
	    SSL_SESSION_get0_cipher(sess))) {
		/* A HelloRetryRequest picked another hash: offer no PSK. */
		SSL_SESSION_free(sess);
		*sessp = NULL;
		return 1;
	}
	*id = (const unsigned char *)d->identity;
	*idlen = strlen(d->identity);
	*sessp = sess;
	return 1;
}

/* The shared key whose fingerprint is fp (NULL: the current one), or -1. */
static int
shared_key(const struct tls_data *d, const char *fp)
{
	int	i;

	if (fp == NULL)
		return 0;
	for (i = 0; i < d->n; i++)
		if (strcmp(fp, d->fp[i]) == 0)
			return i;
	return -1;
}

/*
 * The master's side.  Without a nodes_file, a shared key's PSK serves:
 * "clusterd-link-v1" (nodes of 0.2) is the current key,
 * "clusterd-link-v1:FP" and "clusterd-node-v1:NAME/FP" the key whose
 * fingerprint is FP (the current one or key_next, during a rotation).  With
 * a nodes_file only "clusterd-node-v1:NAME[/FP]" is admitted, with the PSK
 * of NAME's own credential.  The name is kept on the connection: the
 * node's hello must carry the same.  An unknown identity or a refused node
 * gets no session, and the handshake fails.
 */
static int
server_psk_cb(SSL *ssl, const unsigned char *id, size_t idlen,
    SSL_SESSION **sessp)
{
	struct tls_data	*d = ssl_data(ssl);
	unsigned char	 psk[TLS_PSK_LEN];
	char		 text[sizeof(d->identity)], cred[CLUSTERKEY_LEN + 1];
	char		*name, *fp, *dup;
	size_t		 plen = strlen(TLS_PSK_NODE_PREFIX);
	size_t		 llen = strlen(TLS_PSK_IDENTITY);
	int		 i;

	*sessp = NULL;
	if (d == NULL)
		return 0;
	if (idlen >= sizeof(text) || memchr(id, '\0', idlen) != NULL)
		return 1;
	memcpy(text, id, idlen);
	text[idlen] = '\0';
	if (strncmp(text, TLS_PSK_IDENTITY, llen) == 0 &&
	    (text[llen] == '\0' || text[llen] == ':')) {
		i = shared_key(d, text[llen] == ':' ? text + llen + 1 : NULL);
		if (d->node_key == NULL && i != -1)
			*sessp = psk_session(ssl, d->psk[i]);
		return 1;
	}
	if (idlen <= plen || strncmp(text, TLS_PSK_NODE_PREFIX, plen) != 0)
		return 1;
	name = text + plen;
	if ((fp = strchr(name, '/')) != NULL)
		*fp++ = '\0';
	if (name[0] == '\0' || strlen(name) > 64)
		return 1;
	if ((dup = strdup(name)) == NULL)
		return 0;
	free(SSL_get_ex_data(ssl, ssl_node_index));
	SSL_set_ex_data(ssl, ssl_node_index, dup);
	if (d->node_key == NULL) {
		if ((i = shared_key(d, fp)) != -1)
			*sessp = psk_session(ssl, d->psk[i]);
		return 1;
	}
	if (d->node_key(name, cred, d->node_key_arg) == 0 &&
	    tls_derive_psk(cred, psk) == 0)
		*sessp = psk_session(ssl, psk);
	OPENSSL_cleanse(cred, sizeof(cred));
	OPENSSL_cleanse(psk, sizeof(psk));
	return 1;
}

/* One shared key into slot i of d: its PSK, fingerprint and identity. */
static int
add_key(struct tls_data *d, int i, const char *key)
{
	if (tls_derive_psk(key, d->psk[i]) == -1 ||
	    key_fingerprint(key, d->fp[i]) == -1)
		return -1;
	memcpy(d->ident[i], TLS_PSK_IDENTITY ":", sizeof(TLS_PSK_IDENTITY));
	memcpy(d->ident[i] + sizeof(TLS_PSK_IDENTITY), d->fp[i], 17);
	d->n = i + 1;
	return 0;
}

/*
 * A context for one side of the link.  The derived PSKs live in the
 * context's ex_data so the callbacks need no globals besides the index;
 * they are freed with the context's last reference, so a context replaced
 * on reload stays whole for the connections still using it.  A server
 * accepts key_next (NULL or "" for none) beside key.  A client offers
 * "clusterd-node-v1:NAME/FP" with a node name, "clusterd-link-v1:FP"
 * without; its key is the cluster key or, where the master keeps a
 * nodes_file, the node's own credential.
 */
SSL_CTX *
tls_ctx_new(int server, const char *key, const char *key_next,
    const char *node_name)
{
	SSL_CTX		*ctx;
	struct tls_data	*d = NULL;

	if (psk_index == -1)
		psk_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL,
		    data_free);
	if (ssl_node_index == -1)
		ssl_node_index = SSL_get_ex_new_index(0, NULL, NULL, NULL,
		    free_node_name);
	ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if (ctx == NULL)
		return NULL;
	if ((d = OPENSSL_zalloc(sizeof(*d))) == NULL || add_key(d, 0, key) == -1)
		goto fail;
	if (server && key_next != NULL && key_next[0] != '\0' &&
	    add_key(d, 1, key_next) == -1)
		goto fail;
	if (node_name == NULL)
		memcpy(d->identity, d->ident[0], sizeof(d->ident[0]));
	else if (strchr(node_name, '/') != NULL ||
	    (size_t)snprintf(d->identity, sizeof(d->identity), "%s%s/%s",
	    TLS_PSK_NODE_PREFIX, node_name, d->fp[0]) >= sizeof(d->identity))
		goto fail;
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_ciphersuites(ctx, "TLS_AES_256_GCM_SHA384") ||
	    !SSL_CTX_set_ex_data(ctx, psk_index, d))
		goto fail;
	d = NULL;
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(ctx, 0);
	/* The record buffers stay (about 34 KiB a link): a node has a few
	 * links, all busy.  Released after each read, they were allocated
	 * again for every record, and each such allocation made glibc
	 * consolidate its small free chunks: 7% of the master's steady CPU
	 * at 50,000 agents. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (server)
		SSL_CTX_set_psk_find_session_callback(ctx, server_psk_cb);
	else
		SSL_CTX_set_psk_use_session_callback(ctx, client_psk_cb);
	return ctx;
fail:
	OPENSSL_clear_free(d, sizeof(*d));
	SSL_CTX_free(ctx);
	return NULL;
}

/*
 * From now on the server admits only named nodes that fn accepts, each
 * with the PSK of the credential fn gives (nodes_file on the master).
 */
void
tls_ctx_set_node_keys(SSL_CTX *ctx, tls_node_key_fn fn, void *arg)
{
	struct tls_data	*d = SSL_CTX_get_ex_data(ctx, psk_index);

	if (d == NULL)
		return;
	d->node_key = fn;
	d->node_key_arg = arg;
}

/* A context made on reload keeps the node admission of the one it replaces. */
void
tls_ctx_inherit_node_keys(SSL_CTX *to, SSL_CTX *from)
{
	struct tls_data	*d = SSL_CTX_get_ex_data(from, psk_index);

	if (d != NULL)
		tls_ctx_set_node_keys(to, d->node_key, d->node_key_arg);
}

/* The node name a client's PSK identity gave, or NULL. */
const char *
tls_peer_node(const SSL *ssl)
{
	if (ssl == NULL || ssl_node_index == -1)
		return NULL;
	return SSL_get_ex_data(ssl, ssl_node_index);
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
