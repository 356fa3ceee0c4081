/* SPDX-License-Identifier: MIT */
/*
 * Durations at the edge: every public call that takes a duration, given INT64_MAX (or another
 * value that overflows "now + x"), must mean "a very long time" - never a deadline that wrapped
 * into the past (a timer that fires in a loop, a grace period that is over before it starts, a
 * connect attempt that times out at once). And deadlines far in the past must not overflow the
 * loop's own wait either. Each case bounds the long wait with a short enclosing scope, so a
 * correct call ends with that scope's -ETIMEDOUT.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>

#include "weft.h"
#include "weft/net.h"
#include "weft/server.h"
#include "check_main.h"

#define SHORT (5 * WEFT_MSEC)

static weft_scope scope;

/* An enclosing deadline SHORT from now, so the huge wait inside it ends. */
static void bound(void)
{
	ck_assert_int_eq(weft_scope_enter(&scope, weft_now() + SHORT, 0), 0);
}

static void unbound(void)
{
	weft_scope_exit(&scope);
}

/* A case that runs m_NAME as the main fiber of a loop of its own. */
#define MAIN_CASE(name)                                              \
	START_TEST(name)                                             \
	{                                                            \
		ck_assert_int_eq(weft_run(m_##name, NULL, NULL), 0); \
	}                                                            \
	END_TEST

/* ---- timers --------------------------------------------------------------------------------- */

static void count(void *arg)
{
	++*(int *)arg;
}

/* A repeating timer whose period overflows "when + period" fires once, and the loop goes on
 * (before: it re-armed in the past and fired forever, and this sleep never returned). */
static int m_timer_huge_repeat(void *arg)
{
	weft_timer *t;
	int fired = 0;

	ck_assert_int_eq(weft_timer_new(weft_loop_current(), &t, count, &fired), 0);
	ck_assert_int_eq(weft_timer_start(t, weft_now() - 1, INT64_MAX), 0);
	ck_assert_int_eq(weft_sleep(SHORT), 0);
	ck_assert_int_eq(fired, 1);
	ck_assert(weft_timer_active(t)); /* armed for "never" */
	ck_assert_int_eq(weft_timer_start(t, weft_now() - 1, INT64_MAX - weft_now() + 1), 0);
	ck_assert_int_eq(weft_sleep(SHORT), 0);
	ck_assert_int_eq(fired, 2);
	weft_timer_free(t);
	return 0;
}

MAIN_CASE(timer_huge_repeat)

/* A deadline of INT64_MIN is simply past: it fires at the next turn, and neither backend's wait
 * overflows computing how long to sleep until it. */
static int m_timer_min_deadline(void *arg)
{
	weft_timer *t;
	int fired = 0;

	ck_assert_int_eq(weft_timer_new(weft_loop_current(), &t, count, &fired), 0);
	ck_assert_int_eq(weft_timer_start(t, INT64_MIN, 0), 0);
	ck_assert_int_eq(weft_loop_timeout(weft_loop_current()), 0);
	ck_assert_int_eq(weft_sleep(SHORT), 0);
	ck_assert_int_eq(fired, 1);
	ck_assert_int_eq(weft_sleep_until(INT64_MIN), 0);
	weft_timer_free(t);
	return 0;
}

MAIN_CASE(timer_min_deadline)

/* Nothing but a timer due at INT64_MIN: the loop must not wait "INT64_MIN - now" (wrapped to
 * centuries) before firing it. */
START_TEST(timer_min_deadline_alone)
{
	weft_loop *l;
	weft_timer *t;
	int fired = 0;

	ck_assert_int_eq(weft_loop_new(&l, NULL), 0);
	ck_assert_int_eq(weft_timer_new(l, &t, count, &fired), 0);
	ck_assert_int_eq(weft_timer_start(t, INT64_MIN, 0), 0);
	ck_assert_int_eq(weft_loop_timeout(l), 0);
	ck_assert_int_eq(weft_loop_run(l), 0);
	ck_assert_int_eq(fired, 1);
	weft_timer_free(t);
	ck_assert_int_eq(weft_loop_close(l), 0);
}
END_TEST

/* ---- sleeping and waiting ------------------------------------------------------------------- */

static int m_sleep_huge(void *arg)
{
	bound();
	ck_assert_int_eq(weft_sleep(INT64_MAX), -ETIMEDOUT);
	ck_assert_int_eq(weft_sleep(INT64_MAX - 1), -ETIMEDOUT);
	unbound();
	return 0;
}

MAIN_CASE(sleep_huge)

static int sleeps_forever(void *arg)
{
	return weft_sleep(INT64_MAX);
}

static int m_wait_huge(void *arg)
{
	weft_task *t;
	int status = 0;

	ck_assert_int_eq(weft_task_spawn(&t, sleeps_forever, NULL, NULL), 0);
	bound();
	ck_assert_int_eq(weft_tasks_wait(&t, 1, WEFT_WAIT_ALL_COMPLETED, INT64_MAX), -ETIMEDOUT);
	ck_assert_int_eq(weft_tasks_wait(&t, 1, WEFT_WAIT_ALL_COMPLETED, INT64_MAX - 1),
			 -ETIMEDOUT);
	unbound();
	bound();
	ck_assert_int_eq(weft_task_wait_for(t, INT64_MAX - 1, &status), -ETIMEDOUT);
	unbound();
	ck_assert_int_eq(status, -ECANCELED); /* wait_for cancels the task it gave up on */
	return 0;
}

MAIN_CASE(wait_huge)

static int m_chan_huge(void *arg)
{
	weft_chan *c;
	void *item;

	ck_assert_int_eq(weft_chan_new(&c, 1), 0);
	bound();
	ck_assert_int_eq(weft_chan_recv_timeout(c, &item, INT64_MAX - 1), -ETIMEDOUT);
	unbound();
	ck_assert_int_eq(weft_chan_send(c, c), 0);
	bound();
	ck_assert_int_eq(weft_chan_send_timeout(c, c, INT64_MAX - 1), -ETIMEDOUT);
	unbound();
	ck_assert_int_eq(weft_chan_free(c), 0);
	return 0;
}

MAIN_CASE(chan_huge)

/* The enclosing deadline is the calling fiber's: the called task is cancelled. */
static int m_loop_call_huge(void *arg)
{
	int status = 0;

	bound();
	ck_assert_int_eq(
	    weft_loop_call(weft_loop_current(), sleeps_forever, NULL, INT64_MAX - 1, &status),
	    -ETIMEDOUT);
	unbound();
	ck_assert_int_eq(status, -ECANCELED);
	return 0;
}

MAIN_CASE(loop_call_huge)

/* ---- net: a connect attempt's limit and a server's grace period ------------------------------ */

static int m_connect_attempt_huge(void *arg)
{
	const struct weft_retry_opts o = {.attempt_ns = INT64_MAX, .max_tries = 1};
	weft_sockaddr a;
	weft_sock *l, *c;

	ck_assert_int_eq(weft_addr_inet(&a, "127.0.0.1", 0), 0);
	ck_assert_int_eq(weft_tcp_listen(&l, &a, NULL), 0);
	ck_assert_int_eq(weft_sock_local_addr(l, &a), 0);
	/* Before: the attempt's deadline wrapped into the past and it failed with -ETIMEDOUT. */
	ck_assert_int_eq(weft_tcp_connect_retry(&c, "127.0.0.1", (uint16_t)weft_addr_port(&a), &o),
			 0);
	ck_assert_int_eq(weft_sock_close(c), 0);
	ck_assert_int_eq(weft_sock_close(l), 0);
	return 0;
}

MAIN_CASE(connect_attempt_huge)

/* Backoff delays that saturate: the wait between attempts is "forever", cut by the scope. */
static int m_connect_backoff_huge(void *arg)
{
	const struct weft_retry_opts o = {.initial_ns = INT64_MAX, .max_ns = INT64_MAX};
	weft_sockaddr a;
	weft_sock *l, *c;
	int port;

	ck_assert_int_eq(weft_addr_inet(&a, "127.0.0.1", 0), 0);
	ck_assert_int_eq(weft_tcp_listen(&l, &a, NULL), 0);
	ck_assert_int_eq(weft_sock_local_addr(l, &a), 0);
	port = weft_addr_port(&a);
	ck_assert_int_eq(weft_sock_close(l), 0); /* refused from now on */
	bound();
	ck_assert_int_eq(weft_tcp_connect_retry(&c, "127.0.0.1", (uint16_t)port, &o), -ETIMEDOUT);
	unbound();
	return 0;
}

MAIN_CASE(connect_backoff_huge)

struct srv {
	weft_server *srv;
	weft_event *started;
	weft_sock *client;
};

static int handler(weft_sock *conn, void *arg)
{
	struct srv *s = arg;
	char b;

	weft_event_set(s->started);
	return (int)weft_sock_recv(conn, &b, 1); /* until the client closes */
}

/* shutdown(INT64_MAX): the grace period outlasts the caller's own deadline (before: it was over
 * at once and the connection was cancelled, shutdown returning 1). */
static int m_server_grace_huge(void *arg)
{
	struct srv s = {0};
	weft_sockaddr a;
	weft_sock *l;

	ck_assert_int_eq(weft_event_new(NULL, &s.started), 0);
	ck_assert_int_eq(weft_addr_inet(&a, "127.0.0.1", 0), 0);
	ck_assert_int_eq(weft_tcp_listen(&l, &a, NULL), 0);
	ck_assert_int_eq(weft_sock_local_addr(l, &a), 0);
	ck_assert_int_eq(weft_server_start(&s.srv, l, handler, &s, NULL), 0);
	ck_assert_int_eq(weft_tcp_connect(&s.client, &a), 0);
	ck_assert_int_eq(weft_event_wait(s.started), 0);
	bound();
	ck_assert_int_eq(weft_server_shutdown(s.srv, INT64_MAX), -ETIMEDOUT);
	unbound();
	ck_assert_int_eq(weft_server_conns(s.srv), 1); /* still in its grace period */
	ck_assert_int_eq(weft_sock_close(s.client), 0);
	ck_assert_int_eq(weft_server_wait(s.srv), 0);
	ck_assert_int_eq(weft_server_shutdown(s.srv, 0), 0);
	weft_server_free(s.srv);
	weft_event_free(s.started);
	return 0;
}

MAIN_CASE(server_grace_huge)

/* ---- suite ---------------------------------------------------------------------------------- */

static Suite *overflow_suite(void)
{
	Suite *s = suite_create("overflow");
	TCase *tc = tcase_create("overflow");

	tcase_add_test(tc, timer_huge_repeat);
	tcase_add_test(tc, timer_min_deadline);
	tcase_add_test(tc, timer_min_deadline_alone);
	tcase_add_test(tc, sleep_huge);
	tcase_add_test(tc, wait_huge);
	tcase_add_test(tc, chan_huge);
	tcase_add_test(tc, loop_call_huge);
	tcase_add_test(tc, connect_attempt_huge);
	tcase_add_test(tc, connect_backoff_huge);
	tcase_add_test(tc, server_grace_huge);
	suite_add_tcase(s, tc);
	return s;
}

WEFT_CHECK_MAIN(overflow_suite)
