/*
 * syncset: the one table of what the master shares with every worker, and
 * the rules that decide whether a relative path belongs to it.  Both the
 * master's scan and the worker's apply go through syncset_check(), so a
 * path the master would never send is also one a worker never writes.
 */
#ifndef CLUSTERD_SYNCSET_H
#define CLUSTERD_SYNCSET_H

#include <sys/types.h>

#include <stddef.h>

#define SYNCSET_TMP_PREFIX	".clusterd-sync."	/* our temp files */
#define SYNCSET_PATH_MAX	1024

struct syncset_entry {
	const char	*path;		/* a folder, relative to the home */
	mode_t		 mode_mask;	/* bits kept from the master's mode */
};

extern const struct syncset_entry syncset_table[];
extern const size_t syncset_count;

const struct syncset_entry *syncset_check(const char *rel, char *why,
	    size_t whylen);
int	 syncset_excluded_name(const char *name);
mode_t	 syncset_mode(const struct syncset_entry *, mode_t master_mode);

#endif
