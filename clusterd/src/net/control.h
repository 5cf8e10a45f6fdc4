/*
 * control: the local control socket (unix, owner-only) that cluster_control
 * talks to.  Protocol: the client sends one JSON object on one line, e.g.
 * {"command":"nodes"}; the daemon answers with one JSON object on one line,
 * {"api":1,"error":0,"data":...} or {"api":1,"error":1,"message":"..."},
 * and closes; "api" is the answer format's version (CONTROL_API), raised
 * when a member changes meaning or goes away, not when one is added.
 * A client may half-close its side after the request: the answer still
 * comes.
 * The role's handler may answer later (a worker forwards to the master).
 * Every role answers "stats" itself (control_stats()): the node's own
 * metrics, the text its metrics endpoint serves.
 */
#ifndef CLUSTERD_CONTROL_H
#define CLUSTERD_CONTROL_H

#include <cjson/cJSON.h>
#include <ev.h>

#define CONTROL_SOCKET_REL	"queue/cluster/c-socket"
#define CONTROL_REQUEST_MAX	(64 * 1024)
#define CONTROL_API		1

struct control_client;

typedef void (*control_handler)(struct control_client *, const cJSON *req,
    void *arg);

int	 control_init(struct ev_loop *, const char *path, control_handler,
	    void *arg);
void	 control_shutdown(void);
void	 control_reply(struct control_client *, cJSON *resp);
cJSON	*control_ok(cJSON *data);
cJSON	*control_stats(void);
int	 control_is_write(const char *cmd);
int	 control_match(const cJSON *filter, const char *value);
const char *control_client_who(const struct control_client *);
cJSON	*control_error(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

#endif
