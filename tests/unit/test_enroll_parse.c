/*
 * test_enroll_parse: the agents' enrollment request line, field by field,
 * with the exact error answers agents print; IP checks, version ordering,
 * and the policy deciding whether a new enrollment may replace an agent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/agents.h"
#include "agent/enroll_parse.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* A SHA-1 in hex, as agents send it in K:. */
#define HASH_LC	"0123456789abcdef0123456789abcdef01234567"
#define HASH_MC	"0123456789ABCDEF0123456789abcdefABCDEF67"
#define HASH_MC_LC "0123456789abcdef0123456789abcdefabcdef67"

static struct enroll_req	req;
static char			answer[ENROLL_ANSWER_MAX];

/* Parse a C string as one line; the answer buffer starts marked. */
static int
parse(const char *line)
{
	strcpy(answer, "untouched");
	return enroll_parse(line, strlen(line), &req, answer, sizeof(answer));
}

static int
parse_len(const char *line, size_t len)
{
	strcpy(answer, "untouched");
	return enroll_parse(line, len, &req, answer, sizeof(answer));
}

/* The line must be refused with exactly this answer. */
static void
refused(const char *line, const char *want)
{
	if (parse(line) != -1)
		fail_msg("accepted: \"%s\"", line);
	if (strcmp(answer, want) != 0)
		fail_msg("line \"%s\"\n  answer \"%s\"\n  wanted \"%s\"", line,
		    answer, want);
}

static void
accepted(const char *line)
{
	if (parse(line) != 0)
		fail_msg("refused: \"%s\": %s", line, answer);
}

/* ---- fields ---- */

/*
 * Every subset of the optional fields, always in protocol order, with and
 * without the password prefix: each lands in its own field and the ones
 * not sent stay empty.
 */
static void
test_every_field_combination(void **state)
{
	char		line[512];
	unsigned	mask;
	int		pass;

	(void)state;
	for (pass = 0; pass < 2; pass++) {
		for (mask = 0; mask < 16; mask++) {
			snprintf(line, sizeof(line), "%sOSSEC A:'web-01'%s%s%s%s",
			    pass ? "OSSEC PASS: s3cret " : "",
			    mask & 1 ? " V:'v4.14.7'" : "",
			    mask & 2 ? " G:'default,linux'" : "",
			    mask & 4 ? " IP:'10.1.2.3'" : "",
			    mask & 8 ? " K:'" HASH_LC "'" : "");
			if (parse(line) != 0)
				fail_msg("refused \"%s\": %s", line, answer);
			assert_int_equal(req.has_password, pass);
			assert_string_equal(req.password, pass ? "s3cret" : "");
			assert_string_equal(req.name, "web-01");
			assert_string_equal(req.version, mask & 1 ? "v4.14.7" :
			    "");
			assert_string_equal(req.groups, mask & 2 ?
			    "default,linux" : "");
			assert_string_equal(req.ip, mask & 4 ? "10.1.2.3" : "");
			assert_string_equal(req.key_hash, mask & 8 ? HASH_LC :
			    "");
			assert_string_equal(answer, "untouched");
		}
	}
}

/* What old agents and simple clients send: the action alone. */
static void
test_bare_request(void **state)
{
	(void)state;
	accepted("OSSEC A:'db-server'");
	assert_int_equal(req.has_password, 0);
	assert_string_equal(req.password, "");
	assert_string_equal(req.name, "db-server");
	assert_string_equal(req.version, "");
	assert_string_equal(req.groups, "");
	assert_string_equal(req.ip, "");
	assert_string_equal(req.key_hash, "");
}

/* The caller may pass the line with its CR (Windows agents) or CRLF. */
static void
test_trailing_cr(void **state)
{
	(void)state;
	accepted("OSSEC A:'win-01'\r");
	assert_string_equal(req.name, "win-01");
	accepted("OSSEC A:'win-01' V:'v4.9.0' IP:'10.0.0.9'\r\n");
	assert_string_equal(req.version, "v4.9.0");
	assert_string_equal(req.ip, "10.0.0.9");
	/* A CR inside a field is not stripped. */
	refused("OSSEC A:'win-01' IP:'10.0.0.9\r'",
	    "ERROR: Invalid IP: 10.0.0.9\r");
}

