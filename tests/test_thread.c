/* SPDX-License-Identifier: MIT */
/* Crossing threads: weft_loop_post, weft_future_set_threadsafe, weft_loop_call. */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <weft.h>
#include <weft/thread.h>
#include "check_main.h"

/* A loop running forever on its own thread. */
struct bg {
	weft_loop *loop;
	pthread_t th;
};

static void *bg_main(void *arg)
{
	struct bg *b = arg;

	ck_assert_int_eq(weft_loop_run_forever(b->loop), 0);
	return NULL;
}

static void bg_start_opts(struct bg *b, const struct weft_loop_opts *opts)
{
	ck_assert_int_eq(weft_loop_new(&b->loop, opts), 0);
	ck_assert_int_eq(pthread_create(&b->th, NULL, bg_main, b), 0);
}

static void bg_start(struct bg *b)
{
	ck_assert_int_eq(weft_loop_new(&b->loop, NULL), 0);
	ck_assert_int_eq(pthread_create(&b->th, NULL, bg_main, b), 0);
}

static void bg_stop(struct bg *b)
{
	weft_loop_stop(b->loop);
	pthread_join(b->th, NULL);
	ck_assert_int_eq(weft_loop_close(b->loop), 0);
}

/* ---- calls that are not thread-safe, from the wrong thread ---------------------------------- */

static int nothing(void *arg)
{
	return 0;
}

static void noop(void *arg)
{
}

/* weft_timer_new touches its loop: made on the loop's thread. */
static int make_timer(void *timerp)
{
	return weft_timer_new(weft_loop_current(), timerp, noop, NULL);
}

START_TEST(wrong_thread_calls_are_refused_and_reported)
{
	const struct weft_loop_opts opts = {.debug = WEFT_DEBUG_ON};
	FILE *err = tmpfile();
	int saved = dup(2), status;
	char text[4096];
	size_t n;
	struct bg b;
	weft_event *e;
	weft_future *f;
	weft_timer *t;

	bg_start_opts(&b, &opts);
	/* A round trip: the loop now runs on its thread (and this thread has seen it do so). */
	ck_assert_int_eq(weft_loop_call(b.loop, nothing, NULL, WEFT_FOREVER, &status), 0);
	ck_assert_int_eq(weft_event_new(b.loop, &e), 0);
	ck_assert_int_eq(weft_future_new(b.loop, &f), 0);
	ck_assert_int_eq(weft_loop_call(b.loop, make_timer, &t, WEFT_FOREVER, &status), 0);
	ck_assert_int_eq(status, 0);

	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(dup2(fileno(err), 2), 2);
	ck_assert_int_eq(weft_timer_new(b.loop, &t, noop, NULL), -EXDEV);
	ck_assert_int_eq(weft_loop_call_soon(b.loop, noop, NULL), -EXDEV);
	ck_assert_int_eq(weft_loop_spawn(b.loop, NULL, nothing, NULL, NULL), -EXDEV);
	ck_assert_int_eq(weft_event_set(e), -EXDEV);
	ck_assert_int_eq(weft_future_set(f, 0, NULL), -EXDEV);
	ck_assert_int_eq(weft_timer_start(t, weft_now(), 0), -EXDEV);
	ck_assert_int_eq(weft_loop_fd(b.loop), -EXDEV);
	fflush(stderr);
	ck_assert_int_eq(dup2(saved, 2), 2);
	rewind(err);
	n = fread(text, 1, sizeof(text) - 1, err);
	text[n] = 0;
	ck_assert_msg(
	    strstr(text, "weft_loop_call_soon() called from a thread that does not run its loop"),
	    "debug output: %s", text);
	ck_assert_ptr_nonnull(strstr(text, "weft_event_set()"));
	ck_assert_ptr_nonnull(strstr(text, "weft_timer_start()"));

	/* The thread-safe ways still work. */
	ck_assert_int_eq(weft_future_set_threadsafe(f, 7, NULL), 0);
	ck_assert_int_eq(weft_loop_call(b.loop, nothing, NULL, WEFT_FOREVER, &status), 0);
	ck_assert(weft_future_done(f));
	bg_stop(&b);
	weft_timer_free(t);
	weft_future_free(f);
	weft_event_free(e);
	fclose(err);
	close(saved);
}
END_TEST

/* ---- weft_loop_post --------------------------------------------------------------------- */

