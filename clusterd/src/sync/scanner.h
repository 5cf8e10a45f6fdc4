/*
 * scanner: runs integ_scan() on a thread of its own so that hashing a large
 * tree never stalls the event loop.  Requests made while a scan runs are
 * coalesced into one more scan.  Results arrive on the loop through an
 * ev_async, as a new reference the callback owns.
 */
#ifndef CLUSTERD_SCANNER_H
#define CLUSTERD_SCANNER_H

#include <ev.h>

#include "sync/integ.h"

struct scanner;

/* gen: the value scanner_request() returned for the newest request the
 * scan covers; results older than a caller's request can be told apart. */
typedef void (*scanner_cb)(struct integ_index *, unsigned gen, void *arg);

/* seed (may be NULL): an index of the same tree, the first scan's cache. */
struct scanner	*scanner_new(struct ev_loop *, const char *home,
		    struct integ_index *seed, scanner_cb, void *arg);
unsigned	 scanner_request(struct scanner *);
void		 scanner_free(struct scanner *);

#endif
