/*
 * agents: the in-memory table of enrolled agents.  The master's is the
 * authority (backed by the SQLite registry); each worker holds a replica
 * of the replicated fields (id, name, ip, key, groups), kept equal by
 * deltas and checked by a digest: the XOR of a hash of each agent's
 * replicated fields, so adding or removing one agent updates it in O(1)
 * and two tables with the same agents have the same digest whatever their
 * order.
 */
#ifndef CLUSTERD_AGENTS_H
#define CLUSTERD_AGENTS_H

#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "agent/addr.h"
#include "base/strmap.h"

#define AGENT_ID_MAX		16
#define AGENT_NAME_MAX		128
#define AGENT_IP_MAX		AGENT_ADDR_MAX
#define AGENT_KEY_LEN		64
#define AGENT_GROUPS_MAX	4096	/* the "g1,g2" list */
#define AGENT_GROUP_NAME_MAX	255
#define AGENT_FIELD_MAX		64	/* version, node name */
#define AGENTS_NSTATUS		4	/* agents_statuses */
#define AGENT_NAME_INLINE	30	/* what fills struct agent to 168 */

/*
 * One agent: every node holds every agent of the cluster, so its size is
 * most of a node's heap (50,000 agents).  168 bytes, one 176-byte malloc
 * chunk, the name inside for names that fit (agents.c checks the size).
 * The text fields other than id, key and name are pointers, set by the
 * agent_set_*() functions below and owned by the agent.  Common values
 * ("", "any", "unknown") are shared constants, never copied; the status
 * is an index in agents_statuses, read with agent_status(a).  Each field's
 * length is bounded by its setter.  The key is kept in binary (see the
 * struct).
 *
 * The four per-agent addresses are kept together in binary (agent/addr.h)
 * in one block, allocated only when one of them is not its default (""
 * and register_ip "any"): a worker's replica of the agents it does not
 * serve has none.  Read them with AGENT_ADDR_OF(a, AGENT_SOURCE_IP).  ip
 * stays a pointer: it keys by_ip.  reported_ip and source_ip are the
 * master's (and the gateway's): never replicated, not in the digest.
 */
enum agent_addr_field {
	AGENT_REGISTER_IP,	/* asked for at enrollment, or "any" */
	AGENT_ENROLL_SRC,	/* master: its enrollment's source */
	AGENT_REPORTED_IP,	/* keepalive's _agent_ip, "" unknown */
	AGENT_SOURCE_IP,	/* connected from (PROXY's source) */
	AGENT_NADDR
};

struct agent_addrs {
	struct agent_addr v[AGENT_NADDR];	/* 68 bytes */
};

struct agent {
	char		 id[AGENT_ID_MAX];
	/* The key's 64 hex digits in binary and which of them were written
	 * in upper case (bit i: digit i), so that it reads back byte for
	 * byte: the agent's message key is an MD5 of the text.  Set it with
	 * agent_set_key(), read it with AGENT_KEY_OF(a). */
	uint8_t		 key_bin[AGENT_KEY_LEN / 2];
	uint64_t	 key_upper;
	/* Times in seconds since the epoch, unsigned 32 bits (to 2106): set
	 * them through agent_time() from anything read from outside. */
	uint32_t	 date_add;
	uint32_t	 last_keepalive;
	uint32_t	 disconnection_time;
	/* counters, for enforce_counters: Wazuh's unsigned int global
	 * (secmsg_global32) and its 4-digit local */
	uint32_t	 last_global;
	unsigned	 last_local;
	uint32_t	 info_hash;	/* of the last keepalive text */
	const char	*name;		/* at most AGENT_NAME_MAX */
	const char	*ip;		/* "any" or an address */
	struct agent_addrs *addrs;	/* NULL: all at their defaults */
	const char	*version;	/* "" when not known */
	const char	*node_name;	/* "unknown" until a node serves it */
	const char	*groups;	/* "g1,g2" or NULL; may be pooled */
	/* worker gateway state (unused on the master) */
	void		*gw;		/* its live connection, or NULL */
	uint8_t		 status;	/* index in agents_statuses */
	uint8_t		 gw_seen;	/* served here: gw_int.h GW_* bits */
	/* name points here when it fits (AGENT_NAME_INLINE - 1 characters
	 * and its NUL: most names), else to a heap copy.  So a struct agent
	 * is never copied whole (*dst = *src): the copy's name would point
	 * into the source.  agent_copy() makes a copy. */
	char		 name_buf[AGENT_NAME_INLINE];
};

/* An agent's status (connection_status): one of these. */
extern const char *const agents_statuses[AGENTS_NSTATUS];

/* Its status as text: one of agents_statuses, a constant. */
static inline const char *
agent_status(const struct agent *a)
{
	return agents_statuses[a->status < AGENTS_NSTATUS ? a->status : 0];
}

