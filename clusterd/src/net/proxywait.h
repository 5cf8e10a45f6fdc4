/*
 * proxywait: connections from a peer that proxy_from lists (a balancer),
 * held by their listener until their PROXY header (proxyproto.h) is read.
 * Such a connection must start with a valid header: one that does not
 * (other bytes, an invalid header, a close, or nothing within
 * preauth_timeout) is closed, counted and logged at most once a minute.
 * A whole header is consumed from the socket, nothing after it, and the
 * connection goes on through the listener (listener_hand) under the
 * address the header gives, so that the service, its per-source bound
 * and its logs see the agent rather than the balancer.  The bound does
 * not apply while the header is awaited: the peer is a listed balancer,
 * which carries every agent.
 */
#ifndef CLUSTERD_PROXYWAIT_H
#define CLUSTERD_PROXYWAIT_H

#define PROXYWAIT_LOG_EVERY	60.0	/* seconds between refusal lines */

struct config;
struct listener;
struct proxywait;

struct proxywait *proxywait_new(struct listener *, const struct config *,
	    const char *port);
void	proxywait_free(struct proxywait *);
int	proxywait_listed(const struct proxywait *, const void *sockaddr);
void	proxywait_add(struct proxywait *, int fd, const char *addr);
unsigned proxywait_waiting(const struct proxywait *);
void	proxywait_counts(const struct proxywait *, unsigned long *headers,
	    unsigned long *refused);

#endif
