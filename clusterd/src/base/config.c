#include <sys/types.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/nodelist.h"

#define LINE_MAX_LEN	4096


struct parse_ctx {
	const char	*file;
	int		 line;
	int		 errors;
	FILE		*errs;
	int		 key_line;	/* where key or key_file was set */
	const char	*key_opt;	/* which of the two */
	int		 next_line;	/* where key_next(_file) was set */
	const char	*next_opt;
	int		 key_tried;	/* a key line with an error reported */
};

typedef int (*setter_fn)(struct parse_ctx *, struct config *, const char *,
    void *);

struct keyword {
	const char	*name;
	setter_fn	 set;
	size_t		 off;	/* offset of the field in struct config */
	size_t		 size;	/* for strings: the field's size */
};

static void
perr(struct parse_ctx *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
perr(struct parse_ctx *p, const char *fmt, ...)
{
	va_list	ap;

	p->errors++;
	if (p->errs == NULL)
		return;
	if (p->line > 0)
		fprintf(p->errs, "%s:%d: ", p->file, p->line);
	else
		fprintf(p->errs, "%s: ", p->file);
	va_start(ap, fmt);
	vfprintf(p->errs, fmt, ap);
	va_end(ap);
	fputc('\n', p->errs);
}

/* Names of clusters and nodes: [A-Za-z0-9_-]+, at most CONFIG_NAME_MAX. */
int
config_valid_name(const char *s)
{
	size_t	i;

	if (s[0] == '\0' || strlen(s) > CONFIG_NAME_MAX)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return 0;
	return 1;
}

const char *
config_node_type_name(enum node_type t)
{
	switch (t) {
	case NODE_MASTER:
		return "master";
	case NODE_WORKER:
		return "worker";
	case NODE_BALANCER:
		return "balancer";
	default:
		return "none";
	}
}

void
config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->cluster_name, "wazuh");
	c->master_port = CONFIG_DEFAULT_PORT;
	strcpy(c->bind_address, "0.0.0.0");
	c->port = CONFIG_DEFAULT_PORT;
	strcpy(c->home, CONFIG_DEFAULT_HOME);
	c->keepalive_interval = 2;
	c->keepalive_timeout = 8;
	c->request_timeout = 10;
	c->preauth_timeout = 30;
	c->preauth_per_source = 256;
	c->ha_lease_ttl = 3;
	c->reconnect_min = 1;
	c->reconnect_max = 30;
	c->sync_interval = 30;
	c->sync_debounce = 0.05;
	c->sync_max_bundle = 64ull * 1024 * 1024;
	c->enrollment = 1;
	strcpy(c->enrollment_address, "0.0.0.0");
	c->enrollment_port = CONFIG_DEFAULT_ENROLL_PORT;
	strcpy(c->manager_version, CONFIG_MANAGER_VERSION);
	c->force_replace = 1;
	c->force_disconnected_time = 3600;
	c->force_after_registration_time = 3600;
	c->force_key_mismatch = 1;
	c->enrollment_retry_window = 300;
	c->gateway = -1;
	strcpy(c->gateway_address, "0.0.0.0");
	c->gateway_port = 1514;
	c->agents_disconnection_time = 900;
	c->connection_overtake_time = 60;
	c->shared_push_rate = 1024 * 1024;
	c->drain_timeout = 30;
	c->drain_wait = 2.5;
	c->drain_rate = 200;
	c->rebalance = 1;
	c->rebalance_tolerance = 10;
	c->rebalance_interval = 30;
	c->rebalance_chunk = 500;
	c->pool_leave_after = 60;
	strcpy(c->haproxy_socket, "/run/haproxy/admin.sock");
	strcpy(c->haproxy_agents_backend, "workers_agents");
	strcpy(c->haproxy_enrollment_backend, "nodes_enrollment");
	c->pool_check_interval = 5;
	c->pool_drain_timeout = 60;
	strcpy(c->haproxy_frontends, "agents,enrollment");
	c->log_level = LOG_LVL_INFO;
}

static int
set_name(struct parse_ctx *p, struct config *c, const char *v, void *field)
{
	(void)c;
	if (!config_valid_name(v)) {
		perr(p, "invalid name \"%s\": use 1 to %d characters of "
		    "A-Z a-z 0-9 _ -", v, CONFIG_NAME_MAX);
		return -1;
	}
	strcpy(field, v);
	return 0;
}

/* One or two HAProxy frontend names: "agents,enrollment". */
static int
set_frontends(struct parse_ctx *p, struct config *c, const char *v,
    void *field)
{
	char	 tmp[2 * CONFIG_NAME_MAX + 2], *a, *b, *sp;

	(void)c;
	if (strlen(v) >= sizeof(tmp)) {
		perr(p, "haproxy_frontends: at most two names");
		return -1;
	}
	strcpy(tmp, v);
	a = strtok_r(tmp, ", ", &sp);
	b = strtok_r(NULL, ", ", &sp);
	if (a == NULL || !config_valid_name(a) ||
	    (b != NULL && !config_valid_name(b)) ||
	    strtok_r(NULL, ", ", &sp) != NULL) {
		perr(p, "haproxy_frontends: one or two names of A-Z a-z 0-9 "
		    "_ - separated by a comma");
		return -1;
	}
	snprintf(field, sizeof(tmp), "%s%s%s", a, b ? "," : "", b ? b : "");
	return 0;
}

