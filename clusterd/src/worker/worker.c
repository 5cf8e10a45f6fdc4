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

/*
 * A relayed enrollment.  While no master answers (none connected, or the
 * link lost with the request out) it is held, and sent again as soon as
 * a master is up, until its deadline: a planned handover of the master's
 * role, or the master restarting, refuses nobody.  A request sent again
 * after a lost link is safe: a master that stored the agent answers its
 * retry with the same key (a lost answer's retry, mreg.c).
 */
struct relay {
	struct enroll_client	*cl;
	char			 nonce[33];
	char			*line;		/* the request, to send again */
	char			 src_ip[64];
	double			 deadline;	/* then: no master, refused */
	struct relay		*next;		/* in the held list */
};

static struct relay	*held;		/* waiting for a master */
static ev_timer		 held_timer;
static int		 stopping;

static void relay_send(struct relay *);

static void
relay_end(struct relay *rl, const char *answer, const char *id,
    const char *key)
{
	enroll_answer(rl->cl, answer, id, key);
	free(rl->line);
	free(rl);
}

/* Wait for a master, or refuse once the deadline is past. */
static void
relay_hold(struct relay *rl)
{
	if (stopping || ev_now(node->loop) >= rl->deadline) {
		relay_end(rl, "ERROR: Unable to reach the master node", NULL,
		    NULL);
		return;
	}
	rl->next = held;
	held = rl;
	if (!ev_is_active(&held_timer))
		ev_timer_again(node->loop, &held_timer);
}

/* The held relays past their deadline are refused. */
static void
held_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct relay	**pp = &held, *rl;

	(void)revents;
	while ((rl = *pp) != NULL) {
		if (ev_now(loop) < rl->deadline) {
			pp = &rl->next;
			continue;
		}
		*pp = rl->next;
		relay_end(rl, "ERROR: Unable to reach the master node", NULL,
		    NULL);
	}
	if (held == NULL)
		ev_timer_stop(loop, t);
}

/* A master is up (or the worker stops): every held relay goes again. */
static void
held_resend(void)
{
	struct relay	*rl, *list = held;

	held = NULL;
	ev_timer_stop(node->loop, &held_timer);
	while ((rl = list) != NULL) {
		list = rl->next;
		relay_send(rl);
	}
}

/*
 * The master's answer to a relayed enrollment, back to the agent.  On a
 * timeout the master may still register the agent later: tell it, by the
 * request's nonce, to take the enrollment back.  A link lost before the
 * answer holds the request for the next master.
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
		relay_end(rl, ans->valuestring, cJSON_IsString(id) ?
		    id->valuestring : NULL, cJSON_IsString(key) ?
		    key->valuestring : NULL);
	else if (r == LINK_CLOSED)
		relay_hold(rl);
	else {
		if (r == LINK_TIMEOUT) {
			j = cJSON_CreateObject();
			cJSON_AddStringToObject(j, "nonce", rl->nonce);
			link_notify(l, FRAME_ENROLL_ABORT, j);
			cJSON_Delete(j);
		}
		relay_end(rl, r == LINK_TIMEOUT ? "ERROR: The master node did "
		    "not answer in time" : "ERROR: Unable to reach the master "
		    "node", NULL, NULL);
	}
}

/* Send a relay to the master, or hold it while there is none. */
static void
relay_send(struct relay *rl)
{
	struct link	*l;
	cJSON		*j;
	double		 left = rl->deadline - ev_now(node->loop);

	if (stopping || left <= 0 || (l = uplink_link()) == NULL) {
		relay_hold(rl);
		return;
	}
	j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "line", rl->line);
	cJSON_AddStringToObject(j, "src_ip", rl->src_ip);
	cJSON_AddStringToObject(j, "nonce", rl->nonce);
	if (link_request(l, FRAME_ENROLL, j, left, enroll_done, rl) == -1)
		relay_hold(rl);
	cJSON_Delete(j);
}

/*
 * Relay an enrollment to the master, waiting for one at most
 * request_timeout or 5 s: then the agent is answered that no master could
 * be reached, so it never hangs.  A worker with enrollment_password_file
 * checks the password itself, as the master does: a wrong one is answered
 * here and never crosses the cluster link.  Without the option it relays
 * the request as it came, and the master decides.
 */
static void
enroll_submit(struct enroll_client *cl, const struct enroll_req *req,
    const char *line, size_t len, const char *src_ip)
{
	struct relay	*rl;
	const char	*refusal;
	double		 timeout = node->cfg.request_timeout <
	    WORKER_ENROLL_TIMEOUT ? node->cfg.request_timeout :
	    WORKER_ENROLL_TIMEOUT;

	if (pass.password != NULL && (refusal = enroll_pass_check(&pass,
	    req)) != NULL) {
		if (enroll_log_now(src_ip, refusal + 7))
			log_info("Agents", "Refused agent '%s' from %s: %s.",
			    req->name, src_ip, refusal + 7);
		enroll_answer(cl, refusal, NULL, NULL);
		return;
	}
	if ((rl = calloc(1, sizeof(*rl))) == NULL ||
	    (rl->line = strndup(line, len)) == NULL) {
		free(rl);
		enroll_answer(cl, "ERROR: Internal manager error", NULL, NULL);
		return;
	}
	rl->cl = cl;
	snprintf(rl->src_ip, sizeof(rl->src_ip), "%s", src_ip);
	snprintf(rl->nonce, sizeof(rl->nonce), "%08lx%08lx%08lx",
	    (unsigned long)random(), (unsigned long)random(),
	    (unsigned long)random());
	rl->deadline = ev_now(node->loop) + timeout;
	relay_send(rl);
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
	stopping = 0;
	ev_init(&held_timer, held_cb);
	held_timer.repeat = 0.2;
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
	stopping = 1;
	held_resend();		/* refused now: no master to wait for */
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
	held_resend();
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
