/*
 * fuzz_config: config_parse() on arbitrary file contents.  Errors go to
 * /dev/null; a file the parser calls valid must satisfy every rule of
 * clusterd.conf(5), and is printed to the same sink.
 *
 * A "key_file PATH" line makes the parser read PATH: it stats it first and
 * opens only a regular file, read-only, for its first 4096 bytes, so no
 * input can block on a FIFO, wake a device or write anything.
 */
#include <arpa/inet.h>

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"

#include "fuzz.h"

static FILE	*sink;

static int
duration_ok(double d)
{
	return isfinite(d) && d >= 0.01 - 1e-12 && d <= 86400;
}

/* metrics_listen: off, or a numeric address the listener can bind. */
static void
check_metrics(const struct config *c)
{
	unsigned char	bin[16];

	if (c->metrics_port == 0) {
		CHECK(c->metrics_address[0] == '\0');
		return;
	}
	CHECK(inet_pton(strchr(c->metrics_address, ':') != NULL ? AF_INET6 :
	    AF_INET, c->metrics_address, bin) == 1);
}

/* What "valid" promises to the daemon, rule by rule. */
static void
check_valid(const struct config *c)
{
	char	why[160];

	CHECK(config_valid_name(c->cluster_name));
	CHECK(config_valid_name(c->node_name));
	CHECK(c->node_type == NODE_MASTER || c->node_type == NODE_WORKER ||
	    c->node_type == NODE_BALANCER);
	CHECK(strlen(c->key) == CONFIG_KEY_LEN);
	CHECK(!clusterkey_weak(c->key, why, sizeof(why)));
	CHECK(c->node_type == NODE_MASTER || c->master_address[0] != '\0');
	CHECK(c->node_type != NODE_BALANCER || c->haproxy_socket[0] != '\0');
	CHECK(c->master_port != 0 && c->port != 0);
	CHECK(c->home[0] == '/');
	CHECK(duration_ok(c->keepalive_interval));
	CHECK(duration_ok(c->keepalive_timeout));
	CHECK(duration_ok(c->request_timeout));
	CHECK(duration_ok(c->reconnect_min));
	CHECK(duration_ok(c->reconnect_max));
	CHECK(c->reconnect_min <= c->reconnect_max);
	CHECK(c->keepalive_timeout > c->keepalive_interval);
	check_metrics(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config	 cfg;
	FILE		*in;
	int		 n;

	if (sink == NULL && (sink = fopen("/dev/null", "w")) == NULL)
		abort();
	if (size == 0)
		in = fopen("/dev/null", "r");
	else
		in = fmemopen((void *)(uintptr_t)data, size, "r");
	if (in == NULL)
		abort();
	n = config_parse("fuzz.conf", in, &cfg, sink);
	fclose(in);
	CHECK(n >= 0);
	if (n == 0) {
		check_valid(&cfg);
		config_print(&cfg, sink);
	}
	return 0;
}
