#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"

static struct {
	char		*path;
	FILE		*fp;
	int		 to_stderr;
	enum log_level	 level;
	char		 context[160];
} lg = { NULL, NULL, 1, LOG_LVL_INFO, "Main" };

/* Per-task levels (log_level info,sync=debug): words of task names. */
static struct {
	char		 words[LOG_TASK_MAX];	/* "integrity_sync", "agents" */
	enum log_level	 level;
} tasks[LOG_TASKS_MAX];
static size_t	ntasks;

static const char *level_names[] = {
	"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"
};

/*
 * Open the log file (appending, created 0640) and remember its path for
 * log_reopen().  path may be NULL for stderr-only logging (tests, -t).
 */
int
log_init(const char *path, int to_stderr, enum log_level level)
{
	lg.to_stderr = to_stderr;
	lg.level = level;
	free(lg.path);
	lg.path = NULL;
	if (path != NULL && (lg.path = strdup(path)) == NULL)
		return -1;
	return log_reopen();
}

void
log_set_context(const char *ctx)
{
	snprintf(lg.context, sizeof(lg.context), "%s", ctx);
}

void
log_set_level(enum log_level level)
{
	lg.level = level;
}

/* Reopen the file after logrotate moved it away (SIGHUP). */
int
log_reopen(void)
{
	FILE	*fp;
	int	 fd;

	if (lg.path == NULL)
		return 0;
	fd = open(lg.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1 || (fp = fdopen(fd, "a")) == NULL) {
		int saved = errno;

		if (fd != -1)
			close(fd);
		errno = saved;
		return -1;
	}
	setvbuf(fp, NULL, _IOLBF, 0);
	if (lg.fp != NULL)
		fclose(lg.fp);
	lg.fp = fp;
	return 0;
}

void
log_close(void)
{
	if (lg.fp != NULL)
		fclose(lg.fp);
	lg.fp = NULL;
	free(lg.path);
	lg.path = NULL;
}

/* The levels a configuration may name (log_level), as it spells them. */
static const struct {
	const char	*name;
	enum log_level	 level;
} config_levels[] = {
	{ "debug", LOG_LVL_DEBUG }, { "info", LOG_LVL_INFO },
	{ "warning", LOG_LVL_WARNING }, { "error", LOG_LVL_ERROR },
};

int
log_level_parse(const char *s, enum log_level *out)
{
	size_t	i;

	for (i = 0; i < sizeof(config_levels) / sizeof(config_levels[0]); i++) {
		if (strcasecmp(s, config_levels[i].name) == 0) {
			*out = config_levels[i].level;
			return 0;
		}
	}
	return -1;
}

/* The configuration's word for a level: log_level_parse's inverse. */
const char *
log_level_name(enum log_level l)
{
	size_t	i;

	for (i = 0; i < sizeof(config_levels) / sizeof(config_levels[0]); i++)
		if (config_levels[i].level == l)
			return config_levels[i].name;
	return "error";
}

/*
 * Parse a log_level value: a comma list of at most one level (the default)
 * and TASK=LEVEL items, as in "info,sync=debug,pools=warning".  A TASK is
 * one or more words of the tasks' names (the second bracket of a line),
 * lower case, joined by '_': "sync" is every task with the word sync
 * ("Integrity sync"), "integrity_check" only that one.  *dflt is set when
 * the list names a level; tasks (may be NULL) gets the TASK=LEVEL items,
 * lowered, in order, comma-separated.  Returns -1 with a reason in err.
 */
