/*
 * wsync: the receiving side of file synchronization, run over the uplink
 * by workers and by standby masters (master/mstandby.c).  On connect, when
 * the master announces a new digest, and every sync_interval, the node
 * scans its own tree and asks the master whether its digest matches; if
 * not it sends its index, receives the plan and the bundle, applies it
 * atomically and runs the reload command.
 */
#ifndef CLUSTERD_WSYNC_H
#define CLUSTERD_WSYNC_H

#include <stdint.h>

#include <cjson/cJSON.h>

struct frame_hdr;
struct link;
struct node;

int	 wsync_start(struct node *);
void	 wsync_stop(void);
void	 wsync_reconfigure(void);
void	 wsync_link_up(struct link *);
void	 wsync_link_down(void);
int	 wsync_on_frame(const struct frame_hdr *, const cJSON *,
	    const uint8_t *payload);
void	 wsync_status(cJSON *);

#endif
