/*
 * fuzz_etcd: etcd_parse_response() on arbitrary bytes, as the etcd client
 * hands it what a member (or anything on its port) sent.  A whole answer
 * has a status 100..599 and a body that lies within the bytes; then the
 * body goes to cJSON as etcd_call() does, and base64 decoding takes any
 * NUL-terminated text.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/etcd.h"

#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*body;
	size_t		 blen, n;
	int		 st;
	char		 err[128], *text, *d;
	cJSON		*j;

	if (etcd_parse_response((const char *)data, size, &st, &body, &blen,
	    err, sizeof(err)) == 0) {
		CHECK(st >= 100 && st <= 599);
		CHECK(body >= (const char *)data);
		CHECK(body + blen <= (const char *)data + size);
		j = cJSON_ParseWithLength(body, blen);
		cJSON_Delete(j);
	} else
		CHECK(err[0] != '\0');
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if ((d = etcd_unb64(text, &n)) != NULL) {
		CHECK(n <= size);
		free(d);
	}
	free(text);
	return 0;
}
