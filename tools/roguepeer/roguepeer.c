/*
 * roguepeer: a test tool that joins the cluster link as a hostile key
 * holder would, with the project's own TLS and link code, and tries what a
 * member must not do.  Each step prints one line, "STEP: accepted" or
 * "STEP: refused: REASON", so tests assert on what the master decided.
 *
 *   roguepeer -p PORT -k KEY -n NAME [-N HELLO_NAME] [-t TYPE] [-e]
 *             [-c CLUSTER] [STEP...]
 *
 * -n is the name the TLS identity offers, -N the one the hello gives
 * (default: the same), -t worker or balancer, -e claims to serve
 * enrollment.  Steps, in order, after the hello:
 *   alive:ID    report agent ID alive (no answer comes: check the registry)
 *   active:ID   report agent ID newly active
 *   pools       send a balancer's pool report ("taken" when no refusal
 *               comes within a second: the master answers none)
 *   enroll      relay an enrollment for agent "rogue-agent"
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <ev.h>

#include "base/reap.h"
#include "base/version.h"
#include "net/link.h"
#include "net/tls.h"

static struct {
	struct ev_loop	*loop;
	char		**steps;
	int		 nsteps, next;
	const char	*hello_name, *type, *cluster;
	int		 enrollment, rc, hello_answered;
	ev_timer	 done;
} R;

static void run_next(struct link *);

static void
stop(int rc)
{
	R.rc = rc;
	ev_break(R.loop, EVBREAK_ALL);
}

static void
answered(struct link *l, void *arg, enum link_result res, const cJSON *body)
{
	const char	*step = arg;
	const cJSON	*e = cJSON_GetObjectItemCaseSensitive(body, "error");

	if (res == LINK_OK)
		printf("%s: accepted\n", step);
	else if (res == LINK_TIMEOUT && strcmp(step, "pools") == 0)
		/* A balancer's report is taken without an answer. */
		printf("%s: taken (no answer)\n", step);
	else
		printf("%s: refused: %s\n", step, cJSON_IsString(e) ?
		    e->valuestring : res == LINK_CLOSED ? "link closed" :
		    res == LINK_TIMEOUT ? "timeout" : "error");
	fflush(stdout);
	if (strcmp(step, "hello") == 0)
		R.hello_answered = 1;
	if (res == LINK_OK && strcmp(step, "hello") == 0)
		link_hello_done(l);
	if (res != LINK_OK && strcmp(step, "hello") == 0) {
		stop(1);
		return;
	}
	if (res != LINK_CLOSED)
		run_next(l);
}

static cJSON *
report(const char *id, int alive)
{
	cJSON	*j = cJSON_CreateObject(), *u;

	if (alive) {
		cJSON_AddItemToArray(cJSON_AddArrayToObject(j, "alive"),
		    cJSON_CreateString(id));
		cJSON_AddNumberToObject(j, "at", (double)time(NULL));
		return j;
	}
	u = cJSON_CreateObject();
	cJSON_AddStringToObject(u, "id", id);
	cJSON_AddStringToObject(u, "status", "active");
	cJSON_AddNumberToObject(u, "last_keepalive", (double)time(NULL));
	cJSON_AddItemToArray(cJSON_AddArrayToObject(j, "updates"), u);
	return j;
}

/* The next step; after the last, a moment for notifications to land. */
static void
run_next(struct link *l)
{
	char	*s;
	cJSON	*j;

	if (R.next == R.nsteps) {
		ev_timer_start(R.loop, &R.done);
		return;
	}
	s = R.steps[R.next++];
	if (strncmp(s, "alive:", 6) == 0 || strncmp(s, "active:", 7) == 0) {
		j = report(strchr(s, ':') + 1, s[1] == 'l');
		link_notify(l, FRAME_AGENT_INFO, j);
		printf("%s: sent\n", s);
		cJSON_Delete(j);
		run_next(l);
		return;
	}
	j = cJSON_CreateObject();
	if (strcmp(s, "pools") == 0) {
		cJSON_AddArrayToObject(j, "servers");
		link_request(l, FRAME_POOL_REPORT, j, 1, answered, s);
	} else if (strcmp(s, "enroll") == 0) {
		cJSON_AddStringToObject(j, "line", "OSSEC A:'rogue-agent'");
		cJSON_AddStringToObject(j, "src_ip", "127.0.0.1");
		cJSON_AddStringToObject(j, "nonce", "0123456789abcdef01234567");
		link_request(l, FRAME_ENROLL, j, 5, answered, s);
	} else {
		fprintf(stderr, "roguepeer: unknown step %s\n", s);
		stop(2);
	}
	cJSON_Delete(j);
}

