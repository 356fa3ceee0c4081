/* SPDX-License-Identifier: MIT */
/* Cancel scopes and deadlines: weft_scope_*, weft_deadline, weft_checkpoint. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "weft.h"

/* Generous: the point is "well before the 5 s sleep", not how fast. */
#include "timing.h"
#include "check_main.h"

static int run_main(int (*fn)(void *), void *arg)
{
	return weft_run(fn, arg, NULL);
}

/* Let @t run until it parks (it only needs one turn; the bound just avoids hanging). */
static void yield_until_parked(weft_task *t)
{
	for (int i = 0; i < 1000 && weft_task_state(t) != WEFT_TASK_PARKED; i++)
		ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_task_state(t), WEFT_TASK_PARKED);
}

/* Block the whole loop (no yield) until @when: timers can't fire meanwhile. */
static void spin_until(int64_t when)
{
	while (weft_now() < when) {
	}
}

static int join_ok(weft_task *t)
{
	int st = -1;

	ck_assert_int_eq(weft_task_join(t, &st), 0);
	return st;
}

/* ---- basics ----------------------------------------------------------------------------- */

static int m_enter_exit(void *arg)
{
	weft_scope s;
	int64_t d;

	ck_assert_int_eq(weft_deadline(), WEFT_FOREVER);
	ck_assert_int_eq(weft_checkpoint(), 0);

	ck_assert_int_eq(weft_scope_enter(&s, WEFT_FOREVER, 0), 0);
	ck_assert_int_eq(weft_deadline(), WEFT_FOREVER);
	ck_assert_int_eq(weft_checkpoint(), 0);
	ck_assert_int_eq(weft_sleep(WEFT_MSEC), 0);
	ck_assert_int_eq(weft_scope_exit(&s), 0);

	d = weft_now() + LONG_SLEEP;
	ck_assert_int_eq(weft_scope_enter(&s, d, 0), 0);
	ck_assert_int_eq(weft_deadline(), d);
	ck_assert_int_eq(weft_sleep(WEFT_MSEC), 0);
	ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_scope_exit(&s), 0);
	ck_assert_int_eq(weft_deadline(), WEFT_FOREVER);

	/* Closed already: it is no longer the innermost scope. */
	ck_assert_int_eq(weft_scope_exit(&s), -EINVAL);
	/* Cancelling a closed scope does nothing to the task. */
	weft_scope_cancel(&s);
	ck_assert_int_eq(weft_checkpoint(), 0);
	ck_assert_int_eq(weft_sleep(WEFT_MSEC), 0);
	return 0;
}

START_TEST(enter_exit)
{
	ck_assert_int_eq(run_main(m_enter_exit, NULL), 0);
}
END_TEST

static int m_bad_args(void *arg)
{
	weft_scope s, inner;

	ck_assert_int_eq(weft_scope_enter(&s, WEFT_FOREVER, 1u << 5), -EINVAL);
	ck_assert_int_eq(weft_scope_enter(&s, WEFT_FOREVER, ~0u), -EINVAL);
	ck_assert_int_eq(weft_scope_enter(NULL, WEFT_FOREVER, 0), -EINVAL);
	ck_assert_int_eq(weft_scope_exit(NULL), -EINVAL);
	weft_scope_cancel(NULL);
	/* The refused enter opened nothing. */
	ck_assert_int_eq(weft_deadline(), WEFT_FOREVER);
	ck_assert_int_eq(weft_scope_enter(&inner, WEFT_FOREVER, 0), 0);
	ck_assert_int_eq(weft_scope_exit(&inner), 0);
	return 0;
}

START_TEST(bad_flags)
{
	ck_assert_int_eq(run_main(m_bad_args, NULL), 0);
}
END_TEST

struct cb_result {
	int enter, exit, checkpoint;
	int64_t deadline;
	bool ran;
};

static void cb_outside_fiber(void *arg)
{
	struct cb_result *r = arg;
	weft_scope s;

	r->enter = weft_scope_enter(&s, WEFT_FOREVER, 0);
	r->exit = weft_scope_exit(&s);
	r->checkpoint = weft_checkpoint();
	r->deadline = weft_deadline();
	r->ran = true;
}

static int m_callback(void *arg)
{
	struct cb_result *r = arg;

	ck_assert_int_eq(weft_loop_call_soon(weft_loop_current(), cb_outside_fiber, r), 0);
	ck_assert_int_eq(weft_sleep(WEFT_MSEC), 0);
	return 0;
}

