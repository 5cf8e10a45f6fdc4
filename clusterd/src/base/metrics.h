/*
 * metrics: the node's counters and gauges, in Prometheus' text exposition
 * format (version 0.0.4), for the metrics endpoint (net/scrape.h) and the
 * control command "stats", which print the same text.
 *
 * A module that keeps counters registers a collector when it starts and
 * unregisters it when it stops.  A scrape runs every collector; each puts
 * the values it holds now with metrics_put(), and the text groups them by
 * metric: "# HELP" and "# TYPE" once, then one line per set of labels, in
 * the order the metrics were first put.  Nothing is kept between scrapes,
 * so a value is never older than the scrape.  Names and label names are
 * the program's constants (checked by assertion); label values may come
 * from peers and are escaped.
 */
#ifndef CLUSTERD_METRICS_H
#define CLUSTERD_METRICS_H

#include <stddef.h>

#define METRICS_COLLECTORS_MAX	32
#define METRICS_LABELS_MAX	4

enum metrics_type {
	METRICS_COUNTER,
	METRICS_GAUGE
};

/* One metric, defined once as a constant by the module that puts it. */
struct metrics_def {
	const char		*name;	/* [a-zA-Z_:][a-zA-Z0-9_:]* */
	enum metrics_type	 type;
	const char		*help;
};

struct metrics;		/* a scrape being built */

typedef void (*metrics_collector)(struct metrics *, void *arg);

int	 metrics_register(metrics_collector, void *arg);
void	 metrics_unregister(metrics_collector, void *arg);
char	*metrics_scrape(size_t *len);
/* Label name and value pairs follow the value, then NULL. */
void	 metrics_put(struct metrics *, const struct metrics_def *,
	    double value, ...) __attribute__((sentinel));

#endif
