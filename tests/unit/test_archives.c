/*
 * test_archives: agent events as JSON lines in HOME/logs/archives/
 * archives.json, written with a real libev loop: the split of
 * "<queue>:<location>:<log>" (with the location escaping of Wazuh 4.x
 * agents), JSON escaping of any byte, buffering and the one-second flush,
 * flush on close, and reopening after logrotate renamed the file.
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <ev.h>

#include "agent/agents.h"
#include "agent/archives.h"

#define NODE	"worker-1"

static char		 home[64];
static char		 path[256];
static struct agent	 agent;

/*
 * What a test reads is owned here and freed by teardown, so a failing
 * assertion (which leaves the test by longjmp) leaks nothing.
 */
static cJSON		*events;
static char		*raw;

static void
rm_rf(const char *dir)
{
	char	cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

/* A fresh home with logs/, and archives open in it on the default loop. */
static int
setup(void **state)
{
	char	logs[128];

	(void)state;
	strcpy(home, "/tmp/test_archives.XXXXXX");
	if (mkdtemp(home) == NULL)
		return -1;
	snprintf(logs, sizeof(logs), "%s/logs", home);
	if (mkdir(logs, 0750) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/" ARCHIVES_REL, home);
	memset(&agent, 0, sizeof(agent));
	strcpy(agent.id, "001");
	agent_set_name(&agent, "web-01");
	agent_set_ip(&agent, "10.0.2.15");
	return archives_open(EV_DEFAULT, home, NODE);
}

static int
teardown(void **state)
{
	(void)state;
	archives_close();
	rm_rf(home);
	agent_clear(&agent);
	cJSON_Delete(events);
	events = NULL;
	free(raw);
	raw = NULL;
	return 0;
}

/* The whole file (owned by raw until the next call); *len its size. */
static char *
slurp(const char *file, size_t *len)
{
	FILE	*fp;
	char	*s;
	long	 n;

	free(raw);
	raw = NULL;
	if ((fp = fopen(file, "r")) == NULL) {
		*len = 0;
		return NULL;
	}
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	s = malloc((size_t)n + 1);
	assert_non_null(s);
	assert_int_equal(fread(s, 1, (size_t)n, fp), (size_t)n);
	s[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	raw = s;
	return s;
}

/*
 * Every line of file, each one JSON object with the agent and manager
 * fields; returns them as an array (owned by events until the next call).
 */
static cJSON *
read_events(const char *file)
{
	cJSON		*o;
	const cJSON	*ag, *mg, *ts;
	char		*text, *line, *nl;
	size_t		 len;

	cJSON_Delete(events);
	events = cJSON_CreateArray();
	text = slurp(file, &len);
	if (text == NULL)
		return events;
	/* JSON lines: the file ends with a newline, no raw NUL inside. */
	assert_true(len == 0 || text[len - 1] == '\n');
	assert_int_equal(strlen(text), len);
	for (line = text; *line != '\0'; line = nl + 1) {
		nl = strchr(line, '\n');
		assert_non_null(nl);
		*nl = '\0';
		if ((o = cJSON_Parse(line)) == NULL)
			fail_msg("not JSON: %s", line);
		cJSON_AddItemToArray(events, o);
		assert_true(cJSON_IsObject(o));
		ag = cJSON_GetObjectItemCaseSensitive(o, "agent");
		assert_string_equal(cJSON_GetObjectItemCaseSensitive(ag, "id")->
		    valuestring, agent.id);
		assert_string_equal(cJSON_GetObjectItemCaseSensitive(ag,
		    "name")->valuestring, agent.name);
		assert_string_equal(cJSON_GetObjectItemCaseSensitive(ag, "ip")->
		    valuestring, agent.ip);
		mg = cJSON_GetObjectItemCaseSensitive(o, "manager");
		assert_string_equal(cJSON_GetObjectItemCaseSensitive(mg,
		    "name")->valuestring, NODE);
		/* 2026-11-22T08:00:00.123+0000 */
		ts = cJSON_GetObjectItemCaseSensitive(o, "timestamp");
		assert_true(cJSON_IsString(ts));
		assert_int_equal(strlen(ts->valuestring), 28);
		assert_true(ts->valuestring[10] == 'T' &&
		    ts->valuestring[19] == '.' &&
		    strcmp(ts->valuestring + 23, "+0000") == 0);
		assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o,
		    "location")));
		assert_true(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o,
		    "full_log")));
	}
	return events;
}

/* Event i's string field key. */
static const char *
field(const cJSON *evs, int i, const char *key)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(
			    cJSON_GetArrayItem(evs, i), key);

	assert_true(cJSON_IsString(v));
	return v->valuestring;
}

