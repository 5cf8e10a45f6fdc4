#include <arpa/inet.h>

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "agent/agents.h"

/*
 * 168 bytes on 64-bit systems: one 176-byte malloc chunk an agent (glibc:
 * the size and 8 bytes, rounded up to 16), its name inside for most
 * names, and 50,000 of them in every node's table.  No hole: 8-byte
 * fields, then 4-byte, then bytes; the name buffer takes what is left.
 */
#if UINTPTR_MAX > UINT32_MAX
_Static_assert(sizeof(struct agent) == 168 &&
    offsetof(struct agent, name_buf) + AGENT_NAME_INLINE == 168,
    "struct agent is one 176-byte chunk, its name buffer the rest of it: "
    "check AGENT_NAME_INLINE and the fields' order");
#endif

static const char *
id_of(const void *a)
{
	return ((const struct agent *)a)->id;
}

static const char *
name_of(const void *a)
{
	return ((const struct agent *)a)->name;
}

static const char *
ip_of(const void *a)
{
	return ((const struct agent *)a)->ip;
}

/* The maps find keys in the agents: 8 bytes a slot, not 16. */
void
agents_init(struct agents *t)
{
	memset(t, 0, sizeof(*t));
	strmap_init_keyed(&t->by_id, id_of);
	strmap_init_keyed(&t->by_name, name_of);
	strmap_init_keyed(&t->by_ip, ip_of);
	t->next_id = 1;
}

void
agents_free(struct agents *t)
{
	struct agent	*a;
	size_t		 it = 0;

	while ((a = strmap_next(&t->by_id, &it)) != NULL)
		agent_free(a);
	strmap_free(&t->by_id);
	strmap_free(&t->by_name);
	strmap_free(&t->by_ip);
}

/* Shared values: never allocated, never freed. */
static const char S_EMPTY[] = "";
static const char S_ANY[] = "any";
static const char S_UNKNOWN[] = "unknown";

/*
 * Values many agents share (a version, a node's name, a group list): the first
 * POOL_MAX distinct ones are kept once for the process's life, so 50,000
 * agents on 10 workers hold 10 node names, not 50,000 copies.  The pool
 * never grows past its size, whatever agents report; values beyond it
 * are copied per agent.
 */
#define POOL_MAX	128
static char	*pool[POOL_MAX];

static const char *
pooled(const char *s, size_t max)
{
	size_t	i;

	for (i = 0; i < POOL_MAX && pool[i] != NULL; i++)
		if (strncmp(pool[i], s, max) == 0 && strlen(pool[i]) ==
		    strnlen(s, max))
			return pool[i];
	if (i == POOL_MAX || (pool[i] = strndup(s, max)) == NULL)
		return NULL;
	return pool[i];
}

static int
shared(const char *p)
{
	size_t	i;

	if (p == S_EMPTY || p == S_ANY || p == S_UNKNOWN)
		return 1;
	for (i = 0; i < POOL_MAX && pool[i] != NULL; i++)
		if (p == pool[i])
			return 1;
	return 0;
}

static void
drop_str(const char **f)
{
	if (*f != NULL && !shared(*f))
		free((char *)(uintptr_t)*f);
	*f = NULL;
}

/*
 * *f = a copy of s, at most max characters; shared values are not copied,
 * and with pool, values from the pool are not either.
 */
static int
set_str_pool(const char **f, const char *s, size_t max, int use_pool)
{
	const char	*v;
	char		*c;

	if (s == NULL || *s == '\0')
		v = S_EMPTY;
	else if (*f != NULL && strncmp(*f, s, max) == 0 && strlen(*f) ==
	    strnlen(s, max))
		return 0;	/* unchanged: reports repeat the same values */
	else if (strcmp(s, S_ANY) == 0)
		v = S_ANY;
	else if (strcmp(s, S_UNKNOWN) == 0)
		v = S_UNKNOWN;
	else if (!use_pool || (v = pooled(s, max)) == NULL) {
		if ((c = strndup(s, max)) == NULL)
			return -1;
		v = c;
	}
	drop_str(f);
	*f = v;
	return 0;
}

static int
set_str(const char **f, const char *s, size_t max)
{
	return set_str_pool(f, s, max, 0);
}

static const char *
addr_default(enum agent_addr_field f)
{
	return f == AGENT_REGISTER_IP ? S_ANY : S_EMPTY;
}

static void
drop_addrs(struct agent *a)
{
	int	f;

	if (a->addrs == NULL)
		return;
	for (f = 0; f < AGENT_NADDR; f++)
		agent_addr_clear(&a->addrs->v[f]);
	free(a->addrs);
	a->addrs = NULL;
}

