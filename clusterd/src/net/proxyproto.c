#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <string.h>

#include "net/proxyproto.h"

static const uint8_t V2_SIG[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};
#define V1_SIG		"PROXY "
#define V1_SIG_LEN	6

/* v2's 13th byte: version 2 in the high nibble, then the command. */
#define V2_LOCAL	0x20
#define V2_PROXY	0x21
/* v2's 14th byte: family in the high nibble, transport in the low. */
#define FAM_UNSPEC	0x0
#define FAM_INET	0x1
#define FAM_INET6	0x2
#define FAM_UNIX	0x3
#define TR_STREAM	0x1
#define TR_MAX		0x2
/* The address blocks' sizes, by family. */
#define ADDR_INET	12
#define ADDR_INET6	36
#define ADDR_UNIX	216

const char *
proxyproto_status_name(enum proxyproto_status st)
{
	switch (st) {
	case PROXYPROTO_MORE:
		return "incomplete";
	case PROXYPROTO_INVALID:
		return "invalid";
	case PROXYPROTO_DONE:
		return "complete";
	}
	return "?";
}

/* Are the n bytes at p a prefix of sig (or sig a prefix of them)? */
static int
starts(const uint8_t *p, size_t n, const void *sig, size_t siglen)
{
	return memcmp(p, sig, n < siglen ? n : siglen) == 0;
}

/*
 * A decimal port, 0 to 65535, of 1 to 5 digits and no leading zero (a
 * lone "0" aside): the spec's form, and the only one a balancer writes.
 */
static int
v1_port(const char *s, size_t n, uint16_t *port)
{
	unsigned long	v = 0;
	size_t		i;

	if (n == 0 || n > 5 || (s[0] == '0' && n > 1))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

/* One address of family af, as its token of n bytes spells it. */
static int
v1_addr(int af, const char *s, size_t n, struct sockaddr_storage *ss)
{
	char			 tmp[INET6_ADDRSTRLEN];
	struct sockaddr_in	*s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)ss;

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = (sa_family_t)af;
	if (af == AF_INET)
		return inet_pton(AF_INET, tmp, &s4->sin_addr) == 1 ? 0 : -1;
	return inet_pton(AF_INET6, tmp, &s6->sin6_addr) == 1 ? 0 : -1;
}

static void
set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

/*
 * "PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n", single spaces, or "PROXY
 * UNKNOWN ...\r\n" whose rest is ignored.  line holds n bytes, CR
 * excluded; only printable ASCII was let through.
 */
static enum proxyproto_status
v1_line(const char *line, size_t n, struct proxyproto_hdr *h)
{
	const char	*tok[5], *p = line + V1_SIG_LEN, *end = line + n;
	size_t		 len[5];
	uint16_t	 sport, dport;
	int		 af, i;

	if ((size_t)(end - p) >= 7 && memcmp(p, "UNKNOWN", 7) == 0 &&
	    (end - p == 7 || p[7] == ' '))
		return PROXYPROTO_DONE;
	for (i = 0; i < 5; i++) {
		tok[i] = p;
		while (p < end && *p != ' ')
			p++;
		len[i] = (size_t)(p - tok[i]);
		if (len[i] == 0)
			return PROXYPROTO_INVALID;
		if (i < 4) {
			if (p == end)
				return PROXYPROTO_INVALID;
			p++;		/* the one space */
		}
	}
	if (p != end || len[0] != 4)
		return PROXYPROTO_INVALID;
	if (memcmp(tok[0], "TCP4", 4) == 0)
		af = AF_INET;
	else if (memcmp(tok[0], "TCP6", 4) == 0)
		af = AF_INET6;
	else
		return PROXYPROTO_INVALID;
	if (v1_addr(af, tok[1], len[1], &h->src) == -1 ||
	    v1_addr(af, tok[2], len[2], &h->dst) == -1 ||
	    v1_port(tok[3], len[3], &sport) == -1 ||
	    v1_port(tok[4], len[4], &dport) == -1)
		return PROXYPROTO_INVALID;
	set_port(&h->src, sport);
	set_port(&h->dst, dport);
	h->has_addr = 1;
	return PROXYPROTO_DONE;
}

/* Version 1: up to PROXYPROTO_V1_MAX printable bytes ending in CRLF. */
static enum proxyproto_status
v1(const uint8_t *p, size_t n, struct proxyproto_hdr *h)
{
	size_t	i;

	for (i = 0; i < n && i < PROXYPROTO_V1_MAX - 1; i++) {
		if (p[i] == '\r') {
			if (i + 1 == n)
				return PROXYPROTO_MORE;
			if (p[i + 1] != '\n')
				return PROXYPROTO_INVALID;
			h->version = 1;
			h->len = i + 2;
			return v1_line((const char *)p, i, h);
		}
		if (p[i] < 0x20 || p[i] > 0x7e)
			return PROXYPROTO_INVALID;
	}
	/* No CR yet: more may come, unless a CRLF could now only end past
	 * PROXYPROTO_V1_MAX. */
	return i < PROXYPROTO_V1_MAX - 1 ? PROXYPROTO_MORE : PROXYPROTO_INVALID;
}

