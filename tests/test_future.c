/* SPDX-License-Identifier: MIT */
/* One-shot futures: set / wait from every kind of caller, cancel, interruptions, free, close. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft.h"
#include "check_main.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static int run_main(int (*fn)(void *), void *arg)
{
	return weft_run(fn, arg, NULL);
}

static weft_future *new_future(void)
{
	weft_future *f = NULL;

	ck_assert_int_eq(weft_future_new(weft_loop_current(), &f), 0);
	ck_assert_ptr_nonnull(f);
	ck_assert(!weft_future_done(f));
	return f;
}

/* A task waiting on a future, recording what it got. */
struct waiter {
	weft_future *f;
	int ret;
	void *value;
	bool returned;
};

static int wait_task(void *arg)
{
	struct waiter *w = arg;

	w->ret = weft_future_wait(w->f, &w->value);
	w->returned = true;
	return w->ret;
}

static weft_task *spawn_waiter(struct waiter *w, weft_future *f)
{
	weft_task *t;

	*w = (struct waiter){.f = f, .ret = 12345};
	ck_assert_int_eq(weft_task_spawn(&t, wait_task, w, NULL), 0);
	return t;
}

static int value_a, value_b;

/* ---- set and wait --------------------------------------------------------------------------- */

static int set_then_wait_main(void *arg)
{
	weft_future *f = new_future(), *g = new_future();
	void *v = NULL;

	ck_assert_int_eq(weft_future_set(f, 5, &value_a), 0);
	ck_assert(weft_future_done(f));
	ck_assert_int_eq(weft_future_wait(f, &v), 5);
	ck_assert_ptr_eq(v, &value_a);
	/* Waiting again gives the same result; the value pointer is optional. */
	v = NULL;
	ck_assert_int_eq(weft_future_wait(f, &v), 5);
	ck_assert_ptr_eq(v, &value_a);
	ck_assert_int_eq(weft_future_wait(f, NULL), 5);

	/* A failure status comes back as the wait's return. */
	ck_assert_int_eq(weft_future_set(g, -EIO, NULL), 0);
	ck_assert_int_eq(weft_future_wait(g, &v), -EIO);
	ck_assert_ptr_null(v);

	ck_assert_int_eq(weft_future_free(f), 0);
	ck_assert_int_eq(weft_future_free(g), 0);
	return 0;
}

START_TEST(set_then_wait)
{
	ck_assert_int_eq(run_main(set_then_wait_main, NULL), 0);
}
END_TEST

static void set_cb(void *arg)
{
	ck_assert_ptr_null(weft_task_current());
	ck_assert_int_eq(weft_future_set(arg, 7, &value_b), 0);
}

static int wait_then_set_soon_main(void *arg)
{
	weft_future *f = new_future();
	void *v = NULL;

	ck_assert_int_eq(weft_loop_call_soon(weft_loop_current(), set_cb, f), 0);
	ck_assert_int_eq(weft_future_wait(f, &v), 7);
	ck_assert_ptr_eq(v, &value_b);
	ck_assert_int_eq(weft_future_free(f), 0);
	return 0;
}

START_TEST(wait_then_set_from_call_soon)
{
	ck_assert_int_eq(run_main(wait_then_set_soon_main, NULL), 0);
}
END_TEST

static int wait_then_set_timer_main(void *arg)
{
	weft_future *f = new_future();
	weft_timer *tm;
	int64_t due = weft_now() + 5 * WEFT_MSEC;
	void *v = NULL;

	ck_assert_int_eq(weft_timer_new(weft_loop_current(), &tm, set_cb, f), 0);
	ck_assert_int_eq(weft_timer_start(tm, due, 0), 0);
	ck_assert_int_eq(weft_future_wait(f, &v), 7);
	ck_assert_int_ge(weft_now(), due);
	ck_assert_ptr_eq(v, &value_b);
	weft_timer_free(tm);
	ck_assert_int_eq(weft_future_free(f), 0);
	return 0;
}

START_TEST(wait_then_set_from_timer)
{
	ck_assert_int_eq(run_main(wait_then_set_timer_main, NULL), 0);
}
END_TEST

static int setter_task(void *arg)
{
	ck_assert_int_eq(weft_sleep(2 * WEFT_MSEC), 0);
	ck_assert_int_eq(weft_future_set(arg, 9, &value_a), 0);
	return 0;
}

