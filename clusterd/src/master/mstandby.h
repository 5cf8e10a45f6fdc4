/*
 * mstandby: a standby master follows the active master's files (docs/ha.md).
 * While a master-eligible node is a standby it joins the active master
 * over the cluster link as a worker would, under its own name and with
 * its own credential, says in its hello that it is a standby, and runs the
 * receiving end of file synchronization (sync/wsync.c) and nothing else:
 * rules, decoders, lists, etc/shared and etc/multigroups stay equal to the
 * active master's, so that once elected it serves what the old master
 * served.  It finds the active master in master_address (the
 * master-eligible nodes), checks the term of the master's hello as workers
 * do, and stops following the moment it is elected, before the master
 * role starts.
 */
#ifndef CLUSTERD_MSTANDBY_H
#define CLUSTERD_MSTANDBY_H

#include <cjson/cJSON.h>

struct control_client;
struct node;

/* Follow the active master's files, if master_address lists it. */
void	 mstandby_start(struct node *);
/* Stop following (elected, or stopping); nothing once stopped. */
void	 mstandby_stop(void);
/* SIGHUP: sync options, timers, and the cluster key. */
void	 mstandby_reconfigure(void);
/* The control socket of a master-eligible node: ha_control(), and on a
 * standby that follows, "status" (its link and its files). */
void	 mstandby_control(struct control_client *, const cJSON *req,
	    void *arg);

#endif
