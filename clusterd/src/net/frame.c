#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "net/frame.h"

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
	    ((h->flags & FRAME_F_ERROR) && !(h->flags & FRAME_F_RESPONSE)) ||
	    ((h->flags & FRAME_F_ZLIB) && (h->flags & FRAME_F_BINARY)))
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
	case FRAME_SYNC_NOTIFY:
		return "sync notify";
	case FRAME_INTEGRITY:
		return "integrity";
	case FRAME_SYNC_DATA:
		return "sync data";
	case FRAME_SYNC_END:
		return "sync end";
	case FRAME_SYNC_RESULT:
		return "sync result";
	case FRAME_SYNC_PUSH:
		return "sync push";
	case FRAME_ENROLL:
		return "enroll";
	case FRAME_ENROLL_ABORT:
		return "enroll abort";
	case FRAME_AGENTS_CHECK:
		return "agents check";
	case FRAME_AGENTS_DELTA:
		return "agents delta";
	case FRAME_AGENT_INFO:
		return "agent info";
	case FRAME_REBALANCE:
		return "rebalance";
	case FRAME_POOLS:
		return "pools";
	case FRAME_POOL_REPORT:
		return "pool report";
	case FRAME_DRAIN:
		return "drain";
	default:
		return "unknown";
	}
}

/*
 * Parse a JSON control payload.  The payload is not NUL-terminated on the
 * wire, so parse with an explicit length; only one JSON object, with
 * nothing but white space after it, is accepted.
 */
cJSON *
frame_json_parse(const uint8_t *p, size_t len)
{
	const char	*end = NULL, *stop = (const char *)p + len;
	cJSON		*j;

	j = cJSON_ParseWithLengthOpts((const char *)p, len, &end, 0);
	if (j == NULL)
		return NULL;
	while (end != NULL && end < stop &&
	    (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
		end++;
	if (!cJSON_IsObject(j) || end != stop) {	/* trailing bytes */
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

/*
 * How big a JSON body of each type may be, as text and in values: the
 * memory a peer can make the receiver spend on one frame.  cJSON spends
 * about 64 bytes per value, so a megabyte of "[0,0,0,...]" would cost 32
 * MB: bounding the values as well as the text bounds both.  Small frames
 * (and their answers) get small bounds; the pool lists a medium one; the
 * agent tables, reports, indexes and forwarded commands, which grow with
 * the cluster (50,000 agents fit), a large one.
 */
void
frame_json_limits(uint8_t type, size_t *bytes, size_t *values)
{
	switch (type) {
	case FRAME_HELLO:
	case FRAME_KEEPALIVE:
	case FRAME_ENROLL:
	case FRAME_ENROLL_ABORT:
	case FRAME_REBALANCE:
		*bytes = 64u * 1024;
		*values = 4096;
		break;
	case FRAME_POOLS:
	case FRAME_POOL_REPORT:
		*bytes = 4u * 1024 * 1024;
		*values = 256u * 1024;
		break;
	default:
		*bytes = FRAME_MAX_INFLATED;
		*values = 4u * 1024 * 1024;
		break;
	}
}

/*
 * A bound on the number of JSON values in p[0..len), counted without
 * parsing: one for the text's start, and one more for each '{', '[', ':'
 * or ',' outside strings (escapes skipped).  It counts an object's keys
 * too, so it may be up to twice the values, never fewer.  Stops counting
 * past stop.  Malformed text is left to the parser.
 */
size_t
frame_json_values(const uint8_t *p, size_t len, size_t stop)
{
	size_t	i, n = 1;
	int	in_str = 0;

	for (i = 0; i < len && n <= stop; i++) {
		if (in_str) {
			if (p[i] == '\\')
				i++;
			else if (p[i] == '"')
				in_str = 0;
			continue;
		}
		switch (p[i]) {
		case '"':
			in_str = 1;
			break;
		case ',':
		case ':':
		case '[':
		case '{':
			n++;
			break;
		default:
			break;
		}
	}
	return n;
}

static cJSON *inflate_json(const uint8_t *, size_t, size_t, size_t,
    const char **);

/*
 * The JSON body of a frame, within the bounds of its type; NULL when it is
 * not a JSON object or exceeds them, *why then saying which.
 */
cJSON *
frame_body(const struct frame_hdr *h, const uint8_t *payload,
    const char **why)
{
	size_t	bytes, values;

	frame_json_limits(h->type, &bytes, &values);
	if (h->flags & FRAME_F_ZLIB)
		return inflate_json(payload, h->len, bytes, values, why);
	*why = "is larger than its type allows";
	if (h->len > bytes || frame_json_values(payload, h->len, values) >
	    values)
		return NULL;
	*why = "is not a JSON object";
	return frame_json_parse(payload, h->len);
}

/*
 * What a peer may send before its hello is accepted: a HELLO (request or
 * answer), uncompressed, at most FRAME_HELLO_MAX bytes.  Anything else
 * from a peer not yet identified would make the receiver inflate and parse
 * what an unknown party chose.
 */
int
frame_before_hello(const struct frame_hdr *h)
{
	return h->type == FRAME_HELLO &&
	    (h->flags & (FRAME_F_ZLIB | FRAME_F_BINARY)) == 0 &&
	    h->len <= FRAME_HELLO_MAX;
}

/*
 * Inflate a compressed JSON payload, refusing anything that would grow past
 * FRAME_MAX_INFLATED, then parse it as frame_json_parse() does.
 */
cJSON *
frame_json_inflate(const uint8_t *p, size_t len)
{
	const char	*why;

	return inflate_json(p, len, FRAME_MAX_INFLATED, (size_t)-1, &why);
}

static cJSON *
inflate_json(const uint8_t *p, size_t len, size_t max, size_t values,
    const char **why)
{
	z_stream	 zs;
	uint8_t		*out = NULL, *np;
	size_t		 cap = 0, used = 0;
	cJSON		*j = NULL;
	int		 zr = Z_OK;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit(&zs) != Z_OK)
		return NULL;
	zs.next_in = (Bytef *)(uintptr_t)p;
	zs.avail_in = (uInt)len;
	while (zr != Z_STREAM_END) {
		*why = "inflates beyond what its type allows";
		if (used == cap) {
			if (cap >= max)
				goto done;
			cap = cap ? cap * 2 : 64 * 1024;
			if (cap > max)
				cap = max;
			if ((np = realloc(out, cap)) == NULL)
				goto done;
			out = np;
		}
		zs.next_out = out + used;
		zs.avail_out = (uInt)(cap - used);
		zr = inflate(&zs, Z_FINISH);
		used = cap - zs.avail_out;
		if (zr != Z_STREAM_END && zr != Z_OK && zr != Z_BUF_ERROR)
			goto done;
		if (zr == Z_BUF_ERROR && zs.avail_in == 0 && used < cap)
			goto done;	/* truncated stream */
	}
	*why = "is not a JSON object";
	if (zs.avail_in != 0)
		goto done;
	*why = "is larger than its type allows";
	if (values != (size_t)-1 && frame_json_values(out, used, values) >
	    values)
		goto done;
	*why = "is not a JSON object";
	j = frame_json_parse(out, used);
done:
	inflateEnd(&zs);
	free(out);
	return j;
}
