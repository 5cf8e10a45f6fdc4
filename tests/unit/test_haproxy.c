/*
 * test_haproxy: the balancer's side of a local HAProxy.  The two parsers
 * run on answers captured from HAProxy 2.6.12 ("show servers state",
 * "show stat -1 4 -1" and "show stat" with servers up, drained by the
 * operator, drained by their agent, in maintenance, added at runtime) and
 * on malformed variants; the haproxy.cfg rewrite on the layout
 * lb/render.py writes.  haproxy_command is tested in test_haproxy_cmd.c.
 *
 * Texts are handed over in heap buffers of exactly their length, without
 * a NUL, so a read past the length shows under SANITIZE=address.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lb/haproxy.h"

#include "haproxy_samples.h"
/* The first answer: w2 drained by the operator, w1 without an agent. */
static const char STATE_SAMPLE[] =
	"1\n"
	STATE_HEADER
	"3 workers_agents 1 w1 127.0.0.2 0 0 1 1 0 8 2 0 6 0 0 0 - 1514 - "
	"0 0 - - 0\n"
	"3 workers_agents 2 w2 127.0.0.3 0 8 1 1 0 1 0 2 6 22 0 0 - 1514 - "
	"0 0 - - 1518\n"
	"\n";

/* A heap copy of text[0..len) with no NUL after it. */
static char *
exact(const char *text, size_t len)
{
	char	*p = malloc(len > 0 ? len : 1);

	assert_non_null(p);
	memcpy(p, text, len);
	return p;
}

static int
parse_state_n(const char *text, size_t len, struct haproxy_server **v,
    size_t *n)
{
	char	*p = exact(text, len);
	int	 r;

	*v = (struct haproxy_server *)&r;	/* must be reset */
	*n = 12345;
	r = haproxy_parse_state(p, len, v, n);
	free(p);
	if (r == -1) {
		assert_null(*v);
		assert_int_equal(*n, 0);
	}
	return r;
}

static int
parse_state(const char *text, struct haproxy_server **v, size_t *n)
{
	return parse_state_n(text, strlen(text), v, n);
}

static int
merge_stat(const char *text, struct haproxy_server *v, size_t n)
{
	size_t	 len = strlen(text);
	char	*p = exact(text, len);
	int	 r;

	r = haproxy_merge_stat(p, len, v, n);
	free(p);
	return r;
}

static void
server_is(const struct haproxy_server *s, const char *be, const char *name,
    const char *addr, unsigned port, unsigned admin, unsigned agent)
{
	assert_string_equal(s->backend, be);
	assert_string_equal(s->name, name);
	assert_string_equal(s->address, addr);
	assert_int_equal(s->port, port);
	assert_int_equal(s->admin, admin);
	assert_int_equal(s->agent_port, agent);
}

static void
stat_is(const struct haproxy_server *s, const char *status, unsigned conns)
{
	assert_string_equal(s->status, status);
	assert_int_equal(s->connections, conns);
}

/* ---- show servers state ---- */

static void
test_state_sample(void **state)
{
	struct haproxy_server	*v;
	size_t			 n;

	(void)state;
	assert_int_equal(parse_state(STATE_SAMPLE, &v, &n), 0);
	assert_int_equal(n, 2);
	server_is(&v[0], "workers_agents", "w1", "127.0.0.2", 1514, 0, 0);
	server_is(&v[1], "workers_agents", "w2", "127.0.0.3", 1514,
	    HAPROXY_ADMF_FDRAIN, 1518);
	/* Nothing from "show stat" yet. */
	stat_is(&v[0], "", 0);
	stat_is(&v[1], "", 0);
	free(v);
}