static int
set_node_type(struct parse_ctx *p, struct config *c, const char *v,
    void *field)
{
	(void)field;
	if (strcmp(v, "master") == 0)
		c->node_type = NODE_MASTER;
	else if (strcmp(v, "worker") == 0)
		c->node_type = NODE_WORKER;
	else if (strcmp(v, "balancer") == 0)
		c->node_type = NODE_BALANCER;
	else {
		perr(p, "node_type must be \"master\", \"worker\" or "
		    "\"balancer\", not \"%s\"", v);
		return -1;
	}
	return 0;
}

/* Length of the run of decimal digits at s. */
static size_t
digits(const char *s)
{
	size_t	n = 0;

	while (isdigit((unsigned char)s[n]))
		n++;
	return n;
}

static int
set_port(struct parse_ctx *p, struct config *c, const char *v, void *field)
{
	char	*end;
	long	 n;

	(void)c;
	errno = 0;
	n = strtol(v, &end, 10);
	if (digits(v) == 0 || digits(v) > 5 || v[digits(v)] != '\0' ||
	    errno != 0 || n < 1 || n > 65535) {
		perr(p, "port must be a number from 1 to 65535, not \"%s\"", v);
		return -1;
	}
	*(uint16_t *)field = (uint16_t)n;
	return 0;
}

/* Durations: "10", "10s", "250ms", "2m", "1h"; result in seconds. */
static int
set_duration(struct parse_ctx *p, struct config *c, const char *v,
    void *field)
{
	char	*end;
	double	 n, mult = 1;
	size_t	 k, frac;

	(void)c;
	/* Plain decimals only: no sign, exponent or hex (strtod takes all). */
	k = digits(v);
	frac = v[k] == '.' ? digits(v + k + 1) : 0;
	if (k > 9 || (v[k] == '.' && frac == 0) || k + frac == 0)
		goto bad;
	errno = 0;
	n = strtod(v, &end);
	if (end != v + k + (v[k] == '.' ? 1 + frac : 0) || errno != 0 ||
	    !isfinite(n) || n <= 0)
		goto bad;
	if (strcmp(end, "ms") == 0)
		mult = 0.001;
	else if (strcmp(end, "") == 0 || strcmp(end, "s") == 0)
		mult = 1;
	else if (strcmp(end, "m") == 0)
		mult = 60;
	else if (strcmp(end, "h") == 0)
		mult = 3600;
	else
		goto bad;
	n *= mult;
	if (n < 0.01 || n > 86400)
		goto bad;
	*(double *)field = n;
	return 0;
bad:
	perr(p, "invalid duration \"%s\": use a positive number with ms, s, "
	    "m or h, between 10ms and 24h", v);
	return -1;
}

static int
set_string(struct parse_ctx *p, struct config *c, const char *v, void *field,
    size_t size)
{
	(void)c;
	if (strlen(v) >= size) {
		perr(p, "value too long (at most %zu characters)", size - 1);
		return -1;
	}
	strcpy(field, v);
	return 0;
}

/* Sizes: "1048576", "512K", "64M", "1G"; at least 64K, at most 4G. */
static int
set_size(struct parse_ctx *p, struct config *c, const char *v, void *field)
{
	char			*end;
	unsigned long long	 n;
	int			 shift = 0;

	(void)c;
	errno = 0;
	if (digits(v) == 0 || digits(v) > 10)
		goto bad;
	n = strtoull(v, &end, 10);
	if (errno != 0 || end != v + digits(v))
		goto bad;
	if (strcmp(end, "K") == 0 || strcmp(end, "k") == 0)
		shift = 10;
	else if (strcmp(end, "M") == 0)
		shift = 20;
	else if (strcmp(end, "G") == 0)
		shift = 30;
	else if (*end != '\0')
		goto bad;
	if (n > (4ull << 30) >> shift)		/* checked before shifting */
		goto bad;
	n <<= shift;
	if (n < 65536)
		goto bad;
	*(uint64_t *)field = n;
	return 0;
bad:
	perr(p, "invalid size \"%s\": use a number of bytes with an optional "
	    "K, M or G, between 64K and 4G", v);
	return -1;
}

static int
set_command(struct parse_ctx *p, struct config *c, const char *v,
    void *field)
{
	return set_string(p, c, v, field, sizeof(c->reload_command));
}

/* A count: a plain decimal from 0 to 10,000,000. */
static int
set_count(struct parse_ctx *p, struct config *c, const char *v, void *field)
{
	(void)c;
	if (digits(v) == 0 || digits(v) > 8 || v[digits(v)] != '\0' ||
	    strtoul(v, NULL, 10) > 10000000ul) {
		perr(p, "expected a number from 0 to 10000000, not \"%s\"", v);
		return -1;
	}
	*(unsigned *)field = (unsigned)strtoul(v, NULL, 10);
	return 0;
}

