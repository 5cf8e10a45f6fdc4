/*
 * cluster_control: the operator's view of the cluster, through the local
 * node's control socket.  Flags follow the tool operators already know:
 * -l lists nodes, -i shows health; --json prints the raw answer for scripts.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/config.h"
#include "base/version.h"
#include "net/control.h"

#define REPLY_TIMEOUT_MS	30000
#define REPLY_MAX		(64 * 1024 * 1024)

enum exit_code {
	EXIT_OK = 0,
	EXIT_FAILED = 1,	/* the daemon answered with an error */
	EXIT_USAGE = 2,
	EXIT_UNREACHABLE = 3	/* no daemon, no socket, no answer */
};

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: cluster_control [options] COMMAND [filters]\n"
	    "commands (on any node; workers forward them to the master):\n"
	    "  -l, --list, --list-nodes   list the cluster's nodes\n"
	    "                      (filter: -fn NODE...)\n"
	    "  -i, --health        show each node's health\n"
	    "                      (filter: -fn NODE...)\n"
	    "  -a, --agents, --list-agents\n"
	    "                      list agents (filters: -fs STATUS...,\n"
	    "                      -fn NODE...; an agent matches one of each)\n"
	    "  -a --id ID          one agent: groups, OS, labels, sums, sync\n"
	    "  -g, --groups        list agent groups\n"
	    "  --remove-agent ID   remove an agent\n"
	    "  --create-group G    create a group\n"
	    "  --delete-group G    delete a group\n"
	    "  --assign-group G --agent ID    add an agent to a group\n"
	    "  --unassign-group G --agent ID  remove an agent from a group\n"
	    "  --pools             the balancers' pools: members, operators' states,\n"
	    "                      and each balancer's HAProxy servers\n"
	    "  --pool-state S --node N [--pool P]\n"
	    "                      set node N ready, drain, maint or remove in the\n"
	    "                      pools (P: agents or enrollment; default both)\n"
	    "  --pool-forget --node N\n"
	    "                      drop a node that is gone from the pools\n"
	    "  --backup FILE       on the master: a consistent copy of the\n"
	    "                      agent registry into FILE (a new file,\n"
	    "                      written by clusterd)\n"
	    "local commands (answered by this node, not forwarded):\n"
	    "  --lb-state S        this node's answer to HAProxy's\n"
	    "                      agent-check: ready, drain or maint\n"
	    "  --drain N           on worker N itself: move its agents away,\n"
	    "                      then stop, as SIGTERM does\n"
	    "  --gateway           this node's agents' port counters\n"
	    "  --stats             this node's counters, the text its metrics\n"
	    "                      endpoint serves\n"
	    "master high availability (on a master-eligible node, local):\n"
	    "  --ha                the master-eligible nodes, the active one, its\n"
	    "                      term\n"
	    "  --ha-check          exit 0 only if this node is the active master\n"
	    "                      (keepalived's check for the master's VIP)\n"
	    "  --step-down         the active master gives up its role\n"
	    "  --promote           this standby takes over from the active master\n"
	    "filters:\n"
	    "  -fn, --filter-node NODE...  --node NODE (repeatable)\n"
	    "  -fs, --filter-agent-status STATUS...  --status STATUS\n"
	    "                      (repeatable): active, pending,\n"
	    "                      never_connected, disconnected\n"
	    "options:\n"
	    "  -j, --json          print the daemon's JSON answer\n"
	    "  -H, --home DIR      node home (default $CLUSTERD_HOME or %s)\n"
	    "  -s, --socket PATH   control socket (default HOME/%s)\n"
	    "  -V, --version       print the version\n"
	    "  -h, --help          this help\n",
	    CONFIG_DEFAULT_HOME, CONTROL_SOCKET_REL);
}