struct counter {
	atomic_long n;
	long last[8]; /* per poster: the last sequence number seen, to check per-sender order */
	atomic_int out_of_order;
	pthread_t loop_thread;
	atomic_int wrong_thread;
};

struct post_item {
	struct counter *c;
	int sender;
	long seq;
};

static void count_post(void *arg)
{
	struct post_item *it = arg;
	struct counter *c = it->c;

	if (!pthread_equal(pthread_self(), c->loop_thread))
		atomic_fetch_add(&c->wrong_thread, 1);
	if (it->seq != c->last[it->sender] + 1)
		atomic_fetch_add(&c->out_of_order, 1);
	c->last[it->sender] = it->seq;
	atomic_fetch_add(&c->n, 1);
	free(it);
}

struct poster {
	weft_loop *loop;
	struct counter *c;
	int id;
	long count;
};

static void *poster_main(void *arg)
{
	struct poster *p = arg;

	for (long i = 1; i <= p->count; i++) {
		struct post_item *it = malloc(sizeof(*it));
		*it = (struct post_item){p->c, p->id, i};
		ck_assert_int_eq(weft_loop_post(p->loop, count_post, it), 0);
		if (i % 1000 == 0)
			usleep(
			    100); /* let the loop fall asleep now and then: wake-ups get exercised */
	}
	return NULL;
}

START_TEST(post_from_threads_runs_each_once_in_sender_order)
{
	enum { SENDERS = 4, EACH = 20000 };
	struct counter c = {0};
	struct poster p[SENDERS];
	pthread_t th[SENDERS];
	struct bg b;

	bg_start(&b);
	c.loop_thread = b.th;
	for (int i = 0; i < SENDERS; i++) {
		p[i] = (struct poster){b.loop, &c, i, EACH};
		ck_assert_int_eq(pthread_create(&th[i], NULL, poster_main, &p[i]), 0);
	}
	for (int i = 0; i < SENDERS; i++)
		pthread_join(th[i], NULL);
	for (int tries = 0; atomic_load(&c.n) < SENDERS * EACH && tries < 5000; tries++)
		usleep(1000);
	bg_stop(&b);
	ck_assert_int_eq(atomic_load(&c.n), SENDERS * EACH);
	ck_assert_int_eq(atomic_load(&c.out_of_order), 0);
	ck_assert_int_eq(atomic_load(&c.wrong_thread), 0);
}
END_TEST

static void set_flag(void *arg)
{
	atomic_store((atomic_int *)arg, 1);
}

START_TEST(post_wakes_a_sleeping_loop_promptly)
{
	atomic_int flag = 0;
	struct bg b;
	int64_t t0;

	bg_start(&b);
	usleep(20000); /* the loop is asleep in io_uring_enter with nothing to do */
	t0 = weft_now();
	ck_assert_int_eq(weft_loop_post(b.loop, set_flag, &flag), 0);
	while (!atomic_load(&flag) && weft_now() - t0 < 10 * WEFT_SEC)
		usleep(100);
	ck_assert_int_eq(atomic_load(&flag), 1);
	bg_stop(&b);
}
END_TEST

/* From a fiber of loop A to sleeping loop B: the MSG_RING path. */
struct a_to_b {
	weft_loop *b;
	atomic_int flag;
};

static int post_to_other(void *arg)
{
	struct a_to_b *x = arg;
	int64_t t0 = weft_now();

	ck_assert_int_eq(weft_loop_post(x->b, set_flag, &x->flag), 0);
	while (!atomic_load(&x->flag) && weft_now() - t0 < 10 * WEFT_SEC)
		weft_sleep(100 * WEFT_USEC);
	return atomic_load(&x->flag) ? 0 : -ETIMEDOUT;
}

START_TEST(post_from_another_loop_wakes_it)
{
	struct bg b;
	struct a_to_b x = {0};

	bg_start(&b);
	usleep(20000);
	x.b = b.loop;
	ck_assert_int_eq(weft_run(post_to_other, &x, NULL), 0);
	bg_stop(&b);
}
END_TEST

/* The post is the fiber's last act: weft_run returns right after it, so the MSG_RING queued in
 * loop A's ring must go out as the run ends, not at a next run that never comes. */
static int post_and_return(void *arg)
{
	struct a_to_b *x = arg;

	return weft_loop_post(x->b, set_flag, &x->flag);
}