static int
set_bool(struct parse_ctx *p, struct config *c, const char *v, void *field)
{
	(void)c;
	if (strcmp(v, "yes") == 0)
		*(int *)field = 1;
	else if (strcmp(v, "no") == 0)
		*(int *)field = 0;
	else {
		perr(p, "expected yes or no, not \"%s\"", v);
		return -1;
	}
	return 0;
}

/* Durations that may be switched off with 0 (force_* checks). */
static int
set_duration0(struct parse_ctx *p, struct config *c, const char *v,
    void *field)
{
	if (strcmp(v, "0") == 0) {
		*(double *)field = 0;
		return 0;
	}
	return set_duration(p, c, v, field);
}

static int
set_path(struct parse_ctx *p, struct config *c, const char *v, void *field)
{
	(void)c;
	if (strlen(v) >= PATH_MAX) {
		perr(p, "path too long");
		return -1;
	}
	strcpy(field, v);
	return 0;
}

/*
 * The one check of a key, given inline or read from key_file: 32 printable
 * characters (n counts NUL bytes, which a file may hold) that none of the
 * weak-key rules of clusterkey.c matches, copied to dst (the key or the
 * next key).  from is the key file (option fileopt), or NULL.
 */
static int
check_key(struct parse_ctx *p, char *dst, const char *v, size_t n,
    const char *fileopt, const char *from)
{
	char	pre[PATH_MAX + 32] = "", why[160];
	size_t	i;

	if (from != NULL)
		snprintf(pre, sizeof(pre), "%s \"%s\": ", fileopt, from);
	if (n != CONFIG_KEY_LEN) {
		perr(p, "%skey must be exactly %d characters, this one has %zu",
		    pre, CONFIG_KEY_LEN, n);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (!isgraph((unsigned char)v[i])) {
			perr(p, "%skey must be printable characters without "
			    "spaces", pre);
			return -1;
		}
	}
	if (clusterkey_weak(v, why, sizeof(why))) {
		perr(p, "%sweak key: %s; generate one with \"clusterd "
		    "--genkey%s%s\"", pre, why, from ? " > " : "",
		    from ? from : "");
		return -1;
	}
	strcpy(dst, v);
	return 0;
}

/*
 * key and key_file are two ways to give one key, key_next and
 * key_next_file two ways to give the next one: the second is refused.
 */
static int
claim_key(struct parse_ctx *p, const char *opt)
{
	int		*line = strncmp(opt, "key_next", 8) == 0 ?
			    &p->next_line : &p->key_line;
	const char	**prev = line == &p->next_line ? &p->next_opt :
			    &p->key_opt;

	if (*line != 0) {
		perr(p, "\"%s\" and \"%s\" (line %d) both set the %s: keep "
		    "one of them", opt, *prev, *line, line == &p->next_line ?
		    "next key" : "key");
		return -1;
	}
	*line = p->line;
	*prev = opt;
	return 0;
}

/* key KEY, or key_next KEY (field: the config's key_next). */
static int
set_key(struct parse_ctx *p, struct config *c, const char *v, void *field)
{
	int	 next = field == (void *)c->key_next;
	char	*dst = next ? c->key_next : c->key;

	if (claim_key(p, next ? "key_next" : "key") == -1)
		return -1;
	return check_key(p, dst, v, strlen(v), NULL, NULL);
}

/*
 * key_file PATH (or key_next_file PATH): the key is the first line of
 * PATH, a regular file that only its owner may access.  Reading these is
 * the parser's only access to a file other than the one it parses.
 */
static int
set_key_file(struct parse_ctx *p, struct config *c, const char *v,
    void *field)
{
	char	line[CLUSTERKEY_LINE_MAX + 1], err[PATH_MAX + 128];
	size_t	n;
	int	rv = -1, next = field == (void *)c->key_next_file;

	if (claim_key(p, next ? "key_next_file" : "key_file") == -1)
		return -1;
	if (set_path(p, c, v, field) == -1)
		goto done;
	if (clusterkey_read_file(v, line, sizeof(line), &n, err,
	    sizeof(err)) == -1) {
		perr(p, "%s \"%s\" %s", next ? "key_next_file" : "key_file",
		    v, err);
		goto done;
	}
	rv = check_key(p, next ? c->key_next : c->key, line, n, next ?
	    "key_next_file" : "key_file", v);
done:
	explicit_bzero(line, sizeof(line));
	return rv;
}

/*
 * nodes_file PATH (master): the expected nodes, read now so that
 * "clusterd -t" reports a bad line; the master reads it again whenever it
 * changes.
 */
static int
set_nodes_file(struct parse_ctx *p, struct config *c, const char *v,
    void *field)
{
	struct nodelist	l;
	char		err[256];

	if (set_path(p, c, v, field) == -1)
		return -1;
	if (nodelist_load(v, &l, err, sizeof(err)) == -1) {
		perr(p, "nodes_file \"%s\": %s", v, err);
		return -1;
	}
	nodelist_free(&l);
	return 0;
}

static int
set_version(struct parse_ctx *p, struct config *c, const char *v,
    void *field)
{
	size_t	i = (v[0] == 'v' || v[0] == 'V') ? 1 : 0;

	if (strlen(v) >= sizeof(c->manager_version) || digits(v + i) == 0 ||
	    v[i + digits(v + i)] != '.') {
		perr(p, "manager_version must look like v4.14.7, not \"%s\"",
		    v);
		return -1;
	}
	strcpy(field, v);
	return 0;
}

