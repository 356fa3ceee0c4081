/* SPDX-License-Identifier: MIT */
/*
 * Signals through the ring (weft/signal.h): raise() and kill() received with their siginfo,
 * sigqueue values, two signals in a set, signals from another process while the loop sleeps,
 * deadlines and cancellation, try_wait, the callback style, misuse errors, and that close
 * restores the thread's signal mask (counting weft_signals that share a signal).
 */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <weft.h>
#include <weft/signal.h>
#include "check_main.h"

static sigset_t set_of(int a, int b)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, a);
	if (b)
		sigaddset(&s, b);
	return s;
}

static bool blocked(int signo)
{
	sigset_t cur;

	pthread_sigmask(SIG_SETMASK, NULL, &cur);
	return sigismember(&cur, signo) == 1;
}

static weft_signal *open_set(int a, int b)
{
	sigset_t s = set_of(a, b);
	weft_signal *sig;

	ck_assert_int_eq(weft_signal_open(&sig, &s), 0);
	return sig;
}

static void run_test(int (*fn)(void *), void *arg)
{
	ck_assert_int_eq(weft_run(fn, arg, NULL), 0);
}

/* ---- misuse ----------------------------------------------------------------------------------- */

START_TEST(bad_args)
{
	sigset_t s;
	weft_signal *sig;

	sigemptyset(&s);
	ck_assert_int_eq(weft_signal_open(&sig, &s), -EINVAL); /* empty */
	ck_assert_int_eq(weft_signal_open(NULL, &s), -EINVAL);
	ck_assert_int_eq(weft_signal_open(&sig, NULL), -EINVAL);
	s = set_of(SIGUSR1, SIGKILL);
	ck_assert_int_eq(weft_signal_open(&sig, &s), -EINVAL);
	ck_assert(!blocked(SIGUSR1)); /* a refused open blocks nothing */
	s = set_of(SIGSTOP, 0);
	ck_assert_int_eq(weft_signal_open(&sig, &s), -EINVAL);
	ck_assert_int_eq(weft_signal_wait(NULL, NULL), -EINVAL);
	ck_assert_int_eq(weft_signal_try_wait(NULL, NULL), -EINVAL);
	ck_assert_int_eq(weft_signal_fd(NULL), -EINVAL);

	sig = open_set(SIGUSR1, 0);
	ck_assert_int_ge(weft_signal_fd(sig), 0);
	ck_assert_int_eq(weft_signal_wait(sig, NULL), -EPERM); /* not in a fiber */
	ck_assert_int_eq(weft_signal_watch(sig, NULL, NULL, NULL), -EINVAL);
	weft_signal_close(sig);
	weft_signal_close(NULL);
}
END_TEST

/* ---- receiving ---------------------------------------------------------------------------------- */

static int raise_main(void *arg)
{
	weft_signal *sig = arg;
	struct signalfd_siginfo si;

	ck_assert_int_eq(raise(SIGUSR1), 0); /* sent to this very thread */
	ck_assert_int_eq(weft_signal_wait(sig, &si), SIGUSR1);
	ck_assert_uint_eq(si.ssi_signo, SIGUSR1);
	ck_assert_int_eq(si.ssi_pid, getpid());
	ck_assert_int_eq(si.ssi_code, SI_TKILL);
	ck_assert_int_eq(weft_signal_try_wait(sig, NULL), -EAGAIN); /* consumed */
	ck_assert_int_eq(kill(getpid(), SIGUSR1), 0);		    /* sent to the process */
	ck_assert_int_eq(weft_signal_wait(sig, &si), SIGUSR1);
	ck_assert_int_eq(si.ssi_code, SI_USER);
	ck_assert_int_eq(si.ssi_uid, getuid());
	return 0;
}

START_TEST(raise_and_kill_received)
{
	weft_signal *sig = open_set(SIGUSR1, 0);

	ck_assert(blocked(SIGUSR1));
	run_test(raise_main, sig);
	weft_signal_close(sig);
	ck_assert(!blocked(SIGUSR1));
}
END_TEST

