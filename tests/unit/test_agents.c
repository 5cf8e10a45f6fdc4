/*
 * test_agents: the string map under the agent table (probe runs and
 * backward-shift deletion), the table's order-independent digest, the
 * replicated record form workers receive, the key hash agents send in K:,
 * and the name, group and id rules.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "agent/agents.h"
#include "base/strmap.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

#define KEY_A	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define KEY_B	"fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

/* Deterministic xorshift64*: the same "random" run every time. */
static uint64_t	rng_state;

static void
rng_seed(uint64_t s)
{
	rng_state = s != 0 ? s : 88172645463325252ull;
}

static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

/* ---- strmap ---- */

#define NKEYS	4000

struct entry {
	char	key[24];
	int	present;
	int	seen;
};

static void
check_map(const struct strmap *m, struct entry *e, size_t n)
{
	size_t	i, live = 0;

	for (i = 0; i < n; i++) {
		if (e[i].present) {
			live++;
			if (strmap_get(m, e[i].key) != &e[i])
				fail_msg("key %s (entry %zu) not found", e[i].key,
				    i);
		} else if (strmap_get(m, e[i].key) != NULL)
			fail_msg("deleted key %s still found", e[i].key);
	}
	assert_int_equal(m->n, live);
}

/*
 * Thousands of keys in a linear-probing table make long probe runs; random
 * deletions land in their middle.  After each round every remaining key is
 * still found and no deleted one is.  The key lives in the value, as the
 * agent table does it.
 */
static const char *
entry_key(const void *v)
{
	return ((const struct entry *)v)->key;
}

static void
random_deletions(int keyed)
{
	struct strmap	 m;
	struct entry	*e;
	size_t		 i, round;

	e = calloc(NKEYS, sizeof(*e));
	assert_non_null(e);
	rng_seed(42);
	if (keyed)
		strmap_init_keyed(&m, entry_key);
	else
		strmap_init(&m);
	assert_null(strmap_get(&m, "nothing"));
	assert_null(strmap_del(&m, "nothing"));
	for (i = 0; i < NKEYS; i++) {
		snprintf(e[i].key, sizeof(e[i].key), "agent-%zu-%llx", i,
		    (unsigned long long)(rng() & 0xffff));
		assert_int_equal(strmap_put(&m, e[i].key, &e[i]), 0);
		e[i].present = 1;
	}
	check_map(&m, e, NKEYS);
	for (round = 0; round < 6; round++) {
		/* Delete about a third of what is left ... */
		for (i = 0; i < NKEYS; i++) {
			if (!e[i].present || rng() % 3 != 0)
				continue;
			assert_ptr_equal(strmap_del(&m, e[i].key), &e[i]);
			assert_null(strmap_del(&m, e[i].key));
			e[i].present = 0;
		}
		check_map(&m, e, NKEYS);
		/* ... and put some back. */
		for (i = 0; i < NKEYS; i++) {
			if (e[i].present || rng() % 4 != 0)
				continue;
			assert_int_equal(strmap_put(&m, e[i].key, &e[i]), 0);
			e[i].present = 1;
		}
		check_map(&m, e, NKEYS);
	}
	/* Delete everything, in a shuffled order. */
	for (i = 0; i < NKEYS; i++) {
		size_t k = (size_t)(rng() % NKEYS);

		if (e[k].present) {
			assert_ptr_equal(strmap_del(&m, e[k].key), &e[k]);
			e[k].present = 0;
		}
	}
	for (i = 0; i < NKEYS; i++) {
		if (e[i].present) {
			assert_ptr_equal(strmap_del(&m, e[i].key), &e[i]);
			e[i].present = 0;
		}
	}
	check_map(&m, e, NKEYS);
	assert_int_equal(m.n, 0);
	strmap_free(&m);
	free(e);
}

static void
test_strmap_random_deletions(void **state)
{
	(void)state;
	random_deletions(0);
}

/* The same with keys found in the values (the agent table's maps): 8-byte
 * slots, the same behaviour. */
static void
test_strmap_keyed_random_deletions(void **state)
{
	(void)state;
	random_deletions(1);
}

/* The map's hash (FNV-1a), to pick keys that collide on purpose. */
static uint64_t
fnv1a(const char *s)
{
	uint64_t	h = 1469598103934665603ull;

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ull;
	}
	return h;
}

/*
 * Keys that all hash to the last two slots of the first table (64 slots)
 * make one run that wraps around the end; removing each position of the
 * run in turn must keep the rest reachable.
 */
