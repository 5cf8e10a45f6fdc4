#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/metrics.h"
#include "base/reap.h"
#include "net/conn.h"
#include "net/control.h"
#include "net/listener.h"

struct control_client {
	struct conn	*conn;		/* NULL once closed */
	int		 pending;	/* handler called, no reply yet */
	char		 who[96];	/* "user root (uid 0, pid 42)" */
};

/* Commands that change the cluster: their origin is logged. */
static const char *const writes[] = {
	"agent_remove", "group_create", "group_delete", "group_assign",
	"group_unassign", "pool_set", "pool_forget", "lb_state", "drain",
	"ha_step_down", "ha_promote",
};

int
control_is_write(const char *cmd)
{
	size_t	i;

	for (i = 0; i < sizeof(writes) / sizeof(writes[0]); i++)
		if (strcmp(cmd, writes[i]) == 0)
			return 1;
	return 0;
}

const char *
control_client_who(const struct control_client *cl)
{
	return cl->who;
}

/*
 * Who is at the other end of a control connection, from the kernel
 * (SO_PEERCRED): the user and process, for the log of a change.
 */
static void
peer_who(int fd, char *out, size_t outlen)
{
	struct ucred	 uc;
	socklen_t	 len = sizeof(uc);
	struct passwd	 pw, *res = NULL;
	char		 buf[1024];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == -1) {
		snprintf(out, outlen, "an unknown local user");
		return;
	}
	if (getpwuid_r(uc.uid, &pw, buf, sizeof(buf), &res) != 0 ||
	    res == NULL)
		snprintf(out, outlen, "uid %u (pid %ld)", (unsigned)uc.uid,
		    (long)uc.pid);
	else
		snprintf(out, outlen, "user %.32s (uid %u, pid %ld)",
		    pw.pw_name, (unsigned)uc.uid, (long)uc.pid);
}

static struct {
	struct ev_loop	*loop;
	int		 fd;
	struct listener	 listener;
	char		 path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	control_handler	 handler;
	void		*arg;
} ctl = { .fd = -1 };

static void client_data(struct conn *);
static void client_close(struct conn *, const char *);

static const struct conn_ops client_ops = {
	NULL, client_data, NULL, client_close
};

cJSON *
control_ok(cJSON *data)
{
	cJSON	*j = cJSON_CreateObject();

	cJSON_AddNumberToObject(j, "api", CONTROL_API);
	cJSON_AddNumberToObject(j, "error", 0);
	cJSON_AddItemToObject(j, "data", data != NULL ? data :
	    cJSON_CreateObject());
	return j;
}

/*
 * The answer to "stats": {"text": ...}, the node's metrics in the very
 * text the metrics endpoint serves, so the two never differ.
 */
cJSON *
control_stats(void)
{
	cJSON	*d;
	char	*text;
	size_t	 len;

	if ((text = metrics_scrape(&len)) == NULL)
		return control_error("out of memory rendering the metrics");
	d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "text", text);
	free(text);
	return control_ok(d);
}

