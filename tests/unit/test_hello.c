/*
 * test_hello: the worker's hello and the master's decision on it, without
 * sockets: build, parse, and every reason to refuse a worker.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/config.h"
#include "net/hello.h"

#define VERSION_RULE	"(a node runs the master's major.minor or the minor " \
			"before; upgrade the master first)"

#define KEY	"85482860b191589c071454938c1bd2e1"

static const char *fields[] = {
	"cluster_name", "node_name", "node_type", "version"
};
#define NFIELDS	(sizeof(fields) / sizeof(fields[0]))

static void
worker_config(struct config *c, const char *name)
{
	config_defaults(c);
	snprintf(c->node_name, sizeof(c->node_name), "%s", name);
	c->node_type = NODE_WORKER;
	snprintf(c->key, sizeof(c->key), "%s", KEY);
	snprintf(c->master_address, sizeof(c->master_address), "192.0.2.1");
}

static void
master_config(struct config *c)
{
	config_defaults(c);
	snprintf(c->node_name, sizeof(c->node_name), "master1");
	c->node_type = NODE_MASTER;
	snprintf(c->key, sizeof(c->key), "%s", KEY);
}

/* A well-formed hello object with all four fields. */
static cJSON *
good_json(void)
{
	cJSON	*j;

	j = cJSON_CreateObject();
	assert_non_null(j);
	assert_non_null(cJSON_AddStringToObject(j, "cluster_name", "wazuh"));
	assert_non_null(cJSON_AddStringToObject(j, "node_name", "worker1"));
	assert_non_null(cJSON_AddStringToObject(j, "node_type", "worker"));
	assert_non_null(cJSON_AddStringToObject(j, "version", "0.1.0"));
	return j;
}

static void
good_hello(struct hello *h)
{
	memset(h, 0, sizeof(*h));
	strcpy(h->cluster_name, "wazuh");
	strcpy(h->node_name, "worker1");
	strcpy(h->node_type, "worker");
	strcpy(h->version, "0.1.0");
}

static int
never_taken(const char *name, void *arg)
{
	(void)name;
	(*(int *)arg)++;
	return 0;
}

static int
always_taken(const char *name, void *arg)
{
	assert_string_equal(name, "worker1");
	(*(int *)arg)++;
	return 1;
}

/* The hello crosses the wire as text: round trip through the printer. */
static void
test_build_parse_roundtrip(void **state)
{
	struct config	 c;
	struct hello	 h;
	cJSON		*j, *back;
	char		*text, err[128];

	(void)state;
	worker_config(&c, "worker-07");
	snprintf(c.cluster_name, sizeof(c.cluster_name), "prod_eu");
	j = hello_build(&c, "0.1.3");
	assert_non_null(j);
	text = cJSON_PrintUnformatted(j);
	assert_non_null(text);
	back = cJSON_Parse(text);
	assert_non_null(back);
	assert_int_equal(hello_parse(back, &h, err, sizeof(err)), 0);
	assert_string_equal(h.cluster_name, "prod_eu");
	assert_string_equal(h.node_name, "worker-07");
	assert_string_equal(h.node_type, "worker");
	assert_string_equal(h.version, "0.1.3");
	cJSON_free(text);
	cJSON_Delete(back);
	cJSON_Delete(j);
}

/* Longest legal names survive the trip unclipped. */
static void
test_build_parse_long_names(void **state)
{
	struct config	 c;
	struct hello	 h;
	cJSON		*j;
	char		 err[128];

	(void)state;
	worker_config(&c, "w");
	memset(c.cluster_name, 'c', CONFIG_NAME_MAX);
	c.cluster_name[CONFIG_NAME_MAX] = '\0';
	memset(c.node_name, 'n', CONFIG_NAME_MAX);
	c.node_name[CONFIG_NAME_MAX] = '\0';
	j = hello_build(&c, "0.1.0-rc1+build.2023");
	assert_non_null(j);
	assert_int_equal(hello_parse(j, &h, err, sizeof(err)), 0);
	assert_string_equal(h.cluster_name, c.cluster_name);
	assert_string_equal(h.node_name, c.node_name);
	assert_string_equal(h.version, "0.1.0-rc1+build.2023");
	cJSON_Delete(j);
}

