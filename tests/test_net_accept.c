/* SPDX-License-Identifier: MIT */
/*
 * net/ accepting: multishot accept and its single-shot fallback, several fibers accepting, the
 * accept queue pausing the multishot, cancellation, closing an armed listener (from a fiber, from
 * plain code, after the loop), and running out of fds.
 */
#include <errno.h>

#include "check_main.h"
#include "test_net_util.h"

/* ---- accept ----------------------------------------------------------------------------------- */

static int acceptor_task(void *arg)
{
	weft_sock *l = arg, *s;
	char buf[4];
	int r = weft_sock_accept(l, &s, NULL);

	if (r)
		return r;
	r = (int)weft_sock_recv(s, buf, 1);
	weft_sock_close(s);
	return r == 1 ? buf[0] : -EIO;
}

/* Several fibers wait in accept; every connection reaches exactly one of them. */
static void many_acceptors(unsigned flags)
{
	enum { N = 8 };
	weft_sock *l, *c[N];
	weft_sockaddr a;
	weft_task *t[N];
	int seen = 0;

	l = listen_lo("127.0.0.1", &a, flags);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(weft_task_spawn(&t[i], acceptor_task, l, NULL), 0);
	for (int i = 0; i < N; i++)
		wait_parked(t[i]);
	for (int i = 0; i < N; i++) {
		char b = (char)('A' + i);
		ck_assert_int_eq(weft_tcp_connect(&c[i], &a), 0);
		ck_assert_int_eq(weft_sock_send(c[i], &b, 1), 1);
	}
	for (int i = 0; i < N; i++) {
		int st = join_status(t[i]);
		ck_assert_int_ge(st, 'A');
		ck_assert_int_lt(st, 'A' + N);
		ck_assert_int_eq(seen & (1 << (st - 'A')), 0);
		seen |= 1 << (st - 'A');
	}
	for (int i = 0; i < N; i++)
		weft_sock_close(c[i]);
	weft_sock_close(l);
}

static int acceptors_main(void *arg)
{
	many_acceptors(0);
	many_acceptors(WEFT_LISTEN_NO_MULTISHOT);
	return 0;
}

FIBER_TEST(accept_concurrent, acceptors_main)

/* More connections wait than the acceptor queues (it pauses the multishot): none is lost. */
static int accept_backlog_main(void *arg)
{
	enum { N = 150 };
	static weft_sock *c[N], *s[N];
	weft_sockaddr a;
	weft_sock *l;
	char buf[8];

	raise_nofile(1024);
	l = listen_lo("127.0.0.1", &a, 0);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < N; i++) {
			ck_assert_int_eq(weft_tcp_connect(&c[i], &a), 0);
			ck_assert_int_eq(weft_sock_send(c[i], &i, sizeof(int)), sizeof(int));
			if (i == 0) /* arm the multishot with the first one */
				ck_assert_int_eq(weft_sock_accept(l, &s[0], NULL), 0);
			if (i == 10)
				weft_sleep(10 * WEFT_MSEC); /* let the multishot fill the queue */
		}
		for (int i = 1; i < N; i++)
			ck_assert_int_eq(weft_sock_accept(l, &s[i], NULL), 0);
		for (int i = 0; i < N; i++) {
			int v;
			ck_assert_int_eq(weft_sock_recv(s[i], buf, sizeof(int)), sizeof(int));
			memcpy(&v, buf, sizeof(int));
			ck_assert_int_eq(v, i); /* accepted in connection order */
			weft_sock_close(s[i]);
			weft_sock_close(c[i]);
		}
	}
	weft_sock_close(l);
	return 0;
}

FIBER_TEST(accept_queue_pause, accept_backlog_main)

static int cancel_accept_main(void *arg)
{
	weft_sock *l, *c, *s;
	weft_sockaddr a;
	weft_task *t;

	l = listen_lo("127.0.0.1", &a, 0);
	ck_assert_int_eq(weft_task_spawn(&t, acceptor_task, l, NULL), 0);
	wait_parked(t);
	weft_task_cancel(t);
	ck_assert_int_eq(join_status(t), -ECANCELED);
	/* The multishot is still armed and the next connection is not lost. */
	ck_assert_int_eq(weft_tcp_connect(&c, &a), 0);
	weft_sleep(5 * WEFT_MSEC);
	ck_assert_int_eq(weft_sock_accept(l, &s, NULL), 0);
	close3(s, c, l);
	/* Closed under a waiting acceptor (a bug, but not a crash): it gets -EBADF. */
	l = listen_lo("127.0.0.1", &a, 0);
	ck_assert_int_eq(weft_task_spawn(&t, acceptor_task, l, NULL), 0);
	wait_parked(t);
	ck_assert_int_eq(weft_sock_close(l), 0);
	ck_assert_int_eq(join_status(t), -EBADF);
	return 0;
}

FIBER_TEST(accept_cancel, cancel_accept_main)

/* Closing an armed listener from a fiber frees the port at once: listening again on the same
 * port (no SO_REUSEADDR needed for a listener that is really gone) works. */
