/*
 * nodelist: parse and read the master's nodes_file.  See nodelist.h.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/nodelist.h"

/* Split off the next blank-separated word of s (modified in place). */
static char *
next_word(char **s)
{
	char	*w;

	while (**s == ' ' || **s == '\t')
		(*s)++;
	if (**s == '\0')
		return NULL;
	w = *s;
	while (**s != '\0' && **s != ' ' && **s != '\t')
		(*s)++;
	if (**s != '\0')
		*(*s)++ = '\0';
	return w;
}

/* "1".."999999", plain digits. */
static int
parse_generation(const char *w, unsigned *out)
{
	unsigned long	v = 0;
	size_t		i;

	if (w[0] == '\0' || w[0] == '0' || strlen(w) > 6)
		return -1;
	for (i = 0; w[i] != '\0'; i++) {
		if (w[i] < '0' || w[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(w[i] - '0');
	}
	*out = (unsigned)v;
	return 0;
}

/* One line, without its newline and comment; 0 blank, 1 entry, -1 error. */
static int
parse_line(char *s, struct nodelist_entry *e, char *err, size_t errlen)
{
	char	*name, *role, *gen;

	memset(e, 0, sizeof(*e));
	if ((name = next_word(&s)) == NULL)
		return 0;
	role = next_word(&s);
	gen = next_word(&s);
	if (role == NULL || next_word(&s) != NULL) {
		snprintf(err, errlen, "expected \"NAME ROLE [GENERATION]\"");
		return -1;
	}
	if (!config_valid_name(name)) {
		snprintf(err, errlen, "invalid node name");
		return -1;
	}
	snprintf(e->name, sizeof(e->name), "%s", name);
	if (strcmp(role, "worker") == 0)
		e->type = NODE_WORKER;
	else if (strcmp(role, "balancer") == 0)
		e->type = NODE_BALANCER;
	else if (strcmp(role, "master") == 0)
		e->type = NODE_MASTER;	/* master-eligible: joins as a standby */
	else if (strcmp(role, "revoked") == 0)
		e->revoked = 1;
	else {
		snprintf(err, errlen, "role must be worker, balancer, master "
		    "or revoked");
		return -1;
	}
	e->generation = 1;
	if (gen != NULL && parse_generation(gen, &e->generation) == -1) {
		snprintf(err, errlen, "generation must be a number from 1 to "
		    "%d", NODELIST_GEN_MAX);
		return -1;
	}
	return 1;
}

static int
cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct nodelist_entry *)a)->name,
	    ((const struct nodelist_entry *)b)->name);
}

/*
 * Parse a whole file's text; the list is sorted by name.  Every line must
 * be valid and every name listed once: a list half understood would admit
 * or refuse nodes by accident.  Returns 0, or -1 with err ("line N: ...").
 */
int
nodelist_parse(const char *text, size_t len, struct nodelist *out,
    char *err, size_t errlen)
{
	struct nodelist	 l = { NULL, 0 };
	char		 line[256], why[128];
	const char	*p = text, *end = text + len, *nl;
	size_t		 n, i, lineno = 0;
	int		 r;

	memset(out, 0, sizeof(*out));
	while (p < end) {
		lineno++;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)((nl != NULL ? nl : end) - p);
		if (n >= sizeof(line) || memchr(p, '\0', n) != NULL) {
			snprintf(err, errlen, "line %zu: too long or not text",
			    lineno);
			goto fail;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		p += n + (nl != NULL);
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if ((nl = strchr(line, '#')) != NULL)
			line[nl - line] = '\0';
		for (i = 0; line[i] != '\0'; i++)
			if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
				break;
		if (line[i] != '\0') {
			snprintf(err, errlen, "line %zu: control character",
			    lineno);
			goto fail;
		}
		if (l.n == NODELIST_MAX) {
			snprintf(err, errlen, "line %zu: more than %d nodes",
			    lineno, NODELIST_MAX);
			goto fail;
		}
		if (l.n % 64 == 0) {
			struct nodelist_entry	*v = realloc(l.v,
			    (l.n + 64) * sizeof(*v));

			if (v == NULL) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			l.v = v;
		}
		if ((r = parse_line(line, &l.v[l.n], why, sizeof(why))) ==
		    -1) {
			snprintf(err, errlen, "line %zu: %s", lineno, why);
			goto fail;
		}
		l.v[l.n].line = lineno;
		l.n += r;
	}
	/* Sorted, so nodelist_find() can search and twins sit together. */
	if (l.n > 0)
		qsort(l.v, l.n, sizeof(*l.v), cmp_entry);
	for (i = 1; i < l.n; i++) {
		if (strcmp(l.v[i - 1].name, l.v[i].name) == 0) {
			snprintf(err, errlen, "line %zu: \"%s\" listed twice",
			    l.v[i - 1].line > l.v[i].line ? l.v[i - 1].line :
			    l.v[i].line, l.v[i].name);
			goto fail;
		}
	}
	*out = l;
	return 0;
fail:
	free(l.v);
	return -1;
}

/*
 * Read and parse PATH: a regular file of at most NODELIST_FILE_MAX bytes.
 * It holds names, not secrets, so any mode is accepted.
 */
int
nodelist_load(const char *path, struct nodelist *out, char *err,
    size_t errlen)
{
	struct stat	 st;
	char		*buf = NULL;
	size_t		 n = 0;
	ssize_t		 r;
	int		 fd, rv = -1;

	memset(out, 0, sizeof(*out));
	if ((fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)) ==
	    -1 || fstat(fd, &st) == -1) {
		snprintf(err, errlen, "cannot be read: %s", strerror(errno));
		goto done;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > NODELIST_FILE_MAX) {
		snprintf(err, errlen, "is not a regular file of at most %d "
		    "bytes", NODELIST_FILE_MAX);
		goto done;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	while (n < (size_t)st.st_size) {
		r = read(fd, buf + n, (size_t)st.st_size - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(err, errlen, "cannot be read: %s",
			    strerror(errno));
			goto done;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	rv = nodelist_parse(buf, n, out, err, errlen);
done:
	if (fd != -1)
		close(fd);
	free(buf);
	return rv;
}

const struct nodelist_entry *
nodelist_find(const struct nodelist *l, const char *name)
{
	struct nodelist_entry	key;

	if (l->n == 0 || strlen(name) >= sizeof(key.name))
		return NULL;
	snprintf(key.name, sizeof(key.name), "%s", name);
	return bsearch(&key, l->v, l->n, sizeof(*l->v), cmp_entry);
}

void
nodelist_free(struct nodelist *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
