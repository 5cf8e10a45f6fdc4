/*
 * test_lbpool: a pool as the master sends it to a balancer.  Its names and
 * addresses end up in HAProxy Runtime API commands ("add server be/NAME
 * ADDR:PORT ...", where a blank starts another argument and ';' or a
 * newline another command) and in haproxy.cfg, so every member is checked
 * and one bad member refuses the pool.  Also the server options both of
 * those use, which must stay those of lb/render.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "lb/lbpool.h"

#define CHECK_OPTS	"send-proxy-v2 check inter 1500ms fastinter 250ms downinter 1s " \
			"fall 3 rise 2"
#define AGENT_OPTS(p)	CHECK_OPTS " on-marked-down shutdown-sessions port " p \
			" weight 100 agent-check agent-port " p " agent-inter 2s"

/* The parsed servers, then guard entries lbpool_parse must not touch. */
static struct {
	struct lbpool_server	s[LBPOOL_MAX + 4];
	size_t			n;
	char			err[128];
} G;

/*
 * lbpool_parse of text (JSON) with room for max servers; the entries past
 * max are guards.  A refusal leaves an error message.
 */
static int
parse_max(const char *text, size_t max)
{
	cJSON	*j = cJSON_Parse(text);
	size_t	 i;
	int	 r;

	if (j == NULL)
		fail_msg("not JSON: %s", text);
	assert_true(max + 4 <= sizeof(G.s) / sizeof(G.s[0]));
	memset(G.s, 0xa5, sizeof(G.s));
	strcpy(G.err, "untouched");
	G.n = 99999;
	r = lbpool_parse(j, G.s, max, &G.n, G.err, sizeof(G.err));
	cJSON_Delete(j);
	for (i = max; i < max + 4; i++) {
		const unsigned char	*b = (const unsigned char *)&G.s[i];
		size_t			 k;

		for (k = 0; k < sizeof(G.s[i]); k++)
			if (b[k] != 0xa5)
				fail_msg("entry %zu written (max %zu)", i, max);
	}
	assert_true(r == 0 || r == -1);
	if (r == 0) {
		assert_true(G.n <= max);
		assert_string_equal(G.err, "untouched");
	} else
		assert_true(G.err[0] != '\0' && strcmp(G.err, "untouched") != 0);
	return r;
}

static int
parse(const char *text)
{
	return parse_max(text, LBPOOL_MAX);
}

/* The base member, "w1", with key set to value (JSON) or removed (NULL). */
static int
parse_member(const char *key, const char *value)
{
	cJSON	*j, *o, *v;
	char	*text;
	int	 r;

	j = cJSON_Parse("[{\"name\":\"w1\",\"address\":\"10.0.0.1\",\"port\":"
	    "1514,\"state\":\"ready\"}]");
	assert_non_null(j);
	o = cJSON_GetArrayItem(j, 0);
	assert_non_null(o);
	cJSON_DeleteItemFromObjectCaseSensitive(o, key);
	if (value != NULL) {
		if ((v = cJSON_Parse(value)) == NULL)
			fail_msg("not JSON: %s", value);
		cJSON_AddItemToObject(o, key, v);
	}
	text = cJSON_PrintUnformatted(j);
	assert_non_null(text);
	r = parse(text);
	cJSON_free(text);
	cJSON_Delete(j);
	return r;
}

static int
parse_without(const char *key)
{
	return parse_member(key, NULL);
}

static void
server_is(const struct lbpool_server *s, const char *name, const char *addr,
    unsigned port, unsigned check_port, enum lbpool_state st)
{
	assert_string_equal(s->name, name);
	assert_string_equal(s->address, addr);
	assert_int_equal(s->port, port);
	assert_int_equal(s->check_port, check_port);
	assert_int_equal(s->state, st);
}

/*
 * The Runtime API command the balancer builds from a member: one line of
 * exactly "add server", the target, the address and the options' words.
 */