static int
set_home(struct parse_ctx *p, struct config *c, const char *v, void *field)
{
	if (v[0] != '/') {
		perr(p, "home must be an absolute path, not \"%s\"", v);
		return -1;
	}
	return set_string(p, c, v, field, sizeof(c->home));
}

static int
set_host(struct parse_ctx *p, struct config *c, const char *v, void *field)
{
	return set_string(p, c, v, field, sizeof(c->master_address));
}

static int
set_bind(struct parse_ctx *p, struct config *c, const char *v, void *field)
{
	return set_string(p, c, v, field, sizeof(c->bind_address));
}

/*
 * metrics_listen: "off", a port (on the loopback address), or a numeric
 * address and port, "127.0.0.1:9516" or "[::1]:9516".  The endpoint
 * answers anyone who reaches it, so it listens on another address only
 * when the file names one.
 */
static int
set_listen(struct parse_ctx *p, struct config *c, const char *v, void *field)
{
	char		 addr[sizeof(c->metrics_address)];
	const char	*colon = strrchr(v, ':'), *port = v;
	unsigned char	 bin[sizeof(struct in6_addr)];
	size_t		 alen, n;
	int		 v6 = v[0] == '[';

	(void)field;
	if (strcmp(v, "off") == 0) {
		c->metrics_address[0] = '\0';
		c->metrics_port = 0;
		return 0;
	}
	snprintf(addr, sizeof(addr), "%s", CONFIG_METRICS_LOOPBACK);
	if (colon != NULL) {
		alen = (size_t)(colon - v);
		if (v6 && (alen < 3 || colon[-1] != ']'))
			goto bad;
		if (v6)
			alen -= 2;
		if (alen == 0 || alen >= sizeof(addr))
			goto bad;
		memcpy(addr, v + v6, alen);
		addr[alen] = '\0';
		if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, bin) != 1)
			goto bad;
		port = colon + 1;
	}
	n = digits(port);
	if (n == 0 || n > 5 || port[n] != '\0' || strtol(port, NULL, 10) < 1 ||
	    strtol(port, NULL, 10) > 65535)
		goto bad;
	strcpy(c->metrics_address, addr);
	c->metrics_port = (uint16_t)strtol(port, NULL, 10);
	return 0;
bad:
	perr(p, "metrics_listen must be off, a port, or a numeric address "
	    "and port (127.0.0.1:9516, [::1]:9516), not \"%s\"", v);
	return -1;
}

/*
 * proxy_from: the balancers allowed, and then required, to say whom they
 * carry with a PROXY header; addresses or networks, commas or spaces
 * between them.
 */
static int
set_proxy_from(struct parse_ctx *p, struct config *c, const char *v,
    void *field)
{
	char	err[128];

	(void)field;
	if (cidr_parse_list(v, c->proxy_from, CONFIG_PROXY_FROM_MAX,
	    &c->nproxy_from, err, sizeof(err)) == -1) {
		c->nproxy_from = 0;
		perr(p, "proxy_from: %s", err);
		return -1;
	}
	return 0;
}

static int
set_log_level(struct parse_ctx *p, struct config *c, const char *v,
    void *field)
{
	char	err[160];

	(void)field;
	if (log_levels_parse(v, &c->log_level, c->log_tasks,
	    sizeof(c->log_tasks), err, sizeof(err)) == -1) {
		perr(p, "log_level %s", err);
		return -1;
	}
	return 0;
}

/* ha_etcd: etcd's client endpoints, host:port[,host:port...]. */
static int
set_ha_etcd(struct parse_ctx *p, struct config *c, const char *v,
    void *field)
{
	const char	*s;

	for (s = v; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr(".-:,[]/", *s) ==
		    NULL) {
			perr(p, "ha_etcd must be host:port[,host:port...], "
			    "not \"%s\"", v);
			return -1;
		}
	return set_string(p, c, v, field, sizeof(c->ha_etcd));
}

