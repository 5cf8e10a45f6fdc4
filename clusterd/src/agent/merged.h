/*
 * merged: the agents' shared files (centralized configuration), as Wazuh
 * 4.x managers make and send them (remoted/manager.c, shared/file_op.c).
 *
 * A group's folder etc/shared/<group>/ is merged into one text,
 * merged.mg: a line "#<tag>\n", then for etc/shared/ar.conf (when it
 * exists) and each file of the folder, walked in strcmp order of names,
 * subfolders in place, dot files and names starting with "merged.mg" left
 * out, files holding a NUL byte left out: a header "!<size> <relative
 * name>\n" and the file's bytes.  The tag is the group's name.
 *
 * An agent in several groups ("a,b": order matters) gets the merge of a
 * folder made of its groups' files, in order: each group's agent.conf
 * appended after a line "<!-- Source file: <group>/agent.conf -->\n", any
 * other file replaced by a later group's.  Its tag is the first 8 hex
 * digits of the SHA-256 of the group list, the name of its folder too:
 * Wazuh keeps it in var/multigroups/<hash>/, we in etc/multigroups/<hash>/,
 * so that the shared set (folders under etc) carries it to the workers.
 *
 * The sending side: "#!-up file <md5> merged.mg\n", the file in chunks of
 * at most 900 bytes, then "#!-close file ".  Pure but for the folder
 * reads and the cache's stat().
 */
#ifndef CLUSTERD_MERGED_H
#define CLUSTERD_MERGED_H

#include <sys/types.h>
#include <stddef.h>
#include <time.h>

#include "base/strmap.h"

#define MERGED_NAME		"merged.mg"
#define MERGED_CHUNK		900
#define MERGED_MAX		(64 * 1024 * 1024)	/* one merge, bytes */
#define MERGED_SHARED_REL	"etc/shared"
#define MERGED_MULTI_REL	"etc/multigroups"

/* A merged.mg in memory: its bytes and MD5, shared by reference. */
struct merged_file {
	unsigned	 refs;
	char		 md5[33];
	size_t		 len;
	char		 data[];
};

struct merged_file *merged_file_new(const char *, size_t);
struct merged_file *merged_file_ref(struct merged_file *);
void		 merged_file_unref(struct merged_file *);

void	merged_md5_hex(const void *, size_t, char out[33]);
void	merged_multigroup_hash(const char *groups, char out[9]);

/*
 * The merge for an agent's groups ("g" or "a,b,..."), read from the
 * folders under shared (etc/shared).  *out is malloc'ed.  Returns 0, or
 * -1 when a group's folder cannot be read or the merge passes MERGED_MAX.
 */
int	merged_build(const char *shared, const char *groups, char **out,
	    size_t *outlen);

/* Where that merge lives, relative to a home; -1 for an invalid name. */
int	merged_rel_path(const char *groups, char *out, size_t outlen);

/*
 * The push of f, one message at a time: *step 0 is the header, then the
 * chunks, then the close.  Copies the next message into buf and returns
 * its length; 0 once the close was given.  buf holds MERGED_CHUNK + 64.
 */
size_t	merged_push_next(const struct merged_file *, size_t *step, char *buf,
	    size_t buflen);
size_t	merged_push_steps(const struct merged_file *);

/*
 * The merges agents are compared with, by group list, read from a home
 * and checked again (one stat) at most every recheck seconds.
 */
struct merged_cache {
	struct strmap	 map;
	char		 home[4096];
	double		 recheck;
};

void	merged_cache_init(struct merged_cache *, const char *home,
	    double recheck);
void	merged_cache_free(struct merged_cache *);
/* The current merge for groups, or NULL when there is none. */
struct merged_file *merged_cache_get(struct merged_cache *, const char *groups,
	    double now);

#endif
