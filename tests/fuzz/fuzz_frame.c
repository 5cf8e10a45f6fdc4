/*
 * fuzz_frame: the link's frame splitter on arbitrary bytes.
 *
 * The input is treated as the decrypted stream of one connection and cut
 * into frames the way link.c's link_conn_data() does: decode a header, wait
 * for FRAME_HDR_LEN + len bytes, parse the payload as JSON unless it is
 * binary, and stop at the first error or incomplete frame.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/frame.h"

#include "fuzz.h"

/* Checks on a header the decoder accepted; it may be trusted from here. */
static void
check_header(const uint8_t *p, const struct frame_hdr *h)
{
	uint8_t	again[FRAME_HDR_LEN];

	CHECK(h->len <= FRAME_MAX_PAYLOAD);
	CHECK(h->major == FRAME_PROTO_MAJOR);
	CHECK(h->type >= 1 && h->type <= FRAME_TYPE_MAX);
	CHECK((h->flags & ~FRAME_F_ALL) == 0);
	CHECK(!(h->flags & FRAME_F_ERROR) || (h->flags & FRAME_F_RESPONSE));
	frame_hdr_encode(h, again);
	CHECK(memcmp(again, p, FRAME_HDR_LEN) == 0);
}

/* A parsed control payload is an object that prints and parses again. */
static void
check_body(cJSON *body)
{
	cJSON	*back;
	char	*s;

	CHECK(cJSON_IsObject(body));
	if ((s = cJSON_PrintUnformatted(body)) == NULL)
		return;		/* out of memory: not a finding */
	back = cJSON_Parse(s);
	CHECK(back != NULL && cJSON_IsObject(back));
	cJSON_Delete(back);
	cJSON_free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_hdr	 h;
	enum frame_status	 st;
	const uint8_t		*p = data;
	size_t			 left = size;
	cJSON			*body;
	const char		*why;

	while (left > 0) {
		st = frame_hdr_decode(p, left, &h);
		CHECK(frame_status_str(st) != NULL);
		if (st == FRAME_INCOMPLETE) {
			CHECK(left < FRAME_HDR_LEN);
			break;
		}
		if (st != FRAME_OK)
			break;		/* protocol error: the peer is dropped */
		check_header(p, &h);
		CHECK(frame_type_name(h.type) != NULL);
		if (left < FRAME_HDR_LEN + (size_t)h.len)
			break;		/* wait for the rest of the payload */
		/* What a link reads before the hello, and after it. */
		(void)frame_before_hello(&h);
		CHECK(frame_json_values(p + FRAME_HDR_LEN, h.len, 1000) >= 1);
		body = NULL;
		if (!(h.flags & FRAME_F_BINARY)) {
			body = frame_body(&h, p + FRAME_HDR_LEN, &why);
			if (body == NULL)
				break;	/* not a JSON object: dropped */
			check_body(body);
			cJSON_Delete(body);
		}
		p += FRAME_HDR_LEN + (size_t)h.len;
		left -= FRAME_HDR_LEN + (size_t)h.len;
	}
	return 0;
}
