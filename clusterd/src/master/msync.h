/*
 * msync: the master's side of file synchronization.  Keeps the current
 * integrity index of the master's tree (local integrity: a scan at start,
 * then on inotify bursts and every sync_interval), tells workers when its
 * digest changes, answers their integrity checks with a plan, and streams
 * the bundle of files each plan needs with back-pressure.
 */
#ifndef CLUSTERD_MSYNC_H
#define CLUSTERD_MSYNC_H

#include <cjson/cJSON.h>

struct frame_hdr;
struct link;
struct metrics;
struct node;

struct msync_peer;

int	 msync_start(struct node *);
void	 msync_stop(void);
void	 msync_reconfigure(void);
void	 msync_rescan(void);
struct msync_peer *msync_peer_new(struct link *, const char *ctx);
void	 msync_peer_free(struct msync_peer *);
void	 msync_peer_ready(struct msync_peer *);
int	 msync_on_request(struct msync_peer *, const struct frame_hdr *,
	    const cJSON *);
void	 msync_on_drain(struct msync_peer *);
void	 msync_peer_health(const struct msync_peer *, cJSON *node);
void	 msync_health(cJSON *master);
double	 msync_peer_lag(const struct msync_peer *);
void	 msync_peer_metrics(const struct msync_peer *, struct metrics *,
	    const char *peer);

#endif
