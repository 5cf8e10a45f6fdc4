/*
 * enroll_load: drive a node's enrollment port with C concurrent clients.
 *   enroll_load enroll HOST PORT COUNT CONC PREFIX   real enrollments
 *   enroll_load handshake HOST PORT COUNT CONC       TLS handshake, then close
 * Prints one JSON object: wall time, rate, successes and failures.  The
 * handshake mode measures the same server's TLS capacity: the limit the
 * enrollment rate is compared with.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

static struct {
	SSL_CTX			*ctx;
	struct sockaddr_in	 addr;
	int			 enroll;
	const char		*prefix;
	int			 count;
	int			 next;		/* under mu */
	int			 ok, failed;	/* under mu */
	pthread_mutex_t		 mu;
} B = { .mu = PTHREAD_MUTEX_INITIALIZER };

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One connection: handshake, and in enroll mode a request and its answer. */
static int
one(int i)
{
	char	req[256], ans[512];
	SSL	*ssl = NULL;
	int	fd, n, len = 0, rv = -1, one_ = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one_, sizeof(one_));
	if (connect(fd, (struct sockaddr *)&B.addr, sizeof(B.addr)) == -1 ||
	    (ssl = SSL_new(B.ctx)) == NULL || !SSL_set_fd(ssl, fd) ||
	    SSL_connect(ssl) != 1)
		goto done;
	if (!B.enroll) {
		rv = 0;
		goto done;
	}
	n = snprintf(req, sizeof(req), "OSSEC A:'%s%06d'\n", B.prefix, i);
	if (SSL_write(ssl, req, n) != n)
		goto done;
	while (len < (int)sizeof(ans) - 1 &&
	    (n = SSL_read(ssl, ans + len, (int)sizeof(ans) - 1 - len)) > 0)
		len += n;
	ans[len] = '\0';
	rv = strncmp(ans, "OSSEC K:'", 9) == 0 ? 0 : -1;
done:
	if (ssl != NULL) {
		SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	close(fd);
	ERR_clear_error();
	return rv;
}

static void *
worker(void *arg)
{
	int	i, r;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&B.mu);
		i = B.next < B.count ? ++B.next : 0;
		pthread_mutex_unlock(&B.mu);
		if (i == 0)
			return NULL;
		r = one(i);
		pthread_mutex_lock(&B.mu);
		if (r == 0)
			B.ok++;
		else
			B.failed++;
		pthread_mutex_unlock(&B.mu);
	}
}

int
main(int argc, char *argv[])
{
	pthread_t	*t;
	double		 t0, wall;
	int		 conc, i;

	if (argc < 6 || (strcmp(argv[1], "enroll") == 0 && argc < 7)) {
		fprintf(stderr, "usage: enroll_load enroll|handshake HOST PORT "
		    "COUNT CONC [PREFIX]\n");
		return 2;
	}
	B.enroll = strcmp(argv[1], "enroll") == 0;
	B.addr.sin_family = AF_INET;
	B.addr.sin_port = htons((uint16_t)atoi(argv[3]));
	if (inet_pton(AF_INET, argv[2], &B.addr.sin_addr) != 1)
		return 2;
	B.count = atoi(argv[4]);
	conc = atoi(argv[5]);
	B.prefix = B.enroll ? argv[6] : "";
	if (B.count < 1 || conc < 1 || conc > 1024)
		return 2;
	B.ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_cipher_list(B.ctx,
	    "HIGH:!ADH:!EXP:!MD5:!RC4:!3DES:!CAMELLIA:@STRENGTH");
	SSL_CTX_set_verify(B.ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_session_cache_mode(B.ctx, SSL_SESS_CACHE_OFF);
	t = calloc((size_t)conc, sizeof(*t));
	t0 = now();
	for (i = 0; i < conc; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (i = 0; i < conc; i++)
		pthread_join(t[i], NULL);
	wall = now() - t0;
	printf("{\"mode\": \"%s\", \"count\": %d, \"concurrency\": %d, "
	    "\"ok\": %d, \"failed\": %d, \"seconds\": %.3f, \"rate\": %.1f}\n",
	    argv[1], B.count, conc, B.ok, B.failed, wall, B.ok / wall);
	free(t);
	SSL_CTX_free(B.ctx);
	return B.failed == 0 ? 0 : 1;
}
