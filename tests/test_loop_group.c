/* SPDX-License-Identifier: MIT */
/* Loopsets (weft/thread.h): N loops on N threads, started and stopped together. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "weft.h"
#include "check_main.h"

#define MAXLOOPS 8

struct seen {
	atomic_int ran;
	atomic_int index_mask; /* bit i: a main ran with weft_loopset_index() == i */
	atomic_int on_own_loop;
	int fail_index; /* this loop's main returns -EIO; -1: none */
	atomic_int cpu[MAXLOOPS];
};

static int record_main(void *arg)
{
	struct seen *s = arg;
	int i = weft_loopset_index();

	ck_assert_int_ge(i, 0);
	ck_assert_int_lt(i, MAXLOOPS);
	atomic_fetch_or(&s->index_mask, 1 << i);
	atomic_fetch_add(&s->ran, 1);
	if (weft_loop_current())
		atomic_fetch_add(&s->on_own_loop, 1);
	return i == s->fail_index ? -EIO : i;
}

START_TEST(group_bad_arguments)
{
	struct weft_loopset_opts o = {.nloops = 5000};
	weft_loopset *g;

	ck_assert_int_eq(weft_loopset_start(NULL, &o), -EINVAL);
	ck_assert_int_eq(weft_loopset_start(&g, NULL), -EINVAL);
	ck_assert_int_eq(weft_loopset_start(&g, &o), -EINVAL);
	ck_assert_int_eq(weft_loopset_wait(NULL), -EINVAL);
	ck_assert_int_eq(weft_loopset_stop(NULL), -EINVAL);
	ck_assert_uint_eq(weft_loopset_size(NULL), 0);
	ck_assert_ptr_null(weft_loopset_loop(NULL, 0));
	ck_assert_int_eq(weft_loopset_index(), -1);
}
END_TEST

START_TEST(every_loop_runs_main_once)
{
	struct seen s = {.fail_index = -1};
	struct weft_loopset_opts o = {.nloops = 3, .main = record_main, .arg = &s};
	weft_loopset *g;

	ck_assert_int_eq(weft_loopset_start(&g, &o), 0);
	ck_assert_uint_eq(weft_loopset_size(g), 3);
	ck_assert_ptr_nonnull(weft_loopset_loop(g, 2));
	ck_assert_ptr_null(weft_loopset_loop(g, 3));
	ck_assert_ptr_ne(weft_loopset_loop(g, 0), weft_loopset_loop(g, 1));
	ck_assert_int_eq(weft_loopset_wait(g), 0);
	ck_assert_int_eq(atomic_load(&s.ran), 3);
	ck_assert_int_eq(atomic_load(&s.index_mask), 7);
	ck_assert_int_eq(atomic_load(&s.on_own_loop), 3);
	ck_assert_int_eq(weft_loopset_wait(g), 0); /* again: still done */
	ck_assert_int_eq(weft_loopset_stop(g), 0);
}
END_TEST

START_TEST(default_size_is_one_per_cpu)
{
	struct weft_loopset_opts o = {0};
	weft_loopset *g;
	cpu_set_t set;

	ck_assert_int_eq(sched_getaffinity(0, sizeof(set), &set), 0);
	ck_assert_int_eq(weft_loopset_start(&g, &o), 0);
	ck_assert_uint_eq(weft_loopset_size(g), (unsigned)CPU_COUNT(&set));
	ck_assert_int_eq(weft_loopset_wait(g), 0); /* no main: nothing to wait for */
	ck_assert_int_eq(weft_loopset_stop(g), 0);
}
END_TEST

static int pinned_main(void *arg)
{
	struct seen *s = arg;
	cpu_set_t set;
	int i = weft_loopset_index();

	ck_assert_int_eq(pthread_getaffinity_np(pthread_self(), sizeof(set), &set), 0);
	ck_assert_int_eq(CPU_COUNT(&set), 1);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			atomic_store(&s->cpu[i], c);
	return 0;
}

START_TEST(pinned_loops_each_get_one_cpu)
{
	struct seen s = {0};
	struct weft_loopset_opts o = {.nloops = 4, .pin = true, .main = pinned_main, .arg = &s};
	weft_loopset *g;
	cpu_set_t allowed;
	int cpus[CPU_SETSIZE], n = 0;

	ck_assert_int_eq(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &allowed))
			cpus[n++] = c;
	ck_assert_int_eq(weft_loopset_start(&g, &o), 0);
	ck_assert_int_eq(weft_loopset_wait(g), 0);
	for (int i = 0; i < 4; i++) /* more loops than CPUs wrap around */
		ck_assert_int_eq(atomic_load(&s.cpu[i]), cpus[i % n]);
	ck_assert_int_eq(weft_loopset_stop(g), 0);
}
END_TEST

