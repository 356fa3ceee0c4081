/* SPDX-License-Identifier: MIT */
/* The clock, sleeping, yielding and callback timers. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft.h"
#include "timing.h"
#include "check_main.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static int run_main(int (*fn)(void *), void *arg)
{
	return weft_run(fn, arg, NULL);
}

/* Fiber counts for the stress tests: valgrind is ~50x slower, and ASan gives every fiber that
 * has run a fake stack of its own (detect_stack_use_after_return), which costs mmaps and time. */
static int scaled(int n)
{
	if (getenv("WEFT_VALGRIND"))
		return n / 50;
#if defined(__SANITIZE_ADDRESS__)
	return n / 5;
#elif defined(__SANITIZE_THREAD__)
	return n / 20; /* every fiber is a TSan fiber context: costly to create and switch */
#else
	return n;
#endif
}

static weft_loop *new_loop(void)
{
	weft_loop *l = NULL;

	ck_assert_int_eq(weft_loop_new(&l, NULL), 0);
	return l;
}

struct trace {
	char seq[128];
	int n;
};

static void rec(struct trace *tr, char c)
{
	ck_assert_int_lt(tr->n, (int)sizeof(tr->seq) - 1);
	tr->seq[tr->n++] = c;
	tr->seq[tr->n] = 0;
}

/* ---- clock ---------------------------------------------------------------------------------- */

START_TEST(now_monotonic)
{
	int64_t prev = weft_now(), start = prev;

	ck_assert_int_gt(prev, 0);
	for (int i = 0; i < 100000; i++) {
		int64_t now = weft_now();
		ck_assert_int_ge(now, prev);
		prev = now;
	}
	/* It advances, in nanoseconds. */
	while (weft_now() - start < 2 * WEFT_MSEC)
		;
	ck_assert_int_ge(weft_now() - start, 2 * WEFT_MSEC);
}
END_TEST

/* ---- sleep ---------------------------------------------------------------------------------- */

static int sleep_lengths_main(void *arg)
{
	static const int64_t lengths[] = {1,
					  WEFT_USEC,
					  100 * WEFT_USEC,
					  WEFT_MSEC,
					  3 * WEFT_MSEC,
					  10 * WEFT_MSEC,
					  25 * WEFT_MSEC};

	for (int rep = 0; rep < 3; rep++) {
		for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
			int64_t t0 = weft_now(), d;

			ck_assert_int_eq(weft_sleep(lengths[i]), 0);
			d = weft_now() - t0;
			ck_assert_msg(d >= lengths[i], "slept %lld ns of %lld", (long long)d,
				      (long long)lengths[i]);

			t0 = weft_now();
			ck_assert_int_eq(weft_sleep_until(t0 + lengths[i]), 0);
			ck_assert_int_ge(weft_now(), t0 + lengths[i]);
		}
	}
	return 0;
}

START_TEST(sleep_at_least)
{
	ck_assert_int_eq(run_main(sleep_lengths_main, NULL), 0);
}
END_TEST

struct yielder {
	struct trace *tr;
	char c;
	int how; /* 0 weft_yield, 1 weft_sleep(0), 2 weft_sleep(-5), 3 weft_sleep_until(past) */
	int times;
};

static int yield_some(void *arg)
{
	struct yielder *y = arg;

	for (int i = 0; i < y->times; i++) {
		int r = -1;

		rec(y->tr, y->c);
		switch (y->how) {
		case 0:
			r = weft_yield();
			break;
		case 1:
			r = weft_sleep(0);
			break;
		case 2:
			r = weft_sleep(-5 * WEFT_MSEC);
			break;
		case 3:
			r = weft_sleep_until(weft_now() - WEFT_SEC);
			break;
		case 4:
			r = weft_sleep_until(0);
			break;
		}
		ck_assert_int_eq(r, 0);
	}
	return 0;
}

/* Three tasks yielding the same way: they interleave round-robin. */
static void interleave(int how, int times, const char *expect)
{
	struct trace tr = {0};
	struct yielder y[3] = {
	    {&tr, 'A', how, times}, {&tr, 'B', how, times}, {&tr, 'C', how, times}};
	weft_loop *l = new_loop();

	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(weft_loop_spawn(l, NULL, yield_some, &y[i], NULL), 0);
	ck_assert_int_eq(weft_loop_run(l), 0);
	ck_assert_str_eq(tr.seq, expect);
	ck_assert_int_eq(weft_loop_close(l), 0);
}