static void
command_is_one(const struct lbpool_server *s)
{
	char	opts[LBPOOL_OPTS_MAX], cmd[512];
	size_t	i, words = 1;

	assert_int_equal(lbpool_server_options(s, opts, sizeof(opts)), 0);
	snprintf(cmd, sizeof(cmd), "add server workers_agents/%s %s:%u %s",
	    s->name, s->address, s->port, opts);
	for (i = 0; cmd[i] != '\0'; i++) {
		if (cmd[i] == ';' || cmd[i] == '\n' || cmd[i] == '\r' ||
		    cmd[i] == '\t' || cmd[i] == '#' || cmd[i] == '\\' ||
		    cmd[i] == '"' || cmd[i] == '\'')
			fail_msg("'%c' in \"%s\"", cmd[i], cmd);
		if (cmd[i] == ' ')
			words++;
	}
	assert_int_equal(words, s->check_port ? 27 : 16);	/* send-proxy-v2 */
}

/* What the master's pools_snapshot sends. */
static void
test_parse_good(void **state)
{
	size_t	i;

	(void)state;
	assert_int_equal(parse("["
	    "{\"name\":\"worker1\",\"address\":\"10.0.0.11\",\"port\":1514,"
	    "\"check_port\":1518,\"state\":\"ready\"},"
	    "{\"name\":\"worker-2\",\"address\":\"fe80::1\",\"port\":1,"
	    "\"state\":\"drain\"},"
	    "{\"name\":\"W_3\",\"address\":\"node-3.example.com\","
	    "\"port\":65535,\"check_port\":65535,\"state\":\"maint\","
	    "\"extra\":[1,2]},"
	    "{\"state\":\"ready\",\"port\":1514.0,\"address\":\"2001:DB8::A\","
	    "\"name\":\"4\"}"
	    "]"), 0);
	assert_int_equal(G.n, 4);
	server_is(&G.s[0], "worker1", "10.0.0.11", 1514, 1518, LBPOOL_READY);
	server_is(&G.s[1], "worker-2", "fe80::1", 1, 0, LBPOOL_DRAIN);
	server_is(&G.s[2], "W_3", "node-3.example.com", 65535, 65535,
	    LBPOOL_MAINT);
	server_is(&G.s[3], "4", "2001:DB8::A", 1514, 0, LBPOOL_READY);
	for (i = 0; i < G.n; i++)
		command_is_one(&G.s[i]);

	/* An empty pool is a pool. */
	assert_int_equal(parse("[]"), 0);
	assert_int_equal(G.n, 0);
	assert_int_equal(parse_max("[]", 0), 0);
	assert_int_equal(G.n, 0);
}

/* Longest name and address that fit are kept whole. */
static void
test_parse_longest(void **state)
{
	char	name[64], addr[64], text[512];

	(void)state;
	memset(name, 'n', 63);
	name[63] = '\0';
	memset(addr, 'a', 63);
	addr[63] = '\0';
	snprintf(text, sizeof(text), "[{\"name\":\"%s\",\"address\":\"%s\","
	    "\"port\":1514,\"check_port\":1518,\"state\":\"ready\"}]", name,
	    addr);
	assert_int_equal(parse(text), 0);
	assert_int_equal(G.n, 1);
	server_is(&G.s[0], name, addr, 1514, 1518, LBPOOL_READY);
	command_is_one(&G.s[0]);

	/* One more character is refused. */
	snprintf(text, sizeof(text), "[{\"name\":\"%sn\",\"address\":\"a\","
	    "\"port\":1514,\"state\":\"ready\"}]", name);
	assert_int_equal(parse(text), -1);
	assert_string_equal(G.err, "server 0: bad name");
	snprintf(text, sizeof(text), "[{\"name\":\"w1\",\"address\":\"%sa\","
	    "\"port\":1514,\"state\":\"ready\"}]", addr);
	assert_int_equal(parse(text), -1);
	assert_string_equal(G.err, "w1: bad address");
}