static void
event(const char *msg)
{
	archives_event(&agent, msg, strlen(msg));
}

/* Write one message, close, and check its location and full_log. */
static void
one(const char *msg, size_t len, const char *loc, const char *log)
{
	cJSON	*ev;

	archives_event(&agent, msg, len);
	archives_close();
	ev = read_events(path);
	assert_int_equal(cJSON_GetArraySize(ev), 1);
	assert_string_equal(field(ev, 0, "location"), loc);
	assert_string_equal(field(ev, 0, "full_log"), log);
}

static void
test_event_fields(void **state)
{
	static const char msg[] = "1:/var/log/syslog:Nov 22 08:00:00 web-01 "
	    "sshd[811]: Accepted publickey for root from 198.18.0.9";
	unsigned long	n = archives_count();

	(void)state;
	one(msg, strlen(msg), "/var/log/syslog", msg + 18);
	assert_int_equal(archives_count(), n + 1);
}

/* Without "<q>:<location>:", the message is archived whole. */
static void
test_no_location(void **state)
{
	static const char *const msgs[] = {
		"x", "", "1:", "1:no second colon", ":x", "12:34",
	};
	cJSON	*ev;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
		event(msgs[i]);
	archives_close();
	ev = read_events(path);
	assert_int_equal(cJSON_GetArraySize(ev), 6);
	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		assert_string_equal(field(ev, (int)i, "location"), "");
		assert_string_equal(field(ev, (int)i, "full_log"), msgs[i]);
	}
}

/*
 * The location ends at the first ':' after the queue: colons in the log
 * stay in full_log; an empty location and an empty log are kept.
 */
static void
test_location_with_colons(void **state)
{
	cJSON	*ev;

	(void)state;
	event("1:C\\Windows:log:with:colons");
	event("1::empty location");
	event("1:/var/log/x:");
	event("f:EventChannel:{\"win\":{\"system\":{\"eventID\":\"4624\"}}}");
	archives_close();
	ev = read_events(path);
	assert_int_equal(cJSON_GetArraySize(ev), 4);
	assert_string_equal(field(ev, 0, "location"), "C\\Windows");
	assert_string_equal(field(ev, 0, "full_log"), "log:with:colons");
	assert_string_equal(field(ev, 1, "location"), "");
	assert_string_equal(field(ev, 1, "full_log"), "empty location");
	assert_string_equal(field(ev, 2, "location"), "/var/log/x");
	assert_string_equal(field(ev, 2, "full_log"), "");
	assert_string_equal(field(ev, 3, "location"), "EventChannel");
	assert_string_equal(field(ev, 3, "full_log"),
	    "{\"win\":{\"system\":{\"eventID\":\"4624\"}}}");
}

/*
 * Wazuh 4.x agents escape the location before sending: ':' as "|:" and
 * '|' as "||" (SendMSG: wstr_escape(loc, '|', ':')), so a Windows file
 * "C:\logs\app.log" arrives as "1:C|:\logs\app.log:<log>".  The manager
 * ends the location at the first ':' not escaped by '|' and unescapes it
 * (OS_CleanMSG: wstr_chr_escape, wstr_unescape).
 */
static void
test_escaped_location(void **state)
{
	cJSON	*ev;

	(void)state;
	event("1:C|:\\logs\\app.log:2024-01-01 12:00:00 ERROR: disk full");
	event("1:a||b:log");
	event("1:x|:y|:z:a:b");
	event("1:pipe||:log");
	archives_close();
	ev = read_events(path);
	assert_int_equal(cJSON_GetArraySize(ev), 4);
	assert_string_equal(field(ev, 0, "location"), "C:\\logs\\app.log");
	assert_string_equal(field(ev, 0, "full_log"),
	    "2024-01-01 12:00:00 ERROR: disk full");
	assert_string_equal(field(ev, 1, "location"), "a|b");
	assert_string_equal(field(ev, 1, "full_log"), "log");
	assert_string_equal(field(ev, 2, "location"), "x:y:z");
	assert_string_equal(field(ev, 2, "full_log"), "a:b");
	assert_string_equal(field(ev, 3, "location"), "pipe|");
	assert_string_equal(field(ev, 3, "full_log"), "log");
}

