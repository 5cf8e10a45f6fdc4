/*
 * test_proxyproto: the PROXY protocol parser and the proxy_from lists.
 * Valid v1 lines and v2 headers (IPv4, IPv6, LOCAL, UNSPEC, UNIX, TLVs)
 * are taken whole, with the bytes after them left alone, and every
 * proper prefix asks for more; bad input is refused as soon as it shows:
 * wrong signatures, truncated or oversized headers, unknown versions,
 * commands, families and transports, v1 lines with bad fields, address
 * blocks too short and TLVs past the end.  Then address lists: parsing,
 * host bits, matching IPv4, IPv6 and IPv4-mapped peers.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/cidr.h"
#include "net/proxyproto.h"

static const uint8_t SIG[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* p[0..n) holds a header of hlen bytes: whole, and prefixes ask for more. */
static void
whole(const uint8_t *p, size_t n, size_t hlen, struct proxyproto_hdr *h)
{
	struct proxyproto_hdr	tmp;
	size_t			i;

	for (i = 0; i < hlen; i++)
		assert_int_equal(proxyproto_parse(p, i, &tmp), PROXYPROTO_MORE);
	assert_int_equal(proxyproto_parse(p, n, h), PROXYPROTO_DONE);
	assert_int_equal(h->len, hlen);
}

static enum proxyproto_status
v1(const char *s, struct proxyproto_hdr *h)
{
	return proxyproto_parse((const uint8_t *)s, strlen(s), h);
}

static void
addr_is(const struct sockaddr_storage *ss, const char *want, unsigned port)
{
	char	buf[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, buf, sizeof(buf));
		assert_int_equal(ntohs(s4->sin_port), port);
	} else {
		const struct sockaddr_in6 *s6 = (const void *)ss;
		assert_int_equal(ss->ss_family, AF_INET6);
		inet_ntop(AF_INET6, &s6->sin6_addr, buf, sizeof(buf));
		assert_int_equal(ntohs(s6->sin6_port), port);
	}
	assert_string_equal(buf, want);
}

static void
test_v1_valid(void **state)
{
	struct proxyproto_hdr	 h;
	const char		*s = "PROXY TCP4 198.51.100.7 10.0.0.2 40000 "
	    "1514\r\nAGENT";
	const char		*s6 = "PROXY TCP6 2001:db8::7 2001:db8::1 65535 "
	    "0\r\n";
	const char		*max = "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:"
	    "ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 "
	    "65535\r\n";

	(void)state;
	whole((const uint8_t *)s, strlen(s), strlen(s) - 5, &h);
	assert_int_equal(h.version, 1);
	assert_true(h.has_addr);
	addr_is(&h.src, "198.51.100.7", 40000);
	addr_is(&h.dst, "10.0.0.2", 1514);
	whole((const uint8_t *)s6, strlen(s6), strlen(s6), &h);
	addr_is(&h.src, "2001:db8::7", 65535);
	addr_is(&h.dst, "2001:db8::1", 0);
	/* The longest line the spec allows (its own example): 107 bytes. */
	assert_int_equal(strlen(max), PROXYPROTO_V1_MAX);
	whole((const uint8_t *)max, strlen(max), strlen(max), &h);
	/* UNKNOWN: the socket's addresses; the rest of the line ignored. */
	assert_int_equal(v1("PROXY UNKNOWN\r\n", &h), PROXYPROTO_DONE);
	assert_false(h.has_addr);
	assert_int_equal(v1("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n", &h),
	    PROXYPROTO_DONE);
	assert_false(h.has_addr);
}