START_TEST(outside_fiber)
{
	struct cb_result r = {0};
	weft_scope s;

	/* Plain thread code. */
	ck_assert_int_eq(weft_scope_enter(&s, WEFT_FOREVER, 0), -EPERM);
	ck_assert_int_eq(weft_scope_enter(&s, weft_now() + WEFT_SEC, WEFT_SCOPE_SHIELD), -EPERM);
	ck_assert_int_eq(weft_scope_exit(&s), -EPERM);
	ck_assert_int_eq(weft_checkpoint(), -EPERM);
	ck_assert_int_eq(weft_deadline(), WEFT_FOREVER);

	/* Loop callback code: a loop, but no task. */
	ck_assert_int_eq(run_main(m_callback, &r), 0);
	ck_assert(r.ran);
	ck_assert_int_eq(r.enter, -EPERM);
	ck_assert_int_eq(r.exit, -EPERM);
	ck_assert_int_eq(r.checkpoint, -EPERM);
	ck_assert_int_eq(r.deadline, WEFT_FOREVER);
}
END_TEST

static int m_not_innermost(void *arg)
{
	weft_scope a, b;
	int64_t da = weft_now() + 2 * LONG_SLEEP, db = weft_now() + LONG_SLEEP;

	ck_assert_int_eq(weft_scope_enter(&a, da, 0), 0);
	ck_assert_int_eq(weft_scope_enter(&b, db, 0), 0);
	ck_assert_int_eq(weft_scope_exit(&a), -EINVAL);
	/* Nothing was closed: b is still innermost and still sets the deadline. */
	ck_assert_int_eq(weft_deadline(), db);
	ck_assert_int_eq(weft_scope_exit(&b), 0);
	ck_assert_int_eq(weft_deadline(), da);
	ck_assert_int_eq(weft_scope_exit(&b), -EINVAL);
	ck_assert_int_eq(weft_deadline(), da);
	ck_assert_int_eq(weft_scope_exit(&a), 0);
	ck_assert_int_eq(weft_deadline(), WEFT_FOREVER);
	return 0;
}

START_TEST(exit_not_innermost)
{
	ck_assert_int_eq(run_main(m_not_innermost, NULL), 0);
}
END_TEST

/* ---- deadlines -------------------------------------------------------------------------- */

static int m_sleep_times_out(void *arg)
{
	weft_scope s;
	int64_t t0 = weft_now(), d = t0 + 20 * WEFT_MSEC;

	ck_assert_int_eq(weft_scope_enter(&s, d, 0), 0);
	ck_assert_int_eq(weft_sleep(LONG_SLEEP), -ETIMEDOUT);
	/* Not before the deadline, and well before the 5 s. */
	ck_assert_int_ge(weft_now(), d);
	ck_assert_int_lt(weft_now() - t0, WELL_BEFORE);
	/* Sticky until the scope is exited. */
	ck_assert_int_eq(weft_checkpoint(), -ETIMEDOUT);
	ck_assert_int_eq(weft_yield(), -ETIMEDOUT);
	ck_assert_int_eq(weft_sleep(WEFT_MSEC), -ETIMEDOUT);
	ck_assert_int_eq(weft_scope_exit(&s), -ETIMEDOUT);
	ck_assert_int_eq(weft_checkpoint(), 0);
	ck_assert_int_eq(weft_sleep(WEFT_MSEC), 0);
	return 0;
}

START_TEST(sleep_times_out)
{
	ck_assert_int_eq(run_main(m_sleep_times_out, NULL), 0);
}
END_TEST

static int m_exit_reports_own_deadline(void *arg)
{
	weft_scope s;
	int64_t d = weft_now() + 10 * WEFT_MSEC;

	/* Passed without any blocking call inside: nothing was caught (trio's cancelled_caught),
	 * but the scope knows its deadline came (cancel_called). */
	ck_assert_int_eq(weft_scope_enter(&s, d, 0), 0);
	spin_until(d + WEFT_MSEC);
	ck_assert(weft_scope_cancel_called(&s));
	ck_assert_int_eq(weft_scope_exit(&s), 0);
	ck_assert(!weft_scope_cancelled_caught(&s));

	/* A checkpoint inside that sees it: caught. */
	d = weft_now() + 10 * WEFT_MSEC;
	ck_assert_int_eq(weft_scope_enter(&s, d, 0), 0);
	spin_until(d + WEFT_MSEC);
	ck_assert_int_eq(weft_checkpoint(), -ETIMEDOUT);
	ck_assert_int_eq(weft_scope_exit(&s), -ETIMEDOUT);
	ck_assert(weft_scope_cancelled_caught(&s));
	ck_assert(weft_scope_cancel_called(&s));

	/* Not passed: 0. */
	ck_assert_int_eq(weft_scope_enter(&s, weft_now() + LONG_SLEEP, 0), 0);
	ck_assert_int_eq(weft_sleep(WEFT_MSEC), 0);
	ck_assert_int_eq(weft_scope_exit(&s), 0);
	return 0;
}

START_TEST(exit_reports_own_deadline)
{
	ck_assert_int_eq(run_main(m_exit_reports_own_deadline, NULL), 0);
}
END_TEST