/* A location longer than any path: cut or kept, never overflowing. */
static void
test_long_location(void **state)
{
	static char	 msg[20000];
	const char	*loc;
	cJSON		*ev;
	size_t		 n, i;

	(void)state;
	memcpy(msg, "1:", 2);
	n = 2;
	for (i = 0; i < 9000; i++)
		msg[n++] = i % 3 == 0 ? '|' : (i % 3 == 1 ? ':' : 'd');
	memcpy(msg + n, ":the log", 8);
	n += 8;
	archives_event(&agent, msg, n);
	archives_close();
	ev = read_events(path);
	assert_int_equal(cJSON_GetArraySize(ev), 1);
	assert_string_equal(field(ev, 0, "full_log"), "the log");
	loc = field(ev, 0, "location");
	assert_true(strlen(loc) > 0 && strlen(loc) <= 6000);
	for (i = 0; loc[i] != '\0'; i++)
		assert_true(loc[i] == (i % 2 == 0 ? ':' : 'd'));
}

/* Quotes, backslashes and every control character round-trip. */
static void
test_escaping(void **state)
{
	char	 msg[256];
	size_t	 n = 0, len;
	int	 c;

	(void)state;
	n += (size_t)snprintf(msg, sizeof(msg),
	    "1:/var/log/\"q\"\\x:say \"hi\" \\ \\\\ \\n end\t\r\n");
	for (c = 1; c < 0x20; c++)
		msg[n++] = (char)c;
	msg[n++] = 0x7f;
	msg[n++] = '}';
	msg[n] = '\0';
	one(msg, n, "/var/log/\"q\"\\x", msg + 17);
	/* One event, one line: the newlines of the log are escaped. */
	raw = slurp(path, &len);
	assert_non_null(raw);
	assert_true(strchr(raw, '\n') == raw + len - 1);
	assert_non_null(strstr(raw, "\\u0001"));
	assert_non_null(strstr(raw, "\\n"));
}

/*
 * Non-ASCII bytes go into the file as they are: UTF-8 stays UTF-8, and
 * other bytes round-trip through cJSON too.
 */
static void
test_non_ascii(void **state)
{
	cJSON	*ev;

	(void)state;
	event("1:/var/log/caf\xc3\xa9:caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac "
	    "\xf0\x9f\x94\x92");
	event("1:/var/log/raw:latin1 \xe9t\xe9 \xff\xfe\x80");
	archives_close();
	ev = read_events(path);
	assert_int_equal(cJSON_GetArraySize(ev), 2);
	assert_string_equal(field(ev, 0, "location"), "/var/log/caf\xc3\xa9");
	assert_string_equal(field(ev, 0, "full_log"),
	    "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x94\x92");
	assert_string_equal(field(ev, 1, "full_log"),
	    "latin1 \xe9t\xe9 \xff\xfe\x80");
}

/* A NUL inside the message (its length says so) is escaped, not cut. */
static void
test_nul_byte(void **state)
{
	static const char msg[] = "1:/var/log/x:before\0after";
	size_t	 len;
	cJSON	*ev;

	(void)state;
	archives_event(&agent, msg, sizeof(msg) - 1);
	archives_close();
	raw = slurp(path, &len);
	assert_non_null(raw);
	assert_non_null(strstr(raw, "\"before\\u0000after\""));
	ev = read_events(path);
	assert_int_equal(cJSON_GetArraySize(ev), 1);
}

/* The agent's fields as they are: "any" for an ip, or an IPv6 one. */
static void
test_agent_fields(void **state)
{
	cJSON	*ev, *o;
	char	*text, *second;
	size_t	 len;

	(void)state;
	strcpy(agent.id, "1234");
	agent_set_name(&agent, "db.prod-7_x");
	agent_set_ip(&agent, "any");
	event("1:/var/log/x:a");
	archives_close();
	ev = read_events(path);
	assert_int_equal(cJSON_GetArraySize(ev), 1);
	assert_int_equal(archives_open(EV_DEFAULT, home, NODE), 0);
	agent_set_ip(&agent, "2001:db8::7");
	event("1:/var/log/x:b");
	archives_close();
	text = slurp(path, &len);
	assert_non_null(text);
	assert_non_null(strstr(text, "\"agent\":{\"id\":\"1234\","
	    "\"name\":\"db.prod-7_x\",\"ip\":\"any\"}"));
	second = strchr(text, '\n') + 1;
	*strchr(second, '\n') = '\0';
	o = cJSON_Parse(second);
	assert_non_null(o);
	cJSON_AddItemToArray(events, o);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(o, "agent"), "ip")->valuestring,
	    "2001:db8::7");
}

/*
 * Lines are buffered: close flushes them all, in order; so does the
 * one-second timer of the loop.
 */
