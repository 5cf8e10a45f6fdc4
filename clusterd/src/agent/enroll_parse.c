#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/enroll_parse.h"

/*
 * Read a quoted field value: *p points just after the opening quote.  The
 * value runs to the next quote; it must fit outlen.  Returns 0 and moves *p
 * past the closing quote, or -1 when unterminated or too long.
 */
static int
quoted(const char **p, const char *end, char *out, size_t outlen)
{
	const char	*q = memchr(*p, '\'', (size_t)(end - *p));
	size_t		 n;

	if (q == NULL)
		return -1;
	n = (size_t)(q - *p);
	if (n >= outlen)
		return -1;
	memcpy(out, *p, n);
	out[n] = '\0';
	*p = q + 1;
	return 0;
}

static int
starts(const char *p, const char *end, const char *tok)
{
	size_t	n = strlen(tok);

	return (size_t)(end - p) >= n && memcmp(p, tok, n) == 0;
}

/* IPv4 or IPv6, with an optional /prefix, as agents may send with -I. */
int
enroll_valid_ip(const char *s)
{
	char		 buf[AGENT_IP_MAX], *slash, *e;
	unsigned char	 tmp[16];
	long		 bits;
	int		 v6;

	if (strlen(s) >= sizeof(buf))
		return 0;
	strcpy(buf, s);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	v6 = strchr(buf, ':') != NULL;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, buf, tmp) != 1)
		return 0;
	if (slash != NULL) {
		if (!isdigit((unsigned char)*slash))
			return 0;
		bits = strtol(slash, &e, 10);
		if (*e != '\0' || bits < 0 || bits > (v6 ? 128 : 32))
			return 0;
	}
	return 1;
}

/*
 * Compare "v4.14.7"-style versions numerically (a leading v optional).
 * Returns <0, 0, >0; a version that does not parse compares equal, so
 * odd agent builds are not refused for their spelling.
 */
int
enroll_version_cmp(const char *a, const char *b)
{
	long	va[3] = { 0, 0, 0 }, vb[3] = { 0, 0, 0 };
	int	i;

	if (*a == 'v' || *a == 'V')
		a++;
	if (*b == 'v' || *b == 'V')
		b++;
	if (sscanf(a, "%ld.%ld.%ld", &va[0], &va[1], &va[2]) < 2 ||
	    sscanf(b, "%ld.%ld.%ld", &vb[0], &vb[1], &vb[2]) < 2)
		return 0;
	for (i = 0; i < 3; i++)
		if (va[i] != vb[i])
			return va[i] < vb[i] ? -1 : 1;
	return 0;
}

/* Check and deduplicate "g1,g2,g1" in place order: "g1,g2". */
static int
clean_groups(char *groups, char *answer, size_t answerlen)
{
	char	 out[AGENT_GROUPS_MAX + 1] = "", *g, *save = NULL;
	char	 copy[AGENT_GROUPS_MAX + 1];
	size_t	 n = 0, gl;
	char	*found;

	strcpy(copy, groups);
	for (g = strtok_r(copy, ",", &save); g != NULL;
	    g = strtok_r(NULL, ",", &save)) {
		if (!agents_valid_group(g)) {
			snprintf(answer, answerlen, "ERROR: Invalid group name: "
			    "%.255s", g);
			return -1;
		}
		gl = strlen(g);
		/* already listed? compare whole names only */
		for (found = out; (found = strstr(found, g)) != NULL;
		    found += gl)
			if ((found == out || found[-1] == ',') &&
			    (found[gl] == ',' || found[gl] == '\0'))
				break;
		if (found != NULL)
			continue;
		if (++n > ENROLL_MAX_GROUPS) {
			snprintf(answer, answerlen, "ERROR: Maximum multigroup "
			    "reached: Limit is %d", ENROLL_MAX_GROUPS);
			return -1;
		}
		if (out[0] != '\0')
			strcat(out, ",");
		strcat(out, g);
	}
	if (out[0] == '\0' && groups[0] != '\0') {
		snprintf(answer, answerlen, "ERROR: Invalid group name: %.255s",
		    groups);
		return -1;
	}
	strcpy(groups, out);
	return 0;
}

/*
 * Parse one request line (without its newline; a trailing CR is ignored).
 * Returns 0 with req filled, or -1 with the "ERROR: ..." answer for the
 * agent in answer.
 */
