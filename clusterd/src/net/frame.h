/*
 * frame: the cluster link's message framing.
 *
 * Every message is a 16-byte header followed by its payload, all inside the
 * TLS stream (so headers are encrypted too):
 *
 *   0  magic     "CLD\x01"-style 4 bytes, FRAME_MAGIC
 *   4  major     protocol major version; a different major is refused
 *   5  minor     protocol minor version; informative
 *   6  type      enum frame_type
 *   7  flags     FRAME_F_*
 *   8  id        request id (big endian); a response carries its request's
 *  12  length    payload length (big endian), at most FRAME_MAX_PAYLOAD
 *
 * The header is checked completely before any payload memory is allocated.
 * Control payloads are JSON objects, zlib-compressed when FRAME_F_ZLIB is
 * set; FRAME_F_BINARY payloads are raw bytes.  A request with id 0 is a
 * notification: it gets no response.
 */
#ifndef CLUSTERD_FRAME_H
#define CLUSTERD_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define FRAME_MAGIC		0x434c4431u	/* "CLD1" */
#define FRAME_PROTO_MAJOR	1
#define FRAME_PROTO_MINOR	0
#define FRAME_HDR_LEN		16
#define FRAME_MAX_PAYLOAD	(8u * 1024 * 1024)

#define FRAME_F_RESPONSE	0x01	/* answers the request with this id */
#define FRAME_F_ERROR		0x02	/* response: the request failed */
#define FRAME_F_BINARY		0x04	/* payload is raw bytes, not JSON */
#define FRAME_F_ZLIB		0x08	/* JSON payload is zlib-compressed */
#define FRAME_F_ALL		0x0f

/* A compressed JSON payload may inflate to at most this much. */
#define FRAME_MAX_INFLATED	(64u * 1024 * 1024)

/* Before the hello, a peer may send only a HELLO this small, uncompressed. */
#define FRAME_HELLO_MAX		4096

enum frame_type {
	FRAME_HELLO = 1,	/* worker -> master: who I am */
	FRAME_KEEPALIVE,	/* worker -> master: I am alive */
	FRAME_CONTROL,		/* worker -> master: a forwarded control command */
	FRAME_SYNC_NOTIFY,	/* master -> worker: my tree changed (digest) */
	FRAME_INTEGRITY,	/* worker -> master: my index; answer: the plan */
	FRAME_SYNC_DATA,	/* master -> worker: bundle bytes (binary) */
	FRAME_SYNC_END,		/* master -> worker: the bundle is complete */
	FRAME_SYNC_RESULT,	/* worker -> master: what the sync applied */
	FRAME_SYNC_PUSH,	/* master -> worker: a plan from a known base */
	FRAME_ENROLL,		/* worker -> master: an agent's enrollment */
	FRAME_ENROLL_ABORT,	/* worker -> master: its key was not delivered */
	FRAME_AGENTS_CHECK,	/* worker -> master: my agents' digest */
	FRAME_AGENTS_DELTA,	/* master -> worker: agents added or removed */
	FRAME_AGENT_INFO,	/* worker -> master: agents' status and OS info */
	FRAME_REBALANCE,	/* master -> worker: move this many agents */
	FRAME_POOLS,		/* master -> balancer: the pools' membership */
	FRAME_POOL_REPORT,	/* balancer -> master: its HAProxy's servers */
	FRAME_DRAIN,		/* worker -> master: I am draining, then stop */
	FRAME_TYPE_MAX = FRAME_DRAIN
};

struct frame_hdr {
	uint8_t		major;
	uint8_t		minor;
	uint8_t		type;
	uint8_t		flags;
	uint32_t	id;
	uint32_t	len;
};

enum frame_status {
	FRAME_OK = 0,
	FRAME_INCOMPLETE,	/* need more bytes */
	FRAME_EMAGIC,
	FRAME_EVERSION,
	FRAME_ETYPE,
	FRAME_EFLAGS,
	FRAME_ETOOBIG
};

void		 frame_hdr_encode(const struct frame_hdr *, uint8_t *);
enum frame_status frame_hdr_decode(const uint8_t *, size_t,
		    struct frame_hdr *);
const char	*frame_status_str(enum frame_status);
const char	*frame_type_name(uint8_t);
cJSON		*frame_json_parse(const uint8_t *, size_t);
cJSON		*frame_json_inflate(const uint8_t *, size_t);
void		 frame_json_limits(uint8_t type, size_t *bytes,
		    size_t *values);
size_t		 frame_json_values(const uint8_t *, size_t, size_t stop);
cJSON		*frame_body(const struct frame_hdr *, const uint8_t *payload,
		    const char **why);
int		 frame_before_hello(const struct frame_hdr *);

#endif
