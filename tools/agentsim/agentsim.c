/*
 * agentsim: simulates N Wazuh 4.x agents against a manager address (a
 * balancer's VIP, or a worker): enrolls them over TLS (or reads a keys
 * file), connects them to the secure-message port, sends startup, then
 * keepalives every notify_time with a realistic uname and labels, and
 * events at a chosen rate.  Like agentd it waits for the answers: it
 * reconnects when nothing came back for time-reconnect, honours
 * #!-force_reconnect and reconnects after a loss (at once, then every retry
 * interval, with a fresh address lookup); simlink.c makes these decisions.
 * Receives shared files as agentd does: "#!-up file <md5> <name>", the
 * chunks, "#!-close file "; an MD5 that matches installs the file (kept in
 * memory, written under -m DIR) and its sum goes in the next keepalive.
 * Prints periodic stats and a JSON summary.  Uses clusterd's own modules
 * (conn, secmsg).
 */
#include <sys/resource.h>

#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "agent/merged.h"
#include "agent/secmsg.h"
#include "base/log.h"
#include "base/reap.h"
#include "net/conn.h"

#include "simlink.h"

#define FIRST_MERGED_SUM	"d6e3ac3e75ca0319af3e7c262776f331"
#define SHARED_MAX	(64 * 1024 * 1024)

#define KEEPALIVE_FMT							\
	"#!-Linux |%s |5.10.0-21-amd64 |#1 SMP Debian 5.10.162-1 "	\
	"(2023-01-21) |x86_64 [Debian GNU/Linux|debian: 11 (bullseye)] - "\
	"Wazuh v4.14.7 / ab73af41699f13fdd81903b5f23d8d00\n"		\
	"\"env\":sim\n\"index\":%d\n"					\
	"%s merged.mg\n"							\
	"#\"_agent_ip\":10.%d.%d.%d\n"

struct sim_agent {
	int			 index;
	char			 id[16];
	char			 name[64];
	char			 key[65];
	struct secmsg_key	 skey;
	struct conn		*conn;		/* enrollment or agent link */
	int			 enrolled;
	int			 connected;	/* the TCP connection is open */
	int			 file_open;	/* inside #!-up file .. close */
	char			 file_md5[33];	/* announced by #!-up file */
	char			*file;		/* received so far */
	size_t			 file_len;
	char			 merged_sum[33];	/* what keepalives say */
	struct simlink		 link;		/* handshake, keepalives, retry */
	ev_timer		 timer;		/* simlink's next decision */
	unsigned long		 global;
	unsigned		 local;
	double			 lost_at;	/* lost its answered link then */
	int			 was_up;	/* answered once: it has events */
	int			 leaving;	/* asked to reconnect: flushing */
	uint8_t			*replay;	/* -x: one sealed event, resent */
	size_t			 replay_len;
};

static struct {
	struct ev_loop		*loop;
	const char		*host;
	unsigned		 port, eport;
	int			 n;
	struct simlink_cfg	 cfg;		/* -k, -T, -R */
	double			 rate, duration, stats;
	int			 stopping;	/* no new attempts */
	const char		*prefix, *keys_in, *keys_out;
	int			 enroll_conc;
	int			 replay;
	enum secmsg_cipher	 cipher;	/* -b: legacy Blowfish agents */
	SSL_CTX			*tls;
	struct sim_agent	*agents;
	int			 next_enroll, enrolling;
	ev_timer		 events, stats_t, stop_t;
	ev_signal		 sigint, sigterm;
	double			 due;
	int			 ev_cursor;
	unsigned long		 enrolled, enroll_errors, connected_now;
	unsigned long		 connects, reconnects, acks, events_sent;
	unsigned long		 keepalives, conn_errors, bad_messages;
	unsigned long		 events_held;	/* due while not answered */
	double			 gap_max;	/* longest time without a node */
	unsigned long		 causes[SIMLINK_CAUSES];
	unsigned long		 timeouts_logged;
	unsigned long		 shared_ok, shared_bad;
	const char		*groups;	/* -G: G:'...' at enrollment */
	const char		*shared_dir;	/* -m: where files are kept */
} S = {
	.port = 1514, .eport = 1515, .n = 10,
	.cfg = { .notify_time = 10, .time_reconnect = 60, .retry = 5 },
	.prefix = "sim-agent-", .enroll_conc = 32
};

static void agent_connect(struct sim_agent *);
static void enroll_next(void);

