/*
 * test_mreg: the master's agent management, with its real registry
 * (SQLite on its thread) in a temp home and a real libev loop.  The seams
 * are faked: mreg_ops records the deltas it would replicate and the agents
 * it says are gone, and each answer lands in a recorder.  Covered: the
 * enrollment decisions (new agent, password, version, groups, addresses,
 * duplicates and the replace policy, an abort), the group commands and
 * their refusals, agent removal, and the workers' status reports.
 */
#include <sys/stat.h>

#include <errno.h>
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
#include <ev.h>

#include "agent/agents.h"
#include "agent/enroll_parse.h"
#include "base/log.h"
#include "base/node.h"
#include "master/mreg.h"
#include "master/mscope.h"

#include "helpers/fixture.h"

#define GUARD_SECONDS	10.0

/* ---- what mreg said through its seams ---- */

static struct {
	cJSON	*deltas;	/* every delta, in order */
	char	 gone[16][AGENT_ID_MAX];
	size_t	 ngone;
	/* the last enrollment answer */
	int	 answered;
	int	 key_first;	/* its key had left in a delta before it */
	char	 answer[ENROLL_ANSWER_MAX];
	char	 id[AGENT_ID_MAX];
	/* the last command reply */
	int	 replied;
	cJSON	*reply;
} R;

static void
on_delta(const cJSON *d)
{
	cJSON_AddItemToArray(R.deltas, cJSON_Duplicate(d, 1));
}

static void
on_gone(struct agent *a)
{
	assert_true(R.ngone < 16);
	snprintf(R.gone[R.ngone++], AGENT_ID_MAX, "%s", a->id);
}

static const struct mreg_ops fake_ops = { on_delta, on_gone };
static int delta_has(const char *, const char *);

static void
on_answer(void *arg, const char *answer, const char *id, const char *key)
{
	(void)arg;
	(void)key;
	R.answered = 1;
	snprintf(R.answer, sizeof(R.answer), "%s", answer);
	snprintf(R.id, sizeof(R.id), "%s", id != NULL ? id : "");
	R.key_first = id != NULL && delta_has("upsert", id);
}

static void
on_reply(void *arg, cJSON *resp)
{
	(void)arg;
	cJSON_Delete(R.reply);
	R.reply = resp;
	R.replied = 1;
}

/* ---- fixture: a master's home, its node and loop ---- */

struct fx {
	char		 home[64];
	struct node	 node;
};

static struct fx	*F;

static void
write_file(const char *rel, const char *text)
{
	char	path[256];
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", F->home, rel);
	assert_non_null(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
}

/* mreg_start on a fresh home, after cfg_edit (may be NULL) ran. */
static void
start(void (*cfg_edit)(struct config *))
{
	struct config	*c = &F->node.cfg;
	char		 path[256];

	config_defaults(c);
	c->node_type = NODE_MASTER;
	snprintf(c->node_name, sizeof(c->node_name), "master1");
	snprintf(c->home, sizeof(c->home), "%s", F->home);
	assert_int_equal(node_make_home(c), 0);
	snprintf(path, sizeof(path), "%s/etc/shared", F->home);
	mkdir(path, 0750);
	snprintf(path, sizeof(path), "%s/etc/shared/default", F->home);
	mkdir(path, 0750);
	if (cfg_edit != NULL)
		cfg_edit(c);
	assert_int_equal(mreg_start(&F->node, &fake_ops), 0);
}

static int
setup(void **state)
{
	(void)state;
	assert_non_null(F = calloc(1, sizeof(*F)));
	strcpy(F->home, "/tmp/test_mreg.XXXXXX");
	assert_non_null(mkdtemp(F->home));
	F->node.loop = ev_loop_new(EVFLAG_AUTO);
	memset(&R, 0, sizeof(R));
	R.deltas = cJSON_CreateArray();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	mreg_stop();
	ev_loop_destroy(F->node.loop);
	fx_rmtree(F->home);
	free(F);
	cJSON_Delete(R.deltas);
	cJSON_Delete(R.reply);
	return 0;
}

/* Run the loop until *flag is set (or fail after GUARD_SECONDS). */
static void
wait_flag(const int *flag)
{
	double	end = ev_time() + GUARD_SECONDS;

	while (!*flag) {
		assert_true(ev_time() < end);
		ev_run(F->node.loop, EVRUN_ONCE);
	}
}

/* A few more iterations: pending deltas leave at the next one. */
static void
settle(void)
{
	int	i;

	for (i = 0; i < 3; i++)
		ev_run(F->node.loop, EVRUN_NOWAIT);
}

/* Enroll with a raw request line, as an agent sends it; the answer. */
static const char *
enroll_line(const char *line, const char *src)
{
	struct enroll_req	req;
	char			err[ENROLL_ANSWER_MAX];

	assert_int_equal(enroll_parse(line, strlen(line), &req, err,
	    sizeof(err)), 0);
	R.answered = 0;
	mreg_enroll(&req, src, on_answer, NULL);
	wait_flag(&R.answered);
	settle();
	return R.answer;
}

static const struct agent *
agent_named(const char *name)
{
	return agents_by_name(mreg_table(), name);
}

/* Run one control command; the reply (owned by R). */
static const cJSON *
command(const char *json)
{
	cJSON	*req = cJSON_Parse(json);

	assert_non_null(req);
	R.replied = 0;
	assert_int_equal(mreg_command(req, on_reply, NULL), 1);
	cJSON_Delete(req);
	wait_flag(&R.replied);
	settle();
	return R.reply;
}

static int
reply_ok(void)
{
	return cJSON_GetObjectItemCaseSensitive(R.reply, "error")->valueint
	    == 0;
}

static const char *
reply_message(void)
{
	const cJSON	*m = cJSON_GetObjectItemCaseSensitive(R.reply,
	    "message");

	return cJSON_IsString(m) ? m->valuestring : "";
}

/* Whether some delta so far has id in its "remove" or "upsert". */
static int
delta_has(const char *what, const char *id)
{
	const cJSON	*d, *e, *v;

	cJSON_ArrayForEach(d, R.deltas) {
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(d,
		    what)) {
			/* removals are ids, upserts records [id, ...] */
			v = cJSON_IsString(e) ? e : cJSON_GetArrayItem(e, 0);
			if (cJSON_IsString(v) && strcmp(v->valuestring, id) ==
			    0)
				return 1;
		}
	}
	return 0;
}