static void
test_parse_missing_field(void **state)
{
	struct hello	 h;
	cJSON		*j;
	char		 err[128], want[128];
	size_t		 i;

	(void)state;
	for (i = 0; i < NFIELDS; i++) {
		j = good_json();
		cJSON_DeleteItemFromObjectCaseSensitive(j, fields[i]);
		strcpy(err, "untouched");
		assert_int_equal(hello_parse(j, &h, err, sizeof(err)), -1);
		snprintf(want, sizeof(want), "hello without \"%s\"",
		    fields[i]);
		assert_string_equal(err, want);
		cJSON_Delete(j);
	}
}

/* A number, null, object or array where a string belongs is "missing". */
static void
test_parse_non_string(void **state)
{
	struct hello	 h;
	cJSON		*j, *bad;
	char		 err[128], want[128];
	size_t		 i, k;

	(void)state;
	for (i = 0; i < NFIELDS; i++) {
		for (k = 0; k < 5; k++) {
			switch (k) {
			case 0: bad = cJSON_CreateNumber(1); break;
			case 1: bad = cJSON_CreateNull(); break;
			case 2: bad = cJSON_CreateTrue(); break;
			case 3: bad = cJSON_CreateObject(); break;
			default: bad = cJSON_CreateStringArray(&fields[0], 1);
			}
			assert_non_null(bad);
			j = good_json();
			assert_true(cJSON_ReplaceItemInObjectCaseSensitive(j,
			    fields[i], bad));
			assert_int_equal(hello_parse(j, &h, err, sizeof(err)),
			    -1);
			snprintf(want, sizeof(want), "hello without \"%s\"",
			    fields[i]);
			assert_string_equal(err, want);
			cJSON_Delete(j);
		}
	}
}

/* Each field at its size limit passes; one more character is refused. */
static void
test_parse_too_long(void **state)
{
	static const size_t	 room[NFIELDS] = {
		sizeof(((struct hello *)0)->cluster_name),
		sizeof(((struct hello *)0)->node_name),
		sizeof(((struct hello *)0)->node_type),
		sizeof(((struct hello *)0)->version)
	};
	struct hello		 h;
	cJSON			*j;
	char			 err[128], want[128], big[128];
	size_t			 i;

	(void)state;
	for (i = 0; i < NFIELDS; i++) {
		assert_true(room[i] < sizeof(big));
		memset(big, 'x', room[i]);
		big[room[i] - 1] = '\0';		/* fits exactly */
		j = good_json();
		assert_true(cJSON_ReplaceItemInObjectCaseSensitive(j,
		    fields[i], cJSON_CreateString(big)));
		assert_int_equal(hello_parse(j, &h, err, sizeof(err)), 0);
		cJSON_Delete(j);

		big[room[i] - 1] = 'x';			/* one too many */
		big[room[i]] = '\0';
		j = good_json();
		assert_true(cJSON_ReplaceItemInObjectCaseSensitive(j,
		    fields[i], cJSON_CreateString(big)));
		assert_int_equal(hello_parse(j, &h, err, sizeof(err)), -1);
		snprintf(want, sizeof(want), "hello \"%s\" too long",
		    fields[i]);
		assert_string_equal(err, want);
		cJSON_Delete(j);
	}
}

static void
test_parse_not_object(void **state)
{
	struct hello	 h;
	cJSON		*j;
	char		 err[128];

	(void)state;
	assert_int_equal(hello_parse(NULL, &h, err, sizeof(err)), -1);
	assert_string_equal(err, "hello is not a JSON object");
	j = cJSON_CreateStringArray(&fields[0], (int)NFIELDS);
	assert_int_equal(hello_parse(j, &h, err, sizeof(err)), -1);
	assert_string_equal(err, "hello is not a JSON object");
	cJSON_Delete(j);
	j = cJSON_CreateString("worker1");
	assert_int_equal(hello_parse(j, &h, err, sizeof(err)), -1);
	assert_string_equal(err, "hello is not a JSON object");
	cJSON_Delete(j);
}