int
enroll_parse(const char *line, size_t len, struct enroll_req *req,
    char *answer, size_t answerlen)
{
	const char	*p = line, *end = line + len, *a;
	char		 hash[64];
	size_t		 i;

	memset(req, 0, sizeof(*req));
	while (end > p && (end[-1] == '\r' || end[-1] == '\n'))
		end--;
	if (len > ENROLL_LINE_MAX || memchr(p, '\0', (size_t)(end - p))) {
		snprintf(answer, answerlen, "ERROR: Invalid request for new "
		    "agent");
		return -1;
	}
	if (starts(p, end, "OSSEC PASS: ")) {
		p += 12;
		/* The password runs to the action; it may hold spaces. */
		for (a = p; a < end && !starts(a, end, " OSSEC A:'"); a++)
			;
		if (a == end || (size_t)(a - p) > ENROLL_PASS_MAX) {
			snprintf(answer, answerlen, "ERROR: Invalid password");
			return -1;
		}
		memcpy(req->password, p, (size_t)(a - p));
		req->password[a - p] = '\0';
		req->has_password = 1;
		p = a + 1;
	}
	if (!starts(p, end, "OSSEC A:'")) {
		snprintf(answer, answerlen, "ERROR: Invalid request for new "
		    "agent");
		return -1;
	}
	p += 9;
	a = memchr(p, '\'', (size_t)(end - p));
	if (a == NULL) {
		snprintf(answer, answerlen, "ERROR: Invalid request for new "
		    "agent");
		return -1;
	}
	if ((size_t)(a - p) > AGENT_NAME_MAX) {
		snprintf(answer, answerlen, "ERROR: Invalid agent name: %.*s",
		    AGENT_NAME_MAX, p);
		return -1;
	}
	memcpy(req->name, p, (size_t)(a - p));
	req->name[a - p] = '\0';
	p = a + 1;
	if (!agents_valid_name(req->name)) {
		snprintf(answer, answerlen, "ERROR: Invalid agent name: %s",
		    req->name);
		return -1;
	}
	if (starts(p, end, " V:'")) {
		p += 4;
		if (quoted(&p, end, req->version, sizeof(req->version)) == -1) {
			snprintf(answer, answerlen, "ERROR: Unterminated version "
			    "field");
			return -1;
		}
	}
	if (starts(p, end, " G:'")) {
		p += 4;
		if (quoted(&p, end, req->groups, sizeof(req->groups)) == -1) {
			snprintf(answer, answerlen, "ERROR: Unterminated group "
			    "field");
			return -1;
		}
		if (clean_groups(req->groups, answer, answerlen) == -1)
			return -1;
	}
	if (starts(p, end, " IP:'")) {
		p += 5;
		if (quoted(&p, end, req->ip, sizeof(req->ip)) == -1) {
			snprintf(answer, answerlen, "ERROR: Unterminated IP "
			    "field");
			return -1;
		}
		if (strcmp(req->ip, "src") != 0 && !enroll_valid_ip(req->ip)) {
			snprintf(answer, answerlen, "ERROR: Invalid IP: %.64s",
			    req->ip);
			return -1;
		}
	}
	if (starts(p, end, " K:'")) {
		p += 4;
		if (quoted(&p, end, hash, sizeof(hash)) == -1 ||
		    strlen(hash) != 40) {
			snprintf(answer, answerlen, "ERROR: Unterminated key "
			    "field");
			return -1;
		}
		for (i = 0; i < 40; i++) {
			if (!isxdigit((unsigned char)hash[i])) {
				snprintf(answer, answerlen, "ERROR: Invalid key "
				    "field");
				return -1;
			}
			hash[i] = (char)tolower((unsigned char)hash[i]);
		}
		strcpy(req->key_hash, hash);
	}
	return 0;
}

/*
 * May a new enrollment replace an existing agent of the same name or IP?
 * Only when replacement is enabled, the old agent never connected or has
 * been disconnected for force->disconnected_time, was registered at least
 * force->after_registration_time ago, and (when the agent sent its
 * previous identity) the key hash differs from the one on record.
 * Returns 1 if so; 0 with why set otherwise.
 */
int
enroll_may_replace(const struct agent *old, const char *key_hash,
    const struct enroll_force *force, time_t now, char *why, size_t whylen)
{
	char	hash[41];

	if (!force->enabled) {
		snprintf(why, whylen, "replacement is disabled");
		return 0;
	}
	if (force->disconnected_time > 0 &&
	    strcmp(agent_status(old), "never_connected") != 0) {
		if (strcmp(agent_status(old), "disconnected") != 0 ||
		    old->disconnection_time == 0) {
			snprintf(why, whylen, "agent %s is not disconnected",
			    old->id);
			return 0;
		}
		if (difftime(now, old->disconnection_time) <
		    force->disconnected_time) {
			snprintf(why, whylen, "agent %s has not been "
			    "disconnected long enough", old->id);
			return 0;
		}
	}
	if (force->after_registration_time > 0 &&
	    difftime(now, old->date_add) < force->after_registration_time) {
		snprintf(why, whylen, "agent %s was registered too recently",
		    old->id);
		return 0;
	}
	if (key_hash != NULL && key_hash[0] != '\0' && force->key_mismatch) {
		agent_key_hash(old, hash);
		if (strcmp(hash, key_hash) == 0) {
			snprintf(why, whylen, "agent %s key already exists",
			    old->id);
			return 0;
		}
	}
	return 1;
}