static void
test_parse_not_array(void **state)
{
	static const char *const bad[] = {
		"{}", "{\"name\":\"w1\"}", "\"w1\"", "1", "null", "true", "false",
	};
	size_t	i, n = 7;
	char	err[64];

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i]), -1);
		assert_string_equal(G.err, "pool is not an array");
		assert_int_equal(G.n, 0);
	}
	/* A pool missing from the master's message. */
	assert_int_equal(lbpool_parse(NULL, G.s, LBPOOL_MAX, &n, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "pool is not an array");
	assert_int_equal(n, 0);
}

/* Members that are not objects have no name. */
static void
test_parse_member_not_object(void **state)
{
	static const char *const bad[] = {
		"[1]", "[\"w1\"]", "[null]", "[true]", "[[]]",
		"[[\"name\",\"w1\"]]",
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i]), -1);
		assert_string_equal(G.err, "server 0: bad name");
	}
	assert_int_equal(parse("[{\"name\":\"w1\",\"address\":\"10.0.0.1\","
	    "\"port\":1514,\"state\":\"ready\"},7]"), -1);
	assert_string_equal(G.err, "server 1: bad name");
}

/* Names: 1 to 63 of A-Z a-z 0-9 _ - (a node name), nothing else. */
static void
test_parse_bad_names(void **state)
{
	static const char *const bad[] = {
		"\"\"", "\" \"", "\"w 1\"", "\"w1 \"", "\" w1\"", "\"w1;\"",
		"\"w1;shutdown sessions server be/w2\"", "\"w1\\nshow info\"",
		"\"w1\\r\"", "\"w1\\t\"", "\"w/1\"", "\"be/w1\"", "\"w.1\"",
		"\"w:1\"", "\"w#1\"", "\"w1\\\\\"", "\"w\\\"1\"", "\"w'1\"",
		"\"w\\u00e91\"", "\"w1\\u0001\"", "\"$w\"", "\"w*\"",
		"1", "null", "true", "[]", "{}", "[\"w1\"]",
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse_member("name", bad[i]) != -1)
			fail_msg("name %s accepted", bad[i]);
		assert_string_equal(G.err, "server 0: bad name");
	}
	assert_int_equal(parse_without("name"), -1);
	assert_string_equal(G.err, "server 0: bad name");
	/* Names are case sensitive; the key too. */
	assert_int_equal(parse("[{\"Name\":\"w1\",\"address\":\"10.0.0.1\","
	    "\"port\":1514,\"state\":\"ready\"}]"), -1);
	assert_string_equal(G.err, "server 0: bad name");
}

/*
 * Addresses: an IPv4 or IPv6 address or a host name, nothing a Runtime
 * API line or a haproxy.cfg line would split or read otherwise.
 */
static void
test_parse_bad_addresses(void **state)
{
	static const char *const bad[] = {
		"\"\"", "\" \"", "\"10.0.0.1 \"", "\" 10.0.0.1\"",
		"\"10.0.0.1 check\"", "\"10.0.0.1;\"",
		"\"10.0.0.1;shutdown sessions server workers_agents/w2\"",
		"\"10.0.0.1\\nset server workers_agents/w2 state maint\"",
		"\"10.0.0.1\\r\"", "\"10.0.0.1\\t\"", "\"10.0.0.1#\"",
		"\"10.0.0.1/24\"", "\"[::1]\"", "\"fe80::1%eth0\"",
		"\"10.0.0.1,10.0.0.2\"", "\"${HOST}\"", "\"@host\"",
		"\"unix@/run/x\"", "\"ipv4@10.0.0.1\"", "\"host_name\"",
		"\"10.0.0.1\\\\\"", "\"'10.0.0.1'\"", "\"\\\"10.0.0.1\\\"\"",
		"\"n\\u00e9\"", "\"10.0.0.1\\u007f\"",
		"1", "167772161", "null", "true", "[]", "{}",
		"[\"10.0.0.1\"]",
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse_member("address", bad[i]) != -1)
			fail_msg("address %s accepted", bad[i]);
		assert_string_equal(G.err, "w1: bad address");
	}
	assert_int_equal(parse_without("address"), -1);
	assert_string_equal(G.err, "w1: bad address");
}