/* The password may hold spaces; it ends at the action. */
static void
test_password(void **state)
{
	char	*line;

	(void)state;
	accepted("OSSEC PASS: my secret  pass OSSEC A:'ab'");
	assert_int_equal(req.has_password, 1);
	assert_string_equal(req.password, "my secret  pass");
	assert_string_equal(req.name, "ab");
	/* An empty password is still a password sent. */
	accepted("OSSEC PASS:  OSSEC A:'ab'");
	assert_int_equal(req.has_password, 1);
	assert_string_equal(req.password, "");

	/* ENROLL_PASS_MAX characters fit; one more does not. */
	line = malloc(ENROLL_PASS_MAX + 64);
	assert_non_null(line);
	strcpy(line, "OSSEC PASS: ");
	memset(line + 12, 'p', ENROLL_PASS_MAX);
	strcpy(line + 12 + ENROLL_PASS_MAX, " OSSEC A:'ab'");
	accepted(line);
	assert_int_equal(strlen(req.password), ENROLL_PASS_MAX);
	memset(line + 12, 'p', ENROLL_PASS_MAX + 1);
	strcpy(line + 12 + ENROLL_PASS_MAX + 1, " OSSEC A:'ab'");
	refused(line, "ERROR: Invalid password");
	free(line);
}

/* The PASS prefix must be followed by an action. */
static void
test_password_without_action(void **state)
{
	(void)state;
	refused("OSSEC PASS: s3cret", "ERROR: Invalid password");
	refused("OSSEC PASS: s3cret ", "ERROR: Invalid password");
	refused("OSSEC PASS: ", "ERROR: Invalid password");
	refused("OSSEC PASS: s3cret OSSEC B:'ab'", "ERROR: Invalid password");
	/* The action needs the space that ends the password. */
	refused("OSSEC PASS: OSSEC A:'ab'", "ERROR: Invalid password");
}

/* Repeated groups are dropped, the first occurrence keeping its place. */
static void
test_groups_deduplicated(void **state)
{
	(void)state;
	accepted("OSSEC A:'ab' G:'web,db,web,linux,db'");
	assert_string_equal(req.groups, "web,db,linux");
	/* Whole names are compared, not substrings. */
	accepted("OSSEC A:'ab' G:'ab,a,b,ab,b,abc'");
	assert_string_equal(req.groups, "ab,a,b,abc");
	accepted("OSSEC A:'ab' G:'b,ab,b'");
	assert_string_equal(req.groups, "b,ab");
	/* Empty entries between commas are skipped. */
	accepted("OSSEC A:'ab' G:'a,,b,'");
	assert_string_equal(req.groups, "a,b");
	accepted("OSSEC A:'ab' G:''");
	assert_string_equal(req.groups, "");
}

/* 128 groups is the limit, counted after duplicates are removed. */
static void
test_group_limit(void **state)
{
	char	line[2048], want[1024], *p, *w;
	int	i;

	(void)state;
	p = line + sprintf(line, "OSSEC A:'ab' G:'");
	w = want;
	for (i = 0; i < ENROLL_MAX_GROUPS; i++) {
		p += sprintf(p, "%sg%d", i ? "," : "", i);
		w += sprintf(w, "%sg%d", i ? "," : "", i);
	}
	/* ... then every one again. */
	for (i = 0; i < ENROLL_MAX_GROUPS; i++)
		p += sprintf(p, ",g%d", i);
	strcpy(p, "'");
	accepted(line);
	assert_string_equal(req.groups, want);

	strcpy(p, ",g128'");
	refused(line, "ERROR: Maximum multigroup reached: Limit is 128");
}