/* The error text is cut to the buffer, never overflowing it. */
static void
test_parse_small_err_buffer(void **state)
{
	struct hello	 h;
	char		 err[8];

	(void)state;
	memset(err, 'Z', sizeof(err));
	assert_int_equal(hello_parse(NULL, &h, err, 6), -1);
	assert_string_equal(err, "hello");
	assert_int_equal(err[6], 'Z');
}

static void
test_check_accept(void **state)
{
	struct config	m;
	struct hello	h;
	char		reason[256];
	int		calls = 0;

	(void)state;
	master_config(&m);
	good_hello(&h);
	strcpy(reason, "untouched");
	assert_int_equal(hello_check(&h, &m, "0.1.0", never_taken, &calls,
	    reason, sizeof(reason)), 0);
	assert_int_equal(calls, 1);
	/* A patch release apart is the rolling-upgrade case. */
	strcpy(h.version, "0.1.9");
	assert_int_equal(hello_check(&h, &m, "0.1.0", NULL, NULL, reason,
	    sizeof(reason)), 0);
}

/*
 * Each refusal: the hello differs from an accepted one in one field and the
 * reason says which rule it broke.
 */
static void
test_check_refusals(void **state)
{
	static const struct {
		const char	*field;
		const char	*value;
		const char	*reason;
	} cases[] = {
		{ "cluster_name", "other", "cluster name mismatch: the worker "
		    "is in \"other\", the master in \"wazuh\"" },
		{ "cluster_name", "Wazuh", "cluster name mismatch: the worker "
		    "is in \"Wazuh\", the master in \"wazuh\"" },
		{ "node_name", "bad name", "invalid node name" },
		{ "node_name", "", "invalid node name" },
		{ "node_name", "../etc", "invalid node name" },
		{ "node_type", "master", "node type \"master\" cannot join a "
		    "master" },
		{ "node_type", "", "node type \"\" cannot join a master" },
		{ "node_name", "master1", "node name \"master1\" is the "
		    "master's own name" },
		{ "version", "0.2.0", "incompatible version 0.2.0: the master "
		    "runs 0.1.0 " VERSION_RULE },
		{ "version", "1.1.0", "incompatible version 1.1.0: the master "
		    "runs 0.1.0 " VERSION_RULE },
		{ "version", "banana", "incompatible version banana: the "
		    "master runs 0.1.0 " VERSION_RULE },
	};
	struct config	 m;
	struct hello	 h;
	char		 reason[256];
	size_t		 i;
	int		 calls;

	(void)state;
	master_config(&m);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		good_hello(&h);
		if (strcmp(cases[i].field, "cluster_name") == 0)
			strcpy(h.cluster_name, cases[i].value);
		else if (strcmp(cases[i].field, "node_name") == 0)
			strcpy(h.node_name, cases[i].value);
		else if (strcmp(cases[i].field, "node_type") == 0)
			strcpy(h.node_type, cases[i].value);
		else
			strcpy(h.version, cases[i].value);
		calls = 0;
		reason[0] = '\0';
		assert_int_equal(hello_check(&h, &m, "0.1.0", never_taken,
		    &calls, reason, sizeof(reason)), -1);
		assert_string_equal(reason, cases[i].reason);
	}
}

static void
test_check_duplicate(void **state)
{
	struct config	m;
	struct hello	h;
	char		reason[256];
	int		calls = 0;

	(void)state;
	master_config(&m);
	good_hello(&h);
	assert_int_equal(hello_check(&h, &m, "0.1.0", always_taken, &calls,
	    reason, sizeof(reason)), -1);
	assert_int_equal(calls, 1);
	assert_string_equal(reason, "duplicate node name: \"worker1\" is "
	    "already connected");
}

