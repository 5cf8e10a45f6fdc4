/*
 * mreg_cmd: the operators' commands on agents and groups (cluster_control
 * -a, -g, -r, group create/delete/assign/unassign, --backup), against the
 * master's table (mreg_int.h).  A change is answered once the registry
 * has stored it, then sent to the workers as a delta.  A standby answers
 * the commands that only read, from its copy.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agents.h"
#include "agent/enroll_parse.h"
#include "base/config.h"
#include "base/log.h"
#include "base/node.h"
#include "base/safefs.h"
#include "master/mreg.h"
#include "master/mreg_int.h"
#include "master/mshared.h"
#include "master/registry.h"
#include "net/control.h"

#define TASK		MREG_TASK
#define SHARED_REL	MREG_SHARED_REL

static cJSON *
agent_json(const struct agent *a)
{
	cJSON	*o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "id", a->id);
	cJSON_AddStringToObject(o, "name", a->name);
	cJSON_AddStringToObject(o, "ip", a->ip);
	cJSON_AddStringToObject(o, "register_ip",
	    AGENT_ADDR_OF(a, AGENT_REGISTER_IP));
	cJSON_AddStringToObject(o, "reported_ip",
	    AGENT_ADDR_OF(a, AGENT_REPORTED_IP));
	cJSON_AddStringToObject(o, "source_ip", AGENT_ADDR_OF(a,
	    AGENT_SOURCE_IP));
	cJSON_AddStringToObject(o, "status", agent_status(a));
	cJSON_AddStringToObject(o, "version", a->version);
	cJSON_AddStringToObject(o, "node_name", a->node_name);
	cJSON_AddStringToObject(o, "groups", a->groups ? a->groups : "");
	cJSON_AddItemToObject(o, "date_add", node_time_json((double)
	    a->date_add));
	cJSON_AddItemToObject(o, "last_keepalive", node_time_json((double)
	    a->last_keepalive));
	return o;
}

/* One agent in full: the table's fields, then the registry's (OS, sums,
 * group_config_status, labels). */
static cJSON *
agent_detail_json(const struct agent *a)
{
	cJSON	*o = agent_json(a), *d = registry_agent_detail(a->id), *c;

	if (d != NULL)
		while ((c = d->child) != NULL)
			cJSON_AddItemToObject(o, c->string,
			    cJSON_DetachItemViaPointer(d, c));
	cJSON_Delete(d);
	return o;
}

/* "agents": the registry, filtered by status and node (one or several). */
static cJSON *
list_agents(const cJSON *req)
{
	const cJSON	*st = cJSON_GetObjectItemCaseSensitive(req, "status");
	const cJSON	*nd = cJSON_GetObjectItemCaseSensitive(req, "node");
	struct agent	**v;
	cJSON		*arr;
	size_t		 n, i;

	if ((v = agents_sorted(&MR.t, &n)) == NULL)
		return control_error("out of memory");
	arr = cJSON_CreateArray();
	for (i = 0; i < n; i++) {
		if (!control_match(st, agent_status(v[i])) ||
		    !control_match(nd, v[i]->node_name))
			continue;
		cJSON_AddItemToArray(arr, agent_json(v[i]));
	}
	free(v);
	return control_ok(arr);
}

/* Whether the comma list has g as a whole entry. */
static int
has_group(const char *list, const char *g)
{
	size_t		 n = strlen(g);
	const char	*p;

	for (p = list; p != NULL && (p = strstr(p, g)) != NULL; p += n)
		if ((p == list || p[-1] == ',') && (p[n] == ',' ||
		    p[n] == '\0'))
			return 1;
	return 0;
}

static int
count_groups(const char *list)
{
	int	n = 0;

	if (list == NULL || *list == '\0')
		return 0;
	for (n = 1; *list != '\0'; list++)
		if (*list == ',')
			n++;
	return n;
}