static void
test_v1_invalid(void **state)
{
	static const char *const bad[] = {
		"PROXY TCP4 198.51.100.7 10.0.0.2 40000 1514\n",  /* no CR */
		"PROXY TCP4 198.51.100.7 10.0.0.2 40000 1514\rX",
		"PROXY TCP5 198.51.100.7 10.0.0.2 40000 1514\r\n",
		"PROXY tcp4 198.51.100.7 10.0.0.2 40000 1514\r\n",
		"PROXY TCP4 2001:db8::7 10.0.0.2 40000 1514\r\n",
		"PROXY TCP6 198.51.100.7 2001:db8::1 40000 1514\r\n",
		"PROXY TCP4 198.51.100.256 10.0.0.2 40000 1514\r\n",
		"PROXY TCP4 198.51.100 10.0.0.2 40000 1514\r\n",
		"PROXY TCP4 198.51.100.7 10.0.0.2 65536 1514\r\n",
		"PROXY TCP4 198.51.100.7 10.0.0.2 -1 1514\r\n",
		"PROXY TCP4 198.51.100.7 10.0.0.2 040000 1514\r\n",
		"PROXY TCP4 198.51.100.7 10.0.0.2 4a000 1514\r\n",
		"PROXY TCP4 198.51.100.7 10.0.0.2 40000\r\n",
		"PROXY TCP4 198.51.100.7 10.0.0.2 40000 1514 9\r\n",
		"PROXY TCP4 198.51.100.7 10.0.0.2 40000 1514 \r\n",
		"PROXY TCP4  198.51.100.7 10.0.0.2 40000 1514\r\n",
		"PROXY TCP4 198.51.100.7 10.0.0.2 40000 \t514\r\n",
		"PROXY \r\n",
		"PROXY UNKNOWNX\r\n",
		"PROXYTCP4\r\n",
		"proxy TCP4 1.2.3.4 1.2.3.5 1 2\r\n",
		"GET / HTTP/1.0\r\n",
		"\x16\x03\x01",		/* a TLS ClientHello */
		"\x10",			/* an agent's frame length */
	};
	struct proxyproto_hdr	h;
	char			long_line[200];
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (v1(bad[i], &h) != PROXYPROTO_INVALID)
			fail_msg("accepted: %s", bad[i]);
	/* No CRLF within 107 bytes: refused once that is certain. */
	memset(long_line, 'x', sizeof(long_line));
	memcpy(long_line, "PROXY UNKNOWN ", 14);
	assert_int_equal(proxyproto_parse((uint8_t *)long_line, 105, &h),
	    PROXYPROTO_MORE);
	assert_int_equal(proxyproto_parse((uint8_t *)long_line, 106, &h),
	    PROXYPROTO_INVALID);
	long_line[106] = '\r';
	long_line[107] = '\n';
	assert_int_equal(proxyproto_parse((uint8_t *)long_line, 108, &h),
	    PROXYPROTO_INVALID);
	/* A NUL or control byte in the line. */
	assert_int_equal(proxyproto_parse((const uint8_t *)"PROXY \0", 7, &h),
	    PROXYPROTO_INVALID);
}

/* A v2 header: cmd, fam, then len bytes of block. */
static size_t
v2(uint8_t *out, uint8_t cmd, uint8_t fam, const uint8_t *block, size_t len)
{
	memcpy(out, SIG, 12);
	out[12] = cmd;
	out[13] = fam;
	out[14] = (uint8_t)(len >> 8);
	out[15] = (uint8_t)len;
	if (len > 0)
		memcpy(out + 16, block, len);
	return 16 + len;
}

static const uint8_t INET[12] = {
	198, 51, 100, 7, 10, 0, 0, 2, 0x9c, 0x40, 0x05, 0xea	/* 40000, 1514 */
};

static void
test_v2_valid(void **state)
{
	struct proxyproto_hdr	h;
	uint8_t			buf[PROXYPROTO_MAX + 64], block[PROXYPROTO_MAX];
	size_t			n;

	(void)state;
	n = v2(buf, 0x21, 0x11, INET, sizeof(INET));
	memcpy(buf + n, "\x16\x03\x01", 3);	/* then the TLS handshake */
	whole(buf, n + 3, n, &h);
	assert_int_equal(h.version, 2);
	assert_true(h.has_addr);
	addr_is(&h.src, "198.51.100.7", 40000);
	addr_is(&h.dst, "10.0.0.2", 1514);

	/* IPv6, then TLVs: a NOOP and a 300-byte unique id. */
	memset(block, 0, sizeof(block));
	inet_pton(AF_INET6, "2001:db8::7", block);
	inet_pton(AF_INET6, "2001:db8::1", block + 16);
	block[32] = 0x01; block[33] = 0x02;	/* 258 */
	block[34] = 0x05; block[35] = 0xea;
	block[36] = 0x04; block[37] = 0; block[38] = 0;
	block[39] = 0x05; block[40] = 0x01; block[41] = 0x2c;
	n = v2(buf, 0x21, 0x21, block, 42 + 300);
	whole(buf, n, n, &h);
	addr_is(&h.src, "2001:db8::7", 258);

	/* LOCAL: a balancer's own check; whatever the block, no address. */
	n = v2(buf, 0x20, 0x00, NULL, 0);
	whole(buf, n, n, &h);
	assert_false(h.has_addr);
	n = v2(buf, 0x20, 0x11, INET, 3);	/* even a short block */
	whole(buf, n, n, &h);
	assert_false(h.has_addr);
	/* UNSPEC and UNIX: the socket's addresses. */
	n = v2(buf, 0x21, 0x00, NULL, 0);
	whole(buf, n, n, &h);
	assert_false(h.has_addr);
	memset(block, 0, 216);
	n = v2(buf, 0x21, 0x31, block, 216);
	whole(buf, n, n, &h);
	assert_false(h.has_addr);
	/* The largest block accepted. */
	memcpy(block, INET, 12);
	block[12] = 0x04;
	block[13] = (uint8_t)((PROXYPROTO_V2_LEN_MAX - 15) >> 8);
	block[14] = (uint8_t)(PROXYPROTO_V2_LEN_MAX - 15);
	n = v2(buf, 0x21, 0x11, block, PROXYPROTO_V2_LEN_MAX);
	assert_int_equal(n, PROXYPROTO_MAX);
	whole(buf, n, n, &h);
}

