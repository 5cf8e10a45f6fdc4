/*
 * test_frame: the link's 16-byte frame header and JSON payload parsing,
 * checked against the wire format described in frame.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "net/frame.h"

static const uint8_t magic[4] = { 'C', 'L', 'D', '1' };

/*
 * Every legal flags byte: RESPONSE and ERROR only together or RESPONSE
 * alone, BINARY payloads never compressed.
 */
static const uint8_t good_flags[] = {
	0, FRAME_F_RESPONSE, FRAME_F_RESPONSE | FRAME_F_ERROR,
	FRAME_F_BINARY, FRAME_F_RESPONSE | FRAME_F_BINARY,
	FRAME_F_RESPONSE | FRAME_F_ERROR | FRAME_F_BINARY,
#ifdef FRAME_F_ZLIB
	FRAME_F_ZLIB, FRAME_F_RESPONSE | FRAME_F_ZLIB,
	FRAME_F_RESPONSE | FRAME_F_ERROR | FRAME_F_ZLIB,
#endif
};

/* Raw header bytes, written by hand so the encoder is not its own oracle. */
static void
raw_hdr(uint8_t *b, uint8_t major, uint8_t minor, uint8_t type,
    uint8_t flags, uint32_t id, uint32_t len)
{
	memcpy(b, magic, 4);
	b[4] = major;
	b[5] = minor;
	b[6] = type;
	b[7] = flags;
	b[8] = id >> 24;
	b[9] = id >> 16;
	b[10] = id >> 8;
	b[11] = id;
	b[12] = len >> 24;
	b[13] = len >> 16;
	b[14] = len >> 8;
	b[15] = len;
}

static enum frame_status
decode_raw(uint8_t major, uint8_t minor, uint8_t type, uint8_t flags,
    uint32_t len)
{
	uint8_t			b[FRAME_HDR_LEN];
	struct frame_hdr	h;

	raw_hdr(b, major, minor, type, flags, 7, len);
	return frame_hdr_decode(b, sizeof(b), &h);
}

/* The byte layout is the protocol: check it against frame.h's table. */
static void
test_hdr_layout(void **state)
{
	static const uint8_t	 want[FRAME_HDR_LEN] = {
		'C', 'L', 'D', '1', 1, 0, FRAME_CONTROL, FRAME_F_RESPONSE,
		0x01, 0x02, 0x03, 0x04, 0x00, 0x7f, 0x80, 0xff
	};
	struct frame_hdr	 h = { 1, 0, FRAME_CONTROL, FRAME_F_RESPONSE,
	    0x01020304, 0x007f80ff };
	uint8_t			 b[FRAME_HDR_LEN];

	(void)state;
	frame_hdr_encode(&h, b);
	assert_memory_equal(b, want, sizeof(want));
}

static void
test_hdr_roundtrip(void **state)
{
	static const uint32_t	 ids[] = { 0, 1, 0x80000000u, 0xffffffffu };
	static const uint32_t	 lens[] = { 0, 1, 2, 65536,
	    FRAME_MAX_PAYLOAD - 1, FRAME_MAX_PAYLOAD };
	static const uint8_t	 minors[] = { 0, 1, 255 };
	struct frame_hdr	 in, out;
	uint8_t			 b[FRAME_HDR_LEN];
	size_t			 t, f, i, l, m, n = 0;

	(void)state;
	for (t = 1; t <= FRAME_TYPE_MAX; t++)
	for (f = 0; f < sizeof(good_flags); f++)
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
	for (l = 0; l < sizeof(lens) / sizeof(lens[0]); l++)
	for (m = 0; m < sizeof(minors); m++) {
		in.major = FRAME_PROTO_MAJOR;
		in.minor = minors[m];
		in.type = (uint8_t)t;
		in.flags = good_flags[f];
		in.id = ids[i];
		in.len = lens[l];
		frame_hdr_encode(&in, b);
		memset(&out, 0xa5, sizeof(out));
		assert_int_equal(frame_hdr_decode(b, sizeof(b), &out),
		    FRAME_OK);
		assert_int_equal(out.major, in.major);
		assert_int_equal(out.minor, in.minor);
		assert_int_equal(out.type, in.type);
		assert_int_equal(out.flags, in.flags);
		assert_int_equal(out.id, in.id);
		assert_int_equal(out.len, in.len);
		n++;
	}
	assert_int_equal(n, FRAME_TYPE_MAX * sizeof(good_flags) * 4 * 6 * 3);
}

