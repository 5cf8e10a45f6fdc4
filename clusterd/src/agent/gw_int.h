/*
 * gw_int: the state that gateway.c (the agents' connections, their
 * messages and answers) shares with gwreport.c (the reports to the master
 * and the sweep for silent agents), gwpush.c (merged.mg pushes) and
 * gwlb.c (agent-check, drains and shares).  Internal to those files;
 * other modules use gateway.h.
 */
#ifndef CLUSTERD_GW_INT_H
#define CLUSTERD_GW_INT_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include <cjson/cJSON.h>

#include "agent/agents.h"
#include "agent/framer.h"
#include "agent/gateway.h"
#include "agent/merged.h"
#include "agent/secmsg.h"
#include "base/buf.h"
#include "net/listener.h"
#include "net/preauth.h"

#define GW_TASK		"Agents"
#define GW_FORCE	"#!-force_reconnect"
/* Seconds between rounds of shared-file chunks (gwpush.c). */
#define GW_PUSH_TICK	0.1

/* a->gw_seen's bits (agents.h) */
#define GW_SERVED	0x01	/* this node's gateway served it */
#define GW_LEFT		0x02	/* its id is in G.left */

/* An agent's shared configuration, as its last keepalive showed it. */
enum gw_sync { SYNC_UNKNOWN, SYNC_YES, SYNC_NO };

struct gwconn {
	int		 fd;
	ev_io		 io;
	struct agent	*agent;
	struct secmsg_key key;		/* derived from agent's, once */
	ev_tstamp	 last_rx;
	struct framer	 in;		/* frames as they come */
	uint8_t		*out;
	uint32_t	 outlen;
	uint32_t	 outoff;
	char		 addr[46];
	enum secmsg_cipher cipher;	/* the agent's last message's: answers' */
	/* merged.mg push (shared configuration), paced by gw_push_cb */
	struct merged_file *push;	/* being sent, or NULL */
	size_t		 push_step;	/* merged_push_next()'s */
	ev_tstamp	 push_done;	/* when the last push ended */
	enum gw_sync	 sync;		/* last reported */
	struct gwconn	*push_prev, *push_next;	/* G.push_q, in order */
	struct preauth_entry pa;	/* counted until the agent is known */
	unsigned	 served:1;	/* acked: this worker serves the agent */
	unsigned	 asked:1;	/* sent #!-force_reconnect */
	struct gwconn	*prev, *next;
};

/* Reasons a connection is closed, counted and logged at most once a minute. */
enum reject {
	REJ_NO_ID, REJ_BAD, REJ_UNKNOWN, REJ_KEY, REJ_LENGTH, REJ_DUP,
	REJ_SWITCH, REJ_SLOW, REJ_PROXY, REJ_STORAGE, REJ_COUNT
};

struct gw_state {
	struct node	*node;
	struct listener	 listener;	/* agents */
	struct preauth	 pa;		/* connections with no agent yet */
	ev_timer	 flush;
	ev_timer	 sweep;
	struct gwconn	*conns;
	size_t		 nconns;
	char		(*left)[AGENT_ID_MAX];	/* gw_sweep_cb: closed here */
	size_t		 nleft, capleft;
	const struct gateway_ops *ops;
	cJSON		*updates;	/* pending status/info reports */
	unsigned	 nqueued;	/* added since the last flush */
	struct buf	 alive;		/* ids seen alive, nothing else new: "id", */
	cJSON		*counters;	/* [id, global, local] (replay.h) */
	unsigned long	 global;	/* our counter toward agents */
	struct listener	 check;		/* agent-check, if configured */
	enum gateway_lb_state lb_state;
	unsigned long	 rejected[REJ_COUNT];
	ev_tstamp	 rej_logged[REJ_COUNT];
	unsigned long	 rej_quiet[REJ_COUNT];
	unsigned long	 messages, events;
	struct merged_cache merged;	/* each group list's merged.mg */
	ev_timer	 push_timer;
	struct gwconn	*push_q, *push_tail;	/* pushes under way, FIFO */
	double		 push_budget;	/* bytes this tick may still send */
	unsigned long	 pushes, pushed_bytes;
	size_t		 nserved;	/* connections with served set */
	int		 draining;	/* every agent asked to leave */
	unsigned	 cap;		/* the master's share for this node */
	ev_tstamp	 cap_until;	/* ... valid until then */
	unsigned	 bounces_left;	/* arrivals over cap sent away, at most */
	unsigned long	 bounced;
};

extern struct gw_state gw_state;
#define G	gw_state

/* gateway.c: a connection closed, or refused (and closed); a message
 * sealed for the agent and sent. */
void	gw_close(struct gwconn *);
void	gw_reject(struct gwconn *, enum reject, const char *);
int	gw_send_sealed(struct gwconn *, const char *, size_t);
int	gw_send_control(struct gwconn *, const char *);

/* gwreport.c: reports to the master and the sweep. */
void	gw_queued(void);
void	gw_alive(const struct agent *);
void	gw_alive_drop(const struct agent *);
void	gw_left_add(struct agent *);
void	gw_note_counters(const struct agent *);
void	gw_report(struct agent *, cJSON *);
void	gw_set_status(struct agent *, const char *);
void	gw_flush_cb(struct ev_loop *, ev_timer *, int);
void	gw_sweep_cb(struct ev_loop *, ev_timer *, int);

/* gwpush.c: merged.mg pushes. */
void	gw_push_cancel(struct gwconn *);
int	gw_shared_check(struct gwconn *, struct agent *, const char *);
void	gw_push_cb(struct ev_loop *, ev_timer *, int);

/* gwlb.c: agent-check and the agents sent away. */
int	gw_bounce(struct gwconn *);
void	gw_check_cb(struct listener *, int, const char *, void *);

#endif