/* Uniform in [0, 1). */
static double
urand(void)
{
	return (double)random() / ((double)RAND_MAX + 1);
}

/* A frame's 4-byte little-endian length, before its n bytes at p + 4. */
static void
put_len(uint8_t *p, size_t n)
{
	p[0] = (uint8_t)n;
	p[1] = (uint8_t)(n >> 8);
	p[2] = (uint8_t)(n >> 16);
	p[3] = (uint8_t)(n >> 24);
}

/*
 * Seal and send one message to the manager, framed: one write.  Small ones
 * (keepalives) go stored, not compressed (secmsg_seal_quick): the
 * simulator shares the measured machine, and the manager reads either.
 */
static void
agent_send(struct sim_agent *a, const char *msg)
{
	struct secmsg_counters	ctr;
	uint8_t			buf[SECMSG_MAX + 64];
	size_t			n;

	if (a->conn == NULL || !a->connected)
		return;
	ctr.random = (unsigned)random() % 100000;
	ctr.global = ++a->global;
	ctr.local = a->local = (a->local + 1) % 10000;
	if (secmsg_seal_quick(&a->skey, S.cipher, a->id, msg, strlen(msg),
	    &ctr, buf + 4, sizeof(buf) - 4, &n) == -1)
		return;
	put_len(buf, n);
	conn_write(a->conn, buf, n + 4);
}

/*
 * -x: seal the agent's first event once and send those same bytes again,
 * so the simulator's own compression does not limit a throughput test
 * (the manager does not enforce counters by default).
 */
static void
replay_send(struct sim_agent *a, const char *msg)
{
	struct secmsg_counters	ctr = { 1, 1, 1 };
	uint8_t			buf[SECMSG_MAX + 64];
	size_t			n;

	if (a->replay == NULL) {
		if (secmsg_seal(&a->skey, S.cipher, a->id, msg, strlen(msg),
		    &ctr, buf + 4, sizeof(buf) - 4, &n) == -1 ||
		    (a->replay = malloc(n + 4)) == NULL)
			return;
		put_len(buf, n);
		memcpy(a->replay, buf, n + 4);
		a->replay_len = n + 4;
	}
	if (a->conn != NULL && a->connected && !conn_congested(a->conn))
		conn_write(a->conn, a->replay, a->replay_len);
}

static void
schedule(struct sim_agent *a, double after, double repeat)
{
	ev_timer_stop(S.loop, &a->timer);
	ev_timer_set(&a->timer, after > 0 ? after : 0, repeat);
	ev_timer_start(S.loop, &a->timer);
}

static void
send_keepalive(struct sim_agent *a)
{
	char	msg[1024];

	snprintf(msg, sizeof(msg), KEEPALIVE_FMT, a->name, a->index,
	    a->merged_sum[0] ? a->merged_sum : FIRST_MERGED_SUM,
	    (a->index >> 16) & 255, (a->index >> 8) & 255, a->index & 255);
	agent_send(a, msg);
	if (a->connected) {	/* a failed write closed it */
		simlink_sent(&a->link, ev_now(S.loop), 1);
		S.keepalives++;
	}
}

/*
 * Do what simlink says is due for a connected agent (a keepalive, or
 * giving up on a silent manager), then set the timer for its next
 * decision.
 */
static void
agent_tick(struct sim_agent *a)
{
	double	now = ev_now(S.loop), at;

	for (;;) {
		switch (simlink_next(&a->link, &S.cfg, now, &at)) {
		case SIMLINK_KEEPALIVE:
			send_keepalive(a);
			continue;
		case SIMLINK_TIMEOUT:
			if (a->conn != NULL)
				conn_close(a->conn, SIMLINK_REASON_TIMEOUT);
			return;
		case SIMLINK_WAIT:
			if (at > 0)
				schedule(a, at - now, 0);
			return;
		}
	}
}

/* The agent's timer: a retry when idle, else simlink's next decision. */
static void
agent_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct sim_agent	*a = t->data;

	(void)loop;
	(void)revents;
	if (a->link.state == SIMLINK_IDLE)
		agent_connect(a);
	else
		agent_tick(a);
}

static void
link_open(struct conn *c)
{
	struct sim_agent	*a = c->arg;

	a->connected = 1;
	S.connected_now++;
	agent_send(a, "#!-agent startup {\"version\":\"v4.14.7\"}");
	if (a->connected)
		simlink_sent(&a->link, ev_now(S.loop), 0);
}

