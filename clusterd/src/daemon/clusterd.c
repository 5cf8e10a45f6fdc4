/*
 * clusterd: the cluster daemon.  One binary; the role (master, worker or
 * balancer) comes from the configuration.  This file holds start-up,
 * signals and shutdown; the roles live in master/, worker/ and balancer/,
 * the last two over the uplink to the master (uplink/).
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "agent/archives.h"
#include "balancer/balancer.h"
#include "base/clusterkey.h"
#include "base/config.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/node.h"
#include "base/nodelist.h"
#include "base/reap.h"
#include "base/sdnotify.h"
#include "base/version.h"
#include "master/ha.h"
#include "master/master.h"
#include "master/mstandby.h"
#include "net/control.h"
#include "net/link.h"
#include "net/scrape.h"
#include "net/tls.h"
#include "uplink/uplink.h"
#include "worker/worker.h"

#define PIDFILE_REL	"var/run/clusterd.pid"
#define OPT_GENKEY	256	/* --genkey: no short form */
#define OPT_NODE_KEY	257	/* --node-key NAME */

static struct node	 N;
static const char	*config_file = CONFIG_DEFAULT_FILE;
static int		 debug_flag;	/* -d: survives reloads */
static int		 ready_fd = -1;	/* to the waiting parent (no -f) */
static ev_signal	 sig_term, sig_int, sig_hup;

/* The usage on stderr and exit 2, or for -h on stdout and exit 0. */
static void
usage(int asked)
{
	fprintf(asked ? stdout : stderr,
	    "usage: clusterd [-fdtVh] [-c file]\n"
	    "       clusterd --genkey\n"
	    "       clusterd [-c file] --node-key name\n"
	    "  -c file  configuration file (default %s)\n"
	    "  -f       stay in the foreground, log to stderr too\n"
	    "  -d       debug logging (overrides log_level)\n"
	    "  -t       check the configuration and exit; with -d, print it\n"
	    "  -V       print the version and exit\n"
	    "  -h       print this help and exit\n"
	    "  --genkey print a new random cluster key and exit\n"
	    "  --node-key name\n"
	    "           print the credential of a node of the master's "
	    "nodes_file\n",
	    CONFIG_DEFAULT_FILE);
	exit(asked ? 0 : 2);
}

static void
stop_now(void)
{
	if (ha_enabled(&N.cfg))
		ha_stop();
	else if (N.cfg.node_type == NODE_MASTER)
		master_stop();
	else
		uplink_stop();
	scrape_stop();
	control_shutdown();
	ev_break(N.loop, EVBREAK_ALL);
}

/*
 * SIGTERM, SIGINT: a worker drains its agents first (drain_timeout), the
 * other roles stop at once; a second signal stops a drain at once.
 */
static void
on_term(struct ev_loop *loop, ev_signal *w, int revents)
{
	static int	draining;

	(void)loop;
	(void)revents;
	if (draining) {
		log_info("Main", "Received signal %d again: stopping now.",
		    w->signum);
		stop_now();
		return;
	}
	log_info("Main", "Received signal %d: shutting down.", w->signum);
	if (N.cfg.node_type == NODE_WORKER && uplink_drain(stop_now) == 0) {
		draining = 1;
		return;
	}
	stop_now();
}

/* Load the config file, sending each error line to the log. */
static int
load_logged(struct config *c)
{
	char	*text = NULL, *line, *save = NULL;
	size_t	 len = 0;
	FILE	*errs;
	int	 nerr;

	if ((errs = open_memstream(&text, &len)) == NULL)
		return config_load(config_file, c, NULL) > 0 ? 1 : 0;
	nerr = config_load(config_file, c, errs);
	fclose(errs);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		log_errx("Main", "%s", line);
	free(text);
	return nerr;
}

/*
 * The cluster keys apply at once to new connections: a key rotation
 * (key_next on the master, then key on each node, then key alone on the
 * master) never cuts a link, since established ones keep their session and
 * the context they were made with.
 */
