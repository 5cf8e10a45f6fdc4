/*
 * mstandby: a standby master follows the active master's files.  See
 * mstandby.h and docs/ha.md.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "base/clusterkey.h"
#include "base/log.h"
#include "base/node.h"
#include "base/nodelist.h"
#include "master/ha.h"
#include "master/mstandby.h"
#include "net/control.h"
#include "net/hello.h"
#include "net/tls.h"
#include "sync/wsync.h"
#include "uplink/uplink.h"

#define TASK	"HA"

static struct {
	struct node	*node;
	SSL_CTX		*ctx;		/* the client side of its link */
	int		 running;
} S;

/*
 * The standby's client context.  Without a nodes_file it offers the
 * cluster key under its name, as a worker does.  With one, the active
 * master admits it only as the node the list names, role master, with that
 * node's credential: the standby holds the cluster key (it may become
 * master) and derives its own credential from it and its generation.
 */
static SSL_CTX *
client_ctx(const struct config *c)
{
	const struct nodelist_entry	*e;
	struct nodelist			 l = { NULL, 0 };
	char				 cred[CLUSTERKEY_LEN + 1], err[256];
	SSL_CTX				*ctx = NULL;

	if (c->nodes_file[0] == '\0') {
		if ((ctx = tls_ctx_new(0, c->key, NULL, c->node_name)) == NULL)
			log_errx(TASK, "Cannot set up TLS to follow the active "
			    "master: %s.", tls_error_string());
		return ctx;
	}
	if (nodelist_load(c->nodes_file, &l, err, sizeof(err)) == -1) {
		log_errx(TASK, "nodes_file %s: %s.", c->nodes_file, err);
		goto done;
	}
	e = nodelist_find(&l, c->node_name);
	if (e == NULL || e->revoked || e->type != NODE_MASTER) {
		log_errx(TASK, "%s is not listed as \"%s master\" in nodes_file "
		    "%s: the active master would refuse it.", c->node_name,
		    c->node_name, c->nodes_file);
		goto done;
	}
	if (clusterkey_node_credential(c->key, e->name, e->generation,
	    cred) == -1) {
		log_errx(TASK, "Cannot derive the credential of %s.", e->name);
		goto done;
	}
	if ((ctx = tls_ctx_new(0, cred, NULL, c->node_name)) == NULL)
		log_errx(TASK, "Cannot set up TLS to follow the active master: "
		    "%s.", tls_error_string());
done:
	OPENSSL_cleanse(cred, sizeof(cred));
	nodelist_free(&l);
	return ctx;
}

static SSL_CTX *
standby_tls(void)
{
	return S.ctx;
}

static void
standby_reconfigure(void)
{
	SSL_CTX	*ctx;

	wsync_reconfigure();
	/* New connections take a new cluster key (or nodes_file entry);
	 * the link up keeps the context it was made with. */
	if ((ctx = client_ctx(&S.node->cfg)) != NULL) {
		tls_ctx_free(S.ctx);
		S.ctx = ctx;
	}
}

/* What runs over a standby's uplink: the files, nothing else. */
static const struct uplink_role standby_role = {
	.name = "standby",
	.start = wsync_start,
	.stop = wsync_stop,
	.reconfigure = standby_reconfigure,
	.up = wsync_link_up,
	.down = wsync_link_down,
	.frame = wsync_on_frame,
	.status = wsync_status,
	.hello = hello_build_standby,
	.tls = standby_tls,
};

void
mstandby_start(struct node *n)
{
	memset(&S, 0, sizeof(S));
	S.node = n;
	if (n->cfg.master_address[0] == '\0') {
		log_info(TASK, "No master_address: this standby does not "
		    "follow the active master's files (rules, decoders, lists, "
		    "groups); deploy them on every master-eligible node.");
		return;
	}
	if ((S.ctx = client_ctx(&n->cfg)) == NULL)
		return;
	if (uplink_start(n, &standby_role) == -1) {
		log_errx(TASK, "Cannot follow the active master's files.");
		uplink_stop();
		tls_ctx_free(S.ctx);
		S.ctx = NULL;
		return;
	}
	S.running = 1;
	log_info(TASK, "Following the active master's files through %s.",
	    n->cfg.master_address);
}

void
mstandby_stop(void)
{
	if (!S.running)
		return;
	S.running = 0;
	uplink_stop();
	tls_ctx_free(S.ctx);
	S.ctx = NULL;
	log_info(TASK, "No longer following the active master's files.");
}

void
mstandby_reconfigure(void)
{
	if (S.running)
		uplink_reconfigure();
}

void
mstandby_control(struct control_client *cl, const cJSON *req, void *arg)
{
	const char	*cmd = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(req, "command"));

	if (S.running && !ha_serving() && cmd != NULL &&
	    strcmp(cmd, "status") == 0)
		uplink_control(cl, req, arg);
	else
		ha_control(cl, req, arg);
}
