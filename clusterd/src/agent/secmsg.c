#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/provider.h>
#include <zlib.h>

#include "agent/secmsg.h"

static const uint8_t aes_iv[16] = "FEDCBA0987654321";
static const uint8_t bf_iv[8] = {
	0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10
};
static OSSL_PROVIDER	*legacy, *deflt;
/*
 * The algorithms, fetched once: EVP_md5() and the like make OpenSSL 3
 * look each one up again at every use (a locked table lookup), which
 * cost as much as the MD5 itself on a node handling thousands of
 * keepalives a second.  NULL before secmsg_init(): the implicit fetch.
 */
static EVP_MD		*md5;
static EVP_CIPHER	*aes, *bf;

/* Blowfish lives in OpenSSL 3's legacy provider; load it (with default). */
int
secmsg_init(void)
{
	if (legacy != NULL)
		return 0;
	if ((legacy = OSSL_PROVIDER_load(NULL, "legacy")) == NULL ||
	    (deflt = OSSL_PROVIDER_load(NULL, "default")) == NULL ||
	    (md5 = EVP_MD_fetch(NULL, "MD5", NULL)) == NULL ||
	    (aes = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL)) == NULL ||
	    (bf = EVP_CIPHER_fetch(NULL, "BF-CBC", NULL)) == NULL) {
		secmsg_shutdown();
		return -1;
	}
	return 0;
}

/*
 * One zlib stream each way per thread, reset for every message: compress2()
 * and uncompress() set up and free a whole stream each time (for deflate
 * about 256 KiB, mapped and unmapped), which cost more than the rest of
 * sealing an agent's ack.  zstore writes stored blocks (level 0), with
 * the smallest hash table, which each reset clears.
 */
static _Thread_local z_stream	zdef, zstore, zinf;
static _Thread_local int	zdef_ready, zstore_ready, zinf_ready;
/*
 * And, per thread, one cipher and one digest context and the buffers a
 * message is inflated into or built in: allocated with the first message,
 * not for each.  EVP_Digest() allocated a context per call, a 64 KiB
 * buffer per message made glibc consolidate its free chunks each time,
 * and the allocations of thousands of keepalives a second share the heap
 * with the enrollments' TLS handshakes.
 */
#define BODY_MAX	(SECMSG_MAX + 64)	/* checksum, counters, message */
static _Thread_local EVP_CIPHER_CTX *cctx;
static _Thread_local EVP_MD_CTX *mctx;
static _Thread_local void *zbuf, *bodybuf, *packbuf;

void
secmsg_shutdown(void)
{
	EVP_MD_free(md5);
	EVP_CIPHER_free(aes);
	EVP_CIPHER_free(bf);
	md5 = NULL;
	aes = bf = NULL;
	if (legacy != NULL)
		OSSL_PROVIDER_unload(legacy);
	if (deflt != NULL)
		OSSL_PROVIDER_unload(deflt);
	legacy = deflt = NULL;
	if (zdef_ready)
		deflateEnd(&zdef);
	if (zstore_ready)
		deflateEnd(&zstore);
	if (zinf_ready)
		inflateEnd(&zinf);
	zdef_ready = zstore_ready = zinf_ready = 0;
	EVP_CIPHER_CTX_free(cctx);
	cctx = NULL;
	EVP_MD_CTX_free(mctx);
	mctx = NULL;
	free(zbuf);
	free(bodybuf);
	free(packbuf);
	zbuf = bodybuf = packbuf = NULL;
}

/*
 * in as one zlib stream into out; *outlen: room, then length.  Level 6
 * and default memory, as compress2(): the same bytes as an agent's own
 * (test_secmsg checks them against the vectors); or, stored, level 0.
 */
static int
zpack(const void *in, size_t inlen, uint8_t *out, uLongf *outlen,
    int stored)
{
	z_stream	*z = stored ? &zstore : &zdef;
	int		*ready = stored ? &zstore_ready : &zdef_ready;

	if (*ready)
		deflateReset(z);
	else if ((stored ? deflateInit2(z, 0, Z_DEFLATED, 15, 1,
	    Z_DEFAULT_STRATEGY) : deflateInit(z, 6)) == Z_OK)
		*ready = 1;
	else
		return -1;
	z->next_in = (Bytef *)(uintptr_t)in;
	z->avail_in = (uInt)inlen;
	z->next_out = out;
	z->avail_out = (uInt)*outlen;
	if (deflate(z, Z_FINISH) != Z_STREAM_END)
		return -1;
	*outlen = z->total_out;
	return 0;
}

