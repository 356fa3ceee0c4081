/* SPDX-License-Identifier: MIT */
/*
 * Embedding (weft/loop.h): another event loop drives weft through weft_loop_fd(),
 * weft_loop_timeout() and weft_loop_run_nowait(). The host here is a plain poll(2) loop, the
 * way a GUI toolkit or libuv would watch the fd.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <unistd.h>

#include "weft.h"
#include "engine/op.h"
#include "check_main.h"

/* poll(2)'s timeout for weft's: rounded up, so the host never wakes before a timer is due. */
static int poll_ms(int64_t ns)
{
	if (ns == WEFT_FOREVER)
		return 10 * 1000; /* a bound for the test; a real host would pass -1 */
	return (int)((ns + WEFT_MSEC - 1) / WEFT_MSEC);
}

/* The host's loop: returns how many times it slept in poll. */
static int host_run(weft_loop *l, int max_turns)
{
	struct pollfd p = {.fd = weft_loop_fd(l), .events = POLLIN};
	int sleeps = 0, r;

	while ((r = weft_loop_run_nowait(l)) == 1) {
		int64_t t = weft_loop_timeout(l);

		ck_assert_int_ge(t, 0);
		if (t > 0) {
			ck_assert_int_ge(poll(&p, 1, poll_ms(t)), 0);
			sleeps++;
		}
		ck_assert_int_gt(--max_turns, 0);
	}
	ck_assert_int_eq(r, 0);
	return sleeps;
}

static int sleeper(void *arg)
{
	int *done = arg;

	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(weft_sleep(10 * WEFT_MSEC), 0);
	*done = 1;
	return 0;
}

START_TEST(host_drives_timers)
{
	weft_loop *l;
	int done = 0;

	ck_assert_int_eq(weft_loop_new(&l, NULL), 0);
	ck_assert_int_ge(weft_loop_fd(l), 0);
	ck_assert_int_eq(weft_loop_timeout(l), WEFT_FOREVER); /* nothing at all yet */
	ck_assert_int_eq(weft_loop_spawn(l, NULL, sleeper, &done, NULL), 0);
	ck_assert_int_eq(weft_loop_timeout(l), 0); /* a task is ready */
	/* Three sleeps: the host sleeps about three times, it does not spin. */
	ck_assert_int_le(host_run(l, 100), 10);
	ck_assert_int_eq(done, 1);
	ck_assert_int_eq(weft_loop_run_nowait(l), 0);
	ck_assert_int_eq(weft_loop_close(l), 0);
}
END_TEST

static ssize_t pipe_read(int fd, void *buf, size_t len)
{
	struct weft__op op;
	struct io_uring_sqe *sqe = weft__op_start(&op);

	if (!sqe)
		return op.res;
	io_uring_prep_read(sqe, fd, buf, (unsigned)len, (uint64_t)-1);
	ssize_t r = weft__op_wait(&op, sqe);

	return r;
}

static int reader(void *arg)
{
	int *fd = arg;
	char c;

	return (int)pipe_read(*fd, &c, 1) == 1 ? c : -EIO;
}

START_TEST(fd_is_readable_when_io_completes)
{
	struct pollfd p;
	weft_loop *l;
	weft_task *t;
	int fd[2], status;

	ck_assert_int_eq(pipe(fd), 0);
	ck_assert_int_eq(weft_loop_new(&l, NULL), 0);
	ck_assert_int_eq(weft_loop_spawn(l, &t, reader, &fd[0], NULL), 0);
	ck_assert_int_eq(weft_loop_run_nowait(l), 1); /* the read is in flight */
	ck_assert_int_eq(weft_loop_timeout(l), WEFT_FOREVER);
	p = (struct pollfd){.fd = weft_loop_fd(l), .events = POLLIN};
	ck_assert_int_eq(poll(&p, 1, 0), 0); /* nothing to do: not readable */
	ck_assert_int_eq(write(fd[1], "k", 1), 1);
	ck_assert_int_eq(poll(&p, 1, 10 * 1000), 1);
	ck_assert_int_eq(weft_loop_run_nowait(l), 0); /* done: a held handle is not work */
	ck_assert(weft_task_done(t));
	ck_assert_int_eq(weft_task_status(t, &status), 0);
	ck_assert_int_eq(status, 'k');
	ck_assert_int_eq(weft_task_detach(t), 0);
	ck_assert_int_eq(weft_loop_run_nowait(l), 0);
	ck_assert_int_eq(weft_loop_close(l), 0);
	weft__fd_close(fd[0]);
	weft__fd_close(fd[1]);
}
END_TEST