static void
test_strmap_collisions_wrap(void **state)
{
	struct strmap	m;
	char		keys[12][16];
	int		vals[12];
	size_t		n = 0, i, gone, k;
	unsigned	c;

	(void)state;
	for (c = 0; n < NELEM(keys); c++) {
		char k2[16];

		snprintf(k2, sizeof(k2), "k%u", c);
		if ((fnv1a(k2) & 63) >= 62)
			strcpy(keys[n++], k2);
	}
	for (gone = 0; gone < n; gone++) {
		strmap_init(&m);
		for (i = 0; i < n; i++)
			assert_int_equal(strmap_put(&m, keys[i], &vals[i]), 0);
		assert_int_equal(m.cap, 64);	/* no growth: the run wraps */
		assert_ptr_equal(strmap_del(&m, keys[gone]), &vals[gone]);
		for (i = 0; i < n; i++) {
			if (i == gone)
				assert_null(strmap_get(&m, keys[i]));
			else if (strmap_get(&m, keys[i]) != &vals[i])
				fail_msg("after deleting %s, %s is lost",
				    keys[gone], keys[i]);
		}
		/* Then remove the rest one by one from the other end. */
		for (k = n; k-- > 0;) {
			if (k == gone)
				continue;
			assert_ptr_equal(strmap_del(&m, keys[k]), &vals[k]);
			for (i = 0; i < k; i++)
				if (i != gone)
					assert_ptr_equal(strmap_get(&m,
					    keys[i]), &vals[i]);
		}
		assert_int_equal(m.n, 0);
		strmap_free(&m);
	}
}

/* Putting a key again replaces its value without a second entry. */
static void
test_strmap_replace(void **state)
{
	struct strmap	 m;
	int		 a, b;
	char		 k1[] = "same", k2[] = "same";

	(void)state;
	strmap_init(&m);
	assert_int_equal(strmap_put(&m, k1, &a), 0);
	assert_int_equal(strmap_put(&m, k2, &b), 0);
	assert_int_equal(m.n, 1);
	assert_ptr_equal(strmap_get(&m, "same"), &b);
	/* The map now points at the second key's storage. */
	k1[0] = 'X';
	assert_ptr_equal(strmap_get(&m, "same"), &b);
	assert_ptr_equal(strmap_del(&m, "same"), &b);
	assert_int_equal(m.n, 0);
	strmap_free(&m);
}

/* Iteration visits every entry exactly once, across growth and deletes. */
static void
test_strmap_iterate(void **state)
{
	struct strmap	 m;
	struct entry	*e, *v;
	size_t		 i, it, visits = 0, live = 0;

	(void)state;
	e = calloc(NKEYS, sizeof(*e));
	assert_non_null(e);
	strmap_init(&m);
	it = 0;
	assert_null(strmap_next(&m, &it));
	for (i = 0; i < NKEYS; i++) {
		snprintf(e[i].key, sizeof(e[i].key), "%zu", i * 7919);
		assert_int_equal(strmap_put(&m, e[i].key, &e[i]), 0);
		e[i].present = 1;
	}
	for (i = 0; i < NKEYS; i += 3) {
		assert_ptr_equal(strmap_del(&m, e[i].key), &e[i]);
		e[i].present = 0;
	}
	it = 0;
	while ((v = strmap_next(&m, &it)) != NULL) {
		assert_true(v >= e && v < e + NKEYS);
		assert_true(v->present);
		v->seen++;
		visits++;
	}
	assert_null(strmap_next(&m, &it));
	for (i = 0; i < NKEYS; i++) {
		assert_int_equal(e[i].seen, e[i].present ? 1 : 0);
		live += (size_t)e[i].present;
	}
	assert_int_equal(visits, live);
	assert_int_equal(visits, m.n);
	strmap_free(&m);
	free(e);
}

/* ---- the agent table ---- */

static struct agent *
mk(long id, const char *name, const char *ip, const char *key,
    const char *groups)
{
	struct agent	*a = agent_new();

	assert_non_null(a);
	agents_format_id(id, a->id);
	agent_set_name(a, name);
	agent_set_ip(a, ip);
	assert_int_equal(agent_set_key(a, key), 0);
	assert_int_equal(agent_set_groups(a, groups), 0);
	return a;
}

/* Agent i of a test fleet: every field depends on i. */
static struct agent *
fleet(int i)
{
	char	name[32], ip[32], key[AGENT_KEY_LEN + 1], groups[32];
	int	k;

	snprintf(name, sizeof(name), "host-%03d", i);
	if (i % 4 == 0)
		strcpy(ip, "any");
	else
		snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 250, i % 250);
	for (k = 0; k < AGENT_KEY_LEN; k++)
		key[k] = "0123456789abcdef"[(i * 31 + k * 7) & 15];
	key[AGENT_KEY_LEN] = '\0';
	if (i % 3 == 0)
		groups[0] = '\0';
	else
		snprintf(groups, sizeof(groups), "default,g%d", i % 5);
	return mk(i + 1, name, ip, key, groups);
}

static const uint8_t	zero16[16];

