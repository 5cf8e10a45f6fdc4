/*
 * strmap: a hash table from strings to pointers (open addressing, linear
 * probing, backward-shift deletion).  Keys are not copied: each key must
 * stay valid while its entry is in the map, normally because it lives in
 * the value itself (an agent's id or name).
 */
#ifndef CLUSTERD_STRMAP_H
#define CLUSTERD_STRMAP_H

#include <stddef.h>

struct strmap_slot {
	const char	*key;
	void		*val;
};

/* A value's own key, for a keyed map (strmap_init_keyed). */
typedef const char *(*strmap_keyof)(const void *val);

struct strmap {
	void			*slots;	/* strmap_slot, or values if keyof */
	size_t			 cap;	/* power of two, or 0 */
	size_t			 n;
	strmap_keyof		 keyof;
};

void	 strmap_init(struct strmap *);
/*
 * A map whose keys are found in the values themselves (keyof(val)): a
 * slot holds the value alone, half the memory (1 MB less for 50,000
 * agents in a map).  strmap_put's key must then be keyof(val), and val
 * never NULL.
 */
void	 strmap_init_keyed(struct strmap *, strmap_keyof);
void	 strmap_free(struct strmap *);
void	*strmap_get(const struct strmap *, const char *key);
int	 strmap_put(struct strmap *, const char *key, void *val);
void	*strmap_del(struct strmap *, const char *key);
void	*strmap_next(const struct strmap *, size_t *iter);

#endif