START_TEST(yield_round_robin)
{
	interleave(0, 6, "ABCABCABCABCABCABC");
}
END_TEST

START_TEST(sleep_zero_or_negative_yields)
{
	interleave(1, 3, "ABCABCABC");
	interleave(2, 3, "ABCABCABC");
}
END_TEST

START_TEST(sleep_until_past_yields)
{
	interleave(3, 3, "ABCABCABC");
	interleave(4, 3, "ABCABCABC");
}
END_TEST

static int yield_alone_main(void *arg)
{
	int64_t t0 = weft_now();

	/* Alone: yielding and zero sleeps come straight back. */
	for (int i = 0; i < 1000; i++) {
		ck_assert_int_eq(weft_yield(), 0);
		ck_assert_int_eq(weft_sleep(0), 0);
		ck_assert_int_eq(weft_sleep_until(t0), 0);
	}
	ck_assert_int_lt(weft_now() - t0, 10 * WEFT_SEC);
	return 0;
}

START_TEST(yield_alone)
{
	ck_assert_int_eq(run_main(yield_alone_main, NULL), 0);
}
END_TEST

static void sleep_in_cb(void *arg)
{
	int *r = arg;

	r[0] = weft_sleep(WEFT_MSEC);
	r[1] = weft_sleep_until(weft_now() + WEFT_MSEC);
	r[2] = weft_yield();
}

static int cb_host(void *arg)
{
	weft_timer *tm;
	int *r = arg;

	ck_assert_int_eq(weft_loop_call_soon(weft_loop_current(), sleep_in_cb, r), 0);
	ck_assert_int_eq(weft_timer_new(weft_loop_current(), &tm, sleep_in_cb, r + 3), 0);
	ck_assert_int_eq(weft_timer_start(tm, weft_now(), 0), 0);
	ck_assert_int_eq(weft_sleep(3 * WEFT_MSEC), 0);
	weft_timer_free(tm);
	return 0;
}

START_TEST(sleep_outside_fiber_eperm)
{
	int r[6] = {1, 1, 1, 1, 1, 1};

	ck_assert_int_eq(weft_sleep(WEFT_MSEC), -EPERM);
	ck_assert_int_eq(weft_sleep(0), -EPERM);
	ck_assert_int_eq(weft_sleep(-1), -EPERM);
	ck_assert_int_eq(weft_sleep_until(weft_now() + WEFT_MSEC), -EPERM);
	ck_assert_int_eq(weft_sleep_until(0), -EPERM);
	ck_assert_int_eq(weft_yield(), -EPERM);
	/* Loop callbacks (weft_loop_call_soon, timers) are not fibers either. */
	ck_assert_int_eq(run_main(cb_host, r), 0);
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(r[i], -EPERM);
}
END_TEST

struct interrupted {
	int forever, until_forever, timed, timed_until, yield_timed, scope_exit;
	int64_t timed_at, deadline;
};

static int interrupted_task(void *arg)
{
	struct interrupted *in = arg;
	weft_scope s;

	/* A deadline cuts a longer sleep short, and not before the deadline. */
	in->deadline = weft_now() + 5 * WEFT_MSEC;
	ck_assert_int_eq(weft_scope_enter(&s, in->deadline, 0), 0);
	in->timed = weft_sleep(60 * WEFT_SEC);
	in->timed_at = weft_now();
	in->timed_until = weft_sleep_until(WEFT_FOREVER);
	in->yield_timed = weft_yield();
	in->scope_exit = weft_scope_exit(&s);
	/* Then the cancel interrupts an endless sleep (no overflow in now + ns). */
	in->forever = weft_sleep(WEFT_FOREVER);
	in->until_forever = weft_sleep_until(WEFT_FOREVER);
	return 0;
}

static int interrupted_main(void *arg)
{
	weft_task *t;

	ck_assert_int_eq(weft_task_spawn(&t, interrupted_task, arg, NULL), 0);
	ck_assert_int_eq(weft_sleep(20 * WEFT_MSEC), 0);
	ck_assert_int_eq(weft_task_state(t), WEFT_TASK_PARKED);
	ck_assert_int_eq(weft_task_cancel(t), 0);
	ck_assert_int_eq(weft_task_join(t, NULL), 0);
	return 0;
}

