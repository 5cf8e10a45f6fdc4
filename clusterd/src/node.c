#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "node.h"

/* Seconds since the epoch, with fractions: for times shown to operators. */
double
node_wall_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A wall-clock time as the "YYYY/MM/DD HH:MM:SS" of the logs, or null. */
cJSON *
node_time_json(double t)
{
	char		 s[32];
	struct tm	 tm;
	time_t		 tt = (time_t)t;

	if (t <= 0)
		return cJSON_CreateNull();
	localtime_r(&tt, &tm);
	strftime(s, sizeof(s), "%Y/%m/%d %H:%M:%S", &tm);
	return cJSON_CreateString(s);
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