/* ---- enrollment ---- */

static void
test_new_agent(void **state)
{
	const struct agent	*a;
	char			 want[256];

	(void)state;
	start(NULL);
	enroll_line("OSSEC A:'web1'", "10.0.0.5");
	assert_true(strncmp(R.answer, "OSSEC K:'001 web1 any ", 22) == 0);
	assert_string_equal(R.id, "001");
	assert_non_null(a = agent_named("web1"));
	snprintf(want, sizeof(want), "OSSEC K:'001 web1 any %s'",
	    AGENT_KEY_OF(a));
	assert_string_equal(R.answer, want);
	assert_int_equal(strlen(AGENT_KEY_OF(a)), AGENT_KEY_LEN);
	assert_true(delta_has("upsert", "001"));
	/* The workers got the key before the answer left. */
	assert_true(R.key_first);
	assert_int_equal(R.ngone, 0);
	/* Ids grow and are never reused. */
	enroll_line("OSSEC A:'web2'", "10.0.0.6");
	assert_string_equal(R.id, "002");
}

static void
test_client_keys_written(void **state)
{
	char	path[256], line[512], want[512];
	FILE	*fp;

	(void)state;
	start(NULL);
	enroll_line("OSSEC A:'db1' IP:'src'", "10.1.2.3");
	snprintf(want, sizeof(want), "001 db1 10.1.2.3 %s\n",
	    AGENT_KEY_OF(agent_named("db1")));
	mreg_stop();	/* flushes the pending rewrite */
	snprintf(path, sizeof(path), "%s/etc/client.keys", F->home);
	assert_non_null(fp = fopen(path, "r"));
	assert_non_null(fgets(line, sizeof(line), fp));
	fclose(fp);
	assert_string_equal(line, want);
	/* The registry keeps it across a restart. */
	start(NULL);
	assert_non_null(agent_named("db1"));
	enroll_line("OSSEC A:'db2'", "10.1.2.4");
	assert_string_equal(R.id, "002");
}

/* The first line of etc/client.keys, or "" when it has none. */
static const char *
keys_first_line(void)
{
	static char	line[512];
	char		path[256];
	FILE		*fp;

	line[0] = '\0';
	snprintf(path, sizeof(path), "%s/etc/client.keys", F->home);
	if ((fp = fopen(path, "r")) != NULL) {
		if (fgets(line, sizeof(line), fp) == NULL)
			line[0] = '\0';
		fclose(fp);
	}
	return line;
}

/*
 * A client.keys that cannot be written (the disk full; here the file and
 * its temp file are folders in the way: the append fails, then the whole
 * rewrite it falls back to) is written again by itself once it can be,
 * and an agent that got its key meanwhile is in it.
 */
