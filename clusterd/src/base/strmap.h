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

struct strmap {
	struct strmap_slot	*slots;
	size_t			 cap;	/* power of two, or 0 */
	size_t			 n;
};

void	 strmap_init(struct strmap *);
void	 strmap_free(struct strmap *);
void	*strmap_get(const struct strmap *, const char *key);
int	 strmap_put(struct strmap *, const char *key, void *val);
void	*strmap_del(struct strmap *, const char *key);
void	*strmap_next(const struct strmap *, size_t *iter);

#endif
