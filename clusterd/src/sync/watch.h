/*
 * watch: notices changes under the synchronized folders through inotify
 * and calls back once per burst: the first event arms a timer of `debounce`
 * seconds, and events until it fires ride along.  Folders are added as
 * scans discover them; the kernel drops watches of deleted folders.
 */
#ifndef CLUSTERD_WATCH_H
#define CLUSTERD_WATCH_H

#include <stddef.h>

#include <ev.h>

struct watch;

struct watch	*watch_new(struct ev_loop *, const char *home, double debounce,
		    void (*cb)(void *), void *arg);
size_t		 watch_dirs(struct watch *, char *const *rel, size_t n);
void		 watch_set_debounce(struct watch *, double);
void		 watch_free(struct watch *);

#endif
