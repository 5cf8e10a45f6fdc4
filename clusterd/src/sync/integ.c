#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "sync/integ.h"
#include "sync/syncset.h"

#define STRBLOCK_SIZE	(64 * 1024)

/* Strings of an index (paths, folders): a few large blocks, not one
 * allocation per path; freed with the index. */
struct integ_strblock {
	struct integ_strblock	*next;
	size_t			 used;
	size_t			 cap;
	char			 data[];
};

/* A new empty index with one reference, or NULL. */
struct integ_index *
integ_new(void)
{
	struct integ_index	*x;

	if ((x = calloc(1, sizeof(*x))) != NULL)
		x->refs = 1;
	return x;
}

/*
 * Make the empty index x describe what same describes, sharing its files,
 * order, folders and strings with it: an unchanged scan's result costs no
 * copy.  The arrays belong to the index that built them (base), which x
 * keeps alive; an index sharing another's shares that one's base, so no
 * chain grows.
 */
void
integ_share(struct integ_index *x, const struct integ_index *same)
{
	x->base = integ_ref(same->base != NULL ? same->base :
	    (struct integ_index *)(uintptr_t)same);
	x->files = same->files;
	x->nfiles = same->nfiles;
	x->order = same->order;
	x->dirs = same->dirs;
	x->ndirs = same->ndirs;
	memcpy(x->digest, same->digest, sizeof(x->digest));
}

/*
 * A copy of s (len bytes) that lives as long as the index: an index holds
 * thousands of short paths, and one malloc each would cost a scan more
 * than the stat calls it makes.
 */
char *
integ_strdup(struct integ_index *x, const char *s, size_t len)
{
	struct integ_strblock	*b = x->strings;
	size_t			 cap;
	char			*p;

	if (b == NULL || b->cap - b->used < len + 1) {
		cap = len + 1 > STRBLOCK_SIZE ? len + 1 : STRBLOCK_SIZE;
		if ((b = malloc(sizeof(*b) + cap)) == NULL)
			return NULL;
		b->next = x->strings;
		b->used = 0;
		b->cap = cap;
		x->strings = b;
	}
	p = b->data + b->used;
	memcpy(p, s, len);
	p[len] = '\0';
	b->used += len + 1;
	return p;
}

int
integ_cmp_file(const void *a, const void *b)
{
	return strcmp(((const struct integ_file *)a)->path,
	    ((const struct integ_file *)b)->path);
}

struct integ_index *
integ_ref(struct integ_index *x)
{
	__atomic_add_fetch(&x->refs, 1, __ATOMIC_ACQ_REL);
	return x;
}