static void
test_state_real(void **state)
{
	struct haproxy_server	*v;
	size_t			 n;

	(void)state;
	assert_int_equal(parse_state(STATE_REAL, &v, &n), 0);
	assert_int_equal(n, 4);
	server_is(&v[0], "workers_agents", "w1", "127.0.0.2", 1514, 0, 1518);
	server_is(&v[1], "workers_agents", "w2", "127.0.0.3", 1514, 0, 0);
	server_is(&v[2], "nodes_enrollment", "m1", "127.0.0.1", 1515, 0, 0);
	/* Added at runtime: in maintenance until enabled. */
	server_is(&v[3], "nodes_enrollment", "w9", "127.0.0.9", 1515,
	    HAPROXY_ADMF_FMAINT, 0);
	free(v);

	/* An agent's "drain" sets the same bit as the operator's. */
	assert_int_equal(parse_state(STATE_DRAIN_REAL, &v, &n), 0);
	assert_int_equal(n, 4);
	server_is(&v[0], "workers_agents", "w1", "127.0.0.2", 1514,
	    HAPROXY_ADMF_FDRAIN, 1518);
	server_is(&v[1], "workers_agents", "w2", "127.0.0.3", 1514,
	    HAPROXY_ADMF_FDRAIN, 0);
	server_is(&v[3], "nodes_enrollment", "w9", "127.0.0.9", 1515,
	    HAPROXY_ADMF_FMAINT, 0);
	free(v);
}

/* An empty backend, with and without the answer's closing empty line. */
static void
test_state_no_servers(void **state)
{
	struct haproxy_server	*v;
	size_t			 n;

	(void)state;
	assert_int_equal(parse_state("1\n" STATE_HEADER "\n", &v, &n), 0);
	assert_int_equal(n, 0);
	free(v);
	assert_int_equal(parse_state("1\n" STATE_HEADER, &v, &n), 0);
	assert_int_equal(n, 0);
	free(v);
	/* Header without its newline, empty lines between servers. */
	assert_int_equal(parse_state("1\n# be_name srv_name srv_addr "
	    "srv_admin_state srv_port", &v, &n), 0);
	assert_int_equal(n, 0);
	free(v);
	assert_int_equal(parse_state("1\n# be_name srv_name srv_addr "
	    "srv_admin_state srv_port\n\n\nb s 10.0.0.1 0 1\n\n\nb t ::1 1 2",
	    &v, &n), 0);
	assert_int_equal(n, 2);
	server_is(&v[0], "b", "s", "10.0.0.1", 1, 0, 0);
	server_is(&v[1], "b", "t", "::1", 2, 1, 0);
	free(v);
}

/* Columns are found by name: another order, more columns, no agent port. */
static void
test_state_columns_by_name(void **state)
{
	struct haproxy_server	*v;
	size_t			 n;

	(void)state;
	assert_int_equal(parse_state("1\n# srv_port new_column srv_agent_port "
	    "srv_name be_name srv_admin_state srv_addr\n"
	    "1515 x 1518 w1 be1 8 10.0.0.1\n"
	    "  1516   y  0  w2  be1  0  10.0.0.2  and more\n", &v, &n), 0);
	assert_int_equal(n, 2);
	server_is(&v[0], "be1", "w1", "10.0.0.1", 1515, 8, 1518);
	server_is(&v[1], "be1", "w2", "10.0.0.2", 1516, 0, 0);
	free(v);

	assert_int_equal(parse_state("1\n# be_name srv_name srv_addr "
	    "srv_admin_state srv_port\nbe1 w1 10.0.0.1 0 1514\n", &v, &n), 0);
	assert_int_equal(n, 1);
	server_is(&v[0], "be1", "w1", "10.0.0.1", 1514, 0, 0);
	free(v);
}

/* Field limits: what fits is kept whole, one more is refused. */
static void
test_state_limits(void **state)
{
	struct haproxy_server	*v;
	size_t			 n;
	char			 name[HAPROXY_NAME_MAX + 1], text[512];

	(void)state;
	memset(name, 'n', sizeof(name) - 1);
	name[HAPROXY_NAME_MAX - 1] = '\0';		/* 63: fits */
	snprintf(text, sizeof(text), "1\n# be_name srv_name srv_addr "
	    "srv_admin_state srv_port srv_agent_port\n"
	    "%s %s %s 255 65535 65535\nb w 10.0.0.1 0000000008 0 0\n",
	    name, name, name);
	assert_int_equal(parse_state(text, &v, &n), 0);
	assert_int_equal(n, 2);
	server_is(&v[0], name, name, name, 65535, 255, 65535);
	server_is(&v[1], "b", "w", "10.0.0.1", 0, 8, 0);
	free(v);

	name[HAPROXY_NAME_MAX - 1] = 'n';		/* 64: too long */
	name[HAPROXY_NAME_MAX] = '\0';
	snprintf(text, sizeof(text), "1\n# be_name srv_name srv_addr "
	    "srv_admin_state srv_port\nb %s 10.0.0.1 0 1514\n", name);
	assert_int_equal(parse_state(text, &v, &n), -1);
	snprintf(text, sizeof(text), "1\n# be_name srv_name srv_addr "
	    "srv_admin_state srv_port\n%s w 10.0.0.1 0 1514\n", name);
	assert_int_equal(parse_state(text, &v, &n), -1);
	snprintf(text, sizeof(text), "1\n# be_name srv_name srv_addr "
	    "srv_admin_state srv_port\nb w %s 0 1514\n", name);
	assert_int_equal(parse_state(text, &v, &n), -1);
}

