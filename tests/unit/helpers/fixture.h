/*
 * fixture: what the file-system tests share (test_apply, test_bundle,
 * test_integ, test_registry): a temp folder with a master, a worker and an
 * outside home, removal of trees, files written and read back, temp files
 * counted, MD5 computed without the modules under test.  Failures end the
 * running test through cmocka.
 */
#ifndef TESTS_FIXTURE_H
#define TESTS_FIXTURE_H

#include <sys/types.h>

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

/* base/{master,worker,outside}: base is /tmp/<test binary>.XXXXXX. */
struct fx_homes {
	char	base[64];
	char	master[96];
	char	worker[96];
	char	outside[96];
};

int	 fx_homes_setup(void **);
int	 fx_homes_teardown(void **);
int	 fx_rmtree(const char *);
size_t	 fx_count_temps(const char *);
size_t	 fx_count_entries(const char *);
void	 fx_mkparents(const char *, const char *);
void	 fx_put(const char *, const char *, const void *, size_t);
void	 fx_puts(const char *, const char *, const char *);
void	 fx_put_mode(const char *, const char *, const void *, size_t,
	    mode_t);
void	 fx_puts_mode(const char *, const char *, const char *, mode_t);
uint8_t	*fx_slurp(const char *, size_t *);
void	 fx_md5(const void *, size_t, uint8_t[16]);

/* clusterd's log in a file of its own, which the test reads back. */
struct fx_log {
	char	 path[64];
	FILE	*fp;		/* opened before a test may run out of fds */
};

void	 fx_log_open(struct fx_log *, const char *name);
size_t	 fx_log_count(struct fx_log *, const char *needle);
void	 fx_log_close(struct fx_log *);

#endif