static void
test_close_flushes(void **state)
{
	char	 msg[64];
	cJSON	*ev;
	int	 i;

	(void)state;
	for (i = 0; i < 1000; i++) {
		snprintf(msg, sizeof(msg), "1:/var/log/seq:event %d", i);
		event(msg);
	}
	archives_close();
	ev = read_events(path);
	assert_int_equal(cJSON_GetArraySize(ev), 1000);
	for (i = 0; i < 1000; i++) {
		snprintf(msg, sizeof(msg), "event %d", i);
		assert_string_equal(field(ev, i, "full_log"), msg);
	}
	/* After close, events are dropped, not written anywhere. */
	event("1:/var/log/x:late");
	ev = read_events(path);
	assert_int_equal(cJSON_GetArraySize(ev), 1000);
}

static void
stop_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)t;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static void
test_timer_flush(void **state)
{
	ev_timer	 stop;
	cJSON		*ev;

	(void)state;
	event("1:/var/log/x:buffered");
	ev = read_events(path);
	/* 256 KiB of buffer: nothing is on disk yet. */
	assert_int_equal(cJSON_GetArraySize(ev), 0);
	ev_now_update(EV_DEFAULT);
	ev_timer_init(&stop, stop_cb, 1.3, 0.);
	ev_timer_start(EV_DEFAULT, &stop);
	ev_run(EV_DEFAULT, 0);
	ev = read_events(path);
	assert_int_equal(cJSON_GetArraySize(ev), 1);
	assert_string_equal(field(ev, 0, "full_log"), "buffered");
}

/* Run the default loop for t seconds. */
static void
run_for(double t)
{
	ev_timer	stop;

	ev_now_update(EV_DEFAULT);
	ev_timer_init(&stop, stop_cb, t, 0.);
	ev_timer_start(EV_DEFAULT, &stop);
	ev_run(EV_DEFAULT, 0);
}

/* What the health callback heard. */
static struct {
	int	calls;
	char	last[256];	/* "" for NULL */
} heard;

static void
health_cb(const char *reason)
{
	heard.calls++;
	snprintf(heard.last, sizeof(heard.last), "%s", reason ? reason : "");
}

/*
 * A write that fails part-way (the file size limit: EFBIG, as ENOSPC
 * would): the file keeps only whole lines, every event not written is
 * counted, the callback hears the reason once, events meanwhile are
 * counted and not written; once writes work again the probe ends the
 * failure by itself and events are written again.
 */
static void
test_write_fails_then_recovers(void **state)
{
	struct rlimit	 saved, small;
	unsigned long	 stored, unstored0 = archives_unstored();
	char		 msg[400];
	size_t		 len;
	cJSON		*ev;
	int		 i;

	(void)state;
	memset(&heard, 0, sizeof(heard));
	archives_on_health(health_cb);
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
	small = saved;
	small.rlim_cur = 10000;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	for (i = 0; i < 100; i++) {
		snprintf(msg, sizeof(msg), "1:/var/log/x:event %d %0300d", i, 0);
		event(msg);
	}
	assert_null(archives_failure());
	run_for(1.3);			/* the flush fails */
	assert_non_null(archives_failure());
	assert_non_null(strstr(archives_failure(), "File too large"));
	assert_int_equal(heard.calls, 1);
	assert_string_equal(heard.last, archives_failure());
	raw = slurp(path, &len);
	assert_true(len > 0 && len <= 10000);
	assert_true(raw[len - 1] == '\n');	/* the cut line is gone */
	ev = read_events(path);
	stored = (unsigned long)cJSON_GetArraySize(ev);
	assert_true(stored > 0 && stored < 100);
	assert_int_equal(archives_unstored() - unstored0, 100 - stored);
	for (i = 0; i < 10; i++)
		event("1:/var/log/x:while failing");
	assert_int_equal(archives_unstored() - unstored0, 110 - stored);
	run_for(2.5);			/* the probe's test write fails too */
	assert_non_null(archives_failure());
	assert_int_equal(heard.calls, 1);

	assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
	run_for(2.5);			/* the probe succeeds */
	assert_null(archives_failure());
	assert_int_equal(heard.calls, 2);
	assert_string_equal(heard.last, "");
	event("1:/var/log/x:after recovery");
	archives_close();
	ev = read_events(path);
	assert_int_equal(cJSON_GetArraySize(ev), stored + 1);
	assert_string_equal(field(ev, (int)stored, "full_log"),
	    "after recovery");
	archives_on_health(NULL);
}

/*
 * A reopen that fails (the folder replaced by a file) is a failure too;
 * the probe opens the file once the folder is back.
 */