/* Many servers: the array grows past its first allocations. */
static void
test_state_many(void **state)
{
	struct haproxy_server	*v;
	size_t			 n, len = 0, i;
	char			*text;

	(void)state;
	text = malloc(1000 * 64 + 128);
	assert_non_null(text);
	len += (size_t)sprintf(text, "1\n# be_name srv_name srv_addr "
	    "srv_admin_state srv_port\n");
	for (i = 0; i < 1000; i++)
		len += (size_t)sprintf(text + len, "be s%zu 10.0.%zu.%zu 0 %zu\n",
		    i, i / 256, i % 256, 1000 + i);
	assert_int_equal(parse_state_n(text, len, &v, &n), 0);
	assert_int_equal(n, 1000);
	for (i = 0; i < 1000; i += 111) {
		char	nm[16], ad[32];

		snprintf(nm, sizeof(nm), "s%zu", i);
		snprintf(ad, sizeof(ad), "10.0.%zu.%zu", i / 256, i % 256);
		server_is(&v[i], "be", nm, ad, (unsigned)(1000 + i), 0, 0);
	}
	free(v);
	free(text);
}

/* Only text[0..len) counts: an answer cut after w1 holds only w1. */
static void
test_state_length_bound(void **state)
{
	struct haproxy_server	*v;
	size_t			 n;
	const char		*w2 = strstr(STATE_REAL, "3 workers_agents 2");

	(void)state;
	assert_non_null(w2);
	assert_int_equal(parse_state_n(STATE_REAL, (size_t)(w2 - STATE_REAL),
	    &v, &n), 0);
	assert_int_equal(n, 1);
	server_is(&v[0], "workers_agents", "w1", "127.0.0.2", 1514, 0, 1518);
	free(v);
	assert_int_equal(parse_state_n(STATE_REAL, 0, &v, &n), -1);
	assert_int_equal(parse_state_n(STATE_REAL, 1, &v, &n), -1);	/* "1" */
}