/* A valid header cut anywhere before its end asks for more bytes. */
static void
test_truncated_valid(void **state)
{
	uint8_t			b[FRAME_HDR_LEN + 8];
	struct frame_hdr	h;
	size_t			len;

	(void)state;
	memset(b, 0xee, sizeof(b));
	raw_hdr(b, FRAME_PROTO_MAJOR, FRAME_PROTO_MINOR, FRAME_HELLO, 0, 1, 2);
	for (len = 0; len < FRAME_HDR_LEN; len++)
		assert_int_equal(frame_hdr_decode(b, len, &h),
		    FRAME_INCOMPLETE);
	assert_int_equal(frame_hdr_decode(b, FRAME_HDR_LEN, &h), FRAME_OK);
	/* Bytes after the header (payload, next frame) are not its business. */
	assert_int_equal(frame_hdr_decode(b, sizeof(b), &h), FRAME_OK);
	assert_int_equal(h.len, 2);
}

/*
 * A stream that is not ours is refused as soon as a byte of the magic
 * differs, not after 16 bytes have trickled in.
 */
static void
test_truncated_bad_magic(void **state)
{
	uint8_t			b[FRAME_HDR_LEN];
	struct frame_hdr	h;
	size_t			k, len;

	(void)state;
	for (k = 0; k < 4; k++) {
		raw_hdr(b, FRAME_PROTO_MAJOR, 0, FRAME_HELLO, 0, 1, 2);
		b[k] ^= 0x20;		/* "cLD1", "ClD1", ... */
		for (len = 0; len <= FRAME_HDR_LEN; len++)
			assert_int_equal(frame_hdr_decode(b, len, &h),
			    len > k ? FRAME_EMAGIC : FRAME_INCOMPLETE);
	}
}

/* Later fields are not judged before the whole header is there. */
static void
test_truncated_bad_fields(void **state)
{
	uint8_t			b[FRAME_HDR_LEN];
	struct frame_hdr	h;
	size_t			len;

	(void)state;
	raw_hdr(b, 9, 0, 0, 0xff, 1, 0xffffffffu);
	for (len = 0; len < FRAME_HDR_LEN; len++)
		assert_int_equal(frame_hdr_decode(b, len, &h),
		    FRAME_INCOMPLETE);
	assert_int_not_equal(frame_hdr_decode(b, FRAME_HDR_LEN, &h), FRAME_OK);
}

static void
test_wrong_magic(void **state)
{
	static const char	*bad[] = { "CLD2", "cld1", "1DLC", "CLD\x01",
	    "\0\0\0\0", "GET " };
	uint8_t			 b[FRAME_HDR_LEN];
	struct frame_hdr	 h;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		raw_hdr(b, FRAME_PROTO_MAJOR, 0, FRAME_HELLO, 0, 1, 2);
		memcpy(b, bad[i], 4);
		assert_int_equal(frame_hdr_decode(b, sizeof(b), &h),
		    FRAME_EMAGIC);
	}
}

/* A different major is refused; the minor is informative only. */
static void
test_versions(void **state)
{
	unsigned	v;

	(void)state;
	assert_int_equal(decode_raw(0, 0, FRAME_HELLO, 0, 2), FRAME_EVERSION);
	assert_int_equal(decode_raw(FRAME_PROTO_MAJOR + 1, 0, FRAME_HELLO, 0,
	    2), FRAME_EVERSION);
	assert_int_equal(decode_raw(255, 0, FRAME_HELLO, 0, 2),
	    FRAME_EVERSION);
	for (v = 0; v <= 255; v++)
		assert_int_equal(decode_raw(FRAME_PROTO_MAJOR, (uint8_t)v,
		    FRAME_HELLO, 0, 2), FRAME_OK);
}

static void
test_types(void **state)
{
	unsigned	t;

	(void)state;
	assert_int_equal(decode_raw(1, 0, 0, 0, 2), FRAME_ETYPE);
	assert_int_equal(decode_raw(1, 0, FRAME_HELLO, 0, 2), FRAME_OK);
	assert_int_equal(decode_raw(1, 0, FRAME_KEEPALIVE, 0, 2), FRAME_OK);
	assert_int_equal(decode_raw(1, 0, FRAME_CONTROL, 0, 2), FRAME_OK);
	for (t = FRAME_TYPE_MAX + 1; t <= 255; t++)
		assert_int_equal(decode_raw(1, 0, (uint8_t)t, 0, 2),
		    FRAME_ETYPE);
}

