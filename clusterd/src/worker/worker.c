/*
 * worker: the worker role, run over the uplink to the master.  It wires
 * the worker's services together: file sync (wsync), the agent key
 * replica (wagents), enrollment relayed to the master (enroll) and the
 * agents' port (gateway), and answers the worker's local commands.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agents.h"
#include "agent/enroll.h"
#include "agent/enroll_parse.h"
#include "agent/enroll_pass.h"
#include "agent/gateway.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/node.h"
#include "net/control.h"
#include "net/link.h"
#include "sync/wsync.h"
#include "uplink/uplink.h"
#include "worker/wagents.h"
#include "worker/wdrain.h"
#include "worker/worker.h"

#define WORKER_ENROLL_TIMEOUT	5.0	/* most an agent waits on the master */

static struct node	*node;
static struct enroll_pass pass;	/* enrollment_password_file, if set */

struct relay {
	struct enroll_client	*cl;
	char			 nonce[33];
};

/*
 * The master's answer to a relayed enrollment, back to the agent.  On a
 * timeout the master may still register the agent later: tell it, by the
 * request's nonce, to take the enrollment back.
 */
static void
enroll_done(struct link *l, void *arg, enum link_result r, const cJSON *body)
{
	struct relay	*rl = arg;
	const cJSON	*ans, *id, *key;
	cJSON		*j;

	ans = cJSON_GetObjectItemCaseSensitive(body, "answer");
	id = cJSON_GetObjectItemCaseSensitive(body, "id");
	key = cJSON_GetObjectItemCaseSensitive(body, "key");
	if (r == LINK_OK && cJSON_IsString(ans))
		enroll_answer(rl->cl, ans->valuestring, cJSON_IsString(id) ?
		    id->valuestring : NULL, cJSON_IsString(key) ?
		    key->valuestring : NULL);
	else {
		if (r == LINK_TIMEOUT) {
			j = cJSON_CreateObject();
			cJSON_AddStringToObject(j, "nonce", rl->nonce);
			link_notify(l, FRAME_ENROLL_ABORT, j);
			cJSON_Delete(j);
		}
		enroll_answer(rl->cl, r == LINK_TIMEOUT ? "ERROR: The master "
		    "node did not answer in time" : "ERROR: Unable to reach "
		    "the master node", NULL, NULL);
	}
	free(rl);
}

/*
 * Relay an enrollment to the master; with no master, answer at once so
 * the agent never hangs.  A worker with enrollment_password_file checks
 * the password itself, as the master does: a wrong one is answered here
 * and never crosses the cluster link.  Without the option it relays the
 * request as it came, and the master decides.
 */
static void
enroll_submit(struct enroll_client *cl, const struct enroll_req *req,
    const char *line, size_t len, const char *src_ip)
{
	struct relay	*rl;
	struct link	*l;
	cJSON	*j;
	char	*copy;
	const char *refusal;
	double	 timeout = node->cfg.request_timeout < WORKER_ENROLL_TIMEOUT ?
	    node->cfg.request_timeout : WORKER_ENROLL_TIMEOUT;

	if (pass.password != NULL && (refusal = enroll_pass_check(&pass,
	    req)) != NULL) {
		if (enroll_log_now(src_ip, refusal + 7))
			log_info("Agents", "Refused agent '%s' from %s: %s.",
			    req->name, src_ip, refusal + 7);
		enroll_answer(cl, refusal, NULL, NULL);
		return;
	}
	if ((l = uplink_link()) == NULL) {
		enroll_answer(cl, "ERROR: Unable to reach the master node",
		    NULL, NULL);
		return;
	}
	if ((copy = strndup(line, len)) == NULL) {
		enroll_answer(cl, "ERROR: Internal manager error", NULL, NULL);
		return;
	}
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "line", copy);
	free(copy);
	cJSON_AddStringToObject(j, "src_ip", src_ip);
	if ((rl = calloc(1, sizeof(*rl))) == NULL) {
		cJSON_Delete(j);
		enroll_answer(cl, "ERROR: Internal manager error", NULL, NULL);
		return;
	}
	rl->cl = cl;
	snprintf(rl->nonce, sizeof(rl->nonce), "%08lx%08lx%08lx",
	    (unsigned long)random(), (unsigned long)random(),
	    (unsigned long)random());
	cJSON_AddStringToObject(j, "nonce", rl->nonce);
	if (link_request(l, FRAME_ENROLL, j, timeout, enroll_done, rl) ==
	    -1) {
		free(rl);
		enroll_answer(cl, "ERROR: Unable to reach the master node",
		    NULL, NULL);
	}
	cJSON_Delete(j);
}

static void
enroll_undelivered(const char *id, const char *key)
{
	struct link	*l = uplink_link();
	cJSON		*j;

	if (l == NULL)
		return;
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "id", id);
	cJSON_AddStringToObject(j, "key", key);
	link_notify(l, FRAME_ENROLL_ABORT, j);
	cJSON_Delete(j);
}

