#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lb/haproxy.h"

#define HAPROXY_TIMEOUT_S	2	/* a local HAProxy answers in ms */
#define MAX_FIELDS		64
#define MAX_SERVERS		100000

/*
 * Send one command on the admin socket and read the whole answer (HAProxy
 * closes a non-interactive connection after answering).  Blocking, with
 * a 2 s bound on each step: the socket is local and the balancer role has
 * nothing else in its loop that cannot wait that long.  Returns 0 with a
 * NUL-terminated *answer to free, or -1 with err set.
 */
int
haproxy_command(const char *socket_path, const char *cmd, char **answer,
    char *err, size_t errlen)
{
	struct sockaddr_un	 sun;
	struct timeval		 tv = { HAPROXY_TIMEOUT_S, 0 };
	char			*buf = NULL, *nb;
	size_t			 len = 0, cap = 0, clen = strlen(cmd);
	ssize_t			 r;
	int			 fd = -1;

	*answer = NULL;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(socket_path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "socket path too long");
		goto fail;
	}
	strcpy(sun.sun_path, socket_path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		snprintf(err, errlen, "%s: %s", socket_path, strerror(errno));
		goto fail;
	}
	if (write(fd, cmd, clen) != (ssize_t)clen || write(fd, "\n", 1) != 1) {
		snprintf(err, errlen, "%s: write: %s", socket_path,
		    strerror(errno));
		goto fail;
	}
	for (;;) {
		if (cap - len < 4096) {
			if (cap >= HAPROXY_ANSWER_MAX) {
				snprintf(err, errlen, "answer too long");
				goto fail;
			}
			cap = cap ? cap * 2 : 8192;
			if ((nb = realloc(buf, cap + 1)) == NULL) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			buf = nb;
		}
		if ((r = read(fd, buf + len, cap - len)) == 0)
			break;
		if (r == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "%s: read: %s", socket_path,
			    errno == EAGAIN ? "no answer in time" :
			    strerror(errno));
			goto fail;
		}
		len += (size_t)r;
	}
	close(fd);
	if (buf == NULL && (buf = malloc(1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	buf[len] = '\0';
	*answer = buf;
	return 0;
fail:
	if (fd != -1)
		close(fd);
	free(buf);
	return -1;
}

/* Next line of text[*pos..len) into line (NUL-terminated); 0 at the end. */
static int
next_line(const char *text, size_t len, size_t *pos, char *line,
    size_t linelen)
{
	const char	*nl;
	size_t		 n;

	if (*pos >= len)
		return 0;
	nl = memchr(text + *pos, '\n', len - *pos);
	n = (nl != NULL ? (size_t)(nl - text) : len) - *pos;
	if (n >= linelen)
		n = linelen - 1;	/* longer lines are cut, then refused */
	memcpy(line, text + *pos, n);
	line[n] = '\0';
	*pos = nl != NULL ? (size_t)(nl - text) + 1 : len;
	return 1;
}

/* Split line in place at sep (runs of spaces count as one for ' '). */
static size_t
split(char *line, char sep, char **f, size_t max)
{
	size_t	n = 0;
	char	*s = line;

	while (n < max) {
		if (sep == ' ')
			while (*s == ' ')
				s++;
		if (sep == ' ' && *s == '\0')
			break;
		f[n++] = s;
		while (*s != '\0' && *s != sep)
			s++;
		if (*s == '\0')
			break;
		*s++ = '\0';
	}
	return n;
}

static int
column(char **names, size_t n, const char *want)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], want) == 0)
			return (int)i;
	return -1;
}