/* Only the defined bits, and ERROR only on a response. */
static void
test_flags(void **state)
{
	static const uint8_t	bad[] = {
		FRAME_F_ERROR, FRAME_F_ERROR | FRAME_F_BINARY,
#ifdef FRAME_F_ZLIB
		FRAME_F_ZLIB | FRAME_F_BINARY,
		FRAME_F_ZLIB | FRAME_F_BINARY | FRAME_F_RESPONSE,
		FRAME_F_ZLIB | FRAME_F_ERROR,
#endif
	};
	size_t			i;
	unsigned		f, nok = 0;

	(void)state;
	for (i = 0; i < sizeof(good_flags); i++)
		assert_int_equal(decode_raw(1, 0, FRAME_CONTROL, good_flags[i],
		    2), FRAME_OK);
	for (i = 0; i < sizeof(bad); i++)
		assert_int_equal(decode_raw(1, 0, FRAME_CONTROL, bad[i], 2),
		    FRAME_EFLAGS);
	for (f = 0; f <= 255; f++) {
		/* Any undefined bit, even next to good ones, is refused. */
		if ((f & ~FRAME_F_ALL) != 0)
			assert_int_equal(decode_raw(1, 0, FRAME_CONTROL,
			    (uint8_t)f, 2), FRAME_EFLAGS);
		if (decode_raw(1, 0, FRAME_CONTROL, (uint8_t)f, 2) == FRAME_OK)
			nok++;
	}
	/* And nothing outside the list of legal bytes slips through. */
	assert_int_equal(nok, sizeof(good_flags));
}

static void
test_length_limit(void **state)
{
	uint8_t			b[FRAME_HDR_LEN];
	struct frame_hdr	h;

	(void)state;
	assert_int_equal(decode_raw(1, 0, FRAME_HELLO, 0, 0), FRAME_OK);
	assert_int_equal(decode_raw(1, 0, FRAME_HELLO, 0, FRAME_MAX_PAYLOAD),
	    FRAME_OK);
	assert_int_equal(decode_raw(1, 0, FRAME_HELLO, 0,
	    FRAME_MAX_PAYLOAD + 1), FRAME_ETOOBIG);
	assert_int_equal(decode_raw(1, 0, FRAME_HELLO, FRAME_F_BINARY,
	    FRAME_MAX_PAYLOAD + 1), FRAME_ETOOBIG);
	assert_int_equal(decode_raw(1, 0, FRAME_HELLO, 0, 0xffffffffu),
	    FRAME_ETOOBIG);
	/* Callers allocate h->len: it must be right when the answer is OK. */
	raw_hdr(b, 1, 0, FRAME_HELLO, 0, 1, FRAME_MAX_PAYLOAD);
	assert_int_equal(frame_hdr_decode(b, sizeof(b), &h), FRAME_OK);
	assert_int_equal(h.len, FRAME_MAX_PAYLOAD);
}

/* xorshift32: reproducible garbage without depending on rand(). */
static uint32_t
rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/*
 * Random bytes: never OK unless they start with the magic, and an OK
 * header always has fields the protocol allows.
 */
