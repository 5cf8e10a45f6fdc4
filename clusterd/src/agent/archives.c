#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <stdarg.h>
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
#include "base/buf.h"
#include "base/log.h"

#define TASK		"Archives"
#define ARCHIVES_MODE	0640	/* agents' events: owner and group only */
#define PROBE_NAME	".probe"
#define PROBE_BYTES	(64 * 1024)

static struct {
	struct ev_loop	*loop;
	char		 dir[4096];
	char		 path[4096];
	char		 node[64];
	int		 fd;		/* -1 when not open */
	struct buf	 q;		/* whole lines not written yet */
	size_t		 qlines;	/* lines in q */
	size_t		 partial;	/* bytes of q's first line written */
	off_t		 cut;		/* file size to cut back to, or -1 */
	ev_timer	 flush;
	ev_timer	 probe;
	unsigned long	 events;	/* queued */
	unsigned long	 unstored;
	unsigned long	 unstored_before;	/* when the failure began */
	char		 failure[256];	/* "" while the archives are written */
	double		 probe_every;	/* seconds, doubled on relapses */
	ev_tstamp	 recovered;	/* when the last failure ended */
	archives_health_cb health;
} A = { .fd = -1, .cut = -1 };

static void probe_cb(struct ev_loop *, ev_timer *, int);
static void fail(const char *, ...) __attribute__((format(printf, 1, 2)));

/*
 * The archives cannot be written: stop taking events, say so once, and
 * probe for the way back.  What was queued is counted as not stored.
 */
static void
fail(const char *fmt, ...)
{
	va_list	ap;

	if (A.failure[0] == '\0')
		A.unstored_before = A.unstored;
	A.unstored += A.qlines;
	buf_reset(&A.q);
	A.qlines = 0;
	A.partial = 0;
	if (A.failure[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(A.failure, sizeof(A.failure), fmt, ap);
	va_end(ap);
	/* Failing again soon after coming back (room for a moment only):
	 * probe less often, so that a flapping disk logs little. */
	if (A.loop != NULL && A.recovered > 0 && ev_now(A.loop) - A.recovered <
	    ARCHIVES_RELAPSE)
		A.probe_every = A.probe_every * 2 < ARCHIVES_RELAPSE ?
		    A.probe_every * 2 : ARCHIVES_RELAPSE;
	else
		A.probe_every = ARCHIVES_PROBE;
	log_errx(TASK, "Cannot store agents' events: %s. This node takes no "
	    "agents until it can; tried again every %g s.", A.failure,
	    A.probe_every);
	if (A.loop != NULL) {
		ev_timer_set(&A.probe, A.probe_every, A.probe_every);
		ev_timer_start(A.loop, &A.probe);
	}
	if (A.health != NULL)
		A.health(A.failure);
}

/*
 * A write failed after part of a line went out: cut the file back to its
 * last whole line, so that the next line written after recovery starts a
 * line of its own.  Left for the probe when it cannot be done now.
 */
static void
cut_partial(void)
{
	struct stat	st;

	if (A.partial == 0 || A.fd == -1 || fstat(A.fd, &st) == -1)
		return;
	A.cut = st.st_size - (off_t)A.partial;
	if (ftruncate(A.fd, A.cut) == 0)
		A.cut = -1;
}

/* Lines fully written in p[0..n): counted off the queue. */
static void
written(const uint8_t *p, size_t n)
{
	const uint8_t	*nl, *end = p + n;

	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		A.qlines--;
		A.partial = 0;
		p = nl + 1;
	}
	A.partial += (size_t)(end - p);
}

/* Write the queue; 0, or -1 when the archives fail. */
static int
flush_queue(void)
{
	ssize_t	n;

	while (A.fd != -1 && buf_used(&A.q) > 0) {
		n = write(A.fd, buf_head(&A.q), buf_used(&A.q));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;		/* kept, up to ARCHIVES_QUEUE_MAX */
		if (n == -1) {
			int e = errno;

			cut_partial();
			fail("cannot write " ARCHIVES_REL ": %s", strerror(e));
			return -1;
		}
		written(buf_head(&A.q), (size_t)n);
		buf_consume(&A.q, (size_t)n);
	}
	return 0;
}

static void
flush_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	if (A.failure[0] == '\0')
		flush_queue();
}

static int
open_file(void)
{
	return open(A.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    ARCHIVES_MODE);
}

/*
 * Can the archives be written again?  The file opens (the folder made
 * again if it went), a cut left over is done, there is room for more
 * than a burst, and a test write of PROBE_BYTES is durable.  Returns the
 * new descriptor, or -1 with the reason in why.
 */
