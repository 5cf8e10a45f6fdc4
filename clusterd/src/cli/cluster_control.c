/*
 * cluster_control: the operator's view of the cluster, through the local
 * node's control socket.  Flags follow the tool operators already know:
 * -l lists nodes, -i shows health; --json prints the raw answer for scripts.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <poll.h>
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
	    "usage: cluster_control [options] COMMAND\n"
	    "commands (on any node; workers forward them to the master):\n"
	    "  -l, --list          list the cluster's nodes\n"
	    "  -i, --health        show each node's health\n"
	    "  -a, --agents        list agents (filters: --status S, --node N)\n"
	    "  -a --id ID          one agent: groups, OS, labels, sums, sync\n"
	    "  -g, --groups        list agent groups\n"
	    "  --remove-agent ID   remove an agent\n"
	    "  --create-group G    create a group\n"
	    "  --delete-group G    delete a group\n"
	    "  --assign-group G --agent ID    add an agent to a group\n"
	    "  --unassign-group G --agent ID  remove an agent from a group\n"
	    "  --lb-state S        this worker's answer to HAProxy's agent-check:\n"
	    "                      ready, drain or maint (local, not forwarded)\n"
	    "  --pools             the balancers' pools: members, operators' states,\n"
	    "                      and each balancer's HAProxy servers\n"
	    "  --pool-state S --node N [--pool P]\n"
	    "                      set node N ready, drain, maint or remove in the\n"
	    "                      pools (P: agents or enrollment; default both)\n"
	    "  --stats             this node's counters, the text its metrics\n"
	    "                      endpoint serves (local, not forwarded)\n"
	    "master high availability (on a master-eligible node, local):\n"
	    "  --ha                the master-eligible nodes, the active one, its\n"
	    "                      term; exit 0\n"
	    "  --ha-check          exit 0 only if this node is the active master\n"
	    "                      (keepalived's check for the master's VIP)\n"
	    "  --step-down         the active master gives up its role\n"
	    "  --promote           this standby takes over from the active master\n"
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
	printf("%-*s  %-*s  %-*s  %s\n", w[0], "NAME", w[1], "TYPE", w[2],
	    "VERSION", "ADDRESS");
	cJSON_ArrayForEach(n, nodes)
		printf("%-*s  %-*s  %-*s  %s\n", w[0], str(n, "name"), w[1],
		    str(n, "type"), w[2], str(n, "version"), str(n, "address"));
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
	const cJSON	*m;

	if (ha == NULL)
		return;
	printf("\nMaster-eligible nodes (store %s; active: %s, term %.0f):\n",
	    str(ha, "store"), *str(ha, "leader") ? str(ha, "leader") :
	    "none", num(ha, "leader_term"));
	printf("%-20s  %-8s  %-10s  %s\n", "NAME", "STATE", "TERM",
	    "ADDRESS");
	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(ha, "masters"))
		printf("%-20s  %-8s  %-10.0f  %s:%.0f\n", str(m, "node"),
		    str(m, "state"), num(m, "term"), str(m, "address"),
		    num(m, "port"));
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
		if (strcmp(str(n, "type"), "master") == 0) {
			printf("        Running since: %s\n",
			    str(n, "connected_since"));
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
		c = cJSON_GetObjectItemCaseSensitive(n, "agent_counts");
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
	OPT_POOLS,
	OPT_POOL_STATE,
	OPT_POOL,
	OPT_STATS,
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
				print_cell(cJSON_IsString(v) ? v->valuestring :
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

	printf("%-16s %-8s %-9s %-34s %s\n", "NODE", "TYPE", "CONNECTED",
	    "AGENTS POOL", "ENROLLMENT POOL");
	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(data,
	    "members")) {
		pool_cell(m, "agents", a, sizeof(a));
		pool_cell(m, "enrollment", e, sizeof(e));
		printf("%-16s %-8s %-9s %-34s %s\n", str(m, "name"),
		    str(m, "type"), yes_no(m, "connected"), a, e);
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
		print_table(data, agents, 6);
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
	else if (strcmp(command, "pool_set") == 0)
		printf("%s is now %s in %s.\n", str(req, "node"),
		    str(req, "state"), cJSON_GetObjectItemCaseSensitive(req,
		    "pool") != NULL ? str(req, "pool") : "both pools");
	else if (strcmp(command, "lb_state") == 0)
		printf("Balancer state of this node: %s.\n", str(req, "state"));
	else if (strcmp(command, "group_unassign") == 0)
		printf("Agent %s removed from group %s.\n", str(req, "agent"),
		    str(req, "group"));
	else if (strcmp(command, "ha_step_down") == 0)
		printf("Stepping down: another master-eligible node takes "
		    "over.\n");
	else if (strcmp(command, "ha_promote") == 0)
		printf("Taking over: the active master steps down.\n");
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "list", no_argument, NULL, 'l' },
		{ "health", no_argument, NULL, 'i' },
		{ "agents", no_argument, NULL, 'a' },
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
		{ "pools", no_argument, NULL, OPT_POOLS },
		{ "pool-state", required_argument, NULL, OPT_POOL_STATE },
		{ "pool", required_argument, NULL, OPT_POOL },
		{ "stats", no_argument, NULL, OPT_STATS },
		{ "id", required_argument, NULL, OPT_ID },
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
	const char	*home, *sock = NULL, *command = NULL, *agent = NULL;
	const char	*group = NULL, *status = NULL, *node = NULL;
	const char	*pool = NULL, *agent_id = NULL;
	char		 sockbuf[PATH_MAX], *reqtext = NULL, *answer = NULL;
	cJSON		*resp = NULL, *req = NULL;
	const cJSON	*err;
	int		 ch, json = 0, rv = EXIT_FAILED, ncmd = 0, check = 0;

	if ((home = getenv("CLUSTERD_HOME")) == NULL || *home == '\0')
		home = CONFIG_DEFAULT_HOME;
	while ((ch = getopt_long(argc, argv, "liagjH:s:Vh", opts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'l':
			command = "nodes";
			ncmd++;
			break;
		case 'i':
			command = "health";
			ncmd++;
			break;
		case 'a':
			command = "agents";
			ncmd++;
			break;
		case 'g':
			command = "groups";
			ncmd++;
			break;
		case OPT_STATUS:
			status = optarg;
			break;
		case OPT_NODE:
			node = optarg;
			break;
		case OPT_AGENT:
			agent = optarg;
			break;
		case OPT_REMOVE_AGENT:
			command = "agent_remove";
			agent = optarg;
			ncmd++;
			break;
		case OPT_CREATE_GROUP:
		case OPT_DELETE_GROUP:
		case OPT_ASSIGN_GROUP:
		case OPT_UNASSIGN_GROUP:
			command = ch == OPT_CREATE_GROUP ? "group_create" :
			    ch == OPT_DELETE_GROUP ? "group_delete" :
			    ch == OPT_ASSIGN_GROUP ? "group_assign" :
			    "group_unassign";
			group = optarg;
			ncmd++;
			break;
		case OPT_LB_STATE:
		case OPT_POOL_STATE:
			command = ch == OPT_LB_STATE ? "lb_state" : "pool_set";
			status = optarg;
			ncmd++;
			break;
		case OPT_POOLS:
			command = "pools";
			ncmd++;
			break;
		case OPT_POOL:
			pool = optarg;
			break;
		case OPT_STATS:
			command = "stats";
			ncmd++;
			break;
		case OPT_ID:
			agent_id = optarg;
			break;
		case OPT_HA:
		case OPT_HA_CHECK:
		case OPT_STEP_DOWN:
		case OPT_PROMOTE:
			command = ch == OPT_STEP_DOWN ? "ha_step_down" :
			    ch == OPT_PROMOTE ? "ha_promote" : "ha";
			check = ch == OPT_HA_CHECK;
			ncmd++;
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
			return EXIT_OK;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (command == NULL || ncmd != 1 || optind != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (agent == NULL && (strcmp(command, "group_assign") == 0 ||
	    strcmp(command, "group_unassign") == 0)) {
		fprintf(stderr, "cluster_control: --%s-group needs --agent ID\n",
		    strcmp(command, "group_assign") == 0 ? "assign" :
		    "unassign");
		return EXIT_USAGE;
	}
	if (agent_id != NULL) {		/* -a --id N: one agent in full */
		if (strcmp(command, "agents") != 0 || status != NULL ||
		    node != NULL) {
			fprintf(stderr, "cluster_control: --id goes with -a "
			    "alone\n");
			return EXIT_USAGE;
		}
		command = "agent";
		agent = agent_id;
	}
	if (node == NULL && strcmp(command, "pool_set") == 0) {
		fprintf(stderr, "cluster_control: --pool-state needs --node N\n");
		return EXIT_USAGE;
	}
	if (sock == NULL) {
		snprintf(sockbuf, sizeof(sockbuf), "%s/%s", home,
		    CONTROL_SOCKET_REL);
		sock = sockbuf;
	}
	req = cJSON_CreateObject();
	cJSON_AddStringToObject(req, "command", command);
	if (agent != NULL)
		cJSON_AddStringToObject(req, "agent", agent);
	if (group != NULL)
		cJSON_AddStringToObject(req, "group", group);
	if (status != NULL)
		cJSON_AddStringToObject(req, strcmp(command, "lb_state") == 0 ||
		    strcmp(command, "pool_set") == 0 ? "state" : "status",
		    status);
	if (pool != NULL)
		cJSON_AddStringToObject(req, "pool", pool);
	if (node != NULL)
		cJSON_AddStringToObject(req, "node", node);
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
	if (check) {		/* --ha-check: the answer is the exit code */
		rv = strcmp(str(cJSON_GetObjectItemCaseSensitive(resp, "data"),
		    "state"), "active") == 0 ? EXIT_OK : EXIT_FAILED;
		goto done;
	}
	if (!json && strcmp(command, "ha") == 0)
		print_ha(cJSON_GetObjectItemCaseSensitive(resp, "data"));
	else if (!json && strcmp(command, "stats") == 0)
		print_stats(cJSON_GetObjectItemCaseSensitive(resp, "data"));
	else if (!json) {
		defang(resp);
		print_answer(command, req, cJSON_GetObjectItemCaseSensitive(resp,
		    "data"));
	}
	rv = EXIT_OK;
done:
	cJSON_free(reqtext);
	cJSON_Delete(req);
	cJSON_Delete(resp);
	free(answer);
	return rv;
}