/*
 * A completion that a peer's write triggers must make the host fd readable by the time the
 * write returns - nothing else is armed, and the check does not wait at all, so neither a slow
 * machine nor a late wake-up can pass for a prompt one. (Under DEFER_TASKRUN the kernel signals
 * the registered eventfd only from an RCU callback, 12-20 ms later: an embedded loop must not
 * use it.) The peer writes from this thread: io_uring completes the read as task work on the
 * way out of that write(2), on the readiness backend the descriptor is ready at once. Pipes and
 * sockets; the host asks for the fd before the first run, or only after it.
 */
START_TEST(host_fd_readable_when_the_peer_write_returns)
{
	struct pollfd p = {.events = POLLIN};
	weft_loop *l;
	int fd[2], status;

	if (_i == 0)
		ck_assert_int_eq(pipe(fd), 0);
	else
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fd), 0);
	ck_assert_int_eq(weft_loop_new(&l, NULL), 0);
	if (_i == 0)
		p.fd = weft_loop_fd(l);
	for (int round = 0; round < 10; round++) {
		weft_task *t;

		ck_assert_int_eq(weft_loop_spawn(l, &t, reader, &fd[0], NULL), 0);
		ck_assert_int_eq(weft_loop_run_nowait(l), 1); /* the read is in flight */
		if (!p.fd)
			p.fd = weft_loop_fd(l);
		ck_assert_int_eq(weft_loop_timeout(l), WEFT_FOREVER);
		ck_assert_int_eq(write(fd[1], "k", 1), 1);
		ck_assert_msg(poll(&p, 1, 0) == 1, "round %d: the host fd is not readable", round);
		ck_assert_int_eq(weft_loop_run_nowait(l), 0);
		ck_assert(weft_task_done(t));
		ck_assert_int_eq(weft_task_status(t, &status), 0);
		ck_assert_int_eq(status, 'k');
		ck_assert_int_eq(weft_task_detach(t), 0);
	}
	ck_assert_int_eq(weft_loop_close(l), 0);
	weft__fd_close(fd[0]);
	weft__fd_close(fd[1]);
}
END_TEST

struct poster {
	weft_loop *loop;
	int ran;
};

static void posted(void *arg)
{
	((struct poster *)arg)->ran++;
}

static void *post_later(void *arg)
{
	struct poster *p = arg;

	usleep(20 * 1000); /* the host is asleep in poll by then */
	ck_assert_int_eq(weft_loop_post(p->loop, posted, p), 0);
	return NULL;
}

START_TEST(post_from_another_thread_wakes_the_host)
{
	struct poster ps = {0};
	struct pollfd p;
	pthread_t th;

	ck_assert_int_eq(weft_loop_new(&ps.loop, NULL), 0);
	ck_assert_int_eq(weft_loop_run_nowait(ps.loop), 0); /* binds the loop, arms its wake-up */
	ck_assert_int_eq(pthread_create(&th, NULL, post_later, &ps), 0);
	p = (struct pollfd){.fd = weft_loop_fd(ps.loop), .events = POLLIN};
	ck_assert_int_eq(weft_loop_timeout(ps.loop), WEFT_FOREVER);
	ck_assert_int_eq(poll(&p, 1, 10 * 1000), 1);
	pthread_join(th, NULL);
	weft_loop_run_nowait(ps.loop);
	ck_assert_int_eq(ps.ran, 1);
	ck_assert_int_eq(weft_loop_close(ps.loop), 0);
}
END_TEST

