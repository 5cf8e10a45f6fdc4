#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/strmap.h"

static uint64_t
hash(const char *s)
{
	uint64_t	h = 1469598103934665603ull;	/* FNV-1a */

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ull;
	}
	return h;
}

void
strmap_init(struct strmap *m)
{
	memset(m, 0, sizeof(*m));
}

void
strmap_init_keyed(struct strmap *m, strmap_keyof keyof)
{
	strmap_init(m);
	m->keyof = keyof;
}

void
strmap_free(struct strmap *m)
{
	strmap_keyof	keyof = m->keyof;

	free(m->slots);
	strmap_init(m);
	m->keyof = keyof;
}

/* Slot i's key (NULL: empty), value, and both set (key NULL: empty). */
static const char *
key_at(const struct strmap *m, size_t i)
{
	void	*v;

	if (m->keyof == NULL)
		return ((struct strmap_slot *)m->slots)[i].key;
	v = ((void **)m->slots)[i];
	return v != NULL ? m->keyof(v) : NULL;
}

static void *
val_at(const struct strmap *m, size_t i)
{
	if (m->keyof == NULL)
		return ((struct strmap_slot *)m->slots)[i].val;
	return ((void **)m->slots)[i];
}

static void
set_at(struct strmap *m, size_t i, const char *key, void *val)
{
	struct strmap_slot	*s;

	if (m->keyof != NULL) {
		((void **)m->slots)[i] = key != NULL ? val : NULL;
		return;
	}
	s = &((struct strmap_slot *)m->slots)[i];
	s->key = key;
	s->val = key != NULL ? val : NULL;
}

static size_t
find(const struct strmap *m, const char *key)
{
	size_t		 i = (size_t)hash(key) & (m->cap - 1);
	const char	*k;

	while ((k = key_at(m, i)) != NULL && strcmp(k, key) != 0)
		i = (i + 1) & (m->cap - 1);
	return i;
}

void *
strmap_get(const struct strmap *m, const char *key)
{
	size_t	i;

	if (m->cap == 0)
		return NULL;
	i = find(m, key);
	return key_at(m, i) != NULL ? val_at(m, i) : NULL;
}

static int
grow(struct strmap *m)
{
	struct strmap	 old = *m;
	size_t		 i, k;
	const char	*key;

	m->cap = old.cap ? old.cap * 2 : 64;
	if ((m->slots = calloc(m->cap, m->keyof != NULL ? sizeof(void *) :
	    sizeof(struct strmap_slot))) == NULL) {
		*m = old;
		return -1;
	}
	for (i = 0; i < old.cap; i++) {
		if ((key = key_at(&old, i)) == NULL)
			continue;
		k = find(m, key);
		set_at(m, k, key, val_at(&old, i));
	}
	free(old.slots);
	return 0;
}

/* Insert or replace.  Returns 0, or -1 when out of memory. */
int
strmap_put(struct strmap *m, const char *key, void *val)
{
	size_t	i;

	/* Grow past 80% full: linear probing stays short (about 3 probes
	 * to find a key there), and 50,000 agents fit in 65,536 slots. */
	if ((m->n + 1) * 10 >= m->cap * 8 && grow(m) == -1)
		return -1;
	i = find(m, key);
	if (key_at(m, i) == NULL)
		m->n++;
	set_at(m, i, key, val);
	return 0;
}

/* Remove key; returns its value, or NULL if absent. */
void *
strmap_del(struct strmap *m, const char *key)
{
	size_t		 i, j, home;
	void		*val;
	const char	*k;

	if (m->cap == 0)
		return NULL;
	i = find(m, key);
	if (key_at(m, i) == NULL)
		return NULL;
	val = val_at(m, i);
	set_at(m, i, NULL, NULL);
	m->n--;
	/* Shift back the entries of the probe run so lookups still find them. */
	for (j = (i + 1) & (m->cap - 1); (k = key_at(m, j)) != NULL;
	    j = (j + 1) & (m->cap - 1)) {
		home = (size_t)hash(k) & (m->cap - 1);
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && (home <= i && home > j))) {
			set_at(m, i, k, val_at(m, j));
			set_at(m, j, NULL, NULL);
			i = j;
		}
	}
	return val;
}

/* Iterate: start with *iter = 0; NULL at the end.  No changes meanwhile. */
void *
strmap_next(const struct strmap *m, size_t *iter)
{
	while (*iter < m->cap) {
		size_t i = (*iter)++;

		if (key_at(m, i) != NULL)
			return val_at(m, i);
	}
	return NULL;
}
