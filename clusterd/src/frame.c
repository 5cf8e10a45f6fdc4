#include <string.h>

#include "frame.h"

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

void
frame_hdr_encode(const struct frame_hdr *h, uint8_t *out)
{
	put32(out, FRAME_MAGIC);
	out[4] = h->major;
	out[5] = h->minor;
	out[6] = h->type;
	out[7] = h->flags;
	put32(out + 8, h->id);
	put32(out + 12, h->len);
}

/*
 * Decode and validate a header from the first len bytes of buf.  Every field
 * is checked here so that callers may trust h->len before allocating.
 */
enum frame_status
frame_hdr_decode(const uint8_t *buf, size_t len, struct frame_hdr *h)
{
	if (len < 4)
		return (len == 0 || memcmp(buf, "CLD1", len) == 0) ?
		    FRAME_INCOMPLETE : FRAME_EMAGIC;
	if (get32(buf) != FRAME_MAGIC)
		return FRAME_EMAGIC;
	if (len < FRAME_HDR_LEN)
		return FRAME_INCOMPLETE;
	h->major = buf[4];
	h->minor = buf[5];
	h->type = buf[6];
	h->flags = buf[7];
	h->id = get32(buf + 8);
	h->len = get32(buf + 12);
	if (h->major != FRAME_PROTO_MAJOR)
		return FRAME_EVERSION;
	if (h->type == 0 || h->type > FRAME_TYPE_MAX)
		return FRAME_ETYPE;
	if ((h->flags & ~FRAME_F_ALL) != 0 ||
	    ((h->flags & FRAME_F_ERROR) && !(h->flags & FRAME_F_RESPONSE)))
		return FRAME_EFLAGS;
	if (h->len > FRAME_MAX_PAYLOAD)
		return FRAME_ETOOBIG;
	return FRAME_OK;
}

const char *
frame_status_str(enum frame_status s)
{
	switch (s) {
	case FRAME_OK:
		return "ok";
	case FRAME_INCOMPLETE:
		return "incomplete frame";
	case FRAME_EMAGIC:
		return "bad magic";
	case FRAME_EVERSION:
		return "unsupported protocol version";
	case FRAME_ETYPE:
		return "unknown message type";
	case FRAME_EFLAGS:
		return "invalid flags";
	case FRAME_ETOOBIG:
		return "frame larger than the maximum";
	}
	return "unknown";
}

const char *
frame_type_name(uint8_t t)
{
	switch (t) {
	case FRAME_HELLO:
		return "hello";
	case FRAME_KEEPALIVE:
		return "keepalive";
	case FRAME_CONTROL:
		return "control";
	default:
		return "unknown";
	}
}

/*
 * Parse a JSON control payload.  The payload is not NUL-terminated on the
 * wire, so parse with an explicit length; only a JSON object is accepted.
 */
cJSON *
frame_json_parse(const uint8_t *p, size_t len)
{
	cJSON	*j;

	j = cJSON_ParseWithLengthOpts((const char *)p, len, NULL, 0);
	if (j != NULL && !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}