/* Two tables with the same agents have one digest, whatever the order. */
static void
test_digest_order_independent(void **state)
{
	struct agents	t1, t2, t3;
	int		i;

	(void)state;
	agents_init(&t1);
	agents_init(&t2);
	agents_init(&t3);
	assert_memory_equal(t1.digest, zero16, 16);
	for (i = 0; i < 200; i++)
		assert_int_equal(agents_add(&t1, fleet(i)), 0);
	for (i = 199; i >= 0; i--)
		assert_int_equal(agents_add(&t2, fleet(i)), 0);
	for (i = 0; i < 200; i++)	/* 0, 7, 14, ... mod 200 */
		assert_int_equal(agents_add(&t3, fleet(i * 7 % 200)), 0);
	assert_int_equal(agents_count(&t1), 200);
	assert_int_equal(agents_count(&t2), 200);
	assert_int_equal(agents_count(&t3), 200);
	assert_memory_not_equal(t1.digest, zero16, 16);
	assert_memory_equal(t1.digest, t2.digest, 16);
	assert_memory_equal(t1.digest, t3.digest, 16);
	/* One differing field of one agent changes the digest. */
	agent_free(agents_remove(&t2, "051"));
	{
		struct agent	*a = fleet(50);
		char		 k[AGENT_KEY_LEN + 1];

		agent_key(a, k);
		k[0] = k[0] == '0' ? '1' : '0';
		assert_int_equal(agent_set_key(a, k), 0);
		assert_int_equal(agents_add(&t2, a), 0);
	}
	assert_memory_not_equal(t1.digest, t2.digest, 16);
	agents_free(&t1);
	agents_free(&t2);
	agents_free(&t3);
}

/* Adding an agent then removing it gives the digest back. */
static void
test_digest_add_remove(void **state)
{
	struct agents	 t;
	struct agent	*a;
	uint8_t		 before[16];
	int		 i;

	(void)state;
	agents_init(&t);
	for (i = 0; i < 20; i++)
		assert_int_equal(agents_add(&t, fleet(i)), 0);
	memcpy(before, t.digest, 16);
	a = mk(500, "newcomer", "192.0.2.5", KEY_A, "web");
	assert_int_equal(agents_add(&t, a), 0);
	assert_memory_not_equal(t.digest, before, 16);
	assert_ptr_equal(agents_remove(&t, "500"), a);
	assert_memory_equal(t.digest, before, 16);
	assert_int_equal(agents_count(&t), 20);
	assert_null(agents_by_id(&t, "500"));
	assert_null(agents_by_name(&t, "newcomer"));
	assert_null(agents_by_ip(&t, "192.0.2.5"));
	assert_null(agents_remove(&t, "500"));
	agent_free(a);
	/* Removing every agent leaves the empty table's digest. */
	for (i = 0; i < 20; i++) {
		char id[AGENT_ID_MAX];

		agents_format_id(i + 1, id);
		agent_free(agents_remove(&t, id));
	}
	assert_int_equal(agents_count(&t), 0);
	assert_memory_equal(t.digest, zero16, 16);
	agents_free(&t);
}

/* Changing groups through agents_rehash equals having had them all along. */
static void
test_rehash_groups(void **state)
{
	struct agents	 t1, t2;
	struct agent	*a;

	(void)state;
	agents_init(&t1);
	agents_init(&t2);
	assert_int_equal(agents_add(&t1, mk(1, "web-01", "any", KEY_A,
	    "default")), 0);
	assert_int_equal(agents_add(&t1, mk(2, "web-02", "10.0.0.2", KEY_B,
	    NULL)), 0);
	assert_int_equal(agents_add(&t2, mk(1, "web-01", "any", KEY_A,
	    "linux,web")), 0);
	assert_int_equal(agents_add(&t2, mk(2, "web-02", "10.0.0.2", KEY_B,
	    "")), 0);
	assert_memory_not_equal(t1.digest, t2.digest, 16);
	a = agents_by_id(&t1, "001");
	assert_non_null(a);
	agents_rehash(&t1, a, "linux,web");
	assert_string_equal(a->groups, "linux,web");
	assert_memory_equal(t1.digest, t2.digest, 16);
	/* Group order is part of the record. */
	agents_rehash(&t1, a, "web,linux");
	assert_memory_not_equal(t1.digest, t2.digest, 16);
	/* No groups: NULL and "" are the same record. */
	agents_rehash(&t1, a, "linux,web");
	agents_rehash(&t1, agents_by_id(&t1, "002"), "x");
	agents_rehash(&t1, agents_by_id(&t1, "002"), "");
	assert_null(agents_by_id(&t1, "002")->groups);
	assert_memory_equal(t1.digest, t2.digest, 16);
	agents_free(&t1);
	agents_free(&t2);
}

/* An id or a name already in the table is refused; nothing changes. */
static void
test_duplicates_refused(void **state)
{
	struct agents	 t;
	struct agent	*a, *dup_id, *dup_name;
	uint8_t		 before[16];

	(void)state;
	agents_init(&t);
	a = mk(1, "web-01", "10.0.0.1", KEY_A, "default");
	assert_int_equal(agents_add(&t, a), 0);
	memcpy(before, t.digest, 16);
	dup_id = mk(1, "web-02", "10.0.0.2", KEY_B, NULL);
	dup_name = mk(2, "web-01", "10.0.0.3", KEY_B, NULL);
	assert_int_equal(agents_add(&t, dup_id), -1);
	assert_int_equal(agents_add(&t, dup_name), -1);
	assert_int_equal(agents_count(&t), 1);
	assert_memory_equal(t.digest, before, 16);
	assert_ptr_equal(agents_by_id(&t, "001"), a);
	assert_ptr_equal(agents_by_name(&t, "web-01"), a);
	assert_null(agents_by_id(&t, "002"));
	assert_null(agents_by_name(&t, "web-02"));
	assert_ptr_equal(agents_by_ip(&t, "10.0.0.1"), a);
	assert_null(agents_by_ip(&t, "10.0.0.2"));
	assert_null(agents_by_ip(&t, "10.0.0.3"));
	agent_free(dup_id);
	agent_free(dup_name);
	agents_free(&t);
}

