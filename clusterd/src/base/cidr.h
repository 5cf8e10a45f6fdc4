/*
 * cidr: lists of addresses and networks ("10.0.0.5", "10.0.0.0/24",
 * "fd00::/64") as a configuration names them, and whether a socket's peer
 * is in one.  An IPv4 peer seen on an IPv6 socket (::ffff:a.b.c.d) matches
 * its IPv4 entries.
 */
#ifndef CLUSTERD_CIDR_H
#define CLUSTERD_CIDR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CIDR_TEXT_MAX	50	/* "ffff:...:ffff/128" and its NUL */

struct cidr {
	int		family;		/* AF_INET or AF_INET6 */
	unsigned	bits;		/* prefix length */
	uint8_t		addr[16];	/* host bits cleared */
};

int	cidr_parse(const char *, struct cidr *);
int	cidr_parse_list(const char *, struct cidr *, size_t max, size_t *n,
	    char *err, size_t errlen);
int	cidr_match(const struct cidr *, size_t n, const void *sockaddr);
void	cidr_print_list(const struct cidr *, size_t n, FILE *);

#endif