static void
test_group_names(void **state)
{
	(void)state;
	refused("OSSEC A:'ab' G:'web,bad group'",
	    "ERROR: Invalid group name: bad group");
	refused("OSSEC A:'ab' G:'..'", "ERROR: Invalid group name: ..");
	refused("OSSEC A:'ab' G:'web,.'", "ERROR: Invalid group name: .");
	refused("OSSEC A:'ab' G:'a/b'", "ERROR: Invalid group name: a/b");
	refused("OSSEC A:'ab' G:','", "ERROR: Invalid group name: ,");
	accepted("OSSEC A:'ab' G:'...,.hidden,A-Z_0.9'");
	assert_string_equal(req.groups, "...,.hidden,A-Z_0.9");
}

/* IP:'src' asks for the connection's source address. */
static void
test_ip_src(void **state)
{
	(void)state;
	accepted("OSSEC A:'ab' IP:'src'");
	assert_string_equal(req.ip, "src");
	accepted("OSSEC A:'ab' V:'v4.14.7' G:'web' IP:'src' K:'" HASH_LC "'");
	assert_string_equal(req.ip, "src");
	assert_string_equal(req.key_hash, HASH_LC);
}

static void
test_ip_forms(void **state)
{
	static const char *good[] = {
		"192.168.1.10", "0.0.0.0", "255.255.255.255", "10.0.0.0/8",
		"10.1.2.3/32", "0.0.0.0/0", "::1", "2001:db8::1",
		"2001:db8::/32", "::/0", "fe80::1/128", "::ffff:10.0.0.1",
	};
	static const char *bad[] = {
		"300.1.1.1", "1.2.3", "1.2.3.4.5", "abc", "any", "localhost",
		"1.2.3.4/33", "1.2.3.4/", "1.2.3.4/a", "1.2.3.4/-1",
		"1.2.3.4/8/8", "1.2.3.4/ 8", " 1.2.3.4", "1.2.3.4 ", "::1/129",
		"2001:db8:::1", "fe80::1%eth0", "01.2.3.4", "1.2.3.4/8x", "",
	};
	char	line[256], want[256];
	size_t	i;

	(void)state;
	for (i = 0; i < NELEM(good); i++) {
		assert_true(enroll_valid_ip(good[i]));
		snprintf(line, sizeof(line), "OSSEC A:'ab' IP:'%s'", good[i]);
		accepted(line);
		assert_string_equal(req.ip, good[i]);
	}
	for (i = 0; i < NELEM(bad); i++) {
		if (enroll_valid_ip(bad[i]))
			fail_msg("enroll_valid_ip accepted \"%s\"", bad[i]);
		snprintf(line, sizeof(line), "OSSEC A:'ab' IP:'%s'", bad[i]);
		snprintf(want, sizeof(want), "ERROR: Invalid IP: %s", bad[i]);
		refused(line, want);
	}
}

/* The answer of every malformed request, exactly as agents show it. */
static void
test_error_answers(void **state)
{
	(void)state;
	refused("", "ERROR: Invalid request for new agent");
	refused("OSSEC", "ERROR: Invalid request for new agent");
	refused("OSSEC B:'ab'", "ERROR: Invalid request for new agent");
	refused("ossec A:'ab'", "ERROR: Invalid request for new agent");
	refused(" OSSEC A:'ab'", "ERROR: Invalid request for new agent");
	refused("OSSEC A:ab", "ERROR: Invalid request for new agent");
	refused("OSSEC A:'ab", "ERROR: Invalid request for new agent");
	refused("OSSEC A:'", "ERROR: Invalid request for new agent");
	refused("OSSEC A:''", "ERROR: Invalid agent name: ");
	refused("OSSEC A:'a'", "ERROR: Invalid agent name: a");
	refused("OSSEC A:'ab' V:'v4.14.7",
	    "ERROR: Unterminated version field");
	refused("OSSEC A:'ab' V:'v4.14.7 G:",
	    "ERROR: Unterminated version field");
	refused("OSSEC A:'ab' G:'web,db", "ERROR: Unterminated group field");
	refused("OSSEC A:'ab' V:'v4.14.7' G:'web",
	    "ERROR: Unterminated group field");
	refused("OSSEC A:'ab' IP:'10.0.0.1", "ERROR: Unterminated IP field");
	refused("OSSEC A:'ab' G:'web' IP:'",
	    "ERROR: Unterminated IP field");
	refused("OSSEC A:'ab' K:'" HASH_LC, "ERROR: Unterminated key field");
	refused("OSSEC A:'ab' IP:'src' K:'", "ERROR: Unterminated key field");
	refused("OSSEC A:'ab' G:'web,x y'", "ERROR: Invalid group name: x y");
	refused("OSSEC A:'ab' IP:'10.0.0.256'",
	    "ERROR: Invalid IP: 10.0.0.256");
	refused("OSSEC PASS: x", "ERROR: Invalid password");
}