/* One whole zlib stream from in into out (as uncompress() would take it). */
static int
zunpack(const uint8_t *in, size_t inlen, void *out, uLongf *outlen)
{
	if (zinf_ready)
		inflateReset(&zinf);
	else if (inflateInit(&zinf) == Z_OK)
		zinf_ready = 1;
	else
		return -1;
	zinf.next_in = (Bytef *)(uintptr_t)in;
	zinf.avail_in = (uInt)inlen;
	zinf.next_out = out;
	zinf.avail_out = (uInt)*outlen;
	if (inflate(&zinf, Z_FINISH) != Z_STREAM_END)
		return -1;
	*outlen = zinf.total_out;
	return 0;
}

/* The calling thread's buffer *p of size bytes, allocated at first use. */
static void *
thread_buf(void **p, size_t size)
{
	if (*p == NULL)
		*p = malloc(size);
	return *p;
}

static void
md5hex(const void *p, size_t n, char out[33])
{
	static const char	hx[] = "0123456789abcdef";
	const EVP_MD		*alg = md5 != NULL ? md5 : EVP_md5();
	uint8_t			md[16];
	unsigned		len, i;

	if (mctx == NULL)
		mctx = EVP_MD_CTX_new();
	if (mctx == NULL || EVP_DigestInit_ex2(mctx, alg, NULL) != 1 ||
	    EVP_DigestUpdate(mctx, p, n) != 1 ||
	    EVP_DigestFinal_ex(mctx, md, &len) != 1)
		EVP_Digest(p, n, md, &len, alg, NULL);	/* as before */
	for (i = 0; i < 16; i++) {
		out[2 * i] = hx[md[i] >> 4];
		out[2 * i + 1] = hx[md[i] & 15];
	}
	out[32] = '\0';
}

void
secmsg_derive(const char *id, const char *name, const char *raw_key,
    struct secmsg_key *k)
{
	char	a[33], n[33], i[33], both[65], b[33];

	md5hex(raw_key, strlen(raw_key), a);
	md5hex(name, strlen(name), n);
	md5hex(id, strlen(id), i);
	snprintf(both, sizeof(both), "%s%s", n, i);
	md5hex(both, 64, b);
	memcpy(k->aes, a, 32);
	memcpy(k->bf, a, 32);
	memcpy(k->bf + 32, b, 15);
}

/*
 * Classify a frame and find its ciphertext: "!id!#AES:..." (AES),
 * "!id!:..." (Blowfish), "#ping", "#AES:..." without an id.
 */
enum secmsg_kind
secmsg_split(const uint8_t *m, size_t len, char id[SECMSG_ID_MAX],
    enum secmsg_cipher *c, const uint8_t **ct, size_t *ctlen)
{
	size_t	i;

	if (len == 5 && memcmp(m, "#ping", 5) == 0)
		return SECMSG_PING;
	if (len >= 5 && memcmp(m, "#AES:", 5) == 0)
		return SECMSG_NO_ID;
	if (len < 3 || m[0] != '!')
		return SECMSG_BAD;
	for (i = 1; i < len && m[i] != '!'; i++) {
		if (!isdigit(m[i]) || i >= SECMSG_ID_MAX - 1)
			return SECMSG_BAD;
	}
	if (i == 1 || i == len)
		return SECMSG_BAD;
	memcpy(id, m + 1, i - 1);
	id[i - 1] = '\0';
	m += i + 1;
	len -= i + 1;
	if (len >= 5 && memcmp(m, "#AES:", 5) == 0) {
		*c = SECMSG_AES;
		*ct = m + 5;
		*ctlen = len - 5;
	} else if (len >= 1 && m[0] == ':') {
		*c = SECMSG_BLOWFISH;
		*ct = m + 1;
		*ctlen = len - 1;
	} else
		return SECMSG_BAD;
	return *ctlen > 0 ? SECMSG_OK : SECMSG_BAD;
}

/*
 * Classify a manager's answer, as an agent reads it: "#AES:..." or
 * ":..." (Blowfish).  SECMSG_OK with the ciphertext, or SECMSG_BAD.
 */