START_TEST(wait_reports_a_failed_main)
{
	struct seen s = {.fail_index = 1};
	struct weft_loopset_opts o = {.nloops = 2, .main = record_main, .arg = &s};
	weft_loopset *g;

	ck_assert_int_eq(weft_loopset_start(&g, &o), 0);
	ck_assert_int_eq(weft_loopset_wait(g), -EIO);
	ck_assert_int_eq(weft_loopset_stop(g), 0);
}
END_TEST

static int serve_forever(void *arg)
{
	atomic_int *cancelled = arg;
	int r = weft_sleep(WEFT_FOREVER);

	if (r == -ECANCELED)
		atomic_fetch_add(cancelled, 1);
	return r;
}

START_TEST(stop_cancels_running_mains)
{
	atomic_int cancelled = 0;
	struct weft_loopset_opts o = {.nloops = 2, .main = serve_forever, .arg = &cancelled};
	weft_loopset *g;
	int status = -1;

	ck_assert_int_eq(weft_loopset_start(&g, &o), 0);
	/* A round trip through each loop: both mains are asleep by the time it returns. */
	for (unsigned i = 0; i < 2; i++)
		ck_assert_int_eq(weft_loop_call(weft_loopset_loop(g, i), serve_forever, &cancelled,
						20 * WEFT_MSEC, &status),
				 -ETIMEDOUT);
	ck_assert_int_eq(weft_loopset_stop(g), 0);
	ck_assert_int_eq(atomic_load(&cancelled), 4); /* two mains, two timed-out calls */
}
END_TEST

/* The background-loop pattern: the main thread belongs to "something else" and hands work to
 * a loop of its own through weft_loop_call. */
static int add_one(void *arg)
{
	int *v = arg;

	weft_sleep(WEFT_MSEC);
	return ++*v;
}

START_TEST(background_loop_serves_calls)
{
	struct weft_loopset_opts o = {.nloops = 1};
	weft_loopset *g;
	int v = 0, status;

	ck_assert_int_eq(weft_loopset_start(&g, &o), 0);
	for (int i = 1; i <= 5; i++) {
		ck_assert_int_eq(
		    weft_loop_call(weft_loopset_loop(g, 0), add_one, &v, WEFT_FOREVER, &status), 0);
		ck_assert_int_eq(status, i);
	}
	ck_assert_int_eq(weft_loopset_stop(g), 0);
}
END_TEST

static int m_wait_inside_a_loop(void *arg)
{
	weft_loopset *g = arg;

	ck_assert_int_eq(weft_loopset_wait(g), -EBUSY);
	ck_assert_int_eq(weft_loopset_stop(g), -EBUSY);
	return 0;
}

START_TEST(wait_and_stop_refused_on_a_loop_thread)
{
	struct weft_loopset_opts o = {.nloops = 1};
	weft_loopset *g;

	ck_assert_int_eq(weft_loopset_start(&g, &o), 0);
	ck_assert_int_eq(weft_run(m_wait_inside_a_loop, g, NULL), 0);
	ck_assert_int_eq(weft_loopset_stop(g), 0);
}
END_TEST

static Suite *group_suite(void)
{
	Suite *s = suite_create("loop_group");
	TCase *tc = tcase_create("group");

	tcase_add_test(tc, group_bad_arguments);
	/* valgrind runs one thread at a time and holds its lock while a loop thread sleeps in
	 * io_uring_enter: nothing could stop the loops. */
	if (!getenv("WEFT_VALGRIND")) {
		tcase_add_test(tc, every_loop_runs_main_once);
		tcase_add_test(tc, default_size_is_one_per_cpu);
		tcase_add_test(tc, pinned_loops_each_get_one_cpu);
		tcase_add_test(tc, wait_reports_a_failed_main);
		tcase_add_test(tc, stop_cancels_running_mains);
		tcase_add_test(tc, background_loop_serves_calls);
		tcase_add_test(tc, wait_and_stop_refused_on_a_loop_thread);
	}
	suite_add_tcase(s, tc);
	return s;
}

WEFT_CHECK_MAIN(group_suite)