static void
test_parse_ports(void **state)
{
	static const char *const bad[] = {
		"0", "-1", "65536", "70000", "1.5", "1514.5", "1e10", "-1e10",
		"1e999", "-1e999", "4294968810", "\"1514\"", "\"\"", "true",
		"null", "[]", "{}", "[1514]",
	};
	static const struct {
		const char	*json;
		unsigned	 port;
	} good[] = {
		{ "1", 1 }, { "65535", 65535 }, { "1514", 1514 },
		{ "1514.0", 1514 }, { "1.514e3", 1514 }, { "15140e-1", 1514 },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse_member("port", bad[i]) != -1)
			fail_msg("port %s accepted", bad[i]);
		assert_string_equal(G.err, "w1: bad port");
		if (parse_member("check_port", bad[i]) != -1)
			fail_msg("check_port %s accepted", bad[i]);
		assert_string_equal(G.err, "w1: bad check_port");
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (parse_member("port", good[i].json) != 0)
			fail_msg("port %s refused: %s", good[i].json, G.err);
		assert_int_equal(G.s[0].port, good[i].port);
		assert_int_equal(G.s[0].check_port, 0);
		if (parse_member("check_port", good[i].json) != 0)
			fail_msg("check_port %s refused: %s", good[i].json,
			    G.err);
		assert_int_equal(G.s[0].port, 1514);
		assert_int_equal(G.s[0].check_port, good[i].port);
	}
	assert_int_equal(parse_without("port"), -1);
	assert_string_equal(G.err, "w1: bad port");
	/* Infinities, straight from the text (cJSON prints them as null). */
	assert_int_equal(parse("[{\"name\":\"w1\",\"address\":\"10.0.0.1\","
	    "\"port\":1e999,\"state\":\"ready\"}]"), -1);
	assert_string_equal(G.err, "w1: bad port");
	assert_int_equal(parse("[{\"name\":\"w1\",\"address\":\"10.0.0.1\","
	    "\"port\":1514,\"check_port\":-1e999,\"state\":\"ready\"}]"), -1);
	assert_string_equal(G.err, "w1: bad check_port");
	/* No check_port: no agent-check. */
	assert_int_equal(parse_without("check_port"), 0);
	assert_int_equal(G.s[0].check_port, 0);
}

static void
test_parse_states(void **state)
{
	static const char *const bad[] = {
		"\"\"", "\"READY\"", "\"Ready\"", "\"ready \"", "\" ready\"",
		"\"up\"", "\"down\"", "\"drain;\"", "\"maintenance\"",
		"\"readyx\"", "\"rea\"", "0", "1", "null", "true", "[]", "{}",
		"[\"ready\"]",
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse_member("state", bad[i]) != -1)
			fail_msg("state %s accepted", bad[i]);
		assert_string_equal(G.err, "w1: bad state");
	}
	assert_int_equal(parse_without("state"), -1);
	assert_string_equal(G.err, "w1: bad state");
	assert_int_equal(parse_member("state", "\"drain\""), 0);
	assert_int_equal(G.s[0].state, LBPOOL_DRAIN);
	assert_int_equal(parse_member("state", "\"maint\""), 0);
	assert_int_equal(G.s[0].state, LBPOOL_MAINT);
	assert_int_equal(parse_member("state", "\"ready\""), 0);
	assert_int_equal(G.s[0].state, LBPOOL_READY);
}

/* One server name once per pool; names differ by case in HAProxy. */
static void
test_parse_duplicates(void **state)
{
	(void)state;
	assert_int_equal(parse("["
	    "{\"name\":\"w1\",\"address\":\"10.0.0.1\",\"port\":1514,"
	    "\"state\":\"ready\"},"
	    "{\"name\":\"w2\",\"address\":\"10.0.0.2\",\"port\":1514,"
	    "\"state\":\"ready\"},"
	    "{\"name\":\"w1\",\"address\":\"10.0.0.3\",\"port\":1515,"
	    "\"state\":\"drain\"}]"), -1);
	assert_string_equal(G.err, "w1 twice");
	assert_int_equal(parse("["
	    "{\"name\":\"w1\",\"address\":\"10.0.0.1\",\"port\":1514,"
	    "\"state\":\"ready\"},"
	    "{\"name\":\"W1\",\"address\":\"10.0.0.1\",\"port\":1514,"
	    "\"state\":\"ready\"}]"), 0);
	assert_int_equal(G.n, 2);
}

