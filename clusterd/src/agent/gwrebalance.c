/*
 * gwrebalance: a rebalancing order from the master applied to this node's
 * gateway.  Workers get it in a REBALANCE frame; the master, serving agents
 * itself (gateway yes), applies its own share the same way.
 */
#include <cjson/cJSON.h>

#include "agent/gateway.h"
#include "base/log.h"

/* A whole number in [0, 1e7] from the order, or -1. */
static double
order_count(const cJSON *body, const char *name)
{
	const cJSON	*n = cJSON_GetObjectItemCaseSensitive(body, name);

	return cJSON_IsNumber(n) && n->valuedouble >= 0 &&
	    n->valuedouble <= 1e7 ? n->valuedouble : -1;
}

/*
 * The master's rebalancing round: move "agents" of ours, and with "share"
 * send away, for "for" seconds and at most "budget" times, agents that
 * start up here while we serve "share" or more (a balancer that does not
 * weigh the nodes may bring them straight back).  "for" 0 drops the
 * share: a node left, its agents need places.
 */
void
gateway_rebalance(const cJSON *body)
{
	double		n = order_count(body, "agents");
	double		share = order_count(body, "share");
	double		secs = order_count(body, "for");
	double		budget = order_count(body, "budget");
	unsigned	done;

	if (share >= 0 && secs >= 0 && budget >= 0 && gateway_enabled())
		gateway_set_share((unsigned)share, secs, (unsigned)budget);
	if (n > 0 && (done = gateway_shed((unsigned)n)) > 0)
		log_info("Agents", "Rebalancing: asked %u agents to reconnect.",
		    done);
}