static void
reload_keys(const struct config *nc)
{
	SSL_CTX	*ctx;

	if (strcmp(nc->key, N.cfg.key) == 0 &&
	    strcmp(nc->key_next, N.cfg.key_next) == 0)
		return;
	if ((ctx = tls_ctx_new(N.cfg.node_type == NODE_MASTER, nc->key,
	    nc->key_next, N.cfg.node_type == NODE_MASTER ? NULL :
	    N.cfg.node_name)) == NULL) {
		log_errx("Main", "Reload: cannot set up TLS with the new keys "
		    "(%s): keeping the running ones.", tls_error_string());
		return;
	}
	tls_ctx_inherit_node_keys(ctx, N.ctx);
	tls_ctx_free(N.ctx);
	N.ctx = ctx;
	log_info("Main", "Reload: the cluster key is %s%s; new connections "
	    "use %s, established links go on.", strcmp(nc->key, N.cfg.key) !=
	    0 ? "new" : "unchanged", nc->key_next[0] != '\0' ? ", with a next "
	    "key" : N.cfg.key_next[0] != '\0' ? ", the next key retired" : "",
	    nc->key_next[0] != '\0' ? "either key" : "the key");
	memcpy(N.cfg.key, nc->key, sizeof(N.cfg.key));
	memcpy(N.cfg.key_file, nc->key_file, sizeof(N.cfg.key_file));
	memcpy(N.cfg.key_next, nc->key_next, sizeof(N.cfg.key_next));
	memcpy(N.cfg.key_next_file, nc->key_next_file,
	    sizeof(N.cfg.key_next_file));
}

/*
 * SIGHUP: reopen the log (logrotate) and re-read the configuration.  Log
 * level, timers and the cluster keys apply at once; identity and
 * addresses need a restart, and a change to them is reported, not applied.
 */
static void
on_hup(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct config	 nc;
	int		 nerr;

	(void)loop;
	(void)w;
	(void)revents;
	if (log_reopen() == -1)
		log_warn("Main", "cannot reopen the log file");
	if ((N.cfg.node_type == NODE_WORKER ? N.cfg.gateway != 0 :
	    N.cfg.gateway == 1) && archives_reopen() == -1)
		log_warn("Main", "cannot reopen the archives");
	if ((nerr = load_logged(&nc)) > 0) {
		log_errx("Main", "Reload: %s has %d error(s); keeping the "
		    "running configuration.", config_file, nerr);
		return;
	}
	if (strcmp(nc.cluster_name, N.cfg.cluster_name) != 0 ||
	    strcmp(nc.node_name, N.cfg.node_name) != 0 ||
	    nc.node_type != N.cfg.node_type ||
	    strcmp(nc.master_address, N.cfg.master_address) != 0 ||
	    nc.master_port != N.cfg.master_port ||
	    strcmp(nc.bind_address, N.cfg.bind_address) != 0 ||
	    nc.port != N.cfg.port || strcmp(nc.home, N.cfg.home) != 0 ||
	    nc.enrollment != N.cfg.enrollment ||
	    strcmp(nc.enrollment_address, N.cfg.enrollment_address) != 0 ||
	    nc.enrollment_port != N.cfg.enrollment_port ||
	    strcmp(nc.enrollment_cert, N.cfg.enrollment_cert) != 0 ||
	    strcmp(nc.enrollment_key, N.cfg.enrollment_key) != 0 ||
	    nc.gateway != N.cfg.gateway ||
	    strcmp(nc.gateway_address, N.cfg.gateway_address) != 0 ||
	    nc.gateway_port != N.cfg.gateway_port ||
	    strcmp(nc.metrics_address, N.cfg.metrics_address) != 0 ||
	    nc.metrics_port != N.cfg.metrics_port ||
	    strcmp(nc.nodes_file, N.cfg.nodes_file) != 0)
		log_warnx("Main", "Reload: names, addresses, ports, "
		    "certificates and home take effect only after a restart.");
	reload_keys(&nc);
	/* Enrollment policy applies at once. */
	memcpy(N.cfg.enrollment_password_file, nc.enrollment_password_file,
	    sizeof(N.cfg.enrollment_password_file));
	memcpy(N.cfg.manager_version, nc.manager_version,
	    sizeof(N.cfg.manager_version));
	N.cfg.force_replace = nc.force_replace;
	N.cfg.enrollment_rate_limit = nc.enrollment_rate_limit;
	N.cfg.enrollment_max_agents = nc.enrollment_max_agents;
	N.cfg.force_disconnected_time = nc.force_disconnected_time;
	N.cfg.force_after_registration_time = nc.force_after_registration_time;
	N.cfg.force_key_mismatch = nc.force_key_mismatch;
	N.cfg.use_source_ip = nc.use_source_ip;
	N.cfg.enrollment_retry_window = nc.enrollment_retry_window;
	N.cfg.keepalive_interval = nc.keepalive_interval;
	N.cfg.keepalive_timeout = nc.keepalive_timeout;
	N.cfg.request_timeout = nc.request_timeout;
	N.cfg.preauth_timeout = nc.preauth_timeout;
	N.cfg.preauth_per_source = nc.preauth_per_source;
	memcpy(N.cfg.proxy_from, nc.proxy_from, sizeof(N.cfg.proxy_from));
	N.cfg.nproxy_from = nc.nproxy_from;
	N.cfg.reconnect_min = nc.reconnect_min;
	N.cfg.reconnect_max = nc.reconnect_max;
	N.cfg.sync_interval = nc.sync_interval;
	N.cfg.sync_debounce = nc.sync_debounce;
	N.cfg.sync_max_bundle = nc.sync_max_bundle;
	memcpy(N.cfg.reload_command, nc.reload_command,
	    sizeof(N.cfg.reload_command));
	N.cfg.agents_disconnection_time = nc.agents_disconnection_time;
	N.cfg.connection_overtake_time = nc.connection_overtake_time;
	N.cfg.enforce_counters = nc.enforce_counters;
	N.cfg.shared_push_rate = nc.shared_push_rate;
	N.cfg.pool_leave_after = nc.pool_leave_after;
	N.cfg.worker_writes = nc.worker_writes;
	N.cfg.pool_drain_timeout = nc.pool_drain_timeout;
	N.cfg.log_level = debug_flag ? LOG_LVL_DEBUG : nc.log_level;
	memcpy(N.cfg.log_tasks, nc.log_tasks, sizeof(N.cfg.log_tasks));
	log_set_level(N.cfg.log_level);
	log_set_task_levels(debug_flag ? NULL : N.cfg.log_tasks);
	if (N.cfg.node_type == NODE_MASTER) {
		if (ha_serving())
			master_reconfigure();
		else
			mstandby_reconfigure();
	}
	else
		uplink_reconfigure();
	log_info("Main", "Configuration reloaded.");
}

