/*
 * apply: makes a received bundle live on a worker.  The temp files are
 * flushed to disk first (each one for a small round, one syncfs for a
 * large one), then each is renamed over its target
 * (mode set first), so a crash at any point leaves every file wholly old
 * or wholly new; extras are removed, folders they leave empty too, and the
 * result is flushed again.
 */
#ifndef CLUSTERD_APPLY_H
#define CLUSTERD_APPLY_H

#include <stddef.h>

#include "sync/bundle.h"

struct apply_stats {
	size_t	created;
	size_t	updated;
	size_t	deleted;
	size_t	stale;		/* changed on the master meanwhile: later */
	size_t	failed;
};

struct apply_changes {
	char	**paths;	/* relative paths changed or removed */
	size_t	  n;
};

int	apply_bundle(const char *home, struct bundle_file *, size_t n,
	    char *const *remove, size_t nremove, struct apply_stats *,
	    struct apply_changes *);
void	apply_changes_free(struct apply_changes *);
void	apply_cleanup_temps(const char *home);

#endif
