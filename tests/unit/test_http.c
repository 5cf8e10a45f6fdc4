/*
 * test_http: the request parser of the metrics endpoint, on network bytes.
 * Valid heads (CRLF or LF, HTTP/1.0 and 1.1, headers, a query string) are
 * taken whole and byte by byte; every malformed one gets its status, at
 * the first byte that shows it where it can: other protocols, control
 * bytes, a bare CR, bad methods, targets and versions, obsolete folding,
 * a space before a colon, heads too large.  Then the routing of a parsed
 * request and the answer's head.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/http.h"

static enum http_parse
parse(const char *s, struct http_req *req)
{
	return http_parse_request(s, strlen(s), req);
}

/* s is valid; every proper prefix of it asks for more. */
static void
whole_and_prefixes(const char *s, struct http_req *req)
{
	size_t	i, n = strlen(s);

	for (i = 0; i < n; i++)
		if (http_parse_request(s, i, req) != HTTP_MORE)
			fail_msg("prefix of %zu bytes of %s: not HTTP_MORE "
			    "(status %d)", i, s, req->status);
	assert_int_equal(http_parse_request(s, n, req), HTTP_DONE);
	assert_int_equal(req->head_len, n);
}

static void
refused(const char *s, int status)
{
	struct http_req	req;

	if (parse(s, &req) != HTTP_BAD || req.status != status)
		fail_msg("\"%s\": want status %d, got %d", s, status,
		    req.status);
}

static void
test_valid(void **state)
{
	struct http_req	req;

	(void)state;
	whole_and_prefixes("GET /metrics HTTP/1.1\r\nHost: x\r\n"
	    "User-Agent: Prometheus/2.45.0\r\nAccept: text/plain;"
	    "version=0.0.4;q=1,*/*;q=0.1\r\n\r\n", &req);
	assert_string_equal(req.method, "GET");
	assert_string_equal(req.target, "/metrics");
	assert_int_equal(req.minor, 1);
	assert_int_equal(req.body, 0);

	whole_and_prefixes("HEAD /metrics?x=1&y HTTP/1.0\n\n", &req);
	assert_string_equal(req.method, "HEAD");
	assert_string_equal(req.target, "/metrics?x=1&y");
	assert_int_equal(req.minor, 0);

	/* Tabs and bytes above 0x7f in a value; an empty value. */
	whole_and_prefixes("GET / HTTP/1.1\r\nX-A:\t\xc3\xa9t\xc3\xa9 \r\n"
	    "X-B:\r\n\r\n", &req);
	assert_string_equal(req.target, "/");
}

/* What follows the head (a pipelined request, a body) is not taken. */
static void
test_head_len(void **state)
{
	struct http_req	req;
	const char	*s = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";

	(void)state;
	assert_int_equal(parse(s, &req), HTTP_DONE);
	assert_int_equal(req.head_len, 19);
	assert_string_equal(req.target, "/a");
}

static void
test_body(void **state)
{
	struct http_req	req;

	(void)state;
	assert_int_equal(parse("POST /metrics HTTP/1.1\r\nContent-Length: 12"
	    "\r\n\r\n", &req), HTTP_DONE);
	assert_int_equal(req.body, 1);
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\ncontent-length:  000 "
	    "\r\n\r\n", &req), HTTP_DONE);
	assert_int_equal(req.body, 0);
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\nTRANSFER-ENCODING: "
	    "chunked\r\n\r\n", &req), HTTP_DONE);
	assert_int_equal(req.body, 1);
	refused("GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\nContent-Length:\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", 400);
}

/* Other protocols are refused at their first bytes. */
static void
test_other_protocols(void **state)
{
	static const char	tls[] = "\x16\x03\x01\x02\x00\x01";
	struct http_req		req;

	(void)state;
	assert_int_equal(http_parse_request(tls, sizeof(tls) - 1, &req),
	    HTTP_BAD);
	assert_int_equal(req.status, 400);
	assert_int_equal(http_parse_request("\0", 1, &req), HTTP_BAD);
	refused("PRI * HTTP/2.0\r\n\r\n", 400);		/* h2 preface */
	refused("{\"command\":\"nodes\"}\n", 400);
	refused("SSH-2.0-OpenSSH_9.2\r\n", 400);
	refused("get", 400);				/* lower case */
	refused(" GET", 400);
	refused("\r\nGET / HTTP/1.1\r\n\r\n", 400);
}

static void
test_request_line(void **state)
{
	(void)state;
	refused("GET\r\n", 400);
	refused("GET \r\n", 400);
	refused("GET  / HTTP/1.1\r\n", 400);
	refused("GET metrics HTTP/1.1\r\n", 400);
	refused("GET http://x/metrics HTTP/1.1\r\n", 400);
	refused("GET * HTTP/1.1\r\n", 400);
	refused("GET /\r\n", 400);			/* HTTP/0.9 */
	refused("GET / \r\n", 400);
	refused("GET /  HTTP/1.1\r\n", 400);
	refused("GET / HTTP/1.1 \r\n", 400);
	refused("GET / HTTP/1.1x", 400);
	refused("GET / HTTP/1.\r\n", 400);
	refused("GET / HTTP/11\r\n", 400);
	refused("GET / http/1.1\r\n", 400);
	refused("GET / HTTP/2.0\r\n", 505);
	refused("GET / HTTP/0.9\r\n", 505);
	refused("GET /\xc3\xa9 HTTP/1.1\r\n", 400);
	refused("GET /a\tb HTTP/1.1\r\n", 400);
	refused("GET /\x7f HTTP/1.1\r\n", 400);
	refused("GET / HTTP/1.1\r\r\n", 400);		/* a bare CR */
	refused("GET /\r HTTP/1.1\r\n", 400);
	refused("ABCDEFGHIJKLMNOP / HTTP/1.1\r\n", 400);	/* 16 letters */
}