static int wait_then_set_task_main(void *arg)
{
	weft_future *f = new_future();
	weft_task *t;
	void *v = NULL;

	ck_assert_int_eq(weft_task_spawn(&t, setter_task, f, NULL), 0);
	ck_assert_int_eq(weft_future_wait(f, &v), 9);
	ck_assert_ptr_eq(v, &value_a);
	ck_assert_int_eq(weft_task_join(t, NULL), 0);
	ck_assert_int_eq(weft_future_free(f), 0);
	return 0;
}

START_TEST(wait_then_set_from_task)
{
	ck_assert_int_eq(run_main(wait_then_set_task_main, NULL), 0);
}
END_TEST

static int many_waiters_main(void *arg)
{
	enum { N = 200 };
	struct waiter w[N];
	weft_task *t[N];
	weft_future *f = new_future();
	int st;

	for (int i = 0; i < N; i++)
		t[i] = spawn_waiter(&w[i], f);
	ck_assert_int_eq(weft_yield(), 0); /* all parked on it now */
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(weft_task_state(t[i]), WEFT_TASK_PARKED);
	ck_assert_int_eq(weft_future_free(f), -EBUSY);
	ck_assert_int_eq(weft_future_set(f, 3, &value_b), 0);
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(weft_task_join(t[i], &st), 0);
		ck_assert_int_eq(st, 3);
		ck_assert_int_eq(w[i].ret, 3);
		ck_assert_ptr_eq(w[i].value, &value_b);
	}
	ck_assert_int_eq(weft_future_free(f), 0);
	return 0;
}

START_TEST(many_waiters)
{
	ck_assert_int_eq(run_main(many_waiters_main, NULL), 0);
}
END_TEST

/* ---- set twice, cancel ---------------------------------------------------------------------- */

static int set_twice_main(void *arg)
{
	weft_future *f = new_future(), *g = new_future();
	void *v;

	ck_assert_int_eq(weft_future_set(f, 1, &value_a), 0);
	ck_assert_int_eq(weft_future_set(f, 2, &value_b), -EALREADY);
	ck_assert_int_eq(weft_future_cancel(f), -EALREADY);
	ck_assert_int_eq(weft_future_wait(f, &v), 1); /* unchanged */
	ck_assert_ptr_eq(v, &value_a);

	ck_assert_int_eq(weft_future_cancel(g), 0);
	ck_assert(weft_future_done(g));
	ck_assert_int_eq(weft_future_cancel(g), -EALREADY);
	ck_assert_int_eq(weft_future_set(g, 0, NULL), -EALREADY);
	ck_assert_int_eq(weft_future_wait(g, NULL), -ECANCELED);

	ck_assert_int_eq(weft_future_set(NULL, 0, NULL), -EINVAL);
	ck_assert_int_eq(weft_future_cancel(NULL), -EINVAL);
	ck_assert(!weft_future_done(NULL));
	ck_assert_int_eq(weft_future_free(f), 0);
	ck_assert_int_eq(weft_future_free(g), 0);
	return 0;
}

START_TEST(set_twice_ealready)
{
	ck_assert_int_eq(run_main(set_twice_main, NULL), 0);
}
END_TEST

static int cancel_future_main(void *arg)
{
	struct waiter w[3];
	weft_task *t[3];
	weft_future *f = new_future();
	int st;

	for (int i = 0; i < 3; i++)
		t[i] = spawn_waiter(&w[i], f);
	ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_future_cancel(f), 0);
	ck_assert(weft_future_done(f));
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(weft_task_join(t[i], &st), 0);
		ck_assert_int_eq(w[i].ret, -ECANCELED);
		ck_assert_ptr_null(w[i].value);
		/* The future was cancelled, not the waiters. */
		ck_assert_int_eq(weft_checkpoint(), 0);
	}
	ck_assert_int_eq(weft_future_free(f), 0);
	return 0;
}

START_TEST(cancel_wakes_waiters)
{
	ck_assert_int_eq(run_main(cancel_future_main, NULL), 0);
}
END_TEST

/* ---- interrupted waiters -------------------------------------------------------------------- */