/* A hello refused for another reason does not need the name lookup. */
static void
test_check_refused_before_lookup(void **state)
{
	struct config	m;
	struct hello	h;
	char		reason[256];
	int		calls = 0;

	(void)state;
	master_config(&m);
	good_hello(&h);
	strcpy(h.cluster_name, "other");
	assert_int_equal(hello_check(&h, &m, "0.1.0", always_taken, &calls,
	    reason, sizeof(reason)), -1);
	assert_non_null(strstr(reason, "cluster name mismatch"));
	assert_int_equal(calls, 0);
}

static void
test_version_compatible(void **state)
{
	static const struct {
		const char	*a, *b;
		int		 ok;
	} v[] = {
		{ "0.1.0", "0.1.0", 1 },
		{ "0.1.0", "0.1.7", 1 },
		{ "0.1.7", "0.1.0", 1 },
		{ "0.1", "0.1.0", 1 },
		{ "0.1.0", "0.1", 1 },
		{ "0.1.0-rc1", "0.1.0", 1 },	/* a pre-release of 0.1 */
		{ "0.1-rc1", "0.1.2", 1 },
		{ "0.1.0-rc1", "0.2.0", 1 },	/* N-1: a rolling upgrade */
		{ "0.2.0", "0.1.0", 0 },	/* a node newer than its master */
		{ "0.1.0", "0.2.0", 1 },
		{ "0.1.9", "0.2.3", 1 },
		{ "0.1.0", "0.3.0", 0 },	/* N-2 */
		{ "1.9.0", "2.0.0", 0 },	/* another major */
		{ "1.1.0", "0.1.0", 0 },
		{ "10.1.0", "1.1.0", 0 },
		{ "0.10.0", "0.1.0", 0 },
		{ "2.0.0", "2.0.5", 1 },
		{ "", "0.1.0", 0 },
		{ "0.1.0", "", 0 },
		{ "", "", 0 },
		{ "garbage", "garbage", 0 },
		{ "0", "0", 0 },
		{ "0.", "0.", 0 },
		{ ".1", ".1", 0 },
		{ "0.x", "0.x", 0 },
		{ "0.1x", "0.1.0", 0 },
		{ "v0.1.0", "0.1.0", 0 },
		{ "0.-1", "0.-1", 0 },
		{ "0..1", "0.1.0", 0 },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (hello_version_compatible(v[i].a, v[i].b) != v[i].ok)
			fail_msg("\"%s\" vs \"%s\": expected %s", v[i].a, v[i].b,
			    v[i].ok ? "compatible" : "incompatible");
}

/*
 * Numbers that strtol() bends: out of range values saturate to LONG_MAX,
 * signs and leading blanks are skipped.  None of these is "MAJOR.MINOR".
 */
static void
test_version_strict_numbers(void **state)
{
	static const struct {
		const char	*a, *b;
	} v[] = {
		{ "99999999999999999999.1.0", "99999999999999999998.1.0" },
		{ "0.99999999999999999999", "0.99999999999999999998" },
		{ "-0.1.0", "0.1.0" },
		{ "+0.1.0", "0.1.0" },
		{ " 0.1.0", "0.1.0" },
		{ "0.+1.0", "0.1.0" },
	};
	size_t	i, accepted = 0;

	(void)state;
	/* The same string twice is the control: both sides parse it. */
	assert_true(hello_version_compatible("0.1.0", "0.1.0"));
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		if (hello_version_compatible(v[i].a, v[i].b)) {
			print_message("\"%s\" judged compatible with \"%s\"\n",
			    v[i].a, v[i].b);
			accepted++;
		}
	}
	assert_int_equal(accepted, 0);	/* strict decimal versions only */
}

/* The {address, port} object key of a built hello, or fails. */
static void
service_is(const cJSON *j, const char *key, const char *address,
    unsigned port)
{
	const cJSON	*o = cJSON_GetObjectItemCaseSensitive(j, key);
	const cJSON	*a = cJSON_GetObjectItemCaseSensitive(o, "address");
	const cJSON	*p = cJSON_GetObjectItemCaseSensitive(o, "port");

	if (!cJSON_IsObject(o))
		fail_msg("no \"%s\" object", key);
	assert_true(cJSON_IsString(a));
	assert_string_equal(a->valuestring, address);
	assert_true(cJSON_IsNumber(p));
	assert_true(p->valuedouble == (double)port);
	assert_int_equal(cJSON_GetArraySize(o), 2);
}