static int m_nested_outer_earlier(void *arg)
{
	weft_scope outer, inner;
	int64_t t0 = weft_now(), d_out = t0 + 20 * WEFT_MSEC, d_in = t0 + LONG_SLEEP;

	ck_assert_int_eq(weft_scope_enter(&outer, d_out, 0), 0);
	ck_assert_int_eq(weft_scope_enter(&inner, d_in, 0), 0);
	ck_assert_int_eq(weft_deadline(), d_out);
	ck_assert_int_eq(weft_sleep(LONG_SLEEP), -ETIMEDOUT);
	ck_assert_int_lt(weft_now() - t0, WELL_BEFORE);
	/* The inner scope's own deadline has not passed: it reports nothing. */
	ck_assert_int_eq(weft_scope_exit(&inner), 0);
	ck_assert_int_eq(weft_checkpoint(), -ETIMEDOUT);
	ck_assert_int_eq(weft_scope_exit(&outer), -ETIMEDOUT);
	ck_assert_int_eq(weft_checkpoint(), 0);
	return 0;
}

START_TEST(nested_outer_earlier)
{
	ck_assert_int_eq(run_main(m_nested_outer_earlier, NULL), 0);
}
END_TEST

static int m_nested_inner_earlier(void *arg)
{
	weft_scope outer, inner;
	int64_t t0 = weft_now(), d_out = t0 + LONG_SLEEP, d_in = t0 + 20 * WEFT_MSEC;

	ck_assert_int_eq(weft_scope_enter(&outer, d_out, 0), 0);
	ck_assert_int_eq(weft_deadline(), d_out);
	ck_assert_int_eq(weft_scope_enter(&inner, d_in, 0), 0);
	ck_assert_int_eq(weft_deadline(), d_in);
	ck_assert_int_eq(weft_sleep(LONG_SLEEP), -ETIMEDOUT);
	ck_assert_int_lt(weft_now() - t0, WELL_BEFORE);
	ck_assert_int_eq(weft_scope_exit(&inner), -ETIMEDOUT);
	/* Back under the outer deadline only, which is far away. */
	ck_assert_int_eq(weft_deadline(), d_out);
	ck_assert_int_eq(weft_checkpoint(), 0);
	ck_assert_int_eq(weft_sleep(WEFT_MSEC), 0);
	ck_assert_int_eq(weft_scope_exit(&outer), 0);
	return 0;
}

START_TEST(nested_inner_earlier)
{
	ck_assert_int_eq(run_main(m_nested_inner_earlier, NULL), 0);
}
END_TEST

static int short_child(void *arg)
{
	return weft_sleep(WEFT_MSEC);
}

static int m_deadline_already_past(void *arg)
{
	weft_scope s;
	weft_task *child;
	int64_t t0 = weft_now();

	ck_assert_int_eq(weft_task_spawn(&child, short_child, NULL, NULL), 0);
	ck_assert_int_eq(weft_scope_enter(&s, t0 - 1, 0), 0);
	ck_assert_int_eq(weft_deadline(), t0 - 1);
	ck_assert_int_eq(weft_checkpoint(), -ETIMEDOUT);
	ck_assert_int_eq(weft_sleep(LONG_SLEEP), -ETIMEDOUT);
	ck_assert_int_eq(weft_sleep_until(weft_now() + LONG_SLEEP), -ETIMEDOUT);
	ck_assert_int_eq(weft_yield(), -ETIMEDOUT);
	/* The child has not finished (it has not even run): join must not block either. */
	ck_assert_int_eq(weft_task_join(child, NULL), -ETIMEDOUT);
	ck_assert_int_lt(weft_now() - t0, WELL_BEFORE);
	ck_assert_int_eq(weft_scope_exit(&s), -ETIMEDOUT);
	/* The handle is still ours. */
	ck_assert_int_eq(join_ok(child), 0);
	return 0;
}

START_TEST(deadline_already_past)
{
	ck_assert_int_eq(run_main(m_deadline_already_past, NULL), 0);
}
END_TEST

/* ---- shields ---------------------------------------------------------------------------- */

static int m_shield_hides_deadline(void *arg)
{
	weft_scope outer, shield, inner;
	int64_t t0 = weft_now(), d = t0 + 20 * WEFT_MSEC;

	ck_assert_int_eq(weft_scope_enter(&outer, d, 0), 0);
	ck_assert_int_eq(weft_scope_enter(&shield, WEFT_FOREVER, WEFT_SCOPE_SHIELD), 0);
	ck_assert_int_eq(weft_deadline(), WEFT_FOREVER);
	/* Sleeps past the outer deadline untouched. */
	ck_assert_int_eq(weft_sleep(40 * WEFT_MSEC), 0);
	ck_assert_int_ge(weft_now(), d);
	ck_assert_int_eq(weft_checkpoint(), 0);
	/* A scope inside the shield nests under the shield, not under the outer deadline. */
	ck_assert_int_eq(weft_scope_enter(&inner, WEFT_FOREVER, 0), 0);
	ck_assert_int_eq(weft_deadline(), WEFT_FOREVER);
	ck_assert_int_eq(weft_sleep(WEFT_MSEC), 0);
	ck_assert_int_eq(weft_scope_exit(&inner), 0);
	ck_assert_int_eq(weft_scope_exit(&shield), 0);
	/* Out of the shield: the outer deadline shows at once. */
	ck_assert_int_eq(weft_deadline(), d);
	ck_assert_int_eq(weft_checkpoint(), -ETIMEDOUT);
	ck_assert_int_eq(weft_yield(), -ETIMEDOUT);
	ck_assert_int_eq(weft_scope_exit(&outer), -ETIMEDOUT);
	return 0;
}

