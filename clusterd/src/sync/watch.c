#include <sys/inotify.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/strmap.h"
#include "sync/syncset.h"
#include "sync/watch.h"

#define WATCH_MASK	(IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_CREATE | \
			 IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | \
			 IN_DELETE_SELF | IN_MOVE_SELF)

struct watch {
	struct ev_loop	*loop;
	char		*home;
	int		 fd;
	int		 etc_wd;	/* home/etc, watched for new folders */
	ev_io		 io;
	ev_timer	 debounce;
	void		(*cb)(void *);
	void		*arg;
	int		 warned;
	struct strmap	 watched;	/* folder path -> itself (owned) */
};

static void
debounce_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct watch	*w = t->data;

	(void)loop;
	(void)revents;
	w->cb(w->arg);
}

/*
 * Whether an event counts.  In home/etc only the set's own folders do:
 * etc also holds client.keys, which changes with every enrollment and
 * is not synchronized, and must not cost a scan each time.
 */
static int
relevant(const struct watch *w, const struct inotify_event *ev)
{
	size_t	i;

	if (ev->wd != w->etc_wd || ev->len == 0)
		return 1;
	for (i = 0; i < syncset_count; i++)
		if (strcmp(syncset_table[i].path + strlen("etc/"), ev->name) ==
		    0)
			return 1;
	return 0;
}

static void
io_cb(struct ev_loop *loop, ev_io *io, int revents)
{
	struct watch			*w = io->data;
	char				 buf[16384] __attribute__((aligned(8)));
	const struct inotify_event	*ev;
	ssize_t				 n, off;
	int				 any = 0;

	(void)revents;
	while ((n = read(w->fd, buf, sizeof(buf))) > 0)
		for (off = 0; off + (ssize_t)sizeof(*ev) <= n;
		    off += (ssize_t)(sizeof(*ev) + ev->len)) {
			ev = (const struct inotify_event *)(buf + off);
			any |= (ev->mask & IN_Q_OVERFLOW) || relevant(w, ev);
		}
	if (n == -1 && errno != EAGAIN && errno != EINTR)
		log_warn("Local integrity", "inotify read");
	if (any && !ev_is_active(&w->debounce))
		ev_timer_start(loop, &w->debounce);
}

struct watch *
watch_new(struct ev_loop *loop, const char *home, double debounce,
    void (*cb)(void *), void *arg)
{
	struct watch	*w;

	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->home = strdup(home)) == NULL) {
		free(w);
		return NULL;
	}
	w->loop = loop;
	w->cb = cb;
	w->arg = arg;
	w->etc_wd = -1;
	strmap_init(&w->watched);
	if ((w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1) {
		log_warn("Local integrity", "inotify unavailable; relying on "
		    "the periodic pass");
	} else {
		ev_io_init(&w->io, io_cb, w->fd, EV_READ);
		w->io.data = w;
		ev_io_start(loop, &w->io);
	}
	ev_timer_init(&w->debounce, debounce_cb, debounce, 0);
	w->debounce.data = w;
	return w;
}

void
watch_set_debounce(struct watch *w, double debounce)
{
	int	active = ev_is_active(&w->debounce);

	ev_timer_stop(w->loop, &w->debounce);	/* libev: no set while active */
	ev_timer_set(&w->debounce, debounce, 0);
	if (active)
		ev_timer_start(w->loop, &w->debounce);
}

/*
 * Watch home/etc and every folder listed (relative to home); idempotent.
 * Returns how many folders were not watched before: a file written into a
 * new folder before its watch existed is only seen by another scan, which
 * the caller should then run.
 */
size_t
watch_dirs(struct watch *w, char *const *rel, size_t n)
{
	char	path[PATH_MAX], *copy;
	size_t	i, added = 0;

	if (w->fd == -1)
		return 0;
	snprintf(path, sizeof(path), "%s/etc", w->home);
	w->etc_wd = inotify_add_watch(w->fd, path, WATCH_MASK);
	for (i = 0; i < n; i++) {
		if (strmap_get(&w->watched, rel[i]) != NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s", w->home, rel[i]);
		if (inotify_add_watch(w->fd, path, WATCH_MASK | IN_ONLYDIR) ==
		    -1) {
			if (errno == ENOSPC && !w->warned) {
				log_warnx("Local integrity", "Out of inotify "
				    "watches (raise fs.inotify.max_user_watches)"
				    "; changes in some folders wait for the "
				    "periodic pass.");
				w->warned = 1;
			}
			continue;
		}
		if ((copy = strdup(rel[i])) != NULL &&
		    strmap_put(&w->watched, copy, copy) == -1)
			free(copy);
		added++;
	}
	return added;
}

void
watch_free(struct watch *w)
{
	char	*p;
	size_t	 it = 0;

	if (w == NULL)
		return;
	while ((p = strmap_next(&w->watched, &it)) != NULL)
		free(p);
	strmap_free(&w->watched);
	ev_timer_stop(w->loop, &w->debounce);
	if (w->fd != -1) {
		ev_io_stop(w->loop, &w->io);
		close(w->fd);
	}
	free(w->home);
	free(w);
}