/* Set address f, allocating the block when it first leaves its default. */
static int
set_addr(struct agent *a, enum agent_addr_field f, const char *s)
{
	struct agent_addrs	*b;
	int			 i;

	if (a->addrs == NULL) {
		if (strcmp(s != NULL ? s : "", addr_default(f)) == 0)
			return 0;
		if ((b = calloc(1, sizeof(*b))) == NULL)
			return -1;
		for (i = 0; i < AGENT_NADDR; i++)	/* inline: no failure */
			agent_addr_set(&b->v[i], addr_default(i),
			    AGENT_IP_MAX - 1);
		if (agent_addr_set(&b->v[f], s, AGENT_IP_MAX - 1) == -1) {
			free(b);
			return -1;
		}
		a->addrs = b;
		return 0;
	}
	return agent_addr_set(&a->addrs->v[f], s, AGENT_IP_MAX - 1);
}

const char *
agent_addr(const struct agent *a, enum agent_addr_field f,
    char buf[AGENT_IP_MAX])
{
	if (a->addrs == NULL)
		return addr_default(f);
	return agent_addr_str(&a->addrs->v[f], buf);
}

struct agent *
agent_new(void)
{
	struct agent	*a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->name = a->name_buf;		/* "" */
	a->ip = S_ANY;
	a->version = S_EMPTY;
	a->node_name = S_UNKNOWN;
	agent_set_status(a, "never_connected");
	return a;
}

/* The name's heap copy, if it has one; never its own buffer. */
static void
drop_name(struct agent *a)
{
	if (a->name == a->name_buf)
		a->name = NULL;
	else
		drop_str(&a->name);
}

void
agent_clear(struct agent *a)
{
	drop_name(a);
	drop_str(&a->ip);
	drop_addrs(a);
	drop_str(&a->version);
	drop_str(&a->node_name);
	a->status = 0;
	drop_str(&a->groups);
}

void
agent_free(struct agent *a)
{
	if (a == NULL)
		return;
	agent_clear(a);
	free(a);
}

/*
 * In the agent's own buffer when it fits, else a heap copy.  s may be the
 * agent's name itself (in either place): it is copied before the old
 * name is dropped.
 */
int
agent_set_name(struct agent *a, const char *s)
{
	size_t	 n;
	char	*c;

	if (s == NULL)
		s = "";
	n = strnlen(s, AGENT_NAME_MAX);
	if (n < sizeof(a->name_buf)) {
		memmove(a->name_buf, s, n);
		a->name_buf[n] = '\0';
		drop_name(a);
		a->name = a->name_buf;
		return 0;
	}
	if ((c = strndup(s, n)) == NULL)
		return -1;
	drop_name(a);
	a->name = c;
	return 0;
}

int
agent_set_ip(struct agent *a, const char *s)
{
	return set_str(&a->ip, s, AGENT_IP_MAX - 1);
}

int
agent_set_register_ip(struct agent *a, const char *s)
{
	return set_addr(a, AGENT_REGISTER_IP, s);
}

int
agent_set_enroll_src(struct agent *a, const char *s)
{
	return set_addr(a, AGENT_ENROLL_SRC, s);
}

int
agent_set_reported_ip(struct agent *a, const char *s)
{
	if (s != NULL && *s != '\0' && !agents_valid_ip(s))
		return -1;
	return set_addr(a, AGENT_REPORTED_IP, s);
}