static void
test_reopen_fails_then_recovers(void **state)
{
	char	 dir[160], moved[170];
	cJSON	*ev;
	FILE	*fp;

	(void)state;
	memset(&heard, 0, sizeof(heard));
	archives_on_health(health_cb);
	event("1:/var/log/x:before");
	snprintf(dir, sizeof(dir), "%s/logs/archives", home);
	snprintf(moved, sizeof(moved), "%s.moved", dir);
	assert_int_equal(rename(dir, moved), 0);
	fp = fopen(dir, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(archives_reopen(), -1);
	assert_non_null(archives_failure());
	assert_non_null(strstr(archives_failure(), "cannot reopen"));
	assert_int_equal(heard.calls, 1);
	run_for(2.5);
	assert_non_null(archives_failure());
	assert_int_equal(unlink(dir), 0);
	assert_int_equal(rename(moved, dir), 0);
	run_for(2.5);
	assert_null(archives_failure());
	assert_int_equal(heard.calls, 2);
	event("1:/var/log/x:after");
	archives_close();
	ev = read_events(path);
	assert_int_equal(cJSON_GetArraySize(ev), 2);
	assert_string_equal(field(ev, 0, "full_log"), "before");
	assert_string_equal(field(ev, 1, "full_log"), "after");
	archives_on_health(NULL);
}

/* A long event (the longest a secure message holds) is one line. */
static void
test_long_event(void **state)
{
	size_t	 n = 65000, i;
	char	*msg = malloc(n + 1);
	cJSON	*ev;

	(void)state;
	assert_non_null(msg);
	memcpy(msg, "1:/var/log/big:", 15);
	for (i = 15; i < n; i++)
		msg[i] = (char)('a' + i % 26);
	msg[n] = '\0';
	archives_event(&agent, msg, n);
	archives_close();
	ev = read_events(path);
	assert_int_equal(cJSON_GetArraySize(ev), 1);
	assert_string_equal(field(ev, 0, "full_log"), msg + 15);
	free(msg);
}

/* logrotate renames the file, then SIGHUP: new lines go to a new file. */
static void
test_reopen_after_rename(void **state)
{
	char	 old[300];
	cJSON	*ev;

	(void)state;
	snprintf(old, sizeof(old), "%s.1", path);
	event("1:/var/log/x:before rotation");
	assert_int_equal(rename(path, old), 0);
	assert_int_equal(archives_reopen(), 0);
	assert_int_equal(access(path, F_OK), 0);
	event("1:/var/log/x:after rotation");
	archives_close();
	ev = read_events(old);
	assert_int_equal(cJSON_GetArraySize(ev), 1);
	assert_string_equal(field(ev, 0, "full_log"), "before rotation");
	ev = read_events(path);
	assert_int_equal(cJSON_GetArraySize(ev), 1);
	assert_string_equal(field(ev, 0, "full_log"), "after rotation");
}

/* Reopening appends to an existing file; it never truncates. */
static void
test_reopen_appends(void **state)
{
	cJSON	*ev;

	(void)state;
	event("1:/var/log/x:one");
	assert_int_equal(archives_reopen(), 0);
	event("1:/var/log/x:two");
	archives_close();
	assert_int_equal(archives_open(EV_DEFAULT, home, NODE), 0);
	event("1:/var/log/x:three");
	archives_close();
	ev = read_events(path);
	assert_int_equal(cJSON_GetArraySize(ev), 3);
	assert_string_equal(field(ev, 2, "full_log"), "three");
}

/*
 * The file is created 0640 under the permissive umask 022 too (the
 * daemon sets 027, but a test or a program linking the module may not),
 * and again after logrotate moved it away.
 */
static void
test_created_0640(void **state)
{
	struct stat	 st;
	char		 old[300];
	mode_t		 prev;

	(void)state;
	archives_close();
	assert_int_equal(unlink(path), 0);
	prev = umask(022);
	assert_int_equal(archives_open(EV_DEFAULT, home, NODE), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	snprintf(old, sizeof(old), "%s.1", path);
	assert_int_equal(rename(path, old), 0);
	assert_int_equal(archives_reopen(), 0);
	umask(prev);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
}

/* A home without logs/: open fails cleanly, events go nowhere. */
static void
test_open_fails(void **state)
{
	char	bad[128];

	(void)state;
	archives_close();
	snprintf(bad, sizeof(bad), "%s/missing", home);
	assert_int_equal(archives_open(EV_DEFAULT, bad, NODE), -1);
	event("1:/var/log/x:dropped");
	archives_close();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_event_fields, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_location, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_location_with_colons,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_escaped_location, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_long_location, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_escaping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_non_ascii, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_nul_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_agent_fields, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_close_flushes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_timer_flush, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_write_fails_then_recovers,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_fails_then_recovers,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_event, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reopen_after_rename,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_appends, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_open_fails, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_created_0640, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
