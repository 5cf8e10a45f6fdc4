/*
 * bench_agents: heap an agent takes in the in-memory table, built as each
 * node builds it, measured with mallinfo2() (docs/benchmarks.md, "Where
 * the time goes at this scale").
 *   usage: bench_agents [AGENTS]   (default 50000)
 * Prints {"sizeof": struct agent, "master": bytes an agent, "worker": ...}:
 *   master: enrolled as mreg.c enrolls (no IP asked for, so ip and
 *   register_ip "any"; an enrollment source, a version, group "default"),
 *   in a table of its own;
 *   worker: rebuilt from the replicated records (agent_from_record), as a
 *   worker's replica.
 * Both include the table's maps.  Names are "scale-a03-0001234" (17
 * characters, the length of the simulator's).
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "agent/agents.h"

static void
random_hex(char out[AGENT_KEY_LEN + 1])
{
	static const char	hx[] = "0123456789abcdef";
	unsigned char		b[AGENT_KEY_LEN / 2];
	int			i;

	if (RAND_bytes(b, sizeof(b)) != 1)
		exit(1);
	for (i = 0; i < AGENT_KEY_LEN / 2; i++) {
		out[2 * i] = hx[b[i] >> 4];
		out[2 * i + 1] = hx[b[i] & 15];
	}
	out[AGENT_KEY_LEN] = '\0';
}

/* The master's way: agent_new and the setters, as mreg.c enrolls. */
static struct agent *
enrolled(long id)
{
	struct agent	*a;
	char		 name[32], key[AGENT_KEY_LEN + 1];

	if ((a = agent_new()) == NULL)
		return NULL;
	agents_format_id(id, a->id);
	random_hex(key);
	a->date_add = agent_time((double)(1700000000 + id));
	snprintf(name, sizeof(name), "scale-a03-%07ld", id);
	if (agent_set_key(a, key) == -1 || agent_set_name(a, name) == -1 ||
	    agent_set_ip(a, "any") == -1 ||
	    agent_set_register_ip(a, "any") == -1 ||
	    agent_set_enroll_src(a, "10.0.3.7") == -1 ||
	    agent_set_version(a, "Wazuh v4.14.7") == -1 ||
	    agent_set_groups(a, "default") == -1) {
		agent_free(a);
		return NULL;
	}
	return a;
}

/* In use: the arena's chunks and the mmap'd ones (the maps' slots). */
static double
heap(void)
{
	struct mallinfo2	mi = mallinfo2();

	return (double)mi.uordblks + (double)mi.hblkhd;
}

int
main(int argc, char *argv[])
{
	struct agents	 m, w;
	struct agent	*a, *b;
	cJSON		*r;
	char		 err[128];
	long		 n, i;
	double		 h0, h1, h2;

	n = argc > 1 ? strtol(argv[1], NULL, 10) : 50000;
	if (n <= 0)
		return 2;
	agents_init(&m);
	agents_init(&w);
	/* The first agent allocates the pooled values: both tables after. */
	if ((a = enrolled(n + 1)) == NULL)
		return 1;
	agent_free(a);
	h0 = heap();
	for (i = 1; i <= n; i++)
		if ((a = enrolled(i)) == NULL || agents_add(&m, a) == -1)
			return 1;
	h1 = heap();
	for (i = 1; i <= n; i++) {
		char	id[AGENT_ID_MAX];

		agents_format_id(i, id);
		/* The record is freed before the next: only the agent stays. */
		if ((r = agent_record_json(agents_by_id(&m, id))) == NULL)
			return 1;
		b = agent_from_record(r, err, sizeof(err));
		cJSON_Delete(r);
		if (b == NULL || agents_add(&w, b) == -1)
			return 1;
	}
	h2 = heap();
	if (memcmp(m.digest, w.digest, sizeof(m.digest)) != 0) {
		fprintf(stderr, "bench_agents: the replica's digest differs\n");
		return 1;
	}
	printf("{\"agents\": %ld, \"sizeof\": %zu, \"master\": %.1f, "
	    "\"worker\": %.1f}\n", n, sizeof(struct agent), (h1 - h0) / n,
	    (h2 - h1) / n);
	agents_free(&w);
	agents_free(&m);
	return 0;
}