/* Send one request line and read the one-line answer; NULL on failure. */
static char *
call_daemon(const char *path, const char *request)
{
	struct sockaddr_un	 sun;
	struct pollfd		 pfd;
	char			*buf = NULL, *p;
	size_t			 len = 0, cap = 0;
	ssize_t			 n;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "cluster_control: socket path too long: %s\n",
		    path);
		return NULL;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "cluster_control: cannot reach clusterd at %s: "
		    "%s\nIs clusterd running? (use -H or -s to point at "
		    "another node)\n", path, strerror(errno));
		goto fail;
	}
	if (write(fd, request, strlen(request)) != (ssize_t)strlen(request) ||
	    write(fd, "\n", 1) != 1) {
		fprintf(stderr, "cluster_control: write: %s\n",
		    strerror(errno));
		goto fail;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		if (poll(&pfd, 1, REPLY_TIMEOUT_MS) <= 0) {
			fprintf(stderr, "cluster_control: no answer from "
			    "clusterd in %d s\n", REPLY_TIMEOUT_MS / 1000);
			goto fail;
		}
		if (cap - len < 65536) {
			if (cap > REPLY_MAX ||
			    (p = realloc(buf, cap + 65536 + 1)) == NULL) {
				fprintf(stderr, "cluster_control: answer too "
				    "large\n");
				goto fail;
			}
			buf = p;
			cap += 65536;
		}
		if ((n = read(fd, buf + len, cap - len)) < 0) {
			fprintf(stderr, "cluster_control: read: %s\n",
			    strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (buf == NULL || len == 0) {
		fprintf(stderr, "cluster_control: clusterd closed the "
		    "connection without an answer\n");
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
fail:
	if (fd != -1)
		close(fd);
	free(buf);
	return NULL;
}

static const char *
str(const cJSON *o, const char *key)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : "-";
}

static void print_ha(const cJSON *);

static void
print_list(const cJSON *data)
{
	const cJSON	*nodes, *n;
	static const char *cols[] = { "name", "type", "version", "address" };
	int		 w[4] = { 4, 4, 7, 7 }, i, l;

	nodes = cJSON_GetObjectItemCaseSensitive(data, "nodes");
	cJSON_ArrayForEach(n, nodes)
		for (i = 0; i < 4; i++)
			if ((l = (int)strlen(str(n, cols[i]))) > w[i])
				w[i] = l;
	printf("%-*s  %-*s  %-*s  %-*s  %s\n", w[0], "NAME", w[1], "TYPE",
	    w[2], "VERSION", w[3], "ADDRESS", "HEALTH");
	cJSON_ArrayForEach(n, nodes)
		printf("%-*s  %-*s  %-*s  %-*s  %s\n", w[0], str(n, "name"),
		    w[1], str(n, "type"), w[2], str(n, "version"), w[3],
		    str(n, "address"), str(n, "health"));
	print_ha(cJSON_GetObjectItemCaseSensitive(data, "ha"));
}

static double
num(const cJSON *o, const char *key)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* The master-eligible nodes (docs/ha.md), when the answer has them. */
static void
print_ha(const cJSON *ha)
{
	const cJSON	*m, *r;

	if (ha == NULL)
		return;
	printf("\nMaster-eligible nodes (store %s; active: %s, term %.0f):\n",
	    str(ha, "store"), *str(ha, "leader") ? str(ha, "leader") :
	    "none", num(ha, "leader_term"));
	printf("%-20s  %-8s  %-10s  %-21s  %s\n", "NAME", "STATE", "TERM",
	    "ADDRESS", "LAG");
	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(ha, "masters")) {
		char	addr[300], lag[64] = "-";

		snprintf(addr, sizeof(addr), "%s:%.0f", str(m, "address"),
		    num(m, "port"));
		/* As the standby last published it (docs/ha.md). */
		if (strcmp(str(m, "state"), "standby") == 0)
			snprintf(lag, sizeof(lag), "%.1fs, %.0f revisions",
			    num(m, "lag_seconds"), num(m, "revisions_behind"));
		printf("%-20s  %-8s  %-10.0f  %-21s  %s\n", str(m, "node"),
		    str(m, "state"), num(m, "term"), addr, lag);
	}
	r = cJSON_GetObjectItemCaseSensitive(ha, "replication");
	if (r != NULL && strcmp(str(ha, "state"), "standby") == 0)
		printf("%s's copy of the registry: lag %.1fs, %.0f revisions "
		    "behind (revision %.0f of %.0f)\n", str(ha, "node"),
		    num(r, "lag_seconds"), num(r, "revisions_behind"),
		    num(r, "applied_revision"), num(r, "head_revision"));
	if (*str(ha, "store_error") != '-' && *str(ha, "store_error"))
		printf("store error seen by %s: %s\n", str(ha, "node"),
		    str(ha, "store_error"));
}

/* "DATE (0.004s)" for a task object, or "never". */
static void
print_task(const char *label, const cJSON *task)
{
	const cJSON	*d = cJSON_GetObjectItemCaseSensitive(task, "date");

	if (!cJSON_IsString(d)) {
		printf("        %s: never\n", label);
		return;
	}
	printf("        %s: %s (%.3fs", label, d->valuestring,
	    num(task, "duration"));
	if (cJSON_GetObjectItemCaseSensitive(task, "created") != NULL)
		printf("; created %.0f, updated %.0f, deleted %.0f",
		    num(task, "created"), num(task, "updated"),
		    num(task, "deleted"));
	printf(")\n");
}

static void
print_health(const cJSON *data)
{
	const cJSON	*nodes, *n, *li, *sync, *c;

	nodes = cJSON_GetObjectItemCaseSensitive(data, "nodes");
	printf("Cluster name: %s\n\n", str(data, "cluster_name"));
	printf("Connected nodes (%d):\n", cJSON_GetArraySize(nodes));
	cJSON_ArrayForEach(n, nodes) {
		printf("    %s (%s)\n", str(n, "name"), str(n, "address"));
		printf("        Type: %s\n", str(n, "type"));
		printf("        Version: %s\n", str(n, "version"));
		c = cJSON_GetObjectItemCaseSensitive(n, "agent_counts");
		if (strcmp(str(n, "type"), "master") == 0) {
			printf("        Running since: %s\n",
			    str(n, "connected_since"));
			if (c != NULL)	/* gateway yes: its own agents */
				printf("        Agents: %.0f active of %.0f\n",
				    num(c, "active"), num(c, "total"));
			li = cJSON_GetObjectItemCaseSensitive(n,
			    "local_integrity");
			if (li != NULL)
				printf("        Local integrity: %s (%.0f files, "
				    "%.3fs)\n", str(li, "date"),
				    num(li, "files"), num(li, "duration"));
			continue;
		}
		printf("        Connected since: %s\n",
		    str(n, "connected_since"));
		printf("        Last keep alive: %s\n",
		    str(n, "last_keepalive"));
		if (strcmp(str(n, "type"), "balancer") == 0)
			continue;	/* no agents, no files */
		if (c != NULL)
			printf("        Agents: %.0f active of %.0f\n",
			    num(c, "active"), num(c, "total"));
		print_task("Integrity check",
		    cJSON_GetObjectItemCaseSensitive(n, "integrity_check"));
		print_task("Integrity sync",
		    cJSON_GetObjectItemCaseSensitive(n, "integrity_sync"));
		sync = cJSON_GetObjectItemCaseSensitive(n, "in_sync");
		printf("        In sync: %s\n", cJSON_IsTrue(sync) ? "yes" :
		    "no");
	}
	print_ha(cJSON_GetObjectItemCaseSensitive(data, "ha"));
}

/* Long options without a short form. */
enum {
	OPT_STATUS = 256,
	OPT_NODE,
	OPT_AGENT,
	OPT_REMOVE_AGENT,
	OPT_CREATE_GROUP,
	OPT_DELETE_GROUP,
	OPT_ASSIGN_GROUP,
	OPT_UNASSIGN_GROUP,
	OPT_LB_STATE,
	OPT_DRAIN,
	OPT_POOLS,
	OPT_POOL_STATE,
	OPT_POOL,
	OPT_POOL_FORGET,
	OPT_STATS,
	OPT_GATEWAY,
	OPT_BACKUP,
	OPT_ID,
	OPT_HA,
	OPT_HA_CHECK,
	OPT_STEP_DOWN,
	OPT_PROMOTE
};

struct column {
	const char	*header;
	const char	*key;
};

static void
print_cell(const char *s, int width, int last)
{
	if (last)
		printf("%s\n", s);
	else
		printf("%-*s  ", width, s);
}

/* Print an array of objects as aligned columns (strings or numbers). */
static void
print_table(const cJSON *rows, const struct column *cols, int ncols)
{
	const cJSON	*r, *v;
	int		 w[8], i;

	if (ncols > 8)
		ncols = 8;
	for (i = 0; i < ncols; i++)
		w[i] = (int)strlen(cols[i].header);
	cJSON_ArrayForEach(r, rows) {
		for (i = 0; i < ncols; i++) {
			v = cJSON_GetObjectItemCaseSensitive(r, cols[i].key);
			if (cJSON_IsString(v) && (int)strlen(v->valuestring) >
			    w[i])
				w[i] = (int)strlen(v->valuestring);
		}
	}
	for (i = 0; i < ncols; i++)
		print_cell(cols[i].header, w[i], i + 1 == ncols);
	cJSON_ArrayForEach(r, rows) {
		for (i = 0; i < ncols; i++) {
			char num[32];

			v = cJSON_GetObjectItemCaseSensitive(r, cols[i].key);
			if (cJSON_IsNumber(v)) {
				snprintf(num, sizeof(num), "%.0f",
				    v->valuedouble);
				print_cell(num, w[i], i + 1 == ncols);
			} else
				print_cell(cJSON_IsString(v) &&
				    v->valuestring[0] != '\0' ? v->valuestring :
				    "-", w[i], i + 1 == ncols);
		}
	}
}

static const char *
yes_no(const cJSON *o, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key)) ? "yes" :
	    "no";
}

