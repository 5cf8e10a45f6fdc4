/*
 * fuzz_proxyproto: proxyproto_parse() on arbitrary bytes, as a listener
 * hands it what a balancer's connection has sent so far.  A whole header
 * is of a version the parser knows, within its version's bound and the
 * bytes given, ends as its version must (CRLF, or the v2 length), is
 * found again in its own bytes alone with the same result, and every
 * shorter prefix of it asks for more; addresses, when given, are IPv4 or
 * IPv6 and the same family on both ends.  "More" never exceeds the
 * bound, and a refusal stays a refusal whatever follows.
 */
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/proxyproto.h"

#include "fuzz.h"

static void
check_done(const uint8_t *data, const struct proxyproto_hdr *h)
{
	struct proxyproto_hdr	again;
	size_t			i;

	CHECK(h->version == 1 || h->version == 2);
	if (h->version == 1) {
		CHECK(h->len >= 8 && h->len <= PROXYPROTO_V1_MAX);
		CHECK(memcmp(data, "PROXY ", 6) == 0);
		CHECK(data[h->len - 2] == '\r' && data[h->len - 1] == '\n');
		CHECK(memchr(data, '\r', h->len - 2) == NULL);
	} else {
		CHECK(h->len >= PROXYPROTO_V2_FIXED && h->len <= PROXYPROTO_MAX);
		CHECK(h->len == PROXYPROTO_V2_FIXED +
		    ((size_t)data[14] << 8 | data[15]));
		CHECK((data[12] & 0xf0) == 0x20);
	}
	if (h->has_addr) {
		CHECK(h->src.ss_family == AF_INET ||
		    h->src.ss_family == AF_INET6);
		CHECK(h->dst.ss_family == h->src.ss_family);
	} else
		CHECK(h->src.ss_family == 0 && h->dst.ss_family == 0);
	CHECK(proxyproto_parse(data, h->len, &again) == PROXYPROTO_DONE);
	CHECK(memcmp(h, &again, sizeof(again)) == 0);
	for (i = 0; i < h->len; i++)
		CHECK(proxyproto_parse(data, i, &again) == PROXYPROTO_MORE);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxyproto_hdr	h;
	uint8_t			*more;

	switch (proxyproto_parse(data, size, &h)) {
	case PROXYPROTO_MORE:
		CHECK(size < PROXYPROTO_MAX);
		CHECK(h.len == 0 && h.has_addr == 0);
		break;
	case PROXYPROTO_DONE:
		check_done(data, &h);
		break;
	case PROXYPROTO_INVALID:
		/* Bytes after an invalid start never make it valid. */
		if ((more = malloc(size + 1)) == NULL)
			return 0;
		memcpy(more, data, size);
		more[size] = '\n';
		CHECK(proxyproto_parse(more, size + 1, &h) ==
		    PROXYPROTO_INVALID);
		free(more);
		break;
	}
	return 0;
}
