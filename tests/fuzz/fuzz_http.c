/*
 * fuzz_http: http_parse_request() on arbitrary bytes, as the metrics
 * endpoint hands it what it has read.  A refusal carries one of the
 * statuses the parser promises; a whole head holds only what the endpoint
 * trusts (an A-Z method, a visible "/..." target, HTTP/1.x, a length
 * within the bytes and HTTP_HEAD_MAX), is found again in its own bytes
 * alone, and every shorter prefix of it asks for more.  Routing and the
 * answer's head take any parsed request.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/http.h"

#include "fuzz.h"

static void
check_done(const uint8_t *data, const struct http_req *req)
{
	struct http_req	again;
	char		head[256];
	size_t		i;
	int		st;

	CHECK(req->head_len >= 14 && req->head_len <= HTTP_HEAD_MAX);
	CHECK(data[req->head_len - 1] == '\n');
	CHECK(req->method[0] != '\0' && strlen(req->method) < HTTP_METHOD_MAX);
	for (i = 0; req->method[i] != '\0'; i++)
		CHECK(req->method[i] >= 'A' && req->method[i] <= 'Z');
	CHECK(req->target[0] == '/' && strlen(req->target) < HTTP_TARGET_MAX);
	for (i = 0; req->target[i] != '\0'; i++)
		CHECK(req->target[i] > ' ' && req->target[i] < 0x7f);
	CHECK(req->minor >= 0 && req->minor <= 9);
	CHECK(req->body == 0 || req->body == 1);
	CHECK(http_parse_request(data, req->head_len, &again) == HTTP_DONE);
	CHECK(memcmp(req, &again, sizeof(again)) == 0);
	/* Cheap enough on heads of a few KiB. */
	for (i = req->head_len > 64 ? req->head_len - 64 : 0;
	    i < req->head_len; i++)
		CHECK(http_parse_request(data, i, &again) == HTTP_MORE);
	st = http_route(req, "/metrics");
	CHECK(st == 200 || st == 400 || st == 404 || st == 405);
	CHECK(http_answer_head(head, sizeof(head), st, "text/plain", 1) > 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_req	req;

	switch (http_parse_request(data, size, &req)) {
	case HTTP_MORE:
		CHECK(size < HTTP_HEAD_MAX);
		CHECK(memchr(data, '\0', size) == NULL);
		break;
	case HTTP_DONE:
		check_done(data, &req);
		break;
	case HTTP_BAD:
		CHECK(req.status == 400 || req.status == 414 ||
		    req.status == 431 || req.status == 505);
		break;
	default:
		CHECK(0);
	}
	return 0;
}