/*
 * A startup answered: the agent has a manager again.  The time since it
 * lost its previous one (its answered connection ended) is a gap.
 */
static void
answered(struct sim_agent *a)
{
	double	gap;

	if (a->was_up && a->lost_at > 0) {
		gap = ev_now(S.loop) - a->lost_at;
		if (gap > S.gap_max)
			S.gap_max = gap;
	}
	a->was_up = 1;
	a->lost_at = 0;
}

/*
 * One decrypted message from the manager.  Like agentd, every control
 * message ("#!-...") and every line of a file being pushed shows the
 * manager is alive; the ack of the startup lets keepalives and events
 * flow.  Returns -1 when the connection was closed.
 */
/*
 * A shared file is complete: installed when its MD5 is the one announced
 * (agentd's receiver does the same check), dropped otherwise.
 */
static void
file_close(struct sim_agent *a)
{
	char	md5[33], path[4096];
	FILE	*fp;

	merged_md5_hex(a->file != NULL ? a->file : "", a->file_len, md5);
	if (strcmp(md5, a->file_md5) != 0) {
		S.shared_bad++;
		log_warnx("Agent", "%s: shared file with MD5 %s, announced %s: "
		    "dropped", a->name, md5, a->file_md5);
	} else {
		S.shared_ok++;
		memcpy(a->merged_sum, md5, sizeof(a->merged_sum));
		if (S.shared_dir != NULL) {
			snprintf(path, sizeof(path), "%s/%s.merged.mg",
			    S.shared_dir, a->name);
			if ((fp = fopen(path, "w")) != NULL) {
				fwrite(a->file, 1, a->file_len, fp);
				fclose(fp);
			}
		}
	}
	free(a->file);
	a->file = NULL;
	a->file_len = 0;
	a->file_open = 0;
}

/* A chunk of the file being received. */
static void
file_chunk(struct sim_agent *a, const char *p, size_t n)
{
	char	*q;

	if (a->file_len + n > SHARED_MAX ||
	    (q = realloc(a->file, a->file_len + n + 1)) == NULL) {
		a->file_md5[0] = '\0';		/* fails at the close */
		return;
	}
	memcpy(q + a->file_len, p, n);
	a->file = q;
	a->file_len += n;
}

static int
link_message(struct sim_agent *a, const char *msg, size_t len)
{
	int	control = strncmp(msg, "#!-", 3) == 0;
	int	ack = strcmp(msg, "#!-agent ack ") == 0;

	if (ack)
		S.acks++;
	/* Leave, once what was written is sent: an agent's writes are
	 * synchronous, and ours queued in this turn must not be lost. */
	if (strcmp(msg, "#!-force_reconnect") == 0) {
		a->leaving = 1;
		conn_close_after_flush(a->conn);
		return -1;
	}
	if (strncmp(msg, "#!-up file ", 11) == 0) {
		free(a->file);
		a->file = NULL;
		a->file_len = 0;
		a->file_open = 1;
		if (sscanf(msg + 11, "%32[0-9a-f] ", a->file_md5) != 1)
			a->file_md5[0] = '\0';
	} else if (strncmp(msg, "#!-close file", 13) == 0) {
		if (a->file_open)
			file_close(a);
	} else if (!control && a->file_open)
		file_chunk(a, msg, len);
	if ((control || a->file_open) &&
	    simlink_received(&a->link, ev_now(S.loop), ack) == 1) {
		answered(a);
		agent_tick(a);		/* answered: first keepalive */
	}
	return a->connected ? 0 : -1;
}

/* Frames from the manager: acks and control messages. */
static void
link_data(struct conn *c)
{
	struct sim_agent	*a = c->arg;
	struct secmsg_counters	 ctr;
	enum secmsg_cipher	 ci;
	char			 msg[1024];
	const char		*why;
	const uint8_t		*ct;
	uint8_t			*p;
	uint32_t		 len;
	size_t			 mlen, ctlen;
	int			 rc;

	while (buf_used(&c->in) >= 4) {
		p = buf_head(&c->in);
		if (secmsg_frame_length(p, &len) == -1) {
			conn_close(c, "bad frame");
			return;
		}
		if (buf_used(&c->in) < 4 + (size_t)len)
			return;
		rc = 0;
		/* An answer in another cipher than ours is unreadable. */
		if (secmsg_split_answer(p + 4, len, &ci, &ct, &ctlen) ==
		    SECMSG_OK && ci == S.cipher && secmsg_open(&a->skey, ci,
		    ct, ctlen, msg, sizeof(msg), &mlen, &ctr, &why) == 0)
			rc = link_message(a, msg, mlen);
		else
			S.bad_messages++;
		buf_consume(&c->in, 4 + (size_t)len);
		if (rc == -1)
			return;
	}
}