/* Only agents with a real address are found by IP; "any" is nobody's. */
static void
test_by_ip(void **state)
{
	struct agents	 t;
	struct agent	*a, *b;

	(void)state;
	agents_init(&t);
	a = mk(1, "roaming", "any", KEY_A, NULL);
	b = mk(2, "fixed", "192.0.2.7", KEY_B, NULL);
	assert_int_equal(agents_add(&t, a), 0);
	assert_int_equal(agents_add(&t, b), 0);
	assert_null(agents_by_ip(&t, "any"));
	assert_ptr_equal(agents_by_ip(&t, "192.0.2.7"), b);
	assert_int_equal(t.by_ip.n, 1);
	assert_ptr_equal(agents_by_name(&t, "roaming"), a);
	assert_ptr_equal(agents_remove(&t, "002"), b);
	assert_null(agents_by_ip(&t, "192.0.2.7"));
	assert_int_equal(t.by_ip.n, 0);
	agent_free(b);
	agents_free(&t);
}

/*
 * Counts by status follow agents_statuses.  An unknown status is refused
 * by agent_set_status(), and the agent keeps the one it had.
 */
/* Times from outside (JSON numbers, SQLite integers, the clock) as an
 * agent keeps them: 32 unsigned bits, never undefined behaviour. */
/* A thirtieth of agents_disconnection_time, from 0.5 s to 10 s. */
static void
test_sweep_interval(void **state)
{
	(void)state;
	assert_true(agents_sweep_interval(900) == 10);	/* the default */
	assert_true(agents_sweep_interval(3600) == 10);
	assert_true(agents_sweep_interval(60) == 2);
	assert_true(agents_sweep_interval(3) == 0.5);
	assert_true(agents_sweep_interval(0) == 0.5);
}

static void
test_agent_time_clamped(void **state)
{
	time_t	now;

	(void)state;
	assert_int_equal(agent_time(0), 0);
	assert_int_equal(agent_time(-1), 0);
	assert_int_equal(agent_time(-1e300), 0);
	assert_int_equal(agent_time(-INFINITY), 0);
	assert_int_equal(agent_time(NAN), 0);
	assert_int_equal(agent_time(1765000000), 1765000000);
	assert_int_equal(agent_time(1765000000.75), 1765000000);
	assert_int_equal(agent_time(4294967295.0), UINT32_MAX);	/* 2106 */
	assert_int_equal(agent_time(4294967296.0), UINT32_MAX);
	assert_int_equal(agent_time(9223372036854775807.0), UINT32_MAX);
	assert_int_equal(agent_time(1e300), UINT32_MAX);
	assert_int_equal(agent_time(INFINITY), UINT32_MAX);
	now = time(NULL);
	assert_int_equal(agent_time((double)now), (uint32_t)now);
}

static void
test_count_status(void **state)
{
	static const char *const st[] = {
		"active", "pending", "active", "never_connected", "bogus",
		"disconnected", "active"
	};
	unsigned long	 n[AGENTS_NSTATUS];
	struct agents	 t;
	struct agent	*a;
	size_t		 i;

	(void)state;
	agents_init(&t);
	agents_count_status(&t, n);
	for (i = 0; i < AGENTS_NSTATUS; i++)
		assert_int_equal(n[i], 0);
	for (i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
		a = fleet((int)i);
		assert_int_equal(agent_set_status(a, st[i]),
		    strcmp(st[i], "bogus") == 0 ? -1 : 0);
		assert_int_equal(agents_add(&t, a), 0);
	}
	agents_count_status(&t, n);
	assert_string_equal(agents_statuses[0], "active");
	assert_int_equal(n[0], 3);
	assert_string_equal(agents_statuses[1], "disconnected");
	assert_int_equal(n[1], 1);
	assert_string_equal(agents_statuses[2], "pending");
	assert_int_equal(n[2], 1);
	assert_string_equal(agents_statuses[3], "never_connected");
	assert_int_equal(n[3], 2);	/* "bogus" left it never_connected */
	agents_free(&t);
}

/* ---- replicated records ---- */

static void
test_record_roundtrip(void **state)
{
	struct agents	 t1, t2;
	struct agent	*a, *b;
	cJSON		*r, *back;
	char		*text, err[64];
	int		 i;

	(void)state;
	agents_init(&t1);
	agents_init(&t2);
	for (i = 0; i < 30; i++) {
		a = fleet(i);
		assert_int_equal(agents_add(&t1, a), 0);
		r = agent_record_json(a);
		assert_non_null(r);
		assert_int_equal(cJSON_GetArraySize(r), 5);
		text = cJSON_PrintUnformatted(r);
		assert_non_null(text);
		back = cJSON_Parse(text);
		assert_non_null(back);
		strcpy(err, "untouched");
		b = agent_from_record(back, err, sizeof(err));
		if (b == NULL)
			fail_msg("%s refused: %s", text, err);
		assert_string_equal(b->id, a->id);
		assert_string_equal(b->name, a->name);
		assert_string_equal(b->ip, a->ip);
		assert_string_equal(AGENT_KEY_OF(b), AGENT_KEY_OF(a));
		if (a->groups == NULL)
			assert_null(b->groups);
		else
			assert_string_equal(b->groups, a->groups);
		assert_int_equal(agents_add(&t2, b), 0);
		cJSON_free(text);
		cJSON_Delete(back);
		cJSON_Delete(r);
	}
	assert_memory_equal(t1.digest, t2.digest, 16);
	agents_free(&t1);
	agents_free(&t2);
}

