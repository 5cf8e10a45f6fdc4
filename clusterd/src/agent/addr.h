/*
 * addr: an agent's address fields (register_ip, enroll_src, reported_ip,
 * source_ip) held in 17 bytes inside struct agent rather than as a
 * separate allocation each.  An IPv4 or IPv6 address, with or without a
 * "/prefix", is kept in binary when formatting it gives back exactly the
 * text it was set from; "" and "any" are kept as a kind; any other text
 * (a non-canonical form such as "2001:DB8::1") is kept as an owned copy,
 * so every value reads back exactly as it was set.
 */
#ifndef CLUSTERD_ADDR_H
#define CLUSTERD_ADDR_H

#include <stddef.h>
#include <stdint.h>

#define AGENT_ADDR_MAX	64	/* text, with its NUL */

/* tag says what b holds and the prefix (addr.c's T_*); zeroed is "". */
struct agent_addr {
	uint8_t	tag;
	uint8_t	b[16];		/* the address, or the text's pointer */
};

/* Set to s cut at max (< AGENT_ADDR_MAX) characters; NULL is "".  -1 when
 * out of memory, the address then unchanged. */
int		 agent_addr_set(struct agent_addr *, const char *s, size_t max);
/* Its text: a constant, the owned copy, or formatted into buf. */
const char	*agent_addr_str(const struct agent_addr *,
		    char buf[AGENT_ADDR_MAX]);
/* 1 when the value is held without an allocation of its own. */
int		 agent_addr_inline(const struct agent_addr *);
void		 agent_addr_clear(struct agent_addr *);

/* Its text, valid to the end of the enclosing block. */
#define AGENT_ADDR(f)	agent_addr_str(&(f), (char[AGENT_ADDR_MAX]){ 0 })

#endif
