#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "net/http.h"

static enum http_parse
bad(struct http_req *req, int status)
{
	req->status = status;
	return HTTP_BAD;
}

/*
 * The line starting at p[start], within lim bytes: 1 when its LF is there
 * (*end: where the text ends, before CR LF or LF; *next: after the LF), 0
 * when not yet (*end: the text so far, a last CR left out), -1 when it
 * holds a byte no line may hold: a control byte, a CR not before LF, and
 * on the request line (visible) anything but ASCII 0x20 to 0x7e.  Header
 * values may also hold tabs and bytes above 0x7f.
 */
static int
next_line(const unsigned char *p, size_t lim, size_t start, int visible,
    size_t *end, size_t *next)
{
	size_t	i;

	for (i = start; i < lim; i++) {
		if (p[i] == '\n') {
			*end = i > start && p[i - 1] == '\r' ? i - 1 : i;
			*next = i + 1;
			return 1;
		}
		if (p[i] == '\r') {
			if (i + 1 < lim && p[i + 1] != '\n')
				return -1;
			continue;
		}
		if (p[i] < 0x20 ? p[i] != '\t' || visible : p[i] == 0x7f ||
		    (p[i] > 0x7f && visible))
			return -1;
	}
	*end = lim > start && p[lim - 1] == '\r' ? lim - 1 : lim;
	return 0;
}

/*
 * "METHOD SP /target SP HTTP/1.x", whole or (whole 0) the part that has
 * arrived: HTTP_MORE as long as that part can still become a valid line.
 */
static enum http_parse
request_line(const char *s, size_t n, int whole, struct http_req *req)
{
	static const char	 proto[] = "HTTP/d.d";
	size_t			 i = 0, t, k;

	while (i < n && s[i] >= 'A' && s[i] <= 'Z')
		if (++i >= HTTP_METHOD_MAX)
			return bad(req, 400);
	if (i == n)
		return whole ? bad(req, 400) : HTTP_MORE;
	if (i == 0 || s[i] != ' ')
		return bad(req, 400);
	memcpy(req->method, s, i);
	req->method[i] = '\0';
	t = ++i;
	if (i < n && s[i] != '/')
		return bad(req, 400);
	while (i < n && s[i] > ' ' && s[i] < 0x7f)
		if (++i - t >= HTTP_TARGET_MAX)
			return bad(req, 414);
	if (i == n)
		return whole ? bad(req, 400) : HTTP_MORE;
	if (i == t || s[i] != ' ')
		return bad(req, 400);
	memcpy(req->target, s + t, i - t);
	req->target[i - t] = '\0';
	for (i++, k = 0; i < n && k < sizeof(proto) - 1; i++, k++)
		if (proto[k] == 'd' ? s[i] < '0' || s[i] > '9' :
		    s[i] != proto[k])
			return bad(req, 400);
	if (i < n)
		return bad(req, 400);		/* more after the version */
	if (!whole)
		return HTTP_MORE;
	if (k < sizeof(proto) - 1)
		return bad(req, 400);
	if (s[n - 3] != '1')
		return bad(req, 505);
	req->minor = s[n - 1] - '0';
	return HTTP_DONE;
}

/* A token character (RFC 9110 tchar). */
static int
tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-.^_`|~",
	    c) != NULL);
}

/*
 * "Name: value": a token, a colon right after it (no space before it, no
 * line starting with space: obsolete folding is refused), any value.
 * Notes whether the request announces a body.  0, or -1 if malformed.
 */
static int
header(const char *s, size_t n, struct http_req *req)
{
	size_t	i = 0, v, e;

	while (i < n && tchar(s[i]))
		i++;
	if (i == 0 || i == n || s[i] != ':')
		return -1;
	for (v = i + 1; v < n && (s[v] == ' ' || s[v] == '\t'); v++)
		;
	for (e = n; e > v && (s[e - 1] == ' ' || s[e - 1] == '\t'); e--)
		;
	if (i == 17 && strncasecmp(s, "Transfer-Encoding", i) == 0)
		req->body = 1;
	if (i == 14 && strncasecmp(s, "Content-Length", i) == 0) {
		if (v == e)
			return -1;
		for (; v < e; v++) {
			if (s[v] < '0' || s[v] > '9')
				return -1;
			if (s[v] != '0')
				req->body = 1;
		}
	}
	return 0;
}

/*
 * Parse the head of one request from the first len bytes received.
 * HTTP_DONE fills req (head_len: the bytes it took); HTTP_MORE asks for
 * more; HTTP_BAD sets req->status: 400 malformed, 414 a target of
 * HTTP_TARGET_MAX bytes or more, 431 no blank line within HTTP_HEAD_MAX,
 * 505 a version other than 1.x.
 */
enum http_parse
http_parse_request(const void *data, size_t len, struct http_req *req)
{
	const unsigned char	*p = data;
	size_t			 lim = len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX;
	size_t			 start = 0, end, next;
	int			 r;

	memset(req, 0, sizeof(*req));
	if ((r = next_line(p, lim, 0, 1, &end, &next)) == -1)
		return bad(req, 400);
	if (request_line((const char *)p, end, r, req) == HTTP_BAD)
		return HTTP_BAD;
	if (r == 0)
		return len >= HTTP_HEAD_MAX ? bad(req, 431) : HTTP_MORE;
	for (start = next;; start = next) {
		if ((r = next_line(p, lim, start, 0, &end, &next)) == -1)
			return bad(req, 400);
		if (r == 0)
			return len >= HTTP_HEAD_MAX ? bad(req, 431) :
			    HTTP_MORE;
		if (end == start) {
			req->head_len = next;
			return HTTP_DONE;
		}
		if (header((const char *)p + start, end - start, req) == -1)
			return bad(req, 400);
	}
}

/*
 * The status a parsed request gets from a server of one path: 200 for
 * GET or HEAD of path (a query string is ignored), 405 for another
 * method, 404 for another path, 400 for a request with a body.
 */
int
http_route(const struct http_req *req, const char *path)
{
	size_t	n = strcspn(req->target, "?");

	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
		return 405;
	if (n != strlen(path) || strncmp(req->target, path, n) != 0)
		return 404;
	if (req->body)
		return 400;
	return 200;
}

const char *
http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 414:
		return "URI Too Long";
	case 431:
		return "Request Header Fields Too Large";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Internal Server Error";
	}
}

/*
 * The head of an answer that closes the connection after its body of
 * content_length bytes; a 405 says which methods are allowed.  Returns
 * its length, or -1 if it does not fit out.
 */
int
http_answer_head(char *out, size_t outlen, int status,
    const char *content_type, size_t content_length)
{
	int	n;

	n = snprintf(out, outlen, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\n%sConnection: close\r\n\r\n", status,
	    http_reason(status), content_type, content_length,
	    status == 405 ? "Allow: GET, HEAD\r\n" : "");
	return n < 0 || (size_t)n >= outlen ? -1 : n;
}