/* Log the first few silent managers; the stats count them all. */
static void
log_timeout(const struct sim_agent *a, int was_up)
{
	if (S.timeouts_logged++ >= 5)
		return;
	if (was_up)
		log_warnx("Agent", "%s: nothing from the manager for %g s "
		    "(time-reconnect): reconnecting", a->name,
		    S.cfg.time_reconnect);
	else
		log_warnx("Agent", "%s: no answer to the startup in %g s: "
		    "retrying", a->name, S.cfg.time_reconnect);
}

/*
 * The connection or the attempt ended: count why, then try again, at once
 * (spread over a second) after losing an answered connection, after the
 * retry interval otherwise.
 */
static void
link_close(struct conn *c, const char *reason)
{
	struct sim_agent	*a = c->arg;
	enum simlink_cause	 cause = a->leaving ? SIMLINK_FORCE_RECONNECT :
				    simlink_cause_of(reason);
	int			 was_up = a->link.state == SIMLINK_UP;

	if (a->connected)
		S.connected_now--;
	if (cause != SIMLINK_FORCE_RECONNECT)
		S.conn_errors++;
	if (cause == SIMLINK_ACK_TIMEOUT)
		log_timeout(a, was_up);
	S.causes[cause]++;
	S.reconnects++;
	a->connected = 0;
	a->file_open = 0;
	a->leaving = 0;
	a->conn = NULL;
	if (was_up)
		a->lost_at = ev_now(S.loop);
	simlink_lost(&a->link);
	if (!S.stopping)
		schedule(a, simlink_retry_delay(&S.cfg, was_up, urand()), 0);
}

static const struct conn_ops link_ops = {
	link_open, link_data, NULL, link_close
};

/* One attempt: resolve, connect, and give the answer time-reconnect. */
static void
agent_connect(struct sim_agent *a)
{
	char	err[256];

	S.connects++;
	simlink_attempt(&a->link, ev_now(S.loop));
	if (conn_connect(S.loop, S.host, S.port, NULL, &link_ops, a, &a->conn,
	    err, sizeof(err)) == -1) {
		S.conn_errors++;
		S.causes[SIMLINK_CONNECT_FAILED]++;
		S.reconnects++;
		a->conn = NULL;
		simlink_lost(&a->link);
		schedule(a, simlink_retry_delay(&S.cfg, 0, urand()), 0);
		return;
	}
	a->conn->read_chunk = 512;
	a->conn->in_limit = SECMSG_MAX + 4;
	agent_tick(a);			/* the handshake's deadline */
}

/* ---- enrollment ---- */

static void
enroll_open(struct conn *c)
{
	struct sim_agent	*a = c->arg;
	char			 req[512];

	snprintf(req, sizeof(req), "OSSEC A:'%s' V:'v4.14.7'%s%s%s\n", a->name,
	    S.groups ? " G:'" : "", S.groups ? S.groups : "", S.groups ? "'" :
	    "");
	conn_write(c, req, strlen(req));
}

static void
enroll_close(struct conn *c, const char *reason)
{
	struct sim_agent	*a = c->arg;
	char			 ans[512];
	size_t			 n = buf_used(&c->in);

	(void)reason;
	S.enrolling--;
	a->conn = NULL;
	if (n >= sizeof(ans))
		n = sizeof(ans) - 1;
	memcpy(ans, buf_head(&c->in), n);
	ans[n] = '\0';
	if (sscanf(ans, "OSSEC K:'%15s %63s %*s %64[0-9a-f]'", a->id, a->name,
	    a->key) == 3) {
		a->enrolled = 1;
		S.enrolled++;
		secmsg_derive(a->id, a->name, a->key, &a->skey);
		agent_connect(a);
	} else {
		S.enroll_errors++;
		if (S.enroll_errors <= 5)
			fprintf(stderr, "agentsim: %s: %s\n", a->name,
			    n ? ans : reason);
		a->index = -a->index - 1;	/* not retried */
	}
	enroll_next();
}

static const struct conn_ops enroll_ops = {
	enroll_open, NULL, NULL, enroll_close
};

