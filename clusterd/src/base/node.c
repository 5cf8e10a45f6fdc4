#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/metrics.h"
#include "base/node.h"
#include "base/version.h"

static const struct metrics_def M_INFO = {
	"clusterd_info", METRICS_GAUGE,
	"Always 1; the labels say which node this is."
};
static const struct metrics_def M_START = {
	"clusterd_start_time_seconds", METRICS_GAUGE,
	"When the daemon started, in seconds since the epoch."
};

/* Seconds since the epoch, with fractions: for times shown to operators. */
double
node_wall_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * A wall-clock time for the control answers: ISO 8601 in the node's local
 * time with its offset, "2026-12-06T10:51:41+01:00", so a script reads it
 * without knowing the node's zone; null for never.
 */
cJSON *
node_time_json(double t)
{
	char		 s[40];
	struct tm	 tm;
	time_t		 tt = (time_t)t;
	long		 off;

	if (t <= 0)
		return cJSON_CreateNull();
	localtime_r(&tt, &tm);
	off = tm.tm_gmtoff / 60;
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(s + strlen(s), sizeof(s) - strlen(s), "%c%02ld:%02ld",
	    off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
	return cJSON_CreateString(s);
}

/* A duration for the control answers: seconds, rounded to milliseconds. */
double
node_seconds(double d)
{
	return round(d * 1000) / 1000;
}

/*
 * Create the home's directories (etc, logs, queue/cluster, var/run) if
 * missing.  queue/cluster holds the control socket and is owner-only.
 */
int
node_make_home(const struct config *c)
{
	static const struct { const char *rel; mode_t mode; } dirs[] = {
		{ "", 0750 }, { "etc", 0750 }, { "logs", 0750 },
		{ "queue", 0750 }, { "queue/cluster", 0700 },
		{ "var", 0750 }, { "var/run", 0750 },
	};
	char	path[PATH_MAX];
	size_t	i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (config_path(c, dirs[i].rel, path, sizeof(path)) == -1) {
			log_errx("Main", "home path too long: %s", c->home);
			return -1;
		}
		if (mkdir(path, dirs[i].mode) == -1 && errno != EEXIST) {
			log_err("Main", "cannot create %s", path);
			return -1;
		}
	}
	return 0;
}

/*
 * Replace path with data: a temp file beside it, fsync, rename, so a
 * crash leaves the old file or the new one, never half of one.
 * Returns 0, or -1 with errno set.
 */
int
node_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	char	tmp[PATH_MAX];
	int	fd, ok, saved;

	if (snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)) ==
	    -1)
		return -1;
	ok = write(fd, data, len) == (ssize_t)len && fsync(fd) == 0;
	saved = errno;
	if (close(fd) == -1 && ok) {
		ok = 0;
		saved = errno;
	}
	if (ok && rename(tmp, path) == 0)
		return 0;
	unlink(tmp);
	errno = saved;
	return -1;
}

/*
 * Read a whole file of at most max bytes, NUL-terminated; -1 with errno
 * set (EFBIG when larger).
 */
int
node_read_file(const char *path, size_t max, char **data, size_t *len)
{
	FILE	*fp;
	char	*buf;
	size_t	 n;

	*data = NULL;
	if ((fp = fopen(path, "re")) == NULL)
		return -1;
	if ((buf = malloc(max + 1)) == NULL) {
		fclose(fp);
		return -1;
	}
	n = fread(buf, 1, max + 1, fp);
	if (ferror(fp) || n > max) {
		n = ferror(fp) ? EIO : EFBIG;
		free(buf);
		fclose(fp);
		errno = (int)n;
		return -1;
	}
	fclose(fp);
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return 0;
}

/* A collector (metrics.h) of what every node has: who it is, since when. */
void
node_metrics(struct metrics *m, void *arg)
{
	const struct node	*n = arg;

	metrics_put(m, &M_INFO, 1, "version", CLUSTERD_VERSION, "cluster",
	    n->cfg.cluster_name, "node", n->cfg.node_name, "role",
	    config_node_type_name(n->cfg.node_type), NULL);
	metrics_put(m, &M_START, (double)n->started, NULL);
}
