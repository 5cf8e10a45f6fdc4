#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/keysfile.h"
#include "base/buf.h"
#include "base/log.h"

#define TASK		"Agents"
#define RETRY		5.0	/* after a failed write (disk full) */

static void timer_cb(struct ev_loop *, ev_timer *, int);

void
keysfile_init(struct keysfile *k, struct ev_loop *loop, const char *path,
    const struct agents *t, double delay)
{
	memset(k, 0, sizeof(*k));
	k->loop = loop;
	k->t = t;
	k->delay = delay;
	snprintf(k->path, sizeof(k->path), "%s", path);
	ev_timer_init(&k->timer, timer_cb, delay, 0);
}

static void
arm(struct keysfile *k, double after)
{
	if (!ev_is_active(&k->timer)) {
		ev_timer_set(&k->timer, after, 0);
		ev_timer_start(k->loop, &k->timer);
	}
}

void
keysfile_changed(struct keysfile *k)
{
	k->rewrite = 1;
	k->nadded = 0;
	arm(k, k->delay);
}

void
keysfile_added(struct keysfile *k, const struct agent *a)
{
	void	*v;

	if (!k->rewrite) {
		if (k->nadded == k->cap) {
			if ((v = reallocarray(k->added, k->cap ? k->cap * 2 :
			    64, sizeof(*k->added))) == NULL) {
				keysfile_changed(k);
				return;
			}
			k->added = v;
			k->cap = k->cap ? k->cap * 2 : 64;
		}
		memcpy(k->added[k->nadded++], a->id, AGENT_ID_MAX);
	}
	arm(k, k->delay);
}

int
keysfile_same_line(const struct agent *a, const struct agent *b)
{
	return strcmp(a->id, b->id) == 0 && strcmp(a->name, b->name) == 0 &&
	    strcmp(a->ip, b->ip) == 0 && agent_same_key(a, b);
}

/*
 * A failure to write the file: logged once while it lasts (the disk may
 * stay full for a while), and once more when it is written again.
 */
static void
failed(struct keysfile *k, const char *what, const char *path)
{
	char	msg[sizeof(k->failure)];

	snprintf(msg, sizeof(msg), "%s %s: %s", what, path, strerror(errno));
	if (strcmp(msg, k->failure) != 0)
		log_errx(TASK, "%s; retrying every %.0f s.", msg, RETRY);
	snprintf(k->failure, sizeof(k->failure), "%s", msg);
}

/*
 * The whole file from the table, sorted by id: temp file, fsync, rename.
 * On a failure the temp file goes (it would hold space the disk lacks)
 * and the old file stays whole.
 */
static int
rewrite(struct keysfile *k)
{
	char		 tmp[PATH_MAX + 8];
	struct agent	**v;
	size_t		 n, i;
	FILE		*fp = NULL;
	int		 fd = -1, rv = -1;

	snprintf(tmp, sizeof(tmp), "%s.new", k->path);
	if ((v = agents_sorted(k->t, &n)) == NULL)
		goto fail;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)) ==
	    -1 || (fp = fdopen(fd, "w")) == NULL) {
		failed(k, "Cannot write", tmp);
		goto fail;
	}
	fd = -1;
	for (i = 0; i < n; i++)
		fprintf(fp, "%s %s %s %s\n", v[i]->id, v[i]->name, v[i]->ip,
		    AGENT_KEY_OF(v[i]));
	if (fflush(fp) != 0 || fsync(fileno(fp)) != 0) {
		failed(k, "Cannot write", tmp);
		goto fail;
	}
	if (fclose(fp) != 0) {
		fp = NULL;
		failed(k, "Cannot write", tmp);
		goto fail;
	}
	fp = NULL;
	if (rename(tmp, k->path) == -1) {
		failed(k, "Cannot replace", k->path);
		goto fail;
	}
	k->rewrites++;
	rv = 0;
fail:
	if (fp != NULL)
		fclose(fp);
	if (fd != -1)
		close(fd);
	if (rv == -1)
		unlink(tmp);
	free(v);
	return rv;
}

