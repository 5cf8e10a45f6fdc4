/*
 * archives: agent events as JSON lines in logs/archives/archives.json.
 * Lines are queued in memory and written every second (or every 256 KiB),
 * never fsync'd per event; archives_reopen() follows logrotate (SIGHUP).
 *
 * A write that fails (a full disk, an I/O error), a reopen that fails, or
 * a queue past ARCHIVES_QUEUE_MAX puts the archives in failure: the line
 * cut by the failed write is cut back from the file, the queued lines and
 * every event until recovery are counted as not stored, the failure is
 * logged once, and the health callback hears its reason.  A probe every
 * ARCHIVES_PROBE seconds (reopen, room left, under the file size limit, a
 * test write made durable) ends it by itself; the callback then hears
 * NULL.  A failure within ARCHIVES_RELAPSE of the last one's end doubles
 * the interval (up to ARCHIVES_RELAPSE), so a flapping disk logs little.
 */
#ifndef CLUSTERD_ARCHIVES_H
#define CLUSTERD_ARCHIVES_H

#include <stddef.h>

struct agent;
struct ev_loop;

#define ARCHIVES_REL		"logs/archives/archives.json"
#define ARCHIVES_FLUSH_AT	(256 * 1024)		/* queued, then written */
#define ARCHIVES_QUEUE_MAX	(16 * 1024 * 1024)	/* queued, then failure */
#define ARCHIVES_PROBE		2.0			/* seconds */
#define ARCHIVES_MIN_FREE	(1024 * 1024)		/* bytes, to come back */
#define ARCHIVES_RELAPSE	60.0	/* s: a failure this soon after the
					 * last doubles the probe interval */

typedef void (*archives_health_cb)(const char *reason);

int	archives_open(struct ev_loop *, const char *home, const char *node);
void	archives_on_health(archives_health_cb);
void	archives_event(const struct agent *, const char *msg, size_t len);
int	archives_reopen(void);
void	archives_close(void);
/* Events queued to be written, since start. */
unsigned long archives_count(void);
/* Events not stored: lost to a failed write, or refused while failing. */
unsigned long archives_unstored(void);
/* NULL while the archives are written, else the failure's reason. */
const char *archives_failure(void);

#endif
