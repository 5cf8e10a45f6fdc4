#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "agent/agents.h"
#include "agent/merged.h"
#include "base/node.h"

#define AR_CONF		"ar.conf"
#define AGENT_CONF	"agent.conf"

/* One file of a merge: its name relative to the group folder, its bytes. */
struct ent {
	char	*rel;
	char	*data;
	size_t	 len;
};

struct entlist {
	struct ent	*v;
	size_t		 n, cap;
	size_t		 total;
};

struct merged_file *
merged_file_new(const char *data, size_t len)
{
	struct merged_file	*f;

	if ((f = malloc(sizeof(*f) + len + 1)) == NULL)
		return NULL;
	f->refs = 1;
	f->len = len;
	memcpy(f->data, data, len);
	f->data[len] = '\0';
	merged_md5_hex(data, len, f->md5);
	return f;
}

struct merged_file *
merged_file_ref(struct merged_file *f)
{
	if (f != NULL)
		f->refs++;
	return f;
}

void
merged_file_unref(struct merged_file *f)
{
	if (f != NULL && --f->refs == 0)
		free(f);
}

static void
hex_digest(const EVP_MD *md, const void *p, size_t n, char *out, size_t keep)
{
	static const char	hx[] = "0123456789abcdef";
	unsigned char		d[EVP_MAX_MD_SIZE];
	unsigned		dlen = 0, i;

	if (EVP_Digest(p, n, d, &dlen, md, NULL) != 1)
		dlen = 0;
	for (i = 0; i < dlen && 2 * i < keep; i++) {
		out[2 * i] = hx[d[i] >> 4];
		out[2 * i + 1] = hx[d[i] & 15];
	}
	out[2 * i < keep ? 2 * i : keep] = '\0';
}

void
merged_md5_hex(const void *p, size_t n, char out[33])
{
	hex_digest(EVP_md5(), p, n, out, 32);
}

/* Wazuh: OS_SHA256_String(groups), then "%.8s". */
void
merged_multigroup_hash(const char *groups, char out[9])
{
	hex_digest(EVP_sha256(), groups, strlen(groups), out, 8);
}

int
merged_rel_path(const char *groups, char *out, size_t outlen)
{
	char	hash[9];
	int	n;

	if (strchr(groups, ',') != NULL) {
		merged_multigroup_hash(groups, hash);	/* hex: a safe name */
		n = snprintf(out, outlen, MERGED_MULTI_REL "/%s/" MERGED_NAME,
		    hash);
	} else if (!agents_valid_group(groups))
		return -1;	/* never "..": the name is a path component */
	else
		n = snprintf(out, outlen, MERGED_SHARED_REL "/%s/" MERGED_NAME,
		    groups);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static void
entlist_free(struct entlist *l)
{
	size_t	i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].rel);
		free(l->v[i].data);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static struct ent *
entlist_find(struct entlist *l, const char *rel)
{
	size_t	i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].rel, rel) == 0)
			return &l->v[i];
	return NULL;
}