static const struct enroll_ops worker_enroll_ops = {
	enroll_submit, enroll_undelivered
};

/* Gateway reports go to the master; kept while it is unreachable. */
static int
gateway_deliver(const cJSON *report)
{
	struct link	*l = uplink_link();

	if (l == NULL || link_congested(l))
		return -1;
	return link_notify(l, FRAME_AGENT_INFO, report);
}

static const struct gateway_ops worker_gateway_ops = {
	wagents_table, gateway_deliver, uplink_set_health
};

static const struct metrics_def M_KEYS = {
	"clusterd_agent_keys", METRICS_GAUGE,
	"Agents in this worker's replica of the master's registry."
};

/* A collector (metrics.h): the replica of agent keys. */
static void
worker_metrics(struct metrics *m, void *arg)
{
	(void)arg;
	metrics_put(m, &M_KEYS, (double)agents_count(wagents_table()), NULL);
}

static int
services_start(struct node *n)
{
	node = n;
	enroll_pass_load(&pass, n->cfg.enrollment_password_file);
	metrics_register(worker_metrics, NULL);
	if (wsync_start(n) == -1 || wagents_start(n) == -1 ||
	    enroll_start(n, &worker_enroll_ops) == -1)
		return -1;
	wagents_on_gone(gateway_agent_gone);
	if (n->cfg.gateway != 0 && gateway_start(n, &worker_gateway_ops) == -1)
		return -1;
	return 0;
}

static void
services_stop(void)
{
	metrics_unregister(worker_metrics, NULL);
	wdrain_stop();
	enroll_stop();
	enroll_pass_free(&pass);
	gateway_stop();
	wsync_stop();
	wagents_stop();
}

/* SIGHUP: the sync options, and the password file read again. */
static void
services_reconfigure(void)
{
	enroll_pass_load(&pass, node->cfg.enrollment_password_file);
	wsync_reconfigure();
}

static void
services_up(struct link *l)
{
	wsync_link_up(l);
	wagents_link_up(l);
	gateway_resend();
}

static void
services_down(void)
{
	wsync_link_down();
	wagents_link_down();
}

static int
services_frame(const struct frame_hdr *h, const cJSON *body,
    const uint8_t *payload)
{
	if (wsync_on_frame(h, body, payload) || wagents_on_frame(h, body))
		return 1;
	if (h->type != FRAME_REBALANCE)
		return 0;
	gateway_rebalance(body);
	return 1;
}

static void
services_status(cJSON *d)
{
	wsync_status(d);
	wagents_status(d);
	gateway_status(d);
}

/*
 * A drain on SIGTERM: the master leaves this worker out of rebalancing,
 * and the agents move (wdrain).  Without the agents' port there is
 * nothing to drain.
 */
static int
services_drain(void (*done)(void))
{
	struct link	*l;
	cJSON		*j;

	if (!gateway_enabled() || wdrain_start(node, done) == -1)
		return -1;
	if ((l = uplink_link()) != NULL) {
		j = cJSON_CreateObject();
		link_notify(l, FRAME_DRAIN, j);
		cJSON_Delete(j);
	}
	return 0;
}

/*
 * "drain NODE": drain and stop this worker, as SIGTERM does (named, so
 * that a socket given by mistake does not stop another node).
 */
static void
drain_command(struct control_client *cl, const cJSON *req)
{
	const cJSON	*n = cJSON_GetObjectItemCaseSensitive(req, "node");

	if (!cJSON_IsString(n) || strcmp(n->valuestring,
	    node->cfg.node_name) != 0) {
		control_reply(cl, control_error("this is %s: run --drain on the "
		    "node to drain", node->cfg.node_name));
		return;
	}
	if (wdrain_active()) {
		control_reply(cl, control_error("already draining"));
		return;
	}
	log_info("Drain", "Drain asked by %s.", control_client_who(cl));
	control_reply(cl, control_ok(NULL));
	kill(getpid(), SIGTERM);
}

/* "lb_state": the worker's own answer to agent-check; "drain". */
static int
services_control(struct control_client *cl, const cJSON *req)
{
	const cJSON	*cmd = cJSON_GetObjectItemCaseSensitive(req, "command");
	const cJSON	*st;

	if (strcmp(cmd->valuestring, "drain") == 0) {
		drain_command(cl, req);
		return 1;
	}
	if (strcmp(cmd->valuestring, "lb_state") != 0)
		return 0;
	st = cJSON_GetObjectItemCaseSensitive(req, "state");
	control_reply(cl, cJSON_IsString(st) &&
	    gateway_set_lb_state(st->valuestring) == 0 ? control_ok(NULL) :
	    control_error("state must be ready, drain or maint"));
	return 1;
}

const struct uplink_role worker_role = {
	.name = "worker",
	.start = services_start,
	.stop = services_stop,
	.reconfigure = services_reconfigure,
	.up = services_up,
	.down = services_down,
	.frame = services_frame,
	.status = services_status,
	.control = services_control,
	.drain = services_drain,
};
