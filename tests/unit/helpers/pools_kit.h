/*
 * pools_kit: what the pool tests (test_pools, test_pools_persist,
 * test_pools_balancers) share: the master's view of the balancers' pools
 * (master/pools.c) with its collaborators faked at the seam: hellos built
 * by hand (or by hello_build for the master itself), a struct node with a
 * default config and a temp home under /tmp, and a send callback that
 * records each snapshot instead of sending it to balancers; then the
 * snapshots, the "pools" listing, pool_set and var/pools.json read back.
 *
 * pools.c keeps one global state and sends from libev timers (a 10 ms
 * push, a 1 s leave tick), so each test runs a fresh loop until the
 * callback it waits for came, bounded by a guard timer.  Failures end the
 * running test through cmocka.
 */
#ifndef TESTS_POOLS_KIT_H
#define TESTS_POOLS_KIT_H

#include <limits.h>

#include <cjson/cJSON.h>

#include "base/node.h"
#include "net/hello.h"

/* A test's state: its home, files and node (pk_setup, pk_teardown). */
struct pk_fx {
	char		 home[64];
	char		 pools_json[PATH_MAX];
	char		 logpath[PATH_MAX];
	struct node	 node;
};

/* What the send callback was given. */
struct pk_snapshots {
	cJSON	*last;		/* a copy of the last snapshot */
	int	 count;
};
extern struct pk_snapshots pk_sent;

void	 pk_record(const cJSON *);	/* the send callback */
int	 pk_setup(void **);
int	 pk_teardown(void **);

/* The loop. */
void	 pk_run(struct pk_fx *, double, int);
void	 pk_check_pool(const cJSON *, const char *);
const cJSON *pk_flush(struct pk_fx *);
void	 pk_quiet(struct pk_fx *);

/* Snapshots and the "pools" listing. */
const cJSON *pk_member(const cJSON *, const char *, const char *);
const char *pk_str(const cJSON *, const char *);
double	 pk_num(const cJSON *, const char *);
int	 pk_flag(const cJSON *, const char *);
const char *pk_state_in(const cJSON *, const char *, const char *);
int	 pk_now_state_is(const char *, const char *, const char *);
cJSON	*pk_command(const char *);
cJSON	*pk_listing(void);
const cJSON *pk_listed(const cJSON *, const char *, const char *);
int	 pk_is_listed(const char *);
void	 pk_set_ok(const char *, const char *, const char *);

/* Files. */
char	*pk_slurp(const char *);
int	 pk_file_has(const char *, const char *);
cJSON	*pk_saved(const struct pk_fx *, const char *);
void	 pk_restart(struct pk_fx *);

/* Hellos. */
void	 pk_hello_of(struct hello *, const char *, const char *, unsigned,
	    const char *, unsigned, unsigned);
void	 pk_up(const char *, const char *);
void	 pk_master_up(const struct pk_fx *, const char *);

#endif