START_TEST(post_as_last_act_still_wakes)
{
	struct bg b;
	struct a_to_b x = {0};
	int64_t t0;

	bg_start(&b);
	usleep(20000); /* b sleeps in the kernel with nothing to do */
	x.b = b.loop;
	ck_assert_int_eq(weft_run(post_and_return, &x, NULL), 0);
	t0 = weft_now();
	while (!atomic_load(&x.flag) && weft_now() - t0 < 10 * WEFT_SEC)
		usleep(100);
	ck_assert_int_eq(atomic_load(&x.flag), 1);
	bg_stop(&b);
}
END_TEST

START_TEST(post_bad_args)
{
	weft_loop *l;

	ck_assert_int_eq(weft_loop_post(NULL, set_flag, NULL), -EINVAL);
	ck_assert_int_eq(weft_loop_new(&l, NULL), 0);
	ck_assert_int_eq(weft_loop_post(l, NULL, NULL), -EINVAL);
	ck_assert_int_eq(weft_loop_close(l), 0);
	ck_assert_int_eq(weft_future_set_threadsafe(NULL, 0, NULL), -EINVAL);
	ck_assert_int_eq(weft_loop_call(NULL, NULL, NULL, 0, NULL), -EINVAL);
}
END_TEST

START_TEST(posts_pending_at_close_run)
{
	weft_loop *l;
	atomic_int flag = 0;

	ck_assert_int_eq(weft_loop_new(&l, NULL), 0);
	ck_assert_int_eq(weft_loop_post(l, set_flag, &flag), 0);
	ck_assert_int_eq(weft_loop_close(l), 0);
	ck_assert_int_eq(atomic_load(&flag), 1);
}
END_TEST

/* ---- futures ---------------------------------------------------------------------------- */

struct fut_case {
	weft_future *f;
	int status;
	void *value;
};

static void *set_later(void *arg)
{
	struct fut_case *fc = arg;

	usleep(20000);
	ck_assert_int_eq(weft_future_set_threadsafe(fc->f, 42, fc), 0);
	return NULL;
}

static int wait_future(void *arg)
{
	struct fut_case *fc = arg;
	pthread_t th;

	ck_assert_int_eq(weft_future_new(weft_loop_current(), &fc->f), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, set_later, fc), 0);
	fc->status = weft_future_wait(fc->f, &fc->value);
	pthread_join(th, NULL);
	return weft_future_free(fc->f);
}

START_TEST(future_set_from_another_thread)
{
	struct fut_case fc = {0};

	ck_assert_int_eq(weft_run(wait_future, &fc, NULL), 0);
	ck_assert_int_eq(fc.status, 42);
	ck_assert_ptr_eq(fc.value, &fc);
}
END_TEST

/* ---- weft_loop_call --------------------------------------------------------------------- */

struct work {
	int64_t sleep_ns;
	int result;
	atomic_int ended; /* set as the task's last act: the call must not return before */
	atomic_int started;
	pthread_t ran_on;
};

static int do_work(void *arg)
{
	struct work *w = arg;
	int r;

	atomic_store(&w->started, 1);
	r = weft_sleep(w->sleep_ns);

	w->ran_on = pthread_self();
	atomic_store(&w->ended, 1);
	return r ? r : w->result;
}

START_TEST(call_from_plain_thread)
{
	struct work w = {.sleep_ns = WEFT_MSEC, .result = 7};
	struct bg b;
	int status = -1;

	bg_start(&b);
	ck_assert_int_eq(weft_loop_call(b.loop, do_work, &w, WEFT_FOREVER, &status), 0);
	ck_assert_int_eq(status, 7);
	ck_assert(pthread_equal(w.ran_on, b.th));
	bg_stop(&b);
}
END_TEST

START_TEST(call_timeout_cancels_and_waits)
{
	struct work w = {.sleep_ns = 60 * WEFT_SEC, .result = 7};
	struct bg b;
	int status = 0;
	int64_t t0 = weft_now();

	bg_start(&b);
	ck_assert_int_eq(weft_loop_call(b.loop, do_work, &w, 20 * WEFT_MSEC, &status), -ETIMEDOUT);
	ck_assert_int_lt(weft_now() - t0, 10 * WEFT_SEC);
	ck_assert_int_eq(status, -ECANCELED);
	ck_assert_int_eq(atomic_load(&w.ended), 1); /* the task had ended before we returned */
	bg_stop(&b);
}
END_TEST