static void
test_client_keys_retried(void **state)
{
	char	keys[256], blocker[300], want[512];
	double	end;

	(void)state;
	start(NULL);
	snprintf(keys, sizeof(keys), "%s/etc/client.keys", F->home);
	snprintf(blocker, sizeof(blocker), "%s.new", keys);
	assert_int_equal(unlink(keys), 0);
	assert_int_equal(mkdir(keys, 0700), 0);
	assert_int_equal(mkdir(blocker, 0700), 0);
	enroll_line("OSSEC A:'db1'", "10.1.2.3");
	assert_true(strncmp(R.answer, "OSSEC K:", 8) == 0);
	snprintf(want, sizeof(want), "001 db1 any %s\n",
	    AGENT_KEY_OF(agent_named("db1")));
	end = ev_time() + 2.0;		/* past the write's delay */
	while (ev_time() < end) {
		ev_run(F->node.loop, EVRUN_NOWAIT);
		usleep(10000);
	}
	assert_string_equal(keys_first_line(), "");
	assert_int_equal(rmdir(blocker), 0);
	assert_int_equal(rmdir(keys), 0);
	end = ev_time() + GUARD_SECONDS;
	while (strcmp(keys_first_line(), want) != 0) {
		assert_true(ev_time() < end);
		ev_run(F->node.loop, EVRUN_ONCE);
	}
}

static void
set_password_file(struct config *c)
{
	snprintf(c->enrollment_password_file,
	    sizeof(c->enrollment_password_file), "%s/authd.pass", F->home);
}

static void
test_password(void **state)
{
	(void)state;
	write_file("authd.pass", "s3cret-pass\n");
	start(set_password_file);
	assert_string_equal(enroll_line("OSSEC A:'a1'", "10.0.0.1"),
	    "ERROR: Invalid password");
	assert_string_equal(enroll_line("OSSEC PASS: wrong OSSEC A:'a1'",
	    "10.0.0.1"), "ERROR: Invalid password");
	assert_null(agent_named("a1"));
	assert_true(strncmp(enroll_line("OSSEC PASS: s3cret-pass OSSEC "
	    "A:'a1'", "10.0.0.1"), "OSSEC K:'", 9) == 0);
}

static void
test_password_when_none_configured(void **state)
{
	(void)state;
	start(NULL);
	assert_string_equal(enroll_line("OSSEC PASS: x1y2z3 OSSEC A:'a1'",
	    "10.0.0.1"), "ERROR: Invalid request for new agent");
}

static void
test_password_file_too_short(void **state)
{
	(void)state;
	write_file("authd.pass", "ab\n");
	start(set_password_file);
	/* An unusable password refuses everyone rather than no one. */
	assert_string_equal(enroll_line("OSSEC PASS: ab OSSEC A:'a1'",
	    "10.0.0.1"), "ERROR: Invalid password");
}

static void
test_newer_agent_version(void **state)
{
	(void)state;
	start(NULL);
	assert_string_equal(enroll_line("OSSEC A:'new1' V:'v4.15.0'",
	    "10.0.0.1"), "ERROR: Agent version must be lower or equal to "
	    "manager version");
	assert_true(strncmp(enroll_line("OSSEC A:'old1' V:'v4.14.7'",
	    "10.0.0.1"), "OSSEC K:'", 9) == 0);
	assert_string_equal(agent_named("old1")->version, "v4.14.7");
}

static void
test_groups_must_exist(void **state)
{
	(void)state;
	start(NULL);
	assert_string_equal(enroll_line("OSSEC A:'g1' G:'default,nosuch'",
	    "10.0.0.1"), "ERROR: Invalid group: nosuch");
	assert_null(agent_named("g1"));
	command("{\"command\":\"group_create\",\"group\":\"web\"}");
	assert_true(reply_ok());
	enroll_line("OSSEC A:'g1' G:'web,default'", "10.0.0.1");
	assert_string_equal(agent_named("g1")->groups, "web,default");
}

static void
test_addresses(void **state)
{
	(void)state;
	start(NULL);
	enroll_line("OSSEC A:'ip1' IP:'192.168.1.10'", "10.0.0.1");
	assert_string_equal(agent_named("ip1")->ip, "192.168.1.10");
	enroll_line("OSSEC A:'ip2' IP:'src'", "10.0.0.2");
	assert_string_equal(agent_named("ip2")->ip, "10.0.0.2");
	/* The same address again, within the replace policy's hour. */
	assert_string_equal(enroll_line("OSSEC A:'ip3' IP:'192.168.1.10'",
	    "10.0.0.3"), "ERROR: Duplicate IP: 192.168.1.10");
	/* "any" never collides. */
	enroll_line("OSSEC A:'any1'", "10.0.0.4");
	assert_true(strncmp(enroll_line("OSSEC A:'any2'", "10.0.0.4"),
	    "OSSEC K:'", 9) == 0);
}