START_TEST(shield_hides_outer_deadline)
{
	ck_assert_int_eq(run_main(m_shield_hides_deadline, NULL), 0);
}
END_TEST

static int m_shield_own_deadline(void *arg)
{
	weft_scope outer, shield;
	int64_t t0 = weft_now(), d_out = t0 + 10 * WEFT_MSEC, d_sh = t0 + 40 * WEFT_MSEC;

	/* A shield's own deadline still applies; the earlier outer one does not. */
	ck_assert_int_eq(weft_scope_enter(&outer, d_out, 0), 0);
	ck_assert_int_eq(weft_scope_enter(&shield, d_sh, WEFT_SCOPE_SHIELD), 0);
	ck_assert_int_eq(weft_deadline(), d_sh);
	ck_assert_int_eq(weft_sleep(LONG_SLEEP), -ETIMEDOUT);
	ck_assert_int_ge(weft_now(), d_sh);
	ck_assert_int_lt(weft_now() - t0, WELL_BEFORE);
	ck_assert_int_eq(weft_scope_exit(&shield), -ETIMEDOUT);
	/* The outer deadline passed too, but the shield caught what the sleep got. */
	ck_assert(weft_scope_cancel_called(&outer));
	ck_assert_int_eq(weft_scope_exit(&outer), 0);
	return 0;
}

START_TEST(shield_own_deadline)
{
	ck_assert_int_eq(run_main(m_shield_own_deadline, NULL), 0);
}
END_TEST

struct shielded {
	int r_sleep, ck_in, exit_r, ck_after, r_after;
	bool cancelled_in;
	int64_t slept;
};

static int shielded_fn(void *arg)
{
	struct shielded *x = arg;
	weft_scope s;
	int64_t t0;

	ck_assert_int_eq(weft_scope_enter(&s, WEFT_FOREVER, WEFT_SCOPE_SHIELD), 0);
	t0 = weft_now();
	x->r_sleep = weft_sleep(60 * WEFT_MSEC);
	x->slept = weft_now() - t0;
	x->ck_in = weft_checkpoint();
	x->cancelled_in = weft_task_cancelled(weft_task_current());
	x->exit_r = weft_scope_exit(&s);
	x->ck_after = weft_checkpoint();
	x->r_after = weft_sleep(WEFT_MSEC);
	return 7;
}

static int m_shield_hides_cancel(void *arg)
{
	struct shielded x = {0};
	weft_task *t;

	ck_assert_int_eq(weft_task_spawn(&t, shielded_fn, &x, NULL), 0);
	yield_until_parked(t);
	ck_assert_int_eq(weft_task_cancel(t), 0);
	ck_assert(weft_task_cancelled(t));
	ck_assert_int_eq(join_ok(t), 7);
	/* Kept sleeping its full time, then the cancel showed once out of the shield. */
	ck_assert_int_eq(x.r_sleep, 0);
	ck_assert_int_ge(x.slept, 60 * WEFT_MSEC);
	ck_assert_int_eq(x.ck_in, 0);
	ck_assert(x.cancelled_in);
	ck_assert_int_eq(x.exit_r, 0);
	ck_assert_int_eq(x.ck_after, -ECANCELED);
	ck_assert_int_eq(x.r_after, -ECANCELED);
	return 0;
}

START_TEST(shield_hides_task_cancel)
{
	ck_assert_int_eq(run_main(m_shield_hides_cancel, NULL), 0);
}
END_TEST

struct scoped {
	weft_scope *scope;
	int r, exit_r, r_after, shield_exit;
	bool self_cancelled;
	int64_t took;
};

static int scope_sleeper(void *arg)
{
	struct scoped *x = arg;
	weft_scope s;
	int64_t t0 = weft_now();

	ck_assert_int_eq(weft_scope_enter(&s, WEFT_FOREVER, 0), 0);
	x->scope = &s;
	x->r = weft_sleep(LONG_SLEEP);
	x->took = weft_now() - t0;
	x->scope = NULL;
	x->exit_r = weft_scope_exit(&s);
	x->self_cancelled = weft_task_cancelled(weft_task_current());
	x->r_after = weft_sleep(WEFT_MSEC);
	return 0;
}