int
log_levels_parse(const char *spec, enum log_level *dflt, char *tasklist,
    size_t tasklen, char *err, size_t errlen)
{
	char		 buf[LOG_SPEC_MAX], *item, *save = NULL, *eq, *c;
	enum log_level	 l;
	size_t		 n = 0;
	int		 have_dflt = 0;

	if (strlen(spec) >= sizeof(buf)) {
		snprintf(err, errlen, "is longer than %d characters",
		    LOG_SPEC_MAX - 1);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", spec);
	if (tasklist != NULL && tasklen > 0)
		tasklist[0] = '\0';
	for (item = strtok_r(buf, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		if ((eq = strchr(item, '=')) == NULL) {
			if (have_dflt++) {
				snprintf(err, errlen, "names a second level, "
				    "\"%s\"", item);
				return -1;
			}
			if (log_level_parse(item, dflt) == -1) {
				snprintf(err, errlen, "must be debug, info, "
				    "warning or error (then TASK=LEVEL items), "
				    "not \"%s\"", item);
				return -1;
			}
			continue;
		}
		*eq = '\0';
		for (c = item; *c != '\0'; c++)
			*c = (char)tolower((unsigned char)*c);
		if (item[0] == '\0' || strlen(item) >= LOG_TASK_MAX ||
		    strspn(item, "abcdefghijklmnopqrstuvwxyz_") !=
		    strlen(item) || item[0] == '_') {
			snprintf(err, errlen, "has \"%s\", not a task: words "
			    "of a task name joined by _, as in integrity_sync",
			    item);
			return -1;
		}
		if (log_level_parse(eq + 1, &l) == -1) {
			snprintf(err, errlen, "gives task %s \"%s\", not "
			    "debug, info, warning or error", item, eq + 1);
			return -1;
		}
		if (++n > LOG_TASKS_MAX) {
			snprintf(err, errlen, "names more than %d tasks",
			    LOG_TASKS_MAX);
			return -1;
		}
		if (tasklist != NULL)
			snprintf(tasklist + strlen(tasklist), tasklen -
			    strlen(tasklist), "%s%s=%s", n > 1 ? "," : "",
			    item, log_level_name(l));
	}
	return 0;
}

/* Apply the TASK=LEVEL list log_levels_parse() made (NULL or "": none). */
void
log_set_task_levels(const char *tasklist)
{
	char		 buf[LOG_SPEC_MAX], *item, *save = NULL, *eq;

	ntasks = 0;
	if (tasklist == NULL)
		return;
	snprintf(buf, sizeof(buf), "%s", tasklist);
	for (item = strtok_r(buf, ",", &save); item != NULL &&
	    ntasks < LOG_TASKS_MAX; item = strtok_r(NULL, ",", &save)) {
		if ((eq = strchr(item, '=')) == NULL)
			continue;
		*eq = '\0';
		if (log_level_parse(eq + 1, &tasks[ntasks].level) == -1)
			continue;
		snprintf(tasks[ntasks].words, sizeof(tasks[ntasks].words),
		    "%s", item);
		ntasks++;
	}
}

/*
 * Whether words ("integrity_sync") are whole words of a task name
 * ("Integrity sync"), in order, case aside.
 */
static int
task_has(const char *task, const char *words)
{
	size_t		 n = strlen(words), i;
	const char	*t;

	for (t = task; *t != '\0'; t++) {
		if (t != task && t[-1] != ' ')
			continue;
		for (i = 0; i < n && t[i] != '\0'; i++)
			if (tolower((unsigned char)t[i]) != words[i] &&
			    !(t[i] == ' ' && words[i] == '_'))
				break;
		if (i == n && (t[n] == '\0' || t[n] == ' '))
			return 1;
	}
	return 0;
}

/* The level a task logs at: its own when log_level names it. */
static enum log_level
task_level(const char *task)
{
	size_t	i;

	for (i = 0; i < ntasks; i++)
		if (task != NULL && task_has(task, tasks[i].words))
			return tasks[i].level;
	return lg.level;
}

/*
 * Copy s into out (of outlen > 0 bytes) with control bytes (below 0x20,
 * and 0x7f) written as \xNN: a peer's name or field logged verbatim could
 * otherwise start a forged log line (\r, \n) or drive the terminal of
 * whoever reads the log (escape sequences).  Other bytes, UTF-8 included,
 * pass.  The result is cut, never an escape in half.
 */
void
log_escape(const char *s, char *out, size_t outlen)
{
	static const char	hex[] = "0123456789abcdef";
	size_t			n = 0;
	unsigned char		c;

	for (; (c = (unsigned char)*s) != '\0'; s++) {
		if (c >= 0x20 && c != 0x7f) {
			if (n + 1 >= outlen)
				break;
			out[n++] = (char)c;
			continue;
		}
		if (n + 4 >= outlen)
			break;
		out[n++] = '\\';
		out[n++] = 'x';
		out[n++] = hex[c >> 4];
		out[n++] = hex[c & 0x0f];
	}
	out[n] = '\0';
}

void
log_vemit(enum log_level level, int with_errno, const char *ctx,
    const char *task, const char *fmt, va_list ap)
{
	char		 raw[2048], msg[2048], stamp[32];
	const char	*err = NULL;
	struct tm	 tm;
	time_t		 now;

	if (with_errno)
		err = strerror(errno);
	if (level < (ntasks > 0 ? task_level(task) : lg.level))
		return;
	vsnprintf(raw, sizeof(raw), fmt, ap);
	log_escape(raw, msg, sizeof(msg));
	now = time(NULL);
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y/%m/%d %H:%M:%S", &tm);
	if (ctx == NULL)
		ctx = lg.context;
	if (task == NULL)
		task = "Main";
	if (lg.fp != NULL)
		fprintf(lg.fp, "%s %s: [%s] [%s] %s%s%s\n", stamp,
		    level_names[level], ctx, task, msg, err ? ": " : "",
		    err ? err : "");
	if (lg.to_stderr || lg.fp == NULL)
		fprintf(stderr, "%s %s: [%s] [%s] %s%s%s\n", stamp,
		    level_names[level], ctx, task, msg, err ? ": " : "",
		    err ? err : "");
}

void
log_emit(enum log_level level, int with_errno, const char *ctx,
    const char *task, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vemit(level, with_errno, ctx, task, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_CRITICAL, 1, NULL, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vemit(LOG_LVL_CRITICAL, 0, NULL, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
