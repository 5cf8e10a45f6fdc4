/*
 * Agent secure messages and keepalives against the vectors encoded by an
 * independent agent implementation (tests/data/agent-vectors.json, or
 * $AGENT_VECTORS): every message must decode, and each keepalive must
 * yield exactly the fields listed with it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "agent/keepalive.h"
#include "agent/secmsg.h"

#define VECTORS_DEFAULT	"../data/agent-vectors.json"

static cJSON	*vectors;

static int
load_vectors(void **state)
{
	const char	*path = getenv("AGENT_VECTORS");
	char		*text;
	FILE		*fp;
	long		 n;

	(void)state;
	if (path == NULL)
		path = VECTORS_DEFAULT;
	if ((fp = fopen(path, "r")) == NULL) {
		fprintf(stderr, "cannot open %s\n", path);
		return -1;
	}
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	text = malloc((size_t)n + 1);
	if (fread(text, 1, (size_t)n, fp) != (size_t)n)
		return -1;
	text[n] = '\0';
	fclose(fp);
	vectors = cJSON_Parse(text);
	free(text);
	return vectors != NULL && secmsg_init() == 0 ? 0 : -1;
}

static int
free_vectors(void **state)
{
	(void)state;
	cJSON_Delete(vectors);
	secmsg_shutdown();
	return 0;
}

static const char *
s(const cJSON *c, const char *k)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(c, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Base64 to bytes; returns the length. */
static size_t
unb64(const char *in, uint8_t *out)
{
	size_t	n = strlen(in);
	int	len = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);

	assert_true(len >= 0);
	if (n > 0 && in[n - 1] == '=')
		len--;
	if (n > 1 && in[n - 2] == '=')
		len--;
	return (size_t)len;
}

/* Decode a case's wire bytes; the message into out. */
static void
decode_case(const cJSON *c, char *out, size_t outcap, size_t *outlen,
    struct secmsg_counters *ctr)
{
	static uint8_t		 wire[SECMSG_MAX + 64];
	struct secmsg_key	 key;
	enum secmsg_cipher	 ci;
	const uint8_t		*ct;
	const char		*why = NULL;
	char			 id[SECMSG_ID_MAX];
	size_t			 n, ctlen;

	n = unb64(s(c, "wire_b64"), wire);
	assert_int_equal(secmsg_split(wire, n, id, &ci, &ct, &ctlen),
	    SECMSG_OK);
	assert_string_equal(id, s(c, "agent_id"));
	assert_int_equal(ci, strcmp(s(c, "cipher"), "blowfish") == 0 ?
	    SECMSG_BLOWFISH : SECMSG_AES);
	secmsg_derive(s(c, "agent_id"), s(c, "agent_name"), s(c, "agent_key"),
	    &key);
	if (secmsg_open(&key, ci, ct, ctlen, out, outcap, outlen, ctr,
	    &why) != 0)
		fail_msg("agent %s: %s", s(c, "agent_id"), why);
}

/* Every message in the file decodes, to its plaintext and counters. */
static void
test_every_vector_decodes(void **state)
{
	static char		 out[SECMSG_MAX + 1];
	const cJSON		*c, *ctrs;
	struct secmsg_counters	 ctr;
	size_t			 len;
	int			 n = 0;

	(void)state;
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(vectors, "cases")) {
		if (s(c, "wire_b64") == NULL)
			continue;
		decode_case(c, out, sizeof(out), &len, &ctr);
		if (s(c, "plaintext_message") != NULL)
			assert_string_equal(out, s(c, "plaintext_message"));
		ctrs = cJSON_GetObjectItem(c, "counters");
		assert_int_equal(ctr.random,
		    cJSON_GetObjectItem(ctrs, "random")->valueint);
		assert_true(ctr.global == (unsigned long)cJSON_GetObjectItem(
		    ctrs, "global")->valuedouble);
		assert_int_equal(ctr.local,
		    cJSON_GetObjectItem(ctrs, "local")->valueint);
		n++;
	}
	assert_true(n >= 15);
}