static size_t
count_members(const char *g)
{
	struct agent	*a;
	size_t		 it = 0, n = 0;

	while ((a = strmap_next(&MR.t.by_id, &it)) != NULL)
		if (a->groups != NULL && has_group(a->groups, g))
			n++;
	return n;
}

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(cJSON_GetObjectItemCaseSensitive(*(cJSON *const *)a,
	    "name")->valuestring, cJSON_GetObjectItemCaseSensitive(
	    *(cJSON *const *)b, "name")->valuestring);
}

/* Rebuild arr's children in name order. */
static void
sort_by_name(cJSON *arr)
{
	cJSON	**v, *e;
	int	  n = cJSON_GetArraySize(arr), i = 0;

	if (n < 2 || (v = calloc((size_t)n, sizeof(*v))) == NULL)
		return;
	while ((e = arr->child) != NULL)
		v[i++] = cJSON_DetachItemViaPointer(arr, e);
	qsort(v, (size_t)n, sizeof(*v), cmp_name);
	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, v[i]);
	free(v);
}

static cJSON *
list_groups(void)
{
	char		 path[PATH_MAX];
	struct dirent	*de;
	cJSON		*arr = cJSON_CreateArray(), *o;
	DIR		*d;

	config_path(&MR.node->cfg, SHARED_REL, path, sizeof(path));
	if ((d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (!agents_valid_group(de->d_name) ||
			    !mreg_group_exists(de->d_name))
				continue;
			o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "name", de->d_name);
			cJSON_AddNumberToObject(o, "agents",
			    (double)count_members(de->d_name));
			cJSON_AddItemToArray(arr, o);
		}
		closedir(d);
	}
	sort_by_name(arr);
	return control_ok(arr);
}

/* Queue a change; its answer goes out once the registry has it. */
static struct change *
change_new(mreg_reply_cb cb, void *arg, cJSON *resp)
{
	struct change	*ch;

	if ((ch = calloc(1, sizeof(*ch))) == NULL)
		fatal("out of memory");
	ch->cb = cb;
	ch->arg = arg;
	ch->resp = resp;
	ch->delta = cJSON_CreateObject();
	cJSON_AddArrayToObject(ch->delta, "upsert");
	cJSON_AddArrayToObject(ch->delta, "remove");
	return ch;
}

static void
change_done(void *arg, int ok)
{
	struct change	*ch = arg;

	if (!ok) {
		cJSON_Delete(ch->resp);
		ch->resp = control_error("the registry could not store the "
		    "change");
	}
	mreg_broadcast(cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(ch->delta,
	    "upsert"), 1), cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(
	    ch->delta, "remove"), 1));
	mreg_keys_follow(NULL, cJSON_GetObjectItemCaseSensitive(ch->delta,
	    "remove"));
	ch->cb(ch->arg, ch->resp);
	cJSON_Delete(ch->delta);
	free(ch);
}

/* Change a's groups; with done, ch is answered once this is stored. */
static void
set_groups(struct agent *a, const char *groups, struct change *ch,
    registry_done done)
{
	agents_rehash(&MR.t, a, groups);
	mshared_kick();
	cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(ch->delta,
	    "upsert"), agent_record_json(a));
	registry_set_groups(a->id, a->groups, done, done != NULL ? ch : NULL);
}