enum secmsg_kind
secmsg_split_answer(const uint8_t *m, size_t len, enum secmsg_cipher *c,
    const uint8_t **ct, size_t *ctlen)
{
	if (len > 5 && memcmp(m, "#AES:", 5) == 0) {
		*c = SECMSG_AES;
		*ct = m + 5;
		*ctlen = len - 5;
	} else if (len > 1 && m[0] == ':') {
		*c = SECMSG_BLOWFISH;
		*ct = m + 1;
		*ctlen = len - 1;
	} else
		return SECMSG_BAD;
	return SECMSG_OK;
}

/*
 * Run one CBC pass; padding only for AES.  Returns the length or -1.  The
 * context is the thread's, reset for each message (as the zlib streams).
 */
static int
cbc(int enc, enum secmsg_cipher c, const struct secmsg_key *k,
    const uint8_t *in, size_t inlen, uint8_t *out)
{
	EVP_CIPHER_CTX	*ctx = cctx;
	int		 n1 = 0, n2 = 0, ok;

	if (ctx != NULL)
		EVP_CIPHER_CTX_reset(ctx);
	else if ((ctx = cctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	if (c == SECMSG_AES)
		ok = EVP_CipherInit_ex(ctx, aes != NULL ? aes :
		    EVP_aes_256_cbc(), NULL, k->aes, aes_iv, enc);
	else {
		ok = EVP_CipherInit_ex(ctx, bf != NULL ? bf : EVP_bf_cbc(),
		    NULL, NULL, NULL, enc) &&
		    EVP_CIPHER_CTX_set_key_length(ctx, 47) &&
		    EVP_CipherInit_ex(ctx, NULL, NULL, k->bf, bf_iv, enc) &&
		    EVP_CIPHER_CTX_set_padding(ctx, 0);
	}
	ok = ok && EVP_CipherUpdate(ctx, out, &n1, in, (int)inlen) &&
	    EVP_CipherFinal_ex(ctx, out + n1, &n2);
	return ok ? n1 + n2 : -1;
}

static int
digits(const char *p, int n, unsigned long *v)
{
	int	i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i]))
			return -1;
		*v = *v * 10 + (unsigned long)(p[i] - '0');
	}
	return 0;
}

/*
 * Decrypt, inflate and check one message.  out receives the message text
 * (NUL-terminated); returns 0, or -1 with *why set.
 */
int
secmsg_open(const struct secmsg_key *k, enum secmsg_cipher c,
    const uint8_t *ct, size_t ctlen, char *out, size_t outcap,
    size_t *outlen, struct secmsg_counters *ctr, const char **why)
{
	uint8_t		 plain[SECMSG_MAX + 32];
	char		*z = NULL, sum[33];
	uLongf		 zlen = BODY_MAX;
	unsigned long	 v;
	size_t		 i, body;
	int		 n, rv = -1;

	*why = "undecryptable (wrong key?)";
	if (ctlen == 0 || ctlen > SECMSG_MAX || ctlen % 8 != 0 ||
	    (n = cbc(0, c, k, ct, ctlen, plain)) <= 0)
		return -1;
	for (i = 0; i < (size_t)n && i < 8 && plain[i] == '!'; i++)
		;
	if (i == 0 || i == (size_t)n)
		return -1;
	*why = "not a zlib stream";
	if ((z = thread_buf(&zbuf, BODY_MAX + 1)) == NULL ||
	    zunpack(plain + i, (size_t)n - i, z, &zlen) == -1)
		goto done;
	*why = "too short";
	if (zlen < 32 + 5 + 10 + 1 + 4 + 1)
		goto done;
	z[zlen] = '\0';
	*why = "checksum mismatch";
	md5hex(z + 32, zlen - 32, sum);
	if (memcmp(sum, z, 32) != 0)
		goto done;
	*why = "malformed counters";
	if (digits(z + 32, 5, &v) == -1)
		goto done;
	ctr->random = (unsigned)v;
	if (digits(z + 37, 10, &ctr->global) == -1 || z[47] != ':' ||
	    digits(z + 48, 4, &v) == -1 || z[52] != ':')
		goto done;
	ctr->local = (unsigned)v;
	body = zlen - 53;
	*why = "message too long";
	if (body + 1 > outcap)
		goto done;
	memcpy(out, z + 53, body);
	out[body] = '\0';
	*outlen = body;
	rv = 0;
done:
	return rv;
}