static int m_scope_cancel_other(void *arg)
{
	struct scoped x = {0};
	weft_task *t;

	ck_assert_int_eq(weft_task_spawn(&t, scope_sleeper, &x, NULL), 0);
	yield_until_parked(t);
	ck_assert_ptr_nonnull(x.scope);
	weft_scope_cancel(x.scope);
	ck_assert_int_eq(join_ok(t), 0);
	ck_assert_int_eq(x.r, -ECANCELED);
	ck_assert_int_lt(x.took, WELL_BEFORE);
	ck_assert_int_eq(x.exit_r, -ECANCELED);
	/* Only the scope was cancelled, not the task: it goes on normally after the exit. */
	ck_assert(!x.self_cancelled);
	ck_assert_int_eq(x.r_after, 0);
	return 0;
}

START_TEST(scope_cancel_from_other_task)
{
	ck_assert_int_eq(run_main(m_scope_cancel_other, NULL), 0);
}
END_TEST

static void cb_scope_cancel(void *arg)
{
	struct scoped *x = arg;

	weft_scope_cancel(x->scope);
}

static int m_scope_cancel_callback(void *arg)
{
	struct scoped x = {0};
	weft_task *t;

	ck_assert_int_eq(weft_task_spawn(&t, scope_sleeper, &x, NULL), 0);
	yield_until_parked(t);
	ck_assert_int_eq(weft_loop_call_soon(weft_loop_current(), cb_scope_cancel, &x), 0);
	ck_assert_int_eq(join_ok(t), 0);
	ck_assert_int_eq(x.r, -ECANCELED);
	ck_assert_int_lt(x.took, WELL_BEFORE);
	ck_assert_int_eq(x.exit_r, -ECANCELED);
	ck_assert_int_eq(x.r_after, 0);
	return 0;
}

START_TEST(scope_cancel_from_callback)
{
	ck_assert_int_eq(run_main(m_scope_cancel_callback, NULL), 0);
}
END_TEST

static int m_scope_cancel_self(void *arg)
{
	weft_scope outer, s;
	int64_t t0 = weft_now();

	ck_assert_int_eq(weft_scope_enter(&outer, WEFT_FOREVER, 0), 0);
	ck_assert_int_eq(weft_scope_enter(&s, WEFT_FOREVER, 0), 0);
	weft_scope_cancel(&s);
	weft_scope_cancel(&s); /* twice is harmless */
	ck_assert_int_eq(weft_checkpoint(), -ECANCELED);
	ck_assert_int_eq(weft_sleep(LONG_SLEEP), -ECANCELED);
	ck_assert_int_eq(weft_yield(), -ECANCELED);
	ck_assert_int_lt(weft_now() - t0, WELL_BEFORE);
	ck_assert_int_eq(weft_scope_exit(&s), -ECANCELED);
	/* The outer scope is untouched. */
	ck_assert_int_eq(weft_checkpoint(), 0);
	ck_assert_int_eq(weft_sleep(WEFT_MSEC), 0);
	ck_assert_int_eq(weft_scope_exit(&outer), 0);
	return 0;
}

START_TEST(scope_cancel_self)
{
	ck_assert_int_eq(run_main(m_scope_cancel_self, NULL), 0);
}
END_TEST

static int shield_in_cancelled_scope(void *arg)
{
	struct scoped *x = arg;
	weft_scope s, sh;

	ck_assert_int_eq(weft_scope_enter(&s, WEFT_FOREVER, 0), 0);
	ck_assert_int_eq(weft_scope_enter(&sh, WEFT_FOREVER, WEFT_SCOPE_SHIELD), 0);
	x->scope = &s;
	x->r = weft_sleep(30 * WEFT_MSEC);
	x->shield_exit = weft_scope_exit(&sh);
	x->r_after = weft_sleep(LONG_SLEEP);
	x->exit_r = weft_scope_exit(&s);
	return 0;
}

static int m_scope_cancel_shielded(void *arg)
{
	struct scoped x = {0};
	weft_task *t;

	ck_assert_int_eq(weft_task_spawn(&t, shield_in_cancelled_scope, &x, NULL), 0);
	yield_until_parked(t);
	weft_scope_cancel(x.scope);
	ck_assert_int_eq(join_ok(t), 0);
	ck_assert_int_eq(x.r, 0);
	ck_assert_int_eq(x.shield_exit, 0);
	ck_assert_int_eq(x.r_after, -ECANCELED);
	ck_assert_int_eq(x.exit_r, -ECANCELED);
	return 0;
}

START_TEST(scope_cancel_hidden_by_inner_shield)
{
	ck_assert_int_eq(run_main(m_scope_cancel_shielded, NULL), 0);
}
END_TEST

/* ---- cancel vs deadline ----------------------------------------------------------------- */