static void
absent(const cJSON *j, const char *key)
{
	if (cJSON_GetObjectItemCaseSensitive(j, key) != NULL)
		fail_msg("\"%s\" present", key);
}

/*
 * A worker says what it serves for the balancers' pools: the agent
 * gateway and enrollment unless turned off, agent-check when it answers
 * one.
 */
static void
test_build_worker_services(void **state)
{
	struct config	 c;
	const cJSON	*v;
	cJSON		*j;

	(void)state;
	worker_config(&c, "worker1");
	assert_non_null(j = hello_build(&c, "0.1.0"));
	service_is(j, "gateway", "0.0.0.0", 1514);
	service_is(j, "enrollment", "0.0.0.0", 1515);
	absent(j, "agent_check_port");
	assert_int_equal(cJSON_GetArraySize(j), 6);
	cJSON_Delete(j);

	c.gateway = 1;
	snprintf(c.gateway_address, sizeof(c.gateway_address), "10.0.0.5");
	c.gateway_port = 11514;
	snprintf(c.enrollment_address, sizeof(c.enrollment_address), "::");
	c.enrollment_port = 11515;
	c.agent_check_port = 1518;
	assert_non_null(j = hello_build(&c, "0.1.0"));
	service_is(j, "gateway", "10.0.0.5", 11514);
	service_is(j, "enrollment", "::", 11515);
	v = cJSON_GetObjectItemCaseSensitive(j, "agent_check_port");
	assert_true(cJSON_IsNumber(v) && v->valuedouble == 1518);
	cJSON_Delete(j);

	/* Turned off: not announced. */
	c.gateway = 0;
	c.enrollment = 0;
	c.agent_check_port = 0;
	assert_non_null(j = hello_build(&c, "0.1.0"));
	absent(j, "gateway");
	absent(j, "enrollment");
	absent(j, "agent_check_port");
	assert_int_equal(cJSON_GetArraySize(j), 4);
	cJSON_Delete(j);
}

/* The master serves enrollment by default, agents only with gateway yes. */
static void
test_build_master_services(void **state)
{
	struct config	 c;
	cJSON		*j;

	(void)state;
	master_config(&c);
	assert_non_null(j = hello_build(&c, "0.1.0"));
	absent(j, "gateway");
	service_is(j, "enrollment", "0.0.0.0", 1515);
	absent(j, "agent_check_port");
	cJSON_Delete(j);

	c.gateway = 1;
	assert_non_null(j = hello_build(&c, "0.1.0"));
	service_is(j, "gateway", "0.0.0.0", 1514);
	service_is(j, "enrollment", "0.0.0.0", 1515);
	cJSON_Delete(j);

	c.gateway = 0;
	c.enrollment = 0;
	assert_non_null(j = hello_build(&c, "0.1.0"));
	absent(j, "gateway");
	absent(j, "enrollment");
	assert_int_equal(cJSON_GetArraySize(j), 4);
	cJSON_Delete(j);
}

/* A balancer serves nothing of its own, whatever its config says. */
static void
test_build_balancer(void **state)
{
	struct config	 c;
	struct hello	 h;
	cJSON		*j;
	char		 err[128];

	(void)state;
	worker_config(&c, "lb1");
	c.node_type = NODE_BALANCER;
	c.gateway = 1;
	c.enrollment = 1;
	c.agent_check_port = 1518;
	assert_non_null(j = hello_build(&c, "0.1.0"));
	absent(j, "gateway");
	absent(j, "enrollment");
	absent(j, "agent_check_port");
	assert_int_equal(cJSON_GetArraySize(j), 4);
	assert_int_equal(hello_parse(j, &h, err, sizeof(err)), 0);
	assert_string_equal(h.node_type, "balancer");
	assert_int_equal(h.gateway_port, 0);
	assert_int_equal(h.enrollment_port, 0);
	assert_int_equal(h.agent_check_port, 0);
	cJSON_Delete(j);
}