/* ---- names ---- */

/* 2 to 128 characters; the answer echoes at most 128 of a longer one. */
static void
test_name_lengths(void **state)
{
	char	line[300], name[200], want[300];

	(void)state;
	refused("OSSEC A:'x'", "ERROR: Invalid agent name: x");
	accepted("OSSEC A:'xy'");
	assert_string_equal(req.name, "xy");

	memset(name, 'n', 128);
	name[128] = '\0';
	snprintf(line, sizeof(line), "OSSEC A:'%s' IP:'src'", name);
	accepted(line);
	assert_string_equal(req.name, name);
	assert_string_equal(req.ip, "src");

	memset(name, 'n', 129);
	name[129] = '\0';
	snprintf(line, sizeof(line), "OSSEC A:'%s'", name);
	assert_int_equal(parse(line), -1);
	snprintf(want, sizeof(want), "ERROR: Invalid agent name: %.128s",
	    name);
	assert_int_equal(strncmp(answer, want, strlen(want)), 0);
}

/* Names are [A-Za-z0-9._-] not starting with '.'; anything else refused. */
static void
test_name_characters(void **state)
{
	static const char *bad[] = {
		"a b", "a\tb", "a/b", "a\\b", "a:b", "a,b", "a;b", "a@b", "a*b",
		"a$b", "a\"b", "a`b", "a(b", "a\x01" "b", "a\x7f" "b",
		"caf\xc3\xa9", "a\nb", "a\rb", "a b ", ".ab", "..", ".a",
	};
	char	line[128], want[128];
	size_t	i;

	(void)state;
	for (i = 0; i < NELEM(bad); i++) {
		snprintf(line, sizeof(line), "OSSEC A:'%s'", bad[i]);
		snprintf(want, sizeof(want), "ERROR: Invalid agent name: %s",
		    bad[i]);
		refused(line, want);
	}
	accepted("OSSEC A:'A-z_0.9'");
	accepted("OSSEC A:'-leading-dash'");
	accepted("OSSEC A:'_x'");
	accepted("OSSEC A:'trailing.'");
	assert_string_equal(req.name, "trailing.");
}

/*
 * A field's value runs to the next quote (protocol doc: names cannot hold
 * one), so a quote ends the name there.  What follows the closing quote
 * must be a known field in order, else it is ignored as Wazuh managers do;
 * it never becomes part of another field.
 */
static void
test_quote_ends_field(void **state)
{
	(void)state;
	accepted("OSSEC A:'web'01'");
	assert_string_equal(req.name, "web");
	assert_string_equal(req.version, "");
	assert_string_equal(req.ip, "");

	/* A quote in the name cannot smuggle a field in: the rest is junk. */
	accepted("OSSEC A:'web'x IP:'10.0.0.1'");
	assert_string_equal(req.name, "web");
	assert_string_equal(req.ip, "");

	/* A one-letter name before the quote is still too short. */
	refused("OSSEC A:'w'eb'", "ERROR: Invalid agent name: w");

	/* The same for a group: the list ends at the quote. */
	accepted("OSSEC A:'web' G:'a'b,c' IP:'10.0.0.1'");
	assert_string_equal(req.groups, "a");
	assert_string_equal(req.ip, "");

	/* A quote-free newline is part of the value, and refused there. */
	refused("OSSEC A:'web' G:'a\nb'", "ERROR: Invalid group name: a\nb");
	refused("OSSEC A:'web' IP:'10.0.0.1\n'",
	    "ERROR: Invalid IP: 10.0.0.1\n");
}

