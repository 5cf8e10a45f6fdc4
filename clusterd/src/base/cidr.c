#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cidr.h"

/* Clear the bits past the prefix, so equal networks compare equal. */
static void
mask(struct cidr *c)
{
	size_t	len = c->family == AF_INET ? 4 : 16, i;

	for (i = 0; i < len; i++) {
		if (i * 8 >= c->bits)
			c->addr[i] = 0;
		else if (i * 8 + 8 > c->bits)
			c->addr[i] &= (uint8_t)(0xff << (8 - (c->bits - i * 8)));
	}
}

/* One numeric address, with an optional "/bits"; -1 if it is not one. */
int
cidr_parse(const char *s, struct cidr *c)
{
	char		 tmp[CIDR_TEXT_MAX];
	char		*slash, *end;
	unsigned long	 bits;

	if (strlen(s) >= sizeof(tmp))
		return -1;
	strcpy(tmp, s);
	memset(c, 0, sizeof(*c));
	if ((slash = strchr(tmp, '/')) != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, tmp, c->addr) == 1)
		c->family = AF_INET;
	else if (inet_pton(AF_INET6, tmp, c->addr) == 1)
		c->family = AF_INET6;
	else
		return -1;
	c->bits = c->family == AF_INET ? 32 : 128;
	if (slash != NULL) {
		if (*slash < '0' || *slash > '9' || strlen(slash) > 3)
			return -1;
		bits = strtoul(slash, &end, 10);
		if (*end != '\0' || bits > c->bits)
			return -1;
		c->bits = (unsigned)bits;
	}
	mask(c);
	return 0;
}

/*
 * A list separated by commas or spaces into out[max]; *n entries.  -1
 * with a reason in err for an entry that is not an address or network,
 * or for more than max of them.
 */
int
cidr_parse_list(const char *s, struct cidr *out, size_t max, size_t *n,
    char *err, size_t errlen)
{
	char	 tok[CIDR_TEXT_MAX];
	size_t	 len;

	*n = 0;
	while (*s != '\0') {
		if (*s == ',' || *s == ' ' || *s == '\t') {
			s++;
			continue;
		}
		len = strcspn(s, ", \t");
		if (len >= sizeof(tok)) {
			snprintf(err, errlen, "\"%.*s...\" is not an address "
			    "or network", 20, s);
			return -1;
		}
		memcpy(tok, s, len);
		tok[len] = '\0';
		s += len;
		if (*n == max) {
			snprintf(err, errlen, "more than %zu addresses or "
			    "networks", max);
			return -1;
		}
		if (cidr_parse(tok, &out[*n]) == -1) {
			snprintf(err, errlen, "\"%s\" is not an address or "
			    "network (10.0.0.5, 10.0.0.0/24, fd00::/64)", tok);
			return -1;
		}
		(*n)++;
	}
	return 0;
}

/* Is the address of sa (a struct sockaddr_in or _in6) in one of c[n]? */
int
cidr_match(const struct cidr *c, size_t n, const void *sa)
{
	const struct sockaddr		*s = sa;
	const struct sockaddr_in6	*s6 = sa;
	struct cidr			 a, m;
	size_t				 i;

	memset(&a, 0, sizeof(a));
	if (s->sa_family == AF_INET) {
		a.family = AF_INET;
		memcpy(a.addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (s->sa_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		a.family = AF_INET;
		memcpy(a.addr, s6->sin6_addr.s6_addr + 12, 4);
	} else if (s->sa_family == AF_INET6) {
		a.family = AF_INET6;
		memcpy(a.addr, &s6->sin6_addr, 16);
	} else
		return 0;
	for (i = 0; i < n; i++) {
		if (c[i].family != a.family)
			continue;
		m = a;
		m.bits = c[i].bits;
		mask(&m);
		if (memcmp(m.addr, c[i].addr, sizeof(m.addr)) == 0)
			return 1;
	}
	return 0;
}

/* "10.0.0.5,10.0.0.0/24": a list as cidr_parse_list reads it back. */
void
cidr_print_list(const struct cidr *c, size_t n, FILE *out)
{
	char	buf[INET6_ADDRSTRLEN];
	size_t	i;

	for (i = 0; i < n; i++) {
		inet_ntop(c[i].family, c[i].addr, buf, sizeof(buf));
		fprintf(out, "%s%s", i > 0 ? "," : "", buf);
		if (c[i].bits != (c[i].family == AF_INET ? 32u : 128u))
			fprintf(out, "/%u", c[i].bits);
	}
}