/* A decimal field within [0, max]; -1 otherwise. */
static int
number(const char *s, unsigned max, unsigned *out)
{
	unsigned long	v = 0;
	size_t		i;

	if (s[0] == '\0' || strlen(s) > 10)
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int
copy_field(char *dst, const char *src)
{
	if (strlen(src) >= HAPROXY_NAME_MAX)
		return -1;
	strcpy(dst, src);
	return 0;
}

/*
 * Parse "show servers state" (format 1): a version line, a "# be_id ..."
 * header naming the columns, then one line per server.  Columns are found
 * by name, so added columns do not break it.  Returns 0 with *out (to
 * free) and *n, or -1 on anything malformed.
 */
int
haproxy_parse_state(const char *text, size_t len, struct haproxy_server **out,
    size_t *n)
{
	char			 hdr[2048], line[2048], *names[MAX_FIELDS];
	char			*f[MAX_FIELDS];
	struct haproxy_server	*v = NULL, *nv, *s;
	size_t			 pos = 0, nn, nf, cap = 0;
	int			 be, name, addr, admin, port, agent, hi;

	*out = NULL;
	*n = 0;
	if (!next_line(text, len, &pos, line, sizeof(line)) ||
	    strcmp(line, "1") != 0 ||
	    !next_line(text, len, &pos, hdr, sizeof(hdr)) ||
	    strncmp(hdr, "# ", 2) != 0)
		return -1;
	nn = split(hdr + 2, ' ', names, MAX_FIELDS);
	if ((be = column(names, nn, "be_name")) < 0 ||
	    (name = column(names, nn, "srv_name")) < 0 ||
	    (addr = column(names, nn, "srv_addr")) < 0 ||
	    (admin = column(names, nn, "srv_admin_state")) < 0 ||
	    (port = column(names, nn, "srv_port")) < 0)
		return -1;
	agent = column(names, nn, "srv_agent_port");
	hi = be > name ? be : name;
	hi = hi > addr ? hi : addr;
	hi = hi > admin ? hi : admin;
	hi = hi > port ? hi : port;
	hi = hi > agent ? hi : agent;
	while (next_line(text, len, &pos, line, sizeof(line))) {
		if (line[0] == '\0')
			continue;
		if (strlen(line) >= sizeof(line) - 1 ||
		    (nf = split(line, ' ', f, MAX_FIELDS)) <= (size_t)hi)
			goto fail;
		if (*n == cap) {
			if (cap >= MAX_SERVERS)
				goto fail;
			cap = cap ? cap * 2 : 16;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL)
				goto fail;
			v = nv;
		}
		s = &v[*n];
		memset(s, 0, sizeof(*s));
		if (copy_field(s->backend, f[be]) == -1 ||
		    copy_field(s->name, f[name]) == -1 ||
		    copy_field(s->address, f[addr]) == -1 ||
		    number(f[admin], 0xff, &s->admin) == -1 ||
		    number(f[port], 65535, &s->port) == -1 ||
		    (agent >= 0 && number(f[agent], 65535, &s->agent_port)
		    == -1))
			goto fail;
		(*n)++;
	}
	*out = v;
	return 0;
fail:
	free(v);
	*n = 0;
	return -1;
}

/*
 * Merge "show stat" CSV (its "# pxname,svname,..." header names the
 * columns) into servers: each one's status, current connections and
 * effective weight (0 when "weight" is missing or empty).
 * Lines for frontends, backends and unknown servers are skipped.
 * Returns 0, or -1 when the header is missing or a line is malformed.
 */
