/*
 * scrape: the metrics endpoint (metrics_listen in clusterd.conf).
 * Prometheus asks GET /metrics over plain HTTP/1.x and gets the node's
 * metrics (base/metrics.h) as text; any other request gets its error
 * status (http.h).  One request per connection: answered, then closed.
 *
 * Bounded like every service: the listener's accept path; connections
 * without a whole request counted per address (preauth_per_source) and
 * closed after preauth_timeout; a request head of at most HTTP_HEAD_MAX
 * bytes; SCRAPE_CONNS_MAX connections at once, further ones closed at
 * accept; SCRAPE_ANSWER_TIMEOUT for the client to take its answer.
 */
#ifndef CLUSTERD_SCRAPE_H
#define CLUSTERD_SCRAPE_H

#define SCRAPE_PATH		"/metrics"
#define SCRAPE_CONNS_MAX	16
#define SCRAPE_ANSWER_TIMEOUT	10.0	/* seconds, once the request is read */
#define SCRAPE_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

struct node;

int	scrape_start(struct node *);
void	scrape_stop(void);

#endif
