/*
 * test_addr: an agent's address fields kept inline.  Every value reads
 * back exactly as it was set: addresses in their usual form (with or
 * without a prefix) without an allocation, anything else (other spellings,
 * bad prefixes, names, "src") as owned text; values are cut at their
 * bound; clearing frees the text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/addr.h"
#include "agent/agents.h"

static void
roundtrip(const char *s, int inl)
{
	struct agent_addr	a;

	memset(&a, 0, sizeof(a));
	assert_int_equal(agent_addr_set(&a, s, AGENT_ADDR_MAX - 1), 0);
	assert_string_equal(AGENT_ADDR(a), s);
	if (agent_addr_inline(&a) != inl)
		fail_msg("'%s': inline %d, want %d", s, agent_addr_inline(&a),
		    inl);
	agent_addr_clear(&a);
	assert_string_equal(AGENT_ADDR(a), "");
}

/* Values held in binary: what the master stores for most agents. */
static void
test_inline(void **state)
{
	static const char *const ok[] = {
		"", "any", "0.0.0.0", "127.0.0.1", "192.0.2.7",
		"255.255.255.255", "10.0.0.0/8", "10.1.2.3/32", "0.0.0.0/0",
		"::", "::1", "2001:db8::9", "2001:db8::/32", "::/0",
		"fe80::1/128", "::ffff:192.0.2.1", "::ffff:192.0.2.1/96",
		"2001:db8:1:2:3:4:5:6", "ffff:ffff:ffff:ffff:ffff:ffff:"
		"ffff:ffff/127",
	};
	size_t	i;

	(void)state;
	assert_int_equal(sizeof(struct agent_addr), 17);
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		roundtrip(ok[i], 1);
}

/* Everything else the code may be handed (a registry row, an HA record,
 * an older version's value): kept as text, exactly. */
static void
test_text(void **state)
{
	static const char *const text[] = {
		"ANY", "src", "host.example", " 1.2.3.4", "1.2.3.4 ",
		"1.2.3.4/", "1.2.3.4/33", "1.2.3.4/08", "1.2.3.4/+8",
		"1.2.3.4/-1", "1.2.3.4/8/8", "1.2.3.4/ 8", "/8", "1.2.3",
		"01.2.3.4", "1.2.3.4.5", "2001:DB8::9", "2001:db8:0::9",
		"::FFFF:1.2.3.4", "::1/129", "::1/0128", "fe80::1%eth0",
		"1.2.3.4/99999999999999999999", "10.0.0.5; DROP", "a\tb",
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(text) / sizeof(text[0]); i++)
		roundtrip(text[i], 0);
}

/* NULL is "", values are cut at max, and setting over text frees it
 * (run under ASan by make unit SANITIZE=address). */
static void
test_bounds_and_reuse(void **state)
{
	struct agent_addr	a;
	char			long_s[200];

	(void)state;
	memset(&a, 0, sizeof(a));
	assert_int_equal(agent_addr_set(&a, NULL, 63), 0);
	assert_string_equal(AGENT_ADDR(a), "");
	memset(long_s, 'x', sizeof(long_s) - 1);
	long_s[sizeof(long_s) - 1] = '\0';
	assert_int_equal(agent_addr_set(&a, long_s, 200), 0);
	assert_int_equal(strlen(AGENT_ADDR(a)), AGENT_ADDR_MAX - 1);
	assert_int_equal(agent_addr_set(&a, "1.2.3.4/24", 7), 0);
	assert_string_equal(AGENT_ADDR(a), "1.2.3.4");
	assert_true(agent_addr_inline(&a));
	assert_int_equal(agent_addr_set(&a, "2001:db8::1/64", 12), 0);
	assert_string_equal(AGENT_ADDR(a), "2001:db8::1/");
	assert_false(agent_addr_inline(&a));
	assert_int_equal(agent_addr_set(&a, "2001:db8::1/", 63), 0);
	assert_string_equal(AGENT_ADDR(a), "2001:db8::1/");
	assert_int_equal(agent_addr_set(&a, "any", 63), 0);
	assert_string_equal(AGENT_ADDR(a), "any");
	agent_addr_clear(&a);
	agent_addr_clear(&a);
}

/* Through struct agent: the setters, agent_copy() and the validating
 * setters keep their behaviour. */
static void
test_agent_fields(void **state)
{
	struct agent	*a = agent_new(), c;

	(void)state;
	assert_non_null(a);
	/* Defaults take no block: a worker's replica of most agents. */
	assert_int_equal(agent_set_register_ip(a, "any"), 0);
	assert_int_equal(agent_set_source_ip(a, ""), 0);
	assert_int_equal(agent_set_reported_ip(a, NULL), 0);
	assert_null(a->addrs);
	assert_string_equal(AGENT_ADDR_OF(a, AGENT_REGISTER_IP), "any");
	assert_string_equal(AGENT_ADDR_OF(a, AGENT_ENROLL_SRC), "");
	assert_string_equal(AGENT_ADDR_OF(a, AGENT_SOURCE_IP), "");
	assert_int_equal(agent_set_source_ip(a, "192.0.2.1"), 0);
	assert_non_null(a->addrs);
	assert_string_equal(AGENT_ADDR_OF(a, AGENT_REGISTER_IP), "any");
	assert_string_equal(AGENT_ADDR_OF(a, AGENT_REPORTED_IP), "");
	assert_int_equal(agent_set_register_ip(a, "10.0.0.0/8"), 0);
	assert_int_equal(agent_set_enroll_src(a, "Host.Example"), 0);
	assert_int_equal(agent_set_source_ip(a, "2001:DB8::1"), 0);
	assert_int_equal(agent_set_reported_ip(a, "10.0.2.15"), 0);
	assert_int_equal(agent_set_reported_ip(a, "10.0.2.15/8"), -1);
	assert_int_equal(agent_set_source_ip(a, "evil.example"), -1);
	memset(&c, 0, sizeof(c));
	assert_int_equal(agent_copy(&c, a), 0);
	agent_free(a);
	assert_string_equal(AGENT_ADDR_OF(&c, AGENT_REGISTER_IP), "10.0.0.0/8");
	assert_string_equal(AGENT_ADDR_OF(&c, AGENT_ENROLL_SRC),
	    "Host.Example");
	assert_string_equal(AGENT_ADDR_OF(&c, AGENT_SOURCE_IP), "2001:DB8::1");
	assert_string_equal(AGENT_ADDR_OF(&c, AGENT_REPORTED_IP), "10.0.2.15");
	agent_clear(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inline),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_bounds_and_reuse),
		cmocka_unit_test(test_agent_fields),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