/* One pool column of a member: "address:port state", or "-". */
static void
pool_cell(const cJSON *m, const char *pool, char *out, size_t len)
{
	const cJSON	*p = cJSON_GetObjectItemCaseSensitive(m, pool);

	if (num(p, "port") == 0)
		snprintf(out, len, "-");
	else
		snprintf(out, len, "%s:%.0f %s%s", str(p, "address"),
		    num(p, "port"), str(p, "state"), cJSON_IsTrue(
		    cJSON_GetObjectItemCaseSensitive(p, "in_pool")) ? "" :
		    " (out)");
}

/* The members with the operators' states, then each balancer's HAProxy. */
static void
print_pools(const cJSON *data)
{
	const cJSON	*m, *b, *ha, *be, *srv;
	char		 a[96], e[96], addr[96];

	printf("%-16s %-8s %-9s %-34s %-34s %s\n", "NODE", "TYPE",
	    "CONNECTED", "AGENTS POOL", "ENROLLMENT POOL", "HEALTH");
	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(data,
	    "members")) {
		pool_cell(m, "agents", a, sizeof(a));
		pool_cell(m, "enrollment", e, sizeof(e));
		printf("%-16s %-8s %-9s %-34s %-34s %s\n", str(m, "name"),
		    str(m, "type"), yes_no(m, "connected"), a, e,
		    str(m, "health"));
	}
	cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(data,
	    "balancers")) {
		ha = cJSON_GetObjectItemCaseSensitive(b, "haproxy");
		printf("\nBalancer %s (%s, reported %s): HAProxy %s\n",
		    str(b, "name"), cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
		    b, "connected")) ? "connected" : "disconnected",
		    str(b, "reported"), str(ha, "status"));
		printf("  %-18s %-16s %-22s %-6s %-12s %-6s %s\n", "BACKEND",
		    "SERVER", "ADDRESS", "ADMIN", "STATUS", "WEIGHT",
		    "CONNECTIONS");
		cJSON_ArrayForEach(be, cJSON_GetObjectItemCaseSensitive(ha,
		    "pools")) {
			cJSON_ArrayForEach(srv, be) {
				snprintf(addr, sizeof(addr), "%s:%.0f",
				    str(srv, "address"), num(srv, "port"));
				printf("  %-18s %-16s %-22s %-6s %-12s %-6.0f "
				    "%.0f\n", str(srv, "backend"), str(srv,
				    "name"), addr, str(srv, "admin"), str(srv,
				    "status"), num(srv, "weight"), num(srv,
				    "connections"));
			}
		}
	}
}