/* Answers that are not a server list, and broken server lines. */
static void
test_state_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		"1",
		"1\n",
		"2\n" STATE_HEADER,
		"1 \n" STATE_HEADER,
		"01\n" STATE_HEADER,
		"\n1\n" STATE_HEADER,
		"1\r\n" STATE_HEADER,
		"1\n\n" STATE_HEADER,
		"1\nbe_id be_name srv_id srv_name srv_addr srv_admin_state "
		    "srv_port\n",
		"1\n#be_name srv_name srv_addr srv_admin_state srv_port\n",
		"Can't find backend.\n\n",
		"Unknown command: 'show servers stat', but maybe one of the "
		    "following ones is a better match:\n",
		"Permission denied\n\n",
		/* Server lines that do not reach every column. */
		"1\n" STATE_HEADER "3 workers_agents 1 w1 127.0.0.2 0 0\n",
		"1\n" STATE_HEADER "3 workers_agents 1 w1 127.0.0.2 0 0 1 1 0 8 "
		    "2 0 6 0 0 0 - 1514 - 0 0 - -\n",
		"1\n" STATE_HEADER "   \n",
		/* Numbers. */
		"1\n# be_name srv_name srv_addr srv_admin_state srv_port\n"
		    "b w 10.0.0.1 0 65536\n",
		"1\n# be_name srv_name srv_addr srv_admin_state srv_port\n"
		    "b w 10.0.0.1 0 -1\n",
		"1\n# be_name srv_name srv_addr srv_admin_state srv_port\n"
		    "b w 10.0.0.1 0 +1514\n",
		"1\n# be_name srv_name srv_addr srv_admin_state srv_port\n"
		    "b w 10.0.0.1 0 1514x\n",
		"1\n# be_name srv_name srv_addr srv_admin_state srv_port\n"
		    "b w 10.0.0.1 0 -\n",
		"1\n# be_name srv_name srv_addr srv_admin_state srv_port\n"
		    "b w 10.0.0.1 0 00000001514\n",
		"1\n# be_name srv_name srv_addr srv_admin_state srv_port\n"
		    "b w 10.0.0.1 0 99999999999999999999\n",
		"1\n# be_name srv_name srv_addr srv_admin_state srv_port\n"
		    "b w 10.0.0.1 256 1514\n",
		"1\n# be_name srv_name srv_addr srv_admin_state srv_port\n"
		    "b w 10.0.0.1 0x8 1514\n",
		"1\n# be_name srv_name srv_addr srv_admin_state srv_port "
		    "srv_agent_port\nb w 10.0.0.1 0 1514 65536\n",
		"1\n# be_name srv_name srv_addr srv_admin_state srv_port "
		    "srv_agent_port\nb w 10.0.0.1 0 1514 -\n",
		/* One bad line refuses the whole answer. */
		"1\n# be_name srv_name srv_addr srv_admin_state srv_port\n"
		    "b w1 10.0.0.1 0 1514\nb w2 10.0.0.2 0 1514\nb w3\n",
	};
	static const char *const columns[] = {
		"be_name", "srv_name", "srv_addr", "srv_admin_state", "srv_port"
	};
	struct haproxy_server	*v;
	size_t			 n, i;
	char			 text[1024], *p;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_state(bad[i], &v, &n) != -1)
			fail_msg("accepted case %zu: \"%s\"", i, bad[i]);

	/* The real header without one of the columns the balancer reads. */
	for (i = 0; i < sizeof(columns) / sizeof(columns[0]); i++) {
		snprintf(text, sizeof(text), "%s", STATE_REAL);
		p = strstr(text, columns[i]);
		assert_non_null(p);
		p[0] = 'X';
		if (parse_state(text, &v, &n) != -1)
			fail_msg("accepted without column %s", columns[i]);
	}
}

/* Longer lines than the parser holds are refused, not cut and read. */
static void
test_state_long_line(void **state)
{
	struct haproxy_server	*v;
	size_t			 n, len;
	static char		 text[8192];

	(void)state;
	len = (size_t)sprintf(text, "1\n# be_name srv_name srv_addr "
	    "srv_admin_state srv_port\nb w 10.0.0.1 0 1514");
	memset(text + len, ' ', 3000);		/* trailing blanks */
	len += 3000;
	memcpy(text + len, "\n", 1);
	len++;
	assert_int_equal(parse_state_n(text, len, &v, &n), -1);

	/* A short enough one with the same blanks passes. */
	len = (size_t)sprintf(text, "1\n# be_name srv_name srv_addr "
	    "srv_admin_state srv_port\nb w 10.0.0.1 0 1514");
	memset(text + len, ' ', 1000);
	len += 1000;
	assert_int_equal(parse_state_n(text, len, &v, &n), 0);
	assert_int_equal(n, 1);
	server_is(&v[0], "b", "w", "10.0.0.1", 1514, 0, 0);
	free(v);
}

static void
test_admin_name(void **state)
{
	static const struct {
		unsigned	 admin;
		const char	*name;
	} t[] = {
		{ 0x00, "ready" },
		{ 0x01, "maint" },	/* forced (set server state maint) */
		{ 0x02, "maint" },	/* inherited */
		{ 0x04, "maint" },	/* config ("disabled") */
		{ 0x08, "drain" },	/* forced (or the agent's "drain") */
		{ 0x10, "drain" },	/* inherited */
		{ 0x20, "maint" },	/* resolution */
		{ 0x40, "maint" },	/* hostname */
		{ 0x09, "maint" },	/* maintenance wins over drain */
		{ 0x18, "drain" },
		{ 0x80, "ready" },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(haproxy_admin_name(t[i].admin), t[i].name) != 0)
			fail_msg("admin 0x%02x: \"%s\", expected \"%s\"",
			    t[i].admin, haproxy_admin_name(t[i].admin),
			    t[i].name);
	assert_string_equal(haproxy_admin_name(HAPROXY_ADMF_FMAINT), "maint");
	assert_string_equal(haproxy_admin_name(HAPROXY_ADMF_FDRAIN), "drain");
}

/* ---- show stat ---- */