#define F(name) offsetof(struct config, name)
static const struct keyword keywords[] = {
	{ "cluster_name",	set_name,	F(cluster_name), 0 },
	{ "node_name",		set_name,	F(node_name), 0 },
	{ "node_type",		set_node_type,	0, 0 },
	{ "key",		set_key,	0, 0 },
	{ "key_file",		set_key_file,	F(key_file), 0 },
	{ "key_next",		set_key,	F(key_next), 0 },
	{ "key_next_file",	set_key_file,	F(key_next_file), 0 },
	{ "master_address",	set_host,	F(master_address), 0 },
	{ "master_port",	set_port,	F(master_port), 0 },
	{ "bind_address",	set_bind,	F(bind_address), 0 },
	{ "port",		set_port,	F(port), 0 },
	{ "home",		set_home,	F(home), 0 },
	{ "keepalive_interval",	set_duration,	F(keepalive_interval), 0 },
	{ "keepalive_timeout",	set_duration,	F(keepalive_timeout), 0 },
	{ "request_timeout",	set_duration,	F(request_timeout), 0 },
	{ "preauth_timeout",	set_duration,	F(preauth_timeout), 0 },
	{ "preauth_per_source",	set_count,	F(preauth_per_source), 0 },
	{ "proxy_from",		set_proxy_from,	0, 0 },
	{ "reconnect_min",	set_duration,	F(reconnect_min), 0 },
	{ "reconnect_max",	set_duration,	F(reconnect_max), 0 },
	{ "sync_interval",	set_duration,	F(sync_interval), 0 },
	{ "sync_debounce",	set_duration,	F(sync_debounce), 0 },
	{ "sync_max_bundle",	set_size,	F(sync_max_bundle), 0 },
	{ "reload_command",	set_command,	F(reload_command), 0 },
	{ "enrollment",		set_bool,	F(enrollment), 0 },
	{ "enrollment_address",	set_bind,	F(enrollment_address), 0 },
	{ "enrollment_port",	set_port,	F(enrollment_port), 0 },
	{ "enrollment_cert",	set_path,	F(enrollment_cert), 0 },
	{ "enrollment_key",	set_path,	F(enrollment_key), 0 },
	{ "enrollment_password_file", set_path,	F(enrollment_password_file), 0 },
	{ "manager_version",	set_version,	F(manager_version), 0 },
	{ "force_replace",	set_bool,	F(force_replace), 0 },
	{ "force_disconnected_time", set_duration0,
	    F(force_disconnected_time), 0 },
	{ "force_after_registration_time", set_duration0,
	    F(force_after_registration_time), 0 },
	{ "force_key_mismatch",	set_bool,	F(force_key_mismatch), 0 },
	{ "use_source_ip",	set_bool,	F(use_source_ip), 0 },
	{ "enrollment_retry_window", set_duration0,
	    F(enrollment_retry_window), 0 },
	{ "gateway",		set_bool,	F(gateway), 0 },
	{ "gateway_address",	set_bind,	F(gateway_address), 0 },
	{ "gateway_port",	set_port,	F(gateway_port), 0 },
	{ "agents_disconnection_time", set_duration,
	    F(agents_disconnection_time), 0 },
	{ "connection_overtake_time", set_duration,
	    F(connection_overtake_time), 0 },
	{ "shared_push_rate",	set_size,	F(shared_push_rate), 0 },
	{ "enforce_counters",	set_bool,	F(enforce_counters), 0 },
	{ "agent_check_port",	set_port,	F(agent_check_port), 0 },
	{ "max_agents",		set_count,	F(max_agents), 0 },
	{ "drain_timeout",	set_duration0,	F(drain_timeout), 0 },
	{ "drain_wait",		set_duration0,	F(drain_wait), 0 },
	{ "drain_rate",		set_count,	F(drain_rate), 0 },
	{ "rebalance",		set_bool,	F(rebalance), 0 },
	{ "rebalance_tolerance", set_count,	F(rebalance_tolerance), 0 },
	{ "rebalance_interval",	set_duration,	F(rebalance_interval), 0 },
	{ "rebalance_chunk",	set_count,	F(rebalance_chunk), 0 },
	{ "pool_leave_after",	set_duration,	F(pool_leave_after), 0 },
	{ "worker_writes",	set_bool,	F(worker_writes), 0 },
	{ "nodes_file",		set_nodes_file,	F(nodes_file), 0 },
	{ "enrollment_rate_limit", set_count,	F(enrollment_rate_limit), 0 },
	{ "enrollment_max_agents", set_count,	F(enrollment_max_agents), 0 },
	{ "haproxy_socket",	set_path,	F(haproxy_socket), 0 },
	{ "haproxy_config",	set_path,	F(haproxy_config), 0 },
	{ "haproxy_state_file",	set_path,	F(haproxy_state_file), 0 },
	{ "haproxy_agents_backend", set_name,	F(haproxy_agents_backend), 0 },
	{ "haproxy_enrollment_backend", set_name,
	    F(haproxy_enrollment_backend), 0 },
	{ "pool_check_interval", set_duration,	F(pool_check_interval), 0 },
	{ "pool_drain_timeout",	set_duration,	F(pool_drain_timeout), 0 },
	{ "haproxy_frontends",	set_frontends,	F(haproxy_frontends), 0 },
	{ "keepalived_pid_file", set_path,	F(keepalived_pid_file), 0 },
	{ "metrics_listen",	set_listen,	0, 0 },
	{ "log_level",		set_log_level,	0, 0 },
	{ "ha_etcd",		set_ha_etcd,	F(ha_etcd), 0 },
	{ "ha_lease_ttl",	set_duration,	F(ha_lease_ttl), 0 },
	{ "ha_etcd_ca",		set_path,	F(ha_etcd_ca), 0 },
	{ "ha_etcd_cert",	set_path,	F(ha_etcd_cert), 0 },
	{ "ha_etcd_key",	set_path,	F(ha_etcd_key), 0 },
};
#undef F
#define NKEYWORDS (sizeof(keywords) / sizeof(keywords[0]))