/* Take data (malloc'ed) as the entry rel: appended to, or replacing it. */
static int
entlist_put(struct entlist *l, const char *rel, char *data, size_t len,
    int append)
{
	struct ent	*e, *v;
	char		*p;

	if (l->total + len > MERGED_MAX)
		goto fail;
	if ((e = entlist_find(l, rel)) != NULL) {
		if (append) {
			if ((p = realloc(e->data, e->len + len + 1)) == NULL)
				goto fail;
			memcpy(p + e->len, data, len);
			e->data = p;
			e->len += len;
			free(data);
		} else {
			l->total -= e->len;
			free(e->data);
			e->data = data;
			e->len = len;
		}
		l->total += len;
		return 0;
	}
	if (l->n == l->cap) {
		if ((v = reallocarray(l->v, l->cap ? 2 * l->cap : 16,
		    sizeof(*v))) == NULL)
			goto fail;
		l->v = v;
		l->cap = l->cap ? 2 * l->cap : 16;
	}
	if ((l->v[l->n].rel = strdup(rel)) == NULL)
		goto fail;
	l->v[l->n].data = data;
	l->v[l->n].len = len;
	l->n++;
	l->total += len;
	return 0;
fail:
	free(data);
	return -1;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A file's bytes, or NULL when it cannot be read or holds a NUL byte. */
static char *
read_text(const char *path, size_t *len)
{
	char	*data;

	if (node_read_file(path, MERGED_MAX, &data, len) == -1)
		return NULL;
	if (memchr(data, '\0', *len) != NULL) {	/* checkBinaryFile */
		free(data);
		return NULL;
	}
	return data;
}

/*
 * The files of dir (relative names under prefix) into l, sorted by name
 * as wreaddir() does, subfolders in place.  With group, the multigroup
 * copy: agent.conf appended after its source line, others replaced.
 */
static int
collect(const char *dir, const char *prefix, const char *group,
    struct entlist *l)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 sb;
	char		**names = NULL, **nv, path[PATH_MAX], rel[PATH_MAX];
	char		 head[PATH_MAX + 64], *data, *both;
	size_t		 n = 0, cap = 0, i, len, hlen;
	int		 rv = -1;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strncmp(de->d_name, MERGED_NAME,
		    strlen(MERGED_NAME)) == 0)
			continue;
		if (n == cap) {
			if ((nv = reallocarray(names, cap ? 2 * cap : 16,
			    sizeof(*nv))) == NULL)
				goto fail;
			names = nv;
			cap = cap ? 2 * cap : 16;
		}
		if ((names[n] = strdup(de->d_name)) == NULL)
			goto fail;
		n++;
	}
	qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >=
		    (int)sizeof(path) || snprintf(rel, sizeof(rel), "%s%s%s",
		    prefix, prefix[0] ? "/" : "", names[i]) >= (int)sizeof(rel))
			continue;
		if (stat(path, &sb) == -1)
			continue;
		if (S_ISDIR(sb.st_mode)) {
			if (collect(path, rel, group, l) == -1)
				goto fail;
			continue;
		}
		if (!S_ISREG(sb.st_mode) || (data = read_text(path, &len)) ==
		    NULL)
			continue;
		if (group != NULL && strcmp(names[i], AGENT_CONF) == 0) {
			hlen = (size_t)snprintf(head, sizeof(head),
			    "<!-- Source file: %s/" AGENT_CONF " -->\n", group);
			if ((both = malloc(hlen + len + 1)) == NULL) {
				free(data);
				goto fail;
			}
			memcpy(both, head, hlen);
			memcpy(both + hlen, data, len);
			free(data);
			if (entlist_put(l, rel, both, hlen + len, 1) == -1)
				goto fail;
		} else if (entlist_put(l, rel, data, len, 0) == -1)
			goto fail;
	}
	rv = 0;
fail:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rv;
}

/* Names compared one path component at a time: a folder's files sort at
 * the folder's place, as the recursive walk of Wazuh emits them. */
static int
rel_cmp(const void *pa, const void *pb)
{
	const char	*a = ((const struct ent *)pa)->rel;
	const char	*b = ((const struct ent *)pb)->rel;
	size_t		 la, lb;
	int		 c;

	for (;;) {
		la = strcspn(a, "/");
		lb = strcspn(b, "/");
		c = strncmp(a, b, la < lb ? la : lb);
		if (c == 0 && la != lb)
			c = la < lb ? -1 : 1;	/* a prefix sorts first */
		if (c != 0)
			return c;
		if (a[la] == '\0' || b[lb] == '\0')
			return (a[la] != '\0') - (b[lb] != '\0');
		a += la + 1;
		b += lb + 1;
	}
}

/* "!<size> <name>\n" and the bytes, appended to *out. */
static int
append_file(char **out, size_t *len, size_t *cap, const char *name,
    const char *data, size_t n)
{
	char	head[PATH_MAX + 32], *p;
	size_t	hlen, need;

	hlen = (size_t)snprintf(head, sizeof(head), "!%zu %s\n", n, name);
	need = *len + hlen + n + 1;
	if (need > MERGED_MAX)
		return -1;
	if (need > *cap) {
		if ((p = realloc(*out, need * 2)) == NULL)
			return -1;
		*out = p;
		*cap = need * 2;
	}
	memcpy(*out + *len, head, hlen);
	memcpy(*out + *len + hlen, data, n);
	*len += hlen + n;
	(*out)[*len] = '\0';
	return 0;
}