static void
test_stat_real(void **state)
{
	struct haproxy_server	*v;
	size_t			 n;

	(void)state;
	assert_int_equal(parse_state(STATE_REAL, &v, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(merge_stat(STAT_REAL, v, n), 0);
	stat_is(&v[0], "UP", 4);
	stat_is(&v[1], "UP", 1);
	stat_is(&v[2], "UP", 0);
	stat_is(&v[3], "MAINT", 0);
	/* The state fields are left alone. */
	server_is(&v[0], "workers_agents", "w1", "127.0.0.2", 1514, 0, 1518);
	free(v);

	/* Plain "show stat": FRONTEND and BACKEND lines are not servers. */
	assert_int_equal(parse_state(STATE_REAL, &v, &n), 0);
	assert_int_equal(merge_stat(STAT_ALL_REAL, v, n), 0);
	stat_is(&v[0], "UP", 4);
	stat_is(&v[1], "UP", 1);
	stat_is(&v[2], "UP", 0);
	stat_is(&v[3], "MAINT", 0);
	free(v);

	assert_int_equal(parse_state(STATE_DRAIN_REAL, &v, &n), 0);
	assert_int_equal(merge_stat(STAT_DRAIN_REAL, v, n), 0);
	stat_is(&v[0], "DRAIN (agent)", 0);
	stat_is(&v[1], "DRAIN", 0);
	stat_is(&v[2], "UP", 0);
	stat_is(&v[3], "MAINT", 0);
	free(v);
}

/*
 * Servers HAProxy does not list keep no status; listed servers the
 * balancer does not hold are skipped; a name is matched within its
 * backend only.
 */
static void
test_stat_matching(void **state)
{
	struct haproxy_server	v[3];

	(void)state;
	memset(v, 0, sizeof(v));
	strcpy(v[0].backend, "be1");
	strcpy(v[0].name, "w1");
	strcpy(v[1].backend, "be2");
	strcpy(v[1].name, "w1");
	strcpy(v[2].backend, "be1");
	strcpy(v[2].name, "gone");
	v[2].connections = 77;
	assert_int_equal(merge_stat("# pxname,svname,scur,status\n"
	    "be1,w1,3,UP\nbe2,w1,5,DOWN\nbe1,other,9,UP\nbe3,w1,11,UP\n"
	    "be1,BACKEND,3,UP\nfe,FRONTEND,8,OPEN\n", v, 3), 0);
	stat_is(&v[0], "UP", 3);
	stat_is(&v[1], "DOWN", 5);
	stat_is(&v[2], "", 77);

	/* A later answer replaces what an earlier one said. */
	assert_int_equal(merge_stat("# pxname,svname,scur,status\n"
	    "be1,w1,0,no check\n", v, 3), 0);
	stat_is(&v[0], "no check", 0);
	stat_is(&v[1], "DOWN", 5);

	/* No servers to merge into: the answer is still checked. */
	assert_int_equal(merge_stat(STAT_ALL_REAL, NULL, 0), 0);
	assert_int_equal(merge_stat("# pxname,svname,scur,status\nbe1,w1,x,UP\n",
	    NULL, 0), -1);
}

/* Columns by name; what follows the columns read is not looked at. */
static void
test_stat_columns(void **state)
{
	struct haproxy_server	v[1];

	(void)state;
	memset(v, 0, sizeof(v));
	strcpy(v[0].backend, "be1");
	strcpy(v[0].name, "w1");
	assert_int_equal(merge_stat("# status,x,scur,svname,pxname,\n"
	    "UP,,12,w1,be1,\n", v, 1), 0);
	stat_is(&v[0], "UP", 12);
	/* HAProxy quotes text holding commas; those come after status. */
	assert_int_equal(merge_stat("# pxname,svname,scur,status,last_agt\n"
	    "be1,w1,4294967295,DRAIN (agent),\"ready,drain 50%, hi\",,\n", v, 1),
	    0);
	stat_is(&v[0], "DRAIN (agent)", 4294967295u);
}

/* A status longer than the field is cut, NUL-terminated. */
static void
test_stat_long_status(void **state)
{
	struct haproxy_server	v[1];
	char			 text[256], status[64];

	(void)state;
	memset(v, 0, sizeof(v));
	strcpy(v[0].backend, "be1");
	strcpy(v[0].name, "w1");
	memset(status, 'S', sizeof(status) - 1);
	status[sizeof(status) - 1] = '\0';
	snprintf(text, sizeof(text), "# pxname,svname,scur,status\n"
	    "be1,w1,1,%s\n", status);
	assert_int_equal(merge_stat(text, v, 1), 0);
	assert_int_equal(strlen(v[0].status), sizeof(v[0].status) - 1);
	assert_memory_equal(v[0].status, status, sizeof(v[0].status) - 1);
	assert_int_equal(v[0].connections, 1);
}

static void
test_stat_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		"pxname,svname,scur,status\nbe1,w1,1,UP\n",
		"#pxname,svname,scur,status\nbe1,w1,1,UP\n",
		"\n# pxname,svname,scur,status\nbe1,w1,1,UP\n",
		"# svname,scur,status\nbe1,w1,1,UP\n",
		"# pxname,scur,status\nbe1,w1,1,UP\n",
		"# pxname,svname,status\nbe1,w1,1,UP\n",
		"# pxname,svname,scur\nbe1,w1,1,UP\n",
		"# pxname svname scur status\nbe1 w1 1 UP\n",
		"Unknown command.\n",
		/* Lines short of a column read, bad connection counts. */
		"# pxname,svname,scur,status\nbe1,w1,1\n",
		"# pxname,svname,scur,status\nbe1\n",
		"# pxname,svname,scur,status\nbe1,w1,,UP\n",
		"# pxname,svname,scur,status\nbe1,w1,-1,UP\n",
		"# pxname,svname,scur,status\nbe1,w1,4294967296,UP\n",
		"# pxname,svname,scur,status\nbe1,w1,1 ,UP\n",
		"# pxname,svname,scur,status\nbe1,w1,0x1,UP\n",
		"# pxname,svname,scur,status\nbe1,w1,1,UP\nbe1,w2,1\n",
	};
	struct haproxy_server	v[1];
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(v, 0, sizeof(v));
		strcpy(v[0].backend, "be1");
		strcpy(v[0].name, "w1");
		if (merge_stat(bad[i], v, 1) != -1)
			fail_msg("accepted case %zu: \"%s\"", i, bad[i]);
	}
}

