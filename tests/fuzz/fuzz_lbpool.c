/*
 * fuzz_lbpool: the body of a FRAME_POOLS message from the master, on
 * arbitrary bytes.  cJSON_Parse, then lbpool_parse of its "agents" and
 * "enrollment" pools with room for LBPOOL_MAX servers (and of the whole
 * text with room for 4 when it is an array itself).
 *
 * A refused pool leaves a terminated, non-empty error.  An accepted one
 * holds at most the room given, member i from element i of the array,
 * names that are node names and unique, addresses of 1 to 63 characters
 * of [0-9A-Za-z.:-], ports in 1..65535, a check port 0 or in range, a
 * known state; lbpool_server_options fits 160 bytes (as the balancer
 * gives it) and refuses a buffer one byte short; the Runtime API command
 * built from a member is one line of 11 words (18 with an agent-check)
 * with nothing a command line would read otherwise.
 *
 * Seeds (tests/fuzz/seeds/fuzz_lbpool): pools_snapshot bodies as the
 * master sends them, bare arrays, and refused members.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/config.h"
#include "lb/lbpool.h"

#include "fuzz.h"

#define GUARD	4

static struct lbpool_server	out[LBPOOL_MAX + GUARD];

static void
address_ok(const char *s)
{
	size_t	i, n = strnlen(s, 64);

	CHECK(n > 0 && n < 64);
	for (i = 0; i < n; i++)
		CHECK((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    s[i] == '.' || s[i] == ':' || s[i] == '-');
}

static void
command_ok(const struct lbpool_server *s)
{
	char	opts[LBPOOL_OPTS_MAX], small[LBPOOL_OPTS_MAX], cmd[512];
	size_t	i, words = 1, olen;

	CHECK(lbpool_server_options(s, opts, sizeof(opts)) == 0);
	olen = strlen(opts);
	memset(small, 'Z', sizeof(small));
	CHECK(lbpool_server_options(s, small, olen) == -1);
	CHECK(small[olen - 1] == '\0' && small[olen] == 'Z');
	CHECK(lbpool_server_options(s, small, olen + 1) == 0);
	CHECK(strcmp(small, opts) == 0);
	snprintf(cmd, sizeof(cmd), "add server workers_agents/%s %s:%u %s",
	    s->name, s->address, s->port, opts);
	for (i = 0; cmd[i] != '\0'; i++) {
		CHECK(cmd[i] != ';' && cmd[i] != '\n' && cmd[i] != '\r' &&
		    cmd[i] != '\t' && cmd[i] != '#' && cmd[i] != '\\' &&
		    cmd[i] != '"' && cmd[i] != '\'');
		if (cmd[i] == ' ')
			words++;
	}
	CHECK(words == (s->check_port != 0 ? 27u : 16u));	/* send-proxy-v2 */
}

static void
pool(const cJSON *arr, size_t max)
{
	const cJSON	*el;
	const unsigned char *g;
	char		 err[128];
	size_t		 n = (size_t)-1, i, k;
	int		 r;

	memset(&out[max], 0xa5, GUARD * sizeof(out[0]));
	memset(err, 'Z', sizeof(err));
	r = lbpool_parse(arr, out, max, &n, err, sizeof(err));
	CHECK(r == 0 || r == -1);
	g = (const unsigned char *)&out[max];
	for (i = 0; i < GUARD * sizeof(out[0]); i++)
		CHECK(g[i] == 0xa5);
	if (r == -1) {
		CHECK(strnlen(err, sizeof(err)) < sizeof(err));
		CHECK(err[0] != '\0');
		return;
	}
	CHECK(cJSON_IsArray(arr));
	CHECK(n <= max && n == (size_t)cJSON_GetArraySize(arr));
	i = 0;
	cJSON_ArrayForEach(el, arr) {
		const cJSON *nm = cJSON_GetObjectItemCaseSensitive(el, "name");

		CHECK(cJSON_IsString(nm));
		CHECK(strcmp(nm->valuestring, out[i].name) == 0);
		CHECK(config_valid_name(out[i].name));
		CHECK(strnlen(out[i].name, sizeof(out[i].name)) <
		    sizeof(out[i].name));
		address_ok(out[i].address);
		CHECK(out[i].port >= 1 && out[i].port <= 65535);
		CHECK(out[i].check_port <= 65535);
		CHECK((unsigned)out[i].state < 3);
		CHECK(strcmp(lbpool_state_name(out[i].state), "?") != 0);
		for (k = 0; k < i; k++)
			CHECK(strcmp(out[k].name, out[i].name) != 0);
		command_ok(&out[i]);
		i++;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON	*j;
	char	*text;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	j = cJSON_Parse(text);
	free(text);
	if (j == NULL)
		return 0;
	pool(cJSON_GetObjectItemCaseSensitive(j, "agents"), LBPOOL_MAX);
	pool(cJSON_GetObjectItemCaseSensitive(j, "enrollment"), LBPOOL_MAX);
	if (cJSON_IsArray(j))
		pool(j, 4);
	cJSON_Delete(j);
	return 0;
}