/* The TLVs after the address block: each whole within the header. */
static int
v2_tlvs(const uint8_t *p, size_t n)
{
	size_t	vlen;

	while (n > 0) {
		if (n < 3)
			return -1;
		vlen = (size_t)p[1] << 8 | p[2];
		if (vlen > n - 3)
			return -1;
		p += 3 + vlen;
		n -= 3 + vlen;
	}
	return 0;
}

/* The addresses of an INET or INET6 block (network byte order). */
static void
v2_addrs(int fam, const uint8_t *b, struct proxyproto_hdr *h)
{
	struct sockaddr_in	*s4 = (struct sockaddr_in *)&h->src;
	struct sockaddr_in	*d4 = (struct sockaddr_in *)&h->dst;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)&h->src;
	struct sockaddr_in6	*d6 = (struct sockaddr_in6 *)&h->dst;

	memset(&h->src, 0, sizeof(h->src));
	memset(&h->dst, 0, sizeof(h->dst));
	if (fam == FAM_INET) {
		s4->sin_family = d4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, b, 4);
		memcpy(&d4->sin_addr, b + 4, 4);
		memcpy(&s4->sin_port, b + 8, 2);
		memcpy(&d4->sin_port, b + 10, 2);
	} else {
		s6->sin6_family = d6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, b, 16);
		memcpy(&d6->sin6_addr, b + 16, 16);
		memcpy(&s6->sin6_port, b + 32, 2);
		memcpy(&d6->sin6_port, b + 34, 2);
	}
	h->has_addr = 1;
}

/*
 * Version 2: the 16 fixed bytes, then a block of at most
 * PROXYPROTO_V2_LEN_MAX.  LOCAL keeps the socket's addresses whatever the
 * block holds; PROXY needs a known family whose address block fits, a
 * stream transport for INET and INET6, and well-formed TLVs after it.
 */
static enum proxyproto_status
v2(const uint8_t *p, size_t n, struct proxyproto_hdr *h)
{
	size_t	blen, alen;
	int	fam, tr;

	if (n < PROXYPROTO_V2_FIXED)
		return PROXYPROTO_MORE;
	fam = p[13] >> 4;
	tr = p[13] & 0x0f;
	blen = (size_t)p[14] << 8 | p[15];
	if ((p[12] != V2_LOCAL && p[12] != V2_PROXY) || fam > FAM_UNIX ||
	    tr > TR_MAX || blen > PROXYPROTO_V2_LEN_MAX)
		return PROXYPROTO_INVALID;
	if (n < PROXYPROTO_V2_FIXED + blen)
		return PROXYPROTO_MORE;
	h->version = 2;
	h->len = PROXYPROTO_V2_FIXED + blen;
	if (p[12] == V2_LOCAL)
		return PROXYPROTO_DONE;
	alen = fam == FAM_INET ? ADDR_INET : fam == FAM_INET6 ? ADDR_INET6 :
	    fam == FAM_UNIX ? ADDR_UNIX : 0;
	if (blen < alen || ((fam == FAM_INET || fam == FAM_INET6) &&
	    tr != TR_STREAM) ||
	    v2_tlvs(p + PROXYPROTO_V2_FIXED + alen, blen - alen) == -1)
		return PROXYPROTO_INVALID;
	if (fam == FAM_INET || fam == FAM_INET6)
		v2_addrs(fam, p + PROXYPROTO_V2_FIXED, h);
	return PROXYPROTO_DONE;
}

/*
 * The header at the start of p[0..n): DONE with h filled (h->len bytes
 * are the header's; what follows is the connection's own), MORE while p
 * is a header's beginning, INVALID for anything else, as soon as that is
 * certain.  A caller gives at most PROXYPROTO_MAX bytes a chance.
 */
enum proxyproto_status
proxyproto_parse(const uint8_t *p, size_t n, struct proxyproto_hdr *h)
{
	memset(h, 0, sizeof(*h));
	if (n == 0)
		return PROXYPROTO_MORE;
	if (starts(p, n, V2_SIG, sizeof(V2_SIG)))
		return n < sizeof(V2_SIG) ? PROXYPROTO_MORE : v2(p, n, h);
	if (starts(p, n, V1_SIG, V1_SIG_LEN))
		return n < V1_SIG_LEN ? PROXYPROTO_MORE : v1(p, n, h);
	return PROXYPROTO_INVALID;
}