static void *post_three_times(void *arg)
{
	struct poster *p = arg;

	for (int i = 0; i < 3; i++) {
		usleep(20 * 1000); /* the host is asleep in poll by then */
		ck_assert_int_eq(weft_loop_post(p->loop, posted, p), 0);
	}
	return NULL;
}

/* Every post wakes the host, not just the first (the wake-up read is reaped and re-armed on an
 * idle embedded loop, and the host fd is signalled for each). */
START_TEST(every_post_wakes_the_host)
{
	struct poster ps = {0};
	struct pollfd p;
	pthread_t th;

	ck_assert_int_eq(weft_loop_new(&ps.loop, NULL), 0);
	p = (struct pollfd){.fd = weft_loop_fd(ps.loop), .events = POLLIN};
	ck_assert_int_eq(weft_loop_run_nowait(ps.loop), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, post_three_times, &ps), 0);
	while (ps.ran < 3) {
		ck_assert_int_eq(weft_loop_timeout(ps.loop) == 0 || poll(&p, 1, 10 * 1000) == 1, 1);
		ck_assert_int_eq(weft_loop_run_nowait(ps.loop), 0);
	}
	pthread_join(th, NULL);
	ck_assert_int_eq(weft_loop_close(ps.loop), 0);
}
END_TEST

static int m_nowait_inside(void *arg)
{
	ck_assert_int_eq(weft_loop_run_nowait(weft_loop_current()), -EBUSY);
	return 0;
}

START_TEST(embedding_errors)
{
	ck_assert_int_eq(weft_loop_fd(NULL), -EINVAL);
	ck_assert_int_eq(weft_loop_timeout(NULL), -EINVAL);
	ck_assert_int_eq(weft_loop_run_nowait(NULL), -EINVAL);
	ck_assert_int_eq(weft_run(m_nowait_inside, NULL, NULL), 0);
}
END_TEST

static void stop_soon(void *arg)
{
	weft_loop_stop(arg);
}

START_TEST(stop_stays_pending_for_the_next_run)
{
	weft_loop *l;
	int done = 0;

	ck_assert_int_eq(weft_loop_new(&l, NULL), 0);
	ck_assert_int_eq(weft_loop_spawn(l, NULL, sleeper, &done, NULL), 0);
	ck_assert_int_eq(weft_loop_call_soon(l, stop_soon, l), 0);
	ck_assert_int_eq(weft_loop_run_nowait(l), 1); /* the stop does not end embedding turns */
	ck_assert_int_eq(weft_loop_run(l), 1);	      /* but the next run sees it */
	ck_assert_int_eq(weft_loop_run(l), 0);
	ck_assert_int_eq(done, 1);
	ck_assert_int_eq(weft_loop_close(l), 0);
}
END_TEST

static Suite *embed_suite(void)
{
	Suite *s = suite_create("embed");
	TCase *tc = tcase_create("embed");

	tcase_add_test(tc, host_drives_timers);
	tcase_add_test(tc, fd_is_readable_when_io_completes);
	tcase_add_loop_test(tc, host_fd_readable_when_the_peer_write_returns, 0, 2);
	tcase_add_test(tc, embedding_errors);
	tcase_add_test(tc, stop_stays_pending_for_the_next_run);
	if (!getenv("WEFT_VALGRIND")) /* a thread wakes a sleeping one: see test_thread.c */
		tcase_add_test(tc, post_from_another_thread_wakes_the_host);
	if (!getenv("WEFT_VALGRIND"))
		tcase_add_test(tc, every_post_wakes_the_host);
	suite_add_tcase(s, tc);
	return s;
}

WEFT_CHECK_MAIN(embed_suite)
