#include <sys/socket.h>
#include <sys/types.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "net/etcd.h"

int
etcd_init(struct etcd *e, const char *endpoints, double timeout, char *err,
    size_t errlen)
{
	char		 copy[1024], *tok, *save = NULL, *colon, *end;
	unsigned long	 port;

	memset(e, 0, sizeof(*e));
	e->timeout = timeout;
	if (strlen(endpoints) >= sizeof(copy)) {
		snprintf(err, errlen, "endpoint list too long");
		return -1;
	}
	strcpy(copy, endpoints);
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (e->n == ETCD_ENDPOINTS_MAX) {
			snprintf(err, errlen, "more than %d endpoints",
			    ETCD_ENDPOINTS_MAX);
			return -1;
		}
		if (strncmp(tok, "http://", 7) == 0)
			tok += 7;
		if ((colon = strrchr(tok, ':')) == NULL || colon == tok ||
		    (size_t)(colon - tok) >= sizeof(e->host[0])) {
			snprintf(err, errlen, "\"%s\" is not host:port", tok);
			return -1;
		}
		errno = 0;
		port = strtoul(colon + 1, &end, 10);
		if (errno != 0 || *end != '\0' || port == 0 || port > 65535) {
			snprintf(err, errlen, "bad port in \"%s\"", tok);
			return -1;
		}
		memcpy(e->host[e->n], tok, (size_t)(colon - tok));
		e->host[e->n][colon - tok] = '\0';
		e->port[e->n] = (unsigned short)port;
		e->n++;
	}
	if (e->n == 0) {
		snprintf(err, errlen, "no endpoint");
		return -1;
	}
	return 0;
}

static void
ssl_why(const char *what, char *err, size_t errlen)
{
	char		buf[256];
	unsigned long	code = ERR_get_error();

	if (code == 0)
		snprintf(buf, sizeof(buf), "connection closed or timed out");
	else
		ERR_error_string_n(code, buf, sizeof(buf));
	snprintf(err, errlen, "%.200s: %.200s", what, buf);
	ERR_clear_error();
}

int
etcd_tls(struct etcd *e, const char *ca, const char *cert, const char *key,
    char *err, size_t errlen)
{
	SSL_CTX	*ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		ssl_why("TLS", err, errlen);
		return -1;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* HTTP/1.0 answers end with the stream; a peer that closes
	 * without close_notify has still said all (the body is JSON, a
	 * truncated one does not parse). */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		ssl_why(ca, err, errlen);
		goto fail;
	}
	if (cert != NULL && cert[0] != '\0' &&
	    (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)) {
		ssl_why(cert, err, errlen);
		goto fail;
	}
	e->tls = ctx;
	return 0;
fail:
	SSL_CTX_free(ctx);
	return -1;
}

void
etcd_free(struct etcd *e)
{
	SSL_CTX_free(e->tls);
	e->tls = NULL;
}

