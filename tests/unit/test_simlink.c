/*
 * test_simlink: agentsim's reconnection decisions against what a Wazuh 4.x
 * agent does (src/client-agent: start_agent.c, notify.c, receiver.c):
 * keepalives only after the startup's ack, the first at once and then every
 * notify_time, kept on schedule across a reconnection; time-reconnect counted
 * from the last message of any kind, not only acks; the handshake given up
 * after the same time; retries at once after a loss, after the retry
 * interval after a failure, spread; close reasons sorted into causes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../tools/agentsim/simlink.h"

static const struct simlink_cfg CFG = { 20, 60, 10 };	/* agentd defaults */

/* An agent connected at 100 s whose startup was answered at 100.5 s. */
static void
up_at_100(struct simlink *l)
{
	simlink_init(l, 0.25);
	simlink_attempt(l, 100);
	simlink_sent(l, 100, 0);
	assert_int_equal(simlink_received(l, 100.5, 1), 1);
	assert_int_equal(l->state, SIMLINK_UP);
}

static void
test_no_keepalive_before_the_ack(void **state)
{
	struct simlink	l;
	double		at;

	(void)state;
	simlink_init(&l, 0.25);
	assert_int_equal(simlink_next(&l, &CFG, 5, &at), SIMLINK_WAIT);
	assert_true(at == 0);
	simlink_attempt(&l, 100);
	simlink_sent(&l, 100, 0);
	assert_int_equal(simlink_next(&l, &CFG, 130, &at), SIMLINK_WAIT);
	assert_true(at == 160.25);	/* the handshake's deadline */
	/* Another control message does not end the handshake. */
	assert_int_equal(simlink_received(&l, 110, 0), 0);
	assert_int_equal(l.state, SIMLINK_HANDSHAKE);
	assert_int_equal(simlink_next(&l, &CFG, 160.25, &at),
	    SIMLINK_TIMEOUT);
}

static void
test_first_keepalive_at_once_then_every_notify_time(void **state)
{
	struct simlink	l;
	double		at;

	(void)state;
	up_at_100(&l);
	assert_int_equal(simlink_next(&l, &CFG, 100.5, &at),
	    SIMLINK_KEEPALIVE);
	simlink_sent(&l, 100.5, 1);
	assert_int_equal(simlink_next(&l, &CFG, 100.5, &at), SIMLINK_WAIT);
	assert_true(at == 120.5);
	assert_int_equal(simlink_received(&l, 100.6, 1), 0);
	assert_int_equal(simlink_next(&l, &CFG, 120.4995, &at),
	    SIMLINK_KEEPALIVE);	/* a timer a hair early still counts */
	simlink_sent(&l, 120.5, 1);
	simlink_received(&l, 120.6, 1);
	assert_int_equal(simlink_next(&l, &CFG, 121, &at), SIMLINK_WAIT);
	assert_true(at == 140.5);
}

static void
test_schedule_survives_a_reconnection(void **state)
{
	struct simlink	l;
	double		at;

	(void)state;
	up_at_100(&l);
	simlink_sent(&l, 100.5, 1);
	simlink_received(&l, 100.6, 1);
	/* Lost at 105, back and answered at 106: next keepalive at 120.5. */
	simlink_lost(&l);
	simlink_attempt(&l, 106);
	simlink_sent(&l, 106, 0);
	assert_int_equal(simlink_received(&l, 106.1, 1), 1);
	assert_int_equal(simlink_next(&l, &CFG, 106.1, &at), SIMLINK_WAIT);
	assert_true(at == 120.5);
	/* Lost for longer than notify_time: one at once. */
	simlink_lost(&l);
	simlink_attempt(&l, 150);
	simlink_sent(&l, 150, 0);
	simlink_received(&l, 150.1, 1);
	assert_int_equal(simlink_next(&l, &CFG, 150.1, &at),
	    SIMLINK_KEEPALIVE);
}