void
integ_unref(struct integ_index *x)
{
	struct integ_strblock	*b;

	if (x == NULL || __atomic_sub_fetch(&x->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	if (x->base != NULL) {
		integ_unref(x->base);
		free(x);
		return;
	}
	while ((b = x->strings) != NULL) {
		x->strings = b->next;
		free(b);
	}
	free(x->files);
	free(x->order);
	free(x->dirs);
	free(x);
}

const struct integ_file *
integ_find(const struct integ_index *x, const char *path)
{
	struct integ_file	key;

	if (x->nfiles == 0)
		return NULL;
	key.path = (char *)(uintptr_t)path;
	return bsearch(&key, x->files, x->nfiles, sizeof(key), integ_cmp_file);
}

/*
 * The tree digest: MD5 over "path NUL md5hex mode LF" in path order (mode
 * in octal).  Each file's bytes go in one update, built by hand: the
 * digest of a large tree is computed on every scan that changed it.
 */
void
integ_digest(struct integ_index *x)
{
	EVP_MD_CTX	*ctx;
	char		 rec[SYNCSET_PATH_MAX + 64], oct[8];
	const struct integ_file *f;
	unsigned	 len, mode;
	size_t		 i, n, k;

	memset(x->digest, 0, sizeof(x->digest));
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return;
	EVP_DigestInit_ex(ctx, EVP_md5(), NULL);
	for (i = 0; i < x->nfiles; i++) {
		f = &x->files[i];
		n = strlen(f->path);
		if (n >= SYNCSET_PATH_MAX) {	/* never from a scan or JSON */
			EVP_DigestUpdate(ctx, f->path, n);
			n = 0;
		} else
			memcpy(rec, f->path, n);
		rec[n++] = '\0';
		integ_hex(f->md5, rec + n);
		n += 32;
		rec[n++] = ' ';
		mode = (unsigned)f->mode;
		k = sizeof(oct);
		do
			oct[--k] = (char)('0' + (mode & 7));
		while ((mode >>= 3) != 0);
		memcpy(rec + n, oct + k, sizeof(oct) - k);
		n += sizeof(oct) - k;
		rec[n++] = '\n';
		EVP_DigestUpdate(ctx, rec, n);
	}
	EVP_DigestFinal_ex(ctx, x->digest, &len);
	EVP_MD_CTX_free(ctx);
}

void
integ_hex(const uint8_t md5[16], char out[33])
{
	static const char	d[] = "0123456789abcdef";
	int			i;

	for (i = 0; i < 16; i++) {
		out[2 * i] = d[md5[i] >> 4];
		out[2 * i + 1] = d[md5[i] & 15];
	}
	out[32] = '\0';
}

int
integ_unhex(const char *hex, uint8_t md5[16])
{
	int	i, hi, lo;

	if (strlen(hex) != 32)
		return -1;
	for (i = 0; i < 16; i++) {
		hi = hex[2 * i];
		lo = hex[2 * i + 1];
#define NIB(c) ((c) >= '0' && (c) <= '9' ? (c) - '0' : \
	(c) >= 'a' && (c) <= 'f' ? (c) - 'a' + 10 : -1)
		if (NIB(hi) < 0 || NIB(lo) < 0)
			return -1;
		md5[i] = (uint8_t)(NIB(hi) << 4 | NIB(lo));
#undef NIB
	}
	return 0;
}

/* {"digest":"hex","files":[["path","md5hex",mode],...]} */
cJSON *
integ_to_json(const struct integ_index *x)
{
	cJSON	*j, *arr, *f;
	char	 hex[33];
	size_t	 i;

	if ((j = cJSON_CreateObject()) == NULL)
		return NULL;
	integ_hex(x->digest, hex);
	cJSON_AddStringToObject(j, "digest", hex);
	if ((arr = cJSON_AddArrayToObject(j, "files")) == NULL)
		goto fail;
	for (i = 0; i < x->nfiles; i++) {
		integ_hex(x->files[i].md5, hex);
		if ((f = cJSON_CreateArray()) == NULL)
			goto fail;
		cJSON_AddItemToArray(arr, f);
		cJSON_AddItemToArray(f, cJSON_CreateString(x->files[i].path));
		cJSON_AddItemToArray(f, cJSON_CreateString(hex));
		cJSON_AddItemToArray(f, cJSON_CreateNumber(x->files[i].mode));
	}
	return j;
fail:
	cJSON_Delete(j);
	return NULL;
}

/*
 * Rebuild an index from its JSON form, as received from a peer: every path
 * must belong to the set, be unique, and every MD5 and mode be well formed.
 */
struct integ_index *
integ_from_json(const cJSON *j, char *err, size_t errlen)
{
	struct integ_index	*x;
	const cJSON		*arr, *f, *p, *m, *mode;
	char			 why[64];
	size_t			 n, i;

	arr = cJSON_GetObjectItemCaseSensitive(j, "files");
	if (!cJSON_IsArray(arr)) {
		snprintf(err, errlen, "index without a files array");
		return NULL;
	}
	n = (size_t)cJSON_GetArraySize(arr);
	if ((x = integ_new()) == NULL ||
	    (n > 0 && (x->files = calloc(n, sizeof(*x->files))) == NULL)) {
		integ_unref(x);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	cJSON_ArrayForEach(f, arr) {
		struct integ_file *e = &x->files[x->nfiles];

		p = cJSON_GetArrayItem(f, 0);
		m = cJSON_GetArrayItem(f, 1);
		mode = cJSON_GetArrayItem(f, 2);
		if (!cJSON_IsArray(f) || cJSON_GetArraySize(f) != 3 ||
		    !cJSON_IsString(p) || !cJSON_IsString(m) ||
		    !cJSON_IsNumber(mode) || mode->valuedouble < 0 ||
		    mode->valuedouble > 07777 ||
		    mode->valuedouble != (double)mode->valueint ||
		    integ_unhex(m->valuestring, e->md5) == -1) {
			snprintf(err, errlen, "malformed index entry %zu",
			    x->nfiles);
			goto fail;
		}
		if (syncset_check(p->valuestring, why, sizeof(why)) == NULL) {
			snprintf(err, errlen, "index entry \"%.200s\": %s",
			    p->valuestring, why);
			goto fail;
		}
		if ((e->path = integ_strdup(x, p->valuestring,
		    strlen(p->valuestring))) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		e->mode = (mode_t)mode->valueint;
		x->nfiles++;
	}
	if (x->nfiles > 1)
		qsort(x->files, x->nfiles, sizeof(*x->files),
		    integ_cmp_file);
	for (i = 1; i < x->nfiles; i++) {
		if (strcmp(x->files[i - 1].path, x->files[i].path) == 0) {
			snprintf(err, errlen, "duplicate index entry \"%.200s\"",
			    x->files[i].path);
			goto fail;
		}
	}
	integ_digest(x);
	return x;
fail:
	integ_unref(x);
	return NULL;
}

static int
push(size_t **arr, size_t *n, size_t v)
{
	size_t	*p;

	if ((*n & (*n - 1)) == 0) {	/* grow at powers of two */
		if ((p = realloc(*arr, (*n ? *n * 2 : 1) * sizeof(*p))) ==
		    NULL)
			return -1;
		*arr = p;
	}
	(*arr)[(*n)++] = v;
	return 0;
}

/*
 * Classify: a master file absent on the worker is to create, one whose MD5
 * or mode differs to update, a worker file absent on the master to remove.
 * Both indexes are sorted, so one merge pass does it.
 */
int
integ_diff(const struct integ_index *m, const struct integ_index *w,
    struct integ_plan *plan)
{
	size_t	i = 0, k = 0;
	int	c, rv = 0;

	memset(plan, 0, sizeof(*plan));
	while (rv == 0 && (i < m->nfiles || k < w->nfiles)) {
		if (i == m->nfiles)
			c = 1;
		else if (k == w->nfiles)
			c = -1;
		else
			c = strcmp(m->files[i].path, w->files[k].path);
		if (c < 0)
			rv = push(&plan->create, &plan->ncreate, i++);
		else if (c > 0)
			rv = push(&plan->remove, &plan->nremove, k++);
		else {
			if (memcmp(m->files[i].md5, w->files[k].md5, 16) != 0 ||
			    m->files[i].mode != w->files[k].mode)
				rv = push(&plan->update, &plan->nupdate, i);
			i++;
			k++;
		}
	}
	if (rv == -1)
		integ_plan_free(plan);
	return rv;
}

void
integ_plan_free(struct integ_plan *plan)
{
	free(plan->create);
	free(plan->update);
	free(plan->remove);
	memset(plan, 0, sizeof(*plan));
}