/* A word alone: an option without its value, or no option at all. */
static void
no_value(struct parse_ctx *p, const char *k)
{
	size_t	i;

	for (i = 0; i < NKEYWORDS; i++)
		if (strcmp(keywords[i].name, k) == 0) {
			perr(p, "\"%s\" has no value", k);
			return;
		}
	perr(p, "unknown option \"%s\"", k);
}

/*
 * Split one line into key and value in place.  Returns 0 for a blank or
 * comment line, 1 with *key and *val set, -1 on a syntax error (reported).
 */
static int
split_line(struct parse_ctx *p, char *s, char **key, char **val)
{
	char	*k, *v, *e;

	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0' || *s == '#')
		return 0;
	*key = k = s;	/* for the caller, also after an error */
	while (*s != '\0' && !isspace((unsigned char)*s) && *s != '#')
		s++;
	if (*s == '#' || *s == '\0') {
		*s = '\0';
		no_value(p, k);
		return -1;
	}
	*s++ = '\0';
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '"') {
		/* Quoted: \" and \\ stand for " and \; unescape in place. */
		v = e = ++s;
		while (*s != '\0' && *s != '"') {
			if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
				s++;
			*e++ = *s++;
		}
		if (*s != '"') {
			perr(p, "unterminated quoted value");
			return -1;
		}
		*e = '\0';
		e = s + 1;
		while (isspace((unsigned char)*e))
			e++;
		if (*e != '\0' && *e != '#') {
			perr(p, "unexpected text after quoted value");
			return -1;
		}
	} else {
		v = s;
		while (*s != '\0' && *s != '#' && !isspace((unsigned char)*s))
			s++;
		e = s;
		while (isspace((unsigned char)*e))
			e++;
		if (*e != '\0' && *e != '#') {
			perr(p, "\"%s\" takes one value; quote it if it has "
			    "spaces", k);
			return -1;
		}
		*s = '\0';
		if (*v == '\0') {
			no_value(p, k);
			return -1;
		}
	}
	*key = k;
	*val = v;
	return 1;
}

/* Checks that span several keys, run once the whole file is read. */
static void
check_whole(struct parse_ctx *p, struct config *c)
{
	p->line = 0;
	if (c->node_name[0] == '\0')
		perr(p, "node_name is required");
	if (c->node_type == NODE_NONE)
		perr(p, "node_type is required (master, worker or balancer)");
	if (p->key_line == 0 && !p->key_tried)
		perr(p, "key or key_file is required (a key of exactly %d "
		    "characters, the same on every node)", CONFIG_KEY_LEN);
	if (p->next_line != 0 && c->node_type != NODE_MASTER &&
	    c->node_type != NODE_NONE)
		perr(p, "key_next is for the master, which accepts both keys "
		    "during a rotation; a %s connects with key",
		    config_node_type_name(c->node_type));
	if (c->key_next[0] != '\0' && strcmp(c->key_next, c->key) == 0)
		perr(p, "key_next is the same as key: give the new key");
	if (c->node_type != NODE_MASTER && c->node_type != NODE_NONE &&
	    c->master_address[0] == '\0')
		perr(p, "master_address is required on a %s",
		    config_node_type_name(c->node_type));
	if (c->nodes_file[0] != '\0' && c->node_type != NODE_MASTER)
		perr(p, "nodes_file is the master's; a worker or balancer "
		    "holds its own credential as its key");
	if (c->node_type == NODE_BALANCER && c->haproxy_socket[0] == '\0')
		perr(p, "haproxy_socket is required on a balancer");
	if (c->reconnect_min > c->reconnect_max)
		perr(p, "reconnect_min (%gs) is larger than reconnect_max "
		    "(%gs)", c->reconnect_min, c->reconnect_max);
	if (c->ha_etcd[0] != '\0' && c->node_type != NODE_MASTER)
		perr(p, "ha_etcd is for master-eligible nodes only");
	if ((c->ha_etcd_cert[0] != '\0') != (c->ha_etcd_key[0] != '\0'))
		perr(p, "ha_etcd_cert and ha_etcd_key go together");
	if (c->ha_etcd_cert[0] != '\0' && c->ha_etcd_ca[0] == '\0')
		perr(p, "ha_etcd_cert needs ha_etcd_ca (TLS to etcd)");
	if (c->ha_lease_ttl < 1)
		perr(p, "ha_lease_ttl must be at least 1s, not %gs",
		    c->ha_lease_ttl);
	if (c->keepalive_timeout <= c->keepalive_interval)
		perr(p, "keepalive_timeout (%gs) must be longer than "
		    "keepalive_interval (%gs)", c->keepalive_timeout,
		    c->keepalive_interval);
}

/*
 * Parse a configuration from an open stream.  Every error is written to errs
 * as "name:line: reason"; returns the number of errors (0 means valid).
 */