static int call_other_loop(void *arg)
{
	weft_loop *target = arg;
	struct work w = {.sleep_ns = WEFT_MSEC, .result = 5};
	struct work slow = {.sleep_ns = 60 * WEFT_SEC};
	int status = -1;

	ck_assert_int_eq(weft_loop_call(target, do_work, &w, WEFT_FOREVER, &status), 0);
	ck_assert_int_eq(status, 5);
	/* A deadline scope around the call: the remote task is cancelled and waited for. */
	weft_scope s;
	weft_scope_enter(&s, weft_now() + 20 * WEFT_MSEC, 0);
	ck_assert_int_eq(weft_loop_call(target, do_work, &slow, WEFT_FOREVER, &status), -ETIMEDOUT);
	weft_scope_exit(&s);
	ck_assert_int_eq(status, -ECANCELED);
	ck_assert_int_eq(atomic_load(&slow.ended), 1);
	/* And on our own loop. */
	ck_assert_int_eq(weft_loop_call(weft_loop_current(), do_work, &w, WEFT_FOREVER, &status),
			 0);
	ck_assert_int_eq(status, 5);
	return 0;
}

START_TEST(call_from_fiber_of_another_loop)
{
	struct bg b;

	bg_start(&b);
	ck_assert_int_eq(weft_run(call_other_loop, b.loop, NULL), 0);
	bg_stop(&b);
}
END_TEST

struct caller_case {
	weft_loop *target;
	struct work w;
	int r, status;
};

static int cancelled_caller(void *arg)
{
	struct caller_case *cc = arg;

	cc->r = weft_loop_call(cc->target, do_work, &cc->w, WEFT_FOREVER, &cc->status);
	return 0;
}

static int cancel_the_caller(void *arg)
{
	struct caller_case *cc = arg;
	weft_task *t;

	ck_assert_int_eq(weft_task_spawn(&t, cancelled_caller, cc, NULL), 0);
	while (!atomic_load(&cc->w.started)) /* cancel a call that is running, however slow */
		weft_sleep(WEFT_MSEC);
	ck_assert_int_eq(weft_task_cancel(t), 0);
	return weft_task_join(t, NULL);
}

START_TEST(call_caller_cancelled)
{
	struct bg b;
	struct caller_case cc = {.w = {.sleep_ns = 60 * WEFT_SEC}};

	bg_start(&b);
	cc.target = b.loop;
	ck_assert_int_eq(weft_run(cancel_the_caller, &cc, NULL), 0);
	ck_assert_int_eq(cc.r, -ECANCELED);
	ck_assert_int_eq(cc.status, -ECANCELED);
	ck_assert_int_eq(atomic_load(&cc.w.ended), 1);
	bg_stop(&b);
}
END_TEST

static void *caller_thread(void *arg)
{
	weft_loop *l = arg;

	for (int i = 0; i < 200; i++) {
		struct work w = {.sleep_ns = (i % 3) * WEFT_USEC * 50, .result = i};
		int status = -1;
		/* Some calls time out right as they complete: the cancel races the end. */
		int r = weft_loop_call(l, do_work, &w, (i % 5) * 40 * WEFT_USEC, &status);
		ck_assert(r == 0 || r == -ETIMEDOUT);
		ck_assert(r == -ETIMEDOUT || status == i);
		/* Ran to its end, or was cancelled before it first ran (never touches w). */
		ck_assert(atomic_load(&w.ended) == 1 || status == -ECANCELED);
		ck_assert(r == -ETIMEDOUT || atomic_load(&w.ended) == 1);
	}
	return NULL;
}

START_TEST(call_stress_from_threads)
{
	struct bg b;
	pthread_t th[4];

	bg_start(&b);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, caller_thread, b.loop), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	bg_stop(&b);
}
END_TEST

/* The target loop is not running: the timeout still ends the call, which never started, so
 * its argument is the caller's again and a later run never starts it (before: blocked for good). */
START_TEST(call_timeout_on_a_loop_not_running)
{
	struct work w = {.result = 7};
	weft_loop *l;
	int status = 0;

	ck_assert_int_eq(weft_loop_new(&l, NULL), 0);
	ck_assert_int_eq(weft_loop_call(l, do_work, &w, 20 * WEFT_MSEC, &status), -ETIMEDOUT);
	ck_assert_int_eq(status, -ECANCELED);
	ck_assert_int_eq(weft_loop_run(l), 0); /* the post runs now and drops the call */
	ck_assert_int_eq(atomic_load(&w.ended), 0);
	ck_assert_int_eq(weft_loop_close(l), 0);
}
END_TEST