static void
on_open(struct link *l)
{
	cJSON	*h = cJSON_CreateObject(), *o;

	cJSON_AddStringToObject(h, "cluster_name", R.cluster);
	cJSON_AddStringToObject(h, "node_name", R.hello_name);
	cJSON_AddStringToObject(h, "node_type", R.type);
	cJSON_AddStringToObject(h, "version", CLUSTERD_VERSION);
	if (R.enrollment) {
		o = cJSON_AddObjectToObject(h, "enrollment");
		cJSON_AddStringToObject(o, "address", "127.0.0.1");
		cJSON_AddNumberToObject(o, "port", 1515);
	}
	link_request(l, FRAME_HELLO, h, 5, answered, "hello");
	cJSON_Delete(h);
}

static void
on_request(struct link *l, const struct frame_hdr *h, const cJSON *body,
    const uint8_t *payload)
{
	(void)body;
	(void)payload;
	if (h->type == FRAME_KEEPALIVE)
		link_respond(l, h, 0, NULL);
}

static void
on_drain(struct link *l)
{
	(void)l;
}

static void
on_close(struct link *l, const char *reason)
{
	(void)l;
	if (!R.hello_answered) {
		printf("handshake: refused: %s\n", reason);
		stop(1);
	} else if (!ev_is_active(&R.done))
		stop(R.rc);
}

static void
done_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	stop(0);
}

static const struct link_ops ops = { on_open, on_request, on_drain,
    on_close };

int
main(int argc, char *argv[])
{
	const char	*key = NULL, *name = NULL;
	unsigned	 port = 0;
	SSL_CTX		*ctx;
	struct link	*l;
	char		 err[256];
	int		 ch;

	R.type = "worker";
	R.cluster = "itest";
	while ((ch = getopt(argc, argv, "p:k:n:N:t:ec:")) != -1) {
		switch (ch) {
		case 'p': port = (unsigned)atoi(optarg); break;
		case 'k': key = optarg; break;
		case 'n': name = optarg; break;
		case 'N': R.hello_name = optarg; break;
		case 't': R.type = optarg; break;
		case 'e': R.enrollment = 1; break;
		case 'c': R.cluster = optarg; break;
		default: goto usage;
		}
	}
	if (port == 0 || key == NULL || name == NULL)
		goto usage;
	if (R.hello_name == NULL)
		R.hello_name = name;
	R.steps = argv + optind;
	R.nsteps = argc - optind;
	R.loop = EV_DEFAULT;
	reap_init(R.loop);
	ev_timer_init(&R.done, done_cb, 1.0, 0);
	if ((ctx = tls_ctx_new(0, key, NULL, name)) == NULL) {
		fprintf(stderr, "roguepeer: TLS: %s\n", tls_error_string());
		return 2;
	}
	l = link_connect(R.loop, "127.0.0.1", port, ctx, &ops, NULL, 5, err,
	    sizeof(err));
	if (l == NULL) {
		fprintf(stderr, "roguepeer: %s\n", err);
		return 2;
	}
	link_expect_hello(l);
	ev_run(R.loop, 0);
	reap_now();
	tls_ctx_free(ctx);
	return R.rc;
usage:
	fprintf(stderr, "usage: roguepeer -p port -k key -n name [-N hello_name]"
	    " [-t type] [-e] [-c cluster] [step...]\n");
	return 2;
}