/* Fields out of order are not recognized. */
static void
test_field_order(void **state)
{
	(void)state;
	accepted("OSSEC A:'ab' G:'web' V:'v4.14.7'");
	assert_string_equal(req.groups, "web");
	assert_string_equal(req.version, "");
	accepted("OSSEC A:'ab' K:'" HASH_LC "' IP:'10.0.0.1'");
	assert_string_equal(req.key_hash, HASH_LC);
	assert_string_equal(req.ip, "");
	/* Fields need their leading space. */
	accepted("OSSEC A:'ab'V:'v4.14.7'");
	assert_string_equal(req.version, "");
}

/*
 * Values longer than their field (version AGENT_FIELD_MAX - 1, groups
 * 4096, IP 63) have no closing quote where one could be: "Unterminated
 * ... field".
 */
static void
test_field_limits(void **state)
{
	char	line[8192], want[512], v[300], *p;
	int	i;

	(void)state;
	memset(v, '9', AGENT_FIELD_MAX - 1);
	v[AGENT_FIELD_MAX - 1] = '\0';
	snprintf(line, sizeof(line), "OSSEC A:'ab' V:'%s'", v);
	accepted(line);
	assert_string_equal(req.version, v);
	snprintf(line, sizeof(line), "OSSEC A:'ab' V:'%s9'", v);
	refused(line, "ERROR: Unterminated version field");

	/* 128 groups of 31 characters and 127 commas: 4095, then 4096. */
	p = line + sprintf(line, "OSSEC A:'ab' G:'");
	for (i = 0; i < ENROLL_MAX_GROUPS; i++)
		p += sprintf(p, "%sgroup-%03d-xxxxxxxxxxxxxxxxxxxxx", i ? "," :
		    "", i);
	strcpy(p, "y'");
	accepted(line);
	assert_int_equal(strlen(req.groups), AGENT_GROUPS_MAX);
	strcpy(p, "yy'");
	refused(line, "ERROR: Unterminated group field");

	memset(v, 'x', 63);
	v[63] = '\0';
	snprintf(line, sizeof(line), "OSSEC A:'ab' IP:'%s'", v);
	snprintf(want, sizeof(want), "ERROR: Invalid IP: %s", v);
	refused(line, want);
	snprintf(line, sizeof(line), "OSSEC A:'ab' IP:'%sx'", v);
	refused(line, "ERROR: Unterminated IP field");
}

/* A NUL anywhere in the line makes it a bad request. */
static void
test_nul_byte(void **state)
{
	static const char	l1[] = "OSSEC A:'a\0b'";
	static const char	l2[] = "OSSEC A:'ab'\0 IP:'10.0.0.1'";
	static const char	l3[] = "OSSEC A:'ab'\0";
	static const char	l4[] = "OSSEC PASS: a\0b OSSEC A:'ab'";

	(void)state;
	assert_int_equal(parse_len(l1, sizeof(l1) - 1), -1);
	assert_string_equal(answer, "ERROR: Invalid request for new agent");
	assert_int_equal(parse_len(l2, sizeof(l2) - 1), -1);
	assert_string_equal(answer, "ERROR: Invalid request for new agent");
	assert_int_equal(parse_len(l3, sizeof(l3) - 1), -1);
	assert_string_equal(answer, "ERROR: Invalid request for new agent");
	assert_int_equal(parse_len(l4, sizeof(l4) - 1), -1);
	assert_string_equal(answer, "ERROR: Invalid request for new agent");
	/* Only len bytes are read: what follows does not matter. */
	assert_int_equal(parse_len(l2, 12), 0);
	assert_string_equal(req.name, "ab");
}