int
haproxy_merge_stat(const char *text, size_t len, struct haproxy_server *servers,
    size_t n)
{
	char	 hdr[4096], line[4096], *names[128], *f[128];
	size_t	 pos = 0, nn, nf, i;
	int	 px, sv, scur, st, wt, hi;
	unsigned cur, weight;

	if (!next_line(text, len, &pos, hdr, sizeof(hdr)) ||
	    strncmp(hdr, "# ", 2) != 0)
		return -1;
	nn = split(hdr + 2, ',', names, 128);
	if ((px = column(names, nn, "pxname")) < 0 ||
	    (sv = column(names, nn, "svname")) < 0 ||
	    (scur = column(names, nn, "scur")) < 0 ||
	    (st = column(names, nn, "status")) < 0)
		return -1;
	hi = px > sv ? px : sv;
	hi = hi > scur ? hi : scur;
	hi = hi > st ? hi : st;
	wt = column(names, nn, "weight");
	hi = hi > wt ? hi : wt;
	while (next_line(text, len, &pos, line, sizeof(line))) {
		if (line[0] == '\0')
			continue;
		if (strlen(line) >= sizeof(line) - 1 ||
		    (nf = split(line, ',', f, 128)) <= (size_t)hi)
			return -1;
		if (strcmp(f[sv], "FRONTEND") == 0 ||
		    strcmp(f[sv], "BACKEND") == 0)
			continue;
		if (number(f[scur], 0xffffffffu, &cur) == -1)
			return -1;
		if (wt < 0 || number(f[wt], 0xffffffu, &weight) == -1)
			weight = 0;
		for (i = 0; i < n; i++) {
			if (strcmp(servers[i].backend, f[px]) != 0 ||
			    strcmp(servers[i].name, f[sv]) != 0)
				continue;
			servers[i].connections = cur;
			servers[i].weight = weight;
			snprintf(servers[i].status, sizeof(servers[i].status),
			    "%s", f[st]);
		}
	}
	return 0;
}

/* Start of the line after the one at p (or end). */
static const char *
line_after(const char *p, const char *end)
{
	const char	*nl = memchr(p, '\n', (size_t)(end - p));

	return nl != NULL ? nl + 1 : end;
}

/* Is the line at p word alone, give or take blanks around it? */
static int
line_is(const char *p, const char *end, const char *word)
{
	size_t	n = strlen(word);

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if ((size_t)(end - p) < n || memcmp(p, word, n) != 0)
		return 0;
	for (p += n; p < end && *p != '\n'; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r')
			return 0;
	return 1;
}

/*
 * Replace the lines between "# clusterd pool begin" and "# clusterd pool
 * end" in the section "backend BACKEND" of a haproxy.cfg with servers (whole
 * lines, each ending in '\n').  Everything else is kept byte for byte.
 * Returns 0 with *out (NUL-terminated, to free), or -1 when the backend or
 * its markers are missing.
 */
int
haproxy_rewrite_pool(const char *cfg, size_t len, const char *backend,
    const char *servers, char **out)
{
	const char	*end = cfg + len, *p = cfg, *begin = NULL, *stop = NULL;
	char		 hdr[HAPROXY_NAME_MAX + 16];
	size_t		 hl, sl = strlen(servers);
	int		 in = 0;

	*out = NULL;
	hl = (size_t)snprintf(hdr, sizeof(hdr), "backend %s", backend);
	if (hl >= sizeof(hdr))
		return -1;
	for (; p < end; p = line_after(p, end)) {
		if (!in) {
			in = (size_t)(end - p) >= hl && memcmp(p, hdr, hl) == 0 &&
			    (p + hl == end || p[hl] == '\n' || p[hl] == ' ' ||
			    p[hl] == '\t' || p[hl] == '\r');
			continue;
		}
		if (p < end && *p != ' ' && *p != '\t' && *p != '#' &&
		    *p != '\n')
			break;		/* the next section: no markers */
		if (begin == NULL && line_is(p, end, "# clusterd pool begin"))
			begin = line_after(p, end);
		else if (begin != NULL && line_is(p, end, "# clusterd pool end")) {
			stop = p;
			break;
		}
	}
	if (begin == NULL || stop == NULL)
		return -1;
	if ((*out = malloc(len - (size_t)(stop - begin) + sl + 1)) == NULL)
		return -1;
	memcpy(*out, cfg, (size_t)(begin - cfg));
	memcpy(*out + (begin - cfg), servers, sl);
	memcpy(*out + (begin - cfg) + sl, stop, (size_t)(end - stop));
	(*out)[len - (size_t)(stop - begin) + sl] = '\0';
	return 0;
}

/* The operator's word for a server's admin state. */
const char *
haproxy_admin_name(unsigned admin)
{
	if (admin & 0x67)	/* forced, inherited, config, dns, name */
		return "maint";
	if (admin & 0x18)	/* forced or inherited drain */
		return "drain";
	return "ready";
}
