/*
 * test_clusterkey: the weak-key rules (each rule, on both sides of its
 * limit), random hex keys passing them, --genkey's keys, and the reading of
 * key files of every kind and mode in a temp folder.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/rand.h>

#include "base/clusterkey.h"

#include "helpers/fixture.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define GOOD_KEY	"85482860b191589c071454938c1bd2e1"

struct weak_case {
	const char	*key;
	const char	*why;	/* a part of the reason; NULL: not weak */
};

static void
check_cases(const struct weak_case *cases, size_t n)
{
	char	why[160];
	size_t	i;
	int	weak;

	for (i = 0; i < n; i++) {
		why[0] = '\0';
		weak = clusterkey_weak(cases[i].key, why, sizeof(why));
		if (cases[i].why == NULL && weak)
			fail_msg("\"%s\" refused: %s", cases[i].key, why);
		if (cases[i].why != NULL && !weak)
			fail_msg("\"%s\" accepted", cases[i].key);
		if (cases[i].why != NULL && strstr(why, cases[i].why) == NULL)
			fail_msg("\"%s\": \"%s\" does not say \"%s\"",
			    cases[i].key, why, cases[i].why);
	}
}

/* What the reviewer tried, and the obvious relatives. */
static void
test_weak_keys(void **state)
{
	static const struct weak_case cases[] = {
		{ "replace-this-with-32-random-char", "placeholder of the "
		    "example" },
		{ "changeme-changeme-changeme-12345", "word \"change\"" },
		{ "ChangeMe0000000000000000000000x1", "word \"change\"" },
		{ "my-cluster-PASSWORD-is-9f3a7c1e0", "word \"password\"" },
		{ "00000000000000000000000000000000", "only 1 different "
		    "character " },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "only 1 different" },
		{ "abababababababababababababababab", "only 2 different" },
		{ "fbdacefeabdcfaebcdfebacdfaecbdea", "only 6 different" },
		{ "0123456789abcdef0123456789abcdef", "block of 16 characters "
		    "repeated" },
		{ "k3#Zq9!k3#Zq9!k3#Zq9!k3#Zq9!k3#Z", "block of 7" },
		{ "0123456789#abcdef0123456789abcde", "same 10 characters "
		    "appear twice" },
		{ "Xq7#mK2pL50e9d4c3Xq7#mK2pL5b8a1z", "same 10 characters" },
		{ "abcdefghijkl3e07b2c5d18f4a6e0c91", "12 characters in a row" },
		{ "abcdefghijklmnopqrstuvwxyzABCDEF", "26 characters in a row" },
		{ "9e07b2c5d18f4a6e0c91zyxwvutsrqpo", "12 characters in a row" },
		{ "9e07b2c5d18f4a6e0c91acegikmoqsuw", "12 characters in a row" },
	};

	(void)state;
	check_cases(cases, NELEM(cases));
}

/* Just inside each limit is accepted. */
static void
test_limits(void **state)
{
	static const struct weak_case cases[] = {
		{ GOOD_KEY, NULL },
		{ "de6c102ce03db74e9d9eea23c9fada41", NULL },
		{ "gacfbdeagcbfedgabcgfeadbcgdfaebg", NULL },	/* 7 chars */
		{ "Xq7#mK2pL0e9d4c3Xq7#mK2pLb8a1f6z", NULL },	/* 9 twice */
		{ "abcdefghijk93e07b2c5d18f4a6e0c91", NULL },	/* run 11 */
		{ "85482860b1#1589c071454938c1bd2e1", NULL },
	};

	(void)state;
	check_cases(cases, NELEM(cases));
}

/*
 * Keys as `openssl rand -hex 16` makes them.  The rules refuse one with a
 * chance under 4.4e-10 (clusterkey.c), so 10000 of them never fail here.
 */
static void
test_random_hex_keys_pass(void **state)
{
	static const char	hex[] = "0123456789abcdef";
	unsigned char		b[16];
	char			key[CLUSTERKEY_LEN + 1], why[160];
	size_t			i;
	int			k;

	(void)state;
	for (k = 0; k < 10000; k++) {
		assert_int_equal(RAND_bytes(b, sizeof(b)), 1);
		for (i = 0; i < sizeof(b); i++) {
			key[2 * i] = hex[b[i] >> 4];
			key[2 * i + 1] = hex[b[i] & 0xf];
		}
		key[CLUSTERKEY_LEN] = '\0';
		if (clusterkey_weak(key, why, sizeof(why)))
			fail_msg("random key %s refused: %s", key, why);
	}
}

static void
test_generate(void **state)
{
	char	a[CLUSTERKEY_LEN + 1], b[CLUSTERKEY_LEN + 1], why[160];

	(void)state;
	assert_int_equal(clusterkey_generate(a), 0);
	assert_int_equal(clusterkey_generate(b), 0);
	assert_int_equal(strlen(a), CLUSTERKEY_LEN);
	assert_int_equal(strspn(a, "0123456789abcdef"), CLUSTERKEY_LEN);
	assert_int_equal(clusterkey_weak(a, why, sizeof(why)), 0);
	assert_string_not_equal(a, b);
}

