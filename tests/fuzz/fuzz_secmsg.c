/*
 * fuzz_secmsg: the agents' secure-message codec and the keepalive parser
 * on arbitrary bytes, for one fixed agent (001, web-01, the key of
 * tests/data/agent-vectors.json, so the seeds decode).
 *
 * The first byte chooses the mode ((byte & 15) % 3) and its flags (byte
 * >> 4); the rest is:
 *   0  a wire message (without its length prefix): secmsg_split, then
 *      secmsg_open with the agent's key into an out buffer of exactly
 *      outcap bytes (flag 8: a small one, 1 + (flags & 7) * 16).  Open
 *      never writes past out; on success the message is NUL-terminated
 *      and outlen == strlen; sealed again, it opens to the same text.
 *   1  a plaintext: secmsg_seal (or, by a bit of the input's hash,
 *      secmsg_seal_quick) then secmsg_open must give it back exactly
 *      for every length the seal accepts (len <= SECMSG_MAX - 128), and
 *      the sealed message must fit in one frame (<= SECMSG_MAX).  Flag 1:
 *      manager to agent ("#AES:", no id).  Flag 2: a large plaintext, its
 *      length the next two bytes (+512 with flag 8), its bytes pseudo-
 *      random (incompressible: the worst case for the frame limit) or,
 *      with flag 4, a repeated pattern.
 *   2  a keepalive text (NUL-terminated copy): keepalive_parse,
 *      keepalive_json, keepalive_free; every field a terminated string
 *      without a newline; keepalive_merged_sum within its buffer.
 *
 * Seeds (tests/fuzz/seeds/fuzz_secmsg): "wire-*" are the first five
 * agent-vectors.json cases (agent 001) base64-decoded behind a 0x00 byte,
 * "seal-*" plaintexts behind 0x01 (0x21: large), "ka-*" keepalive texts
 * behind 0x02.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent/agents.h"
#include "agent/keepalive.h"
#include "agent/secmsg.h"

int	LLVMFuzzerInitialize(int *, char ***);
#include "fuzz.h"

#define AGENT_ID	"001"
#define AGENT_NAME	"web-01"
#define AGENT_KEY	"c0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ffeec0ff" \
			"eec0ffeeabcd"

#define SEAL_MAX	(SECMSG_MAX - 128)	/* secmsg_seal's limit */
#define BIG_MAX		(0xffff + 512)
#define WIRE_CAP	(SECMSG_MAX + 1024)

static struct secmsg_key	key;
static uint8_t			wire[WIRE_CAP];
static char			big[BIG_MAX + 1];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	CHECK(secmsg_init() == 0);
	secmsg_derive(AGENT_ID, AGENT_NAME, AGENT_KEY, &key);
	return 0;
}