/* A fiber parked in wait, the loop asleep in the kernel: a signal from a child process wakes it. */
static int from_child_main(void *arg)
{
	weft_signal *sig = arg;
	struct signalfd_siginfo si;
	pid_t parent = getpid(), child = fork();
	int st;

	ck_assert_int_ge(child, 0);
	if (child == 0) {
		union sigval v = {.sival_int = 4242};

		usleep(50 * 1000);
		_exit(sigqueue(parent, SIGUSR2, v) ? 1 : 0);
	}
	ck_assert_int_eq(weft_signal_wait(sig, &si), SIGUSR2);
	ck_assert_int_eq(si.ssi_pid, child);
	ck_assert_int_eq(si.ssi_code, SI_QUEUE);
	ck_assert_int_eq(si.ssi_int, 4242);
	ck_assert_int_eq(waitpid(child, &st, 0), child);
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	return 0;
}

START_TEST(signal_from_another_process)
{
	weft_signal *sig = open_set(SIGUSR2, 0);

	run_test(from_child_main, sig);
	weft_signal_close(sig);
}
END_TEST

static int two_main(void *arg)
{
	weft_signal *sig = arg;
	int a, b;

	ck_assert_int_eq(raise(SIGUSR2), 0);
	ck_assert_int_eq(raise(SIGUSR1), 0);
	a = weft_signal_wait(sig, NULL);
	b = weft_signal_wait(sig, NULL);
	ck_assert_int_eq(a + b, SIGUSR1 + SIGUSR2);
	ck_assert_int_ne(a, b);
	return 0;
}

START_TEST(two_signals_in_a_set)
{
	weft_signal *sig = open_set(SIGUSR1, SIGUSR2);

	run_test(two_main, sig);
	weft_signal_close(sig);
	ck_assert(!blocked(SIGUSR1));
	ck_assert(!blocked(SIGUSR2));
}
END_TEST

/* ---- deadlines and cancellation ----------------------------------------------------------- */

static int deadline_main(void *arg)
{
	weft_signal *sig = arg;
	int64_t start = weft_now();
	weft_scope s;

	ck_assert_int_eq(weft_scope_enter(&s, start + 30 * WEFT_MSEC, 0), 0);
	ck_assert_int_eq(weft_signal_wait(sig, NULL), -ETIMEDOUT);
	weft_scope_exit(&s);
	ck_assert_int_ge(weft_now() - start, 30 * WEFT_MSEC);
	/* nothing was lost: the next signal still comes */
	ck_assert_int_eq(raise(SIGUSR1), 0);
	ck_assert_int_eq(weft_signal_wait(sig, NULL), SIGUSR1);
	return 0;
}

START_TEST(deadline)
{
	weft_signal *sig = open_set(SIGUSR1, 0);

	run_test(deadline_main, sig);
	weft_signal_close(sig);
}
END_TEST

static int waiter(void *arg)
{
	return weft_signal_wait(arg, NULL);
}

static int cancel_main(void *arg)
{
	weft_signal *sig = arg;
	weft_task *t;
	int st;

	ck_assert_int_eq(weft_task_spawn(&t, waiter, sig, NULL), 0);
	ck_assert_int_eq(weft_sleep(10 * WEFT_MSEC), 0);
	ck_assert_int_eq(weft_task_state(t), WEFT_TASK_PARKED);
	ck_assert_int_eq(weft_task_cancel(t), 0);
	ck_assert_int_eq(weft_task_join(t, &st), 0);
	ck_assert_int_eq(st, -ECANCELED);
	/* a signal arriving now waits for the next reader */
	ck_assert_int_eq(raise(SIGUSR1), 0);
	ck_assert_int_eq(weft_signal_try_wait(sig, NULL), SIGUSR1);
	return 0;
}

START_TEST(cancellation)
{
	weft_signal *sig = open_set(SIGUSR1, 0);

	run_test(cancel_main, sig);
	weft_signal_close(sig);
}
END_TEST

/* Two fibers wait on one weft_signal: each signal wakes one of them. */
static int two_waiters_main(void *arg)
{
	weft_signal *sig = arg;
	weft_task *t[2];
	int st[2];

	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(weft_task_spawn(&t[i], waiter, sig, NULL), 0);
	ck_assert_int_eq(weft_sleep(10 * WEFT_MSEC), 0);
	ck_assert_int_eq(kill(getpid(), SIGUSR1), 0);
	for (int i = 0; i < 5000 && !weft_task_done(t[0]) && !weft_task_done(t[1]); i++)
		ck_assert_int_eq(weft_sleep(WEFT_MSEC), 0);
	ck_assert_int_eq(weft_sleep(10 * WEFT_MSEC), 0); /* time for a wrong second wake-up */
	ck_assert_int_eq(weft_task_done(t[0]) + weft_task_done(t[1]), 1);
	ck_assert_int_eq(kill(getpid(), SIGUSR1), 0);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(weft_task_join(t[i], &st[i]), 0);
		ck_assert_int_eq(st[i], SIGUSR1);
	}
	return 0;
}