static int close_port_main(void *arg)
{
	weft_sock *l, *c, *s;
	weft_sockaddr a;

	for (int i = 0; i < 3; i++) {
		if (i == 0)
			l = listen_lo("127.0.0.1", &a, 0);
		else
			ck_assert_int_eq(weft_tcp_listen(&l, &a, NULL), 0);
		tcp_pair(l, &a, &c, &s); /* arms the multishot */
		weft_sock_close(s);
		weft_sock_close(c);
		ck_assert_int_eq(weft_sock_close(l), 0);
	}
	return 0;
}

FIBER_TEST(listener_close_frees_port, close_port_main)

/* A listener still armed when the loop ends is closed afterwards from plain code. */
static weft_sock *g_left;

static int left_armed_main(void *arg)
{
	weft_sock *c, *s;
	weft_sockaddr a;

	g_left = listen_lo("127.0.0.1", &a, 0);
	tcp_pair(g_left, &a, &c, &s);
	weft_sock_close(s);
	weft_sock_close(c);
	return 0; /* the armed listener must not keep the loop running */
}

START_TEST(listener_outlives_loop)
{
	int before = fd_count();

	run_main(left_armed_main, NULL);
	ck_assert_int_eq(weft_sock_close(g_left), 0);
	ck_assert_int_eq(fd_count(), before);
}
END_TEST

/* Closed from plain code while the loop still exists but is not running: the acceptor waits
 * for the kernel as a zombie, freed by the next run or the loop's close. */
static int nothing_main(void *arg)
{
	return weft_sleep(WEFT_MSEC);
}

START_TEST(listener_zombie)
{
	int before = fd_count();
	weft_loop *loop;
	weft_task *t;
	int st;

	for (int variant = 0; variant < 2; variant++) {
		ck_assert_int_eq(weft_loop_new(&loop, NULL), 0);
		ck_assert_int_eq(weft_loop_spawn(loop, &t, left_armed_main, NULL, NULL), 0);
		ck_assert_int_eq(weft_loop_run_until(loop, t, &st), 0);
		ck_assert_int_eq(st, 0);
		ck_assert_int_eq(weft_sock_close(g_left), 0); /* not in a fiber, loop not running */
		if (variant) {
			ck_assert_int_eq(weft_loop_spawn(loop, &t, nothing_main, NULL, NULL), 0);
			ck_assert_int_eq(weft_loop_run_until(loop, t, &st), 0);
		}
		ck_assert_int_eq(weft_loop_close(loop), 0);
	}
	ck_assert_int_eq(fd_count(), before);
}
END_TEST

/* Out of fds: accept says -EMFILE, and the listener works again once fds are free. */
static int emfile_main(void *arg)
{
	unsigned flags = *(unsigned *)arg;
	weft_sock *l, *c[4], *s;
	weft_sockaddr a;
	int spare[64], nspare = 0, r;

	l = listen_lo("127.0.0.1", &a, flags);
	ck_assert_int_eq(weft_tcp_connect(&c[0], &a), 0);
	ck_assert_int_eq(weft_tcp_connect(&c[1], &a), 0);
	starve_fds(spare, 64, &nspare, 0);
	r = weft_sock_accept(l, &s, NULL);
	ck_assert_int_eq(r, -EMFILE);
	close(spare[--nspare]);
	close(spare[--nspare]);
	ck_assert_int_eq(weft_sock_accept(l, &s, NULL), 0);
	weft_sock_close(s);
	release_fds(spare, &nspare);
	ck_assert_int_eq(weft_sock_accept(l, &s, NULL), 0);
	weft_sock_close(s);
	weft_sock_close(c[0]);
	weft_sock_close(c[1]);
	weft_sock_close(l);
	return 0;
}

START_TEST(accept_emfile)
{
	unsigned flags[] = {0, WEFT_LISTEN_NO_MULTISHOT};

	if (under_valgrind())
		return;

	run_main(emfile_main, &flags[_i]);
}
END_TEST

/* The accept paths under the fallback ring set-ups. */
static int ring_modes_main(void *arg)
{
	ck_assert_int_eq(acceptors_main(NULL), 0);
	ck_assert_int_eq(cancel_accept_main(NULL), 0);
	return 0;
}

START_TEST(ring_modes)
{
	run_in_ring_mode(ring_modes_main, _i);
}
END_TEST

static Suite *accept_suite(void)
{
	Suite *s = suite_create("net_accept");
	TCase *tc = tcase_create("accept");

	tcase_add_test(tc, accept_concurrent);
	tcase_add_test(tc, accept_queue_pause);
	tcase_add_test(tc, accept_cancel);
	tcase_add_test(tc, listener_close_frees_port);
	tcase_add_test(tc, listener_outlives_loop);
	tcase_add_test(tc, listener_zombie);
	tcase_add_loop_test(tc, accept_emfile, 0, 2);
	tcase_add_loop_test(tc, ring_modes, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

WEFT_CHECK_MAIN(accept_suite)