int
config_parse(const char *name, FILE *in, struct config *c, FILE *errs)
{
	struct parse_ctx	 p = { name, 0, 0, errs, 0, NULL, 0, NULL, 0 };
	char			*line = NULL, *key, *val;
	size_t			 cap = 0, i;
	ssize_t			 n;
	int			 seen[NKEYWORDS] = { 0 }, r;

	config_defaults(c);
	while ((n = getline(&line, &cap, in)) != -1) {
		p.line++;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n > LINE_MAX_LEN) {
			perr(&p, "line longer than %d characters", LINE_MAX_LEN);
			continue;
		}
		if (strlen(line) != (size_t)n) {
			perr(&p, "line contains a NUL byte");
			continue;
		}
		if ((r = split_line(&p, line, &key, &val)) != 1) {
			/* That error is enough: not "key is required" too. */
			if (r == -1 && (strcmp(key, "key") == 0 ||
			    strcmp(key, "key_file") == 0))
				p.key_tried = 1;
			continue;
		}
		for (i = 0; i < NKEYWORDS; i++)
			if (strcmp(keywords[i].name, key) == 0)
				break;
		if (i == NKEYWORDS) {
			perr(&p, "unknown option \"%s\"", key);
			continue;
		}
		if (seen[i]) {
			perr(&p, "\"%s\" is set twice (first on line %d)", key,
			    seen[i]);
			continue;
		}
		seen[i] = p.line;
		keywords[i].set(&p, c, val, (char *)c + keywords[i].off);
	}
	free(line);
	if (ferror(in))
		perr(&p, "read error");
	check_whole(&p, c);
	return p.errors;
}

int
config_load(const char *path, struct config *c, FILE *errs)
{
	FILE	*fp;
	int	 n;

	if ((fp = fopen(path, "r")) == NULL) {
		if (errs != NULL)
			fprintf(errs, "%s: %s\n", path, strerror(errno));
		config_defaults(c);
		return 1;
	}
	n = config_parse(path, fp, c, errs);
	fclose(fp);
	return n;
}

static void
print_quoted(FILE *out, const char *key, const char *v)
{
	fprintf(out, "%s \"", key);
	for (; *v != '\0'; v++) {
		if (*v == '"' || *v == '\\')
			fputc('\\', out);
		fputc(*v, out);
	}
	fputs("\"\n", out);
}

/* The options of the nodes that serve agents and files (not a balancer). */
static void
print_serving(const struct config *c, FILE *out)
{
	fprintf(out, "sync_interval %.15gs\n", c->sync_interval);
	fprintf(out, "sync_debounce %.15gs\n", c->sync_debounce);
	fprintf(out, "sync_max_bundle %llu\n",
	    (unsigned long long)c->sync_max_bundle);
	if (c->reload_command[0] != '\0')
		print_quoted(out, "reload_command", c->reload_command);
	fprintf(out, "enrollment %s\n", c->enrollment ? "yes" : "no");
	fprintf(out, "enrollment_address %s\n", c->enrollment_address);
	fprintf(out, "enrollment_port %u\n", c->enrollment_port);
	if (c->enrollment_cert[0] != '\0')
		print_quoted(out, "enrollment_cert", c->enrollment_cert);
	if (c->enrollment_key[0] != '\0')
		print_quoted(out, "enrollment_key", c->enrollment_key);
	if (c->enrollment_password_file[0] != '\0')
		print_quoted(out, "enrollment_password_file",
		    c->enrollment_password_file);
	fprintf(out, "manager_version %s\n", c->manager_version);
	fprintf(out, "force_replace %s\n", c->force_replace ? "yes" : "no");
	fprintf(out, "force_disconnected_time %.15g%s\n",
	    c->force_disconnected_time, c->force_disconnected_time > 0 ? "s" :
	    "");
	fprintf(out, "force_after_registration_time %.15g%s\n",
	    c->force_after_registration_time,
	    c->force_after_registration_time > 0 ? "s" : "");
	fprintf(out, "force_key_mismatch %s\n", c->force_key_mismatch ? "yes" :
	    "no");
	fprintf(out, "use_source_ip %s\n", c->use_source_ip ? "yes" : "no");
	fprintf(out, "enrollment_retry_window %.15g%s\n",
	    c->enrollment_retry_window, c->enrollment_retry_window > 0 ? "s" :
	    "");
	if (c->gateway != -1)
		fprintf(out, "gateway %s\n", c->gateway ? "yes" : "no");
	fprintf(out, "gateway_address %s\n", c->gateway_address);
	fprintf(out, "gateway_port %u\n", c->gateway_port);
	fprintf(out, "agents_disconnection_time %.15gs\n",
	    c->agents_disconnection_time);
	fprintf(out, "connection_overtake_time %.15gs\n",
	    c->connection_overtake_time);
	fprintf(out, "shared_push_rate %llu\n",
	    (unsigned long long)c->shared_push_rate);
	fprintf(out, "enforce_counters %s\n", c->enforce_counters ? "yes" :
	    "no");
	if (c->agent_check_port != 0)
		fprintf(out, "agent_check_port %u\n", c->agent_check_port);
	fprintf(out, "max_agents %u\n", c->max_agents);
	fprintf(out, "drain_timeout %.15g%s\n", c->drain_timeout,
	    c->drain_timeout > 0 ? "s" : "");
	fprintf(out, "drain_wait %.15g%s\n", c->drain_wait,
	    c->drain_wait > 0 ? "s" : "");
	fprintf(out, "drain_rate %u\n", c->drain_rate);
	fprintf(out, "rebalance %s\n", c->rebalance ? "yes" : "no");
	fprintf(out, "rebalance_tolerance %u\n", c->rebalance_tolerance);
	fprintf(out, "rebalance_interval %.15gs\n", c->rebalance_interval);
	fprintf(out, "rebalance_chunk %u\n", c->rebalance_chunk);
	fprintf(out, "pool_leave_after %.15gs\n", c->pool_leave_after);
	fprintf(out, "worker_writes %s\n", c->worker_writes ? "yes" : "no");
	if (c->nodes_file[0] != '\0')
		print_quoted(out, "nodes_file", c->nodes_file);
	fprintf(out, "enrollment_rate_limit %u\n", c->enrollment_rate_limit);
	fprintf(out, "enrollment_max_agents %u\n", c->enrollment_max_agents);
}

