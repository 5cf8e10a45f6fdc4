/*
 * bench_secmsg: decrypt + inflate + check of agent events in a tight
 * loop, the limit a worker's event rate is compared with.
 *   usage: bench_secmsg [MESSAGES]   prints {"rate": messages per second}
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/secmsg.h"

int
main(int argc, char *argv[])
{
	struct secmsg_key	 k;
	struct secmsg_counters	 c = { 1, 1, 1 };
	static uint8_t		 wire[1000][512];
	size_t			 len[1000], n, ctlen, i, total;
	enum secmsg_cipher	 ci;
	const uint8_t		*ct;
	struct timespec		 t0, t1;
	char			 msg[512], out[1024], id[SECMSG_ID_MAX];
	const char		*why;
	double			 s;

	total = argc > 1 ? strtoul(argv[1], NULL, 10) : 200000;
	if (secmsg_init() == -1)	/* as the gateway: algorithms fetched */
		return 1;
	secmsg_derive("001", "bench-agent", "0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef", &k);
	for (i = 0; i < 1000; i++) {
		snprintf(msg, sizeof(msg), "1:/var/log/syslog:bench-agent "
		    "sshd[%zu]: Accepted publickey for root from 198.18.0.9 "
		    "port %zu", i, i * 7);
		c.global++;
		if (secmsg_seal(&k, SECMSG_AES, "001", msg, strlen(msg), &c, wire[i],
		    sizeof(wire[i]), &len[i]) == -1)
			return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < total; i++) {
		if (secmsg_split(wire[i % 1000], len[i % 1000], id, &ci, &ct,
		    &ctlen) != SECMSG_OK || secmsg_open(&k, ci, ct, ctlen, out,
		    sizeof(out), &n, &c, &why) == -1)
			return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("{\"messages\": %zu, \"seconds\": %.3f, \"rate\": %.0f}\n",
	    total, s, (double)total / s);
	return 0;
}