static const char *
str(const cJSON *req, const char *k)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(req, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* "g1,g2" without g. */
static void
without(const char *list, const char *g, char *out, size_t outlen)
{
	char	copy[AGENT_GROUPS_MAX + 1], *t, *save = NULL;

	out[0] = '\0';
	snprintf(copy, sizeof(copy), "%s", list ? list : "");
	for (t = strtok_r(copy, ",", &save); t != NULL;
	    t = strtok_r(NULL, ",", &save)) {
		if (strcmp(t, g) == 0)
			continue;
		if (out[0] != '\0')
			strncat(out, ",", outlen - strlen(out) - 1);
		strncat(out, t, outlen - strlen(out) - 1);
	}
}

static int
group_create(const char *g, struct change *ch, char *err, size_t errlen)
{
	char	rel[PATH_MAX + 16], path[PATH_MAX];
	FILE	*fp;

	snprintf(rel, sizeof(rel), SHARED_REL "/%s", g);
	config_path(&MR.node->cfg, rel, path, sizeof(path));
	if (mreg_group_exists(g)) {
		snprintf(err, errlen, "group %s already exists", g);
		return -1;
	}
	if (mkdir(path, 0750) == -1) {
		snprintf(err, errlen, "cannot create %.200s: %s", path,
		    strerror(errno));
		return -1;
	}
	snprintf(rel, sizeof(rel), "%s/agent.conf", path);
	if ((fp = fopen(rel, "w")) != NULL) {
		fputs("<agent_config>\n\n</agent_config>\n", fp);
		fclose(fp);
	}
	registry_put_group(g, change_done, ch);
	mshared_kick();
	return 0;
}

static int
group_delete(const char *g, struct change *ch, char *err, size_t errlen)
{
	struct agent	*a;
	char		 rel[PATH_MAX], rest[AGENT_GROUPS_MAX + 1];
	size_t		 it = 0;

	if (!mreg_group_exists(g)) {
		snprintf(err, errlen, "group %s does not exist", g);
		return -1;
	}
	if (strcmp(g, "default") == 0) {
		snprintf(err, errlen, "the default group cannot be deleted");
		return -1;
	}
	snprintf(rel, sizeof(rel), SHARED_REL "/%s", g);
	if (safefs_remove_tree(MR.node->cfg.home, rel) == -1) {
		snprintf(err, errlen, "cannot remove %.200s: %s", rel,
		    strerror(errno));
		return -1;
	}
	while ((a = strmap_next(&MR.t.by_id, &it)) != NULL) {
		if (a->groups == NULL || !has_group(a->groups, g))
			continue;
		without(a->groups, g, rest, sizeof(rest));
		set_groups(a, rest, ch, NULL);
	}
	registry_del_group(g, change_done, ch);
	mshared_kick();
	return 0;
}

/*
 * Agent and group commands.  Returns 1 when the command is one of ours
 * (its answer comes through cb, maybe later), 0 otherwise.
 */
/* The commands that only read the registry, on a standby's copy. */
int
mreg_standby_command(const cJSON *req, mreg_reply_cb cb, void *arg)
{
	const char	*cmd = str(req, "command");

	if (!MR.standby || cmd == NULL || (strcmp(cmd, "agents") != 0 &&
	    strcmp(cmd, "agent") != 0 && strcmp(cmd, "groups") != 0))
		return 0;
	return mreg_command(req, cb, arg);
}

int
mreg_command(const cJSON *req, mreg_reply_cb cb, void *arg)
{
	const char	*cmd = str(req, "command"), *id = str(req, "agent");
	const char	*g = str(req, "group");
	struct agent	*a;
	struct change	*ch;
	char		 err[256], list[AGENT_GROUPS_MAX + 1];

	if (cmd == NULL)
		return 0;
	if (strcmp(cmd, "agents") == 0) {
		cb(arg, list_agents(req));
		return 1;
	}
	if (strcmp(cmd, "groups") == 0) {
		cb(arg, list_groups());
		return 1;
	}
	if (strcmp(cmd, "agent") == 0) {	/* one agent, by id */
		a = id != NULL ? agents_by_id(&MR.t, id) : NULL;
		cb(arg, a != NULL ? control_ok(agent_detail_json(a)) :
		    control_error("agent %s does not exist", id ? id :
		    "(none given)"));
		return 1;
	}
	if (strcmp(cmd, "agent_remove") != 0 &&
	    strcmp(cmd, "group_create") != 0 &&
	    strcmp(cmd, "group_delete") != 0 &&
	    strcmp(cmd, "group_assign") != 0 &&
	    strcmp(cmd, "group_unassign") != 0)
		return 0;
	a = id != NULL ? agents_by_id(&MR.t, id) : NULL;
	if (strncmp(cmd, "group_", 6) == 0 && (g == NULL ||
	    !agents_valid_group(g))) {
		cb(arg, control_error("invalid or missing group name"));
		return 1;
	}
	if ((strcmp(cmd, "agent_remove") == 0 ||
	    strcmp(cmd, "group_assign") == 0 ||
	    strcmp(cmd, "group_unassign") == 0) && a == NULL) {
		cb(arg, control_error("agent %s does not exist", id ? id :
		    "(none given)"));
		return 1;
	}
	ch = change_new(cb, arg, control_ok(NULL));
	if (strcmp(cmd, "agent_remove") == 0) {
		log_info(TASK, "Removing agent '%s' (id %s).", a->name, a->id);
		cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(ch->delta,
		    "remove"), cJSON_CreateString(a->id));
		registry_del_agent(a->id, change_done, ch);
		mreg_agent_gone(a);
		agent_free(agents_remove(&MR.t, a->id));
		return 1;
	}
	if (strcmp(cmd, "group_create") == 0) {
		if (group_create(g, ch, err, sizeof(err)) == -1)
			goto fail;
		log_info(TASK, "Group '%s' created.", g);
		return 1;
	}
	if (strcmp(cmd, "group_delete") == 0) {
		if (group_delete(g, ch, err, sizeof(err)) == -1)
			goto fail;
		log_info(TASK, "Group '%s' deleted.", g);
		return 1;
	}
	if (strcmp(cmd, "group_assign") == 0) {
		if (!mreg_group_exists(g)) {
			snprintf(err, sizeof(err), "group %s does not exist", g);
			goto fail;
		}
		if (a->groups != NULL && has_group(a->groups, g)) {
			snprintf(err, sizeof(err), "agent %s is already in "
			    "group %s", a->id, g);
			goto fail;
		}
		if (count_groups(a->groups) >= ENROLL_MAX_GROUPS ||
		    (a->groups != NULL ? strlen(a->groups) : 0) + strlen(g) +
		    1 > AGENT_GROUPS_MAX) {
			snprintf(err, sizeof(err), "agent %s is in too many "
			    "groups (at most %d)", a->id, ENROLL_MAX_GROUPS);
			goto fail;
		}
		snprintf(list, sizeof(list), "%s%s%s", a->groups ? a->groups :
		    "", a->groups ? "," : "", g);
	} else {
		if (a->groups == NULL || !has_group(a->groups, g)) {
			snprintf(err, sizeof(err), "agent %s is not in group %s",
			    a->id, g);
			goto fail;
		}
		without(a->groups, g, list, sizeof(list));
	}
	set_groups(a, list, ch, change_done);
	log_info(TASK, "Agent %s %s group '%s'.", a->id,
	    strcmp(cmd, "group_assign") == 0 ? "added to" : "removed from", g);
	return 1;
fail:
	cJSON_Delete(ch->resp);
	cJSON_Delete(ch->delta);
	free(ch);
	cb(arg, control_error("%s", err));
	return 1;
}

