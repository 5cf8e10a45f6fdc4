/*
 * test_mshared: the master's merged.mg files.  At start the default group
 * and its agent.conf are made (an existing agent.conf is kept) and every
 * group folder gets its merged.mg; a file is written again only when its
 * bytes change; a multigroup in use gets etc/multigroups/<hash>/merged.mg,
 * removed once no agent is in it; a group change rebuilds after a short
 * delay (mshared_kick).
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>

#include "agent/agents.h"
#include "agent/merged.h"
#include "base/config.h"
#include "base/node.h"
#include "helpers/fixture.h"
#include "master/mshared.h"

static struct node	N;
static struct agents	T;

static const struct agents *
table(void)
{
	return &T;
}

static void
add_agent(const char *id, const char *groups)
{
	struct agent	*a = agent_new();

	assert_non_null(a);
	snprintf(a->id, sizeof(a->id), "%s", id);
	assert_int_equal(agent_set_name(a, id), 0);
	assert_int_equal(agent_set_ip(a, "any"), 0);
	assert_int_equal(agent_set_register_ip(a, "any"), 0);
	assert_int_equal(agent_set_groups(a, groups), 0);
	assert_int_equal(agents_add(&T, a), 0);
}

static int
setup(void **state)
{
	struct fx_homes	*f;

	fx_homes_setup(state);
	f = *state;
	config_defaults(&N.cfg);
	N.cfg.node_type = NODE_MASTER;
	snprintf(N.cfg.home, sizeof(N.cfg.home), "%s", f->master);
	assert_int_equal(node_make_home(&N.cfg), 0);
	N.loop = ev_loop_new(EVFLAG_AUTO);
	agents_init(&T);
	return 0;
}

static int
teardown(void **state)
{
	mshared_stop();
	agents_free(&T);
	ev_loop_destroy(N.loop);
	return fx_homes_teardown(state);
}

static char *
slurp(struct fx_homes *f, const char *rel)
{
	char	path[512], *s;
	uint8_t	*data;
	size_t	len;

	snprintf(path, sizeof(path), "%s/%s", f->master, rel);
	data = fx_slurp(path, &len);
	assert_non_null(s = malloc(len + 1));	/* a string, for the asserts */
	memcpy(s, data, len);
	s[len] = '\0';
	free(data);
	return s;
}

static int
exists(struct fx_homes *f, const char *rel)
{
	char		path[512];
	struct stat	sb;

	snprintf(path, sizeof(path), "%s/%s", f->master, rel);
	return stat(path, &sb) == 0;
}

static void
test_start(void **state)
{
	struct fx_homes	*f = *state;
	char		*s;

	fx_puts(f->master, "etc/shared/web/agent.conf", "W\n");
	fx_puts(f->master, "etc/shared/bad name/agent.conf", "X\n");
	assert_int_equal(mshared_start(&N, table), 0);
	s = slurp(f, "etc/shared/default/agent.conf");
	assert_string_equal(s, "<agent_config>\n\n</agent_config>\n");
	free(s);
	s = slurp(f, "etc/shared/default/merged.mg");
	assert_string_equal(s, "#default\n!32 agent.conf\n<agent_config>\n\n"
	    "</agent_config>\n");
	free(s);
	s = slurp(f, "etc/shared/web/merged.mg");
	assert_string_equal(s, "#web\n!2 agent.conf\nW\n");
	free(s);
	assert_false(exists(f, "etc/shared/bad name/merged.mg"));
	/* Nothing changed: nothing written. */
	assert_int_equal(mshared_rebuild(), 0);
	fx_puts(f->master, "etc/shared/web/agent.conf", "W2\n");
	assert_int_equal(mshared_rebuild(), 1);
	s = slurp(f, "etc/shared/web/merged.mg");
	assert_string_equal(s, "#web\n!3 agent.conf\nW2\n");
	free(s);
}

static void
test_default_kept(void **state)
{
	struct fx_homes	*f = *state;
	char		*s;

	fx_puts(f->master, "etc/shared/default/agent.conf", "mine\n");
	assert_int_equal(mshared_start(&N, table), 0);
	s = slurp(f, "etc/shared/default/agent.conf");
	assert_string_equal(s, "mine\n");
	free(s);
}

static void
test_multigroups(void **state)
{
	struct fx_homes	*f = *state;
	char		*s;

	fx_puts(f->master, "etc/shared/a/agent.conf", "A\n");
	fx_puts(f->master, "etc/shared/b/agent.conf", "B\n");
	add_agent("001", "a,b");
	add_agent("002", "a,b");
	add_agent("003", "a");
	assert_int_equal(mshared_start(&N, table), 0);
	s = slurp(f, "etc/multigroups/1eb7c54d/merged.mg");
	assert_string_equal(s, "#1eb7c54d\n!74 agent.conf\n"
	    "<!-- Source file: a/agent.conf -->\nA\n"
	    "<!-- Source file: b/agent.conf -->\nB\n");
	free(s);
	/* The last agent leaves it: the folder goes. */
	agents_rehash(&T, agents_by_id(&T, "001"), "a");
	agents_rehash(&T, agents_by_id(&T, "002"), "b,a");
	mshared_kick();
	ev_run(N.loop, EVRUN_ONCE);	/* the kick's timer */
	assert_false(exists(f, "etc/multigroups/1eb7c54d"));
	assert_true(exists(f, "etc/multigroups/71db20d9/merged.mg"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_default_kept, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_multigroups, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