/* No more servers than the caller has room for. */
static void
test_parse_max(void **state)
{
	char	*text;
	size_t	 i, len = 0, cap = (LBPOOL_MAX + 1) * 96 + 8;

	(void)state;
	text = malloc(cap);
	assert_non_null(text);
	text[len++] = '[';
	for (i = 0; i < LBPOOL_MAX; i++)
		len += (size_t)snprintf(text + len, cap - len, "%s{\"name\":"
		    "\"w%zu\",\"address\":\"10.0.%zu.%zu\",\"port\":1514,"
		    "\"state\":\"ready\"}", i ? "," : "", i, i / 256, i % 256);
	memcpy(text + len, "]", 2);
	assert_int_equal(parse(text), 0);
	assert_int_equal(G.n, LBPOOL_MAX);
	server_is(&G.s[LBPOOL_MAX - 1], "w1023", "10.0.3.255", 1514, 0,
	    LBPOOL_READY);

	/* One more. */
	snprintf(text + len, cap - len, ",{\"name\":\"w%d\",\"address\":"
	    "\"10.1.0.0\",\"port\":1514,\"state\":\"ready\"}]", LBPOOL_MAX);
	assert_int_equal(parse(text), -1);
	assert_string_equal(G.err, "more than 1024 servers");
	free(text);

	/* A smaller room: the entries after it stay untouched. */
	assert_int_equal(parse_max("["
	    "{\"name\":\"w1\",\"address\":\"10.0.0.1\",\"port\":1514,"
	    "\"state\":\"ready\"},"
	    "{\"name\":\"w2\",\"address\":\"10.0.0.2\",\"port\":1514,"
	    "\"state\":\"ready\"}]", 2), 0);
	assert_int_equal(G.n, 2);
	assert_int_equal(parse_max("["
	    "{\"name\":\"w1\",\"address\":\"10.0.0.1\",\"port\":1514,"
	    "\"state\":\"ready\"},"
	    "{\"name\":\"w2\",\"address\":\"10.0.0.2\",\"port\":1514,"
	    "\"state\":\"ready\"},"
	    "{\"name\":\"w3\",\"address\":\"10.0.0.3\",\"port\":1514,"
	    "\"state\":\"ready\"}]", 2), -1);
	assert_string_equal(G.err, "more than 2 servers");
	assert_int_equal(parse_max("[{\"name\":\"w1\",\"address\":\"10.0.0.1\","
	    "\"port\":1514,\"state\":\"ready\"}]", 0), -1);
	assert_string_equal(G.err, "more than 0 servers");
}

/* The error text is cut to the buffer, never overflowing it. */
static void
test_parse_small_err(void **state)
{
	cJSON	*j;
	char	 err[16];
	size_t	 n;

	(void)state;
	j = cJSON_Parse("[{\"name\":\"w1\",\"address\":\"10.0.0.1 x\","
	    "\"port\":1514,\"state\":\"ready\"}]");
	assert_non_null(j);
	memset(err, 'Z', sizeof(err));
	assert_int_equal(lbpool_parse(j, G.s, LBPOOL_MAX, &n, err, 6), -1);
	assert_string_equal(err, "w1: b");
	assert_int_equal(err[6], 'Z');
	cJSON_Delete(j);
}

