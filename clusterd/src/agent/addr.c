#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/addr.h"

/*
 * The tag: "", "any", owned text, an IPv4 or IPv6 address without a
 * prefix, then one value for each IPv4 prefix /0-/32 and each IPv6 prefix
 * /0-/128 (167 values in all): the kind and the prefix in one byte.
 */
enum {
	T_EMPTY, T_ANY, T_TEXT, T_V4, T_V6,
	T_V4P,			/* T_V4P + prefix, prefix 0-32 */
	T_V6P = T_V4P + 33,	/* T_V6P + prefix, prefix 0-128 */
	T_END = T_V6P + 129
};
#define NO_PREFIX	-1

static int
family_of(const struct agent_addr *a)
{
	if (a->tag == T_V4 || (a->tag >= T_V4P && a->tag < T_V6P))
		return AF_INET;
	if (a->tag == T_V6 || (a->tag >= T_V6P && a->tag < T_END))
		return AF_INET6;
	return AF_UNSPEC;
}

static int
prefix_of(const struct agent_addr *a)
{
	if (a->tag >= T_V6P && a->tag < T_END)
		return a->tag - T_V6P;
	if (a->tag >= T_V4P && a->tag < T_V6P)
		return a->tag - T_V4P;
	return NO_PREFIX;
}

static const char *
text_of(const struct agent_addr *a)
{
	const char	*p;

	memcpy(&p, a->b, sizeof(p));
	return p;
}

/*
 * Read s as an address with an optional "/prefix" into a binary form; 0
 * only when formatting that form gives s back byte for byte, so a value
 * such as "1.2.3.4/08" or "::FFFF:1.2.3.4" stays text.
 */
static int
parse_bin(const char *s, struct agent_addr *out)
{
	char		 host[AGENT_ADDR_MAX], back[AGENT_ADDR_MAX];
	const char	*slash = strchr(s, '/');
	size_t		 n = slash != NULL ? (size_t)(slash - s) : strlen(s);
	int		 v4;
	long		 p;
	char		*end;

	if (n >= sizeof(host))
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, host, out->b) == 1)
		v4 = 1;
	else if (inet_pton(AF_INET6, host, out->b) == 1)
		v4 = 0;
	else
		return -1;
	if (slash == NULL)
		out->tag = v4 ? T_V4 : T_V6;
	else {
		p = strtol(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end != '\0' ||
		    p < 0 || p > (v4 ? 32 : 128))
			return -1;
		out->tag = (uint8_t)((v4 ? T_V4P : T_V6P) + p);
	}
	if (strcmp(agent_addr_str(out, back), s) != 0)
		return -1;
	return 0;
}

int
agent_addr_set(struct agent_addr *a, const char *s, size_t max)
{
	struct agent_addr	 v;
	char			 t[AGENT_ADDR_MAX], *c;

	if (max >= AGENT_ADDR_MAX)
		max = AGENT_ADDR_MAX - 1;
	snprintf(t, max + 1, "%s", s != NULL ? s : "");
	memset(&v, 0, sizeof(v));
	if (t[0] == '\0')
		v.tag = T_EMPTY;
	else if (strcmp(t, "any") == 0)
		v.tag = T_ANY;
	else if (parse_bin(t, &v) == -1) {
		/* Reports repeat the same values: no copy when unchanged. */
		if (a->tag == T_TEXT && strcmp(text_of(a), t) == 0)
			return 0;
		if ((c = strdup(t)) == NULL)
			return -1;
		memset(&v, 0, sizeof(v));
		v.tag = T_TEXT;
		memcpy(v.b, &c, sizeof(c));
	}
	agent_addr_clear(a);
	*a = v;
	return 0;
}

const char *
agent_addr_str(const struct agent_addr *a, char buf[AGENT_ADDR_MAX])
{
	int	af = family_of(a), p = prefix_of(a);
	size_t	n;

	if (a->tag == T_ANY)
		return "any";
	if (a->tag == T_TEXT)
		return text_of(a);
	if (af == AF_UNSPEC ||
	    inet_ntop(af, a->b, buf, AGENT_ADDR_MAX) == NULL)
		return "";
	n = strlen(buf);
	if (p != NO_PREFIX)
		snprintf(buf + n, AGENT_ADDR_MAX - n, "/%d", p);
	return buf;
}

int
agent_addr_inline(const struct agent_addr *a)
{
	return a->tag != T_TEXT;
}

void
agent_addr_clear(struct agent_addr *a)
{
	if (a->tag == T_TEXT)
		free((char *)(uintptr_t)text_of(a));
	memset(a, 0, sizeof(*a));
}