static int
probe(char *why, size_t whylen)
{
	struct statvfs	 vfs;
	struct rlimit	 rl;
	struct stat	 st;
	char		 tmp[4200];
	uint8_t		*zero = NULL;
	int		 fd = -1, pfd = -1;

	if ((mkdir(A.dir, 0750) == -1 && errno != EEXIST) ||
	    (fd = open_file()) == -1) {
		snprintf(why, whylen, "cannot open " ARCHIVES_REL ": %s",
		    strerror(errno));
		goto fail;
	}
	if (A.cut >= 0 && A.fd != -1 && ftruncate(A.fd, A.cut) == -1) {
		snprintf(why, whylen, "cannot cut back a partial line: %s",
		    strerror(errno));
		goto fail;
	}
	A.cut = -1;
	if (statvfs(A.dir, &vfs) == 0 && (unsigned long long)vfs.f_bavail *
	    vfs.f_frsize < ARCHIVES_MIN_FREE) {
		snprintf(why, whylen, "%llu KiB free, less than %d",
		    (unsigned long long)vfs.f_bavail * vfs.f_frsize / 1024,
		    ARCHIVES_MIN_FREE / 1024);
		goto fail;
	}
	/* The one limit of this file alone: the process's file size. */
	if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    fstat(fd, &st) == 0 && (unsigned long long)st.st_size +
	    ARCHIVES_MIN_FREE > (unsigned long long)rl.rlim_cur) {
		snprintf(why, whylen, "the file size limit (%llu bytes) is "
		    "near", (unsigned long long)rl.rlim_cur);
		goto fail;
	}
	snprintf(tmp, sizeof(tmp), "%s/" PROBE_NAME, A.dir);
	if ((zero = calloc(1, PROBE_BYTES)) == NULL ||
	    (pfd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    ARCHIVES_MODE)) == -1 ||
	    write(pfd, zero, PROBE_BYTES) != PROBE_BYTES ||
	    fdatasync(pfd) == -1) {
		snprintf(why, whylen, "test write: %s", strerror(errno ? errno :
		    ENOSPC));
		goto fail;
	}
	close(pfd);
	unlink(tmp);
	free(zero);
	return fd;
fail:
	if (pfd != -1) {
		close(pfd);
		unlink(tmp);
	}
	free(zero);
	if (fd != -1)
		close(fd);
	return -1;
}

static void
probe_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	char	why[256];
	int	fd;

	(void)revents;
	if ((fd = probe(why, sizeof(why))) == -1) {
		log_debug(TASK, "Still cannot store agents' events: %s.", why);
		return;
	}
	ev_timer_stop(loop, t);
	if (A.fd != -1)
		close(A.fd);
	A.fd = fd;
	A.failure[0] = '\0';
	A.recovered = ev_now(loop);
	log_info(TASK, "Agents' events are stored again (%lu not stored "
	    "meanwhile). This node takes agents again.",
	    A.unstored - A.unstored_before);
	if (A.health != NULL)
		A.health(NULL);
}

int
archives_open(struct ev_loop *loop, const char *home, const char *node)
{
	A.loop = loop;
	A.failure[0] = '\0';
	A.recovered = 0;
	A.probe_every = ARCHIVES_PROBE;
	A.cut = -1;
	buf_init(&A.q);
	A.qlines = A.partial = 0;
	snprintf(A.node, sizeof(A.node), "%s", node);
	snprintf(A.dir, sizeof(A.dir), "%s/logs/archives", home);
	if (mkdir(A.dir, 0750) == -1 && errno != EEXIST) {
		log_err(TASK, "cannot create %s", A.dir);
		return -1;
	}
	snprintf(A.path, sizeof(A.path), "%s/" ARCHIVES_REL, home);
	if ((A.fd = open_file()) == -1) {
		log_err(TASK, "cannot open %s", A.path);
		return -1;
	}
	ev_timer_init(&A.flush, flush_cb, 1.0, 1.0);
	ev_timer_start(loop, &A.flush);
	ev_init(&A.probe, probe_cb);
	return 0;
}

void
archives_on_health(archives_health_cb cb)
{
	A.health = cb;
}

/*
 * Open the archive file again for appending, after logrotate moved it:
 * what is queued goes to the old file first.  A new file is created 0640
 * whatever the process's umask: events carry what agents log, which
 * other local users must not read.  A failure to open puts the archives
 * in failure (the probe opens it when it can).
 */
