/*
 * reload: runs the operator's reload command after a sync changed files,
 * so a worker applies new rules without a manual restart.  The command
 * runs through /bin/sh -c with the changed paths (relative to the home) as
 * its arguments "$@", in the home folder, never two at once: paths
 * changed while one runs are passed to the next run.
 */
#ifndef CLUSTERD_RELOAD_H
#define CLUSTERD_RELOAD_H

#include <stddef.h>

#include <ev.h>

void	reload_init(struct ev_loop *, const char *home, const char *command);
void	reload_request(char *const *paths, size_t n);
void	reload_shutdown(void);

#endif