/* Read base/NAME; returns what clusterkey_read_file returned. */
static int
read_key(const struct fx_homes *f, const char *name, char *line,
    size_t *lenp, char *err, size_t errlen)
{
	char	path[256];

	snprintf(path, sizeof(path), "%s/%s", f->base, name);
	err[0] = '\0';
	return clusterkey_read_file(path, line, CLUSTERKEY_LINE_MAX + 1, lenp,
	    err, errlen);
}

/* The first line, whatever ends it, with its length. */
static void
test_read_file_contents(void **state)
{
	struct fx_homes	*f = *state;
	char		 line[CLUSTERKEY_LINE_MAX + 1], err[512];
	char		*big;
	size_t		 n;

	fx_puts_mode(f->base, "nl", GOOD_KEY "\n", 0600);
	assert_int_equal(read_key(f, "nl", line, &n, err, sizeof(err)), 0);
	assert_int_equal(n, CLUSTERKEY_LEN);
	assert_string_equal(line, GOOD_KEY);

	fx_puts_mode(f->base, "bare", GOOD_KEY, 0400);
	assert_int_equal(read_key(f, "bare", line, &n, err, sizeof(err)), 0);
	assert_string_equal(line, GOOD_KEY);

	fx_puts_mode(f->base, "crlf", GOOD_KEY "\r\nsecond line\n", 0600);
	assert_int_equal(read_key(f, "crlf", line, &n, err, sizeof(err)), 0);
	assert_string_equal(line, GOOD_KEY);

	fx_puts_mode(f->base, "empty", "", 0600);
	assert_int_equal(read_key(f, "empty", line, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);

	fx_put_mode(f->base, "nul", "ab\0cd\n", 6, 0600);
	assert_int_equal(read_key(f, "nul", line, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 5);

	/* 0700: the owner's execute bit is nobody else's business. */
	fx_puts_mode(f->base, "x", GOOD_KEY "\n", 0700);
	assert_int_equal(read_key(f, "x", line, &n, err, sizeof(err)), 0);

	assert_non_null(big = malloc(CLUSTERKEY_LINE_MAX + 10));
	memset(big, 'k', CLUSTERKEY_LINE_MAX + 10);
	fx_put_mode(f->base, "big", big, CLUSTERKEY_LINE_MAX + 10, 0600);
	free(big);
	assert_int_equal(read_key(f, "big", line, &n, err, sizeof(err)), -1);
	assert_string_equal(err, "has a first line of 4096 characters or more");
}

/* Anyone but the owner may do nothing with it; only regular files. */
static void
test_read_file_refusals(void **state)
{
	static const mode_t	 bad[] = { 0644, 0640, 0604, 0660, 0610, 0601,
	    0666, 0602 };
	struct fx_homes		*f = *state;
	char			 line[CLUSTERKEY_LINE_MAX + 1], err[512];
	char			 want[512], path[256];
	size_t			 n, i;

	for (i = 0; i < NELEM(bad); i++) {
		fx_puts_mode(f->base, "k", GOOD_KEY "\n", bad[i]);
		assert_int_equal(read_key(f, "k", line, &n, err, sizeof(err)),
		    -1);
		snprintf(want, sizeof(want), "has mode %04o; group and others "
		    "must have no access to it: chmod 600 %s/k",
		    (unsigned)bad[i], f->base);
		assert_string_equal(err, want);
		snprintf(path, sizeof(path), "%s/k", f->base);
		assert_int_equal(unlink(path), 0);
	}

	assert_int_equal(read_key(f, "none", line, &n, err, sizeof(err)), -1);
	assert_string_equal(err, "cannot be read: No such file or directory");

	assert_int_equal(read_key(f, "master", line, &n, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "is not a regular file");

	/* A FIFO is never opened, so nothing blocks. */
	snprintf(path, sizeof(path), "%s/fifo", f->base);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(read_key(f, "fifo", line, &n, err, sizeof(err)), -1);
	assert_string_equal(err, "is not a regular file");

	assert_int_equal(clusterkey_read_file("/dev/null", line, sizeof(line),
	    &n, err, sizeof(err)), -1);
	assert_string_equal(err, "is not a regular file");
}

/* A symlink is followed: the mode that counts is the file's. */
static void
test_read_file_symlink(void **state)
{
	struct fx_homes	*f = *state;
	char		 line[CLUSTERKEY_LINE_MAX + 1], err[512];
	char		 target[256], link[256];
	size_t		 n;

	fx_puts_mode(f->outside, "real.key", GOOD_KEY "\n", 0600);
	snprintf(target, sizeof(target), "%s/real.key", f->outside);
	snprintf(link, sizeof(link), "%s/link.key", f->base);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(read_key(f, "link.key", line, &n, err, sizeof(err)),
	    0);
	assert_string_equal(line, GOOD_KEY);
	assert_int_equal(chmod(target, 0644), 0);
	assert_int_equal(read_key(f, "link.key", line, &n, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "has mode 0644"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_weak_keys),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_random_hex_keys_pass),
		cmocka_unit_test(test_generate),
		cmocka_unit_test_setup_teardown(test_read_file_contents,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test_setup_teardown(test_read_file_refusals,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test_setup_teardown(test_read_file_symlink,
		    fx_homes_setup, fx_homes_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