cJSON *
control_error(const char *fmt, ...)
{
	cJSON	*j = cJSON_CreateObject();
	char	 msg[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON_AddNumberToObject(j, "api", CONTROL_API);
	cJSON_AddNumberToObject(j, "error", 1);
	cJSON_AddStringToObject(j, "message", msg);
	return j;
}

/*
 * A request's filter: absent (matches all), one string, or an array of
 * strings (matches any of them).
 */
int
control_match(const cJSON *filter, const char *value)
{
	const cJSON	*v;

	if (filter == NULL || cJSON_IsNull(filter))
		return 1;
	if (cJSON_IsString(filter))
		return strcmp(filter->valuestring, value) == 0;
	cJSON_ArrayForEach(v, filter)
		if (cJSON_IsString(v) && strcmp(v->valuestring, value) == 0)
			return 1;
	return 0;
}

static void
client_free(void *p)
{
	free(p);
}

/* Send the answer (taking ownership of resp) and close after it is out. */
void
control_reply(struct control_client *cl, cJSON *resp)
{
	char	*s = NULL;

	cl->pending = 0;
	if (cl->conn == NULL) {		/* the client went away meanwhile */
		reap_later(client_free, cl);
		goto done;
	}
	if (resp == NULL || (s = cJSON_PrintUnformatted(resp)) == NULL) {
		conn_close(cl->conn, "out of memory");
		goto done;
	}
	if (conn_write(cl->conn, s, strlen(s)) == 0 &&
	    conn_write(cl->conn, "\n", 1) == 0)
		conn_close_after_flush(cl->conn);
done:
	cJSON_free(s);
	cJSON_Delete(resp);
}

static void
client_data(struct conn *c)
{
	struct control_client	*cl = c->arg;
	uint8_t			*nl;
	cJSON			*req;

	if (cl->pending || c->state != CONN_OPEN)
		return;
	nl = memchr(buf_head(&c->in), '\n', buf_used(&c->in));
	if (nl == NULL && c->eof && buf_used(&c->in) == 0) {
		conn_close(c, "client left without a request");
		return;
	}
	if (nl == NULL && c->eof)	/* the request's end is its EOF */
		nl = buf_head(&c->in) + buf_used(&c->in);
	else if (nl == NULL) {
		if (buf_used(&c->in) >= CONTROL_REQUEST_MAX)
			control_reply(cl, control_error("request too long"));
		return;
	}
	req = cJSON_ParseWithLength((const char *)buf_head(&c->in),
	    (size_t)(nl - buf_head(&c->in)));
	buf_reset(&c->in);
	if (req == NULL || !cJSON_IsObject(req) ||
	    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(req,
	    "command"))) {
		cJSON_Delete(req);
		control_reply(cl, control_error("request must be a JSON object "
		    "with a \"command\" string"));
		return;
	}
	cl->pending = 1;
	if (control_is_write(cJSON_GetObjectItemCaseSensitive(req,
	    "command")->valuestring))
		log_info("Control", "Command %s from %s.",
		    cJSON_GetObjectItemCaseSensitive(req, "command")->valuestring,
		    cl->who);
	ctl.handler(cl, req, ctl.arg);
	cJSON_Delete(req);
}

static void
client_close(struct conn *c, const char *reason)
{
	struct control_client	*cl = c->arg;

	(void)reason;
	cl->conn = NULL;
	if (!cl->pending)
		reap_later(client_free, cl);
}

static void
accept_cb(struct listener *l, int fd, const char *addr, void *arg)
{
	struct control_client	*cl;

	(void)addr;
	(void)arg;
	if ((cl = calloc(1, sizeof(*cl))) == NULL ||
	    (cl->conn = conn_new(l->loop, fd, NULL, 1, 0, &client_ops,
	    cl)) == NULL) {
		log_warnx("Control", "out of memory for a control client");
		free(cl);
		close(fd);
		return;
	}
	cl->conn->in_limit = CONTROL_REQUEST_MAX;
	cl->conn->half_close = 1;	/* socat, printf | nc: answer anyway */
	peer_who(fd, cl->who, sizeof(cl->who));
}

/*
 * Listen on path, mode 0600 (the directory is made 0700): only the owner,
 * normally the daemon's user or root, may control the node.
 */
int
control_init(struct ev_loop *loop, const char *path, control_handler handler,
    void *arg)
{
	struct sockaddr_un	 sun;
	mode_t			 old;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_errx("Control", "control socket path too long: %s", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	strcpy(ctl.path, path);
	ctl.loop = loop;
	ctl.handler = handler;
	ctl.arg = arg;
	if ((ctl.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		log_err("Control", "socket");
		return -1;
	}
	unlink(path);
	old = umask(0077);
	if (bind(ctl.fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		log_err("Control", "bind %s", path);
		goto fail;
	}
	umask(old);
	if (chmod(path, 0600) == -1 || listen(ctl.fd, 32) == -1) {
		log_err("Control", "listen %s", path);
		goto fail;
	}
	listener_start(&ctl.listener, loop, ctl.fd, "Control",
	    "control clients", accept_cb, NULL);
	return 0;
fail:
	close(ctl.fd);
	ctl.fd = -1;
	return -1;
}

void
control_shutdown(void)
{
	if (ctl.fd == -1)
		return;
	listener_close(&ctl.listener);
	unlink(ctl.path);
	ctl.fd = -1;
}
