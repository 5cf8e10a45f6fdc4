/*
 * clusterd: the cluster daemon.  One binary; the role (master or worker)
 * comes from the configuration.  This file holds start-up, signals and
 * shutdown; the roles live in master.c and worker.c.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>
#include <systemd/sd-daemon.h>

#include "config.h"
#include "control.h"
#include "log.h"
#include "node.h"
#include "reap.h"
#include "tls.h"
#include "version.h"

#define PIDFILE_REL	"var/run/clusterd.pid"

static struct node	 N;
static const char	*config_file = CONFIG_DEFAULT_FILE;
static ev_signal	 sig_term, sig_int, sig_hup;

static void
usage(void)
{
	fprintf(stderr,
	    "usage: clusterd [-fdtV] [-c file]\n"
	    "  -c file  configuration file (default %s)\n"
	    "  -f       stay in the foreground, log to stderr too\n"
	    "  -d       debug logging (overrides log_level)\n"
	    "  -t       check the configuration and exit; with -d, print it\n"
	    "  -V       print the version and exit\n", CONFIG_DEFAULT_FILE);
	exit(2);
}

static void
on_term(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)revents;
	log_info("Main", "Received signal %d: shutting down.", w->signum);
	if (N.cfg.node_type == NODE_MASTER)
		master_stop();
	else
		worker_stop();
	control_shutdown();
	ev_break(loop, EVBREAK_ALL);
}

/*
 * SIGHUP: reopen the log (logrotate) and re-read the configuration.  Log
 * level and timers apply at once; identity, key and addresses need a
 * restart, and a change to them is reported, not applied.
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
	nerr = config_load(config_file, &nc, stderr);
	if (nerr > 0) {
		log_errx("Main", "Reload: %s has %d error(s); keeping the "
		    "running configuration.", config_file, nerr);
		return;
	}
	if (strcmp(nc.cluster_name, N.cfg.cluster_name) != 0 ||
	    strcmp(nc.node_name, N.cfg.node_name) != 0 ||
	    nc.node_type != N.cfg.node_type ||
	    strcmp(nc.key, N.cfg.key) != 0 ||
	    strcmp(nc.master_address, N.cfg.master_address) != 0 ||
	    nc.master_port != N.cfg.master_port ||
	    strcmp(nc.bind_address, N.cfg.bind_address) != 0 ||
	    nc.port != N.cfg.port || strcmp(nc.home, N.cfg.home) != 0)
		log_warnx("Main", "Reload: names, key, addresses, ports and "
		    "home take effect only after a restart.");
	N.cfg.keepalive_interval = nc.keepalive_interval;
	N.cfg.keepalive_timeout = nc.keepalive_timeout;
	N.cfg.request_timeout = nc.request_timeout;
	N.cfg.reconnect_min = nc.reconnect_min;
	N.cfg.reconnect_max = nc.reconnect_max;
	N.cfg.log_level = nc.log_level;
	log_set_level(nc.log_level);
	if (N.cfg.node_type == NODE_MASTER)
		master_reconfigure();
	else
		worker_reconfigure();
	log_info("Main", "Configuration reloaded.");
}

static int
write_pidfile(const char *path)
{
	FILE	*fp;

	if ((fp = fopen(path, "w")) == NULL)
		return -1;
	fprintf(fp, "%ld\n", (long)getpid());
	return fclose(fp);
}

int
main(int argc, char *argv[])
{
	char	 logpath[PATH_MAX], sockpath[PATH_MAX], pidpath[PATH_MAX];
	char	 ctx[CONFIG_NAME_MAX + 16];
	int	 ch, foreground = 0, debug = 0, test = 0, nerr, rv = 1;

	while ((ch = getopt(argc, argv, "c:fdtVh")) != -1) {
		switch (ch) {
		case 'c':
			config_file = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'd':
			debug = 1;
			break;
		case 't':
			test = 1;
			break;
		case 'V':
			printf("clusterd %s\n", CLUSTERD_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	nerr = config_load(config_file, &N.cfg, stderr);
	if (test) {
		if (nerr == 0 && debug)
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
	if (debug)
		N.cfg.log_level = LOG_LVL_DEBUG;

	snprintf(ctx, sizeof(ctx), "%s %s", N.cfg.node_type == NODE_MASTER ?
	    "Master" : "Worker", N.cfg.node_name);
	log_set_context(ctx);
	if (node_make_home(&N.cfg) == -1 ||
	    config_path(&N.cfg, "logs/cluster.log", logpath,
	    sizeof(logpath)) == -1 ||
	    config_path(&N.cfg, CONTROL_SOCKET_REL, sockpath,
	    sizeof(sockpath)) == -1 ||
	    config_path(&N.cfg, PIDFILE_REL, pidpath, sizeof(pidpath)) == -1)
		return 1;
	if (log_init(logpath, foreground, N.cfg.log_level) == -1) {
		fprintf(stderr, "clusterd: cannot open %s: %s\n", logpath,
		    strerror(errno));
		return 1;
	}
	if (!foreground && daemon(1, 0) == -1)
		fatal("daemon");
	signal(SIGPIPE, SIG_IGN);

	N.loop = EV_DEFAULT;
	N.started = time(NULL);
	reap_init(N.loop);
	if ((N.ctx = tls_ctx_new(N.cfg.node_type == NODE_MASTER,
	    N.cfg.key)) == NULL)
		fatalx("cannot set up TLS: %s", tls_error_string());
	if (control_init(N.loop, sockpath, N.cfg.node_type == NODE_MASTER ?
	    master_control : worker_control, NULL) == -1)
		goto done;
	if ((N.cfg.node_type == NODE_MASTER ? master_start(&N) :
	    worker_start(&N)) == -1)
		goto done;
	if (write_pidfile(pidpath) == -1)
		log_warn("Main", "cannot write %s", pidpath);

	ev_signal_init(&sig_term, on_term, SIGTERM);
	ev_signal_init(&sig_int, on_term, SIGINT);
	ev_signal_init(&sig_hup, on_hup, SIGHUP);
	ev_signal_start(N.loop, &sig_term);
	ev_signal_start(N.loop, &sig_int);
	ev_signal_start(N.loop, &sig_hup);
	log_info("Main", "clusterd %s started as %s of cluster %s.",
	    CLUSTERD_VERSION, config_node_type_name(N.cfg.node_type),
	    N.cfg.cluster_name);
	sd_notify(0, "READY=1");

	ev_run(N.loop, 0);

	sd_notify(0, "STOPPING=1");
	reap_now();
	unlink(pidpath);
	log_info("Main", "Stopped.");
	rv = 0;
done:
	control_shutdown();
	tls_ctx_free(N.ctx);
	log_close();
	return rv;
}
