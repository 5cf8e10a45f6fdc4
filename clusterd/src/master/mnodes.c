/*
 * mnodes: the master's expected nodes.  See mnodes.h and docs/security.md.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <ev.h>
#include <openssl/crypto.h>

#include "base/clusterkey.h"
#include "base/log.h"
#include "base/node.h"
#include "base/nodelist.h"
#include "master/mnodes.h"
#include "net/tls.h"

#define TASK		"Nodes"
#define RECHECK_S	5.0	/* how soon an edit of the file applies */

static struct {
	struct node	*node;
	struct nodelist	 list;
	int		 active;	/* a nodes_file is in force */
	struct stat	 st;		/* of the list in force */
	int		 failing;	/* the last read failed (logged) */
	ev_timer	 recheck;
	void		(*changed)(void);
} MN;

/*
 * Read the file again if it changed.  A file that no longer parses keeps
 * the list in force (logged once): an editing mistake must not open the
 * cluster or lock every node out.  Returns 1 if the list changed.
 */
static int
refresh(void)
{
	struct nodelist	 l;
	struct stat	 st;
	char		 err[256];
	const char	*path = MN.node->cfg.nodes_file;

	if (stat(path, &st) == -1) {
		if (!MN.failing)
			log_warn(TASK, "nodes_file %s: keeping the list read "
			    "before", path);
		MN.failing = 1;
		return 0;
	}
	if (st.st_ino == MN.st.st_ino && st.st_dev == MN.st.st_dev &&
	    st.st_size == MN.st.st_size &&
	    st.st_mtim.tv_sec == MN.st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == MN.st.st_mtim.tv_nsec)
		return 0;
	if (nodelist_load(path, &l, err, sizeof(err)) == -1) {
		if (!MN.failing)
			log_warnx(TASK, "nodes_file %s: %s; keeping the list "
			    "read before.", path, err);
		MN.failing = 1;
		return 0;
	}
	nodelist_free(&MN.list);
	MN.list = l;
	MN.st = st;
	MN.failing = 0;
	log_info(TASK, "%zu nodes expected (%s).", l.n, path);
	return 1;
}

/* TLS asks for a node's credential during its handshake. */
static int
node_key(const char *name, char *cred, void *arg)
{
	const struct nodelist_entry	*e;

	(void)arg;
	refresh();
	if ((e = nodelist_find(&MN.list, name)) == NULL || e->revoked)
		return -1;
	return clusterkey_node_credential(MN.node->cfg.key, e->name,
	    e->generation, cred);
}

static void
recheck_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	if (refresh() && MN.changed != NULL)
		MN.changed();
}

/* Without a nodes_file, nothing here: every node uses the cluster key. */
int
mnodes_start(struct node *n, void (*changed)(void))
{
	char	err[256];

	memset(&MN, 0, sizeof(MN));
	MN.node = n;
	MN.changed = changed;
	if (n->cfg.nodes_file[0] == '\0')
		return 0;
	snprintf(err, sizeof(err), "%s", strerror(errno));
	if (stat(n->cfg.nodes_file, &MN.st) == -1 ||
	    nodelist_load(n->cfg.nodes_file, &MN.list, err, sizeof(err)) ==
	    -1) {
		log_warnx(TASK, "nodes_file %s cannot be read: %s",
		    n->cfg.nodes_file, err);
		return -1;
	}
	MN.active = 1;
	tls_ctx_set_node_keys(n->ctx, node_key, NULL);
	ev_timer_init(&MN.recheck, recheck_cb, RECHECK_S, RECHECK_S);
	ev_timer_start(n->loop, &MN.recheck);
	log_info(TASK, "%zu nodes expected (%s); each joins with its own "
	    "credential.", MN.list.n, n->cfg.nodes_file);
	return 0;
}

void
mnodes_stop(void)
{
	if (MN.node == NULL)
		return;
	if (MN.active) {
		ev_timer_stop(MN.node->loop, &MN.recheck);
		tls_ctx_set_node_keys(MN.node->ctx, NULL, NULL);
	}
	nodelist_free(&MN.list);
	MN.active = 0;
}

/* The role a listed node joins as, as its hello names it. */
static const char *
listed_type(const struct nodelist_entry *e)
{
	return e->type == NODE_BALANCER ? "balancer" : e->type == NODE_MASTER ?
	    "master" : "worker";
}

/*
 * A hello against the link's identity: the name must be the one the
 * node's TLS identity gave (its credential is bound to it), and with a
 * nodes_file the role must be the listed one.  0, or -1 with a reason.
 */
int
mnodes_check(const char *tls_name, const char *name, const char *node_type,
    unsigned *generation, char *reason, size_t reasonlen)
{
	const struct nodelist_entry	*e;
	const char			*listed;

	*generation = 0;
	if (tls_name != NULL && strcmp(tls_name, name) != 0) {
		snprintf(reason, reasonlen, "the hello names \"%s\", the "
		    "link's credential is \"%s\"'s", name, tls_name);
		return -1;
	}
	if (!MN.active)
		return 0;
	if (tls_name == NULL || (e = nodelist_find(&MN.list, name)) == NULL ||
	    e->revoked) {
		snprintf(reason, reasonlen, "node \"%s\" is not in the "
		    "master's nodes_file", name);
		return -1;
	}
	listed = listed_type(e);
	if (strcmp(listed, node_type) != 0) {
		snprintf(reason, reasonlen, "node \"%s\" is listed as a %s, "
		    "not a %s", name, listed, node_type);
		return -1;
	}
	*generation = e->generation;
	return 0;
}

/* Whether an admitted node is still as listed (after a change). */
int
mnodes_admits(const char *name, const char *node_type, unsigned generation)
{
	const struct nodelist_entry	*e;

	if (!MN.active)
		return 1;
	e = nodelist_find(&MN.list, name);
	return e != NULL && !e->revoked && e->generation == generation &&
	    strcmp(listed_type(e), node_type) == 0;
}

/* Why a named node's handshake failed, for the refusal's log line. */
void
mnodes_explain(const char *tls_name, char *out, size_t outlen)
{
	const struct nodelist_entry	*e;

	if (!MN.active)
		snprintf(out, outlen, "wrong cluster key?");
	else if (tls_name == NULL)
		snprintf(out, outlen, "no node name offered: a node of an "
		    "older version, or the cluster key used without a name");
	else if ((e = nodelist_find(&MN.list, tls_name)) == NULL)
		snprintf(out, outlen, "node \"%s\" is not in nodes_file",
		    tls_name);
	else if (e->revoked)
		snprintf(out, outlen, "node \"%s\" is revoked", tls_name);
	else
		snprintf(out, outlen, "wrong credential for node \"%s\" "
		    "(generation %u expected: an old or stolen one?)",
		    tls_name, e->generation);
}