static void
source_ip(struct config *c)
{
	c->use_source_ip = 1;
}

/*
 * use_source_ip: a request without IP: gets its source address, in
 * client.keys' line too; an IP: field, 'src' or an address, still wins.
 */
static void
test_use_source_ip(void **state)
{
	(void)state;
	start(source_ip);
	assert_true(strncmp(enroll_line("OSSEC A:'s1'", "10.0.0.5"),
	    "OSSEC K:'001 s1 10.0.0.5 ", 25) == 0);
	assert_string_equal(agent_named("s1")->ip, "10.0.0.5");
	assert_string_equal(AGENT_ADDR_OF(agent_named("s1"), AGENT_REGISTER_IP),
	    "10.0.0.5");
	enroll_line("OSSEC A:'s2' IP:'192.168.7.7'", "10.0.0.6");
	assert_string_equal(agent_named("s2")->ip, "192.168.7.7");
	enroll_line("OSSEC A:'s3' IP:'src'", "10.0.0.7");
	assert_string_equal(agent_named("s3")->ip, "10.0.0.7");
	/* The source is an address now: a second agent from it collides. */
	assert_string_equal(enroll_line("OSSEC A:'s4'", "10.0.0.5"),
	    "ERROR: Duplicate IP: 10.0.0.5");
	enroll_line("OSSEC A:'v6'", "fd00::2");
	assert_string_equal(agent_named("v6")->ip, "fd00::2");
	/* Without the option: any. */
	mreg_stop();
	fx_rmtree(F->home);
	assert_non_null(mkdtemp(strcpy(F->home, "/tmp/test_mreg.XXXXXX")));
	start(NULL);
	enroll_line("OSSEC A:'s1'", "10.0.0.5");
	assert_string_equal(agent_named("s1")->ip, "any");
}

/*
 * A relayed source address that is not one is refused: it would reach
 * client.keys, where "1.1.1.1\n77777 ghost any" once added a line.
 */
