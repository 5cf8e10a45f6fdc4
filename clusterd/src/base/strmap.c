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
strmap_free(struct strmap *m)
{
	free(m->slots);
	strmap_init(m);
}

static size_t
find(const struct strmap *m, const char *key)
{
	size_t	i = (size_t)hash(key) & (m->cap - 1);

	while (m->slots[i].key != NULL && strcmp(m->slots[i].key, key) != 0)
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
	return m->slots[i].key != NULL ? m->slots[i].val : NULL;
}

static int
grow(struct strmap *m)
{
	struct strmap	 old = *m;
	size_t		 i, k;

	m->cap = old.cap ? old.cap * 2 : 64;
	if ((m->slots = calloc(m->cap, sizeof(*m->slots))) == NULL) {
		*m = old;
		return -1;
	}
	for (i = 0; i < old.cap; i++) {
		if (old.slots[i].key == NULL)
			continue;
		k = find(m, old.slots[i].key);
		m->slots[k] = old.slots[i];
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
	if (m->slots[i].key == NULL)
		m->n++;
	m->slots[i].key = key;
	m->slots[i].val = val;
	return 0;
}

/* Remove key; returns its value, or NULL if absent. */
void *
strmap_del(struct strmap *m, const char *key)
{
	size_t	 i, j, home;
	void	*val;

	if (m->cap == 0)
		return NULL;
	i = find(m, key);
	if (m->slots[i].key == NULL)
		return NULL;
	val = m->slots[i].val;
	m->slots[i].key = NULL;
	m->n--;
	/* Shift back the entries of the probe run so lookups still find them. */
	for (j = (i + 1) & (m->cap - 1); m->slots[j].key != NULL;
	    j = (j + 1) & (m->cap - 1)) {
		home = (size_t)hash(m->slots[j].key) & (m->cap - 1);
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && (home <= i && home > j))) {
			m->slots[i] = m->slots[j];
			m->slots[j].key = NULL;
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

		if (m->slots[i].key != NULL)
			return m->slots[i].val;
	}
	return NULL;
}