static int waiter_cancelled_main(void *arg)
{
	struct waiter w[3];
	weft_task *t[3];
	weft_future *f = new_future();
	int st;

	for (int i = 0; i < 3; i++)
		t[i] = spawn_waiter(&w[i], f);
	ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_task_cancel(t[1]), 0);
	ck_assert_int_eq(weft_task_join(t[1], &st), 0);
	ck_assert_int_eq(w[1].ret, -ECANCELED);
	ck_assert_int_eq(st, -ECANCELED);
	ck_assert(!weft_future_done(f)); /* stays unset */

	/* The other waiters are still there and get the value. */
	ck_assert_int_eq(weft_future_free(f), -EBUSY);
	ck_assert_int_eq(weft_future_set(f, 4, &value_a), 0);
	for (int i = 0; i < 3; i += 2) {
		ck_assert_int_eq(weft_task_join(t[i], &st), 0);
		ck_assert_int_eq(w[i].ret, 4);
		ck_assert_ptr_eq(w[i].value, &value_a);
	}

	/* A task cancelled before it waits does not wait. */
	weft_future *g = new_future();
	t[0] = spawn_waiter(&w[0], g);
	ck_assert_int_eq(weft_task_cancel(t[0]), 0);
	ck_assert_int_eq(weft_task_join(t[0], &st), 0);
	ck_assert(!weft_future_done(g));
	ck_assert_int_eq(weft_future_free(g), 0);
	ck_assert_int_eq(weft_future_free(f), 0);
	return 0;
}

START_TEST(waiter_cancelled)
{
	ck_assert_int_eq(run_main(waiter_cancelled_main, NULL), 0);
}
END_TEST

static int deadline_main(void *arg)
{
	weft_future *f = new_future();
	weft_scope s;
	int64_t deadline = weft_now() + 5 * WEFT_MSEC;
	void *v = &value_b;

	ck_assert_int_eq(weft_scope_enter(&s, deadline, 0), 0);
	ck_assert_int_eq(weft_future_wait(f, &v), -ETIMEDOUT);
	ck_assert_int_ge(weft_now(), deadline);
	ck_assert_ptr_eq(v, &value_b);			       /* untouched */
	ck_assert_int_eq(weft_future_wait(f, &v), -ETIMEDOUT); /* still past it */
	ck_assert_int_eq(weft_scope_exit(&s), -ETIMEDOUT);
	ck_assert(!weft_future_done(f));
	/* No waiter was left behind: it can be freed. */
	ck_assert_int_eq(weft_future_free(f), 0);
	return 0;
}

START_TEST(waiter_deadline)
{
	ck_assert_int_eq(run_main(deadline_main, NULL), 0);
}
END_TEST

static weft_scope *scope_waiter_scope;

static int scope_waiter(void *arg)
{
	weft_scope s;

	ck_assert_int_eq(weft_scope_enter(&s, WEFT_FOREVER, 0), 0);
	scope_waiter_scope = &s;
	ck_assert_int_eq(weft_future_wait(arg, NULL), -ECANCELED);
	ck_assert_int_eq(weft_scope_exit(&s), -ECANCELED);
	/* Only the scope was cancelled, not the task. */
	ck_assert_int_eq(weft_checkpoint(), 0);
	return 0;
}

static int scope_cancel_main(void *arg)
{
	weft_future *f = new_future();
	weft_scope s;
	weft_task *t;
	int st;

	/* A cancelled scope stops the wait (here before it parks, next while parked). */
	ck_assert_int_eq(weft_scope_enter(&s, WEFT_FOREVER, 0), 0);
	weft_scope_cancel(&s);
	ck_assert_int_eq(weft_future_wait(f, NULL), -ECANCELED);
	ck_assert_int_eq(weft_scope_exit(&s), -ECANCELED);
	ck_assert(!weft_future_done(f));

	ck_assert_int_eq(weft_task_spawn(&t, scope_waiter, f, NULL), 0);
	ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_task_state(t), WEFT_TASK_PARKED);
	weft_scope_cancel(scope_waiter_scope);
	ck_assert_int_eq(weft_task_join(t, &st), 0);
	ck_assert_int_eq(st, 0);
	ck_assert(!weft_future_done(f));
	ck_assert_int_eq(weft_future_free(f), 0);
	return 0;
}

START_TEST(waiter_scope_cancelled)
{
	ck_assert_int_eq(run_main(scope_cancel_main, NULL), 0);
}
END_TEST

/* ---- free and errors ------------------------------------------------------------------------ */

static int free_busy_main(void *arg)
{
	struct waiter w;
	weft_future *f = new_future();
	weft_task *t = spawn_waiter(&w, f);
	int st;

	ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_future_free(f), -EBUSY);
	ck_assert(!w.returned); /* nothing happened to the waiter */
	ck_assert_int_eq(weft_future_set(f, 0, NULL), 0);
	ck_assert_int_eq(weft_task_join(t, &st), 0);
	ck_assert_int_eq(w.ret, 0);
	ck_assert_int_eq(weft_future_free(f), 0);
	ck_assert_int_eq(weft_future_free(NULL), 0);
	return 0;
}