/* A balancer's own options. */
static void
print_balancer(const struct config *c, FILE *out)
{
	print_quoted(out, "haproxy_socket", c->haproxy_socket);
	if (c->haproxy_config[0] != '\0')
		print_quoted(out, "haproxy_config", c->haproxy_config);
	if (c->haproxy_state_file[0] != '\0')
		print_quoted(out, "haproxy_state_file", c->haproxy_state_file);
	fprintf(out, "haproxy_agents_backend %s\n", c->haproxy_agents_backend);
	fprintf(out, "haproxy_enrollment_backend %s\n",
	    c->haproxy_enrollment_backend);
	fprintf(out, "pool_check_interval %.15gs\n", c->pool_check_interval);
	fprintf(out, "pool_drain_timeout %.15gs\n", c->pool_drain_timeout);
	fprintf(out, "haproxy_frontends %s\n", c->haproxy_frontends);
	if (c->keepalived_pid_file[0] != '\0')
		print_quoted(out, "keepalived_pid_file", c->keepalived_pid_file);
}

/*
 * Print the effective configuration in the file's syntax: every option
 * the node's role uses (a balancer's, or a master's and a worker's).
 */
void
config_print(const struct config *c, FILE *out)
{
	fprintf(out, "cluster_name %s\n", c->cluster_name);
	fprintf(out, "node_name %s\n", c->node_name);
	fprintf(out, "node_type %s\n", config_node_type_name(c->node_type));
	fprintf(out, "key \"(%zu characters)\"\n", strlen(c->key));
	if (c->key_file[0] != '\0')
		print_quoted(out, "key_file", c->key_file);
	if (c->key_next[0] != '\0')
		fprintf(out, "key_next \"(%zu characters)\"\n",
		    strlen(c->key_next));
	if (c->key_next_file[0] != '\0')
		print_quoted(out, "key_next_file", c->key_next_file);
	if (c->master_address[0] != '\0')
		fprintf(out, "master_address %s\n", c->master_address);
	fprintf(out, "master_port %u\n", c->master_port);
	if (c->node_type != NODE_BALANCER) {
		fprintf(out, "bind_address %s\n", c->bind_address);
		fprintf(out, "port %u\n", c->port);
	}
	print_quoted(out, "home", c->home);
	fprintf(out, "keepalive_interval %.15gs\n", c->keepalive_interval);
	fprintf(out, "keepalive_timeout %.15gs\n", c->keepalive_timeout);
	fprintf(out, "request_timeout %.15gs\n", c->request_timeout);
	fprintf(out, "preauth_timeout %.15gs\n", c->preauth_timeout);
	fprintf(out, "preauth_per_source %u\n", c->preauth_per_source);
	if (c->nproxy_from > 0) {
		fputs("proxy_from ", out);
		cidr_print_list(c->proxy_from, c->nproxy_from, out);
		fputc('\n', out);
	}
	fprintf(out, "reconnect_min %.15gs\n", c->reconnect_min);
	fprintf(out, "reconnect_max %.15gs\n", c->reconnect_max);
	if (c->node_type != NODE_BALANCER)
		print_serving(c, out);
	else
		print_balancer(c, out);
	if (c->metrics_port == 0)
		fprintf(out, "metrics_listen off\n");
	else
		fprintf(out, "metrics_listen %s%s%s:%u\n",
		    strchr(c->metrics_address, ':') ? "[" : "",
		    c->metrics_address, strchr(c->metrics_address, ':') ?
		    "]" : "", c->metrics_port);
	fprintf(out, "log_level %s%s%s\n", log_level_name(c->log_level),
	    c->log_tasks[0] != '\0' ? "," : "", c->log_tasks);
	if (c->ha_etcd[0] != '\0') {
		fprintf(out, "ha_etcd %s\n", c->ha_etcd);
		fprintf(out, "ha_lease_ttl %.15gs\n", c->ha_lease_ttl);
		if (c->ha_etcd_ca[0] != '\0')
			print_quoted(out, "ha_etcd_ca", c->ha_etcd_ca);
		if (c->ha_etcd_cert[0] != '\0') {
			print_quoted(out, "ha_etcd_cert", c->ha_etcd_cert);
			print_quoted(out, "ha_etcd_key", c->ha_etcd_key);
		}
	}
}

/* Build home/rel into out; -1 if it does not fit. */
int
config_path(const struct config *c, const char *rel, char *out, size_t outlen)
{
	int	n;

	n = snprintf(out, outlen, "%s/%s", c->home, rel);
	return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}