struct tie {
	weft_task *a;
	weft_scope s, cs; /* the sleeper's scope; the canceller's */
	int r, exit_r, ck;
	bool called;
};

/* Parks in a scope without a deadline: the main task gives it one in the past once it is parked
 * (weft_scope_reschedule), so the order of events never depends on the machine's speed. */
static int tie_sleeper(void *arg)
{
	struct tie *x = arg;

	ck_assert_int_eq(weft_scope_enter(&x->s, WEFT_FOREVER, 0), 0);
	x->r = weft_sleep(LONG_SLEEP);
	x->ck = weft_checkpoint();
	x->called = weft_scope_cancel_called(&x->s);
	x->exit_r = weft_scope_exit(&x->s);
	return 0;
}

/* Both hit while the sleeper is parked: the cancel first, then the deadline timer. */
static int m_tie_cancel_first(void *arg)
{
	struct tie x = {0};

	ck_assert_int_eq(weft_task_spawn(&x.a, tie_sleeper, &x, NULL), 0);
	yield_until_parked(x.a);
	ck_assert_int_eq(weft_scope_reschedule(&x.s, weft_now() - 1), 0); /* fires next turn */
	ck_assert_int_eq(weft_task_cancel(x.a), 0);
	ck_assert_int_eq(join_ok(x.a), 0);
	ck_assert_int_eq(x.r, -ECANCELED);
	ck_assert_int_eq(x.ck, -ECANCELED);
	/* The task-wide cancel is beyond the scope: the scope did not catch it, though its
	 * deadline passed (cancel_called). */
	ck_assert_int_eq(x.exit_r, 0);
	ck_assert(x.called);
	return 0;
}

START_TEST(cancel_wins_tie_cancel_first)
{
	ck_assert_int_eq(run_main(m_tie_cancel_first, NULL), 0);
}
END_TEST

/* Parked in a scope of its own; when that times out, it cancels the sleeper. */
static int tie_canceller(void *arg)
{
	struct tie *x = arg;

	ck_assert_int_eq(weft_scope_enter(&x->cs, WEFT_FOREVER, 0), 0);
	ck_assert_int_eq(weft_sleep(LONG_SLEEP), -ETIMEDOUT);
	weft_scope_exit(&x->cs);
	return weft_task_cancel(x->a);
}

static int m_tie_deadline_first(void *arg)
{
	struct tie x = {0};
	weft_task *c;
	int64_t now;

	ck_assert_int_eq(weft_task_spawn(&x.a, tie_sleeper, &x, NULL), 0);
	ck_assert_int_eq(weft_task_spawn(&c, tie_canceller, &x, NULL), 0);
	yield_until_parked(x.a);
	yield_until_parked(c);
	/* Both deadlines in the past, the canceller's first: both timers fire in the next turn in
	 * that order, so the canceller runs after the deadline has interrupted the sleeper but
	 * before the sleeper runs. */
	now = weft_now();
	ck_assert_int_eq(weft_scope_reschedule(&x.cs, now - 2), 0);
	ck_assert_int_eq(weft_scope_reschedule(&x.s, now - 1), 0);
	ck_assert_int_eq(join_ok(c), 0);
	ck_assert_int_eq(join_ok(x.a), 0);
	ck_assert_int_eq(x.r, -ECANCELED);
	ck_assert_int_eq(x.ck, -ECANCELED);
	ck_assert_int_eq(x.exit_r, 0);
	ck_assert(x.called);
	return 0;
}

START_TEST(cancel_wins_tie_deadline_first)
{
	ck_assert_int_eq(run_main(m_tie_deadline_first, NULL), 0);
}
END_TEST

/* ---- changing a scope after entry ------------------------------------------------------- */

struct resched {
	weft_scope s;
	int64_t deadline;
	weft_event *ev;
	int r, exit_r;
	bool caught, entered;
};

/* Wait for the event inside a scope the main task changes while we are parked. */
static int resched_waiter(void *arg)
{
	struct resched *x = arg;

	ck_assert_int_eq(weft_scope_enter(&x->s, x->deadline, 0), 0);
	x->entered = true;
	x->r = weft_event_wait(x->ev);
	x->exit_r = weft_scope_exit(&x->s);
	x->caught = weft_scope_cancelled_caught(&x->s);
	return 0;
}

