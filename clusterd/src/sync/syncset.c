#include <stdio.h>
#include <string.h>

#include "sync/syncset.h"

/*
 * What is synchronized: folders, with their subfolders.  Modes: the
 * master's permission bits, masked so a shared file can never become
 * executable or setuid on a worker.  etc/client.keys is not here: each
 * node writes its own from its agent table, which the master's deltas
 * keep equal (agent/keysfile.h), so enrolling costs one small delta per
 * worker instead of the whole file.
 */
const struct syncset_entry syncset_table[] = {
	{ "etc/rules",		0664 },
	{ "etc/decoders",	0664 },
	{ "etc/lists",		0664 },
	{ "etc/shared",		0664 },
	{ "etc/multigroups",	0664 },	/* multigroups' merged.mg */
};
const size_t syncset_count = sizeof(syncset_table) / sizeof(syncset_table[0]);

/* Names never synchronized: editor and lock leftovers, our temp files. */
static const char *const excluded_suffixes[] = {
	"~", ".tmp", ".swp", ".swx", ".lock", NULL
};

/*
 * Called for every name of every scan: the first character settles most
 * names before any string comparison, and each suffix's last character
 * before its comparison.
 */
int
syncset_excluded_name(const char *name)
{
	size_t	n = strlen(name), k;
	int	i;

	if (name[0] == '.' && (name[1] == '\0' ||
	    (name[1] == '.' && name[2] == '\0') ||
	    strncmp(name, SYNCSET_TMP_PREFIX, strlen(SYNCSET_TMP_PREFIX)) == 0))
		return 1;
	for (i = 0; excluded_suffixes[i] != NULL; i++) {
		k = strlen(excluded_suffixes[i]);
		if (n >= k && name[n - 1] == excluded_suffixes[i][k - 1] &&
		    strcmp(name + n - k, excluded_suffixes[i]) == 0)
			return 1;
	}
	return 0;
}

mode_t
syncset_mode(const struct syncset_entry *e, mode_t master_mode)
{
	return master_mode & e->mode_mask;
}

/*
 * Decide whether rel (relative to a home) is in the set.  Refuses absolute
 * paths, empty, "." and ".." components, control characters, excluded
 * names, and paths outside every entry.  Returns the entry, or NULL with a
 * reason in why.
 */
const struct syncset_entry *
syncset_check(const char *rel, char *why, size_t whylen)
{
	const struct syncset_entry	*e;
	const char			*p, *comp;
	size_t				 i, n, len;
	char				 name[256];

	len = strlen(rel);
	if (len == 0 || len >= SYNCSET_PATH_MAX) {
		snprintf(why, whylen, "empty or overlong path");
		return NULL;
	}
	if (rel[0] == '/') {
		snprintf(why, whylen, "absolute path");
		return NULL;
	}
	for (p = rel; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			snprintf(why, whylen, "control character in path");
			return NULL;
		}
	}
	/* Every component: not empty, not . or .., not excluded. */
	for (comp = rel; ; comp = p + 1) {
		p = strchr(comp, '/');
		n = p != NULL ? (size_t)(p - comp) : strlen(comp);
		if (n == 0 || n >= sizeof(name)) {
			snprintf(why, whylen, "empty or overlong path component");
			return NULL;
		}
		memcpy(name, comp, n);
		name[n] = '\0';
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
			snprintf(why, whylen, "\".\" or \"..\" in path");
			return NULL;
		}
		if (syncset_excluded_name(name)) {
			snprintf(why, whylen, "excluded name \"%s\"", name);
			return NULL;
		}
		if (p == NULL)
			break;
	}
	for (i = 0; i < syncset_count; i++) {
		e = &syncset_table[i];
		n = strlen(e->path);
		if (strncmp(rel, e->path, n) == 0 && rel[n] == '/')
			return e;
	}
	snprintf(why, whylen, "outside the synchronized set");
	return NULL;
}