/*
 * Text output shows strings that agents and peers chose (names, versions,
 * addresses): a control byte among them would reach the operator's
 * terminal (an escape sequence can clear it or retitle it).  Each is shown
 * as '?', in place, so the columns keep their widths.  --json is left to
 * cJSON, which escapes them.
 */
static void
defang(cJSON *o)
{
	cJSON		*c;
	unsigned char	*p;

	if (cJSON_IsString(o) && o->valuestring != NULL)
		for (p = (unsigned char *)o->valuestring; *p != '\0'; p++)
			if (*p < 0x20 || *p == 0x7f)
				*p = '?';
	for (c = o->child; c != NULL; c = c->next)
		defang(c);
}

/*
 * The metrics text as it is: its lines end in newlines, and any other
 * control byte (none in a valid text: label values are escaped) is shown
 * as '?', as defang() does.
 */
static void
print_stats(const cJSON *data)
{
	const unsigned char	*p = (const unsigned char *)str(data, "text");

	for (; *p != '\0'; p++)
		putchar((*p < 0x20 && *p != '\n') || *p == 0x7f ? '?' : *p);
}

/* --gateway: this node's agents' port, from its "status". */
static int
print_gateway(const cJSON *data)
{
	const cJSON	*g = cJSON_GetObjectItemCaseSensitive(data, "gateway");
	const cJSON	*r;

	if (g == NULL) {
		fprintf(stderr, "cluster_control: %s serves no agents (no "
		    "gateway on this node)\n", str(data, "node_name"));
		return -1;
	}
	printf("Gateway of %s (%s)\n", str(data, "node_name"),
	    str(data, "node_type"));
	printf("    Balancer state: %s\n", str(g, "balancer_state"));
	printf("    Connections: %.0f (%.0f not identified yet)\n",
	    num(g, "connections"), num(g, "unidentified"));
	printf("    Messages: %.0f\n", num(g, "messages"));
	printf("    Events archived: %.0f\n", num(g, "events"));
	printf("    Silent connections: %.0f timed out, %.0f refused\n",
	    num(g, "silent_timed_out"), num(g, "silent_refused"));
	r = cJSON_GetObjectItemCaseSensitive(g, "rejected");
	printf("    Rejected connections:%s\n", r == NULL || r->child == NULL ?
	    " none" : "");
	for (r = r != NULL ? r->child : NULL; r != NULL; r = r->next)
		printf("        %.0f: %s\n", r->valuedouble, r->string);
	return 0;
}

/* One agent, a field a line; its labels last. */
static void
print_agent(const cJSON *a)
{
	static const char *const f[][2] = {
		{ "ID", "id" }, { "Name", "name" }, { "IP", "ip" },
		{ "Registered IP", "register_ip" }, { "Status", "status" },
		{ "Version", "version" }, { "Node", "node_name" },
		{ "Groups", "groups" }, { "Registered", "date_add" },
		{ "Last keepalive", "last_keepalive" }, { "OS", "os_name" },
		{ "OS version", "os_version" }, { "OS platform", "os_platform" },
		{ "OS codename", "os_codename" }, { "Architecture", "os_arch" },
		{ "Uname", "os_uname" }, { "Config sum", "config_sum" },
		{ "Merged sum", "merged_sum" },
		{ "Group config", "group_config_status" },
	};
	const cJSON	*l;
	size_t		 i;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		printf("%-16s%s\n", f[i][0], str(a, f[i][1]));
	cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(a, "labels"))
		printf("%-16s%s=%s\n", l == cJSON_GetObjectItemCaseSensitive(a,
		    "labels")->child ? "Labels" : "", l->string,
		    cJSON_IsString(l) ? l->valuestring : "");
}