START_TEST(free_with_waiters_ebusy)
{
	ck_assert_int_eq(run_main(free_busy_main, NULL), 0);
}
END_TEST

START_TEST(errors_outside_fiber)
{
	weft_loop *l;
	weft_future *f = (weft_future *)0x1;
	void *v = &value_a;

	ck_assert_int_eq(weft_loop_new(&l, NULL), 0);
	ck_assert_int_eq(weft_future_new(NULL, &f), -EINVAL);
	ck_assert_ptr_eq(f, (weft_future *)0x1);
	ck_assert_int_eq(weft_future_new(l, NULL), -EINVAL);
	ck_assert_int_eq(weft_future_new(l, &f), 0);
	ck_assert_int_eq(weft_future_wait(f, &v), -EPERM);
	ck_assert_ptr_eq(v, &value_a);
	ck_assert_int_eq(weft_future_wait(NULL, &v), -EINVAL);
	/* Setting from plain code of the loop's thread is fine. */
	ck_assert_int_eq(weft_future_set(f, 1, NULL), 0);
	ck_assert(weft_future_done(f));
	ck_assert_int_eq(weft_future_free(f), 0);
	ck_assert_int_eq(weft_loop_close(l), 0);
}
END_TEST

/* ---- close ---------------------------------------------------------------------------------- */

static struct waiter close_w;
static weft_future *left[3];

static int leave_futures_main(void *arg)
{
	weft_future *f;

	/* Left behind: one unset, one set, one with a waiter the close cancels. */
	left[0] = new_future();
	left[1] = f = new_future();
	ck_assert_int_eq(weft_future_set(f, 1, NULL), 0);
	left[2] = f = new_future();
	close_w = (struct waiter){.f = f, .ret = 12345};
	ck_assert_int_eq(weft_task_spawn(NULL, wait_task, &close_w, NULL), 0);
	ck_assert_int_eq(weft_yield(), 0);
	return 0;
}

/* Closing a loop cancels the waiters but frees no future: they are freed after the close
 * (under ASan or valgrind a double free or a leak would show). */
START_TEST(futures_outlive_close)
{
	weft_loop *l;
	weft_future *f[2];

	ck_assert_int_eq(run_main(leave_futures_main, NULL), 0);
	ck_assert_int_eq(close_w.ret, -ECANCELED);
	ck_assert(close_w.returned);
	ck_assert(weft_future_done(left[1]));
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(weft_future_free(left[i]), 0);

	ck_assert_int_eq(weft_loop_new(&l, NULL), 0);
	ck_assert_int_eq(weft_future_new(l, &f[0]), 0);
	ck_assert_int_eq(weft_future_new(l, &f[1]), 0);
	ck_assert_int_eq(weft_loop_close(l), 0); /* never run */
	ck_assert_int_eq(weft_future_free(f[0]), 0);
	ck_assert_int_eq(weft_future_free(f[1]), 0);
}
END_TEST

/* ---- suite ---------------------------------------------------------------------------------- */

static Suite *future_suite(void)
{
	Suite *s = suite_create("future");
	TCase *tc;

	tc = tcase_create("set_wait");
	tcase_add_test(tc, set_then_wait);
	tcase_add_test(tc, wait_then_set_from_call_soon);
	tcase_add_test(tc, wait_then_set_from_timer);
	tcase_add_test(tc, wait_then_set_from_task);
	tcase_add_test(tc, many_waiters);
	suite_add_tcase(s, tc);

	tc = tcase_create("cancel");
	tcase_add_test(tc, set_twice_ealready);
	tcase_add_test(tc, cancel_wakes_waiters);
	tcase_add_test(tc, waiter_cancelled);
	tcase_add_test(tc, waiter_deadline);
	tcase_add_test(tc, waiter_scope_cancelled);
	suite_add_tcase(s, tc);

	tc = tcase_create("free");
	tcase_add_test(tc, free_with_waiters_ebusy);
	tcase_add_test(tc, errors_outside_fiber);
	tcase_add_test(tc, futures_outlive_close);
	suite_add_tcase(s, tc);
	return s;
}

WEFT_CHECK_MAIN(future_suite)