/* ENROLL_LINE_MAX bytes are read; a longer line is refused whole. */
static void
test_line_max(void **state)
{
	char	*line;
	size_t	 n = ENROLL_LINE_MAX + 1;

	(void)state;
	line = malloc(n + 1);
	assert_non_null(line);
	memset(line, ' ', n);
	memcpy(line, "OSSEC A:'ab'", 12);
	line[n] = '\0';
	assert_int_equal(parse_len(line, ENROLL_LINE_MAX), 0);
	assert_string_equal(req.name, "ab");
	assert_int_equal(parse_len(line, n), -1);
	assert_string_equal(answer, "ERROR: Invalid request for new agent");
	free(line);
}

/* ---- K: ---- */

static void
test_key_hash_lowercased(void **state)
{
	(void)state;
	accepted("OSSEC A:'ab' K:'" HASH_MC "'");
	assert_string_equal(req.key_hash, HASH_MC_LC);
	accepted("OSSEC A:'ab' K:'" HASH_LC "'\r\n");
	assert_string_equal(req.key_hash, HASH_LC);
}

/* A SHA-1 is 40 hex digits: other lengths are refused. */
static void
test_key_hash_length(void **state)
{
	(void)state;
	refused("OSSEC A:'ab' K:'0123456789abcdef0123456789abcdef0123456'",
	    "ERROR: Unterminated key field");
	refused("OSSEC A:'ab' K:'0123456789abcdef0123456789abcdef012345678'",
	    "ERROR: Unterminated key field");
	refused("OSSEC A:'ab' K:''", "ERROR: Unterminated key field");
	refused("OSSEC A:'ab' K:'0123456789abcdef0123456789abcdef0123456789"
	    "abcdef0123456789abcdef0123456789'",
	    "ERROR: Unterminated key field");
}

/*
 * K: is a hex SHA-1 (protocol doc): 40 characters that are not hex
 * digits are refused, never handed on as the agent's identity.
 */
static void
test_key_hash_not_hex(void **state)
{
	static const char *bad[] = {
		"g123456789abcdef0123456789abcdef01234567",
		"0123456789abcdef0123456789abcdef0123456z",
		"0123456789abcdef 123456789abcdef01234567",
		"0123456789abcdef\n123456789abcdef01234567",
		"0x23456789abcdef0123456789abcdef01234567",
		"----------------------------------------",
	};
	char	line[128];
	size_t	i;

	(void)state;
	for (i = 0; i < NELEM(bad); i++) {
		snprintf(line, sizeof(line), "OSSEC A:'ab' K:'%s'", bad[i]);
		if (parse(line) != -1)
			fail_msg("K:'%s' accepted as key_hash \"%s\"", bad[i],
			    req.key_hash);
		assert_string_equal(answer, "ERROR: Invalid key field");
	}
}

/* ---- versions ---- */

static void
test_version_cmp(void **state)
{
	(void)state;
	assert_true(enroll_version_cmp("v4.14.7", "4.14.10") < 0);
	assert_true(enroll_version_cmp("4.14.10", "v4.14.7") > 0);
	assert_true(enroll_version_cmp("v4.9", "v4.10") < 0);
	assert_true(enroll_version_cmp("v4.10", "v4.9") > 0);
	assert_true(enroll_version_cmp("v4.9.9", "v4.10.0") < 0);
	assert_true(enroll_version_cmp("v5.0.0", "v4.99.99") > 0);
	assert_true(enroll_version_cmp("v3.13.6", "v4.0.0") < 0);
	assert_int_equal(enroll_version_cmp("v4.14.7", "V4.14.7"), 0);
	assert_int_equal(enroll_version_cmp("v4.14.7", "4.14.7"), 0);
	assert_int_equal(enroll_version_cmp("4.14", "4.14.0"), 0);
	assert_true(enroll_version_cmp("4.14", "4.14.1") < 0);
	/* Suffixes after the numbers are ignored. */
	assert_int_equal(enroll_version_cmp("v4.14.7-rc1", "v4.14.7"), 0);
	/* What does not parse compares equal, either side. */
	assert_int_equal(enroll_version_cmp("garbage", "v4.14.7"), 0);
	assert_int_equal(enroll_version_cmp("v4.14.7", "garbage"), 0);
	assert_int_equal(enroll_version_cmp("", "v9.0.0"), 0);
	assert_int_equal(enroll_version_cmp("v5", "v4.1.1"), 0);
	assert_int_equal(enroll_version_cmp("v4.x", "v9.9.9"), 0);
	assert_int_equal(enroll_version_cmp("v", "v"), 0);
}