/*
 * Take the home's pid file, locked for the daemon's life: a second
 * clusterd on the same home stops here, before it can touch the first
 * one's control socket.  Returns the descriptor, or -1.
 */
static int
lock_pidfile(const char *path)
{
	char	buf[32] = "";
	int	fd;

	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640)) == -1) {
		fprintf(stderr, "clusterd: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (read(fd, buf, sizeof(buf) - 1) < 0)
			buf[0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		fprintf(stderr, "clusterd: another clusterd (pid %s) runs with "
		    "home %s\n", buf[0] ? buf : "?", N.cfg.home);
		close(fd);
		return -1;
	}
	return fd;
}

static int
write_pid(int fd)
{
	char	buf[32];
	int	n;

	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, (size_t)n, 0) != n)
		return -1;
	return 0;
}

/*
 * Go to the background.  The parent waits until the child says it is
 * serving (or dies), so `clusterd` exits non-zero when start-up fails,
 * just as it does in the foreground.  Only one fork: no double fork, as
 * service managers expect.
 */
static void
detach(void)
{
	int	p[2], fd;
	char	c;
	pid_t	pid;

	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1)
		fatal("cannot go to the background");
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &c, 1) == 1 && c == 0)
			_exit(0);
		fprintf(stderr, "clusterd: start-up failed; see %s/logs/"
		    "cluster.log\n", N.cfg.home);
		_exit(1);
	}
	close(p[0]);
	ready_fd = p[1];
	setsid();
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
}

/*
 * --genkey: a new cluster key on standard output, for a key file or the key
 * option; every node of the cluster then gets a copy of it.
 */
