/*
 * roguepeer: a test tool that joins the cluster link as a hostile key
 * holder would, with the project's own TLS and link code, and tries what a
 * member must not do.  Each step prints one line, "STEP: accepted" or
 * "STEP: refused: REASON", so tests assert on what the master decided.
 *
 *   roguepeer -p PORT -k KEY -n NAME [-N HELLO_NAME] [-t TYPE] [-e] [-s]
 *             [-c CLUSTER] [STEP...]
 *
 * -n is the name the TLS identity offers, -N the one the hello gives
 * (default: the same), -t worker, balancer or master, -e claims to serve
 * enrollment, -s says "standby" (a standby master's hello).  Steps, in order, after the hello:
 *   alive:ID    report agent ID alive (no answer comes: check the registry)
 *   active:ID   report agent ID newly active
 *   pools       send a balancer's pool report ("taken" when no refusal
 *               comes within a second: the master answers none)
 *   enroll      relay an enrollment for agent "rogue-agent"
 *
 *   roguepeer -M -p PORT -k KEY -T TERM[,TERM...] -W COUNT [-c CLUSTER]
 *
 * poses as a master instead (docs/ha.md, fencing): it listens on
 * 127.0.0.1:PORT and answers the i-th hello of each node with the i-th
 * term (the last one again after that).  For each it prints "NAME term T:
 * kept" when the node sends a request after the hello (it took us as its
 * master; we then close, so that it comes back, but keep the last term's
 * link), or "NAME term T: dropped" when it closes without one (it refused
 * us).  It exits 0 once COUNT nodes have been through every term, 1 after
 * 30 s.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <ev.h>

#include "base/reap.h"
#include "base/version.h"
#include "net/link.h"
#include "net/listener.h"
#include "net/tls.h"

#define TERMS_MAX	16
#define NODES_MAX	16

static struct {
	struct ev_loop	*loop;
	char		**steps;
	int		 nsteps, next;
	const char	*hello_name, *type, *cluster;
	int		 enrollment, standby, rc, hello_answered;
	ev_timer	 done;
	/* -M: posing as a master */
	SSL_CTX		*ctx;
	long long	 terms[TERMS_MAX];
	int		 nterms, want_nodes;
	struct {
		char	name[65];
		int	seen;		/* hellos answered */
	}		 nodes[NODES_MAX];
	int		 nnodes;
} R;

/* One node's connection to the posing master. */
struct rconn {
	int		 node;		/* index in R.nodes, -1 before hello */
	long long	 term;
	int		 decided;	/* kept or dropped printed */
};

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
	if (R.standby)
		cJSON_AddBoolToObject(h, "standby", 1);
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
	stop(R.want_nodes > 0 ? 1 : 0);	/* -M: out of time */
}

static const struct link_ops ops = { on_open, on_request, on_drain,
    on_close };

/* -M: every node has been through every term. */
static int
all_done(void)
{
	int	i;

	if (R.nnodes < R.want_nodes)
		return 0;
	for (i = 0; i < R.nnodes; i++)
		if (R.nodes[i].seen < R.nterms)
			return 0;
	return 1;
}

static void
decide(struct rconn *c, const char *what)
{
	if (c->node < 0 || c->decided)
		return;
	c->decided = 1;
	printf("%s term %lld: %s\n", R.nodes[c->node].name, c->term, what);
	fflush(stdout);
	if (all_done())
		stop(0);
}

static int
node_index(const char *name)
{
	int	i;

	for (i = 0; i < R.nnodes; i++)
		if (strcmp(R.nodes[i].name, name) == 0)
			return i;
	if (R.nnodes == NODES_MAX || strlen(name) >= sizeof(R.nodes[0].name))
		return -1;
	snprintf(R.nodes[R.nnodes].name, sizeof(R.nodes[0].name), "%s", name);
	return R.nnodes++;
}