/* ---- replacing an agent ---- */

#define NOW	((time_t)1700000000)
#define HOUR	3600

/* An old agent every rule lets go: disconnected and registered 2 h ago. */
static void
old_agent(struct agent *a)
{
	memset(a, 0, sizeof(*a));
	strcpy(a->id, "007");
	agent_set_name(a, "web-01");
	agent_set_ip(a, "10.0.0.7");
	assert_int_equal(agent_set_key(a, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), 0);
	agent_set_status(a, "disconnected");
	a->date_add = NOW - 2 * HOUR;
	a->disconnection_time = NOW - 2 * HOUR;
}

static void
default_force(struct enroll_force *f)
{
	f->enabled = 1;
	f->disconnected_time = HOUR;
	f->after_registration_time = HOUR;
	f->key_mismatch = 1;
}

static int
may(const struct agent *a, const char *hash, const struct enroll_force *f)
{
	char	why[128];
	int	r;

	strcpy(why, "untouched");
	r = enroll_may_replace(a, hash, f, NOW, why, sizeof(why));
	if (r == 1)
		assert_string_equal(why, "untouched");
	else {
		assert_int_equal(r, 0);
		assert_string_not_equal(why, "untouched");
		assert_non_null(strstr(why, a->id));
	}
	return r;
}

static void
test_replace_baseline(void **state)
{
	struct agent		a;
	struct enroll_force	f;

	(void)state;
	old_agent(&a);
	default_force(&f);
	assert_int_equal(may(&a, NULL, &f), 1);
	assert_int_equal(may(&a, "", &f), 1);
	assert_int_equal(may(&a, HASH_LC, &f), 1);
}

static void
test_replace_disabled(void **state)
{
	struct agent		a;
	struct enroll_force	f;
	char			why[128] = "";

	(void)state;
	old_agent(&a);
	default_force(&f);
	f.enabled = 0;
	assert_int_equal(enroll_may_replace(&a, NULL, &f, NOW, why,
	    sizeof(why)), 0);
	assert_string_equal(why, "replacement is disabled");
}

/* A connected agent (active, or pending after its startup) is kept. */
static void
test_replace_connected_refused(void **state)
{
	struct agent		a;
	struct enroll_force	f;

	(void)state;
	default_force(&f);
	old_agent(&a);
	agent_set_status(&a, "active");
	assert_int_equal(may(&a, NULL, &f), 0);
	agent_set_status(&a, "pending");
	assert_int_equal(may(&a, NULL, &f), 0);
	/* Disconnected without a time is not known to be gone long. */
	old_agent(&a);
	a.disconnection_time = 0;
	assert_int_equal(may(&a, NULL, &f), 0);
}

static void
test_replace_disconnected_time(void **state)
{
	struct agent		a;
	struct enroll_force	f;

	(void)state;
	default_force(&f);
	old_agent(&a);
	a.disconnection_time = NOW - 10 * 60;
	assert_int_equal(may(&a, NULL, &f), 0);
	a.disconnection_time = NOW - HOUR + 1;
	assert_int_equal(may(&a, NULL, &f), 0);
	/* "At least" the time: the bound itself is enough. */
	a.disconnection_time = NOW - HOUR;
	assert_int_equal(may(&a, NULL, &f), 1);
	a.disconnection_time = NOW - 30 * HOUR;
	assert_int_equal(may(&a, NULL, &f), 1);
}

