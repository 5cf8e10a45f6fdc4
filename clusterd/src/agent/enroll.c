#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "agent/enroll.h"
#include "agent/enroll_parse.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/node.h"
#include "base/reap.h"
#include "base/srclimit.h"
#include "net/conn.h"
#include "net/listener.h"
#include "net/preauth.h"
#include "net/proxywait.h"
#include "net/tls.h"

#define TASK	"Enrollment"
/* TLS 1.2: forward secrecy and AEAD only (no CBC, no SHA-1 MAC); agents'
 * own list (HIGH:!ADH:!EXP:!MD5:!RC4:!3DES:!CAMELLIA) includes these. */
#define CIPHERS	"ECDHE+AESGCM:ECDHE+CHACHA20:@STRENGTH"

struct enroll_client {
	struct conn	*conn;		/* NULL once closed */
	struct preauth_entry pa;	/* counted until its request is read */
	ev_timer	 idle;		/* then, the answer's limit */
	int		 pending;	/* submitted, no answer yet */
	int		 answered;
	char		 id[AGENT_ID_MAX];	/* of an answer with a key */
	char		 key[AGENT_KEY_LEN + 1];
	char		 src[64];
};

static struct {
	struct node		*node;
	const struct enroll_ops	*ops;
	SSL_CTX			*ctx;
	struct listener		 listener;
	struct preauth		 pa;	/* clients without a whole request */
	unsigned long		 requests;
	unsigned long		 accepted, refused, undelivered;
	unsigned long		 rate_limited;	/* connections closed at once */
	unsigned		 clients;	/* open or awaiting an answer */
	struct srclimit		 limit;		/* enrollment_rate_limit */
	ev_timer		 flush;		/* the limit's refusal tallies */
} E = { .listener.fd = -1 };

static const struct metrics_def M_ENROLLMENTS = {
	"clusterd_enrollments_total", METRICS_COUNTER,
	"Enrollment requests this node's enrollment port answered, by result."
};
static const struct metrics_def M_UNDELIVERED = {
	"clusterd_enrollments_undelivered_total", METRICS_COUNTER,
	"Keys this node's enrollment port could not deliver to their agent "
	"(the enrollment is taken back)."
};

static void client_data(struct conn *);
static void client_close(struct conn *, const char *);

static const struct conn_ops client_ops = {
	NULL, client_data, NULL, client_close
};

static void
client_free(void *p)
{
	E.clients--;
	free(p);
}

/* Hand an undelivered key back to the role, once. */
static void
undelivered(struct enroll_client *cl)
{
	if (cl->id[0] != '\0') {
		E.undelivered++;
		if (E.ops->undelivered != NULL)
			E.ops->undelivered(cl->id, cl->key);
	}
	cl->id[0] = '\0';
}

void
enroll_answer(struct enroll_client *cl, const char *answer, const char *id,
    const char *key)
{
	cl->pending = 0;
	if (id != NULL && key != NULL) {
		E.accepted++;
		snprintf(cl->id, sizeof(cl->id), "%s", id);
		snprintf(cl->key, sizeof(cl->key), "%s", key);
	} else
		E.refused++;
	if (cl->conn == NULL) {		/* the agent is gone */
		undelivered(cl);
		reap_later(client_free, cl);
		return;
	}
	cl->answered = 1;
	if (conn_write(cl->conn, answer, strlen(answer)) == 0)
		conn_close_after_flush(cl->conn);
}

/*
 * The request line is whole (or too long to be one): the client is no
 * longer silent, and the answer now has ENROLL_IDLE_TIMEOUT to be decided
 * and sent.
 */
static void
request_read(struct enroll_client *cl)
{
	preauth_done(&E.pa, &cl->pa);
	ev_timer_start(E.node->loop, &cl->idle);
}

static void
client_data(struct conn *c)
{
	struct enroll_client	*cl = c->arg;
	struct enroll_req	 req;
	char			 answer[ENROLL_ANSWER_MAX];
	uint8_t			*nl;
	size_t			 len;

	if (cl->pending || cl->answered)
		return;
	nl = memchr(buf_head(&c->in), '\n', buf_used(&c->in));
	if (nl == NULL) {
		if (buf_used(&c->in) >= ENROLL_LINE_MAX) {
			request_read(cl);
			enroll_answer(cl, "ERROR: Invalid request for new agent",
			    NULL, NULL);
		}
		return;
	}
	request_read(cl);
	len = (size_t)(nl - buf_head(&c->in));
	E.requests++;
	if (enroll_parse((const char *)buf_head(&c->in), len, &req, answer,
	    sizeof(answer)) == -1) {
		if (srclimit_refused(&E.limit, cl->src, answer,
		    ev_now(E.node->loop)))
			log_info(TASK, "Refused a request from %s: %s",
			    cl->src, answer);
		enroll_answer(cl, answer, NULL, NULL);
		return;
	}
	log_debug(TASK, "Request for agent '%s' from %s.", req.name, cl->src);
	cl->pending = 1;
	E.ops->submit(cl, &req, (const char *)buf_head(&c->in), len, cl->src);
}

