/*
 * http: the little of HTTP/1.x the metrics endpoint needs (scrape.h).
 * The request's head is parsed from network bytes, strictly and within
 * HTTP_HEAD_MAX: a request line "METHOD /target HTTP/1.x", header lines
 * "Name: value", a blank line; lines end in CRLF or LF.  Anything else
 * is refused with the status to answer, as soon as the bytes show it, so
 * a client speaking another protocol is answered at its first bytes.
 * Pure functions over text, unit tested and fuzzed.
 */
#ifndef CLUSTERD_HTTP_H
#define CLUSTERD_HTTP_H

#include <stddef.h>

#define HTTP_HEAD_MAX	4096	/* request line and headers, in bytes */
#define HTTP_METHOD_MAX	16	/* with the NUL */
#define HTTP_TARGET_MAX	256	/* with the NUL */

enum http_parse {
	HTTP_MORE,		/* not whole yet: read on */
	HTTP_DONE,		/* the head is whole and valid */
	HTTP_BAD		/* refused: answer req->status */
};

struct http_req {
	char	 method[HTTP_METHOD_MAX];	/* A-Z only */
	char	 target[HTTP_TARGET_MAX];	/* "/...", visible ASCII */
	int	 minor;		/* HTTP/1.minor */
	int	 body;		/* Content-Length above 0, or Transfer-Encoding */
	size_t	 head_len;	/* HTTP_DONE: bytes up to the blank line's end */
	int	 status;	/* HTTP_BAD: 400, 414, 431 or 505 */
};

enum http_parse	 http_parse_request(const void *, size_t, struct http_req *);
int		 http_route(const struct http_req *, const char *path);
const char	*http_reason(int status);
int		 http_answer_head(char *out, size_t outlen, int status,
		    const char *content_type, size_t content_length);

#endif
