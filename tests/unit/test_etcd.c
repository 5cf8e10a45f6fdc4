/*
 * test_etcd: the etcd client's pure parts on network bytes: HTTP/1.x
 * answers (Content-Length, to the end of the stream, malformed heads,
 * chunked answers, short bodies), base64 both ways with bad input, the
 * endpoint list, and int64 fields sent as strings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net/etcd.h"

static int
parse(const char *s, int *status, const char **body, size_t *blen)
{
	char	err[128];

	return etcd_parse_response(s, strlen(s), status, body, blen, err,
	    sizeof(err));
}

static void
test_response_ok(void **state)
{
	const char	*b;
	size_t		 n;
	int		 st;
	const char	*s = "HTTP/1.0 200 OK\r\nContent-Type: application/json"
	    "\r\ncontent-length: 7\r\n\r\n{\"a\":1}trailing";

	(void)state;
	assert_int_equal(parse(s, &st, &b, &n), 0);
	assert_int_equal(st, 200);
	assert_int_equal(n, 7);
	assert_memory_equal(b, "{\"a\":1}", 7);
	/* No length: to the end of the stream. */
	assert_int_equal(parse("HTTP/1.1 404 Not Found\r\nX: y\r\n\r\nabc",
	    &st, &b, &n), 0);
	assert_int_equal(st, 404);
	assert_int_equal(n, 3);
	assert_int_equal(parse("HTTP/1.0 200 OK\r\n\r\n", &st, &b, &n), 0);
	assert_int_equal(n, 0);
}

static void
test_response_bad(void **state)
{
	static const char *const bad[] = {
		"",
		"HTTP/1.0",
		"HTTP/2.0 200 OK\r\n\r\n",
		"HTTP/1.0 600 OK\r\n\r\n",
		"HTTP/1.0 2x0 OK\r\n\r\n",
		"HTTP/1.0 200OK\r\n\r\n",
		"SSH-2.0-OpenSSH\r\n\r\n",
		"HTTP/1.0 200 OK\r\n",			/* head not ended */
		"HTTP/1.0 200 OK\nX: y\n\n",		/* bare LF */
		"HTTP/1.0 200 OK\r\nno colon\r\n\r\n",
		"HTTP/1.0 200 OK\r\n: empty name\r\n\r\n",
		"HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nshort",
		"HTTP/1.0 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.0 200 OK\r\nContent-Length: \r\n\r\n",
		"HTTP/1.0 200 OK\r\nContent-Length: 1x\r\n\r\nab",
		"HTTP/1.0 200 OK\r\nContent-Length: 99999999999999999999999"
		    "\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc",
	};
	const char	*b;
	size_t		 i, n;
	int		 st;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(bad[i], &st, &b, &n) != -1)
			fail_msg("accepted: %s", bad[i]);
}

static void
test_base64(void **state)
{
	char	*e, *d;
	size_t	 n;

	(void)state;
	e = etcd_b64("clusterd/x", 10);
	assert_string_equal(e, "Y2x1c3RlcmQveA==");
	d = etcd_unb64(e, &n);
	assert_int_equal(n, 10);
	assert_string_equal(d, "clusterd/x");
	free(e);
	free(d);
	e = etcd_b64("", 0);
	assert_string_equal(e, "");
	d = etcd_unb64(e, &n);
	assert_int_equal(n, 0);
	free(e);
	free(d);
	assert_null(etcd_unb64("abc", &n));	/* not a multiple of 4 */
	assert_null(etcd_unb64("a*c=", &n));
}

static void
test_endpoints(void **state)
{
	struct etcd	e;
	char		err[128];

	(void)state;
	assert_int_equal(etcd_init(&e, "127.0.0.1:2379,http://[::1]:2380",
	    1.0, err, sizeof(err)), 0);
	assert_int_equal(e.n, 2);
	assert_string_equal(e.host[0], "127.0.0.1");
	assert_int_equal(e.port[1], 2380);
	assert_string_equal(e.host[1], "[::1]");
	assert_int_equal(etcd_init(&e, "", 1.0, err, sizeof(err)), -1);
	assert_int_equal(etcd_init(&e, "host", 1.0, err, sizeof(err)), -1);
	assert_int_equal(etcd_init(&e, "h:0", 1.0, err, sizeof(err)), -1);
	assert_int_equal(etcd_init(&e, "h:70000", 1.0, err, sizeof(err)), -1);
	assert_int_equal(etcd_init(&e, ":1", 1.0, err, sizeof(err)), -1);
	assert_int_equal(etcd_init(&e, "a:1,b:2,c:3,d:4,e:5,f:6,g:7,h:8,i:9",
	    1.0, err, sizeof(err)), -1);
}

static void
test_int(void **state)
{
	cJSON	*o = cJSON_Parse("{\"ID\":\"4111120477806458373\",\"TTL\":5}");

	(void)state;
	assert_true(etcd_int(o, "ID") == 4111120477806458373LL);
	assert_int_equal(etcd_int(o, "TTL"), 5);
	assert_int_equal(etcd_int(o, "none"), 0);
	cJSON_Delete(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_response_ok),
		cmocka_unit_test(test_response_bad),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_int),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