static uint64_t
fnv64(const uint8_t *p, size_t n)
{
	uint64_t	h = 14695981039346656037ull;
	size_t		i;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* Open ct into an exactly sized heap buffer; -1, or 0 with out checked. */
static int
open_checked(enum secmsg_cipher ci, const uint8_t *ct, size_t ctlen,
    size_t outcap, char **outp, size_t *outlen, struct secmsg_counters *ctr)
{
	const char	*why = NULL;
	char		*out;
	int		 r;

	CHECK(outcap > 0);
	out = malloc(outcap);
	CHECK(out != NULL);
	memset(out, 0x55, outcap);
	*outlen = (size_t)-1;
	r = secmsg_open(&key, ci, ct, ctlen, out, outcap, outlen, ctr, &why);
	CHECK(r == 0 || r == -1);
	if (r == -1) {
		CHECK(why != NULL && why[0] != '\0');
		free(out);
		*outp = NULL;
		return -1;
	}
	CHECK(*outlen < outcap);
	CHECK(out[*outlen] == '\0');
	CHECK(ctr->random < 100000);
	CHECK(ctr->global < 10000000000ul);
	CHECK(ctr->local < 10000);
	*outp = out;
	return 0;
}

/* Mode 0: a wire message from the network. */
static void
mode_wire(const uint8_t *m, size_t len, unsigned flags)
{
	struct secmsg_counters	 ctr, ctr2;
	enum secmsg_cipher	 ci = (enum secmsg_cipher)-1, wci;
	enum secmsg_kind	 kind;
	const uint8_t		*ct = NULL;
	char			 id[SECMSG_ID_MAX], *out, *out2;
	size_t			 ctlen = 0, idlen, i, outlen, outcap, out2len,
				 wlen;

	memset(id, 'X', sizeof(id));
	kind = secmsg_split(m, len, id, &ci, &ct, &ctlen);
	switch (kind) {
	case SECMSG_PING:
		CHECK(len == 5 && memcmp(m, "#ping", 5) == 0);
		return;
	case SECMSG_NO_ID:
		CHECK(len >= 5 && memcmp(m, "#AES:", 5) == 0);
		return;
	case SECMSG_BAD:
		return;
	case SECMSG_OK:
		break;
	default:
		CHECK(!"secmsg_split: unknown kind");
	}
	/* "!<digits>!" then "#AES:" or ":", then a non-empty ciphertext. */
	idlen = strnlen(id, sizeof(id));
	CHECK(idlen >= 1 && idlen < SECMSG_ID_MAX);
	for (i = 0; i < idlen; i++)
		CHECK(id[i] >= '0' && id[i] <= '9');
	CHECK(m[0] == '!' && memcmp(m + 1, id, idlen) == 0 &&
	    m[1 + idlen] == '!');
	CHECK(ci == SECMSG_AES || ci == SECMSG_BLOWFISH);
	if (ci == SECMSG_AES)
		CHECK(ct == m + idlen + 2 + 5 &&
		    memcmp(m + idlen + 2, "#AES:", 5) == 0);
	else
		CHECK(ct == m + idlen + 2 + 1 && m[idlen + 2] == ':');
	CHECK(ctlen > 0 && ct + ctlen == m + len);

	outcap = (flags & 8) ? 1 + (flags & 7) * 16 : SECMSG_MAX + 1;
	if (open_checked(ci, ct, ctlen, outcap, &out, &outlen, &ctr) == -1)
		return;
	CHECK(strlen(out) == outlen);
	/* What opened seals again, and that opens to the same text. */
	if (outlen <= SEAL_MAX) {
		CHECK(secmsg_seal(&key, ci, id, out, outlen, &ctr, wire,
		    sizeof(wire), &wlen) == 0);
		CHECK(wlen <= SECMSG_MAX);
		wci = ci;
		CHECK(secmsg_split(wire, wlen, id, &ci, &ct, &ctlen) ==
		    SECMSG_OK && ci == wci);
		CHECK(open_checked(ci, ct, ctlen, outlen + 1, &out2, &out2len,
		    &ctr2) == 0);
		CHECK(out2len == outlen && memcmp(out, out2, outlen) == 0);
		CHECK(ctr2.random == ctr.random && ctr2.global == ctr.global &&
		    ctr2.local == ctr.local);
		free(out2);
	}
	free(out);
}

/* Mode 1: seal a plaintext, open it again. */
static void
mode_seal(const uint8_t *p, size_t n, unsigned flags)
{
	struct secmsg_counters	 ctr, got;
	enum secmsg_cipher	 ci, sci;
	enum secmsg_kind	 kind;
	const uint8_t		*ct;
	const char		*msg = (const char *)p;
	char			 id[SECMSG_ID_MAX], *out;
	size_t			 len = n, ctlen, wlen, outlen, i;
	uint64_t		 h = fnv64(p, n), x;
	int			 r;

	if (flags & 2) {
		/* Large: the length from two bytes, the content generated. */
		if (n < 2)
			return;
		len = ((size_t)p[0] << 8 | p[1]) + ((flags & 8) ? 512 : 0);
		x = h | 1;
		for (i = 0; i < len; i++) {
			if (flags & 4)
				big[i] = n > 2 ? (char)p[2 + i % (n - 2)] : 'a';
			else {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				big[i] = (char)(x >> 32);
			}
		}
		msg = big;
	}
	ctr.random = (unsigned)(h & 0xffffffff);
	ctr.global = (unsigned long)(h >> 8);
	ctr.local = (unsigned)(h >> 40);

	wlen = (size_t)-1;
	sci = (h >> 63) ? SECMSG_BLOWFISH : SECMSG_AES;
	r = ((h >> 62) & 1 ? secmsg_seal_quick : secmsg_seal)(&key, sci,
	    (flags & 1) ? NULL : AGENT_ID, msg, len, &ctr, wire, sizeof(wire),
	    &wlen);
	CHECK(r == 0 || r == -1);
	if (len > SEAL_MAX) {
		CHECK(r == -1);
		return;
	}
	CHECK(r == 0);
	/* A sealed message always fits in one frame. */
	CHECK(wlen > 5 && wlen <= SECMSG_MAX);
	if (flags & 1) {
		/* A manager's answer: "#AES:" or ":", as the agent reads it. */
		kind = secmsg_split_answer(wire, wlen, &ci, &ct, &ctlen);
		CHECK(kind == SECMSG_OK && ci == sci);
		CHECK(ct == wire + (sci == SECMSG_AES ? 5 : 1));
		if (sci == SECMSG_AES)
			CHECK(secmsg_split(wire, wlen, id, &ci, &ct, &ctlen) ==
			    SECMSG_NO_ID);
	} else {
		kind = secmsg_split(wire, wlen, id, &ci, &ct, &ctlen);
		CHECK(kind == SECMSG_OK);
		CHECK(strcmp(id, AGENT_ID) == 0 && ci == sci);
		CHECK(ct == wire + (sci == SECMSG_AES ? 10 : 6));
	}
	CHECK(ct + ctlen == wire + wlen);
	CHECK(ctlen % (sci == SECMSG_AES ? 16 : 8) == 0);

	/* Exactly len + 1 bytes of room: enough, and nothing past it. */
	CHECK(open_checked(ci, ct, ctlen, len + 1, &out, &outlen, &got) == 0);
	CHECK(outlen == len);
	CHECK(memcmp(out, msg, len) == 0);
	CHECK(got.random == ctr.random % 100000);
	CHECK(got.global == ctr.global % 10000000000ul);
	CHECK(got.local == ctr.local % 10000);
	free(out);
	/* One byte less: refused, and nothing written past its end. */
	if (len > 0)
		CHECK(open_checked(ci, ct, ctlen, len, &out, &outlen, &got) ==
		    -1);
}

static void
no_newline(const char *s, size_t cap)
{
	size_t	n = strnlen(s, cap);

	CHECK(n < cap);
	CHECK(memchr(s, '\n', n) == NULL);
}

/* Mode 2: a keepalive text. */
static void
mode_keepalive(const uint8_t *p, size_t n)
{
	static const char *const archs[] = {
		"", "x86_64", "i386", "i686", "sparc", "amd64", "i86pc", "ia64",
		"AIX", "armv6", "armv7", "aarch64", "arm64", NULL
	};
	struct keepalive	*k;
	const cJSON		*l;
	cJSON			*j, *back;
	char			*text, *s, sum[41];
	int			 r, i;

	text = malloc(n + 1);
	k = malloc(sizeof(*k));
	CHECK(text != NULL && k != NULL);
	memcpy(text, p, n);
	text[n] = '\0';
	memset(k, 0xa5, sizeof(*k));
	r = keepalive_parse(text, k);
	CHECK(r == 0 || r == -1);
	no_newline(k->os_uname, sizeof(k->os_uname));
	no_newline(k->os_name, sizeof(k->os_name));
	no_newline(k->os_platform, sizeof(k->os_platform));
	no_newline(k->os_version, sizeof(k->os_version));
	no_newline(k->os_codename, sizeof(k->os_codename));
	no_newline(k->os_major, sizeof(k->os_major));
	no_newline(k->os_minor, sizeof(k->os_minor));
	no_newline(k->os_build, sizeof(k->os_build));
	no_newline(k->os_arch, sizeof(k->os_arch));
	no_newline(k->version, sizeof(k->version));
	no_newline(k->config_sum, sizeof(k->config_sum));
	no_newline(k->merged_sum, sizeof(k->merged_sum));
	no_newline(k->agent_ip, sizeof(k->agent_ip));
	/* The sum alone (every keepalive): within its 33 bytes, one line. */
	memset(sum, 0xa5, sizeof(sum));
	keepalive_merged_sum(text, sum, 33);
	no_newline(sum, 33);
	for (i = 33; i < (int)sizeof(sum); i++)
		CHECK((unsigned char)sum[i] == 0xa5);
	/* What the gateway keeps of it: an address, or nothing. */
	if (agents_valid_ip(k->agent_ip))
		CHECK(strspn(k->agent_ip, "0123456789abcdefABCDEF.:") ==
		    strlen(k->agent_ip));
	for (i = 0; archs[i] != NULL; i++)
		if (strcmp(k->os_arch, archs[i]) == 0)
			break;
	CHECK(archs[i] != NULL);
	/* Digits only in major and minor. */
	CHECK(strspn(k->os_major, "0123456789") == strlen(k->os_major));
	CHECK(strspn(k->os_minor, "0123456789") == strlen(k->os_minor));
	if (r == -1)
		CHECK(k->version[0] == '\0' && k->os_uname[0] == '\0');
	if (k->labels != NULL) {
		CHECK(cJSON_IsObject(k->labels));
		cJSON_ArrayForEach(l, k->labels) {
			CHECK(cJSON_IsString(l) && l->string != NULL);
			CHECK(strchr(l->valuestring, '\n') == NULL);
			CHECK(strchr(l->string, '\n') == NULL);
		}
	}
	j = keepalive_json(k);
	CHECK(j != NULL && cJSON_IsObject(j));
	CHECK(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, "labels")));
	if ((s = cJSON_PrintUnformatted(j)) != NULL) {
		back = cJSON_Parse(s);
		CHECK(back != NULL && cJSON_IsObject(back));
		cJSON_Delete(back);
		cJSON_free(s);
	}
	cJSON_Delete(j);
	keepalive_free(k);
	CHECK(k->labels == NULL);
	free(k);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned	mode, flags;

	if (size < 1)
		return 0;
	mode = (data[0] & 15) % 3;
	flags = data[0] >> 4;
	if (mode == 0)
		mode_wire(data + 1, size - 1, flags);
	else if (mode == 1)
		mode_seal(data + 1, size - 1, flags);
	else
		mode_keepalive(data + 1, size - 1);
	return 0;
}