static void
test_time_reconnect_counts_any_message(void **state)
{
	struct simlink	l;
	double		at;
	double		t;

	(void)state;
	up_at_100(&l);
	/* Keepalives go out, nothing comes back: up at 100.5 + 60 + phase. */
	for (t = 100.5; t < 161; t += 20) {
		assert_int_equal(simlink_next(&l, &CFG, t, &at),
		    SIMLINK_KEEPALIVE);
		simlink_sent(&l, t, 1);
	}
	assert_int_equal(simlink_next(&l, &CFG, 160.5, &at), SIMLINK_WAIT);
	assert_true(at == 160.75);
	assert_true(simlink_ack_wait(&l, 160.5) == 60);
	/* A force_reconnect or a file push counts as an answer. */
	simlink_received(&l, 160.6, 0);
	assert_true(simlink_ack_wait(&l, 161) > 60);	/* still no ack */
	assert_int_equal(simlink_next(&l, &CFG, 161, &at), SIMLINK_WAIT);
	assert_true(at == 180.5);			/* the next keepalive */
	assert_int_equal(simlink_next(&l, &CFG, 220.85, &at),
	    SIMLINK_TIMEOUT);
}

static void
test_ack_wait(void **state)
{
	struct simlink	l;

	(void)state;
	up_at_100(&l);
	assert_true(simlink_ack_wait(&l, 101) == 0);
	simlink_sent(&l, 110, 1);
	simlink_sent(&l, 130, 1);		/* the oldest one counts */
	assert_true(simlink_ack_wait(&l, 135) == 25);
	simlink_received(&l, 136, 1);
	assert_true(simlink_ack_wait(&l, 140) == 0);
	simlink_sent(&l, 150, 1);
	simlink_lost(&l);
	assert_true(simlink_ack_wait(&l, 170) == 0);
}

static void
test_retry_delays(void **state)
{
	struct simlink_cfg	fast = { 1, 3, 0.5 }, none = { 1, 3, 0 };

	(void)state;
	/* After a loss: within the first second. */
	assert_true(simlink_retry_delay(&CFG, 1, 0) == 0);
	assert_true(simlink_retry_delay(&CFG, 1, 0.999) < 1);
	assert_true(simlink_retry_delay(&CFG, 1, 0.5) == 0.5);
	assert_true(simlink_retry_delay(&fast, 1, 0.999) < 0.5);
	/* After a failure: the retry interval, +-20 %. */
	assert_true(simlink_retry_delay(&CFG, 0, 0) == 8);
	assert_true(simlink_retry_delay(&CFG, 0, 0.5) == 10);
	assert_true(simlink_retry_delay(&CFG, 0, 0.999) < 12);
	assert_true(simlink_retry_delay(&none, 0, 0.7) == 0);
	assert_true(simlink_retry_delay(&none, 1, 0.7) == 0);
}

static void
test_causes(void **state)
{
	(void)state;
	assert_int_equal(simlink_cause_of("read: connection closed by peer"),
	    SIMLINK_CLOSED_BY_PEER);
	assert_int_equal(simlink_cause_of("read: Connection reset by peer"),
	    SIMLINK_CLOSED_BY_PEER);
	assert_int_equal(simlink_cause_of("write: Broken pipe"),
	    SIMLINK_SEND_ERROR);
	assert_int_equal(simlink_cause_of("peer too slow: output queue over "
	    "its limit"), SIMLINK_SEND_ERROR);
	assert_int_equal(simlink_cause_of("connect: Connection refused"),
	    SIMLINK_CONNECT_FAILED);
	assert_int_equal(simlink_cause_of(SIMLINK_REASON_TIMEOUT),
	    SIMLINK_ACK_TIMEOUT);
	assert_int_equal(simlink_cause_of(SIMLINK_REASON_FORCE),
	    SIMLINK_FORCE_RECONNECT);
	assert_int_equal(simlink_cause_of("bad frame"), SIMLINK_OTHER);
	assert_string_equal(simlink_cause_name(SIMLINK_ACK_TIMEOUT),
	    "ack_timeouts");
	assert_string_equal(simlink_cause_name(SIMLINK_CAUSES),
	    "other_closes");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_keepalive_before_the_ack),
		cmocka_unit_test(test_first_keepalive_at_once_then_every_notify_time),
		cmocka_unit_test(test_schedule_survives_a_reconnection),
		cmocka_unit_test(test_time_reconnect_counts_any_message),
		cmocka_unit_test(test_ack_wait),
		cmocka_unit_test(test_retry_delays),
		cmocka_unit_test(test_causes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
