/*
 * config: clusterd.conf, a human-edited file of "key value" lines.
 * '#' starts a comment; values may be double-quoted; durations take a unit
 * (ms, s, m, h; a bare number means seconds).  See clusterd.conf(5).
 */
#ifndef CLUSTERD_CONFIG_H
#define CLUSTERD_CONFIG_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>

#include "base/cidr.h"
#include "base/clusterkey.h"
#include "base/log.h"

#define CONFIG_KEY_LEN		CLUSTERKEY_LEN
#define CONFIG_NAME_MAX		63
#define CONFIG_DEFAULT_PORT	1516
#define CONFIG_DEFAULT_ENROLL_PORT 1515
#define CONFIG_METRICS_LOOPBACK	"127.0.0.1"	/* metrics_listen PORT */
#define CONFIG_MANAGER_VERSION	"v4.14.7"
#define CONFIG_DEFAULT_HOME	"/var/lib/clusterd"
#define CONFIG_DEFAULT_FILE	"/etc/clusterd/clusterd.conf"
#define CONFIG_PROXY_FROM_MAX	32	/* proxy_from entries */

enum node_type {
	NODE_NONE = 0,
	NODE_MASTER,
	NODE_WORKER,
	NODE_BALANCER		/* keeps a local HAProxy's pools */
};

struct config {
	char		 cluster_name[CONFIG_NAME_MAX + 1];
	char		 node_name[CONFIG_NAME_MAX + 1];
	enum node_type	 node_type;
	char		 key[CONFIG_KEY_LEN + 1];
	char		 key_file[PATH_MAX];	/* "" = key given inline */
	char		 key_next[CONFIG_KEY_LEN + 1];	/* master: also */
	char		 key_next_file[PATH_MAX];
	char		 master_address[256];
	uint16_t	 master_port;
	char		 bind_address[64];
	uint16_t	 port;
	char		 home[PATH_MAX];
	double		 keepalive_interval;	/* worker sends every ... */
	double		 keepalive_timeout;	/* master drops a silent worker */
	double		 request_timeout;	/* unanswered request fails */
	double		 preauth_timeout;	/* to identify, every service */
	unsigned	 preauth_per_source;	/* unidentified; 0: no bound */
	/* peers that must start with a PROXY header (1514, 1515) */
	struct cidr	 proxy_from[CONFIG_PROXY_FROM_MAX];
	size_t		 nproxy_from;		/* 0: PROXY not accepted */
	double		 reconnect_min;		/* worker backoff bounds */
	double		 reconnect_max;
	double		 sync_interval;		/* full integrity pass */
	double		 sync_debounce;		/* change burst -> scan */
	uint64_t	 sync_max_bundle;	/* bytes of files per round */
	char		 reload_command[1024];	/* after an applied sync */
	/* enrollment (1515) */
	int		 enrollment;		/* serve enrollment */
	char		 enrollment_address[64];
	uint16_t	 enrollment_port;
	char		 enrollment_cert[PATH_MAX];	/* "" = HOME/etc/... */
	char		 enrollment_key[PATH_MAX];
	char		 enrollment_password_file[PATH_MAX];	/* "" = none */
	char		 manager_version[32];
	int		 force_replace;
	double		 force_disconnected_time;	/* 0 = not checked */
	double		 force_after_registration_time;
	int		 force_key_mismatch;
	int		 use_source_ip;	/* no IP: the source, not "any" */
	double		 enrollment_retry_window;	/* 0 = off */
	/* agent gateway (1514) */
	int		 gateway;		/* -1: by role (workers yes) */
	char		 gateway_address[64];
	uint16_t	 gateway_port;
	double		 agents_disconnection_time;
	double		 connection_overtake_time;
	uint64_t	 shared_push_rate;	/* merged.mg bytes/s, per node */
	int		 enforce_counters;
	uint16_t	 agent_check_port;	/* 0: no agent-check answer */
	unsigned	 max_agents;		/* 0: no limit; above: drain */
	double		 drain_timeout;		/* SIGTERM: drain at most; 0 off */
	double		 drain_wait;		/* for agent-check to take effect */
	unsigned	 drain_rate;		/* agents asked to leave a second */
	int		 rebalance;		/* master: even out workers */
	unsigned	 rebalance_tolerance;	/* percent of the average */
	double		 rebalance_interval;
	unsigned	 rebalance_chunk;	/* agents moved per round */
	double		 pool_leave_after;	/* master: gone worker leaves */
	int		 worker_writes;		/* master: changes from workers */
	char		 nodes_file[PATH_MAX];	/* master: "" = shared key */
	unsigned	 enrollment_rate_limit;	/* per address a minute; 0 off */
	unsigned	 enrollment_max_agents;	/* master: 0 = no cap */
	/* balancer role (HAProxy Runtime API) */
	char		 haproxy_socket[PATH_MAX];
	char		 haproxy_config[PATH_MAX];	/* "" = not rewritten */
	char		 haproxy_state_file[PATH_MAX];	/* "" = not saved */
	char		 haproxy_agents_backend[CONFIG_NAME_MAX + 1];
	char		 haproxy_enrollment_backend[CONFIG_NAME_MAX + 1];
	double		 pool_check_interval;	/* re-read HAProxy, report */
	double		 pool_drain_timeout;	/* then close what is left */
	char		 haproxy_frontends[2 * CONFIG_NAME_MAX + 2];
	char		 keepalived_pid_file[PATH_MAX];	/* "" = not watched */
	/* metrics endpoint (metrics_listen) */
	char		 metrics_address[64];	/* numeric */
	uint16_t	 metrics_port;		/* 0: off */
	enum log_level	 log_level;
	char		 log_tasks[LOG_SPEC_MAX];	/* "sync=debug,..." */
	/* master high availability (docs/ha.md): "" = a single master */
	char		 ha_etcd[1024];		/* host:port,... of etcd */
	double		 ha_lease_ttl;		/* the active master's lease */
	char		 ha_etcd_ca[PATH_MAX];	/* "" = plain HTTP */
	char		 ha_etcd_cert[PATH_MAX];
	char		 ha_etcd_key[PATH_MAX];
};

void		 config_defaults(struct config *);
int		 config_load(const char *path, struct config *, FILE *errs);
int		 config_parse(const char *name, FILE *in, struct config *,
		    FILE *errs);
void		 config_print(const struct config *, FILE *);
int		 config_valid_name(const char *);
const char	*config_node_type_name(enum node_type);
int		 config_path(const struct config *, const char *rel, char *out,
		    size_t outlen);

#endif