static void
print_answer(const char *command, const cJSON *req, const cJSON *data)
{
	static const struct column agents[] = {
		{ "ID", "id" }, { "NAME", "name" }, { "IP", "ip" },
		{ "REPORTED IP", "reported_ip" }, { "SOURCE IP", "source_ip" },
		{ "STATUS", "status" }, { "VERSION", "version" },
		{ "NODE NAME", "node_name" },
	};
	static const struct column groups[] = {
		{ "NAME", "name" }, { "AGENTS", "agents" },
	};

	if (strcmp(command, "nodes") == 0)
		print_list(data);
	else if (strcmp(command, "health") == 0)
		print_health(data);
	else if (strcmp(command, "agents") == 0)
		print_table(data, agents, 8);
	else if (strcmp(command, "groups") == 0)
		print_table(data, groups, 2);
	else if (strcmp(command, "agent") == 0)
		print_agent(data);
	else if (strcmp(command, "agent_remove") == 0)
		printf("Agent %s removed.\n", str(req, "agent"));
	else if (strcmp(command, "group_create") == 0)
		printf("Group %s created.\n", str(req, "group"));
	else if (strcmp(command, "group_delete") == 0)
		printf("Group %s deleted.\n", str(req, "group"));
	else if (strcmp(command, "group_assign") == 0)
		printf("Agent %s added to group %s.\n", str(req, "agent"),
		    str(req, "group"));
	else if (strcmp(command, "pools") == 0)
		print_pools(data);
	else if (strcmp(command, "pool_set") == 0 &&
	    strcmp(str(req, "state"), "remove") == 0)
		printf("%s is removed from %s.\n", str(req, "node"),
		    cJSON_GetObjectItemCaseSensitive(req, "pool") != NULL ?
		    str(req, "pool") : "both pools");
	else if (strcmp(command, "pool_set") == 0)
		printf("%s is set to %s in %s.\n", str(req, "node"),
		    str(req, "state"), cJSON_GetObjectItemCaseSensitive(req,
		    "pool") != NULL ? str(req, "pool") : "both pools");
	else if (strcmp(command, "backup") == 0)
		printf("Registry backed up to %s.\n", str(data, "file"));
	else if (strcmp(command, "pool_forget") == 0)
		printf("%s is forgotten by the pools.\n", str(req, "node"));
	else if (strcmp(command, "drain") == 0)
		printf("%s is draining: it stops once its agents have moved "
		    "(drain_timeout at most).\n", str(req, "node"));
	else if (strcmp(command, "lb_state") == 0)
		printf("Balancer state of this node: %s.\n", str(req, "state"));
	else if (strcmp(command, "group_unassign") == 0)
		printf("Agent %s removed from group %s.\n", str(req, "agent"),
		    str(req, "group"));
	else if (strcmp(command, "ha") == 0)
		print_ha(data);
	else if (strcmp(command, "ha_step_down") == 0)
		printf("Stepping down: another master-eligible node takes "
		    "over.\n");
	else if (strcmp(command, "ha_promote") == 0)
		printf("Taking over: the active master steps down.\n");
}

/*
 * The commands: each names the options it takes (the rest are refused, not
 * ignored) and where its own argument goes in the request.  A new command
 * is one row here, one in opts[] and one in usage().
 */
enum {
	F_STATUS = 1 << 0,	/* --status, -fs: several */
	F_NODE = 1 << 1,	/* --node, -fn: several, or exactly one */
	F_AGENT = 1 << 2,	/* --agent */
	F_POOL = 1 << 3,	/* --pool */
	F_ID = 1 << 4		/* --id: -a shows that one agent */
};
static const struct {
	unsigned	 bit;
	const char	*name;
} filters[] = {
	{ F_STATUS, "--status (-fs)" }, { F_NODE, "--node (-fn)" },
	{ F_AGENT, "--agent" }, { F_POOL, "--pool" }, { F_ID, "--id" },
};

struct command {
	int		 opt;		/* its getopt value */
	const char	*flag;		/* as shown in messages */
	const char	*name;		/* the daemon's command */
	const char	*argkey;	/* request member of its argument */
	unsigned	 takes;		/* F_* it accepts */
	unsigned	 needs;		/* F_* it requires */
	int		 one_node;	/* --node names exactly one node */
};