/* A line longer than the parser holds is refused, not cut. */
static void
test_stat_long_line(void **state)
{
	struct haproxy_server	 v[1];
	static char		 text[16384];
	size_t			 len;

	(void)state;
	memset(v, 0, sizeof(v));
	strcpy(v[0].backend, "be1");
	strcpy(v[0].name, "w1");
	len = (size_t)sprintf(text, "# pxname,svname,scur,status,desc\n"
	    "be1,w1,1,UP,");
	memset(text + len, 'd', 5000);
	text[len + 5000] = '\0';
	assert_int_equal(merge_stat(text, v, 1), -1);
	text[len + 2000] = '\0';
	assert_int_equal(merge_stat(text, v, 1), 0);
	stat_is(&v[0], "UP", 1);
}

/* ---- haproxy.cfg pool blocks ---- */

#define CFG_HEAD \
	"global\n" \
	"    stats socket /run/haproxy/admin.sock mode 600 level admin\n" \
	"    server-state-file /var/lib/haproxy/server-state\n" \
	"\n" \
	"defaults\n" \
	"    mode tcp\n" \
	"    load-server-state-from-file global\n" \
	"\n" \
	"frontend agents\n" \
	"    bind 192.0.2.10:1514\n" \
	"    default_backend workers_agents\n" \
	"\n" \
	"backend workers_agents\n" \
	"    balance leastconn\n" \
	"    option redispatch\n" \
	"    retries 2\n" \
	"    # Servers are written out in full.\n" \
	"    # clusterd pool begin\n"
#define CFG_WORKERS \
	"    server worker1 10.0.0.11:1514 check inter 2s fall 3 rise 2 " \
	    "weight 100 agent-check agent-port 1518 agent-inter 5s\n" \
	"    server worker2 10.0.0.12:1514 check inter 2s fall 3 rise 2 " \
	    "weight 100 agent-check agent-port 1518 agent-inter 5s\n"
#define CFG_MID \
	"    # clusterd pool end\n" \
	"\n" \
	"frontend enrollment\n" \
	"    bind 192.0.2.10:1515\n" \
	"    default_backend nodes_enrollment\n" \
	"\n" \
	"backend nodes_enrollment\n" \
	"    balance roundrobin\n" \
	"    # clusterd pool begin\n"
