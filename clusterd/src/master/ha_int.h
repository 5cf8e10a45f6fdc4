/*
 * ha_int: what the two halves of master high availability share: ha.c
 * (the election thread, stepping down, the control commands) and
 * ha_store.c (the agents' records in etcd: the active master's fenced
 * writes, a standby's follower thread and its copy, the promotion's read).
 * Internal to those files; other modules use ha.h.
 */
#ifndef CLUSTERD_HA_INT_H
#define CLUSTERD_HA_INT_H

#include <pthread.h>

#include <ev.h>

#include <cjson/cJSON.h>

#include "base/config.h"
#include "net/etcd.h"

#define HA_TASK		"HA"
#define TXN_OPS		100	/* etcd refuses more than 128 by default */
#ifndef RANGE_PAGE		/* tests build with a small one */
#define RANGE_PAGE	5000	/* keys per range answer when reading all */
#endif

struct node;

enum ha_state { HA_STANDBY, HA_ACTIVE };

struct ha_shared {
	struct node	*node;
	struct etcd	 e;		/* the HA thread's client */
	struct etcd	 we;		/* the registry thread's client */
	char		 prefix[CONFIG_NAME_MAX + 16];
	double		 ttl;
	pthread_t	 thread;
	int		 running;
	ev_async	 async;
	ev_timer	 watch;		/* loop: the lease's deadline */
	int		 serving;	/* loop: the master role runs */
	pthread_mutex_t	 mu;
	/* under mu */
	int		 quit;
	enum ha_state	 state;
	long long	 term;		/* leader key's create revision */
	long long	 lease;
	double		 deadline;	/* monotonic: the lease may end after */
	double		 holdoff;	/* monotonic: no campaign before */
	double		 since;		/* wall: state since */
	int		 step_down;	/* asked by an operator */
	int		 promote;	/* asked by an operator, on a standby */
	char		 handover[CONFIG_NAME_MAX + 1];	/* <prefix>handover */
	char		 leader[CONFIG_NAME_MAX + 1];
	long long	 leader_term;
	char		 error[256];	/* last etcd failure, "" when fine */
	cJSON		*nodes;		/* <prefix>nodes/ as last read */
	double		 restore_secs;
	/* The standby's copy of the registry (follow_main, follow_cb). */
	struct etcd	 fe;		/* the follower thread's client */
	pthread_t	 fthread;
	int		 following;	/* the follower thread runs */
	ev_async	 fasync;	/* loop: a read to apply */
	cJSON		*pending;	/* under mu: read, not yet applied */
	long long	 applied;	/* under mu: revision the copy equals */
	long long	 head;		/* under mu: the store's, last seen */
	double		 probed;	/* under mu: monotonic, head last seen */
	double		 caught;	/* under mu: monotonic, last at head */
	double		 retry_at;	/* under mu: after a failed apply */
	int		 full_next;	/* under mu: read every record again */
	char		 ferror[256];	/* under mu: the follower's failure */
	unsigned long	 frounds;	/* under mu: reads applied */
	unsigned long	 frecords;	/* under mu: records they held */
	/* The promotion's read (replica_read), under mu. */
	int		 restore_full;
	unsigned	 restore_records;
	long long	 restore_since;
	/* The lag last published in nodes/<name> (HA thread only). */
	double		 pub_lag, pub_at;
	long long	 pub_behind;
};

extern struct ha_shared H;

/* Time and etcd's JSON: base64 keys under the prefix, operations. */
double	 ha_mono(void);
void	 ha_sleep_until(double t);
char	*ha_key_b64(const char *rel);
void	 ha_add_b64(cJSON *o, const char *name, char *b64);
void	 ha_add_int(cJSON *o, const char *name, long long v);
char	*ha_prefix_end_b64(const char *rel);
cJSON	*ha_put_op(char *kb64, char *vb64, long long lease);
cJSON	*ha_compare_create(long long rev);

/* Step down at once (the process executes itself again), from any thread. */
void	 ha_depose_now(const char *why);

/* ha_store.c */
int	 ha_replica_write(const cJSON *changes, char *err, size_t errlen);
cJSON	*ha_replica_read(char *err, size_t errlen);
void	 ha_pools_publish(void);
void	 ha_follow_start(struct node *);

#endif