START_TEST(sleep_interrupted)
{
	struct interrupted in;

	memset(&in, 0x55, sizeof(in));
	ck_assert_int_eq(run_main(interrupted_main, &in), 0);
	ck_assert_int_eq(in.timed, -ETIMEDOUT);
	ck_assert_int_ge(in.timed_at, in.deadline);
	ck_assert_int_eq(in.timed_until, -ETIMEDOUT);
	ck_assert_int_eq(in.yield_timed, -ETIMEDOUT);
	ck_assert_int_eq(in.scope_exit, -ETIMEDOUT);
	ck_assert_int_eq(in.forever, -ECANCELED);
	ck_assert_int_eq(in.until_forever, -ECANCELED);
}
END_TEST

/* ---- many sleepers -------------------------------------------------------------------------- */

struct order {
	int64_t base;
	int *wake; /* task indices in wake order */
	int nwoke;
	int late; /* tasks whose deadline had passed before they could sleep */
	int64_t *deadline;
};

struct sleeper {
	struct order *o;
	int idx;
};

static int sleep_then_record(void *arg)
{
	struct sleeper *s = arg;
	struct order *o = s->o;
	int64_t when = o->deadline[s->idx];

	if (weft_now() >= when)
		o->late++;
	ck_assert_int_eq(weft_sleep_until(when), 0);
	ck_assert_int_ge(weft_now(), when);
	o->wake[o->nwoke++] = s->idx;
	return 0;
}

START_TEST(sleepers_wake_in_deadline_order)
{
	enum { N = 1000 };
	static int wake[N];
	static int64_t deadline[N];
	static struct sleeper sl[N];
	struct order o = {.wake = wake, .deadline = deadline};
	weft_loop *l = new_loop();
	int perm[N];

	/* Distinct deadlines 20 us apart, handed out in shuffled order, all far enough ahead that
	 * every task is asleep before the first one is due. */
	srand(12345);
	for (int i = 0; i < N; i++)
		perm[i] = i;
	for (int i = N - 1; i > 0; i--) {
		int j = rand() % (i + 1), tmp = perm[i];
		perm[i] = perm[j];
		perm[j] = tmp;
	}
	/* If spawning a thousand tasks took longer than the head start (a loaded machine, a
	 * sanitizer), some deadlines passed before their sleep began and the order proves
	 * nothing: try again with ten times the head start. */
	for (int64_t ahead = 200 * WEFT_MSEC;; ahead *= 10) {
		ck_assert_msg(ahead <= 20 * WEFT_SEC, "could not start 1000 sleepers in 20 s");
		o.nwoke = o.late = 0;
		o.base = weft_now() + ahead;
		for (int i = 0; i < N; i++) {
			deadline[i] = o.base + perm[i] * 20 * WEFT_USEC;
			sl[i] = (struct sleeper){&o, i};
			ck_assert_int_eq(weft_loop_spawn(l, NULL, sleep_then_record, &sl[i], NULL),
					 0);
		}
		ck_assert_int_eq(weft_loop_run(l), 0);
		if (o.late == 0)
			break;
	}
	ck_assert_int_eq(o.nwoke, N);
	for (int i = 1; i < N; i++)
		ck_assert_msg(deadline[wake[i - 1]] < deadline[wake[i]],
			      "woke #%d (deadline +%lld us) before #%d (+%lld us)", wake[i - 1],
			      (long long)(deadline[wake[i - 1]] - o.base) / 1000, wake[i],
			      (long long)(deadline[wake[i]] - o.base) / 1000);
	ck_assert_int_eq(weft_loop_close(l), 0);
}
END_TEST

static int sleep_1ms(void *arg)
{
	int r = weft_sleep(WEFT_MSEC);

	if (r == 0)
		(*(int *)arg)++;
	return r;
}

START_TEST(hundred_thousand_sleepers)
{
	int n = scaled(100000), woke = 0;
	weft_loop *l = new_loop();

	for (int i = 0; i < n; i++)
		ck_assert_int_eq(weft_loop_spawn(l, NULL, sleep_1ms, &woke, NULL), 0);
	ck_assert_int_eq(weft_loop_run(l), 0);
	ck_assert_int_eq(woke, n);
	ck_assert_int_eq(weft_loop_close(l), 0);
}
END_TEST

/* ---- timers --------------------------------------------------------------------------------- */

struct tick {
	weft_timer *timer;
	weft_loop *loop;
	int count, stop_after;
	int64_t at[16];
	bool active_inside;
	bool free_inside, restart_inside;
	weft_task *cur;
	weft_loop *loop_inside;
};