/* A node's hello: answered as a master of the node's next term. */
static void
m_request(struct link *l, const struct frame_hdr *h, const cJSON *body,
    const uint8_t *payload)
{
	struct rconn	*c = l->arg;
	const cJSON	*n = cJSON_GetObjectItemCaseSensitive(body, "node_name");
	cJSON		*a;
	int		 i;

	(void)payload;
	if (h->type != FRAME_HELLO || c->node >= 0) {
		decide(c, "kept");	/* it took us as its master */
		if (R.nodes[c->node].seen < R.nterms)
			link_close(l, "next term");
		else if (h->type == FRAME_KEEPALIVE)
			link_respond(l, h, 0, NULL);	/* the last: keep it */
		return;
	}
	if (!cJSON_IsString(n) || (c->node = node_index(n->valuestring)) < 0) {
		link_close(l, "bad hello");
		return;
	}
	i = R.nodes[c->node].seen++;
	c->term = R.terms[i < R.nterms ? i : R.nterms - 1];
	a = cJSON_CreateObject();
	cJSON_AddStringToObject(a, "cluster_name", R.cluster);
	cJSON_AddStringToObject(a, "node_name", "rogue-master");
	cJSON_AddStringToObject(a, "node_type", "master");
	cJSON_AddStringToObject(a, "version", CLUSTERD_VERSION);
	cJSON_AddNumberToObject(a, "term", (double)c->term);
	link_hello_done(l);
	link_respond(l, h, 0, a);
	cJSON_Delete(a);
}

static void
m_open(struct link *l)
{
	(void)l;
}

static void
m_close(struct link *l, const char *reason)
{
	(void)reason;
	decide(l->arg, "dropped");	/* closed by the node, no request */
	reap_later(free, l->arg);
}

static const struct link_ops m_ops = { m_open, m_request, on_drain,
    m_close };

static void
m_accept(struct listener *ls, int fd, const char *addr, void *arg)
{
	struct rconn	*c = calloc(1, sizeof(*c));
	struct link	*l;

	(void)addr;
	(void)arg;
	if (c == NULL || (l = link_accept(ls->loop, fd, R.ctx, &m_ops, c,
	    5)) == NULL) {
		free(c);
		close(fd);
		return;
	}
	c->node = -1;
	link_expect_hello(l);
}

static int
parse_terms(char *list)
{
	char	*t, *save = NULL;

	for (t = strtok_r(list, ",", &save); t != NULL && R.nterms <
	    TERMS_MAX; t = strtok_r(NULL, ",", &save))
		if ((R.terms[R.nterms++] = atoll(t)) <= 0)
			return -1;
	return R.nterms > 0 ? 0 : -1;
}

/* -M: serve as a master until every node went through every term. */
static int
pose_as_master(unsigned port, const char *key)
{
	struct listener	ls;

	memset(&ls, 0, sizeof(ls));
	ls.fd = -1;
	if ((R.ctx = tls_ctx_new(1, key, NULL, NULL)) == NULL ||
	    listener_tcp(&ls, R.loop, "127.0.0.1", port, 16, "Main",
	    "nodes", m_accept, NULL) == -1) {
		fprintf(stderr, "roguepeer: cannot listen on %u\n", port);
		return 2;
	}
	R.rc = 1;
	ev_timer_init(&R.done, done_cb, 30.0, 0);
	ev_timer_start(R.loop, &R.done);
	ev_run(R.loop, 0);
	if (!all_done())
		R.rc = 1;
	listener_close(&ls);
	reap_now();
	tls_ctx_free(R.ctx);
	return R.rc;
}

int
main(int argc, char *argv[])
{
	const char	*key = NULL, *name = NULL;
	unsigned	 port = 0;
	SSL_CTX		*ctx;
	struct link	*l;
	char		 err[256];
	int		 ch, master = 0;

	R.type = "worker";
	R.cluster = "itest";
	while ((ch = getopt(argc, argv, "p:k:n:N:t:esc:MT:W:")) != -1) {
		switch (ch) {
		case 'p': port = (unsigned)atoi(optarg); break;
		case 'k': key = optarg; break;
		case 'n': name = optarg; break;
		case 'N': R.hello_name = optarg; break;
		case 't': R.type = optarg; break;
		case 'e': R.enrollment = 1; break;
		case 's': R.standby = 1; break;
		case 'c': R.cluster = optarg; break;
		case 'M': master = 1; break;
		case 'T': if (parse_terms(optarg) == -1) goto usage; break;
		case 'W': R.want_nodes = atoi(optarg); break;
		default: goto usage;
		}
	}
	if (master) {
		if (port == 0 || key == NULL || R.nterms == 0 ||
		    R.want_nodes <= 0)
			goto usage;
		R.loop = EV_DEFAULT;
		reap_init(R.loop);
		return pose_as_master(port, key);
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
	    " [-t type] [-e] [-s] [-c cluster] [step...]\n"
	    "       roguepeer -M -p port -k key -T term[,term...] -W nodes "
	    "[-c cluster]\n");
	return 2;
}
