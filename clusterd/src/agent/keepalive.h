/*
 * keepalive: the agents' keepalive text (after "#!-"), parsed as Wazuh 4.x
 * managers do (remoted_op.c: parse_agent_update_msg, parse_uname_string):
 *   <uname> [<os_name>|<platform>: <version> (<codename>)] - <agent
 *   version> / <config sum>\n<label lines><merged sum> merged.mg\n
 *   #"_agent_ip":<ip>\n
 * Windows agents write " [Ver: x.y.z]" instead of the bracket.  Pure.
 */
#ifndef CLUSTERD_KEEPALIVE_H
#define CLUSTERD_KEEPALIVE_H

#include <stddef.h>

#include <cjson/cJSON.h>

#define KA_FIELD	128
#define KA_UNAME	512

struct keepalive {
	char	os_uname[KA_UNAME];
	char	os_name[KA_FIELD];
	char	os_platform[KA_FIELD];
	char	os_version[KA_FIELD];
	char	os_codename[KA_FIELD];
	char	os_major[KA_FIELD];
	char	os_minor[KA_FIELD];
	char	os_build[KA_FIELD];
	char	os_arch[KA_FIELD];
	char	version[KA_FIELD];
	char	config_sum[KA_FIELD];
	char	merged_sum[KA_FIELD];
	char	agent_ip[KA_FIELD];
	cJSON	*labels;	/* {"key":"value"}; hidden ("!") keys kept too */
};

int	keepalive_parse(const char *text, struct keepalive *);
void	keepalive_free(struct keepalive *);
cJSON	*keepalive_json(const struct keepalive *);
void	 keepalive_merged_sum(const char *text, char *out, size_t outlen);

#endif
