/*
 * uplink: a node's link to the master, shared by the worker and balancer
 * roles.  It opens the link, introduces the node with a hello, keeps it
 * alive, and reconnects by itself with exponential backoff and jitter when
 * the master goes away.  What runs over the link belongs to the role: a
 * struct uplink_role, given at start (worker.c, balancer.c, and
 * mstandby.c on a standby master, which takes the files only).
 */
#ifndef CLUSTERD_UPLINK_H
#define CLUSTERD_UPLINK_H

#include <stdint.h>

#include <cjson/cJSON.h>
#include <openssl/types.h>

struct config;
struct control_client;
struct frame_hdr;
struct link;
struct node;

/* What a role runs over the uplink. */
struct uplink_role {
	const char	*name;		/* "worker", "balancer" */
	int		(*start)(struct node *);
	void		(*stop)(void);
	void		(*reconfigure)(void);		/* may be NULL */
	void		(*up)(struct link *);		/* link ready */
	void		(*down)(void);			/* link lost */
	/* A frame from the master: 1 if handled, 0 if unknown. */
	int		(*frame)(const struct frame_hdr *, const cJSON *,
			    const uint8_t *payload);
	void		(*status)(cJSON *);
	/* A control command answered locally: 1 if handled.  May be NULL. */
	int		(*control)(struct control_client *, const cJSON *req);
	/* Drain before stopping; done() once drained.  -1: stop at once.
	 * May be NULL. */
	int		(*drain)(void (*done)(void));
	/* The hello to send; NULL: hello_build()'s. */
	cJSON		*(*hello)(const struct config *, const char *version);
	/* The TLS client context; NULL: the node's (a standby master's
	 * own is a server's). */
	SSL_CTX		*(*tls)(void);
};

int		 uplink_start(struct node *, const struct uplink_role *);
void		 uplink_stop(void);
int		 uplink_drain(void (*)(void));
void		 uplink_reconfigure(void);
void		 uplink_control(struct control_client *, const cJSON *, void *);
struct link	*uplink_link(void);
void		 uplink_set_health(const char *reason);

#endif