static void
enroll_next(void)
{
	struct sim_agent	*a;
	char			 err[256];

	while (S.enrolling < S.enroll_conc && S.next_enroll < S.n) {
		a = &S.agents[S.next_enroll++];
		if (conn_connect(S.loop, S.host, S.eport, S.tls, &enroll_ops, a,
		    &a->conn, err, sizeof(err)) == -1) {
			S.enroll_errors++;
			continue;
		}
		a->conn->in_limit = 4096;
		S.enrolling++;
	}
}

static int
read_keys(const char *path)
{
	FILE	*fp;
	char	 line[512], ip[64];
	int	 i = 0;

	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while (i < S.n && fgets(line, sizeof(line), fp) != NULL) {
		struct sim_agent *a = &S.agents[i];

		if (sscanf(line, "%15s %63s %63s %64s", a->id, a->name, ip,
		    a->key) != 4)
			continue;
		a->enrolled = 1;
		secmsg_derive(a->id, a->name, a->key, &a->skey);
		i++;
	}
	fclose(fp);
	S.n = i;
	return 0;
}

/* ---- events, stats, end ---- */

static void
events_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	char	msg[256];
	int	tries;

	(void)loop;
	(void)t;
	(void)revents;
	S.due += S.rate * S.n * 0.01;
	for (tries = 0; S.due >= 1 && tries < S.n; tries++) {
		struct sim_agent *a = &S.agents[S.ev_cursor];

		S.ev_cursor = (S.ev_cursor + 1) % S.n;
		if (a->link.state != SIMLINK_UP || a->leaving) {
			/* An agent that lost its manager buffers its events
			 * (Wazuh's client buffer) until it has one again. */
			if (a->was_up) {
				S.events_held++;
				S.due -= 1;
			}
			continue;
		}
		snprintf(msg, sizeof(msg), "1:/var/log/syslog:%s sshd[%d]: "
		    "Accepted publickey for root from 198.18.0.9 port %lu",
		    a->name, a->index, S.events_sent);
		if (S.replay)
			replay_send(a, msg);
		else
			agent_send(a, msg);
		S.events_sent++;
		S.due -= 1;
	}
	if (S.due > S.n)
		S.due = S.n;	/* nobody connected: do not pile up */
}

/*
 * Connected agents whose oldest startup or keepalive has waited longer than
 * notify_time for its ack (a live manager answers in milliseconds), and the
 * longest such wait.
 */
static void
ack_waits(unsigned long *late, double *longest)
{
	double	now = ev_now(S.loop), w;
	int	i;

	*late = 0;
	*longest = 0;
	for (i = 0; i < S.n; i++) {
		if (!S.agents[i].connected)
			continue;
		w = simlink_ack_wait(&S.agents[i].link, now);
		if (w > S.cfg.notify_time)
			(*late)++;
		if (w > *longest)
			*longest = w;
	}
}

static void
summary(FILE *fp, const char *kind)
{
	unsigned long	late, up = 0;
	double		longest, gap = S.gap_max, now = ev_now(S.loop);
	int		i;

	ack_waits(&late, &longest);
	for (i = 0; i < S.n; i++) {
		if (S.agents[i].link.state == SIMLINK_UP)
			up++;
		else if (S.agents[i].was_up && S.agents[i].lost_at > 0 &&
		    now - S.agents[i].lost_at > gap)
			gap = now - S.agents[i].lost_at;	/* still out */
	}
	fprintf(fp, "{\"%s\": {\"agents\": %d, \"enrolled\": %lu, "
	    "\"enroll_errors\": %lu, \"connected\": %lu, \"answered\": %lu, "
	    "\"ack_late\": %lu, \"ack_wait_max\": %.1f, \"connects\": %lu, "
	    "\"reconnects\": %lu", kind, S.n, S.enrolled, S.enroll_errors,
	    S.connected_now, up, late, longest, S.connects, S.reconnects);
	for (i = 0; i < SIMLINK_CAUSES; i++)
		fprintf(fp, ", \"%s\": %lu", simlink_cause_name(i),
		    S.causes[i]);
	fprintf(fp, ", \"keepalives\": %lu, \"acks\": %lu, \"events\": %lu, "
	    "\"events_held\": %lu, \"manager_gap_max\": %.1f, "
	    "\"connection_errors\": %lu, \"bad_messages\": %lu, "
	    "\"shared_files\": %lu, \"shared_bad\": %lu}}\n",
	    S.keepalives, S.acks, S.events_sent, S.events_held, gap,
	    S.conn_errors, S.bad_messages, S.shared_ok, S.shared_bad);
	fflush(fp);
}