static void
test_garbage(void **state)
{
	uint8_t			 b[32];
	struct frame_hdr	 h;
	enum frame_status	 st;
	uint32_t		 seed = 0x12345678;
	size_t			 len, i, pre;
	unsigned		 iter, nok = 0, nmagic = 0;

	(void)state;
	for (iter = 0; iter < 200000; iter++) {
		len = rnd(&seed) % (sizeof(b) + 1);
		for (i = 0; i < sizeof(b); i++)
			b[i] = (uint8_t)rnd(&seed);
		if (rnd(&seed) % 2) {
			memcpy(b, magic, 4);
			/* Make valid headers common enough to matter. */
			b[4] = rnd(&seed) % 4 ? FRAME_PROTO_MAJOR : b[4];
			b[6] = rnd(&seed) % 4 ?
			    (uint8_t)(b[6] % (FRAME_TYPE_MAX + 1)) : b[6];
			b[7] = rnd(&seed) % 4 ?
			    (uint8_t)(b[7] % (FRAME_F_ALL + 1)) : b[7];
			b[12] = rnd(&seed) % 4 ? 0 : b[12];
		}
		pre = len < 4 ? len : 4;
		st = frame_hdr_decode(b, len, &h);
		if (memcmp(b, magic, pre) != 0) {
			assert_int_equal(st, FRAME_EMAGIC);
			continue;
		}
		nmagic++;
		if (len < FRAME_HDR_LEN) {
			assert_int_equal(st, FRAME_INCOMPLETE);
			continue;
		}
		assert_int_not_equal(st, FRAME_INCOMPLETE);
		assert_int_not_equal(st, FRAME_EMAGIC);
		if (st != FRAME_OK)
			continue;
		nok++;
		assert_int_equal(h.major, FRAME_PROTO_MAJOR);
		assert_in_range(h.type, 1, FRAME_TYPE_MAX);
		assert_int_equal(h.flags & ~FRAME_F_ALL, 0);
		assert_non_null(memchr(good_flags, h.flags,
		    sizeof(good_flags)));
		assert_true(h.len <= FRAME_MAX_PAYLOAD);
		assert_int_equal(h.len, (uint32_t)b[12] << 24 |
		    (uint32_t)b[13] << 16 | (uint32_t)b[14] << 8 | b[15]);
	}
	/* The generator must have reached the interesting paths. */
	assert_true(nmagic > 10000);
	assert_true(nok > 1000);
}

static void
test_names(void **state)
{
	enum frame_status	 s, t;
	unsigned		 ty;

	(void)state;
	for (s = FRAME_OK; s <= FRAME_ETOOBIG; s++) {
		assert_non_null(frame_status_str(s));
		assert_string_not_equal(frame_status_str(s), "unknown");
		for (t = FRAME_OK; t < s; t++)
			assert_string_not_equal(frame_status_str(s),
			    frame_status_str(t));
	}
	assert_string_equal(frame_type_name(FRAME_HELLO), "hello");
	assert_string_equal(frame_type_name(FRAME_KEEPALIVE), "keepalive");
	assert_string_equal(frame_type_name(FRAME_CONTROL), "control");
	assert_string_equal(frame_type_name(0), "unknown");
	for (ty = FRAME_TYPE_MAX + 1; ty <= 255; ty++)
		assert_string_equal(frame_type_name((uint8_t)ty), "unknown");
}

/*
 * Parse n bytes of s from an exact-size heap copy: nothing after the
 * payload, so reading past it is a heap overflow ASan reports.
 */
static cJSON *
parse_exact(const char *s, size_t n)
{
	uint8_t	*p;
	cJSON	*j;

	p = malloc(n > 0 ? n : 1);
	assert_non_null(p);
	memcpy(p, s, n);
	j = frame_json_parse(n > 0 ? p : p + 1, n);
	free(p);
	return j;
}

static cJSON *
parse_str(const char *s)
{
	return parse_exact(s, strlen(s));
}

static void
test_json_object(void **state)
{
	static const char	 s[] = "{\"node_name\":\"w1\",\"n\":3,"
	    "\"nested\":{\"a\":[1,2]}}";
	cJSON			*j;
	const cJSON		*v;

	(void)state;
	j = parse_str(s);
	assert_non_null(j);
	assert_true(cJSON_IsObject(j));
	v = cJSON_GetObjectItemCaseSensitive(j, "node_name");
	assert_true(cJSON_IsString(v));
	assert_string_equal(v->valuestring, "w1");
	v = cJSON_GetObjectItemCaseSensitive(j, "n");
	assert_true(cJSON_IsNumber(v));
	assert_int_equal(v->valueint, 3);
	cJSON_Delete(j);

	assert_non_null(j = parse_str("{}"));
	cJSON_Delete(j);
	assert_non_null(j = parse_str(" \n\t{ } "));
	cJSON_Delete(j);
}

/* Control payloads are objects: every other JSON value is refused. */
static void
test_json_not_object(void **state)
{
	static const char	*s[] = { "[]", "[1,2]", "\"x\"", "42", "null",
	    "true", "false", "[{}]" };
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		if (parse_str(s[i]) != NULL)
			fail_msg("accepted %s", s[i]);
}

static void
test_json_invalid(void **state)
{
	static const char	*s[] = { "", " ", "{", "}", "{\"a\":}",
	    "{a:1}", "{'a':1}", "{\"a\" 1}", "{\"a\":1,}", "not json",
	    "{\"a\":\"\\x\"}", "\xef\xbb\xbf" };
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		if (parse_str(s[i]) != NULL)
			fail_msg("accepted \"%s\"", s[i]);
}