/* An agent that never connected has no disconnection to wait for. */
static void
test_replace_never_connected(void **state)
{
	struct agent		a;
	struct enroll_force	f;

	(void)state;
	default_force(&f);
	old_agent(&a);
	agent_set_status(&a, "never_connected");
	a.disconnection_time = 0;
	assert_int_equal(may(&a, NULL, &f), 1);
}

static void
test_replace_registration_time(void **state)
{
	struct agent		a;
	struct enroll_force	f;

	(void)state;
	default_force(&f);
	old_agent(&a);
	agent_set_status(&a, "never_connected");
	a.date_add = NOW - 60;
	assert_int_equal(may(&a, NULL, &f), 0);
	a.date_add = NOW - HOUR + 1;
	assert_int_equal(may(&a, NULL, &f), 0);
	a.date_add = NOW - HOUR;
	assert_int_equal(may(&a, NULL, &f), 1);
}

/*
 * An agent sending the hash of the key on record still holds a valid key:
 * with key_mismatch it keeps its registration; without, it may be replaced.
 */
static void
test_replace_key_hash(void **state)
{
	struct agent		a;
	struct enroll_force	f;
	char			same[41];

	(void)state;
	default_force(&f);
	old_agent(&a);
	agent_key_hash(&a, same);
	assert_int_equal(strlen(same), 40);
	assert_int_equal(may(&a, same, &f), 0);
	assert_int_equal(may(&a, HASH_LC, &f), 1);
	f.key_mismatch = 0;
	assert_int_equal(may(&a, same, &f), 1);
	assert_int_equal(may(&a, HASH_LC, &f), 1);
}

/* 0 switches a time check off: a just-registered active agent may go. */
static void
test_replace_zero_thresholds(void **state)
{
	struct agent		a;
	struct enroll_force	f;

	(void)state;
	default_force(&f);
	f.disconnected_time = 0;
	f.after_registration_time = 0;
	old_agent(&a);
	agent_set_status(&a, "active");
	a.date_add = NOW - 1;
	a.disconnection_time = 0;
	assert_int_equal(may(&a, NULL, &f), 1);
	/* Each alone: the other one still applies. */
	f.after_registration_time = HOUR;
	assert_int_equal(may(&a, NULL, &f), 0);
	f.after_registration_time = 0;
	f.disconnected_time = HOUR;
	assert_int_equal(may(&a, NULL, &f), 0);
	a.date_add = NOW;
	agent_set_status(&a, "disconnected");
	a.disconnection_time = NOW - HOUR;
	assert_int_equal(may(&a, NULL, &f), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_field_combination),
		cmocka_unit_test(test_bare_request),
		cmocka_unit_test(test_trailing_cr),
		cmocka_unit_test(test_password),
		cmocka_unit_test(test_password_without_action),
		cmocka_unit_test(test_groups_deduplicated),
		cmocka_unit_test(test_group_limit),
		cmocka_unit_test(test_group_names),
		cmocka_unit_test(test_ip_src),
		cmocka_unit_test(test_ip_forms),
		cmocka_unit_test(test_error_answers),
		cmocka_unit_test(test_name_lengths),
		cmocka_unit_test(test_name_characters),
		cmocka_unit_test(test_quote_ends_field),
		cmocka_unit_test(test_field_order),
		cmocka_unit_test(test_field_limits),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_line_max),
		cmocka_unit_test(test_key_hash_lowercased),
		cmocka_unit_test(test_key_hash_length),
		cmocka_unit_test(test_key_hash_not_hex),
		cmocka_unit_test(test_version_cmp),
		cmocka_unit_test(test_replace_baseline),
		cmocka_unit_test(test_replace_disabled),
		cmocka_unit_test(test_replace_connected_refused),
		cmocka_unit_test(test_replace_disconnected_time),
		cmocka_unit_test(test_replace_never_connected),
		cmocka_unit_test(test_replace_registration_time),
		cmocka_unit_test(test_replace_key_hash),
		cmocka_unit_test(test_replace_zero_thresholds),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