static void
test_bad_source_address(void **state)
{
	static const char *const bad[] = {
		"1.1.1.1\n77777 ghost any", "1.1.1.1 x", "", "any", "src",
		"10.0.0.0/8", "300.1.1.1", "\x1b[2J",
	};
	size_t	i;

	(void)state;
	start(NULL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_string_equal(enroll_line("OSSEC A:'inj' IP:'src'",
		    bad[i]), "ERROR: Invalid request for new agent");
	assert_null(agent_named("inj"));
	assert_null(agents_by_id(mreg_table(), "77777"));
	/* An IPv6 source is an address. */
	enroll_line("OSSEC A:'v6' IP:'src'", "fd00::1");
	assert_string_equal(agent_named("v6")->ip, "fd00::1");
}

static void
test_duplicate_name_refused(void **state)
{
	(void)state;
	start(NULL);
	enroll_line("OSSEC A:'dup'", "10.0.0.1");
	/* From another source: a lost answer's retry comes from the same. */
	assert_string_equal(enroll_line("OSSEC A:'dup'", "10.0.0.2"),
	    "ERROR: Duplicate agent name: dup. Unable to add agent");
	assert_string_equal(agent_named("dup")->id, "001");
	assert_int_equal(R.ngone, 0);
}

static void
replace_at_once(struct config *c)
{
	c->force_disconnected_time = 0;
	c->force_after_registration_time = 0;
}

static void
test_duplicate_name_replaced(void **state)
{
	(void)state;
	start(replace_at_once);
	enroll_line("OSSEC A:'dup'", "10.0.0.1");
	enroll_line("OSSEC A:'dup'", "10.0.0.2");
	assert_string_equal(R.id, "002");
	assert_string_equal(agent_named("dup")->id, "002");
	assert_null(agents_by_id(mreg_table(), "001"));
	/* The old agent's connection is dropped, and workers hear of it. */
	assert_int_equal(R.ngone, 1);
	assert_string_equal(R.gone[0], "001");
	assert_true(delta_has("remove", "001"));
	assert_true(delta_has("upsert", "002"));
}

static void
no_replace(struct config *c)
{
	c->force_replace = 0;
	c->force_disconnected_time = 0;
	c->force_after_registration_time = 0;
}

static void
test_replace_disabled(void **state)
{
	(void)state;
	start(no_replace);
	enroll_line("OSSEC A:'dup'", "10.0.0.1");
	assert_true(strncmp(enroll_line("OSSEC A:'dup'", "10.0.0.2"),
	    "ERROR: Duplicate agent name", 27) == 0);
}

/*
 * A lost answer: the same name again from the same source, before the
 * agent ever connected and within enrollment_retry_window, gets the same
 * id and key, after a restart of the master too; anything else is a
 * duplicate as before.
 */
static void
test_lost_answer_same_key(void **state)
{
	struct agent	*a;
	char		 first[ENROLL_ANSWER_MAX], hash[41], line[128];

	(void)state;
	start(NULL);
	snprintf(first, sizeof(first), "%s", enroll_line("OSSEC A:'lost1' "
	    "G:'default'", "10.0.0.9"));
	assert_true(strncmp(first, "OSSEC K:'001 lost1 any ", 23) == 0);
	assert_string_equal(AGENT_ADDR_OF(agent_named("lost1"),
	    AGENT_ENROLL_SRC),
	    "10.0.0.9");
	assert_string_equal(enroll_line("OSSEC A:'lost1' G:'default'",
	    "10.0.0.9"), first);
	assert_string_equal(R.id, "001");
	assert_int_equal(R.ngone, 0);
	assert_int_equal(agents_count(mreg_table()), 1);

	/* The master restarts: the source was stored with the agent. */
	mreg_stop();
	start(NULL);
	assert_string_equal(enroll_line("OSSEC A:'lost1' G:'default'",
	    "10.0.0.9"), first);

	/* Not the same request: a duplicate. */
	assert_true(strncmp(enroll_line("OSSEC A:'lost1' G:'default'",
	    "10.0.0.8"), "ERROR: Duplicate agent name", 27) == 0);
	/* No G: is the default group: the same request. */
	assert_string_equal(enroll_line("OSSEC A:'lost1'", "10.0.0.9"), first);
	assert_true(strncmp(enroll_line("OSSEC A:'lost1' G:'default' "
	    "IP:'10.0.0.9'", "10.0.0.9"), "ERROR: Duplicate agent name",
	    27) == 0);
	/* An agent presenting this key's own hash holds it already. */
	a = agents_by_name(mreg_table(), "lost1");
	agent_key_hash(a, hash);
	snprintf(line, sizeof(line), "OSSEC A:'lost1' G:'default' K:'%s'",
	    hash);
	assert_true(strncmp(enroll_line(line, "10.0.0.9"),
	    "ERROR: Duplicate agent name", 27) == 0);
	/* Once connected, never again. */
	agent_set_status(a, "active");
	assert_true(strncmp(enroll_line("OSSEC A:'lost1' G:'default'",
	    "10.0.0.9"), "ERROR: Duplicate agent name", 27) == 0);
	/* Past the window (5 minutes by default), neither. */
	agent_set_status(a, "never_connected");
	a->date_add -= 301;
	assert_true(strncmp(enroll_line("OSSEC A:'lost1' G:'default'",
	    "10.0.0.9"), "ERROR: Duplicate agent name", 27) == 0);
	a->date_add += 2;
	assert_string_equal(enroll_line("OSSEC A:'lost1' G:'default'",
	    "10.0.0.9"), first);
	assert_int_equal(agents_count(mreg_table()), 1);
}

static void
no_retry_window(struct config *c)
{
	c->enrollment_retry_window = 0;
}

/* enrollment_retry_window 0: a retry is a duplicate like any other. */
static void
test_lost_answer_window_off(void **state)
{
	(void)state;
	start(no_retry_window);
	enroll_line("OSSEC A:'lost2'", "10.0.0.9");
	assert_true(strncmp(enroll_line("OSSEC A:'lost2'", "10.0.0.9"),
	    "ERROR: Duplicate agent name", 27) == 0);
}

static void
test_abort_takes_enrollment_back(void **state)
{
	const struct agent	*a;
	char			 key[AGENT_KEY_LEN + 1];

	(void)state;
	start(NULL);
	enroll_line("OSSEC A:'lost'", "10.0.0.1");
	assert_non_null(a = agent_named("lost"));
	agent_key(a, key);
	/* A wrong key is ignored: only the answer's own key aborts. */
	mreg_enroll_abort("001", "00000000000000000000000000000000"
	    "00000000000000000000000000000000");
	assert_non_null(agent_named("lost"));
	mreg_enroll_abort("001", key);
	assert_null(agent_named("lost"));
	assert_int_equal(R.ngone, 1);
	settle();
	while (!delta_has("remove", "001"))
		ev_run(F->node.loop, EVRUN_ONCE);
	/* The name is free again at once. */
	assert_true(strncmp(enroll_line("OSSEC A:'lost'", "10.0.0.1"),
	    "OSSEC K:'002 lost", 17) == 0);
}

/* ---- commands ---- */

static void
test_group_commands(void **state)
{
	char		path[256];
	struct stat	sb;

	(void)state;
	start(NULL);
	enroll_line("OSSEC A:'m1'", "10.0.0.1");
	/* No G: at enrollment: the default group, as Wazuh's manager. */
	assert_string_equal(agent_named("m1")->groups, "default");
	command("{\"command\":\"group_create\",\"group\":\"web\"}");
	assert_true(reply_ok());
	snprintf(path, sizeof(path), "%s/etc/shared/web/agent.conf", F->home);
	assert_int_equal(stat(path, &sb), 0);
	command("{\"command\":\"group_create\",\"group\":\"web\"}");
	assert_false(reply_ok());
	assert_string_equal(reply_message(), "group web already exists");

	command("{\"command\":\"group_assign\",\"agent\":\"001\","
	    "\"group\":\"web\"}");
	assert_true(reply_ok());
	assert_string_equal(agent_named("m1")->groups, "default,web");
	assert_true(delta_has("upsert", "001"));
	command("{\"command\":\"group_unassign\",\"agent\":\"001\","
	    "\"group\":\"default\"}");
	assert_string_equal(agent_named("m1")->groups, "web");
	command("{\"command\":\"group_assign\",\"agent\":\"001\","
	    "\"group\":\"web\"}");
	assert_string_equal(reply_message(), "agent 001 is already in group "
	    "web");
	command("{\"command\":\"group_assign\",\"agent\":\"001\","
	    "\"group\":\"default\"}");
	assert_string_equal(agent_named("m1")->groups, "web,default");

	command("{\"command\":\"group_unassign\",\"agent\":\"001\","
	    "\"group\":\"web\"}");
	assert_true(reply_ok());
	assert_string_equal(agent_named("m1")->groups, "default");
	command("{\"command\":\"group_unassign\",\"agent\":\"001\","
	    "\"group\":\"web\"}");
	assert_string_equal(reply_message(), "agent 001 is not in group web");

	/* Deleting a group takes it from its members. */
	command("{\"command\":\"group_assign\",\"agent\":\"001\","
	    "\"group\":\"web\"}");
	command("{\"command\":\"group_delete\",\"group\":\"web\"}");
	assert_true(reply_ok());
	assert_string_equal(agent_named("m1")->groups, "default");
	assert_int_equal(stat(path, &sb), -1);
	command("{\"command\":\"group_delete\",\"group\":\"web\"}");
	assert_string_equal(reply_message(), "group web does not exist");
	command("{\"command\":\"group_delete\",\"group\":\"default\"}");
	assert_string_equal(reply_message(), "the default group cannot be "
	    "deleted");
}

static void
test_group_command_refusals(void **state)
{
	(void)state;
	start(NULL);
	command("{\"command\":\"group_create\",\"group\":\"../etc\"}");
	assert_string_equal(reply_message(), "invalid or missing group name");
	command("{\"command\":\"group_create\"}");
	assert_string_equal(reply_message(), "invalid or missing group name");
	command("{\"command\":\"group_assign\",\"agent\":\"999\","
	    "\"group\":\"default\"}");
	assert_string_equal(reply_message(), "agent 999 does not exist");
	command("{\"command\":\"group_assign\",\"agent\":\"999\","
	    "\"group\":\"nosuch\"}");
	assert_string_equal(reply_message(), "agent 999 does not exist");
	enroll_line("OSSEC A:'r1'", "10.0.0.1");
	command("{\"command\":\"group_assign\",\"agent\":\"001\","
	    "\"group\":\"nosuch\"}");
	assert_string_equal(reply_message(), "group nosuch does not exist");
	/* Not ours: another module answers it. */
	{
		cJSON	*req = cJSON_Parse("{\"command\":\"pools\"}");

		assert_int_equal(mreg_command(req, on_reply, NULL), 0);
		cJSON_Delete(req);
	}
}

static void
test_agent_remove(void **state)
{
	(void)state;
	start(NULL);
	enroll_line("OSSEC A:'rm1'", "10.0.0.1");
	command("{\"command\":\"agent_remove\",\"agent\":\"001\"}");
	assert_true(reply_ok());
	assert_null(agent_named("rm1"));
	assert_int_equal(R.ngone, 1);
	assert_string_equal(R.gone[0], "001");
	assert_true(delta_has("remove", "001"));
	command("{\"command\":\"agent_remove\",\"agent\":\"001\"}");
	assert_string_equal(reply_message(), "agent 001 does not exist");
	command("{\"command\":\"agent\",\"agent\":\"001\"}");
	assert_false(reply_ok());
}

static void
test_agent_listing(void **state)
{
	const cJSON	*d, *e;

	(void)state;
	start(NULL);
	enroll_line("OSSEC A:'l1'", "10.0.0.1");
	enroll_line("OSSEC A:'l2'", "10.0.0.1");
	command("{\"command\":\"agents\"}");
	d = cJSON_GetObjectItemCaseSensitive(R.reply, "data");
	assert_int_equal(cJSON_GetArraySize(d), 2);
	e = cJSON_GetArrayItem(d, 0);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(e, "name")->
	    valuestring, "l1");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(e, "status")->
	    valuestring, "never_connected");
	command("{\"command\":\"agents\",\"status\":\"active\"}");
	d = cJSON_GetObjectItemCaseSensitive(R.reply, "data");
	assert_int_equal(cJSON_GetArraySize(d), 0);
}

