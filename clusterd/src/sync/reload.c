#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "sync/reload.h"

#define TASK		"Integrity sync"
#define ARGS_MAX_BYTES	(1024 * 1024)	/* beyond: run with no paths */
#define RUN_TIME_LIMIT	300.0		/* seconds before it is killed */

extern char **environ;

static struct {
	struct ev_loop	*loop;
	char		*home;
	char		*command;
	ev_child	 child;
	ev_timer	 limit;
	pid_t		 pid;
	int		 running;
	char		**pending;	/* paths for the next run */
	size_t		 npending;
	size_t		 cap;
	int		 truncated;
} R;

void
reload_init(struct ev_loop *loop, const char *home, const char *command)
{
	R.loop = loop;
	free(R.home);
	free(R.command);
	R.home = strdup(home);
	R.command = command != NULL && *command != '\0' ? strdup(command) :
	    NULL;
}

static void
clear_pending(void)
{
	size_t	i;

	for (i = 0; i < R.npending; i++)
		free(R.pending[i]);
	R.npending = 0;
	R.truncated = 0;
}

static void run_pending(void);

static void
child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	(void)revents;
	ev_child_stop(loop, w);
	ev_timer_stop(loop, &R.limit);
	R.running = 0;
	if (WIFEXITED(w->rstatus) && WEXITSTATUS(w->rstatus) == 0)
		log_info(TASK, "Reload command finished.");
	else if (WIFEXITED(w->rstatus))
		log_warnx(TASK, "Reload command exited with status %d.",
		    WEXITSTATUS(w->rstatus));
	else
		log_warnx(TASK, "Reload command killed by signal %d.",
		    WTERMSIG(w->rstatus));
	if (R.npending > 0 || R.truncated)
		run_pending();
}

static void
limit_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	log_warnx(TASK, "Reload command still running after %.0fs: killing "
	    "it.", RUN_TIME_LIMIT);
	kill(R.pid, SIGKILL);
}

/*
 * The child's environment: ours plus CLUSTERD_HOME (and the truncation
 * flag), built before fork, since only async-signal-safe calls may follow
 * it in a threaded process.
 */
static char **
child_env(char *home_var)
{
	char	**env;
	size_t	  n = 0, i, k = 0;

	while (environ[n] != NULL)
		n++;
	if ((env = calloc(n + 3, sizeof(*env))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], "CLUSTERD_", 9) != 0)
			env[k++] = environ[i];
	env[k++] = home_var;
	if (R.truncated)
		env[k++] = "CLUSTERD_PATHS_TRUNCATED=1";
	return env;
}

/* Start the command with the pending paths; they are cleared. */
static void
run_pending(void)
{
	char	**argv = NULL, **env = NULL, *script = NULL, *home_var = NULL;
	size_t	 i, bytes = 0, argc;
	pid_t	 pid;

	if (R.command == NULL)		/* removed by a reload meanwhile */
		goto done;
	for (i = 0; i < R.npending; i++)
		bytes += strlen(R.pending[i]) + 1;
	if (bytes > ARGS_MAX_BYTES)
		R.truncated = 1;
	argc = R.truncated ? 0 : R.npending;
	if ((argv = calloc(argc + 5, sizeof(*argv))) == NULL ||
	    asprintf(&script, "%s \"$@\"", R.command) == -1 ||
	    asprintf(&home_var, "CLUSTERD_HOME=%s", R.home) == -1 ||
	    (env = child_env(home_var)) == NULL) {
		log_errx(TASK, "Out of memory for the reload command.");
		goto done;
	}
	argv[0] = "sh";
	argv[1] = "-c";
	argv[2] = script;
	argv[3] = "clusterd-reload";
	for (i = 0; i < argc; i++)
		argv[4 + i] = R.pending[i];
	if ((pid = fork()) == -1)
		log_err(TASK, "Cannot run the reload command");
	else if (pid == 0) {
		if (chdir(R.home) == -1)
			_exit(126);
		signal(SIGPIPE, SIG_DFL);
		execve("/bin/sh", argv, env);
		_exit(127);
	} else {
		log_info(TASK, "Running the reload command for %zu changed "
		    "path(s).", R.npending);
		R.running = 1;
		R.pid = pid;
		ev_child_init(&R.child, child_cb, pid, 0);
		ev_child_start(R.loop, &R.child);
		ev_timer_init(&R.limit, limit_cb, RUN_TIME_LIMIT, 0);
		ev_timer_start(R.loop, &R.limit);
	}
done:
	free(script);
	free(home_var);
	free(argv);
	free(env);
	clear_pending();
}

void
reload_request(char *const *paths, size_t n)
{
	char	**p;
	size_t	  i;

	if (R.command == NULL || n == 0)
		return;
	for (i = 0; i < n; i++) {
		if (R.npending == R.cap) {
			R.cap = R.cap ? R.cap * 2 : 64;
			if ((p = realloc(R.pending, R.cap * sizeof(*p))) ==
			    NULL) {
				R.truncated = 1;
				break;
			}
			R.pending = p;
		}
		if ((R.pending[R.npending] = strdup(paths[i])) == NULL) {
			R.truncated = 1;
			break;
		}
		R.npending++;
	}
	if (!R.running)
		run_pending();
}

void
reload_shutdown(void)
{
	if (R.running) {
		ev_child_stop(R.loop, &R.child);
		ev_timer_stop(R.loop, &R.limit);
	}
	clear_pending();
	free(R.pending);
	free(R.home);
	free(R.command);
	memset(&R, 0, sizeof(R));
}