static void
client_close(struct conn *c, const char *reason)
{
	struct enroll_client	*cl = c->arg;

	ev_timer_stop(E.node->loop, &cl->idle);
	preauth_done(&E.pa, &cl->pa);
	cl->conn = NULL;
	/* Not flushed to the agent: the key never reached it. */
	if (cl->answered && strcmp(reason, "closed after reply") != 0)
		undelivered(cl);
	if (!cl->pending)
		reap_later(client_free, cl);
}

static void
idle_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct enroll_client	*cl = t->data;

	(void)loop;
	(void)revents;
	if (cl->conn != NULL)
		conn_close(cl->conn, "idle");
}

/* TLS handshake and request line did not come within preauth_timeout. */
static void
preauth_expire(struct preauth *pa, struct preauth_entry *e)
{
	struct enroll_client	*cl = e->owner;

	(void)pa;
	if (cl->conn != NULL)
		conn_close(cl->conn, "no request within preauth_timeout");
}

/*
 * A new client: counted as silent, and timed out, until its request line
 * is whole (request_read).
 */
static void
accept_cb(struct listener *l, int fd, const char *addr, void *arg)
{
	struct enroll_client	*cl;
	ev_tstamp		 now = ev_now(l->loop);

	(void)arg;
	/* Over its rate, an address's connection is closed before TLS: a
	 * flood costs a close, not a handshake and a registry write. */
	srclimit_set_rate(&E.limit, E.node->cfg.enrollment_rate_limit);
	if (!srclimit_take(&E.limit, addr, now)) {
		E.rate_limited++;
		if (srclimit_refused(&E.limit, addr, "over "
		    "enrollment_rate_limit", now))
			log_warnx(TASK, "Refused enrollment connections from "
			    "%s: more than %u a minute (enrollment_rate_limit).",
			    addr, E.node->cfg.enrollment_rate_limit);
		close(fd);
		return;
	}
	if ((cl = calloc(1, sizeof(*cl))) == NULL)
		goto fail;
	snprintf(cl->src, sizeof(cl->src), "%s", addr);
	ev_timer_init(&cl->idle, idle_cb, ENROLL_IDLE_TIMEOUT, 0);
	cl->idle.data = cl;
	if (preauth_add(&E.pa, &cl->pa, addr, cl) == -1)
		goto fail;
	if ((cl->conn = conn_new(l->loop, fd, E.ctx, 1, 0, &client_ops,
	    cl)) == NULL)
		goto fail;
	cl->conn->in_limit = ENROLL_LINE_MAX + 1;
	E.clients++;
	return;
fail:
	if (cl != NULL)
		preauth_done(&E.pa, &cl->pa);
	close(fd);
	free(cl);
}

/*
 * A self-signed certificate for the enrollment service: agents do not
 * verify the manager's certificate unless told to, so one made at first
 * start serves.  EC P-256: handshakes are cheap for a fleet rollout.
 */
int
enroll_make_cert(const char *certpath, const char *keypath, char *err,
    size_t errlen)
{
	EVP_PKEY	*pk = NULL;
	X509		*x = NULL;
	X509_NAME	*nm;
	FILE		*fp = NULL;
	mode_t		 old;
	int		 rv = -1;

	if ((pk = EVP_EC_gen("P-256")) == NULL || (x = X509_new()) == NULL)
		goto done;
	X509_set_version(x, 2);
	if (!ASN1_INTEGER_set(X509_get_serialNumber(x),
	    (long)(time(NULL) & 0x7fffffff)) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 86400) ||
	    !X509_set_pubkey(x, pk))
		goto done;
	nm = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC,
	    (const unsigned char *)"clusterd", -1, -1, 0);
	if (!X509_set_issuer_name(x, nm) || !X509_sign(x, pk, EVP_sha256()))
		goto done;
	old = umask(0077);
	fp = fopen(keypath, "w");
	umask(old);
	if (fp == NULL || !PEM_write_PrivateKey(fp, pk, NULL, NULL, 0, NULL,
	    NULL) || fclose(fp) != 0) {
		fp = NULL;
		snprintf(err, errlen, "cannot write %s: %s", keypath,
		    strerror(errno));
		goto fail;
	}
	if ((fp = fopen(certpath, "w")) == NULL || !PEM_write_X509(fp, x) ||
	    fclose(fp) != 0) {
		fp = NULL;
		snprintf(err, errlen, "cannot write %s: %s", certpath,
		    strerror(errno));
		goto fail;
	}
	fp = NULL;
	rv = 0;
done:
	if (rv == -1)
		snprintf(err, errlen, "cannot make a certificate: %s",
		    tls_error_string());
fail:
	X509_free(x);
	EVP_PKEY_free(pk);
	return rv;
}