static void
test_v2_invalid(void **state)
{
	struct proxyproto_hdr	h;
	uint8_t			buf[PROXYPROTO_MAX + 64], block[64];
	size_t			n;

	(void)state;
	/* Signature: one byte wrong, refused at that byte. */
	n = v2(buf, 0x21, 0x11, INET, sizeof(INET));
	buf[7] = 0x52;
	assert_int_equal(proxyproto_parse(buf, 7, &h), PROXYPROTO_MORE);
	assert_int_equal(proxyproto_parse(buf, 8, &h), PROXYPROTO_INVALID);
	/* Versions and commands. */
	n = v2(buf, 0x11, 0x11, INET, sizeof(INET));	/* version 1 */
	assert_int_equal(proxyproto_parse(buf, n, &h), PROXYPROTO_INVALID);
	n = v2(buf, 0x31, 0x11, INET, sizeof(INET));	/* version 3 */
	assert_int_equal(proxyproto_parse(buf, n, &h), PROXYPROTO_INVALID);
	n = v2(buf, 0x22, 0x11, INET, sizeof(INET));	/* command 2 */
	assert_int_equal(proxyproto_parse(buf, 16, &h), PROXYPROTO_INVALID);
	/* Families and transports. */
	n = v2(buf, 0x21, 0x41, INET, sizeof(INET));
	assert_int_equal(proxyproto_parse(buf, 16, &h), PROXYPROTO_INVALID);
	n = v2(buf, 0x21, 0x13, INET, sizeof(INET));
	assert_int_equal(proxyproto_parse(buf, 16, &h), PROXYPROTO_INVALID);
	n = v2(buf, 0x21, 0x12, INET, sizeof(INET));	/* UDP over TCP */
	assert_int_equal(proxyproto_parse(buf, n, &h), PROXYPROTO_INVALID);
	n = v2(buf, 0x21, 0x10, INET, sizeof(INET));
	assert_int_equal(proxyproto_parse(buf, n, &h), PROXYPROTO_INVALID);
	/* Address blocks too short for their family. */
	n = v2(buf, 0x21, 0x11, INET, 11);
	assert_int_equal(proxyproto_parse(buf, n, &h), PROXYPROTO_INVALID);
	memset(block, 0, sizeof(block));
	n = v2(buf, 0x21, 0x21, block, 35);
	assert_int_equal(proxyproto_parse(buf, n, &h), PROXYPROTO_INVALID);
	n = v2(buf, 0x21, 0x31, block, 64);
	assert_int_equal(proxyproto_parse(buf, n, &h), PROXYPROTO_INVALID);
	/* Oversized: refused from the length alone. */
	n = v2(buf, 0x21, 0x11, INET, sizeof(INET));
	buf[14] = (uint8_t)((PROXYPROTO_V2_LEN_MAX + 1) >> 8);
	buf[15] = (uint8_t)(PROXYPROTO_V2_LEN_MAX + 1);
	assert_int_equal(proxyproto_parse(buf, 16, &h), PROXYPROTO_INVALID);
	buf[14] = buf[15] = 0xff;
	assert_int_equal(proxyproto_parse(buf, 16, &h), PROXYPROTO_INVALID);
	/* Truncated: more is asked for, never a header. */
	n = v2(buf, 0x21, 0x11, INET, sizeof(INET));
	assert_int_equal(proxyproto_parse(buf, n - 1, &h), PROXYPROTO_MORE);
	/* TLVs: a header cut short, a length past the end. */
	memcpy(block, INET, 12);
	block[12] = 0x04; block[13] = 0;
	n = v2(buf, 0x21, 0x11, block, 14);
	assert_int_equal(proxyproto_parse(buf, n, &h), PROXYPROTO_INVALID);
	block[13] = 0; block[14] = 2; block[15] = 'x';
	n = v2(buf, 0x21, 0x11, block, 16);
	assert_int_equal(proxyproto_parse(buf, n, &h), PROXYPROTO_INVALID);
	block[13] = 0xff; block[14] = 0xff;
	n = v2(buf, 0x21, 0x11, block, 16);
	assert_int_equal(proxyproto_parse(buf, n, &h), PROXYPROTO_INVALID);
}