/* The key derivation the agents use, Blowfish's 47 characters included. */
static void
test_key_derivation(void **state)
{
	const cJSON		*c;
	struct secmsg_key	 key;
	int			 n = 0;

	(void)state;
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(vectors, "cases")) {
		if (s(c, "derived_key_ascii") == NULL)
			continue;
		secmsg_derive(s(c, "agent_id"), s(c, "agent_name"),
		    s(c, "agent_key"), &key);
		assert_memory_equal(key.bf, s(c, "derived_key_ascii"), 47);
		assert_memory_equal(key.aes, s(c, "derived_key_ascii"), 32);
		n++;
	}
	assert_true(n >= 3);
}

/* Each keepalive yields exactly the listed fields (null: absent). */
static void
test_keepalive_fields(void **state)
{
	static char		 out[SECMSG_MAX + 1];
	static const char *const names[] = {
		"os_uname", "os_name", "os_platform", "os_version",
		"os_codename", "os_major", "os_minor", "os_arch", "version",
		"config_sum", "merged_sum", "agent_ip", NULL
	};
	const cJSON		*c, *want, *v, *l;
	struct secmsg_counters	 ctr;
	struct keepalive	 k;
	cJSON			*got;
	size_t			 len;
	int			 i, n = 0;

	(void)state;
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(vectors, "cases")) {
		if (s(c, "kind") == NULL || strcmp(s(c, "kind"), "keepalive"))
			continue;
		decode_case(c, out, sizeof(out), &len, &ctr);
		assert_int_equal(strncmp(out, "#!-", 3), 0);
		assert_int_equal(keepalive_parse(out + 3, &k), 0);
		got = keepalive_json(&k);
		want = cJSON_GetObjectItem(c, "expected_fields");
		for (i = 0; names[i] != NULL; i++) {
			v = cJSON_GetObjectItem(want, names[i]);
			if (cJSON_IsNull(v)) {
				if (cJSON_GetObjectItem(got, names[i]) != NULL)
					fail_msg("%s: %s should be absent",
					    s(c, "os_template"), names[i]);
				continue;
			}
			if (s(got, names[i]) == NULL ||
			    strcmp(s(got, names[i]), v->valuestring) != 0)
				fail_msg("%s: %s is \"%s\", want \"%s\"",
				    s(c, "os_template"), names[i],
				    s(got, names[i]) ? s(got, names[i]) : "",
				    v->valuestring);
		}
		l = cJSON_GetObjectItem(want, "labels");
		assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(got,
		    "labels")), cJSON_GetArraySize(l));
		cJSON_ArrayForEach(v, l)
			assert_string_equal(s(cJSON_GetObjectItem(got, "labels"),
			    v->string), v->valuestring);
		cJSON_Delete(got);
		keepalive_free(&k);
		n++;
	}
	assert_true(n >= 3);
}

/* A Windows keepalive: " [Ver: x.y.z]". */
static void
test_keepalive_windows(void **state)
{
	struct keepalive	k;

	(void)state;
	assert_int_equal(keepalive_parse("Microsoft Windows 10 Pro [Ver: "
	    "10.0.19041] - Wazuh v4.7.0 / 0123456789abcdef0123456789abcdef\n"
	    "fedcba9876543210fedcba9876543210 merged.mg\n"
	    "#\"_agent_ip\":192.0.2.7\n", &k), 0);
	assert_string_equal(k.os_name, "Microsoft Windows 10 Pro");
	assert_string_equal(k.os_platform, "windows");
	assert_string_equal(k.os_version, "10.0.19041");
	assert_string_equal(k.os_major, "10");
	assert_string_equal(k.os_minor, "0");
	assert_string_equal(k.os_build, "19041");
	assert_string_equal(k.version, "Wazuh v4.7.0");
	assert_string_equal(k.merged_sum, "fedcba9876543210fedcba9876543210");
	assert_string_equal(k.agent_ip, "192.0.2.7");
	keepalive_free(&k);
	assert_int_equal(keepalive_parse("no uname line\n", &k), -1);
	keepalive_free(&k);
}