#define CFG_NODES \
	"    server master1 10.0.0.10:1515 check inter 2s fall 3 rise 2\n"
#define CFG_TAIL \
	"    # clusterd pool end\n" \
	"\n" \
	"listen stats\n" \
	"    mode http\n" \
	"    bind 127.0.0.1:8404\n"

#define NEW_WORKERS \
	"    server worker2 10.0.0.12:1514 check inter 2s fall 3 rise 2\n" \
	"    server worker3 10.0.0.13:1514 check inter 2s fall 3 rise 2\n" \
	"    server worker4 10.0.0.14:1514 check inter 2s fall 3 rise 2\n"

static const char CFG[] = CFG_HEAD CFG_WORKERS CFG_MID CFG_NODES CFG_TAIL;

/* Rewrite text (its exact length, no NUL) in backend; -1 or 0 with *out. */
static int
rewrite(const char *text, const char *backend, const char *servers,
    char **out)
{
	size_t	 len = strlen(text);
	char	*p = exact(text, len);
	int	 r;

	*out = (char *)p;		/* must be reset */
	r = haproxy_rewrite_pool(p, len, backend, servers, out);
	free(p);
	if (r == -1)
		assert_null(*out);
	return r;
}

static void
test_rewrite_template(void **state)
{
	char	*out, *out2;

	(void)state;
	assert_int_equal(rewrite(CFG, "workers_agents", NEW_WORKERS, &out), 0);
	assert_string_equal(out, CFG_HEAD NEW_WORKERS CFG_MID CFG_NODES
	    CFG_TAIL);
	assert_int_equal(rewrite(out, "nodes_enrollment", CFG_NODES CFG_WORKERS,
	    &out2), 0);
	assert_string_equal(out2, CFG_HEAD NEW_WORKERS CFG_MID CFG_NODES
	    CFG_WORKERS CFG_TAIL);
	free(out);
	free(out2);

	/* The same servers again: the same file. */
	assert_int_equal(rewrite(CFG, "workers_agents", CFG_WORKERS, &out), 0);
	assert_string_equal(out, CFG);
	free(out);
}

/* An empty pool leaves the markers next to each other, and fills again. */
static void
test_rewrite_empty_pool(void **state)
{
	char	*out, *out2;

	(void)state;
	assert_int_equal(rewrite(CFG, "workers_agents", "", &out), 0);
	assert_string_equal(out, CFG_HEAD CFG_MID CFG_NODES CFG_TAIL);
	assert_int_equal(rewrite(out, "workers_agents", CFG_WORKERS, &out2), 0);
	assert_string_equal(out2, CFG);
	free(out);
	free(out2);
}

/*
 * Layouts HAProxy reads: tabs, CRLF, a comment after the name, no final
 * newline, comment lines at the start of a line inside the section.
 */
static void
test_rewrite_layouts(void **state)
{
	static const struct {
		const char	*in, *out;
	} t[] = {
		{ "backend be1\n\t# clusterd pool begin\n\tserver a 1.1.1.1:1\n"
		    "\t# clusterd pool end\n",
		  "backend be1\n\t# clusterd pool begin\nNEW\n"
		    "\t# clusterd pool end\n" },
		{ "backend be1 # the agents\n  # clusterd pool begin\n"
		    "  # clusterd pool end",
		  "backend be1 # the agents\n  # clusterd pool begin\nNEW\n"
		    "  # clusterd pool end" },
		{ "backend be1\r\n    # clusterd pool begin\r\n    server a "
		    "1.1.1.1:1\r\n    # clusterd pool end\r\n",
		  "backend be1\r\n    # clusterd pool begin\r\nNEW\n"
		    "    # clusterd pool end\r\n" },
		{ "backend be1\n# a comment at column 0\n\n    balance first\n"
		    "#clusterd pool begin\n# clusterd pool begin\n  old\n"
		    "# clusterd pool end\n# clusterd pool end\nbackend be2\n",
		  "backend be1\n# a comment at column 0\n\n    balance first\n"
		    "#clusterd pool begin\n# clusterd pool begin\nNEW\n"
		    "# clusterd pool end\n# clusterd pool end\nbackend be2\n" },
		/* Other sections, and a longer name, are passed over. */
		{ "backend be10\n    # clusterd pool begin\n    # clusterd pool "
		    "end\nbackend be1\n    # clusterd pool begin\n    # "
		    "clusterd pool end\n",
		  "backend be10\n    # clusterd pool begin\n    # clusterd pool "
		    "end\nbackend be1\n    # clusterd pool begin\nNEW\n    # "
		    "clusterd pool end\n" },
		{ "# clusterd pool begin\n# clusterd pool end\nbackend be1\n"
		    "    # clusterd pool begin\n    # clusterd pool end\n",
		  "# clusterd pool begin\n# clusterd pool end\nbackend be1\n"
		    "    # clusterd pool begin\nNEW\n    # clusterd pool end\n" },
	};
	char	*out;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (rewrite(t[i].in, "be1", "NEW\n", &out) != 0)
			fail_msg("case %zu refused", i);
		if (strcmp(out, t[i].out) != 0)
			fail_msg("case %zu:\n%s\nexpected:\n%s", i, out,
			    t[i].out);
		free(out);
	}
}

