/*
 * fuzz_haproxy: the balancer's readers of a local HAProxy's answers and
 * its haproxy.cfg rewrite, on arbitrary bytes.
 *
 * The first byte chooses the mode (byte % 3) and a flag (byte & 4); the
 * rest is:
 *   0  a "show servers state" answer: haproxy_parse_state.  Every server
 *      kept has non-empty, terminated, blank-free names and address,
 *      numbers in range, nothing from "show stat" yet; a second parse
 *      gives the same servers.
 *   1  a "show servers state" answer, a NUL byte, a "show stat" answer:
 *      the state is parsed (three fixed servers stand in when it is
 *      refused or empty), then haproxy_merge_stat over those servers.
 *      Merging never touches what the state said; statuses stay
 *      terminated and free of commas and newlines.
 *   2  a haproxy.cfg: haproxy_rewrite_pool of backend workers_agents
 *      (flag: nodes_enrollment) with a fixed block of server lines and
 *      with an empty one.  Both succeed or both fail; for a file without
 *      NUL bytes the outputs are the file with one span (right after a
 *      line end, up to the end marker) replaced by the block, and
 *      rewriting either output again gives the one with the block.
 *
 * Seeds (tests/fuzz/seeds/fuzz_haproxy): "state-*" answers captured from
 * HAProxy 2.6 behind 0x00, "merge-*" a state and a "show stat" answer of
 * the same HAProxy behind 0x01, "cfg-*" haproxy.cfg files as lb/render.py
 * writes them behind 0x02 (0x06: nodes_enrollment).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb/haproxy.h"

#include "fuzz.h"

#define BLOCK \
	"    server w1 10.0.0.1:1514 check inter 2s fall 3 rise 2\n" \
	"    server w2 10.0.0.2:1514 check inter 2s fall 3 rise 2 weight " \
	"100 agent-check agent-port 1518 agent-inter 5s\n"
#define END_MARKER	"# clusterd pool end"

/* A word of a "show servers state" line: 1..63 bytes, no blank. */
static void
word_ok(const char *s)
{
	size_t	n = strnlen(s, HAPROXY_NAME_MAX);

	CHECK(n > 0 && n < HAPROXY_NAME_MAX);
	CHECK(strchr(s, ' ') == NULL && strchr(s, '\n') == NULL);
}

static void
mode_state(const uint8_t *p, size_t len)
{
	struct haproxy_server	*v, *v2;
	const char		*an;
	size_t			 n, n2, i;
	int			 r;

	r = haproxy_parse_state((const char *)p, len, &v, &n);
	CHECK(r == 0 || r == -1);
	if (r == -1) {
		CHECK(v == NULL && n == 0);
		return;
	}
	CHECK(n == 0 || v != NULL);
	for (i = 0; i < n; i++) {
		word_ok(v[i].backend);
		word_ok(v[i].name);
		word_ok(v[i].address);
		CHECK(v[i].port <= 65535 && v[i].agent_port <= 65535);
		CHECK(v[i].admin <= 0xff);
		CHECK(v[i].status[0] == '\0' && v[i].connections == 0);
		an = haproxy_admin_name(v[i].admin);
		CHECK(strcmp(an, "ready") == 0 || strcmp(an, "drain") == 0 ||
		    strcmp(an, "maint") == 0);
	}
	CHECK(haproxy_parse_state((const char *)p, len, &v2, &n2) == 0);
	CHECK(n2 == n);
	if (n > 0)
		CHECK(memcmp(v, v2, n * sizeof(*v)) == 0);
	free(v2);
	free(v);
}

