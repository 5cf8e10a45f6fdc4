#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balancer/vrrpwatch.h"
#include "base/log.h"

#define TASK	"VRRP"

static struct {
	struct ev_loop		*loop;
	char			 pid_file[4096];
	ev_timer		 timer;
	vrrpwatch_cb		 cb;
	enum vrrpwatch_state	 state;
	long			 pid;
	char			 why[128];
	unsigned long		 losses;
} W;

/* Read the first line of a small file into buf; -1 if absent or empty. */
static int
read_line(const char *path, char *buf, size_t len)
{
	FILE	*f;
	int	 rv = -1;

	if ((f = fopen(path, "re")) == NULL)
		return -1;
	if (fgets(buf, (int)len, f) != NULL) {
		buf[strcspn(buf, "\n")] = '\0';
		rv = buf[0] != '\0' ? 0 : -1;
	}
	fclose(f);
	return rv;
}

/*
 * What the pid file says about keepalived.  A process must exist under
 * that pid, be called keepalived (a stale file may name a reused pid) and
 * not be stopped or a zombie: a SIGSTOPped keepalived sends no adverts,
 * so the other balancer has the VIP as surely as if it had died.
 * proc is "/proc" but for tests.
 */
enum vrrpwatch_state
vrrpwatch_probe(const char *pid_file, const char *proc, long *pid, char *why,
    size_t whylen)
{
	char	 line[512], path[64], *end, *p;

	*pid = 0;
	if (read_line(pid_file, line, sizeof(line)) == -1) {
		snprintf(why, whylen, "no pid in %s", pid_file);
		return VRRPWATCH_GONE;
	}
	errno = 0;
	*pid = strtol(line, &end, 10);
	if (errno != 0 || end == line || *end != '\0' || *pid <= 0) {
		snprintf(why, whylen, "bad pid file %s", pid_file);
		*pid = 0;
		return VRRPWATCH_GONE;
	}
	snprintf(path, sizeof(path), "%s/%ld/comm", proc, *pid);
	if (read_line(path, line, sizeof(line)) == -1 ||
	    strcmp(line, "keepalived") != 0) {
		snprintf(why, whylen, "process %ld is gone", *pid);
		return VRRPWATCH_GONE;
	}
	/* /proc/PID/stat: "pid (comm) S ...": the state follows the last ')'. */
	snprintf(path, sizeof(path), "%s/%ld/stat", proc, *pid);
	if (read_line(path, line, sizeof(line)) == -1 ||
	    (p = strrchr(line, ')')) == NULL || p[1] != ' ') {
		snprintf(why, whylen, "process %ld is gone", *pid);
		return VRRPWATCH_GONE;
	}
	switch (p[2]) {
	case 'T':
	case 't':
		snprintf(why, whylen, "process %ld is stopped", *pid);
		return VRRPWATCH_GONE;
	case 'Z':
	case 'X':
		snprintf(why, whylen, "process %ld has exited", *pid);
		return VRRPWATCH_GONE;
	default:
		snprintf(why, whylen, "process %ld is running", *pid);
		return VRRPWATCH_RUNNING;
	}
}

static void
tick(struct ev_loop *loop, ev_timer *t, int revents)
{
	enum vrrpwatch_state	 st;
	long			 pid;
	char			 why[128];

	(void)loop;
	(void)t;
	(void)revents;
	st = vrrpwatch_probe(W.pid_file, "/proc", &pid, why, sizeof(why));
	W.pid = pid;
	snprintf(W.why, sizeof(W.why), "%s", why);
	if (st == W.state)
		return;
	/* Unknown to gone at start: keepalived may simply start after us. */
	if (st == VRRPWATCH_GONE && W.state == VRRPWATCH_UNKNOWN)
		log_warnx(TASK, "keepalived is not running (%s): not serving "
		    "until it is.", why);
	if (st == VRRPWATCH_GONE)
		W.losses++;
	W.state = st;
	W.cb(st, pid, why);
}

/*
 * Poll the VRRP process every interval seconds: reading two small /proc
 * files costs microseconds, and polling also sees a stopped process,
 * which a pidfd's exit notification would not.
 */
int
vrrpwatch_start(struct ev_loop *loop, const char *pid_file, double interval,
    vrrpwatch_cb cb)
{
	if (strlen(pid_file) >= sizeof(W.pid_file))
		return -1;
	memset(&W, 0, sizeof(W));
	W.loop = loop;
	W.cb = cb;
	snprintf(W.pid_file, sizeof(W.pid_file), "%s", pid_file);
	ev_timer_init(&W.timer, tick, 0, interval);
	ev_timer_start(loop, &W.timer);
	log_info(TASK, "Watching keepalived through %s every %gs.", pid_file,
	    interval);
	return 0;
}

void
vrrpwatch_stop(void)
{
	if (W.loop != NULL)
		ev_timer_stop(W.loop, &W.timer);
	W.loop = NULL;
}

void
vrrpwatch_status(cJSON *o)
{
	static const char *const names[] = { "unknown", "running", "gone" };
	cJSON	*k;

	if (W.loop == NULL)
		return;
	k = cJSON_AddObjectToObject(o, "keepalived");
	cJSON_AddStringToObject(k, "state", names[W.state]);
	cJSON_AddStringToObject(k, "detail", W.why);
	cJSON_AddNumberToObject(k, "pid", (double)W.pid);
	cJSON_AddNumberToObject(k, "losses", (double)W.losses);
}