static const struct command commands[] = {
	{ 'l', "-l", "nodes", NULL, F_NODE, 0, 0 },
	{ 'i', "-i", "health", NULL, F_NODE, 0, 0 },
	{ 'a', "-a", "agents", NULL, F_STATUS | F_NODE | F_ID, 0, 0 },
	{ 'g', "-g", "groups", NULL, 0, 0, 0 },
	{ OPT_REMOVE_AGENT, "--remove-agent", "agent_remove", "agent", 0, 0,
	    0 },
	{ OPT_CREATE_GROUP, "--create-group", "group_create", "group", 0, 0,
	    0 },
	{ OPT_DELETE_GROUP, "--delete-group", "group_delete", "group", 0, 0,
	    0 },
	{ OPT_ASSIGN_GROUP, "--assign-group", "group_assign", "group",
	    F_AGENT, F_AGENT, 0 },
	{ OPT_UNASSIGN_GROUP, "--unassign-group", "group_unassign", "group",
	    F_AGENT, F_AGENT, 0 },
	{ OPT_LB_STATE, "--lb-state", "lb_state", "state", 0, 0, 0 },
	{ OPT_DRAIN, "--drain", "drain", "node", 0, 0, 0 },
	{ OPT_POOLS, "--pools", "pools", NULL, 0, 0, 0 },
	{ OPT_POOL_STATE, "--pool-state", "pool_set", "state",
	    F_NODE | F_POOL, F_NODE, 1 },
	{ OPT_POOL_FORGET, "--pool-forget", "pool_forget", NULL, F_NODE,
	    F_NODE, 1 },
	{ OPT_STATS, "--stats", "stats", NULL, 0, 0, 0 },
	{ OPT_GATEWAY, "--gateway", "status", NULL, 0, 0, 0 },
	{ OPT_BACKUP, "--backup", "backup", "file", 0, 0, 0 },
	{ OPT_HA, "--ha", "ha", NULL, 0, 0, 0 },
	{ OPT_HA_CHECK, "--ha-check", "ha", NULL, 0, 0, 0 },
	{ OPT_STEP_DOWN, "--step-down", "ha_step_down", NULL, 0, 0, 0 },
	{ OPT_PROMOTE, "--promote", "ha_promote", NULL, 0, 0, 0 },
};

/* What the command line asked for. */
struct request {
	const struct command	*cmd;
	const char		*cmdarg;
	const char		*agent, *pool, *id;
	cJSON			*status;	/* array of strings */
	cJSON			*node;		/* array of strings */
	unsigned		 given;		/* F_* seen */
};

/* One line on what is wrong with the command line; EXIT_USAGE. */
static int __attribute__((format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "cluster_control: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (cluster_control -h for help)\n");
	return EXIT_USAGE;
}

/* The option getopt stopped at, as typed: "-x" or "--long". */
static const char *
bad_option(char *const av[], char *buf, size_t len)
{
	if (optopt > 0 && optopt < 128)
		snprintf(buf, len, "-%c", optopt);
	else
		snprintf(buf, len, "%s", av[optind - 1]);
	return buf;
}