int
merged_build(const char *shared, const char *groups, char **out,
    size_t *outlen)
{
	struct entlist	 l = { 0 };
	char		 tag[4096 + 1], path[PATH_MAX], copy[4096 + 1];
	char		*g, *save = NULL, *ar = NULL, *buf = NULL;
	size_t		 arlen, len = 0, cap = 0, i;
	int		 multi = strchr(groups, ',') != NULL;

	*out = NULL;
	*outlen = 0;
	if (strlen(groups) >= sizeof(copy))
		return -1;
	if (multi)
		merged_multigroup_hash(groups, tag);
	else
		snprintf(tag, sizeof(tag), "%s", groups);
	strcpy(copy, groups);
	for (g = strtok_r(copy, ",", &save); g != NULL;
	    g = strtok_r(NULL, ",", &save)) {
		snprintf(path, sizeof(path), "%s/%s", shared, g);
		if (collect(path, "", multi ? g : NULL, &l) == -1)
			goto fail;
	}
	qsort(l.v, l.n, sizeof(*l.v), rel_cmp);
	cap = strlen(tag) + 64;
	if ((buf = malloc(cap)) == NULL)
		goto fail;
	len = (size_t)snprintf(buf, cap, "#%s\n", tag);
	snprintf(path, sizeof(path), "%s/" AR_CONF, shared);
	if ((ar = read_text(path, &arlen)) != NULL &&
	    append_file(&buf, &len, &cap, AR_CONF, ar, arlen) == -1)
		goto fail;
	for (i = 0; i < l.n; i++)
		if (append_file(&buf, &len, &cap, l.v[i].rel, l.v[i].data,
		    l.v[i].len) == -1)
			goto fail;
	free(ar);
	entlist_free(&l);
	*out = buf;
	*outlen = len;
	return 0;
fail:
	free(ar);
	free(buf);
	entlist_free(&l);
	return -1;
}

size_t
merged_push_steps(const struct merged_file *f)
{
	return 2 + (f->len + MERGED_CHUNK - 1) / MERGED_CHUNK;
}

size_t
merged_push_next(const struct merged_file *f, size_t *step, char *buf,
    size_t buflen)
{
	size_t	last = merged_push_steps(f) - 1, off, n;
	int	w;

	if (*step > last || buflen < MERGED_CHUNK + 64)
		return 0;
	if (*step == 0)
		w = snprintf(buf, buflen, "#!-up file %s " MERGED_NAME "\n",
		    f->md5);
	else if (*step == last)
		w = snprintf(buf, buflen, "#!-close file ");
	else {
		off = (*step - 1) * MERGED_CHUNK;
		n = f->len - off < MERGED_CHUNK ? f->len - off : MERGED_CHUNK;
		memcpy(buf, f->data + off, n);
		w = (int)n;
	}
	(*step)++;
	return (size_t)w;
}

/* One group list's merge as last read, and what its file looked like. */
struct centry {
	char			*key;
	struct merged_file	*f;
	double			 checked;
	dev_t			 dev;
	ino_t			 ino;
	off_t			 size;
	struct timespec		 mtime;
};

void
merged_cache_init(struct merged_cache *c, const char *home, double recheck)
{
	strmap_init(&c->map);
	snprintf(c->home, sizeof(c->home), "%s", home);
	c->recheck = recheck;
}

void
merged_cache_free(struct merged_cache *c)
{
	struct centry	*e;
	size_t		 it = 0;

	while ((e = strmap_next(&c->map, &it)) != NULL) {
		merged_file_unref(e->f);
		free(e->key);
		free(e);
	}
	strmap_free(&c->map);
}

struct merged_file *
merged_cache_get(struct merged_cache *c, const char *groups, double now)
{
	struct centry	*e;
	struct stat	 sb;
	char		 rel[PATH_MAX], path[PATH_MAX + 4096], *data;
	size_t		 len;

	if ((e = strmap_get(&c->map, groups)) == NULL) {
		if ((e = calloc(1, sizeof(*e))) == NULL ||
		    (e->key = strdup(groups)) == NULL ||
		    strmap_put(&c->map, e->key, e) == -1) {
			if (e != NULL)
				free(e->key);
			free(e);
			return NULL;
		}
		e->checked = now - c->recheck - 1;
	}
	if (now - e->checked < c->recheck)
		return e->f;
	e->checked = now;
	if (merged_rel_path(groups, rel, sizeof(rel)) == -1)
		return e->f;
	snprintf(path, sizeof(path), "%s/%s", c->home, rel);
	if (stat(path, &sb) == -1) {
		merged_file_unref(e->f);
		e->f = NULL;
		return NULL;
	}
	if (e->f != NULL && sb.st_dev == e->dev && sb.st_ino == e->ino &&
	    sb.st_size == e->size && sb.st_mtim.tv_sec == e->mtime.tv_sec &&
	    sb.st_mtim.tv_nsec == e->mtime.tv_nsec)
		return e->f;
	if (node_read_file(path, MERGED_MAX, &data, &len) == -1)
		return e->f;
	merged_file_unref(e->f);
	e->f = merged_file_new(data, len);
	free(data);
	e->dev = sb.st_dev;
	e->ino = sb.st_ino;
	e->size = sb.st_size;
	e->mtime = sb.st_mtim;
	return e->f;
}