/* What the manager sends decodes back, through the agents' own rules. */
static void
test_seal_open_round_trip(void **state)
{
	struct secmsg_key	 key;
	struct secmsg_counters	 c = { 12345, 42, 7 }, got;
	uint8_t			 wire[512];
	char			 out[256];
	const char		*why;
	size_t			 n, len;

	(void)state;
	secmsg_derive("001", "web-01", "c0ffeec0ffeec0ffeec0ffeec0ffeec0ffee"
	    "c0ffeec0ffeec0ffeec0ffeeabcd", &key);
	assert_int_equal(secmsg_seal(&key, SECMSG_AES, NULL, "#!-agent ack ",
	    13, &c, wire, sizeof(wire), &n), 0);
	assert_memory_equal(wire, "#AES:", 5);
	assert_int_equal(secmsg_open(&key, SECMSG_AES, wire + 5, n - 5, out,
	    sizeof(out), &len, &got, &why), 0);
	assert_string_equal(out, "#!-agent ack ");
	assert_int_equal(got.random, 12345);
	assert_true(got.global == 42);
	assert_int_equal(got.local, 7);
}

/*
 * Sealing a vector's message, with its cipher and counters, as its agent
 * gives the vector's bytes exactly: the encoder is the agents' own, in
 * both ciphers.
 */
static void
test_seal_matches_vectors(void **state)
{
	static uint8_t		 want[SECMSG_MAX + 64], got[SECMSG_MAX + 64];
	const cJSON		*c, *ctrs;
	struct secmsg_key	 key;
	struct secmsg_counters	 ctr;
	enum secmsg_cipher	 ci;
	size_t			 n, len;
	int			 bf = 0, aes = 0;

	(void)state;
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(vectors, "cases")) {
		if (s(c, "wire_b64") == NULL ||
		    s(c, "plaintext_message") == NULL)
			continue;
		ci = strcmp(s(c, "cipher"), "blowfish") == 0 ?
		    SECMSG_BLOWFISH : SECMSG_AES;
		ctrs = cJSON_GetObjectItem(c, "counters");
		ctr.random = (unsigned)cJSON_GetObjectItem(ctrs,
		    "random")->valueint;
		ctr.global = (unsigned long)cJSON_GetObjectItem(ctrs,
		    "global")->valuedouble;
		ctr.local = (unsigned)cJSON_GetObjectItem(ctrs,
		    "local")->valueint;
		secmsg_derive(s(c, "agent_id"), s(c, "agent_name"),
		    s(c, "agent_key"), &key);
		n = unb64(s(c, "wire_b64"), want);
		assert_int_equal(secmsg_seal(&key, ci, s(c, "agent_id"),
		    s(c, "plaintext_message"), strlen(s(c,
		    "plaintext_message")), &ctr, got, sizeof(got), &len), 0);
		assert_int_equal(len, n);
		assert_memory_equal(got, want, n);
		if (ci == SECMSG_BLOWFISH)
			bf++;
		else
			aes++;
	}
	assert_true(bf >= 1 && aes >= 10);
}

/*
 * A Blowfish agent's answers: ":" and Blowfish, which that agent opens
 * with its 47-byte key; AES ones "#AES:".  Neither opens with the other
 * cipher.
 */
static void
test_answer_in_agent_cipher(void **state)
{
	struct secmsg_key	 key;
	struct secmsg_counters	 c = { 4242, 1234567890, 17 }, got;
	enum secmsg_cipher	 ci;
	uint8_t			 wire[512];
	char			 out[256];
	const uint8_t		*ct;
	const char		*why;
	size_t			 n, len, ctlen;

	(void)state;
	secmsg_derive("002", "legacy-box", "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
	    "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", &key);
	assert_int_equal(secmsg_seal(&key, SECMSG_BLOWFISH, NULL,
	    "#!-agent ack ", 13, &c, wire, sizeof(wire), &n), 0);
	assert_int_equal(wire[0], ':');
	assert_int_equal((n - 1) % 8, 0);
	assert_int_equal(secmsg_split_answer(wire, n, &ci, &ct, &ctlen),
	    SECMSG_OK);
	assert_int_equal(ci, SECMSG_BLOWFISH);
	assert_ptr_equal(ct, wire + 1);
	assert_int_equal(secmsg_open(&key, SECMSG_AES, ct, ctlen, out,
	    sizeof(out), &len, &got, &why), -1);
	assert_int_equal(secmsg_open(&key, ci, ct, ctlen, out, sizeof(out),
	    &len, &got, &why), 0);
	assert_string_equal(out, "#!-agent ack ");
	assert_true(got.global == 1234567890);
	assert_int_equal(got.local, 17);

	assert_int_equal(secmsg_seal(&key, SECMSG_AES, NULL,
	    "#!-force_reconnect", 18, &c, wire, sizeof(wire), &n), 0);
	assert_int_equal(secmsg_split_answer(wire, n, &ci, &ct, &ctlen),
	    SECMSG_OK);
	assert_int_equal(ci, SECMSG_AES);
	assert_int_equal(secmsg_open(&key, SECMSG_BLOWFISH, ct, ctlen, out,
	    sizeof(out), &len, &got, &why), -1);
	assert_int_equal(secmsg_open(&key, ci, ct, ctlen, out, sizeof(out),
	    &len, &got, &why), 0);
	assert_string_equal(out, "#!-force_reconnect");
	assert_int_equal(secmsg_split_answer((const uint8_t *)"#AES:", 5, &ci,
	    &ct, &ctlen), SECMSG_BAD);
	assert_int_equal(secmsg_split_answer((const uint8_t *)":", 1, &ci,
	    &ct, &ctlen), SECMSG_BAD);
	assert_int_equal(secmsg_split_answer((const uint8_t *)"!001!:x", 7,
	    &ci, &ct, &ctlen), SECMSG_BAD);
}