static void
stats_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	summary(stdout, "stats");
}

/* Stopping: done once every connection is closed, or after 5 s. */
static void
flushed_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	static int	ticks;
	int		i, open = 0;

	(void)revents;
	for (i = 0; i < S.n; i++)
		open += S.agents[i].conn != NULL;
	if (open == 0 || ++ticks >= 50) {
		ev_timer_stop(loop, t);
		ev_break(loop, EVBREAK_ALL);
	}
}

/*
 * Stopping, as a Wazuh agent does when its service stops: every agent
 * whose startup was answered tells its manager "#!-agent shutdown " (the
 * manager shows it disconnected) and closes once that is written; the
 * others close at once; nothing connects again.
 */
static void
shutdown_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	static ev_timer	 flush_t;
	struct sim_agent *a;
	int		 i;

	(void)t;
	(void)revents;
	for (i = 0; i < S.n; i++) {
		a = &S.agents[i];
		if (a->conn == NULL)
			continue;
		if (a->connected && a->link.state == SIMLINK_UP) {
			agent_send(a, "#!-agent shutdown ");
			if (a->conn != NULL)	/* a failed send closes */
				conn_close_after_flush(a->conn);
		} else
			conn_close(a->conn, "stopping");
	}
	ev_timer_init(&flush_t, flushed_cb, 0.1, 0.1);
	ev_timer_start(loop, &flush_t);
}

/*
 * Stop: no more events, keepalives or attempts at once; the shutdowns a
 * second later, once the answers to the last keepalives have come (a
 * socket closed with unread bytes sends a reset, and a balancer may drop
 * what it still had to forward: the last events).  The loop ends when
 * all are closed, or 5 s after the shutdowns.  A second stop ends at once.
 */
static void
stop_agents(struct ev_loop *loop)
{
	static ev_timer	 quiet_t;
	int		 i;

	if (S.stopping++) {
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	ev_timer_stop(loop, &S.events);
	for (i = 0; i < S.n; i++)
		ev_timer_stop(loop, &S.agents[i].timer);
	ev_timer_init(&quiet_t, shutdown_cb, 1.0, 0);
	ev_timer_start(loop, &quiet_t);
}

static void
stop_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)t;
	(void)revents;
	stop_agents(loop);
}

/* SIGINT / SIGTERM: stop, write the keys and the summary. */
static void
signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)w;
	(void)revents;
	stop_agents(loop);
}

static void
write_keys(const char *path)
{
	FILE	*fp;
	int	 i;

	if ((fp = fopen(path, "w")) == NULL)
		return;
	for (i = 0; i < S.n; i++)
		if (S.agents[i].enrolled)
			fprintf(fp, "%s %s any %s\n", S.agents[i].id,
			    S.agents[i].name, S.agents[i].key);
	fclose(fp);
}