/* The limits: method, target and head, each at and past its bound. */
static void
test_bounds(void **state)
{
	struct http_req	req;
	char		buf[HTTP_HEAD_MAX + 64];
	size_t		n;

	(void)state;
	assert_int_equal(parse("ABCDEFGHIJKLMNO / HTTP/1.1\r\n\r\n", &req),
	    HTTP_DONE);
	assert_string_equal(req.method, "ABCDEFGHIJKLMNO");

	n = (size_t)snprintf(buf, sizeof(buf), "GET /");
	memset(buf + n, 'a', HTTP_TARGET_MAX - 2);
	n += HTTP_TARGET_MAX - 2;
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, " HTTP/1.1\r\n\r\n");
	assert_int_equal(http_parse_request(buf, n, &req), HTTP_DONE);
	assert_int_equal(strlen(req.target), HTTP_TARGET_MAX - 1);

	/* One more: refused before the line ends. */
	n = (size_t)snprintf(buf, sizeof(buf), "GET /");
	memset(buf + n, 'a', HTTP_TARGET_MAX - 1);
	n += HTTP_TARGET_MAX - 1;
	assert_int_equal(http_parse_request(buf, n, &req), HTTP_BAD);
	assert_int_equal(req.status, 414);

	/* A head ending at exactly HTTP_HEAD_MAX bytes is taken... */
	n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nX: ");
	memset(buf + n, 'v', HTTP_HEAD_MAX - n - 4);
	memcpy(buf + HTTP_HEAD_MAX - 4, "\r\n\r\n", 4);
	assert_int_equal(http_parse_request(buf, HTTP_HEAD_MAX, &req),
	    HTTP_DONE);
	assert_int_equal(req.head_len, HTTP_HEAD_MAX);
	/* ...one byte longer is not, whatever follows. */
	n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nX: ");
	memset(buf + n, 'v', HTTP_HEAD_MAX - n - 3);
	memcpy(buf + HTTP_HEAD_MAX - 3, "\r\n\r\n", 4);
	assert_int_equal(http_parse_request(buf, HTTP_HEAD_MAX - 1, &req),
	    HTTP_MORE);
	assert_int_equal(http_parse_request(buf, HTTP_HEAD_MAX + 1, &req),
	    HTTP_BAD);
	assert_int_equal(req.status, 431);
	/* Many small headers count alike. */
	for (n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\n");
	    n + 6 < sizeof(buf); n += 6)
		memcpy(buf + n, "A: b\r\n", 6);
	assert_int_equal(http_parse_request(buf, n, &req), HTTP_BAD);
	assert_int_equal(req.status, 431);
}

static void
test_headers(void **state)
{
	(void)state;
	refused("GET / HTTP/1.1\r\nHost x\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\n: x\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\n\tA: b\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\nA(b): c\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\nA: b\x01\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\nA: b\x7f\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", 400);
	refused("GET / HTTP/1.1\r\nA: b\r\n\r\r\n", 400);
}

static void
test_route(void **state)
{
	struct http_req	req;

	(void)state;
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\n\r\n", &req),
	    HTTP_DONE);
	assert_int_equal(http_route(&req, "/metrics"), 200);
	assert_int_equal(parse("HEAD /metrics?a=b HTTP/1.0\r\n\r\n", &req),
	    HTTP_DONE);
	assert_int_equal(http_route(&req, "/metrics"), 200);
	assert_int_equal(parse("GET /metrics/ HTTP/1.1\r\n\r\n", &req),
	    HTTP_DONE);
	assert_int_equal(http_route(&req, "/metrics"), 404);
	assert_int_equal(parse("GET /metric HTTP/1.1\r\n\r\n", &req),
	    HTTP_DONE);
	assert_int_equal(http_route(&req, "/metrics"), 404);
	assert_int_equal(parse("GET / HTTP/1.1\r\n\r\n", &req), HTTP_DONE);
	assert_int_equal(http_route(&req, "/metrics"), 404);
	assert_int_equal(parse("POST /metrics HTTP/1.1\r\n\r\n", &req),
	    HTTP_DONE);
	assert_int_equal(http_route(&req, "/metrics"), 405);
	assert_int_equal(parse("DELETE /x HTTP/1.1\r\n\r\n", &req),
	    HTTP_DONE);
	assert_int_equal(http_route(&req, "/metrics"), 405);
	assert_int_equal(parse("GET /metrics HTTP/1.1\r\nContent-Length: 3"
	    "\r\n\r\n", &req), HTTP_DONE);
	assert_int_equal(http_route(&req, "/metrics"), 400);
}

static void
test_answer_head(void **state)
{
	char	out[256];
	int	n;

	(void)state;
	n = http_answer_head(out, sizeof(out), 200, "text/plain", 42);
	assert_int_equal(n, (int)strlen(out));
	assert_string_equal(out, "HTTP/1.1 200 OK\r\nContent-Type: "
	    "text/plain\r\nContent-Length: 42\r\nConnection: close\r\n\r\n");
	n = http_answer_head(out, sizeof(out), 405, "text/plain", 0);
	assert_true(n > 0);
	assert_non_null(strstr(out, "HTTP/1.1 405 Method Not Allowed\r\n"));
	assert_non_null(strstr(out, "\r\nAllow: GET, HEAD\r\n"));
	assert_int_equal(http_answer_head(out, 20, 200, "text/plain", 1), -1);
	assert_string_equal(http_reason(431), "Request Header Fields Too "
	    "Large");
	assert_string_equal(http_reason(999), "Internal Server Error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_head_len),
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_other_protocols),
		cmocka_unit_test(test_request_line),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_route),
		cmocka_unit_test(test_answer_head),
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