/* What a worker announces arrives whole through the printer. */
static void
test_parse_services_roundtrip(void **state)
{
	struct config	 c;
	struct hello	 h;
	cJSON		*j, *back;
	char		*text, err[128], addr[64];

	(void)state;
	worker_config(&c, "worker1");
	memset(addr, 'a', sizeof(addr) - 1);	/* the longest that fits */
	addr[sizeof(addr) - 1] = '\0';
	snprintf(c.gateway_address, sizeof(c.gateway_address), "%s", addr);
	c.gateway_port = 65535;
	snprintf(c.enrollment_address, sizeof(c.enrollment_address),
	    "2001:db8::15");
	c.enrollment_port = 1;
	c.agent_check_port = 1518;
	assert_non_null(j = hello_build(&c, "0.1.0"));
	assert_non_null(text = cJSON_PrintUnformatted(j));
	assert_non_null(back = cJSON_Parse(text));
	memset(&h, 0x5a, sizeof(h));
	assert_int_equal(hello_parse(back, &h, err, sizeof(err)), 0);
	assert_string_equal(h.gateway_address, addr);
	assert_int_equal(h.gateway_port, 65535);
	assert_string_equal(h.enrollment_address, "2001:db8::15");
	assert_int_equal(h.enrollment_port, 1);
	assert_int_equal(h.agent_check_port, 1518);
	cJSON_free(text);
	cJSON_Delete(back);
	cJSON_Delete(j);

	/* An older hello without them: nothing served. */
	j = good_json();
	memset(&h, 0x5a, sizeof(h));
	assert_int_equal(hello_parse(j, &h, err, sizeof(err)), 0);
	assert_string_equal(h.gateway_address, "");
	assert_int_equal(h.gateway_port, 0);
	assert_string_equal(h.enrollment_address, "");
	assert_int_equal(h.enrollment_port, 0);
	assert_int_equal(h.agent_check_port, 0);
	cJSON_Delete(j);
}

/*
 * A malformed service is not served (port 0) and does not refuse the
 * hello; it does not disturb the other service either.
 */
static void
test_parse_services_malformed(void **state)
{
	static const char *const bad[] = {
		"null", "true", "1514", "\"10.0.0.5:1514\"", "[]",
		"[\"10.0.0.5\",1514]", "{}",
		"{\"address\":\"10.0.0.5\"}",
		"{\"port\":1514}",
		"{\"address\":null,\"port\":1514}",
		"{\"address\":1,\"port\":1514}",
		"{\"address\":[\"10.0.0.5\"],\"port\":1514}",
		"{\"address\":\"10.0.0.5\",\"port\":0}",
		"{\"address\":\"10.0.0.5\",\"port\":-1}",
		"{\"address\":\"10.0.0.5\",\"port\":65536}",
		"{\"address\":\"10.0.0.5\",\"port\":1514.5}",
		"{\"address\":\"10.0.0.5\",\"port\":1e300}",
		"{\"address\":\"10.0.0.5\",\"port\":\"1514\"}",
		"{\"address\":\"10.0.0.5\",\"port\":null}",
		"{\"Address\":\"10.0.0.5\",\"Port\":1514}",
		/* 64 characters: one more than the field holds. */
		"{\"address\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaa\",\"port\":1514}",
	};
	static const char *const keys[] = { "gateway", "enrollment" };
	struct hello	 h;
	cJSON		*j, *v, *good;
	char		 err[128];
	size_t		 i, k;

	(void)state;
	for (k = 0; k < 2; k++) {
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			j = good_json();
			if ((v = cJSON_Parse(bad[i])) == NULL)
				fail_msg("not JSON: %s", bad[i]);
			cJSON_AddItemToObject(j, keys[k], v);
			good = cJSON_AddObjectToObject(j, keys[1 - k]);
			cJSON_AddStringToObject(good, "address", "10.0.0.9");
			cJSON_AddNumberToObject(good, "port", 1600);
			memset(&h, 0x5a, sizeof(h));
			strcpy(err, "untouched");
			if (hello_parse(j, &h, err, sizeof(err)) != 0)
				fail_msg("%s %s refused the hello: %s",
				    keys[k], bad[i], err);
			assert_string_equal(err, "untouched");
			assert_string_equal(h.node_name, "worker1");
			if (k == 0) {
				assert_int_equal(h.gateway_port, 0);
				assert_true(strnlen(h.gateway_address,
				    sizeof(h.gateway_address)) <
				    sizeof(h.gateway_address));
				assert_string_equal(h.enrollment_address,
				    "10.0.0.9");
				assert_int_equal(h.enrollment_port, 1600);
			} else {
				assert_int_equal(h.enrollment_port, 0);
				assert_true(strnlen(h.enrollment_address,
				    sizeof(h.enrollment_address)) <
				    sizeof(h.enrollment_address));
				assert_string_equal(h.gateway_address,
				    "10.0.0.9");
				assert_int_equal(h.gateway_port, 1600);
			}
			cJSON_Delete(j);
		}
	}
}

