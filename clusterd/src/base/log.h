/*
 * log: the one logging API of clusterd.
 *
 * Lines look like the ones operators of such clusters know:
 *   2026/11/22 08:00:00 INFO: [Worker worker1] [Keep alive] Successful response from master.
 * The first bracket is the context (this node, or the peer a master-side line
 * is about), the second the task.  Lines go to the log file and, in the
 * foreground, to stderr.  The *_warn variants append strerror(errno).
 */
#ifndef CLUSTERD_LOG_H
#define CLUSTERD_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level {
	LOG_LVL_DEBUG = 0,
	LOG_LVL_INFO,
	LOG_LVL_WARNING,
	LOG_LVL_ERROR,
	LOG_LVL_CRITICAL
};

int	 log_init(const char *path, int to_stderr, enum log_level);
void	 log_set_context(const char *);
void	 log_set_level(enum log_level);
int	 log_reopen(void);
void	 log_close(void);
#define LOG_SPEC_MAX	256	/* a log_level value */
#define LOG_TASK_MAX	32	/* a task's words, "integrity_sync" */
#define LOG_TASKS_MAX	16

int	 log_level_parse(const char *, enum log_level *);
int	 log_levels_parse(const char *spec, enum log_level *dflt,
	    char *tasklist, size_t tasklen, char *err, size_t errlen);
void	 log_set_task_levels(const char *tasklist);
const char *log_level_name(enum log_level);
void	 log_escape(const char *, char *out, size_t outlen);

void	 log_emit(enum log_level, int with_errno, const char *ctx,
	    const char *task, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));
void	 log_vemit(enum log_level, int with_errno, const char *ctx,
	    const char *task, const char *fmt, va_list)
	    __attribute__((format(printf, 5, 0)));
void	 fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	 fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/* Lines about this node. */
#define log_debug(task, ...)	log_emit(LOG_LVL_DEBUG, 0, NULL, task, __VA_ARGS__)
#define log_info(task, ...)	log_emit(LOG_LVL_INFO, 0, NULL, task, __VA_ARGS__)
#define log_warnx(task, ...)	log_emit(LOG_LVL_WARNING, 0, NULL, task, __VA_ARGS__)
#define log_warn(task, ...)	log_emit(LOG_LVL_WARNING, 1, NULL, task, __VA_ARGS__)
#define log_errx(task, ...)	log_emit(LOG_LVL_ERROR, 0, NULL, task, __VA_ARGS__)
#define log_err(task, ...)	log_emit(LOG_LVL_ERROR, 1, NULL, task, __VA_ARGS__)

/* Lines about a peer: ctx is e.g. "Worker worker1". */
#define plog_debug(ctx, task, ...) log_emit(LOG_LVL_DEBUG, 0, ctx, task, __VA_ARGS__)
#define plog_info(ctx, task, ...)  log_emit(LOG_LVL_INFO, 0, ctx, task, __VA_ARGS__)
#define plog_warnx(ctx, task, ...) log_emit(LOG_LVL_WARNING, 0, ctx, task, __VA_ARGS__)
#define plog_errx(ctx, task, ...)  log_emit(LOG_LVL_ERROR, 0, ctx, task, __VA_ARGS__)

#endif