static void on_tick(void *arg)
{
	struct tick *k = arg;

	ck_assert_int_lt(k->count, 16);
	k->at[k->count++] = weft_now();
	k->active_inside = weft_timer_active(k->timer);
	k->cur = weft_task_current();
	k->loop_inside = weft_loop_current();
	if (k->stop_after && k->count == k->stop_after) {
		if (k->free_inside) {
			weft_timer_free(k->timer);
			k->timer = NULL;
		} else {
			weft_timer_stop(k->timer);
			ck_assert(!weft_timer_active(k->timer));
		}
	} else if (k->restart_inside) {
		ck_assert_int_eq(weft_timer_start(k->timer, weft_now() + WEFT_MSEC, 0), 0);
	}
}

static void new_tick(struct tick *k)
{
	memset(k, 0, sizeof(*k));
	k->loop = new_loop();
	ck_assert_int_eq(weft_timer_new(k->loop, &k->timer, on_tick, k), 0);
	ck_assert(!weft_timer_active(k->timer));
	k->cur = (weft_task *)0x1;
}

START_TEST(timer_one_shot)
{
	struct tick k;
	int64_t due;

	new_tick(&k);
	due = weft_now() + 10 * WEFT_MSEC;
	ck_assert_int_eq(weft_timer_start(k.timer, due, 0), 0);
	ck_assert(weft_timer_active(k.timer));
	ck_assert_int_eq(weft_loop_run(k.loop), 0); /* the pending timer kept it running */
	ck_assert_int_eq(k.count, 1);
	ck_assert_int_ge(k.at[0], due);
	ck_assert(!k.active_inside);
	ck_assert_ptr_null(k.cur);
	ck_assert_ptr_eq(k.loop_inside, k.loop);
	ck_assert(!weft_timer_active(k.timer));

	/* Reusable: start it again, in the past this time (fires on the next turn). */
	ck_assert_int_eq(weft_timer_start(k.timer, weft_now() - WEFT_SEC, 0), 0);
	ck_assert_int_eq(weft_loop_run(k.loop), 0);
	ck_assert_int_eq(k.count, 2);
	weft_timer_free(k.timer);
	ck_assert_int_eq(weft_loop_close(k.loop), 0);
}
END_TEST

START_TEST(timer_repeating)
{
	struct tick k;
	int64_t start;

	new_tick(&k);
	k.stop_after = 5;
	start = weft_now();
	ck_assert_int_eq(weft_timer_start(k.timer, start + WEFT_MSEC, 2 * WEFT_MSEC), 0);
	ck_assert_int_eq(weft_loop_run(k.loop), 0);
	ck_assert_int_eq(k.count, 5);
	ck_assert(!weft_timer_active(k.timer));
	ck_assert_int_ge(k.at[0], start + WEFT_MSEC);
	for (int i = 1; i < 5; i++)
		ck_assert_int_gt(k.at[i], k.at[i - 1]);
	/* Ticks never come early: the fifth is at least 1 + 4 x 2 ms after the start. */
	ck_assert_int_ge(k.at[4], start + 9 * WEFT_MSEC);
	weft_timer_free(k.timer);
	ck_assert_int_eq(weft_loop_close(k.loop), 0);
}
END_TEST

START_TEST(timer_stop_before_fire)
{
	struct tick k;
	int64_t t0;

	new_tick(&k);
	ck_assert_int_eq(weft_timer_start(k.timer, weft_now() + LONG_SLEEP, 0), 0);
	weft_timer_stop(k.timer);
	ck_assert(!weft_timer_active(k.timer));
	weft_timer_stop(k.timer); /* no-op when not armed */
	t0 = weft_now();
	ck_assert_int_eq(weft_loop_run(k.loop), 0); /* nothing pending: returns at once */
	ck_assert_int_lt(weft_now() - t0, WELL_BEFORE);
	ck_assert_int_eq(k.count, 0);
	weft_timer_free(k.timer);
	ck_assert_int_eq(weft_loop_close(k.loop), 0);
}
END_TEST

