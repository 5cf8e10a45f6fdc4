/*
 * test_enroll_pass: the enrollment password that master and workers share:
 * the file's first line (CR/LF removed), an unreadable or too short file
 * refusing everything, and the answers for a right, wrong, missing or
 * unexpected password.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/enroll_parse.h"
#include "agent/enroll_pass.h"

static char	file[64];

static int
setup(void **state)
{
	int	fd;

	(void)state;
	strcpy(file, "/tmp/test_enroll_pass.XXXXXX");
	if ((fd = mkstemp(file)) == -1)
		return -1;
	close(fd);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(file);
	return 0;
}

static void
write_file(const char *text)
{
	FILE	*fp = fopen(file, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/* The check of a request line against p: NULL or the answer. */
static const char *
check(const struct enroll_pass *p, const char *line)
{
	static struct enroll_req	req;
	char				answer[ENROLL_ANSWER_MAX];

	assert_int_equal(enroll_parse(line, strlen(line), &req, answer,
	    sizeof(answer)), 0);
	return enroll_pass_check(p, &req);
}

static void
test_password_set(void **state)
{
	struct enroll_pass	p = { NULL };

	(void)state;
	write_file("top secret\r\nsecond line\n");
	enroll_pass_load(&p, file);
	assert_string_equal(p.password, "top secret");
	assert_null(check(&p, "OSSEC PASS: top secret OSSEC A:'a1'"));
	assert_string_equal(check(&p, "OSSEC PASS: top secreT OSSEC A:'a1'"),
	    "ERROR: Invalid password");
	assert_string_equal(check(&p, "OSSEC PASS: top secret2 OSSEC A:'a1'"),
	    "ERROR: Invalid password");
	assert_string_equal(check(&p, "OSSEC PASS: top OSSEC A:'a1'"),
	    "ERROR: Invalid password");
	assert_string_equal(check(&p, "OSSEC A:'a1'"),
	    "ERROR: Invalid password");
	enroll_pass_free(&p);
	assert_null(p.password);
}

/* No file configured: no password expected, and none accepted. */
static void
test_no_password(void **state)
{
	struct enroll_pass	p = { NULL };

	(void)state;
	enroll_pass_load(&p, "");
	assert_null(p.password);
	assert_null(check(&p, "OSSEC A:'a1'"));
	assert_string_equal(check(&p, "OSSEC PASS: abc OSSEC A:'a1'"),
	    "ERROR: Invalid request for new agent");
}

/* A file that cannot be used refuses every request, never accepts all. */
static void
test_unusable_file(void **state)
{
	struct enroll_pass	p = { NULL };

	(void)state;
	write_file("ab\n");
	enroll_pass_load(&p, file);
	assert_string_equal(p.password, "");
	assert_string_equal(check(&p, "OSSEC PASS: ab OSSEC A:'a1'"),
	    "ERROR: Invalid password");
	assert_string_equal(check(&p, "OSSEC A:'a1'"),
	    "ERROR: Invalid password");
	enroll_pass_load(&p, "/nonexistent/authd.pass");
	assert_string_equal(p.password, "");
	assert_string_equal(check(&p, "OSSEC A:'a1'"),
	    "ERROR: Invalid password");
	enroll_pass_free(&p);
}

static void
test_equal(void **state)
{
	(void)state;
	assert_true(enroll_pass_equal("abc", "abc"));
	assert_false(enroll_pass_equal("abd", "abc"));
	assert_false(enroll_pass_equal("ab", "abc"));
	assert_false(enroll_pass_equal("abcd", "abc"));
	assert_true(enroll_pass_equal("", ""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_password_set, setup,
		    teardown),
		cmocka_unit_test(test_no_password),
		cmocka_unit_test_setup_teardown(test_unusable_file, setup,
		    teardown),
		cmocka_unit_test(test_equal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
