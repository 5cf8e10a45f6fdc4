/*
 * integ_kit: what the integrity tests (test_integ, test_integ_index)
 * share: temp homes removed by a test's teardown, the reference tree with
 * what a scan must list, and MD5s and the tree digest computed here from
 * their definitions, without integ.c.  Failures end the running test
 * through cmocka.
 */
#ifndef TESTS_INTEG_KIT_H
#define TESTS_INTEG_KIT_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "sync/integ.h"

#define IK_NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* The reference tree: what it holds and what a scan must list. */
struct ik_want {
	const char	*path;
	const char	*data;
	mode_t		 mode;		/* on disk */
	mode_t		 listed;	/* masked by the set */
};
#define IK_NTREE	7
extern const struct ik_want ik_tree[IK_NTREE];

char	*ik_mkhome(void);
void	 ik_rmhome(char *);
int	 ik_rm_homes(void **);	/* a teardown */
void	 ik_md5hex(const void *, size_t, char[33]);
void	 ik_file_md5hex(const struct integ_file *, char[33]);
void	 ik_set_mtime(const char *, const char *, time_t, long);
int	 ik_has_dir(const struct integ_index *, const char *);
void	 ik_build_tree(const char *);
void	 ik_check_tree_index(const struct integ_index *);
void	 ik_digest_by_hand(const struct integ_index *, uint8_t[16]);

#endif