/* One descriptor per agent: ask for plenty (root may raise the hard limit). */
static void
raise_nofile(void)
{
	struct rlimit	rl = { 256 * 1024, 256 * 1024 };

	if (setrlimit(RLIMIT_NOFILE, &rl) == -1 &&
	    getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: agentsim [options] MANAGER\n"
	    "  -n N        agents (default 10)\n"
	    "  -p PORT     secure-message port (1514)\n"
	    "  -e PORT     enrollment port (1515)\n"
	    "  -k SECONDS  keepalive interval, agentd's notify_time (10)\n"
	    "  -r RATE     events per second per agent (0)\n"
	    "  -t SECONDS  run time, then print the summary (0: until SIGINT)\n"
	    "  -R SECONDS  retry interval after a failed attempt (5); a lost "
	    "connection\n"
	    "              is retried within the first second\n"
	    "  -T SECONDS  reconnect after this long without a message from "
	    "the\n"
	    "              manager, agentd's time-reconnect (60)\n"
	    "  -s SECONDS  print stats every SECONDS (0: never)\n"
	    "  -P PREFIX   agent names PREFIX0000001... (sim-agent-)\n"
	    "  -c N        concurrent enrollments (32)\n"
	    "  -K FILE     read keys (ID NAME IP KEY) instead of enrolling\n"
	    "  -o FILE     write the enrolled keys to FILE\n"
	    "  -x          resend each agent's first sealed event (throughput "
	    "tests)\n"
	    "  -b          legacy Blowfish agents: write Blowfish, read only "
	    "Blowfish\n"
	    "  -G GROUPS   enroll into these groups (G:'a,b')\n"
	    "  -m DIR      write each received shared file to "
	    "DIR/NAME.merged.mg\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	int	ch, i;

	while ((ch = getopt(argc, argv, "n:p:e:k:r:t:R:T:s:P:c:K:o:xbG:m:")) != -1) {
		switch (ch) {
		case 'n': S.n = atoi(optarg); break;
		case 'p': S.port = (unsigned)atoi(optarg); break;
		case 'e': S.eport = (unsigned)atoi(optarg); break;
		case 'k': S.cfg.notify_time = atof(optarg); break;
		case 'r': S.rate = atof(optarg); break;
		case 't': S.duration = atof(optarg); break;
		case 'R': S.cfg.retry = atof(optarg); break;
		case 'T': S.cfg.time_reconnect = atof(optarg); break;
		case 's': S.stats = atof(optarg); break;
		case 'P': S.prefix = optarg; break;
		case 'c': S.enroll_conc = atoi(optarg); break;
		case 'K': S.keys_in = optarg; break;
		case 'o': S.keys_out = optarg; break;
		case 'x': S.replay = 1; break;
		case 'b': S.cipher = SECMSG_BLOWFISH; break;
		case 'G': S.groups = optarg; break;
		case 'm': S.shared_dir = optarg; break;
		default: usage();
		}
	}
	if (optind + 1 != argc || S.n < 1 || S.cfg.notify_time <= 0 ||
	    S.cfg.time_reconnect <= 0 || S.enroll_conc < 1)
		usage();
	S.host = argv[optind];
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	log_init(NULL, 1, LOG_LVL_WARNING);
	if (secmsg_init() == -1) {
		fprintf(stderr, "agentsim: no legacy provider (fine: AES)\n");
		if (S.cipher == SECMSG_BLOWFISH)
			return 1;
	}
	S.loop = EV_DEFAULT;
	reap_init(S.loop);
	if ((S.agents = calloc((size_t)S.n, sizeof(*S.agents))) == NULL)
		return 1;
	for (i = 0; i < S.n; i++) {
		S.agents[i].index = i + 1;
		snprintf(S.agents[i].name, sizeof(S.agents[i].name), "%s%07d",
		    S.prefix, i + 1);
		simlink_init(&S.agents[i].link, urand());
		ev_init(&S.agents[i].timer, agent_timer_cb);
		S.agents[i].timer.data = &S.agents[i];
	}
	if (S.keys_in != NULL) {
		if (read_keys(S.keys_in) == -1) {
			fprintf(stderr, "agentsim: cannot read %s\n", S.keys_in);
			return 1;
		}
		/* Spread the first connections: about 2,000 a second. */
		for (i = 0; i < S.n; i++)
			schedule(&S.agents[i], (double)random() / RAND_MAX *
			    S.n / 2000.0, 0);
	} else {
		S.tls = SSL_CTX_new(TLS_client_method());
		SSL_CTX_set_cipher_list(S.tls, "HIGH:!ADH:!EXP:!MD5:!RC4:!3DES:"
		    "!CAMELLIA:@STRENGTH");
		SSL_CTX_set_verify(S.tls, SSL_VERIFY_NONE, NULL);
		enroll_next();
	}
	if (S.rate > 0) {
		ev_timer_init(&S.events, events_cb, 0.01, 0.01);
		ev_timer_start(S.loop, &S.events);
	}
	if (S.stats > 0) {
		ev_timer_init(&S.stats_t, stats_cb, S.stats, S.stats);
		ev_timer_start(S.loop, &S.stats_t);
	}
	if (S.duration > 0) {
		ev_timer_init(&S.stop_t, stop_cb, S.duration, 0);
		ev_timer_start(S.loop, &S.stop_t);
	}
	ev_signal_init(&S.sigint, signal_cb, SIGINT);
	ev_signal_init(&S.sigterm, signal_cb, SIGTERM);
	ev_signal_start(S.loop, &S.sigint);
	ev_signal_start(S.loop, &S.sigterm);
	ev_run(S.loop, 0);
	if (S.keys_out != NULL)
		write_keys(S.keys_out);
	summary(stdout, "summary");
	return 0;
}