/* Every proper prefix of an object is incomplete JSON, hence refused. */
static void
test_json_truncated(void **state)
{
	static const char	 s[] = "{\"cluster_name\":\"wazuh\",\"n\":123,"
	    "\"esc\":\"a\\\"b\\u00e9\",\"l\":[true,null]}";
	cJSON			*j;
	size_t			 n;

	(void)state;
	for (n = 0; n < sizeof(s) - 1; n++)
		if ((j = parse_exact(s, n)) != NULL) {
			cJSON_Delete(j);
			fail_msg("accepted a %zu-byte prefix: %.*s", n, (int)n,
			    s);
		}
	assert_non_null(j = parse_exact(s, sizeof(s) - 1));
	cJSON_Delete(j);
}

/* The length given wins over whatever follows in memory. */
static void
test_json_length_shorter(void **state)
{
	static const char	 two[] = "{\"a\":1}{\"b\":2}";
	static const char	 num[] = "{\"a\":12345}";
	cJSON			*j;

	(void)state;
	/* A string that goes on after the payload: only the payload counts. */
	j = frame_json_parse((const uint8_t *)two, 7);
	assert_non_null(j);
	assert_non_null(cJSON_GetObjectItemCaseSensitive(j, "a"));
	assert_null(cJSON_GetObjectItemCaseSensitive(j, "b"));
	cJSON_Delete(j);
	/* Cut inside the number: "{"a":123" must not be completed. */
	assert_null(frame_json_parse((const uint8_t *)num, 8));
	assert_null(frame_json_parse((const uint8_t *)num, 10));
	assert_null(frame_json_parse((const uint8_t *)num, 0));
}

/* The payload is not NUL-terminated on the wire; ASan watches the end. */
static void
test_json_no_terminator(void **state)
{
	static const char	*bad[] = { "{\"k\":\"v", "{\"k\":\"v\\",
	    "{\"k\":1", "{\"k\":12.5e", "{\"k\":tru", "{\"k\":\"\\u00",
	    "{\"k\":" };
	cJSON			*j;
	size_t			 i;

	(void)state;
	j = parse_str("{\"k\":\"v\"}");
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(j, "k")->
	    valuestring, "v");
	cJSON_Delete(j);
	j = parse_str("{\"k\":12}");
	assert_non_null(j);
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(j, "k")->valueint,
	    12);
	cJSON_Delete(j);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_str(bad[i]) != NULL)
			fail_msg("accepted %s", bad[i]);
}

/*
 * A payload is one JSON object: bytes after it make it something that is
 * not JSON, which link.c promises to treat as a protocol error.
 */
static void
test_json_trailing_garbage(void **state)
{
	static const char	*bad[] = { "{}xyz", "{} {}", "{\"a\":1}]",
	    "{}\0" };
	static const size_t	 badlen[] = { 5, 5, 8, 3 };
	cJSON			*j;
	size_t			 i, accepted = 0;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if ((j = parse_exact(bad[i], badlen[i])) != NULL) {
			print_message("frame_json_parse accepted %zu bytes "
			    "\"%.*s\"\n", badlen[i], (int)badlen[i], bad[i]);
			cJSON_Delete(j);
			accepted++;
		}
	}
	assert_int_equal(accepted, 0);	/* trailing bytes are refused */
}

/* frame_json_values: a bound, strings and escapes skipped, early stop. */
static void
test_json_values(void **state)
{
	static const char	 s1[] = "[0,0,0]";
	static const char	 s2[] = "{\"a,[{:\\\"\":1}";
	static const char	 s3[] = "[1,2,3,4,5,6,7,8,9]";

	(void)state;
	assert_int_equal(frame_json_values((const uint8_t *)s1,
	    strlen(s1), 100), 4);
	/* The string "a,[{:\"" holds no separator. */
	assert_int_equal(frame_json_values((const uint8_t *)s2,
	    strlen(s2), 100), 3);
	assert_true(frame_json_values((const uint8_t *)s3, strlen(s3), 3)
	    <= 4);
}

