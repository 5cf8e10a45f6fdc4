/*
 * enroll: the enrollment service (TCP 1515, TLS) every node runs.  It reads
 * one request line per connection, parses it (enroll_parse.h) and hands it
 * to the role: the master decides, a worker forwards to the master.  The
 * answer goes back when the role gives it; if it cannot be delivered (the
 * agent went away first, or the connection broke while sending) the role
 * is told, so the master can take the enrollment back.
 */
#ifndef CLUSTERD_ENROLL_H
#define CLUSTERD_ENROLL_H

#include <stddef.h>

struct enroll_req;
struct node;

#define ENROLL_IDLE_TIMEOUT	30.0	/* seconds for the answer, once the
					   request is read (before it:
					   preauth_timeout) */
#define ENROLL_CERT_REL		"etc/sslmanager.cert"
#define ENROLL_KEY_REL		"etc/sslmanager.key"

struct enroll_client;

struct enroll_ops {
	/* A parsed request (and its line, to forward); answer later with
	 * enroll_answer(). */
	void	(*submit)(struct enroll_client *, const struct enroll_req *,
		    const char *line, size_t len, const char *src_ip);
	/* An answer with a key never reached its agent. */
	void	(*undelivered)(const char *id, const char *key);
};

int	enroll_start(struct node *, const struct enroll_ops *);
void	enroll_stop(void);
void	enroll_quiesce(void);
unsigned enroll_clients(void);
int	enroll_log_now(const char *src, const char *why);
void	enroll_answer(struct enroll_client *, const char *answer,
	    const char *id, const char *key);
int	enroll_make_cert(const char *cert, const char *key, char *err,
	    size_t errlen);

#endif