START_TEST(timer_restart_earlier)
{
	struct tick k;
	int64_t t0;

	new_tick(&k);
	t0 = weft_now();
	ck_assert_int_eq(weft_timer_start(k.timer, t0 + LONG_SLEEP, 0), 0);
	ck_assert_int_eq(weft_timer_start(k.timer, t0 + 5 * WEFT_MSEC, 0), 0);
	ck_assert(weft_timer_active(k.timer));
	/* Fires once, at the new time, and run ends after it (re-arming did not count twice). */
	ck_assert_int_eq(weft_loop_run(k.loop), 0);
	ck_assert_int_eq(k.count, 1);
	ck_assert_int_ge(k.at[0], t0 + 5 * WEFT_MSEC);
	ck_assert_int_lt(k.at[0], t0 + WELL_BEFORE);

	/* And later again: a repeating timer re-started as a one-shot. */
	t0 = weft_now();
	ck_assert_int_eq(weft_timer_start(k.timer, t0 + WEFT_MSEC, WEFT_MSEC), 0);
	ck_assert_int_eq(weft_timer_start(k.timer, t0 + 3 * WEFT_MSEC, 0), 0);
	ck_assert_int_eq(weft_loop_run(k.loop), 0);
	ck_assert_int_eq(k.count, 2);
	ck_assert_int_ge(k.at[1], t0 + 3 * WEFT_MSEC);
	weft_timer_free(k.timer);
	ck_assert_int_eq(weft_loop_close(k.loop), 0);
}
END_TEST

START_TEST(timer_restart_inside_callback)
{
	struct tick k;

	new_tick(&k);
	k.restart_inside = true;
	k.stop_after = 4;
	ck_assert_int_eq(weft_timer_start(k.timer, weft_now(), 0), 0);
	ck_assert_int_eq(weft_loop_run(k.loop), 0);
	ck_assert_int_eq(k.count, 4);
	weft_timer_free(k.timer);
	ck_assert_int_eq(weft_loop_close(k.loop), 0);
}
END_TEST

START_TEST(timer_free_inside_callback)
{
	struct tick k;

	/* Repeating: freed on its third tick. */
	new_tick(&k);
	k.stop_after = 3;
	k.free_inside = true;
	ck_assert_int_eq(weft_timer_start(k.timer, weft_now() + WEFT_MSEC, WEFT_MSEC), 0);
	ck_assert_int_eq(weft_loop_run(k.loop), 0);
	ck_assert_int_eq(k.count, 3);
	ck_assert_ptr_null(k.timer);
	ck_assert_int_eq(weft_loop_close(k.loop), 0);

	/* One-shot: freed on its only tick. */
	new_tick(&k);
	k.stop_after = 1;
	k.free_inside = true;
	ck_assert_int_eq(weft_timer_start(k.timer, weft_now() + WEFT_MSEC, 0), 0);
	ck_assert_int_eq(weft_loop_run(k.loop), 0);
	ck_assert_int_eq(k.count, 1);
	ck_assert_int_eq(weft_loop_close(k.loop), 0);
}
END_TEST

static int stop_timer_task(void *arg)
{
	struct tick *k = arg;

	ck_assert_int_eq(weft_sleep(5 * WEFT_MSEC), 0);
	ck_assert(weft_timer_active(k->timer));
	weft_timer_stop(k->timer);
	return 0;
}

START_TEST(timer_keeps_run_going)
{
	struct tick k;
	int64_t t0;

	/* A repeating timer alone keeps weft_loop_run going until a task stops it. */
	new_tick(&k);
	t0 = weft_now();
	ck_assert_int_eq(weft_timer_start(k.timer, t0 + WEFT_MSEC, WEFT_MSEC), 0);
	ck_assert_int_eq(weft_loop_spawn(k.loop, NULL, stop_timer_task, &k, NULL), 0);
	ck_assert_int_eq(weft_loop_run(k.loop), 0);
	ck_assert_int_ge(weft_now() - t0, 5 * WEFT_MSEC);
	ck_assert_int_ge(k.count, 1);
	ck_assert(!weft_timer_active(k.timer));

	/* A one-shot 30 ms away, no task at all: run waits for it. */
	t0 = weft_now();
	ck_assert_int_eq(weft_timer_start(k.timer, t0 + 30 * WEFT_MSEC, 0), 0);
	k.count = 0;
	ck_assert_int_eq(weft_loop_run(k.loop), 0);
	ck_assert_int_eq(k.count, 1);
	ck_assert_int_ge(weft_now() - t0, 30 * WEFT_MSEC);
	weft_timer_free(k.timer);
	ck_assert_int_eq(weft_loop_close(k.loop), 0);
}
END_TEST

struct fire_order {
	int seq[100];
	int n;
};

struct fire_arg {
	struct fire_order *o;
	int idx;
};

static void record_fire(void *arg)
{
	struct fire_arg *a = arg;

	a->o->seq[a->o->n++] = a->idx;
}