static int m_reschedule(void *arg)
{
	struct resched x = {.deadline = WEFT_FOREVER};
	weft_task *t;

	/* Earlier: a parked call follows at once. */
	ck_assert_int_eq(weft_event_new(NULL, &x.ev), 0);
	ck_assert_int_eq(weft_task_spawn(&t, resched_waiter, &x, NULL), 0);
	yield_until_parked(t);
	ck_assert_int_eq(weft_scope_deadline(&x.s), WEFT_FOREVER);
	ck_assert_int_eq(weft_scope_reschedule(&x.s, weft_now() + WEFT_MSEC), 0);
	ck_assert_int_eq(join_ok(t), 0);
	ck_assert_int_eq(x.r, -ETIMEDOUT);
	ck_assert_int_eq(x.exit_r, -ETIMEDOUT);
	ck_assert(x.caught);
	ck_assert_int_eq(weft_scope_reschedule(&x.s, WEFT_FOREVER), -EINVAL); /* closed */

	/* Later (here: none): the old deadline passes and nothing happens. */
	x = (struct resched){.deadline = weft_now() + 300 * WEFT_MSEC, .ev = x.ev};
	ck_assert_int_eq(weft_task_spawn(&t, resched_waiter, &x, NULL), 0);
	yield_until_parked(t);
	ck_assert_int_eq(weft_scope_reschedule(&x.s, WEFT_FOREVER), 0);
	ck_assert_int_eq(weft_sleep_until(x.deadline + 20 * WEFT_MSEC), 0);
	ck_assert_int_eq(weft_task_state(t), WEFT_TASK_PARKED);
	weft_event_set(x.ev);
	ck_assert_int_eq(join_ok(t), 0);
	ck_assert_int_eq(x.r, 0);
	ck_assert_int_eq(x.exit_r, 0);
	ck_assert_int_eq(weft_scope_reschedule(NULL, 0), -EINVAL);
	ck_assert_int_eq(weft_event_free(x.ev), 0);
	return 0;
}

START_TEST(scope_reschedule)
{
	ck_assert_int_eq(run_main(m_reschedule, NULL), 0);
}
END_TEST

/* Inside a cancelled outer scope, parked in a shield the main task then lowers. */
static int shield_waiter(void *arg)
{
	struct resched *x = arg;
	weft_scope outer;

	ck_assert_int_eq(weft_scope_enter(&outer, WEFT_FOREVER, 0), 0);
	weft_scope_cancel(&outer);
	ck_assert_int_eq(weft_scope_enter(&x->s, WEFT_FOREVER, WEFT_SCOPE_SHIELD), 0);
	x->entered = true;
	x->r = weft_event_wait(x->ev);
	x->exit_r = weft_scope_exit(&x->s);
	ck_assert_int_eq(weft_scope_exit(&outer), -ECANCELED); /* the outer one caught it */
	return 0;
}

static int m_shield_toggle(void *arg)
{
	struct resched x = {0};
	weft_task *t;

	ck_assert_int_eq(weft_event_new(NULL, &x.ev), 0);
	ck_assert_int_eq(weft_task_spawn(&t, shield_waiter, &x, NULL), 0);
	yield_until_parked(t);
	ck_assert_int_eq(weft_scope_shield(&x.s, true), 0); /* already: no change */
	ck_assert_int_eq(weft_task_state(t), WEFT_TASK_PARKED);
	ck_assert_int_eq(weft_scope_shield(&x.s, false), 0); /* the outer cancel gets in */
	ck_assert_int_eq(join_ok(t), 0);
	ck_assert_int_eq(x.r, -ECANCELED);
	ck_assert_int_eq(x.exit_r, 0);
	ck_assert(!weft_scope_cancel_called(&x.s));
	ck_assert_int_eq(weft_scope_shield(NULL, true), -EINVAL);
	ck_assert_int_eq(weft_event_free(x.ev), 0);
	return 0;
}

START_TEST(scope_shield_toggle)
{
	ck_assert_int_eq(run_main(m_shield_toggle, NULL), 0);
}
END_TEST

static int m_checkpoint_values(void *arg)
{
	weft_scope s;

	ck_assert_int_eq(weft_checkpoint(), 0);
	ck_assert_int_eq(weft_scope_enter(&s, weft_now() - 1, 0), 0);
	ck_assert_int_eq(weft_checkpoint(), -ETIMEDOUT);
	ck_assert_int_eq(weft_task_cancel(weft_task_current()), 0);
	/* Both apply: cancel wins. */
	ck_assert_int_eq(weft_checkpoint(), -ECANCELED);
	ck_assert_int_eq(weft_sleep(WEFT_MSEC), -ECANCELED);
	ck_assert_int_eq(weft_scope_exit(&s), -ETIMEDOUT);
	ck_assert_int_eq(weft_checkpoint(), -ECANCELED);
	return 0;
}

struct finish_and_cancel {
	weft_event *ev;
	weft_scope *scope;
};

static int wait_event(void *arg)
{
	return weft_event_wait(arg) ? -1 : 42;
}

/* Lets the joined task finish and cancels the joiner's scope in the same turn. */
static int finish_then_cancel(void *arg)
{
	struct finish_and_cancel *fc = arg;

	weft_event_set(fc->ev);
	weft_scope_cancel(fc->scope);
	return 0;
}

/* The join is interrupted, but the task returned meanwhile: the join returns 0 with its result,
 * so the scope caught nothing (it said -ECANCELED: the park had marked it). */
