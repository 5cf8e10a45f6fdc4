/*
 * mplan: the plan of one sync round, as the master sends it to a worker,
 * and the list of files its bundle carries.
 *
 * The plan lists every file of the round (all of a large tree for a fresh
 * worker), so it is written as JSON text straight from the two indexes:
 * a cJSON tree of it would cost the master several times the text.  The
 * round's paths are the master index's own strings, not copies; the
 * caller holds a reference to that index while the bundle is sent.
 */
#ifndef CLUSTERD_MPLAN_H
#define CLUSTERD_MPLAN_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "sync/integ.h"

struct mplan {
	char		**paths;	/* files of the round, in plan order */
	mode_t		 *modes;
	size_t		  npaths;
	size_t		  ncreate;	/* of them, to create; the rest update */
	uint64_t	  bytes;	/* their sizes added up */
	int		  more;		/* files left for a later round */
	struct buf	  text;		/* the plan's JSON text */
};

int	 mplan_build(struct mplan *, const struct integ_index *master,
	    const struct integ_index *worker, const struct integ_plan *,
	    uint64_t limit, uint32_t transfer);
void	 mplan_free_text(struct mplan *);
void	 mplan_free(struct mplan *);
int	 mplan_json_string(struct buf *, const char *);

#endif