struct backup_req {
	mreg_reply_cb	 cb;
	void		*arg;
	char		 path[PATH_MAX];
};

static void
backup_done(void *arg, const char *error)
{
	struct backup_req	*b = arg;
	cJSON			*d;

	if (error != NULL) {
		log_warnx(TASK, "Registry backup to %s failed: %s.", b->path,
		    error);
		b->cb(b->arg, control_error("backup failed: %s", error));
	} else {
		log_info(TASK, "Registry backed up to %s.", b->path);
		d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "file", b->path);
		b->cb(b->arg, control_ok(d));
	}
	free(b);
}

/*
 * "backup" {"file": an absolute path that does not exist}: a consistent
 * copy of the registry as committed, made by the registry's thread after
 * the changes already queued; the answer comes once it is on disk.
 */
void
mreg_backup(const cJSON *req, mreg_reply_cb cb, void *arg)
{
	const cJSON		*f = cJSON_GetObjectItemCaseSensitive(req,
				    "file");
	struct backup_req	*b;

	if (!cJSON_IsString(f) || f->valuestring[0] != '/' ||
	    strlen(f->valuestring) >= sizeof(b->path)) {
		cb(arg, control_error("backup needs an absolute file path"));
		return;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		cb(arg, control_error("out of memory"));
		return;
	}
	b->cb = cb;
	b->arg = arg;
	snprintf(b->path, sizeof(b->path), "%s", f->valuestring);
	registry_backup(b->path, backup_done, b);
}