/* No rewrite without the backend and both its markers. */
static void
test_rewrite_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		"backend be1\n",
		"backend be1",
		"backend be2\n    # clusterd pool begin\n    # clusterd pool "
		    "end\n",
		"backend be10\n    # clusterd pool begin\n    # clusterd pool "
		    "end\n",
		"backend\n    # clusterd pool begin\n    # clusterd pool end\n",
		"listen be1\n    # clusterd pool begin\n    # clusterd pool "
		    "end\n",
		"frontend be1\n    # clusterd pool begin\n    # clusterd pool "
		    "end\n",
		" backend be1\n    # clusterd pool begin\n    # clusterd pool "
		    "end\n",
		"Backend be1\n    # clusterd pool begin\n    # clusterd pool "
		    "end\n",
		/* Markers missing, in the wrong order, or in the next section. */
		"backend be1\n    server a 1.1.1.1:1\n",
		"backend be1\n    # clusterd pool begin\n    server a 1.1.1.1:1\n",
		"backend be1\n    # clusterd pool begin",
		"backend be1\n    server a 1.1.1.1:1\n    # clusterd pool end\n",
		"backend be1\n    # clusterd pool end\n",
		"backend be1\n    # clusterd pool begin\nbackend be2\n"
		    "    # clusterd pool end\n",
		"backend be1\nbackend be2\n    # clusterd pool begin\n"
		    "    # clusterd pool end\n",
		"# clusterd pool begin\nbackend be1\n    # clusterd pool end\n",
		/*
		 * A line at column 0 that is not a comment ends the section
		 * as far as the rewrite knows: such a file is left alone.
		 */
		"backend be1\n    # clusterd pool begin\nserver a 1.1.1.1:1\n"
		    "    # clusterd pool end\n",
		"backend be1\n    # clusterd pool start\n    # clusterd pool "
		    "end\n",
	};
	char	*out, longname[HAPROXY_NAME_MAX + 32];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (rewrite(bad[i], "be1", "NEW\n", &out) != -1) {
			free(out);
			fail_msg("accepted case %zu: \"%s\"", i, bad[i]);
		}
	/* A backend name longer than any HAProxy name it could match. */
	memset(longname, 'b', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(rewrite(CFG, longname, "NEW\n", &out), -1);
	assert_int_equal(rewrite(CFG, "workers", "NEW\n", &out), -1);
	assert_int_equal(rewrite(CFG, "", "NEW\n", &out), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_sample),
		cmocka_unit_test(test_state_real),
		cmocka_unit_test(test_state_no_servers),
		cmocka_unit_test(test_state_columns_by_name),
		cmocka_unit_test(test_state_limits),
		cmocka_unit_test(test_state_many),
		cmocka_unit_test(test_state_length_bound),
		cmocka_unit_test(test_state_refused),
		cmocka_unit_test(test_state_long_line),
		cmocka_unit_test(test_admin_name),
		cmocka_unit_test(test_stat_real),
		cmocka_unit_test(test_stat_matching),
		cmocka_unit_test(test_stat_columns),
		cmocka_unit_test(test_stat_long_status),
		cmocka_unit_test(test_stat_refused),
		cmocka_unit_test(test_stat_long_line),
		cmocka_unit_test(test_rewrite_template),
		cmocka_unit_test(test_rewrite_empty_pool),
		cmocka_unit_test(test_rewrite_layouts),
		cmocka_unit_test(test_rewrite_refused),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
