/*
 * enroll_parse: the agents' enrollment request, one line:
 *   [OSSEC PASS: <password> ]OSSEC A:'<name>'[ V:'<ver>'][ G:'<g1,g2>']
 *   [ IP:'<ip>'|IP:'src'][ K:'<sha1 hex>']
 * parsed exactly as Wazuh 4.x managers do, with the same error answers.
 * Pure: no sockets, no state, so it is unit tested and fuzzed alone.
 */
#ifndef CLUSTERD_ENROLL_PARSE_H
#define CLUSTERD_ENROLL_PARSE_H

#include <stddef.h>
#include <time.h>

#include "agent/agents.h"

#define ENROLL_LINE_MAX		(70 * 1024)	/* groups may be 64 KiB */
#define ENROLL_PASS_MAX		4096
#define ENROLL_MAX_GROUPS	128
#define ENROLL_ANSWER_MAX	2048

struct enroll_req {
	int	 has_password;
	char	 password[ENROLL_PASS_MAX + 1];
	char	 name[AGENT_NAME_MAX + 1];
	char	 version[AGENT_FIELD_MAX];	/* "" when not sent */
	char	 groups[AGENT_GROUPS_MAX + 1];	/* deduplicated, "" if none */
	char	 ip[AGENT_IP_MAX];		/* "", "src" or an address */
	char	 key_hash[41];			/* "" when not sent */
};

int	enroll_parse(const char *line, size_t len, struct enroll_req *,
	    char *answer, size_t answerlen);
int	enroll_valid_ip(const char *);
int	enroll_version_cmp(const char *a, const char *b);

/* The replace policy's settings (from the configuration). */
struct enroll_force {
	int	enabled;
	double	disconnected_time;	/* 0: not checked */
	double	after_registration_time;	/* 0: not checked */
	int	key_mismatch;
};

int	enroll_may_replace(const struct agent *old, const char *key_hash,
	    const struct enroll_force *, time_t now, char *why, size_t);

#endif