int
archives_reopen(void)
{
	int	fd;

	if (A.fd == -1 || A.failure[0] != '\0')
		return 0;	/* closed, or the probe opens it */
	if (flush_queue() == -1)
		return -1;
	if ((fd = open_file()) == -1) {
		fail("cannot reopen " ARCHIVES_REL ": %s", strerror(errno));
		return -1;
	}
	close(A.fd);
	A.fd = fd;
	return 0;
}

/* What is queued is written first: a failure then starts no probe left
 * running after close. */
void
archives_close(void)
{
	if (A.failure[0] == '\0')
		flush_queue();
	if (A.loop != NULL) {
		ev_timer_stop(A.loop, &A.flush);
		ev_timer_stop(A.loop, &A.probe);
	}
	if (A.fd != -1)
		close(A.fd);
	A.fd = -1;
	buf_free(&A.q);
	A.qlines = 0;
}

/* JSON string escaping into p (room for 6 bytes a byte, and quotes). */
static uint8_t *
put_json_string(uint8_t *p, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t	i;

	*p++ = '"';
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = c;
		} else if (c == '\n') {
			*p++ = '\\';
			*p++ = 'n';
		} else if (c == '\r') {
			*p++ = '\\';
			*p++ = 'r';
		} else if (c == '\t') {
			*p++ = '\\';
			*p++ = 't';
		} else if (c < 0x20) {
			memcpy(p, "\\u00", 4);
			p[4] = (uint8_t)hex[c >> 4];
			p[5] = (uint8_t)hex[c & 15];
			p += 6;
		} else
			*p++ = c;
	}
	*p++ = '"';
	return p;
}

static uint8_t *
put(uint8_t *p, const char *s)
{
	size_t	n = strlen(s);

	memcpy(p, s, n);
	return p + n;
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
 * One event "<queue>:<location>:<log>" from an agent, queued as a line.
 * A message without that shape is archived whole as full_log.  While the
 * archives fail, it is counted as not stored.
 */
void
archives_event(const struct agent *a, const char *msg, size_t len)
{
	static char	 loc[4096];
	const char	*log = msg;
	size_t		 loclen = 0, loglen = len, room;
	ssize_t		 end;
	struct timeval	 tv;
	struct tm	 tm;
	char		 ts[64], head[128];
	uint8_t		*p;

	if (A.fd == -1 || A.failure[0] != '\0') {
		A.unstored++;
		return;
	}
	if (len > 2 && msg[1] == ':' && (end = location(msg + 2, len - 2, loc,
	    sizeof(loc), &loclen)) != -1) {
		log = msg + 2 + end + 1;
		loglen = len - (size_t)(log - msg);
	}
	room = 6 * (strlen(a->id) + strlen(a->name) + strlen(a->ip) +
	    strlen(A.node) + loclen + loglen) + 256;
	if (buf_reserve(&A.q, room) == -1) {
		A.unstored++;
		return;
	}
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(head, sizeof(head), "{\"timestamp\":\"%s.%03ld+0000\","
	    "\"agent\":{\"id\":", ts, (long)(tv.tv_usec / 1000));
	p = put(buf_tail(&A.q), head);
	p = put_json_string(p, a->id, strlen(a->id));
	p = put(p, ",\"name\":");
	p = put_json_string(p, a->name, strlen(a->name));
	p = put(p, ",\"ip\":");
	p = put_json_string(p, a->ip, strlen(a->ip));
	p = put(p, "},\"manager\":{\"name\":");
	p = put_json_string(p, A.node, strlen(A.node));
	p = put(p, "},\"location\":");
	p = put_json_string(p, loc, loclen);
	p = put(p, ",\"full_log\":");
	p = put_json_string(p, log, loglen);
	p = put(p, "}\n");
	buf_commit(&A.q, (size_t)(p - buf_tail(&A.q)));
	A.qlines++;
	A.events++;
	if (buf_used(&A.q) >= ARCHIVES_FLUSH_AT)
		flush_queue();
	if (A.failure[0] == '\0' && buf_used(&A.q) > ARCHIVES_QUEUE_MAX)
		fail("%d MiB of events queued that the file does not take",
		    ARCHIVES_QUEUE_MAX / (1024 * 1024));
}

unsigned long
archives_count(void)
{
	return A.events;
}

unsigned long
archives_unstored(void)
{
	return A.unstored;
}

const char *
archives_failure(void)
{
	return A.failure[0] != '\0' ? A.failure : NULL;
}
