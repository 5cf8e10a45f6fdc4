#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "agent/agents.h"
#include "agent/merged.h"
#include "base/log.h"
#include "base/node.h"
#include "base/strmap.h"
#include "master/mshared.h"
#include "master/msync.h"

#define TASK		"Shared files"
#define KICK_DELAY	0.1	/* group changes of one burst, one rebuild */
#define MERGED_MODE	0640
#define DEFAULT_GROUP	"default"
#define DEFAULT_CONF	"<agent_config>\n\n</agent_config>\n"

static struct {
	struct node		*node;
	const struct agents	*(*table)(void);
	ev_timer		 kick;
} S;

/* Write path's new bytes unless it holds them already.  1 written, 0 same. */
static int
put_if_changed(const char *path, const char *data, size_t len)
{
	char	*old = NULL;
	size_t	 oldlen;
	int	 same;

	same = node_read_file(path, MERGED_MAX, &old, &oldlen) == 0 &&
	    oldlen == len && memcmp(old, data, len) == 0;
	free(old);
	if (same)
		return 0;
	if (node_write_file(path, data, len, MERGED_MODE) == -1) {
		log_warn(TASK, "cannot write %s", path);
		return -1;
	}
	return 1;
}

/* Build the merge for groups into home-relative rel; 1 when written. */
static int
build_one(const char *shared, const char *groups, const char *rel)
{
	char	path[PATH_MAX], *data;
	size_t	len;
	int	rv;

	if (config_path(&S.node->cfg, rel, path, sizeof(path)) == -1)
		return 0;
	if (merged_build(shared, groups, &data, &len) == -1) {
		log_warnx(TASK, "Cannot build %s for %s.", MERGED_NAME, groups);
		return 0;
	}
	rv = put_if_changed(path, data, len);
	free(data);
	if (rv == 1)
		log_info(TASK, "%s of %s updated.", rel, groups);
	return rv == 1;
}

/* The multigroups agents are in, by hash; values are their group lists. */
static void
multigroups(struct strmap *m, char (*hashes)[9], size_t cap, size_t *n)
{
	const struct agents	*t = S.table();
	struct agent		*a;
	size_t			 it = 0;

	*n = 0;
	while ((a = strmap_next(&t->by_id, &it)) != NULL && *n < cap) {
		if (a->groups == NULL || strchr(a->groups, ',') == NULL)
			continue;
		merged_multigroup_hash(a->groups, hashes[*n]);
		if (strmap_get(m, hashes[*n]) != NULL)
			continue;
		if (strmap_put(m, hashes[*n], (void *)(uintptr_t)a->groups) == 0)
			(*n)++;
	}
}

/* Folders of etc/multigroups no agent uses any more go. */
static int
prune_multi(const char *multi, const struct strmap *used)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[PATH_MAX + 512];
	int		 n = 0;

	if ((d = opendir(multi)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strmap_get(used, de->d_name) != NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s/" MERGED_NAME, multi,
		    de->d_name);
		unlink(path);
		snprintf(path, sizeof(path), "%s/%s", multi, de->d_name);
		if (rmdir(path) == 0)
			n++;
	}
	closedir(d);
	return n;
}

/* Each group folder's merged.mg; returns how many were written. */
static int
build_groups(const char *shared)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 sb;
	char		 dir[PATH_MAX + 512], rel[PATH_MAX];
	int		 n = 0;

	if ((d = opendir(shared)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		snprintf(dir, sizeof(dir), "%s/%s", shared, de->d_name);
		if (!agents_valid_group(de->d_name) || lstat(dir, &sb) == -1 ||
		    !S_ISDIR(sb.st_mode))
			continue;
		snprintf(rel, sizeof(rel), MERGED_SHARED_REL "/%s/" MERGED_NAME,
		    de->d_name);
		n += build_one(shared, de->d_name, rel);
	}
	closedir(d);
	return n;
}

/* Each multigroup in use, and the folders of those no longer in use. */
static int
build_multi(const char *shared, const char *multi)
{
	struct strmap	 used;
	char		 dir[PATH_MAX + 512], rel[PATH_MAX], (*hashes)[9] = NULL;
	size_t		 nmulti = 0, i, cap = agents_count(S.table());
	int		 n = 0;

	strmap_init(&used);
	/* Out of memory: nothing is pruned, in-use folders stay. */
	if (cap > 0 && (hashes = calloc(cap, sizeof(*hashes))) == NULL)
		goto done;
	multigroups(&used, hashes, cap, &nmulti);
	if (nmulti > 0 && mkdir(multi, 0750) == -1 && errno != EEXIST)
		log_warn(TASK, "cannot create %s", multi);
	for (i = 0; i < nmulti; i++) {
		snprintf(dir, sizeof(dir), "%s/%s", multi, hashes[i]);
		if (mkdir(dir, 0750) == -1 && errno != EEXIST)
			continue;
		snprintf(rel, sizeof(rel), MERGED_MULTI_REL "/%s/" MERGED_NAME,
		    hashes[i]);
		n += build_one(shared, strmap_get(&used, hashes[i]), rel);
	}
	n += prune_multi(multi, &used);
done:
	strmap_free(&used);
	free(hashes);
	return n;
}

/*
 * Every group folder's merged.mg, then every multigroup's.  Cheap when
 * nothing changed: the folders are read and merged in memory, compared
 * with the files, and nothing is written.
 */
int
mshared_rebuild(void)
{
	char	shared[PATH_MAX], multi[PATH_MAX];

	if (S.node == NULL ||
	    config_path(&S.node->cfg, MERGED_SHARED_REL, shared,
	    sizeof(shared)) == -1 ||
	    config_path(&S.node->cfg, MERGED_MULTI_REL, multi,
	    sizeof(multi)) == -1)
		return 0;
	return build_groups(shared) + build_multi(shared, multi);
}

static void
kick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	if (mshared_rebuild() > 0)
		msync_rescan();	/* a new multigroup folder is not watched */
}

void
mshared_kick(void)
{
	if (S.node != NULL && !ev_is_active(&S.kick)) {
		ev_timer_set(&S.kick, KICK_DELAY, 0);
		ev_timer_start(S.node->loop, &S.kick);
	}
}

/* etc/shared/default with an agent.conf exists from the start, as a
 * Wazuh manager is installed with it: new agents join it. */
static void
make_default(void)
{
	char		path[PATH_MAX];
	struct stat	sb;

	if (config_path(&S.node->cfg, MERGED_SHARED_REL "/" DEFAULT_GROUP,
	    path, sizeof(path)) == -1)
		return;
	if (mkdir(path, 0750) == -1 && errno != EEXIST) {
		log_warn(TASK, "cannot create %s", path);
		return;
	}
	if (config_path(&S.node->cfg, MERGED_SHARED_REL "/" DEFAULT_GROUP
	    "/agent.conf", path, sizeof(path)) == -1 || lstat(path, &sb) == 0)
		return;
	if (node_write_file(path, DEFAULT_CONF, strlen(DEFAULT_CONF), 0640) ==
	    -1)
		log_warn(TASK, "cannot write %s", path);
	else
		log_info(TASK, "Created the default group's agent.conf.");
}

int
mshared_start(struct node *n, const struct agents *(*table)(void))
{
	S.node = n;
	S.table = table;
	ev_timer_init(&S.kick, kick_cb, KICK_DELAY, 0);
	make_default();
	mshared_rebuild();
	return 0;
}

void
mshared_stop(void)
{
	if (S.node == NULL)
		return;
	ev_timer_stop(S.node->loop, &S.kick);
	S.node = NULL;
}
