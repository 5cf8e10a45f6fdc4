/*
 * proxyproto: the PROXY protocol header a balancer (HAProxy's send-proxy
 * and send-proxy-v2, NGINX's proxy_protocol, cloud balancers) puts before
 * a connection's own bytes to say whom it carries: version 1 (one text
 * line) and version 2 (binary), as HAProxy's proxy-protocol.txt defines
 * them.  Pure: bytes in, a verdict out; the caller reads the socket.
 *
 * A v2 LOCAL command (a balancer's own health check), a v1 UNKNOWN line
 * and the v2 UNSPEC and UNIX families carry no address the caller can
 * use: the connection keeps its socket's addresses (has_addr 0).  v2 TLVs
 * are checked to fit the header, then skipped.
 */
#ifndef CLUSTERD_PROXYPROTO_H
#define CLUSTERD_PROXYPROTO_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#define PROXYPROTO_V1_MAX	107	/* a whole v1 line, CRLF included */
#define PROXYPROTO_V2_FIXED	16	/* signature, command, family, length */
#define PROXYPROTO_V2_LEN_MAX	2048	/* addresses and TLVs we accept */
#define PROXYPROTO_MAX		(PROXYPROTO_V2_FIXED + PROXYPROTO_V2_LEN_MAX)

enum proxyproto_status {
	PROXYPROTO_MORE,	/* a header so far: read more */
	PROXYPROTO_INVALID,	/* not a header we accept: close */
	PROXYPROTO_DONE		/* a whole header of len bytes */
};

struct proxyproto_hdr {
	size_t			 len;		/* bytes of the header */
	int			 version;	/* 1 or 2 */
	int			 has_addr;	/* 0: keep the socket's */
	struct sockaddr_storage	 src;		/* AF_INET or AF_INET6 */
	struct sockaddr_storage	 dst;
};

enum proxyproto_status proxyproto_parse(const uint8_t *, size_t,
	    struct proxyproto_hdr *);
const char	*proxyproto_status_name(enum proxyproto_status);

#endif