/*
 * Build a message in the given cipher: "#AES:" or ":" (manager to agent,
 * id NULL), "!<id>!#AES:" or "!<id>!:" (agent to manager), then the
 * ciphertext of the '!' padding and the zlib stream of checksum, counters
 * and message.  A manager answers in the cipher the agent writes (Wazuh's
 * CreateSecMSG uses the key entry's last cipher): a Blowfish agent cannot
 * read AES.
 */
static int
seal(const struct secmsg_key *k, enum secmsg_cipher c, const char *id,
    const char *msg, size_t len, const struct secmsg_counters *ctr,
    uint8_t *out, size_t outcap, size_t *outlen, int quick)
{
	char		*body;
	uint8_t		*plain;
	char		 head[32], sum[33], prefix[SECMSG_ID_MAX + 8];
	const char	*token = c == SECMSG_AES ? "#AES:" : ":";
	uLongf		 zlen;
	size_t		 blen, pad, hlen;
	int		 n, rv = -1;

	if (len > SECMSG_MAX - 128)
		return -1;
	snprintf(head, sizeof(head), "%05u%010lu:%04u:", ctr->random % 100000,
	    ctr->global % 10000000000ul, ctr->local % 10000);
	blen = 32 + strlen(head) + len;
	if ((body = thread_buf(&bodybuf, BODY_MAX)) == NULL)
		goto done;
	memcpy(body + 32, head, strlen(head));
	memcpy(body + 32 + strlen(head), msg, len);
	md5hex(body + 32, blen - 32, sum);
	memcpy(body, sum, 32);
	zlen = compressBound((uLong)blen);
	if ((plain = thread_buf(&packbuf, compressBound(BODY_MAX) + 8)) ==
	    NULL || zpack(body, blen, plain + 8, &zlen, quick &&
	    blen <= SECMSG_STORED_MAX) == -1)
		goto done;
	pad = 8 - zlen % 8;	/* 1 to 8 '!' */
	memmove(plain + pad, plain + 8, zlen);
	memset(plain, '!', pad);
	hlen = id != NULL ? (size_t)snprintf(prefix, sizeof(prefix),
	    "!%s!%s", id, token) : (size_t)snprintf(prefix, sizeof(prefix),
	    "%s", token);
	if (hlen >= sizeof(prefix) || outcap < hlen + pad + zlen + 32)
		goto done;
	memcpy(out, prefix, hlen);
	if ((n = cbc(1, c, k, plain, pad + zlen, out + hlen)) <= 0)
		goto done;
	*outlen = hlen + (size_t)n;
	rv = 0;
done:
	return rv;
}

int
secmsg_seal(const struct secmsg_key *k, enum secmsg_cipher c, const char *id,
    const char *msg, size_t len, const struct secmsg_counters *ctr,
    uint8_t *out, size_t outcap, size_t *outlen)
{
	return seal(k, c, id, msg, len, ctr, out, outcap, outlen, 0);
}

int
secmsg_seal_quick(const struct secmsg_key *k, enum secmsg_cipher c,
    const char *id, const char *msg, size_t len,
    const struct secmsg_counters *ctr, uint8_t *out, size_t outcap,
    size_t *outlen)
{
	return seal(k, c, id, msg, len, ctr, out, outcap, outlen, 1);
}

uint32_t
secmsg_global32(unsigned long global)
{
	return (uint32_t)(global & UINT32_MAX);
}

/*
 * Replay protection as Wazuh's manager does it (ReadSecMSG with
 * verify_msg_id): a message is new when its global counter (read as
 * secmsg_global32) is above the last one seen, or equal with a higher
 * local counter.  Returns 1 for a new message, 0 for a replay (lower
 * global, or equal global and a local counter not above the last).
 */
int
secmsg_counters_newer(const struct secmsg_counters *m,
    uint32_t last_global, unsigned last_local)
{
	uint32_t	g = secmsg_global32(m->global);

	return g > last_global || (g == last_global && m->local > last_local);
}

/*
 * The TCP framing: a 4-byte little-endian length, 1 to SECMSG_MAX.
 * Returns 0 with *len set, or -1 for a length that must drop the peer.
 */
int
secmsg_frame_length(const uint8_t hdr[4], uint32_t *len)
{
	*len = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 |
	    (uint32_t)hdr[2] << 16 | (uint32_t)hdr[3] << 24;
	return *len == 0 || *len > SECMSG_MAX ? -1 : 0;
}