/* ---- workers' reports ---- */

static void
report(const char *node, const char *json)
{
	cJSON	*b = cJSON_Parse(json);

	assert_non_null(b);
	mreg_agent_info(b, node);
	cJSON_Delete(b);
}

static unsigned
mreg_agent_info_text(const char *node, const char *json)
{
	cJSON		*b = cJSON_Parse(json);
	unsigned	 n;

	assert_non_null(b);
	n = mreg_agent_info(b, node);
	cJSON_Delete(b);
	return n;
}

static void
test_status_reports(void **state)
{
	(void)state;
	start(NULL);
	enroll_line("OSSEC A:'s1'", "10.0.0.1");
	report("worker1", "{\"updates\":[{\"id\":\"001\",\"status\":"
	    "\"active\",\"info\":{\"version\":\"Wazuh v4.14.7\"}},"
	    "{\"id\":\"777\",\"status\":\"active\"}]}");
	assert_string_equal(agent_status(agent_named("s1")), "active");
	assert_string_equal(agent_named("s1")->node_name, "worker1");
	assert_string_equal(agent_named("s1")->version, "Wazuh v4.14.7");
	/* A report for an unknown id does not create it. */
	assert_null(agents_by_id(mreg_table(), "777"));
	/* A worker the agent left cannot mark it disconnected. */
	report("worker2", "{\"updates\":[{\"id\":\"001\",\"status\":"
	    "\"disconnected\"}]}");
	assert_string_equal(agent_status(agent_named("s1")), "active");
	/* Its own worker can; a bogus status is ignored. */
	report("worker1", "{\"updates\":[{\"id\":\"001\",\"status\":"
	    "\"rooted\"}]}");
	assert_string_equal(agent_status(agent_named("s1")), "active");
	report("worker1", "{\"updates\":[{\"id\":\"001\",\"status\":"
	    "\"disconnected\"}]}");
	assert_string_equal(agent_status(agent_named("s1")), "disconnected");
	/* Alive on another worker: active there. */
	report("worker2", "{\"alive\":[\"001\"],\"at\":1700000000}");
	assert_string_equal(agent_status(agent_named("s1")), "active");
	assert_string_equal(agent_named("s1")->node_name, "worker2");
	assert_int_equal(agent_named("s1")->last_keepalive, 1700000000);
}

