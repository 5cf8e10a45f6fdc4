/*
 * fuzz_hello: a node's HELLO body as the master reads it, on arbitrary
 * bytes.  cJSON_Parse, hello_parse, then the master's decision
 * (hello_check) with a name taken or not.
 *
 * A refused parse or check leaves a terminated, non-empty reason.  A
 * parsed hello has terminated fields that fit their buffers, ports in
 * 0..65535 and standby 0 or 1.  An admitted one is of the master's
 * cluster, has a valid name other than the master's and not taken, a
 * compatible version, and is a worker, a balancer, or a master that says
 * it is a standby (docs/ha.md); a standby is always a master.
 *
 * Seeds (tests/fuzz/seeds/fuzz_hello): a worker's, a balancer's and a
 * standby master's hellos, and refused ones.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/config.h"
#include "net/hello.h"

#include "fuzz.h"

static int
taken(const char *name, void *arg)
{
	(void)name;
	return *(int *)arg;
}

static void
terminated(const char *s, size_t size)
{
	CHECK(strnlen(s, size) < size);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config	m;
	struct hello		h;
	cJSON			*j;
	char			*text, err[128], reason[256];
	int			 r, t;

	if (m.node_name[0] == '\0') {
		config_defaults(&m);
		m.node_type = NODE_MASTER;
		snprintf(m.node_name, sizeof(m.node_name), "master1");
		snprintf(m.cluster_name, sizeof(m.cluster_name), "itest");
	}
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	j = cJSON_Parse(text);
	free(text);
	memset(err, 'Z', sizeof(err));
	if (hello_parse(j, &h, err, sizeof(err)) == -1) {
		terminated(err, sizeof(err));
		CHECK(err[0] != '\0');
		cJSON_Delete(j);
		return 0;
	}
	terminated(h.cluster_name, sizeof(h.cluster_name));
	terminated(h.node_name, sizeof(h.node_name));
	terminated(h.node_type, sizeof(h.node_type));
	terminated(h.version, sizeof(h.version));
	terminated(h.gateway_address, sizeof(h.gateway_address));
	terminated(h.enrollment_address, sizeof(h.enrollment_address));
	CHECK(h.gateway_port <= 65535 && h.enrollment_port <= 65535 &&
	    h.agent_check_port <= 65535);
	CHECK(h.standby == 0 || h.standby == 1);
	for (t = 0; t < 2; t++) {
		memset(reason, 'Z', sizeof(reason));
		r = hello_check(&h, &m, "0.3.0", taken, &t, reason,
		    sizeof(reason));
		CHECK(r == 0 || r == -1);
		if (r == -1) {
			terminated(reason, sizeof(reason));
			CHECK(reason[0] != '\0');
			continue;
		}
		CHECK(t == 0);
		CHECK(strcmp(h.cluster_name, m.cluster_name) == 0);
		CHECK(config_valid_name(h.node_name));
		CHECK(strcmp(h.node_name, m.node_name) != 0);
		CHECK(hello_version_compatible(h.version, "0.3.0"));
		CHECK(strcmp(h.node_type, "worker") == 0 ||
		    strcmp(h.node_type, "balancer") == 0 ||
		    (strcmp(h.node_type, "master") == 0 && h.standby));
		CHECK(!h.standby || strcmp(h.node_type, "master") == 0);
	}
	cJSON_Delete(j);
	return 0;
}