static int m_join_result_not_caught(void *arg)
{
	struct finish_and_cancel fc;
	weft_task *t, *x;
	weft_scope s;
	int st = 0;

	ck_assert_int_eq(weft_event_new(NULL, &fc.ev), 0);
	fc.scope = &s;
	ck_assert_int_eq(weft_task_spawn(&t, wait_event, fc.ev, NULL), 0);
	ck_assert_int_eq(weft_task_spawn(&x, finish_then_cancel, &fc, NULL), 0);
	ck_assert_int_eq(weft_scope_enter(&s, WEFT_FOREVER, 0), 0);
	ck_assert_int_eq(weft_task_join(t, &st), 0);
	ck_assert_int_eq(st, 42);
	ck_assert(weft_scope_cancel_called(&s));
	ck_assert(!weft_scope_cancelled_caught(&s));
	ck_assert_int_eq(weft_scope_exit(&s), 0);
	ck_assert_int_eq(join_ok(x), 0);
	ck_assert_int_eq(weft_event_free(fc.ev), 0);
	return 0;
}

START_TEST(scope_join_result_not_caught)
{
	ck_assert_int_eq(run_main(m_join_result_not_caught, NULL), 0);
}
END_TEST

struct read_race {
	weft_file *f;
	int wfd;
	weft_scope *scope;
	ssize_t n;
	int exit_r;
};

static int scoped_read(void *arg)
{
	struct read_race *rr = arg;
	weft_scope s;
	char buf[8];

	ck_assert_int_eq(weft_scope_enter(&s, WEFT_FOREVER, 0), 0);
	rr->scope = &s;
	rr->n = weft_file_read(rr->f, buf, sizeof(buf));
	rr->exit_r = weft_scope_exit(&s);
	return 0;
}

/* Data arrives and the reader's scope is cancelled in the same turn: the read may return the
 * data or -ECANCELED (backend and kernel decide), and the scope caught the cancellation only in
 * the second case (it said -ECANCELED also when the read returned the data). */
static int m_read_result_not_caught(void *arg)
{
	struct read_race rr = {0};
	weft_task *t;
	int p[2];

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(weft_file_from_fd(&rr.f, p[0]), 0);
	ck_assert_int_eq(weft_task_spawn(&t, scoped_read, &rr, NULL), 0);
	yield_until_parked(t);
	ck_assert_int_eq(write(p[1], "hi", 2), 2);
	weft_scope_cancel(rr.scope);
	ck_assert_int_eq(join_ok(t), 0);
	if (rr.n == 2)
		ck_assert_int_eq(rr.exit_r, 0);
	else
		ck_assert_int_eq(rr.exit_r, -ECANCELED);
	ck_assert_int_eq(weft_file_close(rr.f), 0);
	close(p[1]);
	return 0;
}

START_TEST(scope_read_result_not_caught)
{
	ck_assert_int_eq(run_main(m_read_result_not_caught, NULL), 0);
}
END_TEST

START_TEST(checkpoint_values)
{
	ck_assert_int_eq(run_main(m_checkpoint_values, NULL), 0);
}
END_TEST

static Suite *scope_suite(void)
{
	Suite *s = suite_create("scope");
	TCase *tc;

	tc = tcase_create("basics");
	tcase_add_test(tc, enter_exit);
	tcase_add_test(tc, bad_flags);
	tcase_add_test(tc, outside_fiber);
	tcase_add_test(tc, exit_not_innermost);
	tcase_add_test(tc, checkpoint_values);
	suite_add_tcase(s, tc);

	tc = tcase_create("deadline");
	tcase_add_test(tc, sleep_times_out);
	tcase_add_test(tc, exit_reports_own_deadline);
	tcase_add_test(tc, nested_outer_earlier);
	tcase_add_test(tc, nested_inner_earlier);
	tcase_add_test(tc, deadline_already_past);
	suite_add_tcase(s, tc);

	tc = tcase_create("shield");
	tcase_add_test(tc, shield_hides_outer_deadline);
	tcase_add_test(tc, shield_own_deadline);
	tcase_add_test(tc, shield_hides_task_cancel);
	tcase_add_test(tc, scope_cancel_hidden_by_inner_shield);
	suite_add_tcase(s, tc);

	tc = tcase_create("cancel");
	tcase_add_test(tc, scope_cancel_from_other_task);
	tcase_add_test(tc, scope_cancel_from_callback);
	tcase_add_test(tc, scope_cancel_self);
	tcase_add_test(tc, cancel_wins_tie_cancel_first);
	tcase_add_test(tc, cancel_wins_tie_deadline_first);
	tcase_add_test(tc, scope_reschedule);
	tcase_add_test(tc, scope_shield_toggle);
	tcase_add_test(tc, scope_join_result_not_caught);
	tcase_add_test(tc, scope_read_result_not_caught);
	suite_add_tcase(s, tc);
	return s;
}

WEFT_CHECK_MAIN(scope_suite)