/*
 * enforce_counters as Wazuh's manager: a higher global counter, or the
 * same with a higher local one, is new; anything else is a replay.
 */
static void
test_counters_newer(void **state)
{
	static const struct {
		unsigned long	global;
		unsigned	local;
		int		newer;
	} cases[] = {
		{ 1001, 0, 1 },		/* higher global, local reset */
		{ 1001, 9999, 1 },
		{ 1000, 501, 1 },	/* same global, higher local */
		{ 1000, 500, 0 },	/* the same message again */
		{ 1000, 499, 0 },	/* same global, lower local */
		{ 1000, 0, 0 },
		{ 999, 9999, 0 },	/* lower global, whatever the local */
		{ 0, 0, 0 },
	};
	struct secmsg_counters	m = { 0, 0, 0 };
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		m.global = cases[i].global;
		m.local = cases[i].local;
		if (secmsg_counters_newer(&m, 1000, 500) != cases[i].newer)
			fail_msg("%lu:%u after 1000:500", m.global, m.local);
	}
	/* A new agent (nothing seen: 0:0) is accepted from its first. */
	m.global = 0;
	m.local = 1;
	assert_true(secmsg_counters_newer(&m, 0, 0));
}

/* Frames that are not secure messages, or not from a known agent. */
static void
test_split_bad(void **state)
{
	static const char *const bad[] = {
		"", "!", "!!", "!001", "!001!", "!001!#AES", "!001!x",
		"!0a1!#AES:xxxxxxxx", "!12345678901234567!#AES:xxxxxxxx",
		"hello", "!001!#AES:",
	};
	char			 id[SECMSG_ID_MAX];
	enum secmsg_cipher	 c;
	const uint8_t		*ct;
	size_t			 ctlen, i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (secmsg_split((const uint8_t *)bad[i], strlen(bad[i]), id,
		    &c, &ct, &ctlen) != SECMSG_BAD)
			fail_msg("\"%s\" accepted", bad[i]);
	assert_int_equal(secmsg_split((const uint8_t *)"#ping", 5, id, &c,
	    &ct, &ctlen), SECMSG_PING);
	assert_int_equal(secmsg_split((const uint8_t *)"#AES:abcdefgh", 13,
	    id, &c, &ct, &ctlen), SECMSG_NO_ID);
}

