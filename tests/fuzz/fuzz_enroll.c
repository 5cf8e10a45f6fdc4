/*
 * fuzz_enroll: enroll_parse() on arbitrary bytes taken as one request line
 * (the newline already cut, as enroll.c hands it over).  A refused line
 * gets an "ERROR: " answer; an accepted one must hold only what the rest
 * of clusterd trusts: a valid name, valid and distinct groups, an IP that
 * is "", "src" or an address, and a key hash that is "" or 40 lowercase
 * hex digits.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agents.h"
#include "agent/enroll_parse.h"

#include "fuzz.h"

/* Each group valid, none twice, at most ENROLL_MAX_GROUPS. */
static void
check_groups(const char *groups)
{
	char	copy[AGENT_GROUPS_MAX + 1], *seen[ENROLL_MAX_GROUPS + 1];
	char	*g, *save = NULL;
	size_t	n = 0, i;

	CHECK(strlen(groups) <= AGENT_GROUPS_MAX);
	if (groups[0] == '\0')
		return;
	/* No empty entries: no leading, trailing or doubled comma. */
	CHECK(groups[0] != ',');
	CHECK(groups[strlen(groups) - 1] != ',');
	CHECK(strstr(groups, ",,") == NULL);
	strcpy(copy, groups);
	for (g = strtok_r(copy, ",", &save); g != NULL;
	    g = strtok_r(NULL, ",", &save)) {
		CHECK(agents_valid_group(g));
		for (i = 0; i < n; i++)
			CHECK(strcmp(seen[i], g) != 0);
		CHECK(n < ENROLL_MAX_GROUPS);
		seen[n++] = g;
	}
}

static void
check_key_hash(const char *h)
{
	size_t	i;

	if (h[0] == '\0')
		return;
	CHECK(strlen(h) == 40);
	for (i = 0; i < 40; i++)
		CHECK((h[i] >= '0' && h[i] <= '9') ||
		    (h[i] >= 'a' && h[i] <= 'f'));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct enroll_req	 req;
	char			 answer[ENROLL_ANSWER_MAX];
	int			 r;

	memset(answer, 'X', sizeof(answer));
	answer[sizeof(answer) - 1] = '\0';
	r = enroll_parse((const char *)data, size, &req, answer,
	    sizeof(answer));
	CHECK(r == 0 || r == -1);
	if (r == -1) {
		CHECK(strncmp(answer, "ERROR: ", 7) == 0);
		CHECK(strlen(answer) < sizeof(answer));
		return 0;
	}
	/* Accepted: nothing was written to the answer. */
	CHECK(answer[0] == 'X');
	CHECK(size <= ENROLL_LINE_MAX);
	CHECK(memchr(data, '\0', size) == NULL);
	CHECK(agents_valid_name(req.name));
	CHECK(req.has_password == 0 || req.has_password == 1);
	CHECK(strlen(req.password) <= ENROLL_PASS_MAX);
	CHECK(req.has_password || req.password[0] == '\0');
	CHECK(strchr(req.version, '\'') == NULL);
	check_groups(req.groups);
	CHECK(req.ip[0] == '\0' || strcmp(req.ip, "src") == 0 ||
	    enroll_valid_ip(req.ip));
	check_key_hash(req.key_hash);
	return 0;
}
