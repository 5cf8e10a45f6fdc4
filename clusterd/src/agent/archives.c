#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "agent/agents.h"
#include "agent/archives.h"
#include "base/log.h"

#define TASK	"Archives"
#define ARCHIVES_MODE	0640	/* agents' events: owner and group only */

static struct {
	struct ev_loop	*loop;
	char		 path[4096];
	char		 node[64];
	FILE		*fp;
	ev_timer	 flush;
	unsigned long	 events;
} A;

static void
flush_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	if (A.fp != NULL)
		fflush(A.fp);
}

int
archives_open(struct ev_loop *loop, const char *home, const char *node)
{
	char	dir[4096];

	A.loop = loop;
	snprintf(A.node, sizeof(A.node), "%s", node);
	snprintf(dir, sizeof(dir), "%s/logs/archives", home);
	if (mkdir(dir, 0750) == -1 && errno != EEXIST) {
		log_err(TASK, "cannot create %s", dir);
		return -1;
	}
	snprintf(A.path, sizeof(A.path), "%s/" ARCHIVES_REL, home);
	if (archives_reopen() == -1)
		return -1;
	ev_timer_init(&A.flush, flush_cb, 1.0, 1.0);
	ev_timer_start(loop, &A.flush);
	return 0;
}

/*
 * Open (or, after logrotate, open again) the archive file for appending.
 * A new file is created 0640 whatever the process's umask: events carry
 * what agents log, which other local users must not read (fopen would
 * create it 0666 less the umask, 0644 under a common 022).
 */
int
archives_reopen(void)
{
	FILE	*fp;
	int	 fd;

	if ((fd = open(A.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    ARCHIVES_MODE)) == -1 || (fp = fdopen(fd, "a")) == NULL) {
		log_err(TASK, "cannot open %s", A.path);
		if (fd != -1)
			close(fd);
		return -1;
	}
	setvbuf(fp, NULL, _IOFBF, 256 * 1024);
	if (A.fp != NULL)
		fclose(A.fp);
	A.fp = fp;
	return 0;
}

void
archives_close(void)
{
	if (A.loop != NULL)
		ev_timer_stop(A.loop, &A.flush);
	if (A.fp != NULL)
		fclose(A.fp);
	A.fp = NULL;
}

/* JSON string escaping, straight into the stream. */
static void
put_json_string(FILE *fp, const char *s, size_t n)
{
	size_t	i;

	fputc('"', fp);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(fp, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", fp);
		else if (c == '\r')
			fputs("\\r", fp);
		else if (c == '\t')
			fputs("\\t", fp);
		else if (c < 0x20)
			fprintf(fp, "\\u%04x", c);
		else
			fputc(c, fp);
	}
	fputc('"', fp);
}

/*
 * The location of "<queue>:<location>:<log>": agents escape ':' as "|:"
 * and '|' as "||" in it, so it ends at the first ':' not escaped by '|'.
 * Unescapes into out; returns the length of the escaped form, or -1 when
 * there is no end.
 */
static ssize_t
location(const char *p, size_t n, char *out, size_t outcap, size_t *outlen)
{
	size_t	i, k = 0;

	for (i = 0; i < n; i++) {
		if (p[i] == '|' && i + 1 < n && (p[i + 1] == ':' ||
		    p[i + 1] == '|')) {
			i++;
		} else if (p[i] == ':') {
			*outlen = k;
			return (ssize_t)i;
		}
		if (k < outcap)
			out[k++] = p[i];
	}
	return -1;
}

/*
 * One event "<queue>:<location>:<log>" from an agent.  A message without
 * that shape is archived whole as full_log.
 */
void
archives_event(const struct agent *a, const char *msg, size_t len)
{
	static char	 loc[4096];
	const char	*log = msg;
	size_t		 loclen = 0, loglen = len;
	ssize_t		 end;
	struct timeval	 tv;
	struct tm	 tm;
	char		 ts[64];

	if (A.fp == NULL)
		return;
	if (len > 2 && msg[1] == ':' && (end = location(msg + 2, len - 2, loc,
	    sizeof(loc), &loclen)) != -1) {
		log = msg + 2 + end + 1;
		loglen = len - (size_t)(log - msg);
	}
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(A.fp, "{\"timestamp\":\"%s.%03ld+0000\",\"agent\":{\"id\":",
	    ts, (long)(tv.tv_usec / 1000));
	put_json_string(A.fp, a->id, strlen(a->id));
	fputs(",\"name\":", A.fp);
	put_json_string(A.fp, a->name, strlen(a->name));
	fputs(",\"ip\":", A.fp);
	put_json_string(A.fp, a->ip, strlen(a->ip));
	fputs("},\"manager\":{\"name\":", A.fp);
	put_json_string(A.fp, A.node, strlen(A.node));
	fputs("},\"location\":", A.fp);
	put_json_string(A.fp, loc, loclen);
	fputs(",\"full_log\":", A.fp);
	put_json_string(A.fp, log, loglen);
	fputs("}\n", A.fp);
	A.events++;
}

unsigned long
archives_count(void)
{
	return A.events;
}
