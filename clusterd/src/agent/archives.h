/*
 * archives: agent events as JSON lines in logs/archives/archives.json.
 * Lines are buffered and flushed every second, never fsync'd per event;
 * archives_reopen() follows logrotate (SIGHUP).
 */
#ifndef CLUSTERD_ARCHIVES_H
#define CLUSTERD_ARCHIVES_H

#include <stddef.h>

struct agent;
struct ev_loop;

#define ARCHIVES_REL	"logs/archives/archives.json"

int	archives_open(struct ev_loop *, const char *home, const char *node);
void	archives_event(const struct agent *, const char *msg, size_t len);
int	archives_reopen(void);
void	archives_close(void);
unsigned long archives_count(void);

#endif