/* Wrong key, truncated and tampered ciphertexts fail cleanly. */
static void
test_open_bad(void **state)
{
	static uint8_t		 wire[SECMSG_MAX + 64];
	static char		 out[SECMSG_MAX + 1];
	const cJSON		*c;
	struct secmsg_key	 key, wrong;
	struct secmsg_counters	 ctr;
	enum secmsg_cipher	 ci;
	const uint8_t		*ct;
	const char		*why;
	char			 id[SECMSG_ID_MAX];
	size_t			 n, ctlen, len, cut;

	(void)state;
	c = cJSON_GetArrayItem(cJSON_GetObjectItem(vectors, "cases"), 2);
	n = unb64(s(c, "wire_b64"), wire);
	assert_int_equal(secmsg_split(wire, n, id, &ci, &ct, &ctlen),
	    SECMSG_OK);
	secmsg_derive(id, s(c, "agent_name"), s(c, "agent_key"), &key);
	secmsg_derive(id, s(c, "agent_name"), "0000000000000000000000000000"
	    "000000000000000000000000000000000000", &wrong);
	assert_int_equal(secmsg_open(&wrong, ci, ct, ctlen, out, sizeof(out),
	    &len, &ctr, &why), -1);
	for (cut = 0; cut < ctlen; cut += 8)
		assert_int_equal(secmsg_open(&key, ci, ct, cut, out,
		    sizeof(out), &len, &ctr, &why), -1);
	assert_int_equal(secmsg_open(&key, ci, ct, ctlen - 3, out,
	    sizeof(out), &len, &ctr, &why), -1);
	wire[n - 20] ^= 0x55;	/* tamper with the last blocks */
	assert_int_equal(secmsg_open(&key, ci, ct, ctlen, out, sizeof(out),
	    &len, &ctr, &why), -1);
	assert_int_equal(secmsg_open(&key, ci, ct, ctlen, out, 4, &len, &ctr,
	    &why), -1);
}

/*
 * secmsg_seal_quick: a small body goes stored (as long as the text, where
 * level 6 shrinks a repetitive one), and opens through the agents' rules
 * in both ciphers; a body over SECMSG_STORED_MAX is the level-6 message,
 * byte for byte.
 */
static void
test_seal_quick(void **state)
{
	static uint8_t		 wire[8192], slow[8192];
	static char		 msg[2001], out[4096];
	struct secmsg_key	 key;
	struct secmsg_counters	 c = { 777, 9000000001ul, 9999 }, got;
	enum secmsg_cipher	 ci;
	const uint8_t		*ct;
	const char		*why;
	size_t			 n, m, len, ctlen, i;
	const enum secmsg_cipher ciphers[] = { SECMSG_AES, SECMSG_BLOWFISH };

	(void)state;
	secmsg_derive("001", "web-01", "c0ffeec0ffeec0ffeec0ffeec0ffeec0ffee"
	    "c0ffeec0ffeec0ffeec0ffeeabcd", &key);
	memset(msg, 'a', 400);
	for (i = 0; i < 2; i++) {
		assert_int_equal(secmsg_seal_quick(&key, ciphers[i], NULL, msg,
		    400, &c, wire, sizeof(wire), &n), 0);
		assert_int_equal(secmsg_seal(&key, ciphers[i], NULL, msg, 400,
		    &c, slow, sizeof(slow), &m), 0);
		assert_true(n > 400 && m < 200);
		assert_int_equal(secmsg_split_answer(wire, n, &ci, &ct,
		    &ctlen), SECMSG_OK);
		assert_int_equal(ci, ciphers[i]);
		assert_int_equal(secmsg_open(&key, ci, ct, ctlen, out,
		    sizeof(out), &len, &got, &why), 0);
		assert_int_equal(len, 400);
		assert_memory_equal(out, msg, 400);
		assert_int_equal(got.random, 777);
		assert_int_equal(got.local, 9999);
	}
	memset(msg, 'b', 2000);
	assert_int_equal(secmsg_seal_quick(&key, SECMSG_AES, "001", msg, 2000,
	    &c, wire, sizeof(wire), &n), 0);
	assert_int_equal(secmsg_seal(&key, SECMSG_AES, "001", msg, 2000, &c,
	    slow, sizeof(slow), &m), 0);
	assert_int_equal(n, m);
	assert_memory_equal(wire, slow, n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_vector_decodes),
		cmocka_unit_test(test_key_derivation),
		cmocka_unit_test(test_keepalive_fields),
		cmocka_unit_test(test_keepalive_windows),
		cmocka_unit_test(test_seal_open_round_trip),
		cmocka_unit_test(test_seal_matches_vectors),
		cmocka_unit_test(test_seal_quick),
		cmocka_unit_test(test_answer_in_agent_cipher),
		cmocka_unit_test(test_counters_newer),
		cmocka_unit_test(test_split_bad),
		cmocka_unit_test(test_open_bad),
	};

	return cmocka_run_group_tests(tests, load_vectors, free_vectors);
}