/*
 * The addresses a worker reports (the keepalive's agent_ip, the
 * connection's source_ip) are kept only when they are addresses; the
 * agents command shows them beside register_ip.
 */
static void
test_reported_addresses(void **state)
{
	const cJSON	*a;

	(void)state;
	start(NULL);
	enroll_line("OSSEC A:'s1'", "10.0.0.1");
	report("worker1", "{\"updates\":[{\"id\":\"001\",\"status\":"
	    "\"active\",\"source_ip\":\"198.51.100.20\",\"info\":"
	    "{\"agent_ip\":\"10.0.2.15\"}}]}");
	assert_string_equal(AGENT_ADDR_OF(agent_named("s1"), AGENT_REPORTED_IP),
	    "10.0.2.15");
	assert_string_equal(AGENT_ADDR_OF(agent_named("s1"), AGENT_SOURCE_IP),
	    "198.51.100.20");
	/* Not addresses: ignored, the last good ones kept. */
	report("worker1", "{\"updates\":[{\"id\":\"001\",\"status\":"
	    "\"active\",\"source_ip\":\"evil.example\",\"info\":"
	    "{\"agent_ip\":\"10.0.2.15\\u001b[2J\"}}]}");
	assert_string_equal(AGENT_ADDR_OF(agent_named("s1"), AGENT_REPORTED_IP),
	    "10.0.2.15");
	assert_string_equal(AGENT_ADDR_OF(agent_named("s1"), AGENT_SOURCE_IP),
	    "198.51.100.20");
	report("worker1", "{\"updates\":[{\"id\":\"001\",\"status\":"
	    "\"active\",\"source_ip\":42,\"info\":{\"agent_ip\":"
	    "\"2001:db8::1\"}}]}");
	assert_string_equal(AGENT_ADDR_OF(agent_named("s1"), AGENT_REPORTED_IP),
	    "2001:db8::1");
	assert_string_equal(AGENT_ADDR_OF(agent_named("s1"), AGENT_SOURCE_IP),
	    "198.51.100.20");
	command("{\"command\":\"agents\"}");
	a = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(R.reply,
	    "data"), 0);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(a,
	    "register_ip")->valuestring, "any");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(a,
	    "reported_ip")->valuestring, "2001:db8::1");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(a,
	    "source_ip")->valuestring, "198.51.100.20");
}