static double
now_mono(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Wait for fd to be ready for ev until the deadline; 0, or -1 (timeout). */
static int
wait_fd(int fd, short ev, double deadline)
{
	struct pollfd	p = { fd, ev, 0 };
	double		left;
	int		r;

	for (;;) {
		left = deadline - now_mono();
		if (left <= 0)
			return -1;
		r = poll(&p, 1, (int)(left * 1000) + 1);
		if (r > 0)
			return 0;
		if (r == -1 && errno != EINTR)
			return -1;
	}
}

static int
dial(const char *host, unsigned short port, double deadline, char *err,
    size_t errlen)
{
	struct addrinfo	 hints, *res = NULL;
	char		 svc[8];
	int		 fd = -1, soerr = 0, r;
	socklen_t	 sl = sizeof(soerr);

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	snprintf(svc, sizeof(svc), "%u", port);
	if ((r = getaddrinfo(host, svc, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(r));
		goto fail;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto fail;
	}
	if (connect(fd, res->ai_addr, res->ai_addrlen) == -1 &&
	    errno != EINPROGRESS) {
		snprintf(err, errlen, "%s:%u: %s", host, port, strerror(errno));
		goto fail;
	}
	if (wait_fd(fd, POLLOUT, deadline) == -1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1 ||
	    soerr != 0) {
		snprintf(err, errlen, "%s:%u: %s", host, port, soerr ?
		    strerror(soerr) : "connection timed out");
		goto fail;
	}
	freeaddrinfo(res);
	return fd;
fail:
	if (res != NULL)
		freeaddrinfo(res);
	if (fd != -1)
		close(fd);
	return -1;
}

/*
 * TLS over the non-blocking socket: each operation again after waiting
 * for what OpenSSL wants, until the deadline.  Returns the operation's
 * result (> 0), 0 at the end of the stream, -1 on failure.
 */
enum tls_op { TLS_CONNECT, TLS_WRITE, TLS_READ };

static int
tls_do(SSL *ssl, int fd, enum tls_op op, void *buf, size_t len,
    double deadline)
{
	int	r;

	for (;;) {
		ERR_clear_error();
		r = op == TLS_CONNECT ? SSL_connect(ssl) : op == TLS_WRITE ?
		    SSL_write(ssl, buf, (int)len) : SSL_read(ssl, buf,
		    (int)len);
		if (r > 0)
			return r;
		switch (SSL_get_error(ssl, r)) {
		case SSL_ERROR_WANT_READ:
			if (wait_fd(fd, POLLIN, deadline) == -1)
				return -1;
			break;
		case SSL_ERROR_WANT_WRITE:
			if (wait_fd(fd, POLLOUT, deadline) == -1)
				return -1;
			break;
		case SSL_ERROR_ZERO_RETURN:
			return op == TLS_READ ? 0 : -1;
		default:
			return -1;
		}
	}
}

/* Verify the member's certificate against its host name or address. */
static SSL *
tls_open(struct etcd *e, int i, int fd, double deadline, char *err,
    size_t errlen)
{
	SSL			*ssl;
	X509_VERIFY_PARAM	*vp;
	unsigned char		 bin[16];
	char			 host[256];
	size_t			 n = strlen(e->host[i]);

	/* An IPv6 endpoint is written [addr]. */
	if (n > 2 && e->host[i][0] == '[' && e->host[i][n - 1] == ']')
		snprintf(host, sizeof(host), "%.*s", (int)(n - 2),
		    e->host[i] + 1);
	else
		snprintf(host, sizeof(host), "%s", e->host[i]);
	if ((ssl = SSL_new(e->tls)) == NULL || SSL_set_fd(ssl, fd) != 1)
		goto fail;
	vp = SSL_get0_param(ssl);
	if (inet_pton(AF_INET, host, bin) == 1 || inet_pton(AF_INET6, host,
	    bin) == 1) {
		if (X509_VERIFY_PARAM_set1_ip_asc(vp, host) != 1)
			goto fail;
	} else if (X509_VERIFY_PARAM_set1_host(vp, host, 0) != 1 ||
	    SSL_set_tlsext_host_name(ssl, host) != 1)
		goto fail;
	if (tls_do(ssl, fd, TLS_CONNECT, NULL, 0, deadline) <= 0)
		goto fail;
	return ssl;
fail:
	ssl_why("TLS handshake", err, errlen);
	SSL_free(ssl);
	return NULL;
}

/* One exchange with one endpoint; the raw response in *out. */
static int
exchange(struct etcd *e, int i, const char *path, const char *json,
    char **out, size_t *outlen, char *err, size_t errlen)
{
	double	 deadline = now_mono() + e->timeout;
	char	*req = NULL, *buf = NULL, *nb;
	size_t	 len, off = 0, cap = 0;
	ssize_t	 n;
	int	 fd, rv = -1;

	SSL	*ssl = NULL;

	if ((fd = dial(e->host[i], e->port[i], deadline, err, errlen)) == -1)
		return -1;
	if (e->tls != NULL && (ssl = tls_open(e, i, fd, deadline, err,
	    errlen)) == NULL) {
		close(fd);
		return -1;
	}
	len = strlen(json);
	if ((req = malloc(len + 512)) == NULL)
		goto oom;
	len = (size_t)snprintf(req, len + 512, "POST %s HTTP/1.0\r\n"
	    "Host: %s:%u\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\n\r\n%s", path, e->host[i], e->port[i],
	    len, json);
	while (off < len) {
		if (ssl != NULL) {
			if ((n = tls_do(ssl, fd, TLS_WRITE, req + off, len - off,
			    deadline)) <= 0)
				goto tlsfail;
			off += (size_t)n;
			continue;
		}
		if (wait_fd(fd, POLLOUT, deadline) == -1)
			goto timeout;
		n = send(fd, req + off, len - off, MSG_NOSIGNAL);
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			snprintf(err, errlen, "send: %s", strerror(errno));
			goto done;
		}
		if (n > 0)
			off += (size_t)n;
	}
	off = 0;
	for (;;) {
		if (off + 4096 + 1 > cap) {
			if (cap >= ETCD_RESPONSE_MAX) {
				snprintf(err, errlen, "response too large");
				goto done;
			}
			cap = cap ? cap * 2 : 16384;
			if ((nb = realloc(buf, cap)) == NULL)
				goto oom;
			buf = nb;
		}
		if (ssl != NULL) {
			if ((n = tls_do(ssl, fd, TLS_READ, buf + off, cap - off -
			    1, deadline)) == 0)
				break;
			if (n < 0)
				goto tlsfail;
			off += (size_t)n;
			continue;
		}
		if (wait_fd(fd, POLLIN, deadline) == -1)
			goto timeout;
		n = recv(fd, buf + off, cap - off - 1, 0);
		if (n == 0)
			break;
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			snprintf(err, errlen, "recv: %s", strerror(errno));
			goto done;
		}
		if (n > 0)
			off += (size_t)n;
	}
	buf[off] = '\0';
	*out = buf;
	*outlen = off;
	buf = NULL;
	rv = 0;
	goto done;
tlsfail:
	ssl_why("TLS", err, errlen);
	goto done;
timeout:
	snprintf(err, errlen, "%s:%u: no answer in %gs", e->host[i],
	    e->port[i], e->timeout);
	goto done;
oom:
	snprintf(err, errlen, "out of memory");
done:
	SSL_free(ssl);
	close(fd);
	free(req);
	free(buf);
	return rv;
}