static int
print_new_key(void)
{
	char	key[CLUSTERKEY_LEN + 1];
	int	rv = 1;

	if (clusterkey_generate(key) == -1) {
		fprintf(stderr, "clusterd: cannot draw random bytes: %s\n",
		    tls_error_string());
		goto done;
	}
	if (printf("%s\n", key) < 0 || fflush(stdout) == EOF) {
		fprintf(stderr, "clusterd: cannot write the key: %s\n",
		    strerror(errno));
		goto done;
	}
	rv = 0;
done:
	explicit_bzero(key, sizeof(key));
	return rv;
}

/*
 * --node-key NAME, on the master: the credential NAME keeps as its key
 * (key_file), derived from the cluster key at the generation nodes_file
 * gives it.  Nothing is stored: the same name and generation always give
 * the same credential.
 */
static int
print_node_key(const char *name)
{
	const struct nodelist_entry	*e;
	struct nodelist			 l = { NULL, 0 };
	char				 cred[CLUSTERKEY_LEN + 1], err[256];
	int				 rv = 1;

	if (N.cfg.node_type != NODE_MASTER || N.cfg.nodes_file[0] == '\0') {
		fprintf(stderr, "clusterd: --node-key needs the master's "
		    "configuration with nodes_file (-c)\n");
		goto done;
	}
	if (nodelist_load(N.cfg.nodes_file, &l, err, sizeof(err)) == -1) {
		fprintf(stderr, "clusterd: %s: %s\n", N.cfg.nodes_file, err);
		goto done;
	}
	if ((e = nodelist_find(&l, name)) == NULL || e->revoked) {
		fprintf(stderr, "clusterd: \"%s\" is not %s in %s\n", name,
		    e == NULL ? "listed" : "admitted (revoked)",
		    N.cfg.nodes_file);
		goto done;
	}
	if (clusterkey_node_credential(N.cfg.key, e->name, e->generation,
	    cred) == -1) {
		fprintf(stderr, "clusterd: cannot derive the credential: %s\n",
		    tls_error_string());
		goto done;
	}
	if (printf("%s\n", cred) < 0 || fflush(stdout) == EOF) {
		fprintf(stderr, "clusterd: cannot write the credential: %s\n",
		    strerror(errno));
		goto done;
	}
	rv = 0;
done:
	explicit_bzero(cred, sizeof(cred));
	nodelist_free(&l);
	return rv;
}

static void
tell_ready(void)
{
	char	c = 0;

	sdnotify_send("READY=1");
	if (ready_fd != -1) {
		if (write(ready_fd, &c, 1) != 1)
			log_warn("Main", "cannot tell the parent we started");
		close(ready_fd);
		ready_fd = -1;
	}
}