static cJSON *
record(const char *id, const char *name, const char *ip, const char *key,
    const char *groups)
{
	cJSON	*r = cJSON_CreateArray();

	cJSON_AddItemToArray(r, cJSON_CreateString(id));
	cJSON_AddItemToArray(r, cJSON_CreateString(name));
	cJSON_AddItemToArray(r, cJSON_CreateString(ip));
	cJSON_AddItemToArray(r, cJSON_CreateString(key));
	cJSON_AddItemToArray(r, cJSON_CreateString(groups));
	return r;
}

static void
expect_refused(cJSON *r, const char *what)
{
	char		 err[64];
	struct agent	*a;

	strcpy(err, "untouched");
	a = agent_from_record(r, err, sizeof(err));
	if (a != NULL)
		fail_msg("record accepted: %s", what);
	assert_string_not_equal(err, "untouched");
	assert_true(err[0] != '\0');
	cJSON_Delete(r);
}

/* Whatever arrives from the master is checked before it is believed. */
static void
test_record_refused(void **state)
{
	static const char *bad_ids[] = {
		"", "1", "01", "abc", "0x1", "1234567890", "-01", "001 ",
		"00a",
	};
	static const char *bad_names[] = {
		"", "a", ".ab", "a b", "a'b", "a/b",
	};
	char		 long_name[AGENT_NAME_MAX + 2], big[AGENT_GROUPS_MAX + 2];
	cJSON		*r;
	size_t		 i;

	(void)state;
	for (i = 0; i < NELEM(bad_ids); i++)
		expect_refused(record(bad_ids[i], "web-01", "any", KEY_A, ""),
		    bad_ids[i]);
	for (i = 0; i < NELEM(bad_names); i++)
		expect_refused(record("001", bad_names[i], "any", KEY_A, ""),
		    bad_names[i]);
	memset(long_name, 'n', AGENT_NAME_MAX + 1);
	long_name[AGENT_NAME_MAX + 1] = '\0';
	expect_refused(record("001", long_name, "any", KEY_A, ""), "name 129");

	/* Keys: exactly 64 hex digits. */
	expect_refused(record("001", "web-01", "any", KEY_A "0", ""), "key 65");
	expect_refused(record("001", "web-01", "any", KEY_A + 1, ""), "key 63");
	expect_refused(record("001", "web-01", "any", "", ""), "key empty");
	expect_refused(record("001", "web-01", "any",
	    "g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	    ""), "key not hex");
	expect_refused(record("001", "web-01", "any",
	    "0123456789abcdef0123456789abcdef 123456789abcdef0123456789abcdef",
	    ""), "key with a space");

	/* Shape: five strings. */
	r = record("001", "web-01", "any", KEY_A, "");
	cJSON_DeleteItemFromArray(r, 4);
	expect_refused(r, "four fields");
	r = record("001", "web-01", "any", KEY_A, "");
	cJSON_AddItemToArray(r, cJSON_CreateString("extra"));
	expect_refused(r, "six fields");
	expect_refused(cJSON_CreateArray(), "empty array");
	r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "id", "001");
	expect_refused(r, "an object");
	expect_refused(cJSON_CreateString("001"), "a string");
	for (i = 0; i < 5; i++) {
		r = record("001", "web-01", "any", KEY_A, "g");
		cJSON_ReplaceItemInArray(r, (int)i, cJSON_CreateNumber(1));
		expect_refused(r, "a number field");
		r = record("001", "web-01", "any", KEY_A, "g");
		cJSON_ReplaceItemInArray(r, (int)i, cJSON_CreateNull());
		expect_refused(r, "a null field");
	}
	/* Fields too long for their place. */
	memset(big, 'g', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	expect_refused(record("001", "web-01", "any", KEY_A, big),
	    "groups too long");
	memset(big, '1', AGENT_IP_MAX);
	big[AGENT_IP_MAX] = '\0';
	expect_refused(record("001", "web-01", big, KEY_A, ""), "ip too long");

	/* The control: the same record with good fields is accepted. */
	{
		char		 err[64];
		struct agent	*a;

		r = record("001", "web-01", "any", KEY_A, "");
		a = agent_from_record(r, err, sizeof(err));
		assert_non_null(a);
		assert_null(a->groups);
		agent_free(a);
		cJSON_Delete(r);
	}
}

/* ---- key hash ---- */

static void
sha1_hex(const char *s, char out[41])
{
	uint8_t		md[EVP_MAX_MD_SIZE];
	unsigned	len = 0, i;

	assert_int_equal(EVP_Digest(s, strlen(s), md, &len, EVP_sha1(), NULL),
	    1);
	assert_int_equal(len, 20);
	for (i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
}

/*
 * The key in binary reads back byte for byte, whatever its case (the
 * agent's message key is an MD5 of the text), and a refused key leaves
 * the agent's as it was.
 */
static void
test_key_binary(void **state)
{
	static const char *const good[] = {
		KEY_A, KEY_B,
		"0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF",
		"aBcDeF0123456789AbCdEf0123456789abcdefABCDEF0123456789abcdefABCD",
		"0000000000000000000000000000000000000000000000000000000000000000",
		"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
		"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
		"fFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFf",
	};
	static const char *const bad[] = {
		KEY_A "0", KEY_A + 1, "", KEY_B + 1,
		"g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"0123456789abcdef0123456789abcdef 123456789abcdef0123456789abcdef",
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeG",
		"0x23456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"-123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	};
	struct agent	*a = agent_new(), *b = agent_new();
	char		 buf[AGENT_KEY_LEN + 1];
	size_t		 i;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_string_equal(AGENT_KEY_OF(a), "00000000000000000000000000000000"
	    "00000000000000000000000000000000");	/* never given one */
	for (i = 0; i < NELEM(good); i++) {
		assert_true(agents_valid_key(good[i]));
		assert_int_equal(agent_set_key(a, good[i]), 0);
		assert_string_equal(agent_key(a, buf), good[i]);
		assert_ptr_equal(agent_key(a, buf), buf);
		assert_true(agent_key_is(a, good[i]));
		assert_int_equal(agent_set_key(b, good[i]), 0);
		assert_true(agent_same_key(a, b));
	}
	/* The same digits in another case are another key. */
	assert_int_equal(agent_set_key(a, good[2]), 0);
	assert_true(agent_key_is(a, good[2]));
	assert_int_equal(agent_set_key(b, "0123456789abcdef0123456789ABCDEF"
	    "0123456789ABCDEF0123456789ABCDEF"), 0);
	assert_false(agent_same_key(a, b));
	assert_false(agent_key_is(a, "0123456789abcdef0123456789ABCDEF"
	    "0123456789ABCDEF0123456789ABCDEF"));
	for (i = 0; i < NELEM(bad); i++) {
		assert_false(agents_valid_key(bad[i]));
		if (agent_set_key(a, bad[i]) != -1)
			fail_msg("key accepted: '%s'", bad[i]);
		/* unchanged */
		assert_string_equal(AGENT_KEY_OF(a), good[2]);
	}
	assert_false(agents_valid_key(NULL));
	assert_int_equal(agent_set_key(a, NULL), -1);
	agent_free(a);
	agent_free(b);
}

/*
 * A name that fits (AGENT_NAME_INLINE - 1 characters) is kept in the
 * agent, a longer one on the heap; changing from one to the other, to
 * itself, and copying (agent_copy) leave each agent its own name.
 */
static void
test_name_inline_or_heap(void **state)
{
	char		 fits[AGENT_NAME_INLINE], longer[AGENT_NAME_INLINE + 1];
	char		 longest[AGENT_NAME_MAX + 1];
	struct agent	*a = agent_new(), *b = agent_new(), c;
	struct agents	 t;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	memset(fits, 'f', sizeof(fits) - 1);
	fits[sizeof(fits) - 1] = '\0';
	memset(longer, 'l', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	memset(longest, 'x', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	assert_string_equal(a->name, "");
	assert_int_equal(agent_set_name(a, fits), 0);
	assert_ptr_equal(a->name, a->name_buf);
	assert_string_equal(a->name, fits);
	assert_int_equal(agent_set_name(a, a->name), 0);	/* itself */
	assert_string_equal(a->name, fits);
	assert_int_equal(agent_set_name(a, longer), 0);
	assert_true(a->name != a->name_buf);
	assert_string_equal(a->name, longer);
	assert_int_equal(agent_set_name(a, a->name), 0);	/* itself */
	assert_string_equal(a->name, longer);
	assert_int_equal(agent_set_name(a, longest), 0);
	assert_string_equal(a->name, longest);
	assert_int_equal(agent_set_name(a, "web-01"), 0);	/* heap freed */
	assert_ptr_equal(a->name, a->name_buf);
	assert_string_equal(a->name, "web-01");
	assert_int_equal(agent_set_name(a, a->name + 4), 0);	/* overlaps */
	assert_string_equal(a->name, "01");

	/* Copies: each name in its own agent, whichever place it is in. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(agent_copy(&c, a), 0);
	assert_ptr_equal(c.name, c.name_buf);
	assert_string_equal(c.name, "01");
	agent_clear(&c);
	assert_int_equal(agent_set_name(b, longer), 0);
	assert_int_equal(agent_copy(&c, b), 0);
	assert_true(c.name != b->name && c.name != c.name_buf);
	agent_free(b);
	assert_string_equal(c.name, longer);
	agent_clear(&c);

	/* In a table, the name map finds it in either place. */
	agents_init(&t);
	agents_format_id(1, a->id);
	assert_int_equal(agents_add(&t, a), 0);
	b = mk(2, longer, "any", KEY_B, NULL);
	assert_int_equal(agents_add(&t, b), 0);
	assert_ptr_equal(agents_by_name(&t, "01"), a);
	assert_ptr_equal(agents_by_name(&t, longer), b);
	assert_null(agents_by_name(&t, fits));
	agents_free(&t);
}

/*
 * The digest is the XOR of each agent's MD5 of id, name, ip, key text and
 * groups, NUL-separated: the same as the versions that kept the key as
 * text, which workers and an older master compare during an upgrade.
 */
static void
test_digest_of_key_text(void **state)
{
	static const char rec[] = "042\0web-01\0any\0"
	    "aBcDeF0123456789AbCdEf0123456789abcdefABCDEF0123456789abcdefABCD"
	    "\0default,web";
	struct agents	 t;
	struct agent	*a;
	uint8_t		 md[EVP_MAX_MD_SIZE];
	unsigned	 len = 0;

	(void)state;
	agents_init(&t);
	a = mk(42, "web-01", "any", "aBcDeF0123456789AbCdEf0123456789abcdef"
	    "ABCDEF0123456789abcdefABCD", "default,web");
	assert_int_equal(agents_add(&t, a), 0);
	assert_int_equal(EVP_Digest(rec, sizeof(rec), md, &len, EVP_md5(),
	    NULL), 1);
	assert_int_equal(len, 16);
	assert_memory_equal(t.digest, md, 16);
	agents_free(&t);
}

/* K: is SHA-1 of id, name and key, concatenated, in lowercase hex. */
static void
test_key_hash(void **state)
{
	struct agent	*a;
	char		 got[41], want[41], cat[256];
	int		 i;

	(void)state;
	/* A fixed vector: sha1("001web-01" KEY_A). */
	a = mk(1, "web-01", "any", KEY_A, NULL);
	agent_key_hash(a, got);
	assert_string_equal(got, "f03564aff2e4e46536322956f55faf20ed173e01");
	agent_free(a);
	for (i = 0; i < 50; i++) {
		a = fleet(i * 37);
		agent_key_hash(a, got);
		snprintf(cat, sizeof(cat), "%s%s%s", a->id, a->name,
		    AGENT_KEY_OF(a));
		sha1_hex(cat, want);
		assert_string_equal(got, want);
		/* Neither ip nor groups take part. */
		agent_set_ip(a, "203.0.113.9");
		assert_int_equal(agent_set_groups(a, "other"), 0);
		agent_key_hash(a, got);
		assert_string_equal(got, want);
		agent_free(a);
	}
}

/* ---- names, groups, ids ---- */

static void
test_valid_name(void **state)
{
	static const char *bad[] = {
		"", "a", ".a", ".ab", "..", "a b", "a\tb", "a/b", "a\\b", "a:b",
		"a,b", "a'b", "a\"b", "a@b", "a+b", "a\nb", "a\x7f",
		"caf\xc3\xa9",
	};
	static const char *good[] = {
		"ab", "a.", "a..b", "-a", "_a", "A-Z_a.z-0.9", "00", "a.b.c",
	};
	char	name[AGENT_NAME_MAX + 2];
	size_t	i;

	(void)state;
	for (i = 0; i < NELEM(bad); i++)
		if (agents_valid_name(bad[i]))
			fail_msg("name \"%s\" accepted", bad[i]);
	for (i = 0; i < NELEM(good); i++)
		if (!agents_valid_name(good[i]))
			fail_msg("name \"%s\" refused", good[i]);
	memset(name, 'x', AGENT_NAME_MAX);
	name[AGENT_NAME_MAX] = '\0';
	assert_true(agents_valid_name(name));
	name[AGENT_NAME_MAX] = 'x';
	name[AGENT_NAME_MAX + 1] = '\0';
	assert_false(agents_valid_name(name));
}

static void
test_valid_group(void **state)
{
	static const char *bad[] = {
		"", ".", "..", "a b", "a,b", "a/b", "../x", "a\\b", "a'b",
		"a\nb", "caf\xc3\xa9",
	};
	static const char *good[] = {
		"a", "default", "...", ".hidden", "a..b", "-", "_", "Web-01.x",
	};
	char	g[AGENT_GROUP_NAME_MAX + 2];
	size_t	i;

	(void)state;
	for (i = 0; i < NELEM(bad); i++)
		if (agents_valid_group(bad[i]))
			fail_msg("group \"%s\" accepted", bad[i]);
	for (i = 0; i < NELEM(good); i++)
		if (!agents_valid_group(good[i]))
			fail_msg("group \"%s\" refused", good[i]);
	memset(g, 'g', AGENT_GROUP_NAME_MAX);
	g[AGENT_GROUP_NAME_MAX] = '\0';
	assert_true(agents_valid_group(g));
	g[AGENT_GROUP_NAME_MAX] = 'g';
	g[AGENT_GROUP_NAME_MAX + 1] = '\0';
	assert_false(agents_valid_group(g));
}

static void
test_valid_id(void **state)
{
	(void)state;
	assert_true(agents_valid_id("001"));
	assert_true(agents_valid_id("000"));
	assert_true(agents_valid_id("1234"));
	assert_true(agents_valid_id("123456789"));
	assert_false(agents_valid_id("1234567890"));
	assert_false(agents_valid_id(""));
	assert_false(agents_valid_id("1"));
	assert_false(agents_valid_id("01"));
	assert_false(agents_valid_id("00a"));
	assert_false(agents_valid_id("-01"));
	assert_false(agents_valid_id("+001"));
	assert_false(agents_valid_id(" 001"));
	assert_false(agents_valid_id("0x1"));
}

/* At least three digits, zero-padded; longer numbers as they are. */
static void
test_format_id(void **state)
{
	char	id[AGENT_ID_MAX];

	(void)state;
	agents_format_id(1, id);
	assert_string_equal(id, "001");
	agents_format_id(42, id);
	assert_string_equal(id, "042");
	agents_format_id(999, id);
	assert_string_equal(id, "999");
	agents_format_id(1234, id);
	assert_string_equal(id, "1234");
	agents_format_id(123456789, id);
	assert_string_equal(id, "123456789");
	assert_true(agents_valid_id(id));
}

/* A new agent starts as never connected, at "any", on no node. */
static void
test_agent_new_defaults(void **state)
{
	struct agent	*a;

	(void)state;
	a = agent_new();
	assert_non_null(a);
	assert_string_equal(agent_status(a), "never_connected");
	assert_string_equal(a->ip, "any");
	assert_string_equal(a->node_name, "unknown");
	assert_null(a->groups);
	assert_int_equal(agent_set_groups(a, "a,b"), 0);
	assert_string_equal(a->groups, "a,b");
	assert_int_equal(agent_set_groups(a, ""), 0);
	assert_null(a->groups);
	assert_int_equal(agent_set_groups(a, "c"), 0);
	assert_int_equal(agent_set_groups(a, NULL), 0);
	assert_null(a->groups);
	agent_free(a);
	agent_free(NULL);
}

/*
 * Addresses from the network: IPv4 and IPv6 text forms only; the setters
 * refuse anything else and keep the field as it was.
 */
static void
test_valid_ip(void **state)
{
	static const char *const good[] = {
		"10.0.2.15", "0.0.0.0", "255.255.255.255", "::1", "2001:db8::7",
		"::ffff:192.0.2.1", "fe80::1:2:3:4", NULL
	};
	static const char *const bad[] = {
		"", "any", "10.0.2", "10.0.2.256", "10.0.2.15 ", " 10.0.2.15",
		"10.0.2.15\n", "host.example", "fe80::1%eth0", "2001:db8:::7",
		"1.2.3.4/24", "\x1b[2J", "10.0.2.15;x",
		"1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc",
		NULL
	};
	struct agent	*a;
	int		 i;

	(void)state;
	for (i = 0; good[i] != NULL; i++)
		assert_true(agents_valid_ip(good[i]));
	for (i = 0; bad[i] != NULL; i++)
		assert_false(agents_valid_ip(bad[i]));
	assert_false(agents_valid_ip(NULL));
	a = agent_new();
	assert_non_null(a);
	assert_string_equal(AGENT_ADDR_OF(a, AGENT_REPORTED_IP), "");
	assert_string_equal(AGENT_ADDR_OF(a, AGENT_SOURCE_IP), "");
	assert_int_equal(agent_set_reported_ip(a, "192.0.2.7"), 0);
	assert_int_equal(agent_set_source_ip(a, "2001:db8::9"), 0);
	for (i = 0; bad[i] != NULL; i++) {
		if (bad[i][0] == '\0')
			continue;
		assert_int_equal(agent_set_reported_ip(a, bad[i]), -1);
		assert_int_equal(agent_set_source_ip(a, bad[i]), -1);
	}
	assert_string_equal(AGENT_ADDR_OF(a, AGENT_REPORTED_IP), "192.0.2.7");
	assert_string_equal(AGENT_ADDR_OF(a, AGENT_SOURCE_IP), "2001:db8::9");
	assert_int_equal(agent_set_reported_ip(a, ""), 0);
	assert_string_equal(AGENT_ADDR_OF(a, AGENT_REPORTED_IP), "");
	agent_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strmap_random_deletions),
		cmocka_unit_test(test_strmap_keyed_random_deletions),
		cmocka_unit_test(test_strmap_collisions_wrap),
		cmocka_unit_test(test_strmap_replace),
		cmocka_unit_test(test_strmap_iterate),
		cmocka_unit_test(test_digest_order_independent),
		cmocka_unit_test(test_digest_add_remove),
		cmocka_unit_test(test_rehash_groups),
		cmocka_unit_test(test_duplicates_refused),
		cmocka_unit_test(test_by_ip),
		cmocka_unit_test(test_count_status),
		cmocka_unit_test(test_agent_time_clamped),
		cmocka_unit_test(test_sweep_interval),
		cmocka_unit_test(test_valid_ip),
		cmocka_unit_test(test_record_roundtrip),
		cmocka_unit_test(test_record_refused),
		cmocka_unit_test(test_key_hash),
		cmocka_unit_test(test_key_binary),
		cmocka_unit_test(test_name_inline_or_heap),
		cmocka_unit_test(test_digest_of_key_text),
		cmocka_unit_test(test_valid_name),
		cmocka_unit_test(test_valid_group),
		cmocka_unit_test(test_valid_id),
		cmocka_unit_test(test_format_id),
		cmocka_unit_test(test_agent_new_defaults),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