static int node_up_answer = 1;

static int
node_up(const char *name)
{
	(void)name;
	return node_up_answer;
}

/*
 * Another worker takes an agent over only once its node cannot be serving
 * it: the node says the connection closed, the node is gone, or the
 * agent's last report is older than the window.
 */
static void
test_report_scope(void **state)
{
	char	now[128];

	(void)state;
	start(NULL);
	mscope_start(node_up, 60);
	enroll_line("OSSEC A:'s1'", "10.0.0.1");
	snprintf(now, sizeof(now), "{\"alive\":[\"001\"],\"at\":%lld}",
	    (long long)time(NULL));
	report("worker1", "{\"updates\":[{\"id\":\"001\",\"status\":"
	    "\"active\"}]}");
	report("worker1", now);
	assert_string_equal(agent_named("s1")->node_name, "worker1");
	/* worker2 claims it, new or alive: refused, counted. */
	assert_int_equal(mreg_agent_info_text("worker2", "{\"updates\":[{"
	    "\"id\":\"001\",\"status\":\"active\"}]}"), 1);
	assert_int_equal(mreg_agent_info_text("worker2", now), 1);
	assert_string_equal(agent_named("s1")->node_name, "worker1");
	/* Only its node says its connection closed; then worker2 may. */
	report("worker2", "{\"updates\":[{\"id\":\"001\",\"closed\":true}]}");
	assert_int_equal(mreg_agent_info_text("worker2", now), 1);
	report("worker1", "{\"updates\":[{\"id\":\"001\",\"closed\":true}]}");
	assert_int_equal(mreg_agent_info_text("worker2", now), 0);
	assert_string_equal(agent_named("s1")->node_name, "worker2");
	/* Back to worker1 only once worker2 is gone, or its report old. */
	assert_int_equal(mreg_agent_info_text("worker1", now), 1);
	node_up_answer = 0;
	assert_int_equal(mreg_agent_info_text("worker1", now), 0);
	assert_string_equal(agent_named("s1")->node_name, "worker1");
	node_up_answer = 1;
	assert_int_equal(mreg_agent_info_text("worker2",
	    "{\"alive\":[\"001\"],\"at\":1700000000}"), 1);
	snprintf(now, sizeof(now), "{\"alive\":[\"001\"],\"at\":%lld}",
	    (long long)time(NULL) - 61);
	report("worker1", now);
	assert_int_equal(mreg_agent_info_text("worker2", now), 0);
	assert_string_equal(agent_named("s1")->node_name, "worker2");
	mscope_stop();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_new_agent),
		T(test_report_scope),
		T(test_client_keys_written),
		T(test_client_keys_retried),
		T(test_password),
		T(test_password_when_none_configured),
		T(test_password_file_too_short),
		T(test_newer_agent_version),
		T(test_groups_must_exist),
		T(test_addresses),
		T(test_use_source_ip),
		T(test_bad_source_address),
		T(test_duplicate_name_refused),
		T(test_duplicate_name_replaced),
		T(test_replace_disabled),
		T(test_lost_answer_same_key),
		T(test_lost_answer_window_off),
		T(test_abort_takes_enrollment_back),
		T(test_group_commands),
		T(test_group_command_refusals),
		T(test_agent_remove),
		T(test_agent_listing),
		T(test_status_reports),
		T(test_reported_addresses),
#undef T
	};

	log_init("/dev/null", 0, LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