static void
test_parse_agent_check_port(void **state)
{
	static const struct {
		const char	*json;
		unsigned	 port;
	} t[] = {
		{ "1518", 1518 }, { "1", 1 }, { "65535", 65535 },
		{ "1518.0", 1518 },
		{ "0", 0 }, { "-1", 0 }, { "65536", 0 }, { "1518.5", 0 },
		{ "1e300", 0 }, { "-1e300", 0 }, { "\"1518\"", 0 },
		{ "null", 0 }, { "true", 0 }, { "[1518]", 0 },
		{ "{\"port\":1518}", 0 },
	};
	struct hello	 h;
	cJSON		*j, *v;
	char		 err[128];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		j = good_json();
		assert_non_null(v = cJSON_Parse(t[i].json));
		cJSON_AddItemToObject(j, "agent_check_port", v);
		memset(&h, 0x5a, sizeof(h));
		assert_int_equal(hello_parse(j, &h, err, sizeof(err)), 0);
		if (h.agent_check_port != t[i].port)
			fail_msg("agent_check_port %s: %u, expected %u",
			    t[i].json, h.agent_check_port, t[i].port);
		cJSON_Delete(j);
	}
}

/* A balancer joins the master like a worker; nothing else does. */
static void
test_check_balancer(void **state)
{
	static const char *const refused[] = {
		"Balancer", "BALANCER", "balancer ", " balancer", "balance",
		"balancers", "lb", "none",
	};
	struct config	m;
	struct hello	h;
	char		reason[256], want[256];
	size_t		i;
	int		calls = 0;

	(void)state;
	master_config(&m);
	good_hello(&h);
	strcpy(h.node_name, "lb1");
	strcpy(h.node_type, "balancer");
	strcpy(reason, "untouched");
	assert_int_equal(hello_check(&h, &m, "0.1.0", never_taken, &calls,
	    reason, sizeof(reason)), 0);
	assert_string_equal(reason, "untouched");
	assert_int_equal(calls, 1);

	/* The other rules hold for a balancer too. */
	strcpy(h.version, "0.2.0");
	assert_int_equal(hello_check(&h, &m, "0.1.0", NULL, NULL, reason,
	    sizeof(reason)), -1);
	assert_non_null(strstr(reason, "incompatible version 0.2.0"));
	strcpy(h.version, "0.1.0");
	strcpy(h.node_name, "master1");
	assert_int_equal(hello_check(&h, &m, "0.1.0", NULL, NULL, reason,
	    sizeof(reason)), -1);
	assert_string_equal(reason, "node name \"master1\" is the master's own "
	    "name");

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		good_hello(&h);
		strcpy(h.node_type, refused[i]);
		assert_int_equal(hello_check(&h, &m, "0.1.0", NULL, NULL,
		    reason, sizeof(reason)), -1);
		snprintf(want, sizeof(want), "node type \"%s\" cannot join a "
		    "master", refused[i]);
		assert_string_equal(reason, want);
	}
}