/* A text of n values "[0,0,...]" in a heap buffer (to free). */
static uint8_t *
many_values(size_t n, size_t *len)
{
	uint8_t	*p;
	size_t	 i;

	*len = 2 * n + 9;
	p = malloc(*len);
	assert_non_null(p);
	memcpy(p, "{\"a\":[0", 7);
	for (i = 7; i + 2 < *len - 1; i += 2)
		memcpy(p + i, ",0", 2);
	p[i++] = ']';
	p[i++] = '}';
	*len = i;
	return p;
}

/* Each type's bounds, on text and on compressed payloads. */
static void
test_body_bounds(void **state)
{
	struct frame_hdr	 h = { FRAME_PROTO_MAJOR, FRAME_PROTO_MINOR,
				    FRAME_HELLO, 0, 1, 0 };
	uint8_t			*p, *z;
	uLongf			 zlen;
	size_t			 len, bytes, values;
	const char		*why;
	cJSON			*j;

	(void)state;
	/* 10,000 values: too many for a hello, fine for a delta. */
	p = many_values(10000, &len);
	h.len = (uint32_t)len;
	assert_null(frame_body(&h, p, &why));
	assert_string_equal(why, "is larger than its type allows");
	h.type = FRAME_AGENTS_DELTA;
	assert_non_null(j = frame_body(&h, p, &why));
	cJSON_Delete(j);
	/* The same compressed: inflated within the delta's bounds only. */
	zlen = compressBound(len);
	z = malloc(zlen);
	assert_non_null(z);
	assert_int_equal(compress(z, &zlen, p, len), Z_OK);
	h.flags = FRAME_F_ZLIB;
	h.len = (uint32_t)zlen;
	assert_non_null(j = frame_body(&h, z, &why));
	cJSON_Delete(j);
	h.type = FRAME_KEEPALIVE;
	assert_null(frame_body(&h, z, &why));
	assert_string_equal(why, "is larger than its type allows");
	free(z);
	free(p);
	/* 300,000 values: over the pools' bound, under the large one. */
	p = many_values(300000, &len);
	h.flags = 0;
	h.len = (uint32_t)len;
	h.type = FRAME_POOLS;
	assert_null(frame_body(&h, p, &why));
	h.type = FRAME_CONTROL;
	assert_non_null(j = frame_body(&h, p, &why));
	cJSON_Delete(j);
	free(p);
	frame_json_limits(FRAME_HELLO, &bytes, &values);
	assert_true(bytes <= 64 * 1024 && values <= 4096);
	frame_json_limits(FRAME_AGENTS_DELTA, &bytes, &values);
	assert_int_equal(bytes, FRAME_MAX_INFLATED);
}

/* Before the hello: a small, plain HELLO only. */
static void
test_before_hello(void **state)
{
	struct frame_hdr	h = { FRAME_PROTO_MAJOR, FRAME_PROTO_MINOR,
				    FRAME_HELLO, 0, 1, 200 };

	(void)state;
	assert_true(frame_before_hello(&h));
	h.flags = FRAME_F_RESPONSE;
	assert_true(frame_before_hello(&h));
	h.len = FRAME_HELLO_MAX;
	assert_true(frame_before_hello(&h));
	h.len = FRAME_HELLO_MAX + 1;
	assert_false(frame_before_hello(&h));
	h.len = 200;
	h.flags = FRAME_F_ZLIB;
	assert_false(frame_before_hello(&h));
	h.flags = FRAME_F_BINARY;
	assert_false(frame_before_hello(&h));
	h.flags = 0;
	h.type = FRAME_CONTROL;
	assert_false(frame_before_hello(&h));
	h.type = FRAME_KEEPALIVE;
	assert_false(frame_before_hello(&h));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hdr_layout),
		cmocka_unit_test(test_hdr_roundtrip),
		cmocka_unit_test(test_truncated_valid),
		cmocka_unit_test(test_truncated_bad_magic),
		cmocka_unit_test(test_truncated_bad_fields),
		cmocka_unit_test(test_wrong_magic),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_length_limit),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_json_object),
		cmocka_unit_test(test_json_not_object),
		cmocka_unit_test(test_json_invalid),
		cmocka_unit_test(test_json_truncated),
		cmocka_unit_test(test_json_length_shorter),
		cmocka_unit_test(test_json_no_terminator),
		cmocka_unit_test(test_json_trailing_garbage),
		cmocka_unit_test(test_json_values),
		cmocka_unit_test(test_body_bounds),
		cmocka_unit_test(test_before_hello),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
