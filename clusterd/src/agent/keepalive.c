#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/keepalive.h"

/*
 * Every field an agent reports is stored, shown by cluster_control and
 * logged: a control byte in one (an escape sequence in the version, say)
 * is kept out as '?'.
 */
static void
copy(char *dst, size_t dstlen, const char *s, size_t n)
{
	size_t	i;

	if (n >= dstlen)
		n = dstlen - 1;
	for (i = 0; i < n; i++)
		dst[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' :
		    s[i];
	dst[n] = '\0';
}

/* os_major and os_minor from "10.14.4", "22.04", "15-SP7". */
static void
version_parts(struct keepalive *k)
{
	const char	*v = k->os_version, *p;
	size_t		 n;

	for (n = 0; isdigit((unsigned char)v[n]); n++)
		;
	if (n == 0)
		return;
	copy(k->os_major, sizeof(k->os_major), v, n);
	p = v + n;
	if (*p == '.' && isdigit((unsigned char)p[1])) {
		for (n = 1; isdigit((unsigned char)p[n]); n++)
			;
		copy(k->os_minor, sizeof(k->os_minor), p + 1, n - 1);
	} else if (p[0] == '-' && (p[1] == 'S' || p[1] == 's') &&
	    (p[2] == 'P' || p[2] == 'p') && isdigit((unsigned char)p[3])) {
		for (n = 3; isdigit((unsigned char)p[n]); n++)
			;
		copy(k->os_minor, sizeof(k->os_minor), p + 3, n - 3);
	}
}

static void
find_arch(struct keepalive *k, const char *uname)
{
	static const char *const archs[] = {
		"x86_64", "i386", "i686", "sparc", "amd64", "i86pc", "ia64",
		"AIX", "armv6", "armv7", "aarch64", "arm64", NULL
	};
	int	i;

	for (i = 0; archs[i] != NULL; i++) {
		if (strstr(uname, archs[i]) != NULL) {
			copy(k->os_arch, sizeof(k->os_arch), archs[i],
			    strlen(archs[i]));
			return;
		}
	}
}

/* The first line's "<uname> [<os>]" part, into k. */
static void
parse_uname(struct keepalive *k, const char *u, size_t len)
{
	char		 line[KA_UNAME + KA_FIELD * 2], *b, *e, *c;
	const char	*ver;

	copy(line, sizeof(line), u, len);
	if ((b = strstr(line, " [Ver: ")) != NULL) {
		*b = '\0';
		copy(k->os_uname, sizeof(k->os_uname), line, strlen(line));
		copy(k->os_name, sizeof(k->os_name), line, strlen(line));
		ver = b + 7;
		if ((e = strchr(b + 7, ']')) != NULL)
			*e = '\0';
		copy(k->os_version, sizeof(k->os_version), ver, strlen(ver));
		strcpy(k->os_platform, "windows");
		version_parts(k);
		/* the build: everything from the third number on
		 * ("10.0.19045.3570" -> "19045.3570"), as Wazuh 4.x shows it */
		if ((c = strchr(k->os_version, '.')) != NULL &&
		    (c = strchr(c + 1, '.')) != NULL &&
		    c[1] >= '0' && c[1] <= '9')
			copy(k->os_build, sizeof(k->os_build), c + 1,
			    strlen(c + 1));
		if (e != NULL)
			find_arch(k, e + 1);
		return;
	}
	/* The architecture comes from the uname part, not the OS bracket. */
	if ((b = strstr(line, " [")) == NULL) {
		copy(k->os_uname, sizeof(k->os_uname), line, strlen(line));
		find_arch(k, line);
		return;
	}
	*b = '\0';
	copy(k->os_uname, sizeof(k->os_uname), line, strlen(line));
	find_arch(k, line);
	b += 2;
	if ((e = strrchr(b, ']')) != NULL)
		*e = '\0';
	if ((c = strstr(b, ": ")) != NULL) {
		*c = '\0';
		ver = c + 2;
		if ((c = strstr(ver, " (")) != NULL) {
			*c = '\0';
			copy(k->os_codename, sizeof(k->os_codename), c + 2,
			    strcspn(c + 2, ")"));
		}
		copy(k->os_version, sizeof(k->os_version), ver, strlen(ver));
		version_parts(k);
	}
	if ((c = strchr(b, '|')) != NULL) {
		*c = '\0';
		copy(k->os_platform, sizeof(k->os_platform), c + 1,
		    strlen(c + 1));
	}
	copy(k->os_name, sizeof(k->os_name), b, strlen(b));
}

/* The first "needle" (3 bytes) in p[0..n), or NULL. */
static const char *
find3(const char *p, size_t n, const char *needle)
{
	size_t	i;

	for (i = 0; i + 3 <= n; i++)
		if (p[i] == needle[0] && p[i + 1] == needle[1] &&
		    p[i + 2] == needle[2])
			return p + i;
	return NULL;
}

/* A label line: "key":value (or !"key":value for a hidden one). */
static void
add_label(struct keepalive *k, const char *line, size_t len)
{
	char	buf[1024], *q, *key, *val;

	copy(buf, sizeof(buf), line, len);
	key = buf[0] == '!' ? buf + 1 : buf;
	if (*key != '"' || (q = strchr(key + 1, '"')) == NULL || q[1] != ':')
		return;
	*q = '\0';
	val = q + 2;
	if (k->labels == NULL && (k->labels = cJSON_CreateObject()) == NULL)
		return;
	cJSON_DeleteItemFromObjectCaseSensitive(k->labels, key + 1);
	cJSON_AddStringToObject(k->labels, key + 1, val);
}

/*
 * Parse a keepalive (the text after "#!-").  Returns 0, or -1 when it has
 * no "<uname> - <version>" line at all.
 */
int
keepalive_parse(const char *text, struct keepalive *k)
{
	static const char	 ipl[] = "#\"_agent_ip\":";
	const char		*line, *nl, *dash, *slash, *sp;
	size_t			 len;
	int			 found = 0;

	memset(k, 0, sizeof(*k));
	for (line = text; *line != '\0'; line = nl + (*nl != '\0')) {
		nl = strchr(line, '\n');
		if (nl == NULL)
			nl = line + strlen(line);
		len = (size_t)(nl - line);
		if (len == 0)
			continue;
		if (*line == '#' || *line == '!' || *line == '"') {
			if (len > sizeof(ipl) - 1 &&
			    strncmp(line, ipl, sizeof(ipl) - 1) == 0)
				copy(k->agent_ip, sizeof(k->agent_ip),
				    line + sizeof(ipl) - 1,
				    len - (sizeof(ipl) - 1));
			else if (*line != '#')
				add_label(k, line, len);
			continue;
		}
		dash = find3(line, len, " - ");
		if (dash != NULL && !found) {
			parse_uname(k, line, (size_t)(dash - line));
			dash += 3;
			slash = find3(dash, (size_t)(nl - dash), " / ");
			if (slash != NULL) {
				copy(k->version, sizeof(k->version), dash,
				    (size_t)(slash - dash));
				copy(k->config_sum, sizeof(k->config_sum),
				    slash + 3, (size_t)(nl - slash - 3));
			} else
				copy(k->version, sizeof(k->version), dash,
				    (size_t)(nl - dash));
			found = 1;
		} else if ((sp = memchr(line, ' ', len)) != NULL &&
		    (size_t)(nl - sp - 1) >= 9 &&
		    strncmp(sp + 1, "merged.mg", 9) == 0)
			copy(k->merged_sum, sizeof(k->merged_sum), line,
			    (size_t)(sp - line));
	}
	return found ? 0 : -1;
}

/*
 * Only the merged.mg sum of a keepalive text, for the comparison every
 * keepalive needs (keepalive_parse runs only when the text changed): the
 * first line "<sum> merged.mg" that is not a label.  "" when none.
 */
void
keepalive_merged_sum(const char *text, char *out, size_t outlen)
{
	const char	*line, *nl, *sp;
	size_t		 len;

	out[0] = '\0';
	for (line = text; *line != '\0'; line = nl + (*nl != '\0')) {
		if ((nl = strchr(line, '\n')) == NULL)
			nl = line + strlen(line);
		len = (size_t)(nl - line);
		if (len == 0 || *line == '#' || *line == '!' || *line == '"')
			continue;
		if ((sp = memchr(line, ' ', len)) != NULL &&
		    (size_t)(nl - sp - 1) == 9 && strncmp(sp + 1, "merged.mg",
		    9) == 0) {
			copy(out, outlen, line, (size_t)(sp - line));
			return;
		}
	}
}

void
keepalive_free(struct keepalive *k)
{
	cJSON_Delete(k->labels);
	k->labels = NULL;
}

static void
add(cJSON *o, const char *key, const char *v)
{
	if (v[0] != '\0')
		cJSON_AddStringToObject(o, key, v);
}

/* The fields as sent to the master (empty ones left out). */
cJSON *
keepalive_json(const struct keepalive *k)
{
	cJSON	*o = cJSON_CreateObject();

	add(o, "os_uname", k->os_uname);
	add(o, "os_name", k->os_name);
	add(o, "os_platform", k->os_platform);
	add(o, "os_version", k->os_version);
	add(o, "os_codename", k->os_codename);
	add(o, "os_major", k->os_major);
	add(o, "os_minor", k->os_minor);
	add(o, "os_build", k->os_build);
	add(o, "os_arch", k->os_arch);
	add(o, "version", k->version);
	add(o, "config_sum", k->config_sum);
	add(o, "merged_sum", k->merged_sum);
	add(o, "agent_ip", k->agent_ip);
	cJSON_AddItemToObject(o, "labels", k->labels != NULL ?
	    cJSON_Duplicate(k->labels, 1) : cJSON_CreateObject());
	return o;
}