static void
test_server_options(void **state)
{
	struct lbpool_server	s;
	char			out[LBPOOL_OPTS_MAX], small[LBPOOL_OPTS_MAX];
	size_t			need;

	(void)state;
	memset(&s, 0, sizeof(s));
	strcpy(s.name, "w1");
	strcpy(s.address, "10.0.0.1");
	s.port = 1514;
	assert_int_equal(lbpool_server_options(&s, out, sizeof(out)), 0);
	assert_string_equal(out, CHECK_OPTS);
	s.check_port = 1518;
	assert_int_equal(lbpool_server_options(&s, out, sizeof(out)), 0);
	assert_string_equal(out, AGENT_OPTS("1518"));
	s.check_port = 65535;
	assert_int_equal(lbpool_server_options(&s, out, sizeof(out)), 0);
	assert_string_equal(out, AGENT_OPTS("65535"));

	/* An exact fit, then one byte short (cut, and refused). */
	need = strlen(out) + 1;
	memset(small, 'Z', sizeof(small));
	assert_true(need < sizeof(small));
	assert_int_equal(lbpool_server_options(&s, small, need), 0);
	assert_string_equal(small, out);
	memset(small, 'Z', sizeof(small));
	assert_int_equal(lbpool_server_options(&s, small, need - 1), -1);
	assert_int_equal(small[need - 1], 'Z');
	assert_int_equal(small[need - 2], '\0');
	assert_int_equal(lbpool_server_options(&s, small, 0), -1);
	assert_int_equal(small[0], out[0]);
}

/*
 * lb/render.py writes the first haproxy.cfg; the balancer writes the same
 * lines later.  Its two option strings must be these.
 */
static void
test_server_options_match_render(void **state)
{
	struct lbpool_server	 s;
	FILE			*f;
	char			*py, out[LBPOOL_OPTS_MAX], want[LBPOOL_OPTS_MAX + 64];
	char			*tail, *port;
	size_t			 n;

	(void)state;
	f = fopen("../../lb/render.py", "r");
	if (f == NULL)
		skip();
	py = calloc(1, 1 << 20);
	assert_non_null(py);
	n = fread(py, 1, (1 << 20) - 1, f);
	fclose(f);
	assert_true(n > 0);

	memset(&s, 0, sizeof(s));
	assert_int_equal(lbpool_server_options(&s, out, sizeof(out)), 0);
	snprintf(want, sizeof(want), "\"%s\"", out);
	if (strstr(py, want) == NULL)
		fail_msg("lb/render.py has no %s", want);
	/* render.py appends the agent-check part, its port a %d. */
	s.check_port = 1518;
	assert_int_equal(lbpool_server_options(&s, out, sizeof(out)), 0);
	assert_int_equal(strncmp(out, CHECK_OPTS, strlen(CHECK_OPTS)), 0);
	tail = out + strlen(CHECK_OPTS);
	/* Each "1518" is a %d there. */
	want[0] = '"';
	n = 1;
	while ((port = strstr(tail, "1518")) != NULL) {
		n += (size_t)snprintf(want + n, sizeof(want) - n, "%.*s%%d",
		    (int)(port - tail), tail);
		tail = port + 4;
	}
	snprintf(want + n, sizeof(want) - n, "%s\"", tail);
	if (strstr(py, want) == NULL)
		fail_msg("lb/render.py has no %s", want);
	free(py);
}

static void
test_state_name(void **state)
{
	(void)state;
	assert_string_equal(lbpool_state_name(LBPOOL_READY), "ready");
	assert_string_equal(lbpool_state_name(LBPOOL_DRAIN), "drain");
	assert_string_equal(lbpool_state_name(LBPOOL_MAINT), "maint");
	assert_string_equal(lbpool_state_name((enum lbpool_state)3), "?");
	assert_string_equal(lbpool_state_name((enum lbpool_state)-1), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_longest),
		cmocka_unit_test(test_parse_not_array),
		cmocka_unit_test(test_parse_member_not_object),
		cmocka_unit_test(test_parse_bad_names),
		cmocka_unit_test(test_parse_bad_addresses),
		cmocka_unit_test(test_parse_ports),
		cmocka_unit_test(test_parse_states),
		cmocka_unit_test(test_parse_duplicates),
		cmocka_unit_test(test_parse_max),
		cmocka_unit_test(test_parse_small_err),
		cmocka_unit_test(test_server_options),
		cmocka_unit_test(test_server_options_match_render),
		cmocka_unit_test(test_state_name),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
