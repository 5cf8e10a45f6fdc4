/*
 * etcd: a client of etcd's v3 API through its JSON gateway (POST /v3/...),
 * plain HTTP/1.0, one connection per call, blocking with a deadline: it
 * runs on a thread of its own, never on the loop.  Keys and values travel
 * base64-encoded, as the gateway wants them.  The response parser is pure
 * and fuzzed (tests/fuzz/fuzz_etcd.c).
 */
#ifndef CLUSTERD_ETCD_H
#define CLUSTERD_ETCD_H

#include <stddef.h>

#include <cjson/cJSON.h>
#include <openssl/ssl.h>

#define ETCD_RESPONSE_MAX	(64 * 1024 * 1024)
#define ETCD_ENDPOINTS_MAX	8

struct etcd {
	char		 host[ETCD_ENDPOINTS_MAX][256];
	unsigned short	 port[ETCD_ENDPOINTS_MAX];
	int		 n;
	int		 good;		/* the endpoint that answered last */
	double		 timeout;	/* seconds, per call */
	SSL_CTX		*tls;		/* NULL: plain HTTP */
};

/* Parse "host:port,host:port" (at most ETCD_ENDPOINTS_MAX). */
int	 etcd_init(struct etcd *, const char *endpoints, double timeout,
	    char *err, size_t errlen);
/*
 * Speak TLS (1.2 or later) to every endpoint: the members' certificates
 * must chain to ca and name the endpoint's host (or address); cert and
 * key, when given, are this client's (etcd's --client-cert-auth).
 */
int	 etcd_tls(struct etcd *, const char *ca, const char *cert,
	    const char *key, char *err, size_t errlen);
void	 etcd_free(struct etcd *);
/* One call: POST path with body; the answer's JSON, or NULL with err. */
cJSON	*etcd_call(struct etcd *, const char *path, const cJSON *body,
	    char *err, size_t errlen);

/* An HTTP/1.x response: status and body (pointing into buf).  0 when
 * whole, -1 when malformed (reason in err). */
int	 etcd_parse_response(const char *buf, size_t len, int *status,
	    const char **body, size_t *bodylen, char *err, size_t errlen);

/* base64 both ways; etcd_unb64 returns a malloc'ed NUL-terminated
 * string (NULL on bad input), its length in *n. */
char	*etcd_b64(const char *s, size_t n);
char	*etcd_unb64(const char *s, size_t *n);
/* An int64 the gateway sends as a string (or a number); 0 if absent. */
long long etcd_int(const cJSON *obj, const char *name);

#endif