static inline int
agent_is_active(const struct agent *a)
{
	return strcmp(agent_status(a), "active") == 0;
}

/* Active or pending: connected as far as this node knows, so watched for
 * agents_disconnection_time. */
static inline int
agent_is_up(const struct agent *a)
{
	return agent_is_active(a) || strcmp(agent_status(a), "pending") == 0;
}

/* A time read from a record, JSON, SQLite or the clock, as the agent
 * keeps it: below 0 (or not a number) 0, past UINT32_MAX UINT32_MAX. */
uint32_t	 agent_time(double);

/*
 * How often a node looks for agents silent past agents_disconnection_time:
 * a thirtieth of it, from 0.5 s to 10 s.  A pass costs the agents it
 * looks at; checking every second for a limit of 15 minutes was most of
 * an idle worker's own work beside its agents' messages.
 */
double		 agents_sweep_interval(double disconnection_time);

struct agents {
	struct strmap	 by_id;
	struct strmap	 by_name;
	struct strmap	 by_ip;		/* agents with an ip other than any */
	uint8_t		 digest[16];
	long		 next_id;	/* master: next id to hand out */
};

void		 agents_init(struct agents *);
void		 agents_free(struct agents *);
struct agent	*agent_new(void);
void		 agent_free(struct agent *);
int		 agent_set_groups(struct agent *, const char *);
/* Set a text field to a copy of s, cut at the field's bound; -1 when out
 * of memory (the field is then unchanged).  A status must be one of the
 * four (never_connected, pending, active, disconnected): -1 otherwise. */
int		 agent_set_name(struct agent *, const char *);
int		 agent_set_ip(struct agent *, const char *);
int		 agent_set_register_ip(struct agent *, const char *);
int		 agent_set_enroll_src(struct agent *, const char *);
/* The address an agent reports and the one it connects from: "" or a
 * valid IPv4 or IPv6 address (agents_valid_ip), else -1 and unchanged. */
int		 agent_set_reported_ip(struct agent *, const char *);
int		 agent_set_source_ip(struct agent *, const char *);
/* One of the four addresses as text: a constant, the agent's own copy,
 * or formatted into buf.  AGENT_ADDR_OF's text lasts to the end of the
 * enclosing block. */
const char	*agent_addr(const struct agent *, enum agent_addr_field,
		    char buf[AGENT_IP_MAX]);
#define AGENT_ADDR_OF(a, f) \
	agent_addr((a), (f), (char[AGENT_IP_MAX]){ 0 })
/* The key: exactly AGENT_KEY_LEN hex digits, in either case, else -1
 * and unchanged.  agent_key() writes its text into buf; AGENT_KEY_OF's
 * lasts to the end of the enclosing block.  An agent never given one
 * reads as 64 zeros. */
int		 agent_set_key(struct agent *, const char *);
const char	*agent_key(const struct agent *, char buf[AGENT_KEY_LEN + 1]);
#define AGENT_KEY_OF(a) \
	agent_key((a), (char[AGENT_KEY_LEN + 1]){ 0 })
/* 1 when the agent's key reads as text (or a and b have the same key). */
int		 agent_key_is(const struct agent *, const char *text);
int		 agent_same_key(const struct agent *, const struct agent *);
/* 1 when s is exactly AGENT_KEY_LEN hex digits. */
int		 agents_valid_key(const char *s);
int		 agent_set_version(struct agent *, const char *);
int		 agent_set_node(struct agent *, const char *);
int		 agent_set_status(struct agent *, const char *);
/* A deep copy of src's stored fields into dst (a zeroed or cleared
 * struct), for another thread; agent_clear() frees what it holds. */
int		 agent_copy(struct agent *dst, const struct agent *src);
void		 agent_clear(struct agent *);
int		 agents_add(struct agents *, struct agent *);
struct agent	*agents_remove(struct agents *, const char *id);
struct agent	*agents_by_id(const struct agents *, const char *id);
struct agent	*agents_by_name(const struct agents *, const char *name);
struct agent	*agents_by_ip(const struct agents *, const char *ip);
size_t		 agents_count(const struct agents *);
/* Every agent, by numeric id, in an array the caller frees; NULL when
 * out of memory. */
struct agent	**agents_sorted(const struct agents *, size_t *n);
void		 agents_count_status(const struct agents *,
		    unsigned long counts[AGENTS_NSTATUS]);
void		 agents_rehash(struct agents *, struct agent *, const char *);
void		 agent_key_hash(const struct agent *, char out[41]);
cJSON		*agent_record_json(const struct agent *);
struct agent	*agent_from_record(const cJSON *, char *err, size_t);
int		 agents_valid_name(const char *);
int		 agents_valid_group(const char *);
int		 agents_valid_id(const char *);
/* 1 when s is an IPv4 or IPv6 address in its usual text form. */
int		 agents_valid_ip(const char *s);
void		 agents_format_id(long, char out[AGENT_ID_MAX]);

#endif
