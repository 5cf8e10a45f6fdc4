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
	if (level < lg.level)
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