/* The argv of expand_filters() for an argc, with the strings it made. */
static void
free_args(char **v, int argc)
{
	int	i;

	if (v == NULL)
		return;
	for (i = argc + 1; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/*
 * Wazuh's -fn and -fs take several values, as in "-fn worker1 worker2":
 * rewrite each value as its own --node=V or --status=V, which getopt
 * knows.  Returns the new argv (argc in *nargc), NULL on a filter without
 * a value (message printed); free it with free_args().
 */
static char **
expand_filters(int argc, char *argv[], int *nargc)
{
	char	**v, *s;
	int	  i, n = 0, k, made = 0;
	const char *opt;

	/* The strings made here follow the argv's end, for free_args(). */
	if ((v = calloc(2 * (size_t)argc + 2, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < argc; i++) {
		opt = strcmp(argv[i], "-fn") == 0 ||
		    strcmp(argv[i], "--filter-node") == 0 ? "--node=" :
		    strcmp(argv[i], "-fs") == 0 ||
		    strcmp(argv[i], "--filter-agent-status") == 0 ?
		    "--status=" : NULL;
		if (opt == NULL || i == 0) {
			v[n++] = argv[i];
			continue;
		}
		for (k = i + 1; k < argc && argv[k][0] != '-'; k++) {
			if (asprintf(&s, "%s%s", opt, argv[k]) == -1)
				goto fail;
			v[n++] = s;
			v[argc + 1 + made++] = s;
		}
		if (k == i + 1) {
			usage_error("%s needs at least one value", argv[i]);
			goto fail;
		}
		i = k - 1;
	}
	v[n] = NULL;
	*nargc = n;
	return v;
fail:
	free_args(v, argc);
	return NULL;
}

/*
 * An agent status as the registry spells it, from Wazuh's spellings too
 * ("Active", "NeverConnected", "never_connected"); NULL if none.
 */
static const char *
agent_status(const char *s)
{
	static const char *const known[] = {
		"active", "pending", "never_connected", "disconnected"
	};
	char	a[32], b[32];
	size_t	i, j, k;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		for (j = k = 0; s[j] != '\0' && k < sizeof(a) - 1; j++)
			if (s[j] != '_' && s[j] != ' ' && s[j] != '-')
				a[k++] = (char)tolower((unsigned char)s[j]);
		a[k] = '\0';
		for (j = k = 0; known[i][j] != '\0'; j++)
			if (known[i][j] != '_')
				b[k++] = known[i][j];
		b[k] = '\0';
		if (strcmp(a, b) == 0)
			return known[i];
	}
	return NULL;
}

/* Check the options against the command; builds the daemon's request. */
static int
check_request(const struct request *r, cJSON **out)
{
	cJSON	*req;
	size_t	 i;

	for (i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
		if ((r->given & filters[i].bit) && !(r->cmd->takes &
		    filters[i].bit))
			return usage_error("%s does not apply to %s",
			    filters[i].name, r->cmd->flag);
		if (!(r->given & filters[i].bit) && (r->cmd->needs &
		    filters[i].bit))
			return usage_error("%s needs %s", r->cmd->flag,
			    filters[i].name);
	}
	if (r->cmd->one_node && cJSON_GetArraySize(r->node) != 1)
		return usage_error("%s takes exactly one --node",
		    r->cmd->flag);
	if (r->given & F_ID) {		/* -a --id N: one agent in full */
		if (r->given & (F_STATUS | F_NODE))
			return usage_error("--id goes with -a alone");
		req = cJSON_CreateObject();
		cJSON_AddStringToObject(req, "command", "agent");
		cJSON_AddStringToObject(req, "agent", r->id);
		*out = req;
		return EXIT_OK;
	}
	req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "command", r->cmd->name);
	if (r->cmd->argkey != NULL)
		cJSON_AddStringToObject(req, r->cmd->argkey, r->cmdarg);
	if (r->agent != NULL)
		cJSON_AddStringToObject(req, "agent", r->agent);
	if (r->pool != NULL)
		cJSON_AddStringToObject(req, "pool", r->pool);
	if (r->given & F_STATUS)
		cJSON_AddItemToObject(req, "status",
		    cJSON_Duplicate(r->status, 1));
	if ((r->given & F_NODE) && r->cmd->one_node)
		cJSON_AddStringToObject(req, "node",
		    cJSON_GetArrayItem(r->node, 0)->valuestring);
	else if (r->given & F_NODE)
		cJSON_AddItemToObject(req, "node", cJSON_Duplicate(r->node, 1));
	*out = req;
	return EXIT_OK;
}

/* Run the request and print its answer; the exit code. */
static int
run(const char *sock, const struct command *cmd, cJSON *req, int json)
{
	char		*reqtext = NULL, *answer = NULL;
	cJSON		*resp = NULL;
	const cJSON	*err, *data;
	int		 rv = EXIT_FAILED;

	if ((reqtext = cJSON_PrintUnformatted(req)) == NULL)
		goto done;
	if ((answer = call_daemon(sock, reqtext)) == NULL) {
		rv = EXIT_UNREACHABLE;
		goto done;
	}
	if ((resp = cJSON_Parse(answer)) == NULL) {
		fprintf(stderr, "cluster_control: unreadable answer from "
		    "clusterd\n");
		goto done;
	}
	err = cJSON_GetObjectItemCaseSensitive(resp, "error");
	if (json)
		fputs(answer, stdout);
	if (!cJSON_IsNumber(err) || err->valueint != 0) {
		defang(resp);
		fprintf(stderr, "cluster_control: %s\n", str(resp, "message"));
		goto done;
	}
	data = cJSON_GetObjectItemCaseSensitive(resp, "data");
	if (cmd->opt == OPT_HA_CHECK) {	/* the answer is the exit code */
		rv = strcmp(str(data, "state"), "active") == 0 ? EXIT_OK :
		    EXIT_FAILED;
		goto done;
	}
	if (!json && strcmp(cmd->name, "stats") == 0)
		print_stats(data);
	else if (!json && cmd->opt == OPT_GATEWAY) {
		defang(resp);
		if (print_gateway(data) == -1)
			goto done;
	} else if (!json) {
		defang(resp);
		/* The request's command: -a --id asks for "agent". */
		print_answer(cJSON_GetObjectItemCaseSensitive(req,
		    "command")->valuestring, req, data);
	}
	rv = EXIT_OK;
done:
	cJSON_free(reqtext);
	cJSON_Delete(resp);
	free(answer);
	return rv;
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "list", no_argument, NULL, 'l' },
		{ "list-nodes", no_argument, NULL, 'l' },
		{ "health", no_argument, NULL, 'i' },
		{ "agents", no_argument, NULL, 'a' },
		{ "list-agents", no_argument, NULL, 'a' },
		{ "groups", no_argument, NULL, 'g' },
		{ "status", required_argument, NULL, OPT_STATUS },
		{ "node", required_argument, NULL, OPT_NODE },
		{ "agent", required_argument, NULL, OPT_AGENT },
		{ "remove-agent", required_argument, NULL, OPT_REMOVE_AGENT },
		{ "create-group", required_argument, NULL, OPT_CREATE_GROUP },
		{ "delete-group", required_argument, NULL, OPT_DELETE_GROUP },
		{ "assign-group", required_argument, NULL, OPT_ASSIGN_GROUP },
		{ "unassign-group", required_argument, NULL,
		    OPT_UNASSIGN_GROUP },
		{ "lb-state", required_argument, NULL, OPT_LB_STATE },
		{ "drain", required_argument, NULL, OPT_DRAIN },
		{ "pools", no_argument, NULL, OPT_POOLS },
		{ "pool-state", required_argument, NULL, OPT_POOL_STATE },
		{ "pool-forget", no_argument, NULL, OPT_POOL_FORGET },
		{ "pool", required_argument, NULL, OPT_POOL },
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "id", required_argument, NULL, OPT_ID },
		{ "gateway", no_argument, NULL, OPT_GATEWAY },
		{ "backup", required_argument, NULL, OPT_BACKUP },
		{ "ha", no_argument, NULL, OPT_HA },
		{ "ha-check", no_argument, NULL, OPT_HA_CHECK },
		{ "step-down", no_argument, NULL, OPT_STEP_DOWN },
		{ "promote", no_argument, NULL, OPT_PROMOTE },
		{ "json", no_argument, NULL, 'j' },
		{ "home", required_argument, NULL, 'H' },
		{ "socket", required_argument, NULL, 's' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct request	 r;
	const char	*home, *sock = NULL, *st;
	char		 sockbuf[PATH_MAX], optbuf[64], **av = NULL;
	char		 cwd[PATH_MAX], file[PATH_MAX];
	cJSON		*req = NULL;
	size_t		 i;
	int		 ch, json = 0, rv = EXIT_USAGE, ac;

	memset(&r, 0, sizeof(r));
	r.status = cJSON_CreateArray();
	r.node = cJSON_CreateArray();
	if ((home = getenv("CLUSTERD_HOME")) == NULL || *home == '\0')
		home = CONFIG_DEFAULT_HOME;
	if ((av = expand_filters(argc, argv, &ac)) == NULL)
		goto done;
	opterr = 0;
	while ((ch = getopt_long(ac, av, ":liagjH:s:Vh", opts, NULL)) != -1) {
		for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			if (commands[i].opt == ch)
				break;
		if (i < sizeof(commands) / sizeof(commands[0])) {
			if (r.cmd != NULL) {
				rv = usage_error("%s and %s are two commands: "
				    "give one", r.cmd->flag, commands[i].flag);
				goto done;
			}
			r.cmd = &commands[i];
			r.cmdarg = optarg;
			continue;
		}
		switch (ch) {
		case OPT_STATUS:
			if ((st = agent_status(optarg)) == NULL) {
				rv = usage_error("unknown agent status \"%s\": "
				    "active, pending, never_connected or "
				    "disconnected", optarg);
				goto done;
			}
			cJSON_AddItemToArray(r.status,
			    cJSON_CreateString(st));
			r.given |= F_STATUS;
			break;
		case OPT_NODE:
			cJSON_AddItemToArray(r.node, cJSON_CreateString(optarg));
			r.given |= F_NODE;
			break;
		case OPT_AGENT:
			r.agent = optarg;
			r.given |= F_AGENT;
			break;
		case OPT_POOL:
			r.pool = optarg;
			r.given |= F_POOL;
			break;
		case OPT_ID:
			r.id = optarg;
			r.given |= F_ID;
			break;
		case 'j':
			json = 1;
			break;
		case 'H':
			home = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'V':
			printf("cluster_control %s\n", CLUSTERD_VERSION);
			rv = EXIT_OK;
			goto done;
		case 'h':
			usage(stdout);
			rv = EXIT_OK;
			goto done;
		case ':':
			rv = usage_error("%s needs a value", bad_option(av,
			    optbuf, sizeof(optbuf)));
			goto done;
		default:
			rv = usage_error("unknown option %s", bad_option(av,
			    optbuf, sizeof(optbuf)));
			goto done;
		}
	}
	if (optind != ac) {
		rv = usage_error("unexpected argument \"%s\"", av[optind]);
		goto done;
	}
	if (r.cmd == NULL) {
		rv = usage_error("no command given");
		goto done;
	}
	/* The daemon writes the backup: it needs the whole path. */
	if (r.cmd->opt == OPT_BACKUP && r.cmdarg[0] != '/') {
		if (getcwd(cwd, sizeof(cwd)) == NULL ||
		    snprintf(file, sizeof(file), "%s/%s", cwd, r.cmdarg) >=
		    (int)sizeof(file)) {
			rv = usage_error("cannot make %s an absolute path",
			    r.cmdarg);
			goto done;
		}
		r.cmdarg = file;
	}
	if ((rv = check_request(&r, &req)) != EXIT_OK)
		goto done;
	if (sock == NULL) {
		snprintf(sockbuf, sizeof(sockbuf), "%s/%s", home,
		    CONTROL_SOCKET_REL);
		sock = sockbuf;
	}
	rv = run(sock, r.cmd, req, json);
done:
	cJSON_Delete(req);
	cJSON_Delete(r.status);
	cJSON_Delete(r.node);
	free_args(av, argc);
	return rv;
}