/*
 * A standby master's hello: node_type master with "standby", nothing it
 * would serve even when its config has services; admitted only as that.
 */
static void
test_standby(void **state)
{
	struct config	 c, m;
	struct hello	 h;
	cJSON		*j;
	char		 err[128], reason[256];

	(void)state;
	worker_config(&c, "master2");
	c.node_type = NODE_MASTER;
	c.gateway = 1;
	c.enrollment = 1;
	c.agent_check_port = 1518;
	assert_non_null(j = hello_build_standby(&c, "0.1.0"));
	absent(j, "gateway");
	absent(j, "enrollment");
	absent(j, "agent_check_port");
	assert_int_equal(cJSON_GetArraySize(j), 5);
	assert_int_equal(hello_parse(j, &h, err, sizeof(err)), 0);
	cJSON_Delete(j);
	assert_string_equal(h.node_type, "master");
	assert_int_equal(h.standby, 1);
	assert_int_equal(h.enrollment_port, 0);
	master_config(&m);
	assert_int_equal(hello_check(&h, &m, "0.1.0", NULL, NULL, reason,
	    sizeof(reason)), 0);

	/* A master without "standby", or "standby" not true: refused. */
	h.standby = 0;
	assert_int_equal(hello_check(&h, &m, "0.1.0", NULL, NULL, reason,
	    sizeof(reason)), -1);
	assert_string_equal(reason, "node type \"master\" cannot join a "
	    "master");
	j = cJSON_Parse("{\"cluster_name\":\"c\",\"node_name\":\"m2\","
	    "\"node_type\":\"master\",\"version\":\"0.1.0\","
	    "\"standby\":\"yes\"}");
	assert_int_equal(hello_parse(j, &h, err, sizeof(err)), 0);
	assert_int_equal(h.standby, 0);
	cJSON_Delete(j);

	/* A worker or balancer saying it is a standby: refused. */
	good_hello(&h);
	h.standby = 1;
	assert_int_equal(hello_check(&h, &m, "0.1.0", NULL, NULL, reason,
	    sizeof(reason)), -1);
	assert_string_equal(reason, "only a master-eligible node joins as a "
	    "standby");
	strcpy(h.node_type, "balancer");
	assert_int_equal(hello_check(&h, &m, "0.1.0", NULL, NULL, reason,
	    sizeof(reason)), -1);

	/* Its own name is the master's: refused as any node's. */
	good_hello(&h);
	strcpy(h.node_type, "master");
	h.standby = 1;
	strcpy(h.node_name, m.node_name);
	assert_int_equal(hello_check(&h, &m, "0.1.0", NULL, NULL, reason,
	    sizeof(reason)), -1);
	assert_non_null(strstr(reason, "the master's own name"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_parse_roundtrip),
		cmocka_unit_test(test_build_parse_long_names),
		cmocka_unit_test(test_parse_missing_field),
		cmocka_unit_test(test_parse_non_string),
		cmocka_unit_test(test_parse_too_long),
		cmocka_unit_test(test_parse_not_object),
		cmocka_unit_test(test_parse_small_err_buffer),
		cmocka_unit_test(test_check_accept),
		cmocka_unit_test(test_check_refusals),
		cmocka_unit_test(test_check_duplicate),
		cmocka_unit_test(test_check_refused_before_lookup),
		cmocka_unit_test(test_version_compatible),
		cmocka_unit_test(test_version_strict_numbers),
		cmocka_unit_test(test_build_worker_services),
		cmocka_unit_test(test_build_master_services),
		cmocka_unit_test(test_build_balancer),
		cmocka_unit_test(test_parse_services_roundtrip),
		cmocka_unit_test(test_parse_services_malformed),
		cmocka_unit_test(test_parse_agent_check_port),
		cmocka_unit_test(test_check_balancer),
		cmocka_unit_test(test_standby),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
