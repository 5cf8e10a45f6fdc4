/*
 * secmsg: the agents' secure messages (1514/tcp), as Wazuh 4.x agents
 * speak them.  On the wire: a 4-byte little-endian length, then
 * "!<id>!#AES:<ciphertext>" (or legacy "!<id>!:<blowfish ciphertext>").
 * Decrypted: 1 to 8 '!', then a zlib stream; inflated: the MD5 (32 hex) of
 * the rest, 5 random digits, a 10-digit global counter, ':', a 4-digit
 * local counter, ':', the message.  Pure functions: no sockets or state.
 */
#ifndef CLUSTERD_SECMSG_H
#define CLUSTERD_SECMSG_H

#include <stddef.h>
#include <stdint.h>

#define SECMSG_MAX		65536	/* longest frame and message */
#define SECMSG_ID_MAX		16

enum secmsg_cipher {
	SECMSG_AES,
	SECMSG_BLOWFISH
};

enum secmsg_kind {
	SECMSG_OK = 0,		/* an encrypted message with an id */
	SECMSG_PING,		/* "#ping": answer "#pong" */
	SECMSG_NO_ID,		/* "#AES:" without "!id!": source-IP mode */
	SECMSG_BAD		/* anything else */
};

struct secmsg_key {
	uint8_t	aes[32];	/* md5hex(raw key), as ASCII */
	uint8_t	bf[47];		/* that + 15 chars of md5hex(md5hex(name) + md5hex(id)) */
};

struct secmsg_counters {
	unsigned	random;
	unsigned long	global;
	unsigned	local;
};

void		 secmsg_derive(const char *id, const char *name,
		    const char *raw_key, struct secmsg_key *);
enum secmsg_kind secmsg_split(const uint8_t *, size_t, char id[SECMSG_ID_MAX],
		    enum secmsg_cipher *, const uint8_t **ct, size_t *ctlen);
int		 secmsg_open(const struct secmsg_key *, enum secmsg_cipher,
		    const uint8_t *ct, size_t ctlen, char *out, size_t outcap,
		    size_t *outlen, struct secmsg_counters *, const char **why);
/* Sealed with zlib level 6: the very bytes a Wazuh agent would send. */
int		 secmsg_seal(const struct secmsg_key *, enum secmsg_cipher,
		    const char *id, const char *msg, size_t len,
		    const struct secmsg_counters *, uint8_t *out,
		    size_t outcap, size_t *outlen);
/*
 * The same message, but a body of at most SECMSG_STORED_MAX bytes goes in
 * a stored (uncompressed) zlib block: any inflate reads it as agents
 * read every answer (uncompress()), it is as short as a compressed one at
 * that size, and it costs a thirtieth of the CPU.  For acks and the
 * simulator's keepalives, thousands a second.
 */
#define SECMSG_STORED_MAX	512
int		 secmsg_seal_quick(const struct secmsg_key *,
		    enum secmsg_cipher, const char *id, const char *msg,
		    size_t len, const struct secmsg_counters *, uint8_t *out,
		    size_t outcap, size_t *outlen);
enum secmsg_kind secmsg_split_answer(const uint8_t *, size_t,
		    enum secmsg_cipher *, const uint8_t **ct, size_t *ctlen);
/* A global counter as Wazuh's manager reads it (ReadSecMSG): 10 digits
 * into an unsigned int, so modulo 2^32; a Wazuh agent's own counter is an
 * unsigned int and never goes past it. */
uint32_t	 secmsg_global32(unsigned long global);
int		 secmsg_counters_newer(const struct secmsg_counters *,
		    uint32_t last_global, unsigned last_local);
int		 secmsg_init(void);
void		 secmsg_shutdown(void);
int		 secmsg_frame_length(const uint8_t hdr[4], uint32_t *len);

#endif