int
main(int argc, char *argv[])
{
	char	 logpath[PATH_MAX], sockpath[PATH_MAX], pidpath[PATH_MAX];
	char	 ctx[CONFIG_NAME_MAX + 16];
	const char *node_key = NULL;
	int	 ch, foreground = 0, test = 0, nerr, rv = 1, pidfd = -1;

	static const struct option longopts[] = {
		{ "genkey", no_argument, NULL, OPT_GENKEY },
		{ "node-key", required_argument, NULL, OPT_NODE_KEY },
		{ NULL, 0, NULL, 0 }
	};

	/* Files made without an explicit mode (the registry, whose rows hold
	 * agents' keys, SQLite's journal, archives) are for the owner and
	 * its group only. */
	umask(027);

	while ((ch = getopt_long(argc, argv, "c:fdtVh", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case OPT_GENKEY:
			if (optind != argc)
				usage(0);
			return print_new_key();
		case OPT_NODE_KEY:
			node_key = optarg;
			break;
		case 'c':
			config_file = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'd':
			debug_flag = 1;
			break;
		case 't':
			test = 1;
			break;
		case 'V':
			printf("clusterd %s\n", CLUSTERD_VERSION);
			return 0;
		case 'h':
			usage(1);
			break;
		default:
			usage(0);
		}
	}
	if (optind != argc)
		usage(0);

	nerr = config_load(config_file, &N.cfg, stderr);
	if (node_key != NULL)
		return nerr == 0 ? print_node_key(node_key) : 1;
	if (test) {
		if (nerr == 0 && debug_flag)
			config_print(&N.cfg, stdout);
		if (nerr == 0)
			fprintf(stderr, "%s: configuration OK\n", config_file);
		return nerr == 0 ? 0 : 1;
	}
	if (nerr > 0) {
		fprintf(stderr, "%s: %d error(s); not starting\n", config_file,
		    nerr);
		return 1;
	}
	if (debug_flag)
		N.cfg.log_level = LOG_LVL_DEBUG;

	snprintf(ctx, sizeof(ctx), "%s %s", N.cfg.node_type == NODE_MASTER ?
	    "Master" : N.cfg.node_type == NODE_BALANCER ? "Balancer" :
	    "Worker", N.cfg.node_name);
	log_set_context(ctx);
	if (node_make_home(&N.cfg) == -1 ||
	    config_path(&N.cfg, "logs/cluster.log", logpath,
	    sizeof(logpath)) == -1 ||
	    config_path(&N.cfg, CONTROL_SOCKET_REL, sockpath,
	    sizeof(sockpath)) == -1 ||
	    config_path(&N.cfg, PIDFILE_REL, pidpath, sizeof(pidpath)) == -1)
		return 1;
	log_set_task_levels(debug_flag ? NULL : N.cfg.log_tasks);
	if (log_init(logpath, foreground, N.cfg.log_level) == -1) {
		fprintf(stderr, "clusterd: cannot open %s: %s\n", logpath,
		    strerror(errno));
		return 1;
	}
	if ((pidfd = lock_pidfile(pidpath)) == -1)
		return 1;
	if (!foreground)
		detach();
	if (write_pid(pidfd) == -1)
		log_warn("Main", "cannot write %s", pidpath);
	signal(SIGPIPE, SIG_IGN);
	/* A file past RLIMIT_FSIZE fails its write (EFBIG), which the
	 * archives handle as a failure to store, rather than killing us. */
	signal(SIGXFSZ, SIG_IGN);

	N.loop = EV_DEFAULT;
	N.started = time(NULL);
	reap_init(N.loop);
	if ((N.ctx = tls_ctx_new(N.cfg.node_type == NODE_MASTER,
	    N.cfg.key, N.cfg.key_next, N.cfg.node_type == NODE_MASTER ? NULL :
	    N.cfg.node_name)) == NULL)
		fatalx("cannot set up TLS: %s", tls_error_string());
	if (control_init(N.loop, sockpath, ha_enabled(&N.cfg) ? mstandby_control :
	    N.cfg.node_type == NODE_MASTER ? master_control : uplink_control,
	    NULL) == -1)
		goto done;
	/* The roles' services register their own collectors as they start. */
	metrics_register(node_metrics, &N);
	metrics_register(link_metrics, NULL);
	if ((ha_enabled(&N.cfg) ? ha_start(&N) :
	    N.cfg.node_type == NODE_MASTER ? master_start(&N) :
	    uplink_start(&N, N.cfg.node_type == NODE_BALANCER ?
	    &balancer_role : &worker_role)) == -1)
		goto done;
	if (N.cfg.metrics_port != 0 && scrape_start(&N) == -1)
		goto done;

	ev_signal_init(&sig_term, on_term, SIGTERM);
	ev_signal_init(&sig_int, on_term, SIGINT);
	ev_signal_init(&sig_hup, on_hup, SIGHUP);
	ev_signal_start(N.loop, &sig_term);
	ev_signal_start(N.loop, &sig_int);
	ev_signal_start(N.loop, &sig_hup);
	log_info("Main", "clusterd %s started as %s of cluster %s.",
	    CLUSTERD_VERSION, config_node_type_name(N.cfg.node_type),
	    N.cfg.cluster_name);
	tell_ready();

	ev_run(N.loop, 0);

	sdnotify_send("STOPPING=1");
	reap_now();
	unlink(pidpath);
	close(pidfd);
	log_info("Main", "Stopped.");
	rv = 0;
done:
	if (rv != 0)
		unlink(pidpath);	/* no stale pid after a failed start */
	scrape_stop();
	control_shutdown();
	tls_ctx_free(N.ctx);
	log_close();
	return rv;
}