int
agent_set_source_ip(struct agent *a, const char *s)
{
	if (s != NULL && *s != '\0' && !agents_valid_ip(s))
		return -1;
	return set_addr(a, AGENT_SOURCE_IP, s);
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
agents_valid_key(const char *s)
{
	size_t	i;

	if (s == NULL)
		return 0;
	for (i = 0; i < AGENT_KEY_LEN; i++)
		if (hex_value(s[i]) == -1)
			return 0;
	return s[AGENT_KEY_LEN] == '\0';
}

/* Checked whole before anything changes: a refused key leaves the old. */
int
agent_set_key(struct agent *a, const char *s)
{
	uint64_t	upper = 0;
	size_t		i;

	if (!agents_valid_key(s))
		return -1;
	for (i = 0; i < AGENT_KEY_LEN; i++)
		if (s[i] >= 'A' && s[i] <= 'F')
			upper |= (uint64_t)1 << i;
	for (i = 0; i < AGENT_KEY_LEN / 2; i++)
		a->key_bin[i] = (uint8_t)(hex_value(s[2 * i]) << 4 |
		    hex_value(s[2 * i + 1]));
	a->key_upper = upper;
	return 0;
}

const char *
agent_key(const struct agent *a, char buf[AGENT_KEY_LEN + 1])
{
	static const char	lower[] = "0123456789abcdef";
	static const char	upper[] = "0123456789ABCDEF";
	unsigned		v;
	size_t			i;

	for (i = 0; i < AGENT_KEY_LEN; i++) {
		v = i % 2 == 0 ? a->key_bin[i / 2] >> 4 : a->key_bin[i / 2] &
		    15;
		buf[i] = (a->key_upper >> i & 1 ? upper : lower)[v];
	}
	buf[AGENT_KEY_LEN] = '\0';
	return buf;
}

int
agent_key_is(const struct agent *a, const char *s)
{
	return strcmp(AGENT_KEY_OF(a), s) == 0;
}

int
agent_same_key(const struct agent *a, const struct agent *b)
{
	return memcmp(a->key_bin, b->key_bin, sizeof(a->key_bin)) == 0 &&
	    a->key_upper == b->key_upper;
}

int
agent_set_version(struct agent *a, const char *s)
{
	return set_str_pool(&a->version, s, AGENT_FIELD_MAX - 1, 1);
}

int
agent_set_node(struct agent *a, const char *s)
{
	return set_str_pool(&a->node_name, s, AGENT_FIELD_MAX - 1, 1);
}

int
agent_set_status(struct agent *a, const char *s)
{
	size_t	i;

	for (i = 0; i < AGENTS_NSTATUS; i++)
		if (strcmp(s, agents_statuses[i]) == 0) {
			a->status = (uint8_t)i;
			return 0;
		}
	return -1;
}

int
agent_copy(struct agent *dst, const struct agent *src)
{
	*dst = *src;
	dst->name = dst->ip = dst->version = dst->node_name = NULL;
	dst->groups = NULL;
	dst->gw = NULL;
	dst->addrs = NULL;
	if (agent_set_name(dst, src->name) == -1 ||
	    agent_set_ip(dst, src->ip) == -1 ||
	    agent_set_register_ip(dst, AGENT_ADDR_OF(src,
	    AGENT_REGISTER_IP)) == -1 ||
	    agent_set_enroll_src(dst, AGENT_ADDR_OF(src,
	    AGENT_ENROLL_SRC)) == -1 ||
	    agent_set_reported_ip(dst, AGENT_ADDR_OF(src,
	    AGENT_REPORTED_IP)) == -1 ||
	    agent_set_source_ip(dst, AGENT_ADDR_OF(src,
	    AGENT_SOURCE_IP)) == -1 ||
	    agent_set_version(dst, src->version) == -1 ||
	    agent_set_node(dst, src->node_name) == -1 ||
	    agent_set_groups(dst, src->groups) == -1) {
		agent_clear(dst);
		return -1;
	}
	return 0;
}

/* Groups are pooled: most agents of a cluster share a few group lists
 * ("default" for every agent enrolled without one). */
int
agent_set_groups(struct agent *a, const char *groups)
{
	if (groups == NULL || *groups == '\0') {
		drop_str(&a->groups);
		return 0;
	}
	return set_str_pool(&a->groups, groups, strlen(groups), 1);
}

/* MD5 of the replicated fields, NUL-separated. */
static void
record_hash(const struct agent *a, uint8_t out[16])
{
	EVP_MD_CTX	*ctx;
	const char	*f[5];
	char		 key[AGENT_KEY_LEN + 1];
	unsigned	 len, i;

	f[0] = a->id;
	f[1] = a->name;
	f[2] = a->ip;
	f[3] = agent_key(a, key);
	f[4] = a->groups != NULL ? a->groups : "";
	memset(out, 0, 16);
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return;
	EVP_DigestInit_ex(ctx, EVP_md5(), NULL);
	for (i = 0; i < 5; i++)
		EVP_DigestUpdate(ctx, f[i], strlen(f[i]) + 1);
	EVP_DigestFinal_ex(ctx, out, &len);
	EVP_MD_CTX_free(ctx);
}

/*
 * XOR a's hash into the digest: adding and removing an agent are the same
 * operation.  The hash is computed each time rather than kept (16 bytes
 * an agent): the replicated fields never change while the agent is in a
 * table, except groups, through agents_rehash().
 */
static void
agent_fold(struct agents *t, const struct agent *a)
{
	uint8_t	h[16];
	int	i;

	record_hash(a, h);
	for (i = 0; i < 16; i++)
		t->digest[i] ^= h[i];
}

/* Add an agent (the table takes it); -1 if its id or name is taken. */
int
agents_add(struct agents *t, struct agent *a)
{
	if (strmap_get(&t->by_id, a->id) != NULL ||
	    strmap_get(&t->by_name, a->name) != NULL)
		return -1;
	if (strmap_put(&t->by_id, a->id, a) == -1)
		return -1;
	if (strmap_put(&t->by_name, a->name, a) == -1) {
		strmap_del(&t->by_id, a->id);
		return -1;
	}
	if (strcmp(a->ip, "any") != 0)
		strmap_put(&t->by_ip, a->ip, a);
	agent_fold(t, a);
	return 0;
}

/* Take an agent out of the table; the caller frees it. */
struct agent *
agents_remove(struct agents *t, const char *id)
{
	struct agent	*a;

	if ((a = strmap_del(&t->by_id, id)) == NULL)
		return NULL;
	strmap_del(&t->by_name, a->name);
	if (strcmp(a->ip, "any") != 0 && strmap_get(&t->by_ip, a->ip) == a)
		strmap_del(&t->by_ip, a->ip);
	agent_fold(t, a);
	return a;
}

/* After changing a's groups: its old hash out, the new one in. */
void
agents_rehash(struct agents *t, struct agent *a, const char *groups)
{
	agent_fold(t, a);
	agent_set_groups(a, groups);
	agent_fold(t, a);
}

struct agent *
agents_by_id(const struct agents *t, const char *id)
{
	return strmap_get(&t->by_id, id);
}

struct agent *
agents_by_name(const struct agents *t, const char *name)
{
	return strmap_get(&t->by_name, name);
}

struct agent *
agents_by_ip(const struct agents *t, const char *ip)
{
	return strmap_get(&t->by_ip, ip);
}

size_t
agents_count(const struct agents *t)
{
	return t->by_id.n;
}

static int
cmp_id(const void *a, const void *b)
{
	long	x = atol((*(struct agent *const *)a)->id);
	long	y = atol((*(struct agent *const *)b)->id);

	return x < y ? -1 : x > y;
}

struct agent **
agents_sorted(const struct agents *t, size_t *n)
{
	struct agent	**v, *a;
	size_t		 i = 0, it = 0;

	*n = agents_count(t);
	if ((v = calloc(*n + 1, sizeof(*v))) == NULL)
		return NULL;
	while ((a = strmap_next(&t->by_id, &it)) != NULL)
		v[i++] = a;
	qsort(v, *n, sizeof(*v), cmp_id);
	return v;
}

const char *const agents_statuses[AGENTS_NSTATUS] = {
	"active", "disconnected", "pending", "never_connected"
};

/*
 * How many agents have each status, in the order of agents_statuses; an
 * agent with any other status (none should have one) is not counted.
 */
void
agents_count_status(const struct agents *t,
    unsigned long counts[AGENTS_NSTATUS])
{
	const struct agent	*a;
	size_t			 it = 0;

	memset(counts, 0, AGENTS_NSTATUS * sizeof(counts[0]));
	while ((a = strmap_next(&t->by_id, &it)) != NULL)
		if (a->status < AGENTS_NSTATUS)
			counts[a->status]++;
}

uint32_t
agent_time(double t)
{
	if (!(t > 0))		/* negative, zero or NaN */
		return 0;
	if (t >= (double)UINT32_MAX)
		return UINT32_MAX;
	return (uint32_t)t;
}

/* The agent's identity as it sends it in K:: SHA-1 of id, name and key. */
void
agent_key_hash(const struct agent *a, char out[41])
{
	static const char	 hx[] = "0123456789abcdef";
	EVP_MD_CTX		*ctx;
	uint8_t			 md[20];
	unsigned		 len, i;

	out[0] = '\0';
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return;
	EVP_DigestInit_ex(ctx, EVP_sha1(), NULL);
	EVP_DigestUpdate(ctx, a->id, strlen(a->id));
	EVP_DigestUpdate(ctx, a->name, strlen(a->name));
	EVP_DigestUpdate(ctx, AGENT_KEY_OF(a), AGENT_KEY_LEN);
	EVP_DigestFinal_ex(ctx, md, &len);
	EVP_MD_CTX_free(ctx);
	for (i = 0; i < 20; i++) {
		out[2 * i] = hx[md[i] >> 4];
		out[2 * i + 1] = hx[md[i] & 15];
	}
	out[40] = '\0';
}

/* [id, name, ip, key, groups]: what workers hold of an agent. */
cJSON *
agent_record_json(const struct agent *a)
{
	cJSON	*r = cJSON_CreateArray();

	cJSON_AddItemToArray(r, cJSON_CreateString(a->id));
	cJSON_AddItemToArray(r, cJSON_CreateString(a->name));
	cJSON_AddItemToArray(r, cJSON_CreateString(a->ip));
	cJSON_AddItemToArray(r, cJSON_CreateString(AGENT_KEY_OF(a)));
	cJSON_AddItemToArray(r, cJSON_CreateString(a->groups != NULL ?
	    a->groups : ""));
	return r;
}

static int
copy_field(const cJSON *v, char *out, size_t outlen)
{
	if (!cJSON_IsString(v) || strlen(v->valuestring) >= outlen)
		return -1;
	strcpy(out, v->valuestring);
	return 0;
}

/* A string item of at most max characters, or NULL. */
static const char *
str_item(const cJSON *v, size_t max)
{
	return cJSON_IsString(v) && strlen(v->valuestring) <= max ?
	    v->valuestring : NULL;
}

/* Rebuild a replicated record received from the master, checked. */
struct agent *
agent_from_record(const cJSON *r, char *err, size_t errlen)
{
	struct agent	*a;
	const cJSON	*g;
	const char	*name, *ip, *key;

	if (!cJSON_IsArray(r) || cJSON_GetArraySize(r) != 5 ||
	    (a = agent_new()) == NULL) {
		snprintf(err, errlen, "malformed agent record");
		return NULL;
	}
	g = cJSON_GetArrayItem(r, 4);
	name = str_item(cJSON_GetArrayItem(r, 1), AGENT_NAME_MAX);
	ip = str_item(cJSON_GetArrayItem(r, 2), AGENT_IP_MAX - 1);
	key = str_item(cJSON_GetArrayItem(r, 3), AGENT_KEY_LEN);
	if (copy_field(cJSON_GetArrayItem(r, 0), a->id, sizeof(a->id)) ||
	    name == NULL || ip == NULL || agent_set_name(a, name) == -1 ||
	    agent_set_ip(a, ip) == -1 || key == NULL ||
	    !cJSON_IsString(g) || strlen(g->valuestring) > AGENT_GROUPS_MAX ||
	    !agents_valid_id(a->id) || !agents_valid_name(a->name) ||
	    strlen(key) != AGENT_KEY_LEN ||
	    agent_set_groups(a, g->valuestring) == -1) {
		snprintf(err, errlen, "invalid agent record");
		agent_free(a);
		return NULL;
	}
	if (agent_set_key(a, key) == -1) {
		snprintf(err, errlen, "invalid agent key");
		agent_free(a);
		return NULL;
	}
	return a;
}

/* Agent names: 2 to 128 of [A-Za-z0-9._-], not starting with '.'. */
int
agents_valid_name(const char *s)
{
	size_t	i, n = strlen(s);

	if (n < 2 || n > AGENT_NAME_MAX || s[0] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '_' && s[i] != '-')
			return 0;
	return 1;
}

/* Group names: [A-Za-z0-9._-]+, not "." or "..", at most 255. */
int
agents_valid_group(const char *s)
{
	size_t	i, n = strlen(s);

	if (n == 0 || n > AGENT_GROUP_NAME_MAX || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '_' && s[i] != '-')
			return 0;
	return 1;
}

/* Ids: decimal, at least 3 digits ("001"), at most 9. */
int
agents_valid_id(const char *s)
{
	size_t	i, n = strlen(s);

	if (n < 3 || n > 9)
		return 0;
	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/*
 * Addresses from the network (a keepalive's _agent_ip, a PROXY header's
 * source) go into the registry and onto operators' screens: only an
 * address inet_pton() reads, no name, no scope, no trailing bytes.
 */
int
agents_valid_ip(const char *s)
{
	struct in6_addr	a6;
	struct in_addr	a4;

	if (s == NULL || strnlen(s, AGENT_IP_MAX) >= AGENT_IP_MAX)
		return 0;
	return inet_pton(AF_INET, s, &a4) == 1 ||
	    inet_pton(AF_INET6, s, &a6) == 1;
}

void
agents_format_id(long id, char out[AGENT_ID_MAX])
{
	snprintf(out, AGENT_ID_MAX, "%03ld", id);
}

double
agents_sweep_interval(double disconnection_time)
{
	double	t = disconnection_time / 30;

	return t < 0.5 ? 0.5 : t > 10 ? 10 : t;
}