static void
test_status_names(void **state)
{
	(void)state;
	assert_string_equal(proxyproto_status_name(PROXYPROTO_MORE),
	    "incomplete");
	assert_string_equal(proxyproto_status_name(PROXYPROTO_INVALID),
	    "invalid");
	assert_string_equal(proxyproto_status_name(PROXYPROTO_DONE),
	    "complete");
}

static void
sa4(struct sockaddr_storage *ss, const char *a)
{
	struct sockaddr_in	*s4 = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	s4->sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, a, &s4->sin_addr), 1);
}

static void
sa6(struct sockaddr_storage *ss, const char *a)
{
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	s6->sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, a, &s6->sin6_addr), 1);
}

static void
test_cidr(void **state)
{
	struct cidr		 c[4];
	struct sockaddr_storage	 ss;
	char			 err[128], *text = NULL;
	size_t			 n, len = 0;
	FILE			*f;

	(void)state;
	assert_int_equal(cidr_parse_list("10.0.0.2, 10.0.1.77/24 fd00::1/64",
	    c, 4, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	f = open_memstream(&text, &len);
	cidr_print_list(c, n, f);
	fclose(f);
	assert_string_equal(text, "10.0.0.2,10.0.1.0/24,fd00::/64");
	free(text);
	sa4(&ss, "10.0.0.2");
	assert_true(cidr_match(c, n, &ss));
	sa4(&ss, "10.0.0.3");
	assert_false(cidr_match(c, n, &ss));
	sa4(&ss, "10.0.1.200");
	assert_true(cidr_match(c, n, &ss));
	sa6(&ss, "::ffff:10.0.1.9");		/* IPv4 on an IPv6 socket */
	assert_true(cidr_match(c, n, &ss));
	sa6(&ss, "fd00::ffff:1");
	assert_true(cidr_match(c, n, &ss));
	sa6(&ss, "fd00:0:0:1::1");
	assert_false(cidr_match(c, n, &ss));
	assert_false(cidr_match(c, 0, &ss));
	/* Prefixes 0 (everyone) and odd lengths. */
	assert_int_equal(cidr_parse_list("0.0.0.0/0", c, 4, &n, err,
	    sizeof(err)), 0);
	sa4(&ss, "203.0.113.9");
	assert_true(cidr_match(c, n, &ss));
	assert_int_equal(cidr_parse("10.0.0.255/25", &c[0]), 0);
	assert_int_equal(c[0].addr[3], 0x80);
	/* Refusals. */
	assert_int_equal(cidr_parse("10.0.0.0/33", &c[0]), -1);
	assert_int_equal(cidr_parse("fd00::/129", &c[0]), -1);
	assert_int_equal(cidr_parse("10.0.0.0/", &c[0]), -1);
	assert_int_equal(cidr_parse("10.0.0.0/+8", &c[0]), -1);
	assert_int_equal(cidr_parse("10.0.0.0/0008", &c[0]), -1);
	assert_int_equal(cidr_parse("lb1", &c[0]), -1);
	assert_int_equal(cidr_parse_list("1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4,"
	    "5.5.5.5", c, 4, &n, err, sizeof(err)), -1);
	assert_string_equal(err, "more than 4 addresses or networks");
	assert_int_equal(cidr_parse_list("1.1.1.1,x", c, 4, &n, err,
	    sizeof(err)), -1);
	assert_int_equal(cidr_parse_list(" , ", c, 4, &n, err, sizeof(err)),
	    0);
	assert_int_equal(n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1_valid),
		cmocka_unit_test(test_v1_invalid),
		cmocka_unit_test(test_v2_valid),
		cmocka_unit_test(test_v2_invalid),
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_cidr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