static int call_idle_loop(void *arg)
{
	struct work w = {.result = 7};
	int status = 0;

	ck_assert_int_eq(weft_loop_call(arg, do_work, &w, 5 * WEFT_MSEC, &status), -ETIMEDOUT);
	ck_assert_int_eq(status, -ECANCELED);
	ck_assert_int_eq(atomic_load(&w.ended), 0);
	return 0;
}

/* The same from a fiber of another loop. */
START_TEST(call_from_fiber_timeout_on_a_loop_not_running)
{
	weft_loop *l;

	ck_assert_int_eq(weft_loop_new(&l, NULL), 0);
	ck_assert_int_eq(weft_run(call_idle_loop, l, NULL), 0);
	ck_assert_int_eq(weft_loop_close(l), 0);
}
END_TEST

struct deadlock {
	weft_loop *loop;
	int r;
};

static void call_from_callback(void *arg)
{
	struct deadlock *d = arg;

	d->r = weft_loop_call(d->loop, nothing, NULL, WEFT_FOREVER, NULL);
}

/* Plain code that only the target's own thread could run it from: a weft_loop_call_soon callback,
 * a post, a timer callback, and the owner thread between runs (before: a deadlock). */
START_TEST(call_from_the_target_loop_thread_is_edeadlk)
{
	struct deadlock d = {.r = 1};
	weft_timer *t;

	ck_assert_int_eq(weft_loop_new(&d.loop, NULL), 0);
	ck_assert_int_eq(weft_loop_call_soon(d.loop, call_from_callback, &d), 0);
	ck_assert_int_eq(weft_loop_run(d.loop), 0);
	ck_assert_int_eq(d.r, -EDEADLK);
	d.r = 1;
	ck_assert_int_eq(weft_loop_post(d.loop, call_from_callback, &d), 0);
	ck_assert_int_eq(weft_loop_run(d.loop), 0);
	ck_assert_int_eq(d.r, -EDEADLK);
	d.r = 1;
	ck_assert_int_eq(weft_timer_new(d.loop, &t, call_from_callback, &d), 0);
	ck_assert_int_eq(weft_timer_start(t, weft_now(), 0), 0);
	ck_assert_int_eq(weft_loop_run(d.loop), 0);
	ck_assert_int_eq(d.r, -EDEADLK);
	weft_timer_free(t);
	/* This thread owns the loop now (it ran it): nothing else can run it. */
	ck_assert_int_eq(weft_loop_call(d.loop, nothing, NULL, WEFT_FOREVER, NULL), -EDEADLK);
	ck_assert_int_eq(weft_loop_close(d.loop), 0);
}
END_TEST

static Suite *thread_suite(void)
{
	Suite *s = suite_create("thread");
	TCase *post = tcase_create("post"), *fut = tcase_create("future"),
	      *call = tcase_create("call");

	tcase_add_test(post, post_bad_args);
	tcase_add_test(call, call_timeout_on_a_loop_not_running);
	tcase_add_test(call, call_from_fiber_timeout_on_a_loop_not_running);
	tcase_add_test(call, call_from_the_target_loop_thread_is_edeadlk);
	tcase_add_test(post, posts_pending_at_close_run);
	/* valgrind runs one thread at a time and holds that lock while a thread sleeps in
	 * io_uring_enter, so a loop thread waiting for a post from another thread never wakes. */
	if (!getenv("WEFT_VALGRIND")) {
		tcase_add_test(post, wrong_thread_calls_are_refused_and_reported);
		tcase_add_test(post, post_from_threads_runs_each_once_in_sender_order);
		tcase_add_test(post, post_wakes_a_sleeping_loop_promptly);
		tcase_add_test(post, post_from_another_loop_wakes_it);
		tcase_add_test(post, post_as_last_act_still_wakes);
		tcase_add_test(fut, future_set_from_another_thread);
		tcase_add_test(call, call_from_plain_thread);
		tcase_add_test(call, call_timeout_cancels_and_waits);
		tcase_add_test(call, call_from_fiber_of_another_loop);
		tcase_add_test(call, call_caller_cancelled);
		tcase_add_test(call, call_stress_from_threads);
	}
	tcase_set_timeout(call, 60);
	suite_add_tcase(s, post);
	suite_add_tcase(s, fut);
	suite_add_tcase(s, call);
	return s;
}

WEFT_CHECK_MAIN(thread_suite)
