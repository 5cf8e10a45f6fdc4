/*
 * fuzz_addr: an agent's address field (agent/addr.h) set from arbitrary
 * bytes, as a keepalive's _agent_ip, a PROXY header's source or a
 * registry row may hand it.  The text read back is always the input cut
 * at its first NUL and at the bound, byte for byte; setting it again
 * changes nothing; a value held inline (no allocation) is "", "any" or
 * an address inet_pton() reads, with at most a decimal prefix.
 *
 * Seeds (tests/fuzz/seeds/fuzz_addr): addresses with and without
 * prefixes, and near misses.
 */
#include <arpa/inet.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/addr.h"

#include "fuzz.h"

static void
check_inline(const char *s)
{
	char		host[AGENT_ADDR_MAX];
	uint8_t		b[16];
	const char	*slash;

	if (s[0] == '\0' || strcmp(s, "any") == 0)
		return;
	snprintf(host, sizeof(host), "%s", s);
	if ((slash = strchr(s, '/')) != NULL) {
		host[slash - s] = '\0';
		CHECK(slash[1] != '\0' && strspn(slash + 1, "0123456789") ==
		    strlen(slash + 1));
	}
	CHECK(inet_pton(AF_INET, host, b) == 1 ||
	    inet_pton(AF_INET6, host, b) == 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_addr	a, c;
	char			in[AGENT_ADDR_MAX], *text;
	size_t			max;

	if (size == 0)
		return 0;
	max = data[0] % AGENT_ADDR_MAX;		/* the bound, 0-63 */
	if ((text = malloc(size)) == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	snprintf(in, max + 1, "%s", text);
	memset(&a, 0, sizeof(a));
	memset(&c, 0, sizeof(c));
	CHECK(agent_addr_set(&a, text, max) == 0);
	CHECK(strcmp(AGENT_ADDR(a), in) == 0);
	if (agent_addr_inline(&a))
		check_inline(in);
	CHECK(agent_addr_set(&a, AGENT_ADDR(a), AGENT_ADDR_MAX - 1) == 0);
	CHECK(strcmp(AGENT_ADDR(a), in) == 0);
	CHECK(agent_addr_set(&c, in, AGENT_ADDR_MAX - 1) == 0);
	CHECK(agent_addr_inline(&c) == agent_addr_inline(&a));
	agent_addr_clear(&a);
	agent_addr_clear(&c);
	free(text);
	return 0;
}