static SSL_CTX *
make_ctx(char *err, size_t errlen)
{
	const struct config	*c = &E.node->cfg;
	char			 cert[PATH_MAX], key[PATH_MAX];
	SSL_CTX			*ctx;

	if (c->enrollment_cert[0] != '\0')
		snprintf(cert, sizeof(cert), "%s", c->enrollment_cert);
	else
		config_path(c, ENROLL_CERT_REL, cert, sizeof(cert));
	if (c->enrollment_key[0] != '\0')
		snprintf(key, sizeof(key), "%s", c->enrollment_key);
	else
		config_path(c, ENROLL_KEY_REL, key, sizeof(key));
	if (access(cert, F_OK) == -1 && access(key, F_OK) == -1) {
		if (enroll_make_cert(cert, key, err, errlen) == -1)
			return NULL;
		log_info(TASK, "Generated a self-signed certificate: %s.", cert);
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		goto fail;
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    !SSL_CTX_set_cipher_list(ctx, CIPHERS) ||
	    SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "certificate %.200s / key %.200s: %s", cert,
		    key,
		    tls_error_string());
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	/* No session is ever resumed: an agent opens a new context for each
	 * enrollment.  The two TLS 1.3 tickets OpenSSL sends by default cost
	 * each handshake their encryption here and a session object on the
	 * agent's side, for nothing. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(ctx, 0);
	return ctx;
fail:
	snprintf(err, errlen, "%s", tls_error_string());
	return NULL;
}

/* A collector (metrics.h): the answers of this node's enrollment port. */
static void
enroll_metrics(struct metrics *m, void *arg)
{
	(void)arg;
	metrics_put(m, &M_ENROLLMENTS, (double)E.accepted, "result",
	    "accepted", NULL);
	metrics_put(m, &M_ENROLLMENTS, (double)E.refused, "result", "refused",
	    NULL);
	metrics_put(m, &M_ENROLLMENTS, (double)E.rate_limited, "result",
	    "rate_limited", NULL);
	metrics_put(m, &M_UNDELIVERED, (double)E.undelivered, NULL);
}

/*
 * A refusal of a request from src, decided by the role (a wrong password
 * on a worker): 1 if it is logged now, 0 if it joins the address's tally
 * of the minute.
 */
int
enroll_log_now(const char *src, const char *why)
{
	return srclimit_refused(&E.limit, src, why, ev_now(E.node->loop));
}

static void
limit_emit(const char *addr, unsigned n, const char *why, void *arg)
{
	(void)arg;
	log_warnx(TASK, "%u more enrollment requests refused from %s in the "
	    "last minute (the last: %s).", n, addr, why);
}

static void
flush_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)t;
	(void)revents;
	srclimit_flush(&E.limit, ev_now(loop), limit_emit, NULL);
}

int
enroll_start(struct node *n, const struct enroll_ops *ops)
{
	char		 err[512];

	E.node = n;
	E.ops = ops;
	if (!n->cfg.enrollment)
		return 0;
	if ((E.ctx = make_ctx(err, sizeof(err))) == NULL) {
		log_errx(TASK, "Cannot start: %s.", err);
		return -1;
	}
	if (srclimit_init(&E.limit, 1024, n->cfg.enrollment_rate_limit) ==
	    -1) {
		log_errx(TASK, "Cannot start: out of memory.");
		return -1;
	}
	ev_timer_init(&E.flush, flush_cb, 5.0, 5.0);
	ev_timer_start(n->loop, &E.flush);
	preauth_init(&E.pa, n->loop, &n->cfg, TASK, "enrollment connections",
	    "complete request", preauth_expire);
	if (listener_tcp(&E.listener, n->loop, n->cfg.enrollment_address,
	    n->cfg.enrollment_port, 1024, TASK, "enrollment requests",
	    accept_cb, NULL) == -1)
		return -1;
	listener_set_preauth(&E.listener, &E.pa);
	if (listener_set_proxy(&E.listener, &n->cfg, "enrollment") == -1)
		return -1;
	metrics_register(enroll_metrics, NULL);
	log_info(TASK, "Serving enrollment on %s:%u.",
	    n->cfg.enrollment_address, n->cfg.enrollment_port);
	return 0;
}

/*
 * Take no new connection (they are refused, and a balancer sends them to
 * another node); the clients already in are answered as usual.  A master
 * about to hand its role over waits for them (enroll_clients).
 */
void
enroll_quiesce(void)
{
	if (E.listener.fd != -1)
		log_info(TASK, "No new enrollment connection: %u client(s) "
		    "still to answer.", E.clients);
	listener_quiesce(&E.listener);
}

unsigned
enroll_clients(void)
{
	return E.clients + proxywait_waiting(E.listener.proxy);
}

void
enroll_stop(void)
{
	metrics_unregister(enroll_metrics, NULL);
	if (E.node != NULL)
		ev_timer_stop(E.node->loop, &E.flush);
	srclimit_free(&E.limit);
	listener_close(&E.listener);
	preauth_stop(&E.pa);
	SSL_CTX_free(E.ctx);
	E.ctx = NULL;
}
