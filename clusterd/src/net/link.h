/*
 * link: the cluster link between two nodes: a TLS conn carrying frames,
 * with requests matched to responses by id and failed after a timeout.
 *
 * A link is owned by the master's peer or by the worker; ops->on_close is
 * called exactly once, and the link is freed at the next safe point.
 */
#ifndef CLUSTERD_LINK_H
#define CLUSTERD_LINK_H

#include <stdint.h>

#include <cjson/cJSON.h>
#include <ev.h>

#include "net/conn.h"
#include "net/frame.h"

struct link;
struct metrics;

#define LINK_COMPRESS_MIN	(16 * 1024)

enum link_result {
	LINK_OK = 0,		/* response received */
	LINK_REFUSED,		/* response with FRAME_F_ERROR */
	LINK_TIMEOUT,		/* no response in time */
	LINK_CLOSED		/* link closed before the response */
};

/* body: the response's JSON (NULL unless LINK_OK/LINK_REFUSED); borrowed. */
typedef void (*link_resp_cb)(struct link *, void *arg, enum link_result,
    const cJSON *body);

struct link_ops {
	void	(*on_open)(struct link *);
	/* A request or unsolicited frame; body is NULL for binary frames. */
	void	(*on_request)(struct link *, const struct frame_hdr *,
		    const cJSON *body, const uint8_t *payload);
	void	(*on_drain)(struct link *);
	void	(*on_close)(struct link *, const char *reason);
};

struct link_req;

struct link {
	struct conn		*conn;
	const struct link_ops	*ops;
	void			*arg;
	uint32_t		 next_id;
	struct link_req		*pending;
	ev_timer		 req_timer;
	double			 req_timeout;
	int			 closed;
	int			 before_hello;	/* only a small HELLO accepted */
};

struct link	*link_accept(struct ev_loop *, int fd, SSL_CTX *,
		    const struct link_ops *, void *arg, double req_timeout);
struct link	*link_connect(struct ev_loop *, const char *host,
		    unsigned port, SSL_CTX *, const struct link_ops *,
		    void *arg, double req_timeout, char *err, size_t errlen);
int		 link_request(struct link *, uint8_t type, const cJSON *body,
		    double timeout, link_resp_cb, void *arg);
int		 link_notify(struct link *, uint8_t type, const cJSON *);
int		 link_respond(struct link *, const struct frame_hdr *req,
		    int error, const cJSON *body);
int		 link_respond_error(struct link *, const struct frame_hdr *,
		    const char *reason);
int		 link_notify_text(struct link *, uint8_t type,
		    const char *json, size_t len);
int		 link_respond_text(struct link *, const struct frame_hdr *req,
		    const char *json, size_t len);
int		 link_send_frame(struct link *, uint8_t type, uint8_t flags,
		    uint32_t id, const void *payload, size_t len);
void		 link_close(struct link *, const char *reason);
void		 link_close_after_flush(struct link *);
const char	*link_peer(const struct link *);
void		 link_dead_after(struct link *, double seconds);
void		 link_expect_hello(struct link *);
void		 link_hello_done(struct link *);
int		 link_congested(const struct link *);
size_t		 link_queued(const struct link *);
void		 link_metrics(struct metrics *, void *);
void		 link_set_out_high(struct link *, size_t bytes);

#endif
