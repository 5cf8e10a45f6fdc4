/*
 * fuzz_replay: the "counters" of a worker's report or of a master's
 * delta, on arbitrary bytes.  cJSON_Parse, then replay_parse of every
 * element of its "counters" array (and of the text itself).
 *
 * An accepted entry has an id of 1 to AGENT_ID_MAX - 1 characters and
 * counters within 10 digits (read modulo 2^32, as Wazuh reads a message's)
 * and 4 digits; noted again it reads back the same;
 * replay_raise with it never lowers an agent's counters, and raises them
 * to exactly it when it is newer.
 *
 * Seeds (tests/fuzz/seeds/fuzz_replay): reports and deltas as nodes send
 * them, and refused entries.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "agent/agents.h"
#include "agent/replay.h"
#include "agent/secmsg.h"

#include "fuzz.h"

static void
entry(const cJSON *e, struct agent *a)
{
	const char		*id, *id2;
	uint32_t		 g, g2, og = a->last_global;
	unsigned		 l, l2, ol = a->last_local;
	struct secmsg_counters	 m = { 0, 0, 0 };
	cJSON			*arr;
	int			 newer;

	if (replay_parse(e, &id, &g, &l) == -1)
		return;
	CHECK(strlen(id) > 0 && strlen(id) < AGENT_ID_MAX);
	CHECK(l <= REPLAY_LOCAL_MAX);
	snprintf(a->id, sizeof(a->id), "%s", id);
	m.global = g;
	m.local = l;
	newer = secmsg_counters_newer(&m, og, ol);
	CHECK(replay_raise(a, g, l) == newer);
	if (newer)
		CHECK(a->last_global == g && a->last_local == l);
	else
		CHECK(a->last_global == og && a->last_local == ol);
	arr = cJSON_CreateArray();
	replay_note(arr, a);
	CHECK(replay_parse(cJSON_GetArrayItem(arr, 0), &id2, &g2, &l2) == 0);
	CHECK(strcmp(id2, a->id) == 0 && g2 == a->last_global &&
	    l2 == a->last_local);
	cJSON_Delete(arr);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent	*a;
	const cJSON	*e;
	cJSON		*j;
	char		*text;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	j = cJSON_Parse(text);
	free(text);
	if (j == NULL || (a = agent_new()) == NULL) {
		cJSON_Delete(j);
		return 0;
	}
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(j, "counters"))
		entry(e, a);
	entry(j, a);
	agent_free(a);
	cJSON_Delete(j);
	return 0;
}