START_TEST(timers_fire_in_deadline_order)
{
	enum { N = 100 };
	struct fire_order o = {.n = 0};
	struct fire_arg args[N];
	weft_timer *tm[N];
	weft_loop *l = new_loop();
	int64_t base = weft_now() + 5 * WEFT_MSEC;

	/* Deadline of timer i: base + ((i * 37) % N) x 10 us: shuffled, distinct. */
	for (int i = 0; i < N; i++) {
		args[i] = (struct fire_arg){&o, i};
		ck_assert_int_eq(weft_timer_new(l, &tm[i], record_fire, &args[i]), 0);
		ck_assert_int_eq(weft_timer_start(tm[i], base + (i * 37 % N) * 10 * WEFT_USEC, 0),
				 0);
	}
	ck_assert_int_eq(weft_loop_run(l), 0);
	ck_assert_int_eq(o.n, N);
	for (int i = 1; i < N; i++)
		ck_assert_int_lt(o.seq[i - 1] * 37 % N, o.seq[i] * 37 % N);
	/* Close stops a timer still armed; the handles stay ours and are freed after it. */
	ck_assert_int_eq(weft_timer_start(tm[0], weft_now() + WEFT_SEC, 0), 0);
	ck_assert_int_eq(weft_loop_close(l), 0);
	ck_assert(!weft_timer_active(tm[0]));
	ck_assert_int_eq(weft_timer_start(tm[0], weft_now(), 0), -EINVAL); /* its loop is gone */
	for (int i = 0; i < N; i++)
		weft_timer_free(tm[i]);
}
END_TEST

static void never(void *arg)
{
	ck_abort_msg("callback of a timer that was never started");
}

START_TEST(timer_bad_args)
{
	weft_loop *l = new_loop();
	weft_timer *tm = (weft_timer *)0x1;

	ck_assert_int_eq(weft_timer_new(NULL, &tm, never, NULL), -EINVAL);
	ck_assert_int_eq(weft_timer_new(l, NULL, never, NULL), -EINVAL);
	ck_assert_int_eq(weft_timer_new(l, &tm, NULL, NULL), -EINVAL);
	ck_assert_ptr_eq(tm, (weft_timer *)0x1);
	ck_assert_int_eq(weft_timer_start(NULL, weft_now(), 0), -EINVAL);
	ck_assert_int_eq(weft_timer_new(l, &tm, never, NULL), 0);
	ck_assert_int_eq(weft_timer_start(tm, weft_now(), -1), -EINVAL);
	ck_assert(!weft_timer_active(tm));
	ck_assert(!weft_timer_active(NULL));
	weft_timer_stop(NULL);
	weft_timer_free(NULL);
	ck_assert_int_eq(weft_loop_run(l), 0);
	ck_assert_int_eq(weft_loop_close(l), 0);
	weft_timer_free(tm); /* after close: valid, and the leak checkers see it done */
}
END_TEST

/* ---- suite ---------------------------------------------------------------------------------- */

static Suite *time_suite(void)
{
	Suite *s = suite_create("time");
	TCase *tc;

	tc = tcase_create("clock");
	tcase_add_test(tc, now_monotonic);
	suite_add_tcase(s, tc);

	tc = tcase_create("sleep");
	tcase_add_test(tc, sleep_at_least);
	tcase_add_test(tc, sleep_zero_or_negative_yields);
	tcase_add_test(tc, sleep_until_past_yields);
	tcase_add_test(tc, sleep_outside_fiber_eperm);
	tcase_add_test(tc, sleep_interrupted);
	tcase_add_test(tc, sleepers_wake_in_deadline_order);
	tcase_add_test(tc, hundred_thousand_sleepers);
	suite_add_tcase(s, tc);

	tc = tcase_create("yield");
	tcase_add_test(tc, yield_round_robin);
	tcase_add_test(tc, yield_alone);
	suite_add_tcase(s, tc);

	tc = tcase_create("timer");
	tcase_add_test(tc, timer_one_shot);
	tcase_add_test(tc, timer_repeating);
	tcase_add_test(tc, timer_stop_before_fire);
	tcase_add_test(tc, timer_restart_earlier);
	tcase_add_test(tc, timer_restart_inside_callback);
	tcase_add_test(tc, timer_free_inside_callback);
	tcase_add_test(tc, timer_keeps_run_going);
	tcase_add_test(tc, timers_fire_in_deadline_order);
	tcase_add_test(tc, timer_bad_args);
	suite_add_tcase(s, tc);
	return s;
}

WEFT_CHECK_MAIN(time_suite)
