/*
 * keysfile: etc/client.keys, Wazuh's list of agents ("ID NAME IP KEY" a
 * line), kept equal to an agent table on the master and on each worker.
 *
 * The file follows the table after a short delay, so a burst of changes
 * is one write.  New agents are appended, which costs what they are;
 * only a removal or a changed line rewrites the whole file (temp file,
 * fsync, rename).  A failed write (a full disk) is logged once while it
 * lasts and retried; the old file stays whole meanwhile.
 */
#ifndef CLUSTERD_KEYSFILE_H
#define CLUSTERD_KEYSFILE_H

#include <limits.h>
#include <stddef.h>

#include <ev.h>

#include "agent/agents.h"

#define KEYSFILE_REL	"etc/client.keys"

struct keysfile {
	struct ev_loop		*loop;
	const struct agents	*t;
	char			 path[PATH_MAX];
	char		       (*added)[AGENT_ID_MAX];	/* ids to append */
	size_t			 nadded, cap;
	int			 rewrite;	/* the whole file is due */
	double			 delay;
	ev_timer		 timer;
	unsigned long		 appends, rewrites;
	char			 failure[PATH_MAX + 64];	/* last logged */
};

/* path: the file; t: the table it mirrors; delay: seconds to gather a burst. */
void	keysfile_init(struct keysfile *, struct ev_loop *, const char *path,
	    const struct agents *t, double delay);
/* A new agent in the table (appended), or any other change (rewrite). */
void	keysfile_added(struct keysfile *, const struct agent *);
void	keysfile_changed(struct keysfile *);
/* Write what is pending now; 0, or -1 (retried later by the timer). */
int	keysfile_flush(struct keysfile *);
/* Write what is pending and stop. */
void	keysfile_stop(struct keysfile *);
/* The highest id the file at path names; 0 if none. */
long	keysfile_max_id(const char *path);
/* Whether the two agents give the same client.keys line. */
int	keysfile_same_line(const struct agent *, const struct agent *);

#endif