START_TEST(two_waiters_one_signal_each)
{
	weft_signal *sig = open_set(SIGUSR1, 0);

	run_test(two_waiters_main, sig);
	weft_signal_close(sig);
}
END_TEST

/* ---- callback style ---------------------------------------------------------------------------- */

static int on_signal(weft_signal *sig, const struct signalfd_siginfo *si, void *arg)
{
	int *n = arg;

	ck_assert_uint_eq(si->ssi_signo, SIGUSR1);
	return ++*n == 3 ? 99 : 0;
}

static int watch_main(void *arg)
{
	weft_signal *sig = arg;
	weft_task *t, *t2;
	int n = 0, st;

	ck_assert_int_eq(weft_signal_watch(sig, on_signal, &n, &t), 0);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(weft_sleep(5 * WEFT_MSEC), 0);
		ck_assert_int_eq(kill(getpid(), SIGUSR1), 0);
	}
	ck_assert_int_eq(weft_task_join(t, &st), 0);
	ck_assert_int_eq(st, 99);
	ck_assert_int_eq(n, 3);
	/* a watcher is stopped by cancelling it */
	ck_assert_int_eq(weft_signal_watch(sig, on_signal, &n, &t2), 0);
	ck_assert_int_eq(weft_sleep(5 * WEFT_MSEC), 0);
	ck_assert_int_eq(weft_task_cancel(t2), 0);
	ck_assert_int_eq(weft_task_join(t2, &st), 0);
	ck_assert_int_eq(st, -ECANCELED);
	return 0;
}

START_TEST(watch_callback)
{
	weft_signal *sig = open_set(SIGUSR1, 0);

	run_test(watch_main, sig);
	weft_signal_close(sig);
}
END_TEST

/* ---- masks ------------------------------------------------------------------------------------- */

START_TEST(close_restores_mask)
{
	sigset_t s = set_of(SIGUSR2, 0), old;
	weft_signal *a, *b;

	/* two weft_signals share SIGUSR1: it stays blocked until both are closed */
	a = open_set(SIGUSR1, 0);
	b = open_set(SIGUSR1, SIGUSR2);
	weft_signal_close(a);
	ck_assert(blocked(SIGUSR1));
	ck_assert(blocked(SIGUSR2));
	weft_signal_close(b);
	ck_assert(!blocked(SIGUSR1));
	ck_assert(!blocked(SIGUSR2));
	/* a signal the thread blocked itself stays blocked */
	pthread_sigmask(SIG_BLOCK, &s, &old);
	a = open_set(SIGUSR2, 0);
	weft_signal_close(a);
	ck_assert(blocked(SIGUSR2));
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}
END_TEST

/* A signal that arrives before the first wait (but after open) is not lost. */
START_TEST(pending_before_wait)
{
	weft_signal *sig = open_set(SIGUSR1, 0);
	struct signalfd_siginfo si;

	ck_assert_int_eq(raise(SIGUSR1), 0);
	ck_assert_int_eq(weft_signal_try_wait(sig, &si), SIGUSR1);
	ck_assert_int_eq(si.ssi_pid, getpid());
	ck_assert_int_eq(weft_signal_try_wait(sig, &si), -EAGAIN);
	weft_signal_close(sig);
}
END_TEST

static Suite *signal_suite(void)
{
	Suite *s = suite_create("signal");
	TCase *tc = tcase_create("signal");

	tcase_add_test(tc, bad_args);
	tcase_add_test(tc, raise_and_kill_received);
	tcase_add_test(tc, signal_from_another_process);
	tcase_add_test(tc, two_signals_in_a_set);
	tcase_add_test(tc, deadline);
	tcase_add_test(tc, cancellation);
	tcase_add_test(tc, two_waiters_one_signal_each);
	tcase_add_test(tc, watch_callback);
	tcase_add_test(tc, close_restores_mask);
	tcase_add_test(tc, pending_before_wait);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

WEFT_CHECK_MAIN(signal_suite)