/*
 * One call, tried on each endpoint from the one that answered last: a
 * member that is down or cut off costs one timeout, then the next one is
 * asked.  An answer with an error status is an answer (not retried).
 */
cJSON *
etcd_call(struct etcd *e, const char *path, const cJSON *body, char *err,
    size_t errlen)
{
	char		*json, *raw = NULL, why[256] = "";
	const char	*b;
	size_t		 rawlen = 0, blen;
	int		 k, i = 0, status;
	cJSON		*ans = NULL;

	if ((json = cJSON_PrintUnformatted(body)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (k = 0; k < e->n; k++) {
		i = (e->good + k) % e->n;
		if (exchange(e, i, path, json, &raw, &rawlen, why,
		    sizeof(why)) == 0)
			break;
	}
	if (k == e->n) {
		snprintf(err, errlen, "%s", why);
		goto done;
	}
	e->good = i;
	if (etcd_parse_response(raw, rawlen, &status, &b, &blen, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "%s:%u: %s", e->host[i], e->port[i], why);
		goto done;
	}
	ans = cJSON_ParseWithLength(b, blen);
	if (status != 200 || ans == NULL) {
		snprintf(err, errlen, "%s:%u: HTTP %d: %.*s", e->host[i],
		    e->port[i], status, (int)(blen > 200 ? 200 : blen), b);
		cJSON_Delete(ans);
		ans = NULL;
	}
done:
	free(json);
	free(raw);
	return ans;
}

/*
 * "HTTP/1.x NNN reason" CRLF, header lines, CRLF, body.  The body ends
 * at Content-Length when given, else at the end of the stream (an
 * HTTP/1.0 request gets no chunked answer; one is refused).
 */
int
etcd_parse_response(const char *buf, size_t len, int *status,
    const char **body, size_t *bodylen, char *err, size_t errlen)
{
	const char	*p = buf, *end = buf + len, *eol, *colon;
	long long	 clen = -1;
	size_t		 n;
	char		 num[24];

	if (len < 13 || memcmp(buf, "HTTP/1.", 7) != 0 || (buf[7] != '0' &&
	    buf[7] != '1') || buf[8] != ' ' || buf[9] < '1' || buf[9] > '5' ||
	    buf[10] < '0' || buf[10] > '9' || buf[11] < '0' || buf[11] > '9' ||
	    (buf[12] != ' ' && buf[12] != '\r')) {
		snprintf(err, errlen, "not an HTTP/1.x status line");
		return -1;
	}
	*status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + buf[11] - '0';
	for (;;) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			snprintf(err, errlen, "truncated head");
			return -1;
		}
		if (eol == p || eol[-1] != '\r') {
			snprintf(err, errlen, "line not ended by CRLF");
			return -1;
		}
		if (p != buf && eol == p + 1)
			break;		/* the empty line */
		if (p != buf) {
			colon = memchr(p, ':', (size_t)(eol - p));
			if (colon == NULL || colon == p) {
				snprintf(err, errlen, "bad header line");
				return -1;
			}
			n = (size_t)(colon - p);
			if (n == 14 && strncasecmp(p, "Content-Length", 14) ==
			    0) {
				for (colon++; colon < eol - 1 && *colon == ' ';
				    colon++)
					;
				n = (size_t)(eol - 1 - colon);
				if (n == 0 || n >= sizeof(num) ||
				    strspn(colon, "0123456789") < n) {
					snprintf(err, errlen,
					    "bad Content-Length");
					return -1;
				}
				memcpy(num, colon, n);
				num[n] = '\0';
				clen = strtoll(num, NULL, 10);
			} else if (n == 17 && strncasecmp(p,
			    "Transfer-Encoding", 17) == 0) {
				snprintf(err, errlen, "chunked answer");
				return -1;
			}
		}
		p = eol + 1;
	}
	p = eol + 1;
	if (clen >= 0) {
		if ((long long)(end - p) < clen) {
			snprintf(err, errlen, "body shorter than "
			    "Content-Length");
			return -1;
		}
		*bodylen = (size_t)clen;
	} else
		*bodylen = (size_t)(end - p);
	*body = p;
	return 0;
}

char *
etcd_b64(const char *s, size_t n)
{
	char	*out;

	if (n > 48 * 1024 * 1024 || (out = malloc(4 * ((n + 2) / 3) + 1)) ==
	    NULL)
		return NULL;
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s,
	    (int)n);
	return out;
}

char *
etcd_unb64(const char *s, size_t *n)
{
	size_t	 len = strlen(s);
	char	*out;
	int	 r;

	if (len % 4 != 0 || len > 64 * 1024 * 1024 || (out = malloc(len /
	    4 * 3 + 1)) == NULL)
		return NULL;
	if ((r = EVP_DecodeBlock((unsigned char *)out,
	    (const unsigned char *)s, (int)len)) < 0) {
		free(out);
		return NULL;
	}
	/* DecodeBlock counts the padding as bytes. */
	if (len > 0 && s[len - 1] == '=')
		r--;
	if (len > 1 && s[len - 2] == '=')
		r--;
	out[r] = '\0';
	*n = (size_t)r;
	return out;
}

long long
etcd_int(const cJSON *obj, const char *name)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (cJSON_IsString(v))
		return strtoll(v->valuestring, NULL, 10);
	if (cJSON_IsNumber(v))
		return (long long)v->valuedouble;
	return 0;
}