/* One line into b; -1 when memory runs out. */
static int
line_into(struct buf *b, const struct agent *a)
{
	char	line[AGENT_ID_MAX + AGENT_NAME_MAX + AGENT_IP_MAX +
		    AGENT_KEY_LEN + 8];
	int	n;

	n = snprintf(line, sizeof(line), "%s %s %s %s\n", a->id, a->name,
	    a->ip, AGENT_KEY_OF(a));
	return buf_append(b, line, (size_t)n);
}

/*
 * The new agents at the end of the file, in one write, then fsync.  A
 * failed append is cut back to the old length, so no half line stays; a
 * missing file is a whole rewrite.
 */
static int
append(struct keysfile *k)
{
	const struct agent	*a;
	struct stat		 sb;
	struct buf		 b;
	size_t			 i, off = 0;
	ssize_t			 w;
	int			 fd = -1, rv = -1;

	buf_init(&b);
	for (i = 0; i < k->nadded; i++)
		if ((a = agents_by_id(k->t, k->added[i])) != NULL &&
		    line_into(&b, a) == -1)
			goto done;
	if ((fd = open(k->path, O_WRONLY | O_APPEND | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			rv = rewrite(k);
		else
			failed(k, "Cannot write", k->path);
		goto done;
	}
	if (fstat(fd, &sb) == -1) {
		failed(k, "Cannot write", k->path);
		goto done;
	}
	while (off < buf_used(&b)) {
		if ((w = write(fd, buf_head(&b) + off, buf_used(&b) - off)) ==
		    -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)w;
	}
	if (off < buf_used(&b) || fsync(fd) != 0) {
		failed(k, "Cannot write", k->path);
		if (ftruncate(fd, sb.st_size) == -1)
			log_warn(TASK, "cannot cut %s back", k->path);
		goto done;
	}
	k->appends++;
	rv = 0;
done:
	if (fd != -1)
		close(fd);
	buf_free(&b);
	return rv;
}

int
keysfile_flush(struct keysfile *k)
{
	int	rv;

	if (k->rewrite)
		rv = rewrite(k);
	else if (k->nadded > 0)
		rv = append(k);
	else
		return 0;
	if (rv == 0) {
		if (k->failure[0] != '\0')
			log_info(TASK, "%s written again.", k->path);
		k->failure[0] = '\0';
		k->rewrite = 0;
		k->nadded = 0;
	} else
		/* After a failure the whole file is written, whatever the
		 * failed write left behind. */
		k->rewrite = 1;
	return rv;
}

static void
timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct keysfile	*k = (struct keysfile *)((char *)t -
			    offsetof(struct keysfile, timer));

	(void)loop;
	(void)revents;
	if (keysfile_flush(k) == -1)
		arm(k, RETRY);
}

void
keysfile_stop(struct keysfile *k)
{
	if (k->loop == NULL)
		return;
	if (ev_is_active(&k->timer)) {
		ev_timer_stop(k->loop, &k->timer);
		keysfile_flush(k);
	}
	free(k->added);
	k->added = NULL;
	k->nadded = k->cap = 0;
	k->loop = NULL;
}

/*
 * The highest agent id a client.keys file names (removed agents' lines
 * too: their ids are spent), 0 when it names none or cannot be read.
 * Read before the master rewrites the file from its registry, it tells
 * the ids a registry restored from an older backup has forgotten.
 */
long
keysfile_max_id(const char *path)
{
	FILE	*f;
	char	 line[4096], *end;
	long	 id, max = 0;
	int	 start = 1;	/* line holds the start of a line */

	if ((f = fopen(path, "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		id = start;
		start = strchr(line, '\n') != NULL;
		if (!id || line[0] < '0' || line[0] > '9')
			continue;
		errno = 0;
		id = strtol(line, &end, 10);
		if (errno == 0 && *end == ' ' && id > max && id < 100000000)
			max = id;
	}
	fclose(f);
	return max;
}
