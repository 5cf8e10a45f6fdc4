/*
 * conn: one non-blocking stream socket, plain or TLS, driven by libev.
 *
 * A conn reads into `in` and hands it to ops->on_data, which consumes what
 * it can; it writes `out` as the socket accepts it.  Back-pressure: while
 * `out` holds more than out_high bytes (CONN_OUT_HIGH unless the owner set
 * less) producers should stop, as conn_congested() says, and
 * ops->on_drain tells them when to go on, once `out` is down to half of
 * out_high.  While `out` holds more than CONN_OUT_HIGH the conn also stops
 * reading (its peer stops being able to make us produce more); a producer
 * held below that by a smaller out_high never stops the conn from reading
 * its peer's keepalives.  Past CONN_OUT_LIMIT the peer is too slow and is
 * dropped.  Input is bounded by
 * in_limit.  A closed conn stays valid until the loop's next safe point
 * (see reap.h), so callbacks may close it and still return through it.
 * With half_close set by its owner, a plain conn whose peer shuts down its
 * sending side stays open for the answer: eof is set, on_data is called
 * once more, and the owner closes when it has answered.
 */
#ifndef CLUSTERD_CONN_H
#define CLUSTERD_CONN_H

#include <stddef.h>

#include <ev.h>
#include <openssl/ssl.h>

#include "base/buf.h"

#define CONN_OUT_HIGH	(4u * 1024 * 1024)
#define CONN_OUT_LIMIT	(64u * 1024 * 1024)

struct conn;

struct conn_ops {
	void	(*on_open)(struct conn *);	/* connected, TLS up */
	void	(*on_data)(struct conn *);	/* consume from c->in */
	void	(*on_drain)(struct conn *);	/* out fell below the mark */
	void	(*on_close)(struct conn *, const char *reason);
};

enum conn_state {
	CONN_CONNECTING,
	CONN_HANDSHAKE,
	CONN_OPEN,
	CONN_CLOSING,	/* flushing, then close */
	CONN_CLOSED
};

struct conn {
	struct ev_loop		*loop;
	int			 fd;
	SSL			*ssl;
	ev_io			 rio;
	ev_io			 wio;
	struct buf		 in;
	struct buf		 out;
	size_t			 in_limit;
	size_t			 out_high;	/* congested above this */
	size_t			 read_chunk;	/* bytes reserved per read */
	enum conn_state		 state;
	int			 congested;	/* out over out_high */
	int			 out_full;	/* out over CONN_OUT_HIGH */
	int			 half_close;	/* peer's EOF ends input only */
	int			 eof;		/* the peer half-closed */
	int			 failed;	/* closed by an I/O failure */
	const struct conn_ops	*ops;
	void			*arg;
	char			 peer[64];	/* "address" for logs */
	char			 reason[160];	/* why it closed */
};

struct conn	*conn_new(struct ev_loop *, int fd, SSL_CTX *, int server,
		    int connecting, const struct conn_ops *, void *arg);
int		 conn_connect(struct ev_loop *, const char *host, unsigned port,
		    SSL_CTX *, const struct conn_ops *, void *arg,
		    struct conn **out, char *err, size_t errlen);
int		 conn_write(struct conn *, const void *, size_t);
int		 conn_congested(const struct conn *);
void		 conn_close(struct conn *, const char *reason);
void		 conn_close_after_flush(struct conn *);
int		 conn_set_nonblock(int fd);
void		 conn_dead_after(int fd, double seconds);
void		 conn_addr_string(const void *sa, char *out, size_t outlen);

#endif