static void
mode_merge(const uint8_t *p, size_t len)
{
	static const char *const fixed[][2] = {
		{ "workers_agents", "w1" }, { "workers_agents", "w2" },
		{ "nodes_enrollment", "m1" },
	};
	struct haproxy_server	*v = NULL, *before;
	const uint8_t		*nul = memchr(p, '\0', len);
	size_t			 slen = nul != NULL ? (size_t)(nul - p) : len;
	size_t			 n = 0, i;
	int			 r;

	if (haproxy_parse_state((const char *)p, slen, &v, &n) == -1 ||
	    n == 0) {
		free(v);
		n = 3;
		v = calloc(n, sizeof(*v));
		CHECK(v != NULL);
		for (i = 0; i < n; i++) {
			strcpy(v[i].backend, fixed[i][0]);
			strcpy(v[i].name, fixed[i][1]);
			strcpy(v[i].address, "10.0.0.1");
			v[i].port = 1514;
		}
	}
	before = malloc(n * sizeof(*v));
	CHECK(before != NULL);
	memcpy(before, v, n * sizeof(*v));
	p += slen;
	len -= slen;
	if (len > 0) {		/* skip the NUL */
		p++;
		len--;
	}
	r = haproxy_merge_stat((const char *)p, len, v, n);
	CHECK(r == 0 || r == -1);
	for (i = 0; i < n; i++) {
		CHECK(memcmp(v[i].backend, before[i].backend,
		    sizeof(v[i].backend)) == 0);
		CHECK(memcmp(v[i].name, before[i].name,
		    sizeof(v[i].name)) == 0);
		CHECK(memcmp(v[i].address, before[i].address,
		    sizeof(v[i].address)) == 0);
		CHECK(v[i].port == before[i].port &&
		    v[i].admin == before[i].admin &&
		    v[i].agent_port == before[i].agent_port);
		CHECK(strnlen(v[i].status, sizeof(v[i].status)) <
		    sizeof(v[i].status));
		CHECK(strchr(v[i].status, ',') == NULL &&
		    strchr(v[i].status, '\n') == NULL);
	}
	free(before);
	free(v);
}

/* Length of the common prefix / suffix of a and b, up to max. */
static size_t
common_prefix(const char *a, const char *b, size_t max)
{
	size_t	i;

	for (i = 0; i < max && a[i] == b[i]; i++)
		;
	return i;
}

static size_t
common_suffix(const char *a, size_t al, const char *b, size_t bl, size_t max)
{
	size_t	i;

	for (i = 0; i < max && i < al && i < bl &&
	    a[al - 1 - i] == b[bl - 1 - i]; i++)
		;
	return i;
}

/* Does the line at p (after blanks) start with the end marker? */
static int
end_marker_at(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return strncmp(p, END_MARKER, strlen(END_MARKER)) == 0;
}

static void
mode_rewrite(const uint8_t *p, size_t len, unsigned flag)
{
	const char	*be = flag ? "nodes_enrollment" : "workers_agents";
	const char	*cfg = (const char *)p;
	char		*out0, *outs, *again;
	size_t		 l0, ls, bl = strlen(BLOCK), cp, cs, k;
	int		 r0, rs, found = 0;

	rs = haproxy_rewrite_pool(cfg, len, be, BLOCK, &outs);
	r0 = haproxy_rewrite_pool(cfg, len, be, "", &out0);
	CHECK(rs == 0 || rs == -1);
	CHECK(r0 == rs);
	if (rs == -1) {
		CHECK(outs == NULL && out0 == NULL);
		return;
	}
	CHECK(outs != NULL && out0 != NULL);
	if (memchr(cfg, '\0', len) != NULL)
		goto done;

	/* out0 is cfg without one span. */
	l0 = strlen(out0);
	ls = strlen(outs);
	CHECK(l0 <= len);
	CHECK(ls == l0 + bl);
	CHECK(common_prefix(cfg, out0, l0) + common_suffix(cfg, len, out0,
	    l0, l0) >= l0);
	/* outs is out0 with the block at a line start before the marker. */
	cp = common_prefix(outs, out0, l0);
	cs = common_suffix(outs, ls, out0, l0, l0);
	CHECK(cp + cs >= l0);
	for (k = l0 - cs; k <= cp && !found; k++)
		found = k > 0 && out0[k - 1] == '\n' &&
		    memcmp(outs + k, BLOCK, bl) == 0 && end_marker_at(out0 + k);
	CHECK(found);

	/* Rewriting again changes nothing more. */
	CHECK(haproxy_rewrite_pool(outs, ls, be, BLOCK, &again) == 0);
	CHECK(strcmp(again, outs) == 0);
	free(again);
	CHECK(haproxy_rewrite_pool(out0, l0, be, BLOCK, &again) == 0);
	CHECK(strcmp(again, outs) == 0);
	free(again);
done:
	free(outs);
	free(out0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		mode_state(data + 1, size - 1);
		break;
	case 1:
		mode_merge(data + 1, size - 1);
		break;
	default:
		mode_rewrite(data + 1, size - 1, data[0] & 4);
		break;
	}
	return 0;
}
