/*
 * log: control bytes in a message are escaped, so a peer's text cannot
 * forge a log line or reach the reader's terminal; a line written to the
 * log file stays one line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "helpers/fixture.h"

static void
test_escape(void **state)
{
	char	out[64];

	(void)state;
	log_escape("plain text, été", out, sizeof(out));
	assert_string_equal(out, "plain text, été");
	log_escape("a\r\nb\tc\x1b[2J\x7f", out, sizeof(out));
	assert_string_equal(out, "a\\x0d\\x0ab\\x09c\\x1b[2J\\x7f");
	log_escape("", out, sizeof(out));
	assert_string_equal(out, "");
}

/* Cut at the end of the buffer, never inside an escape. */
static void
test_escape_cut(void **state)
{
	char	out[6];

	(void)state;
	log_escape("abcdefgh", out, sizeof(out));
	assert_string_equal(out, "abcde");
	log_escape("ab\ncd", out, sizeof(out));
	assert_string_equal(out, "ab");
	log_escape("\n\n", out, sizeof(out));
	assert_string_equal(out, "\\x0a");
	log_escape("x", out, 1);
	assert_string_equal(out, "");
}

/* A forged CRITICAL line stays inside the INFO line that logged it. */
static void
test_file_line(void **state)
{
	struct fx_homes	*f = *state;
	char		 path[160];
	uint8_t		*text;
	size_t		 len, i, lines = 0;

	snprintf(path, sizeof(path), "%s/cluster.log", f->master);
	assert_int_equal(log_init(path, 0, LOG_LVL_INFO), 0);
	log_emit(LOG_LVL_INFO, 0, "Master m", "Agents", "Refused agent '%s'.",
	    "x\r\n2026/01/01 00:00:00 CRITICAL: [Master m] [Main] forged");
	log_close();
	text = fx_slurp(path, &len);
	for (i = 0; i < len; i++)
		if (text[i] == '\n')
			lines++;
	assert_int_equal(lines, 1);
	assert_non_null(strstr((char *)text, "x\\x0d\\x0a2026/01/01"));
	free(text);
}

/* log_level values: a default, TASK=LEVEL items, and what is refused. */
static void
test_levels_parse(void **state)
{
	static const char *const bad[] = {
		"loud", "info,debug", "Sync=", "=debug", "sync=loud",
		"sync-x=debug", "_sync=debug",
	};
	enum log_level	 l = LOG_LVL_ERROR;
	char		 tasks[LOG_SPEC_MAX], err[160];
	size_t		 i;

	(void)state;
	assert_int_equal(log_levels_parse("Info,Integrity_Sync=DEBUG,pools="
	    "warning", &l, tasks, sizeof(tasks), err, sizeof(err)), 0);
	assert_int_equal(l, LOG_LVL_INFO);
	assert_string_equal(tasks, "integrity_sync=debug,pools=warning");
	l = LOG_LVL_ERROR;
	assert_int_equal(log_levels_parse("agents=debug", &l, tasks,
	    sizeof(tasks), err, sizeof(err)), 0);
	assert_int_equal(l, LOG_LVL_ERROR);	/* no default: kept */
	assert_string_equal(tasks, "agents=debug");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (log_levels_parse(bad[i], &l, tasks, sizeof(tasks), err,
		    sizeof(err)) != -1 || err[0] == '\0')
			fail_msg("\"%s\" accepted, or no reason", bad[i]);
	}
}

/* A task's own level lets its debug lines through, and only its. */
static void
test_task_levels(void **state)
{
	struct fx_homes	*f = *state;
	char		 path[160];
	char		*text;
	size_t		 len;

	snprintf(path, sizeof(path), "%s/cluster.log", f->master);
	assert_int_equal(log_init(path, 0, LOG_LVL_INFO), 0);
	log_set_task_levels("sync=debug,pools=error");
	log_emit(LOG_LVL_DEBUG, 0, NULL, "Integrity sync", "shown-1");
	log_emit(LOG_LVL_DEBUG, 0, NULL, "Integrity check", "hidden-1");
	log_emit(LOG_LVL_DEBUG, 0, NULL, "Syncing", "hidden-2");
	log_emit(LOG_LVL_WARNING, 0, NULL, "Pools", "hidden-3");
	log_emit(LOG_LVL_INFO, 0, NULL, "Agents", "shown-2");
	log_set_task_levels(NULL);
	log_emit(LOG_LVL_DEBUG, 0, NULL, "Integrity sync", "hidden-4");
	log_close();
	text = (char *)fx_slurp(path, &len);
	assert_non_null(strstr(text, "shown-1"));
	assert_non_null(strstr(text, "shown-2"));
	assert_null(strstr(text, "hidden"));
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_escape_cut),
		cmocka_unit_test_setup_teardown(test_file_line,
		    fx_homes_setup, fx_homes_teardown),
		cmocka_unit_test(test_levels_parse),
		cmocka_unit_test_setup_teardown(test_task_levels,
		    fx_homes_setup, fx_homes_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
