/* SPDX-License-Identifier: MIT */
/* Waiting on many tasks: gather, wait, as_completed, wait_for, join shields, task groups. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "weft.h"

#include "timing.h"
#include "check_main.h"

static int run_main(int (*fn)(void *), void *arg)
{
	return weft_run(fn, arg, NULL);
}

/* A child: sleep @ms, then return @ret (or what the sleep returned, if it failed). */
struct job {
	int64_t ms;
	int ret;
	int slept; /* 1 until the sleep returns */
	bool finished;
};

static int job_fn(void *arg)
{
	struct job *j = arg;

	j->slept = weft_sleep(j->ms * WEFT_MSEC);
	j->finished = true;
	return j->slept ? j->slept : j->ret;
}

static void job_set(struct job *j, int64_t ms, int ret)
{
	*j = (struct job){.ms = ms, .ret = ret, .slept = 1};
}

static void spawn_jobs(weft_task **tasks, struct job *jobs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(weft_task_spawn(&tasks[i], job_fn, &jobs[i], NULL), 0);
}

static int join_ok(weft_task *t)
{
	int st = -12345;

	ck_assert_int_eq(weft_task_join(t, &st), 0);
	return st;
}

static void yield_until_parked(weft_task *t)
{
	for (int i = 0; i < 1000 && weft_task_state(t) != WEFT_TASK_PARKED; i++)
		ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_task_state(t), WEFT_TASK_PARKED);
}

/* ---- gather ----------------------------------------------------------------------------- */

static int m_gather_ok(void *arg)
{
	struct job jobs[3];
	weft_task *t[3];
	int st[3] = {-1, -1, -1};

	job_set(&jobs[0], 20, 1);
	job_set(&jobs[1], 5, 2);
	job_set(&jobs[2], 10, 3);
	spawn_jobs(t, jobs, 3);
	ck_assert_int_eq(weft_tasks_gather(t, 3, st, 0), 0);
	/* In argument order, not completion order. */
	ck_assert_int_eq(st[0], 1);
	ck_assert_int_eq(st[1], 2);
	ck_assert_int_eq(st[2], 3);
	for (int i = 0; i < 3; i++)
		ck_assert(jobs[i].finished);

	/* NULL statuses is fine too. */
	spawn_jobs(t, jobs, 3);
	ck_assert_int_eq(weft_tasks_gather(t, 3, NULL, 0), 0);
	return 0;
}

START_TEST(gather_statuses_in_order)
{
	ck_assert_int_eq(run_main(m_gather_ok, NULL), 0);
}
END_TEST

static int m_gather_first_failure(void *arg)
{
	struct job jobs[4];
	weft_task *t[4];
	int st[4];

	job_set(&jobs[0], 40, -EIO);	/* fails last */
	job_set(&jobs[1], 10, -ENOENT); /* fails first */
	job_set(&jobs[2], 5, 5);
	job_set(&jobs[3], 20, -EPIPE);
	spawn_jobs(t, jobs, 4);
	ck_assert_int_eq(weft_tasks_gather(t, 4, st, 0), -ENOENT);
	/* Without FAIL_FAST every task ran to its end. */
	ck_assert_int_eq(st[0], -EIO);
	ck_assert_int_eq(st[1], -ENOENT);
	ck_assert_int_eq(st[2], 5);
	ck_assert_int_eq(st[3], -EPIPE);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(jobs[i].slept, 0);
	return 0;
}

START_TEST(gather_first_failure_in_completion_order)
{
	ck_assert_int_eq(run_main(m_gather_first_failure, NULL), 0);
}
END_TEST

static int m_gather_fail_fast(void *arg)
{
	struct job jobs[4];
	weft_task *t[4];
	int st[4];
	int64_t t0 = weft_now();

	job_set(&jobs[0], 5000, 1);
	job_set(&jobs[1], 10, -EIO);
	job_set(&jobs[2], 5000, 3);
	job_set(&jobs[3], 1, 4); /* done before the failure: keeps its status */
	spawn_jobs(t, jobs, 4);
	ck_assert_int_eq(weft_tasks_gather(t, 4, st, WEFT_GATHER_FAIL_FAST), -EIO);
	ck_assert_int_lt(weft_now() - t0, WELL_BEFORE);
	ck_assert_int_eq(st[0], -ECANCELED);
	ck_assert_int_eq(st[1], -EIO);
	ck_assert_int_eq(st[2], -ECANCELED);
	ck_assert_int_eq(st[3], 4);
	/* The cancelled ones were waited for: they have returned. */
	ck_assert(jobs[0].finished && jobs[2].finished);
	ck_assert_int_eq(jobs[0].slept, -ECANCELED);
	return 0;
}

START_TEST(gather_fail_fast)
{
	ck_assert_int_eq(run_main(m_gather_fail_fast, NULL), 0);
}
END_TEST

struct gatherer {
	struct job jobs[3];
	int st[3];
	int r;
	int64_t deadline; /* WEFT_FOREVER: no scope */
	int exit_r;
};

static int gatherer_fn(void *arg)
{
	struct gatherer *g = arg;
	weft_task *t[3];
	weft_scope s;

	for (int i = 0; i < 3; i++)
		job_set(&g->jobs[i], 5000, i);
	spawn_jobs(t, g->jobs, 3);
	if (g->deadline != WEFT_FOREVER)
		ck_assert_int_eq(weft_scope_enter(&s, g->deadline, 0), 0);
	g->r = weft_tasks_gather(t, 3, g->st, 0);
	if (g->deadline != WEFT_FOREVER)
		g->exit_r = weft_scope_exit(&s);
	return g->r;
}

static int m_gather_cancelled(void *arg)
{
	struct gatherer g = {.deadline = WEFT_FOREVER};
	weft_task *t;
	int64_t t0 = weft_now();

	ck_assert_int_eq(weft_task_spawn(&t, gatherer_fn, &g, NULL), 0);
	yield_until_parked(t);
	/* Let the children start, so "waited for" shows as their having returned. */
	ck_assert_int_eq(weft_sleep(WEFT_MSEC), 0);
	ck_assert_int_eq(weft_task_cancel(t), 0);
	ck_assert_int_eq(join_ok(t), -ECANCELED);
	ck_assert_int_lt(weft_now() - t0, WELL_BEFORE);
	for (int i = 0; i < 3; i++) {
		ck_assert(g.jobs[i].finished);
		ck_assert_int_eq(g.st[i], -ECANCELED);
	}
	return 0;
}

START_TEST(gather_caller_cancelled)
{
	ck_assert_int_eq(run_main(m_gather_cancelled, NULL), 0);
}
END_TEST

static int m_gather_deadline(void *arg)
{
	struct gatherer g = {.deadline = weft_now() + 20 * WEFT_MSEC};
	int64_t t0 = weft_now();

	ck_assert_int_eq(gatherer_fn(&g), -ETIMEDOUT);
	ck_assert_int_ge(weft_now(), g.deadline);
	ck_assert_int_lt(weft_now() - t0, WELL_BEFORE);
	ck_assert_int_eq(g.exit_r, -ETIMEDOUT);
	for (int i = 0; i < 3; i++) {
		ck_assert(g.jobs[i].finished);
		ck_assert_int_eq(g.st[i], -ECANCELED);
	}
	return 0;
}

static int m_gather_deadline_past(void *arg)
{
	struct job jobs[2];
	weft_task *t[2];
	int st[2];
	weft_scope s;

	job_set(&jobs[0], 5000, 0);
	job_set(&jobs[1], 5000, 1);
	spawn_jobs(t, jobs, 2);
	ck_assert_int_eq(weft_scope_enter(&s, weft_now() - 1, 0), 0);
	ck_assert_int_eq(weft_tasks_gather(t, 2, st, 0), -ETIMEDOUT);
	ck_assert_int_eq(weft_scope_exit(&s), -ETIMEDOUT);
	/* Cancelled before they ever ran, yet run (trio's rule): their first checkpoint said so. */
	ck_assert_int_eq(st[0], -ECANCELED);
	ck_assert_int_eq(st[1], -ECANCELED);
	ck_assert(jobs[0].finished && jobs[1].finished);
	ck_assert_int_eq(jobs[0].slept, -ECANCELED);
	return 0;
}

START_TEST(gather_deadline)
{
	ck_assert_int_eq(run_main(m_gather_deadline_past, NULL), 0);
	ck_assert_int_eq(run_main(m_gather_deadline, NULL), 0);
}
END_TEST

static int m_gather_bad_args(void *arg)
{
	struct job jobs[3], dj;
	weft_task *t[3], *bad[4], *det;
	int st[4] = {7, 7, 7, 7};

	job_set(&dj, 30, 0);
	for (int i = 0; i < 3; i++)
		job_set(&jobs[i], 10, 10 + i);
	spawn_jobs(t, jobs, 3);
	ck_assert_int_eq(weft_task_spawn(&det, job_fn, &dj, NULL), 0);
	ck_assert_int_eq(weft_task_detach(det), 0);

	/* NULL task. */
	bad[0] = t[0], bad[1] = NULL, bad[2] = t[1];
	ck_assert_int_eq(weft_tasks_gather(bad, 3, st, 0), -EINVAL);
	/* Duplicate. */
	bad[0] = t[0], bad[1] = t[1], bad[2] = t[0];
	ck_assert_int_eq(weft_tasks_gather(bad, 3, st, 0), -EINVAL);
	/* Detached (still running, so the pointer is live). */
	bad[0] = t[0], bad[1] = det, bad[2] = t[2];
	ck_assert_int_eq(weft_tasks_gather(bad, 3, st, 0), -EINVAL);
	/* NULL array, bad flags. */
	ck_assert_int_eq(weft_tasks_gather(NULL, 2, st, 0), -EINVAL);
	ck_assert_int_eq(weft_tasks_gather(t, 3, st, 1u << 7), -EINVAL);
	/* Nothing was written, consumed or cancelled. */
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(st[i], 7);
	for (int i = 0; i < 3; i++)
		ck_assert(!weft_task_cancelled(t[i]));

	/* n == 0. */
	ck_assert_int_eq(weft_tasks_gather(NULL, 0, NULL, 0), 0);
	ck_assert_int_eq(weft_tasks_gather(t, 0, st, 0), 0);
	ck_assert_int_eq(st[0], 7);

	/* The handles still work, in a proper gather. */
	ck_assert_int_eq(weft_tasks_gather(t, 3, st, 0), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(st[i], 10 + i);
	/* Let the detached one finish before the loop closes. */
	ck_assert_int_eq(weft_sleep(40 * WEFT_MSEC), 0);
	ck_assert(dj.finished);
	return 0;
}

START_TEST(gather_bad_args)
{
	ck_assert_int_eq(run_main(m_gather_bad_args, NULL), 0);
}
END_TEST

/* ---- wait ------------------------------------------------------------------------------- */

static void cancel_join_all(weft_task **t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		weft_task_cancel(t[i]);
		join_ok(t[i]);
	}
}

static int m_wait_first_completed(void *arg)
{
	struct job jobs[3];
	weft_task *t[3];
	int r;

	job_set(&jobs[0], 5000, 0);
	job_set(&jobs[1], 10, 1);
	job_set(&jobs[2], 5000, 2);
	spawn_jobs(t, jobs, 3);
	r = weft_tasks_wait(t, 3, WEFT_WAIT_FIRST_COMPLETED, WEFT_FOREVER);
	ck_assert_int_ge(r, 1);
	ck_assert(weft_task_done(t[1]));
	/* Nothing was cancelled: the others still run. */
	ck_assert(!weft_task_done(t[0]) && !weft_task_cancelled(t[0]));
	ck_assert(!weft_task_done(t[2]) && !weft_task_cancelled(t[2]));
	/* Already satisfied: returns at once. */
	ck_assert_int_eq(weft_tasks_wait(t, 3, WEFT_WAIT_FIRST_COMPLETED, WEFT_FOREVER), 1);
	ck_assert_int_eq(join_ok(t[1]), 1);
	t[1] = t[2];
	cancel_join_all(t, 2);
	return 0;
}

START_TEST(wait_first_completed)
{
	ck_assert_int_eq(run_main(m_wait_first_completed, NULL), 0);
}
END_TEST

static int m_wait_first_exception(void *arg)
{
	struct job jobs[3];
	weft_task *t[3];

	job_set(&jobs[0], 5, 0);
	job_set(&jobs[1], 20, -EIO);
	job_set(&jobs[2], 5000, 2);
	spawn_jobs(t, jobs, 3);
	/* The first success alone does not satisfy it; the failure does. */
	ck_assert_int_eq(weft_tasks_wait(t, 3, WEFT_WAIT_FIRST_EXCEPTION, WEFT_FOREVER), 2);
	ck_assert(weft_task_done(t[0]) && weft_task_done(t[1]) && !weft_task_done(t[2]));
	ck_assert_int_eq(join_ok(t[0]), 0);
	ck_assert_int_eq(join_ok(t[1]), -EIO);
	ck_assert_int_eq(weft_task_cancel(t[2]), 0);
	ck_assert_int_eq(join_ok(t[2]), -ECANCELED);

	/* No failure at all: returns once all are done. */
	job_set(&jobs[0], 5, 0);
	job_set(&jobs[1], 10, 1);
	spawn_jobs(t, jobs, 2);
	ck_assert_int_eq(weft_tasks_wait(t, 2, WEFT_WAIT_FIRST_EXCEPTION, WEFT_FOREVER), 2);
	ck_assert_int_eq(join_ok(t[0]), 0);
	ck_assert_int_eq(join_ok(t[1]), 1);
	return 0;
}

START_TEST(wait_first_exception)
{
	ck_assert_int_eq(run_main(m_wait_first_exception, NULL), 0);
}
END_TEST

static int m_wait_all(void *arg)
{
	struct job jobs[3];
	weft_task *t[3];

	job_set(&jobs[0], 15, 0);
	job_set(&jobs[1], 5, -EIO);
	job_set(&jobs[2], 10, 2);
	spawn_jobs(t, jobs, 3);
	ck_assert_int_eq(weft_tasks_wait(t, 3, WEFT_WAIT_ALL_COMPLETED, WEFT_FOREVER), 3);
	for (int i = 0; i < 3; i++)
		ck_assert(weft_task_done(t[i]));
	ck_assert_int_eq(join_ok(t[0]), 0);
	ck_assert_int_eq(join_ok(t[1]), -EIO);
	ck_assert_int_eq(join_ok(t[2]), 2);
	ck_assert_int_eq(weft_tasks_wait(NULL, 0, WEFT_WAIT_ALL_COMPLETED, WEFT_FOREVER), 0);
	return 0;
}

START_TEST(wait_all_completed)
{
	ck_assert_int_eq(run_main(m_wait_all, NULL), 0);
}
END_TEST

static int m_wait_timeout(void *arg)
{
	struct job jobs[3];
	weft_task *t[3];
	weft_scope s;
	int64_t t0;

	for (int i = 0; i < 3; i++)
		job_set(&jobs[i], 5000, i);
	spawn_jobs(t, jobs, 3);
	t0 = weft_now();
	ck_assert_int_eq(weft_tasks_wait(t, 3, WEFT_WAIT_ALL_COMPLETED, 20 * WEFT_MSEC), 0);
	ck_assert_int_ge(weft_now() - t0, 20 * WEFT_MSEC);
	ck_assert_int_lt(weft_now() - t0, WELL_BEFORE);
	/* Nothing consumed or cancelled. */
	for (int i = 0; i < 3; i++)
		ck_assert(!weft_task_done(t[i]) && !weft_task_cancelled(t[i]));

	/* Some done when the timeout passes: their count. */
	jobs[1].ms = 0;
	ck_assert_int_eq(weft_task_cancel(t[1]), 0);
	ck_assert_int_eq(weft_tasks_wait(t, 3, WEFT_WAIT_ALL_COMPLETED, 20 * WEFT_MSEC), 1);
	ck_assert(weft_task_done(t[1]));
	/* A zero timeout polls. */
	ck_assert_int_eq(weft_tasks_wait(t, 3, WEFT_WAIT_ALL_COMPLETED, 0), 1);

	/* An enclosing deadline before the timeout: -ETIMEDOUT, still nothing cancelled. */
	ck_assert_int_eq(weft_scope_enter(&s, weft_now() + 20 * WEFT_MSEC, 0), 0);
	ck_assert_int_eq(weft_tasks_wait(t, 3, WEFT_WAIT_ALL_COMPLETED, LONG_SLEEP), -ETIMEDOUT);
	ck_assert_int_eq(weft_scope_exit(&s), -ETIMEDOUT);
	ck_assert(!weft_task_cancelled(t[0]) && !weft_task_cancelled(t[2]));
	ck_assert_int_lt(weft_now() - t0, WELL_BEFORE);
	cancel_join_all(t, 3);
	return 0;
}

START_TEST(wait_timeout)
{
	ck_assert_int_eq(run_main(m_wait_timeout, NULL), 0);
}
END_TEST

struct waiter {
	weft_task *t[2];
	struct job jobs[2];
	int r;
};

static int waiter_fn(void *arg)
{
	struct waiter *w = arg;

	w->r = weft_tasks_wait(w->t, 2, WEFT_WAIT_ALL_COMPLETED, WEFT_FOREVER);
	return 0;
}

static int m_wait_cancelled(void *arg)
{
	struct waiter w = {0};
	weft_task *wt;
	int64_t t0 = weft_now();

	for (int i = 0; i < 2; i++)
		job_set(&w.jobs[i], 5000, i);
	spawn_jobs(w.t, w.jobs, 2);
	ck_assert_int_eq(weft_task_spawn(&wt, waiter_fn, &w, NULL), 0);
	yield_until_parked(wt);
	ck_assert_int_eq(weft_task_cancel(wt), 0);
	ck_assert_int_eq(join_ok(wt), 0);
	ck_assert_int_eq(w.r, -ECANCELED);
	ck_assert_int_lt(weft_now() - t0, WELL_BEFORE);
	/* The tasks were neither cancelled nor consumed. */
	for (int i = 0; i < 2; i++)
		ck_assert(!weft_task_done(w.t[i]) && !weft_task_cancelled(w.t[i]));
	cancel_join_all(w.t, 2);
	return 0;
}

START_TEST(wait_cancelled)
{
	ck_assert_int_eq(run_main(m_wait_cancelled, NULL), 0);
}
END_TEST

static int m_wait_bad_args(void *arg)
{
	struct job jobs[2];
	weft_task *t[2], *dup[2];

	job_set(&jobs[0], 5, 0);
	job_set(&jobs[1], 5, 1);
	spawn_jobs(t, jobs, 2);
	ck_assert_int_eq(weft_tasks_wait(t, 2, (enum weft_wait_mode)3, WEFT_FOREVER), -EINVAL);
	ck_assert_int_eq(weft_tasks_wait(t, 2, (enum weft_wait_mode) - 1, WEFT_FOREVER), -EINVAL);
	ck_assert_int_eq(weft_tasks_wait(t, 2, WEFT_WAIT_ALL_COMPLETED, -1), -EINVAL);
	ck_assert_int_eq(weft_tasks_wait(NULL, 2, WEFT_WAIT_ALL_COMPLETED, WEFT_FOREVER), -EINVAL);
	dup[0] = dup[1] = t[0];
	ck_assert_int_eq(weft_tasks_wait(dup, 2, WEFT_WAIT_ALL_COMPLETED, WEFT_FOREVER), -EINVAL);
	ck_assert_int_eq(join_ok(t[0]), 0);
	ck_assert_int_eq(join_ok(t[1]), 1);
	return 0;
}

START_TEST(wait_bad_args)
{
	ck_assert_int_eq(run_main(m_wait_bad_args, NULL), 0);
}
END_TEST

/* ---- as_completed ----------------------------------------------------------------------- */

static int m_as_completed(void *arg)
{
	struct job jobs[3];
	weft_task *t[3], *got;
	weft_as_completed *it;
	int order[3];

	job_set(&jobs[0], 30, 30);
	job_set(&jobs[1], 10, 10);
	job_set(&jobs[2], 20, 20);
	spawn_jobs(t, jobs, 3);
	ck_assert_int_eq(weft_as_completed_new(&it, t, 3), 0);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(weft_as_completed_next(it, &got), 0);
		ck_assert(weft_task_done(got));
		order[i] = join_ok(got);
	}
	ck_assert_int_eq(order[0], 10);
	ck_assert_int_eq(order[1], 20);
	ck_assert_int_eq(order[2], 30);
	ck_assert_int_eq(weft_as_completed_next(it, &got), -ENOENT);
	ck_assert_int_eq(weft_as_completed_next(it, &got), -ENOENT);
	weft_as_completed_free(it);

	/* Empty set. */
	ck_assert_int_eq(weft_as_completed_new(&it, NULL, 0), 0);
	ck_assert_int_eq(weft_as_completed_next(it, &got), -ENOENT);
	weft_as_completed_free(it);
	weft_as_completed_free(NULL);
	return 0;
}

START_TEST(as_completed_order)
{
	ck_assert_int_eq(run_main(m_as_completed, NULL), 0);
}
END_TEST

static int m_as_completed_early_free(void *arg)
{
	struct job jobs[3];
	weft_task *t[3], *got;
	weft_as_completed *it;

	job_set(&jobs[0], 30, 30);
	job_set(&jobs[1], 5, 5);
	job_set(&jobs[2], 20, 20);
	spawn_jobs(t, jobs, 3);
	ck_assert_int_eq(weft_as_completed_new(&it, t, 3), 0);
	ck_assert_int_eq(weft_as_completed_next(it, &got), 0);
	ck_assert_ptr_eq(got, t[1]);
	weft_as_completed_free(it);
	/* The rest finish after the iterator is gone (nothing may touch it) and stay ours. */
	ck_assert_int_eq(join_ok(t[0]), 30);
	ck_assert_int_eq(join_ok(t[1]), 5);
	ck_assert_int_eq(join_ok(t[2]), 20);
	return 0;
}

START_TEST(as_completed_free_early)
{
	ck_assert_int_eq(run_main(m_as_completed_early_free, NULL), 0);
}
END_TEST

static int m_as_completed_bad(void *arg)
{
	struct job j;
	weft_task *t[2], *got;
	weft_as_completed *it = NULL;

	job_set(&j, 1, 0);
	spawn_jobs(t, &j, 1);
	t[1] = t[0];
	ck_assert_int_eq(weft_as_completed_new(NULL, t, 1), -EINVAL);
	ck_assert_int_eq(weft_as_completed_new(&it, t, 2), -EINVAL);
	ck_assert_ptr_null(it);
	ck_assert_int_eq(weft_as_completed_next(NULL, &got), -EINVAL);
	ck_assert_int_eq(join_ok(t[0]), 0);
	return 0;
}

struct iter {
	weft_task *t[2];
	struct job jobs[2];
	int r;
};

static int iter_fn(void *arg)
{
	struct iter *x = arg;
	weft_as_completed *it;
	weft_task *got = NULL;

	ck_assert_int_eq(weft_as_completed_new(&it, x->t, 2), 0);
	x->r = weft_as_completed_next(it, &got);
	ck_assert_ptr_null(got);
	weft_as_completed_free(it);
	return 0;
}

static int m_as_completed_cancelled(void *arg)
{
	struct iter x = {0};
	weft_task *t;

	for (int i = 0; i < 2; i++)
		job_set(&x.jobs[i], 5000, i);
	spawn_jobs(x.t, x.jobs, 2);
	ck_assert_int_eq(weft_task_spawn(&t, iter_fn, &x, NULL), 0);
	yield_until_parked(t);
	ck_assert_int_eq(weft_task_cancel(t), 0);
	ck_assert_int_eq(join_ok(t), 0);
	ck_assert_int_eq(x.r, -ECANCELED);
	for (int i = 0; i < 2; i++)
		ck_assert(!weft_task_done(x.t[i]) && !weft_task_cancelled(x.t[i]));
	cancel_join_all(x.t, 2);
	return 0;
}

START_TEST(as_completed_cancelled)
{
	ck_assert_int_eq(run_main(m_as_completed_cancelled, NULL), 0);
}
END_TEST

START_TEST(as_completed_bad_args)
{
	ck_assert_int_eq(run_main(m_as_completed_bad, NULL), 0);
}
END_TEST

/* ---- wait_for and join shields ---------------------------------------------------------- */

static int m_wait_for(void *arg)
{
	struct job j;
	weft_task *t;
	int st = -1;
	int64_t t0;

	job_set(&j, 10, 7);
	spawn_jobs(&t, &j, 1);
	ck_assert_int_eq(weft_task_wait_for(t, LONG_SLEEP, &st), 0);
	ck_assert_int_eq(st, 7);

	/* Already done. */
	job_set(&j, 0, 8);
	spawn_jobs(&t, &j, 1);
	ck_assert_int_eq(weft_sleep(WEFT_MSEC), 0);
	ck_assert(weft_task_done(t));
	ck_assert_int_eq(weft_task_wait_for(t, 0, &st), 0);
	ck_assert_int_eq(st, 8);

	/* Timeout: cancelled, waited for, status stored, handle consumed. */
	job_set(&j, 5000, 9);
	spawn_jobs(&t, &j, 1);
	t0 = weft_now();
	ck_assert_int_eq(weft_task_wait_for(t, 20 * WEFT_MSEC, &st), -ETIMEDOUT);
	ck_assert_int_ge(weft_now() - t0, 20 * WEFT_MSEC);
	ck_assert_int_lt(weft_now() - t0, WELL_BEFORE);
	ck_assert_int_eq(st, -ECANCELED);
	ck_assert(j.finished);
	ck_assert_int_eq(j.slept, -ECANCELED);
	/* The caller itself is not cancelled. */
	ck_assert_int_eq(weft_sleep(WEFT_MSEC), 0);

	/* Bad arguments. */
	ck_assert_int_eq(weft_task_wait_for(NULL, 0, &st), -EINVAL);
	ck_assert_int_eq(weft_task_wait_for(weft_task_current(), 0, &st), -EDEADLK);
	job_set(&j, 1, 0);
	spawn_jobs(&t, &j, 1);
	ck_assert_int_eq(weft_task_wait_for(t, -1, &st), -EINVAL);
	ck_assert_int_eq(join_ok(t), 0);
	return 0;
}

START_TEST(wait_for_in_time_and_timeout)
{
	ck_assert_int_eq(run_main(m_wait_for, NULL), 0);
}
END_TEST

struct wf {
	struct job j;
	int r, st;
};

static int wf_fn(void *arg)
{
	struct wf *w = arg;
	weft_task *t;

	job_set(&w->j, 5000, 1);
	spawn_jobs(&t, &w->j, 1);
	w->r = weft_task_wait_for(t, LONG_SLEEP, &w->st);
	return 0;
}

static int m_wait_for_cancelled(void *arg)
{
	struct wf w = {.st = 1};
	weft_task *t;

	ck_assert_int_eq(weft_task_spawn(&t, wf_fn, &w, NULL), 0);
	yield_until_parked(t);
	ck_assert_int_eq(weft_task_cancel(t), 0);
	ck_assert_int_eq(join_ok(t), 0);
	ck_assert_int_eq(w.r, -ECANCELED);
	ck_assert_int_eq(w.st, -ECANCELED);
	ck_assert(w.j.finished);
	ck_assert_int_eq(w.j.slept, -ECANCELED);
	return 0;
}

START_TEST(wait_for_caller_cancelled)
{
	ck_assert_int_eq(run_main(m_wait_for_cancelled, NULL), 0);
}
END_TEST

struct joiner {
	weft_task *child;
	struct job j;
	int r;
};

static int joiner_fn(void *arg)
{
	struct joiner *x = arg;

	x->r = weft_task_join(x->child, NULL);
	return 0;
}

static int m_join_shields(void *arg)
{
	struct joiner x = {0};
	weft_task *jt;

	job_set(&x.j, 40, 42);
	spawn_jobs(&x.child, &x.j, 1);
	ck_assert_int_eq(weft_task_spawn(&jt, joiner_fn, &x, NULL), 0);
	yield_until_parked(jt);
	ck_assert_int_eq(weft_task_cancel(jt), 0);
	ck_assert_int_eq(join_ok(jt), 0);
	ck_assert_int_eq(x.r, -ECANCELED);
	/* The joined task was not cancelled and runs to its end; its handle is still valid. */
	ck_assert(!weft_task_cancelled(x.child));
	ck_assert(!weft_task_done(x.child));
	ck_assert_int_eq(join_ok(x.child), 42);
	ck_assert_int_eq(x.j.slept, 0);
	return 0;
}

START_TEST(join_never_cancels_joined)
{
	ck_assert_int_eq(run_main(m_join_shields, NULL), 0);
}
END_TEST

/* ---- task groups ------------------------------------------------------------------------ */

static int m_group_basic(void *arg)
{
	struct job jobs[3];
	weft_group *g;

	job_set(&jobs[0], 20, 0);
	job_set(&jobs[1], 5, 1);
	job_set(&jobs[2], 10, 2);
	ck_assert_int_eq(weft_group_open(&g), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(weft_group_spawn(g, job_fn, &jobs[i], NULL), 0);
	ck_assert_int_eq(weft_group_close(g), 0);
	for (int i = 0; i < 3; i++) {
		ck_assert(jobs[i].finished);
		ck_assert_int_eq(jobs[i].slept, 0);
	}
	/* An empty group. */
	ck_assert_int_eq(weft_group_open(&g), 0);
	ck_assert_int_eq(weft_group_close(g), 0);
	/* Bad arguments. */
	ck_assert_int_eq(weft_group_open(NULL), -EINVAL);
	ck_assert_int_eq(weft_group_close(NULL), -EINVAL);
	ck_assert_int_eq(weft_group_open(&g), 0);
	ck_assert_int_eq(weft_group_spawn(NULL, job_fn, &jobs[0], NULL), -EINVAL);
	ck_assert_int_eq(weft_group_spawn(g, NULL, NULL, NULL), -EINVAL);
	ck_assert_int_eq(weft_group_close(g), 0);
	return 0;
}

START_TEST(group_children_joined_at_close)
{
	weft_group *g = NULL;

	ck_assert_int_eq(weft_group_open(&g), -EPERM);
	ck_assert_ptr_null(g);
	ck_assert_int_eq(run_main(m_group_basic, NULL), 0);
}
END_TEST

static int m_group_child_fails(void *arg)
{
	struct job jobs[4];
	weft_group *g;
	int64_t t0 = weft_now();

	job_set(&jobs[0], 5000, 0);
	job_set(&jobs[1], 10, -EIO);
	job_set(&jobs[2], 5000, 2);
	ck_assert_int_eq(weft_group_open(&g), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(weft_group_spawn(g, job_fn, &jobs[i], NULL), 0);
	/* The opener's own blocking call inside the group is interrupted. */
	ck_assert_int_eq(weft_sleep(LONG_SLEEP), -ECANCELED);
	ck_assert_int_lt(weft_now() - t0, WELL_BEFORE);
	ck_assert_int_eq(weft_checkpoint(), -ECANCELED);
	/* A child spawned into it now starts cancelled. */
	job_set(&jobs[3], 5000, 0);
	ck_assert_int_eq(weft_group_spawn(g, job_fn, &jobs[3], NULL), 0);
	ck_assert_int_eq(weft_group_close(g), -EIO);
	ck_assert_int_eq(jobs[3].slept, -ECANCELED);
	ck_assert_int_eq(jobs[0].slept, -ECANCELED);
	ck_assert_int_eq(jobs[2].slept, -ECANCELED);
	ck_assert(jobs[0].finished && jobs[2].finished);
	/* The opener itself was not cancelled: out of the group it goes on. */
	ck_assert(!weft_task_cancelled(weft_task_current()));
	ck_assert_int_eq(weft_checkpoint(), 0);
	ck_assert_int_eq(weft_sleep(WEFT_MSEC), 0);

	/* The same while the opener is already in close. */
	job_set(&jobs[0], 5000, 0);
	job_set(&jobs[1], 10, -EPIPE);
	ck_assert_int_eq(weft_group_open(&g), 0);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(weft_group_spawn(g, job_fn, &jobs[i], NULL), 0);
	ck_assert_int_eq(weft_group_close(g), -EPIPE);
	ck_assert_int_eq(jobs[0].slept, -ECANCELED);
	ck_assert_int_lt(weft_now() - t0, WELL_BEFORE);
	return 0;
}

START_TEST(group_child_failure_cancels_siblings)
{
	ck_assert_int_eq(run_main(m_group_child_fails, NULL), 0);
}
END_TEST

struct opener {
	struct job jobs[3];
	int r;
};

static int opener_fn(void *arg)
{
	struct opener *o = arg;
	weft_group *g;

	ck_assert_int_eq(weft_group_open(&g), 0);
	for (int i = 0; i < 3; i++) {
		job_set(&o->jobs[i], 5000, 0);
		ck_assert_int_eq(weft_group_spawn(g, job_fn, &o->jobs[i], NULL), 0);
	}
	o->r = weft_group_close(g);
	return o->r;
}

static int m_group_opener_cancelled(void *arg)
{
	struct opener o = {0};
	weft_task *t;
	int64_t t0 = weft_now();

	ck_assert_int_eq(weft_task_spawn(&t, opener_fn, &o, NULL), 0);
	yield_until_parked(t);
	/* Let the children start too. */
	ck_assert_int_eq(weft_sleep(WEFT_MSEC), 0);
	ck_assert_int_eq(weft_task_cancel(t), 0);
	ck_assert_int_eq(join_ok(t), -ECANCELED);
	ck_assert_int_lt(weft_now() - t0, WELL_BEFORE);
	for (int i = 0; i < 3; i++) {
		ck_assert(o.jobs[i].finished);
		ck_assert_int_eq(o.jobs[i].slept, -ECANCELED);
	}
	return 0;
}

START_TEST(group_opener_cancelled_in_close)
{
	ck_assert_int_eq(run_main(m_group_opener_cancelled, NULL), 0);
}
END_TEST

static int m_group_cancel(void *arg)
{
	struct job jobs[3];
	weft_group *g;

	ck_assert_int_eq(weft_group_open(&g), 0);
	for (int i = 0; i < 2; i++) {
		job_set(&jobs[i], 5000, 0);
		ck_assert_int_eq(weft_group_spawn(g, job_fn, &jobs[i], NULL), 0);
	}
	ck_assert_int_eq(weft_sleep(WEFT_MSEC), 0);
	weft_group_cancel(g);
	weft_group_cancel(g); /* twice is harmless */
	ck_assert_int_eq(weft_checkpoint(), -ECANCELED);
	job_set(&jobs[2], 5000, 0);
	ck_assert_int_eq(weft_group_spawn(g, job_fn, &jobs[2], NULL), 0); /* starts cancelled */
	ck_assert_int_eq(weft_group_close(g), -ECANCELED);
	ck_assert_int_eq(jobs[2].slept, -ECANCELED);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(jobs[i].slept, -ECANCELED);
	ck_assert_int_eq(weft_checkpoint(), 0);

	/* Cancelled before the children ever ran: they run, and their first checkpoint says so. */
	ck_assert_int_eq(weft_group_open(&g), 0);
	for (int i = 0; i < 2; i++) {
		job_set(&jobs[i], 5000, 0);
		ck_assert_int_eq(weft_group_spawn(g, job_fn, &jobs[i], NULL), 0);
	}
	weft_group_cancel(g);
	ck_assert_int_eq(weft_group_close(g), -ECANCELED);
	for (int i = 0; i < 2; i++) {
		ck_assert(jobs[i].finished);
		ck_assert_int_eq(jobs[i].slept, -ECANCELED);
	}
	weft_group_cancel(NULL);
	return 0;
}

START_TEST(group_cancel)
{
	ck_assert_int_eq(run_main(m_group_cancel, NULL), 0);
}
END_TEST

/* Children spawning children into their own group, three levels deep. */
struct grow {
	weft_group *g;
	int spawned, ran;
	struct grow_node {
		struct grow *gr;
		int depth;
	} nodes[64];
};

static int grow_fn(void *arg)
{
	struct grow_node *n = arg;
	struct grow *gr = n->gr;

	gr->ran++;
	ck_assert_int_eq(weft_sleep(WEFT_MSEC), 0);
	for (int i = 0; n->depth > 0 && i < 2; i++) {
		struct grow_node *kid = &gr->nodes[gr->spawned++];
		*kid = (struct grow_node){gr, n->depth - 1};
		ck_assert_int_eq(weft_group_spawn(gr->g, grow_fn, kid, NULL), 0);
	}
	return 0;
}

static int m_group_grow(void *arg)
{
	struct grow gr = {0};

	ck_assert_int_eq(weft_group_open(&gr.g), 0);
	for (int i = 0; i < 2; i++) {
		struct grow_node *root = &gr.nodes[gr.spawned++];
		*root = (struct grow_node){&gr, 3};
		ck_assert_int_eq(weft_group_spawn(gr.g, grow_fn, root, NULL), 0);
	}
	ck_assert_int_eq(weft_group_close(gr.g), 0);
	ck_assert_int_eq(gr.spawned, 30);
	ck_assert_int_eq(gr.ran, 30);
	return 0;
}

START_TEST(group_children_spawn_children)
{
	ck_assert_int_eq(run_main(m_group_grow, NULL), 0);
}
END_TEST

static int m_group_nested(void *arg)
{
	struct job jobs[4];
	weft_group *outer, *inner;
	int64_t t0 = weft_now();

	/* Plain nesting: each close waits for its own children. */
	job_set(&jobs[0], 20, 0);
	job_set(&jobs[1], 5, 0);
	ck_assert_int_eq(weft_group_open(&outer), 0);
	ck_assert_int_eq(weft_group_spawn(outer, job_fn, &jobs[0], NULL), 0);
	ck_assert_int_eq(weft_group_open(&inner), 0);
	ck_assert_int_eq(weft_group_spawn(inner, job_fn, &jobs[1], NULL), 0);
	ck_assert_int_eq(weft_group_close(inner), 0);
	ck_assert(jobs[1].finished);
	ck_assert_int_eq(weft_group_close(outer), 0);
	ck_assert(jobs[0].finished);

	/* A failure in the inner group stays there. */
	job_set(&jobs[0], 20, 0);
	job_set(&jobs[1], 5, -EIO);
	job_set(&jobs[2], 5000, 0);
	ck_assert_int_eq(weft_group_open(&outer), 0);
	ck_assert_int_eq(weft_group_spawn(outer, job_fn, &jobs[0], NULL), 0);
	ck_assert_int_eq(weft_group_open(&inner), 0);
	ck_assert_int_eq(weft_group_spawn(inner, job_fn, &jobs[1], NULL), 0);
	ck_assert_int_eq(weft_group_spawn(inner, job_fn, &jobs[2], NULL), 0);
	ck_assert_int_eq(weft_group_close(inner), -EIO);
	ck_assert_int_eq(jobs[2].slept, -ECANCELED);
	ck_assert_int_eq(weft_checkpoint(), 0);
	ck_assert_int_eq(weft_group_close(outer), 0);
	ck_assert_int_eq(jobs[0].slept, 0);

	/* A failure in the outer group cancels the inner one, whose close the opener is in. */
	job_set(&jobs[0], 10, -EPIPE);
	job_set(&jobs[1], 5000, 0);
	job_set(&jobs[2], 5000, 0);
	ck_assert_int_eq(weft_group_open(&outer), 0);
	ck_assert_int_eq(weft_group_spawn(outer, job_fn, &jobs[0], NULL), 0);
	ck_assert_int_eq(weft_group_spawn(outer, job_fn, &jobs[1], NULL), 0);
	ck_assert_int_eq(weft_group_open(&inner), 0);
	ck_assert_int_eq(weft_group_spawn(inner, job_fn, &jobs[2], NULL), 0);
	ck_assert_int_eq(weft_group_close(inner), -ECANCELED);
	ck_assert_int_eq(jobs[2].slept, -ECANCELED);
	ck_assert_int_eq(weft_group_close(outer), -EPIPE);
	ck_assert_int_eq(jobs[1].slept, -ECANCELED);
	ck_assert_int_lt(weft_now() - t0, WELL_BEFORE);
	return 0;
}

START_TEST(group_nested)
{
	ck_assert_int_eq(run_main(m_group_nested, NULL), 0);
}
END_TEST

static int close_other_fn(void *arg)
{
	/* A child's innermost scope is never its parent's group. */
	return weft_group_close(arg);
}

static int m_group_not_innermost(void *arg)
{
	struct job j;
	weft_group *outer, *inner;
	weft_scope s;

	job_set(&j, 5, 0);
	ck_assert_int_eq(weft_group_open(&outer), 0);
	ck_assert_int_eq(weft_group_spawn(outer, job_fn, &j, NULL), 0);
	ck_assert_int_eq(weft_scope_enter(&s, WEFT_FOREVER, 0), 0);
	ck_assert_int_eq(weft_group_close(outer), -EINVAL);
	ck_assert_int_eq(weft_group_open(&inner), 0);
	/* Neither the outer group nor the scope may close over the inner group. */
	ck_assert_int_eq(weft_group_close(outer), -EINVAL);
	ck_assert_int_eq(weft_scope_exit(&s), -EINVAL);
	/* Nothing was closed: everything still works, innermost first. */
	ck_assert_int_eq(weft_group_spawn(inner, job_fn, &j, NULL), 0);
	ck_assert_int_eq(weft_group_close(inner), 0);
	ck_assert_int_eq(weft_scope_exit(&s), 0);
	ck_assert_int_eq(weft_group_spawn(outer, job_fn, &j, NULL), 0);
	ck_assert_int_eq(weft_group_close(outer), 0);
	ck_assert(j.finished);

	/* A child trying to close its group: -EINVAL, which then fails the group. */
	ck_assert_int_eq(weft_group_open(&outer), 0);
	ck_assert_int_eq(weft_group_spawn(outer, close_other_fn, outer, NULL), 0);
	ck_assert_int_eq(weft_group_close(outer), -EINVAL);
	return 0;
}

START_TEST(group_close_not_innermost)
{
	ck_assert_int_eq(run_main(m_group_not_innermost, NULL), 0);
}
END_TEST

static int m_group_deadline(void *arg)
{
	struct job jobs[2];
	weft_group *g;
	weft_scope s;
	int64_t t0 = weft_now();

	/* The deadline passes while the opener waits in close. */
	ck_assert_int_eq(weft_scope_enter(&s, t0 + 20 * WEFT_MSEC, 0), 0);
	ck_assert_int_eq(weft_group_open(&g), 0);
	for (int i = 0; i < 2; i++) {
		job_set(&jobs[i], 5000, 0);
		ck_assert_int_eq(weft_group_spawn(g, job_fn, &jobs[i], NULL), 0);
	}
	ck_assert_int_eq(weft_group_close(g), -ETIMEDOUT);
	ck_assert_int_lt(weft_now() - t0, WELL_BEFORE);
	for (int i = 0; i < 2; i++) { /* the deadline reached them through their scopes (trio) */
		ck_assert(jobs[i].finished);
		ck_assert_int_eq(jobs[i].slept, -ETIMEDOUT);
	}
	ck_assert_int_eq(weft_scope_exit(&s), -ETIMEDOUT);

	/* The deadline passes while the opener blocks inside the group. */
	t0 = weft_now();
	ck_assert_int_eq(weft_scope_enter(&s, t0 + 20 * WEFT_MSEC, 0), 0);
	ck_assert_int_eq(weft_group_open(&g), 0);
	for (int i = 0; i < 2; i++) {
		job_set(&jobs[i], 5000, 0);
		ck_assert_int_eq(weft_group_spawn(g, job_fn, &jobs[i], NULL), 0);
	}
	ck_assert_int_eq(weft_sleep(LONG_SLEEP), -ETIMEDOUT);
	ck_assert_int_eq(weft_group_close(g), -ETIMEDOUT);
	ck_assert_int_lt(weft_now() - t0, WELL_BEFORE);
	for (int i = 0; i < 2; i++) { /* the deadline reached them through their scopes (trio) */
		ck_assert(jobs[i].finished);
		ck_assert_int_eq(jobs[i].slept, -ETIMEDOUT);
	}
	ck_assert_int_eq(weft_scope_exit(&s), -ETIMEDOUT);
	return 0;
}

START_TEST(group_scope_deadline)
{
	ck_assert_int_eq(run_main(m_group_deadline, NULL), 0);
}
END_TEST

/* ---- trio semantics: inherited scopes, start, every error --------------------------------- */

struct inherit {
	weft_event *ev;
	int child_r;
	bool shielded; /* the body is in its shield */
};

/* Report started (for weft_group_start), sleep until cancelled or timed out, say so. */
static int inherit_child(void *arg)
{
	struct inherit *in = arg;

	weft_task_started(NULL); /* -EINVAL when spawned plainly: harmless */
	in->child_r = weft_sleep(LONG_SLEEP);
	weft_event_set(in->ev);
	return in->child_r;
}

/* The group's body is shielded, waiting for the child to end: only a scope around the group
 * that reaches the child directly can end it (it used to be cancelled only at close). */
static void shielded_body_waits(struct inherit *in)
{
	weft_scope sh;

	ck_assert_int_eq(weft_scope_enter(&sh, weft_now() + 30 * WEFT_SEC, WEFT_SCOPE_SHIELD), 0);
	in->shielded = true;
	ck_assert_int_eq(weft_event_wait(in->ev), 0);
	ck_assert_int_eq(weft_scope_exit(&sh), 0);
}

static int m_inherit_deadline(void *arg)
{
	struct inherit in = {0};
	weft_scope s;
	weft_group *g;

	ck_assert_int_eq(weft_event_new(NULL, &in.ev), 0);
	ck_assert_int_eq(weft_scope_enter(&s, weft_now() + 10 * WEFT_MSEC, 0), 0);
	ck_assert_int_eq(weft_group_open(&g), 0);
	ck_assert_int_eq(weft_group_spawn(g, inherit_child, &in, NULL), 0);
	shielded_body_waits(&in);
	ck_assert_int_eq(in.child_r, -ETIMEDOUT);
	ck_assert_int_eq(weft_group_close(g), -ETIMEDOUT); /* not a failure of the child's */
	ck_assert_int_eq(weft_scope_exit(&s), -ETIMEDOUT);
	ck_assert_int_eq(weft_event_free(in.ev), 0);
	return 0;
}

static int m_inherit_scope_cancel(void *arg)
{
	struct inherit in = {0};
	weft_scope s;
	weft_group *g;

	ck_assert_int_eq(weft_event_new(NULL, &in.ev), 0);
	ck_assert_int_eq(weft_scope_enter(&s, WEFT_FOREVER, 0), 0);
	ck_assert_int_eq(weft_group_open(&g), 0);
	ck_assert_int_eq(weft_group_start(g, inherit_child, &in, NULL, NULL), 0); /* it is parked */
	weft_scope_cancel(&s);
	shielded_body_waits(&in);
	ck_assert_int_eq(in.child_r, -ECANCELED);
	ck_assert_int_eq(weft_group_close(g), -ECANCELED);
	ck_assert_int_eq(weft_scope_exit(&s), -ECANCELED);
	ck_assert_int_eq(weft_event_free(in.ev), 0);
	return 0;
}

/* Opens a group, starts a child and waits for it in a shield. */
static int inherit_opener(void *arg)
{
	struct inherit *in = arg;
	weft_group *g;

	ck_assert_int_eq(weft_group_open(&g), 0);
	ck_assert_int_eq(weft_group_start(g, inherit_child, in, NULL, NULL), 0);
	shielded_body_waits(in);
	return weft_group_close(g);
}

static int m_inherit_task_cancel(void *arg)
{
	struct inherit in = {0};
	weft_task *t;

	ck_assert_int_eq(weft_event_new(NULL, &in.ev), 0);
	ck_assert_int_eq(weft_task_spawn(&t, inherit_opener, &in, NULL), 0);
	while (!in.shielded)
		ck_assert_int_eq(weft_yield(), 0);
	yield_until_parked(t);
	ck_assert_int_eq(weft_task_cancel(t), 0); /* the opener itself: its children too */
	ck_assert_int_eq(join_ok(t), -ECANCELED);
	ck_assert_int_eq(in.child_r, -ECANCELED);
	ck_assert_int_eq(weft_event_free(in.ev), 0);
	return 0;
}

START_TEST(group_children_inherit_scopes)
{
	ck_assert_int_eq(run_main(m_inherit_deadline, NULL), 0);
	ck_assert_int_eq(run_main(m_inherit_scope_cancel, NULL), 0);
	ck_assert_int_eq(run_main(m_inherit_task_cancel, NULL), 0);
}
END_TEST

static int started_value(void *arg)
{
	ck_assert_int_eq(weft_task_started(arg), 0);
	ck_assert_int_eq(weft_task_started(arg), -EINVAL); /* once */
	return weft_sleep(LONG_SLEEP);
}

static int fail_now(void *arg)
{
	return (int)(intptr_t)arg;
}

static int sleep_before_start(void *arg)
{
	int r = weft_sleep(LONG_SLEEP);

	*(int *)arg = r;
	if (!r)
		weft_task_started(NULL);
	return r;
}

static int m_group_start(void *arg)
{
	weft_group *g;
	weft_scope s;
	void *v = NULL;
	int slept = 1;

	ck_assert_int_eq(weft_task_started(NULL), -EINVAL); /* nobody starts us */
	ck_assert_int_eq(weft_group_open(&g), 0);
	/* Reports started with a value: the starter gets it, the child runs on in the group. */
	ck_assert_int_eq(weft_group_start(g, started_value, (void *)77, NULL, &v), 0);
	ck_assert_ptr_eq(v, (void *)77);
	/* A failure before it reported is the starter's, not the group's. */
	ck_assert_int_eq(weft_group_start(g, fail_now, (void *)(intptr_t)-EIO, NULL, NULL), -EIO);
	ck_assert_int_eq(weft_group_start(g, fail_now, (void *)5, NULL, NULL), -ECHILD);
	ck_assert_int_eq(weft_checkpoint(), 0); /* the group was not cancelled by either */
	/* The starter's deadline passes first: the child is cancelled and waited for. */
	ck_assert_int_eq(weft_scope_enter(&s, weft_now() + 5 * WEFT_MSEC, 0), 0);
	ck_assert_int_eq(weft_group_start(g, sleep_before_start, &slept, NULL, NULL), -ETIMEDOUT);
	ck_assert_int_eq(slept, -ECANCELED);
	ck_assert_int_eq(weft_scope_exit(&s), -ETIMEDOUT);
	ck_assert_int_eq(weft_group_start(NULL, fail_now, NULL, NULL, NULL), -EINVAL);
	ck_assert_int_eq(weft_group_start(g, NULL, NULL, NULL, NULL), -EINVAL);
	weft_group_cancel(g); /* ends the started child */
	ck_assert_int_eq(weft_group_close(g), -ECANCELED);
	return 0;
}

START_TEST(group_start)
{
	ck_assert_int_eq(weft_task_started(NULL), -EPERM);
	ck_assert_int_eq(weft_group_start(NULL, fail_now, NULL, NULL, NULL), -EPERM);
	ck_assert_int_eq(run_main(m_group_start, NULL), 0);
}
END_TEST

/* Parks, and fails differently when cancelled: a cleanup that fails is a failure too. */
static int fail_on_cancel(void *arg)
{
	return weft_sleep(LONG_SLEEP) == -ECANCELED ? -EPIPE : 0;
}

/* Report started, handing over its own task; then sleep until cancelled. */
static int publish_self(void *arg)
{
	ck_assert_int_eq(weft_task_started(weft_task_current()), 0);
	return weft_sleep(LONG_SLEEP);
}

static int m_group_child_cancelled_alone(void *arg)
{
	weft_group *g;
	void *child = NULL;
	size_t n = 9;

	ck_assert_int_eq(weft_group_open(&g), 0);
	ck_assert_int_eq(weft_group_start(g, publish_self, NULL, NULL, &child), 0);
	ck_assert_int_eq(weft_task_cancel(child), 0);
	/* Its -ECANCELED is its own cancellation, not a failure (asyncio's TaskGroup). */
	ck_assert_int_eq(weft_group_close_errors(g, NULL, 0, &n), 0);
	ck_assert_uint_eq(n, 0);
	return 0;
}

static int m_group_errors(void *arg)
{
	struct weft_group_error e[3];
	weft_group *g;
	size_t n = 0;

	ck_assert_int_eq(weft_group_open(&g), 0);
	ck_assert_int_eq(weft_group_spawn(g, fail_on_cancel, NULL, NULL), 0);
	ck_assert_int_eq(weft_group_spawn(g, fail_now, (void *)(intptr_t)-EIO, NULL), 0);
	ck_assert_int_eq(weft_group_spawn(g, fail_now, (void *)(intptr_t)-ENOENT, NULL), 0);
	ck_assert_int_eq(weft_group_spawn(g, fail_now, (void *)(intptr_t)-EPERM, NULL), 0);
	ck_assert_int_eq(weft_group_spawn(g, fail_now, (void *)0, NULL), 0);
	ck_assert_int_eq(weft_group_close_errors(g, e, 3, &n), -EIO);
	ck_assert_uint_eq(n, 4); /* all four, though only three fit */
	ck_assert_int_eq(e[0].status, -EIO);
	ck_assert_ptr_eq(e[0].arg, (void *)(intptr_t)-EIO);
	ck_assert_int_eq(e[1].status, -ENOENT);
	ck_assert_int_eq(e[2].status, -EPERM);
	ck_assert_uint_gt(e[2].task_id, e[1].task_id);
	ck_assert(strncmp(e[0].name, "task-", 5) == 0);

	/* Nothing failed: 0 and none. */
	ck_assert_int_eq(weft_group_open(&g), 0);
	ck_assert_int_eq(weft_group_spawn(g, fail_now, (void *)0, NULL), 0);
	ck_assert_int_eq(weft_group_close_errors(g, NULL, 0, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(weft_group_open(&g), 0);
	ck_assert_int_eq(weft_group_close_errors(g, NULL, 1, &n), -EINVAL); /* cap without room */
	ck_assert_int_eq(weft_group_close(g), 0);
	return 0;
}

/* Yields once, then spawns a task: by then the record of a task that just returned is free for
 * reuse. */
static int spawn_after_yield(void *arg)
{
	ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_task_spawn(NULL, fail_now, (void *)0, NULL), 0);
	return 0;
}

/* The child fails before it reports, and its record is reused before the starter runs: the
 * starter still gets the child's status (it read the freed record and said -ECHILD). */
static int m_start_fail_then_reuse(void *arg)
{
	weft_group *g;

	ck_assert_int_eq(weft_group_open(&g), 0);
	ck_assert_int_eq(weft_task_spawn(NULL, spawn_after_yield, NULL, NULL), 0);
	ck_assert_int_eq(weft_group_start(g, fail_now, (void *)(intptr_t)-EIO, NULL, NULL), -EIO);
	ck_assert_int_eq(weft_group_close(g), 0);
	return 0;
}

START_TEST(group_start_child_freed_before_starter_runs)
{
	ck_assert_int_eq(run_main(m_start_fail_then_reuse, NULL), 0);
}
END_TEST

struct late {
	bool a_shielded, b_failed;
};

/* Times out with the scope around the group, cleans up in a shield until its sibling has failed
 * (and so cancelled the group), then returns the timeout. */
static int timeout_then_cleanup(void *arg)
{
	struct late *l = arg;
	weft_scope sh;
	int r = weft_sleep(LONG_SLEEP);

	ck_assert_int_eq(weft_scope_enter(&sh, WEFT_FOREVER, WEFT_SCOPE_SHIELD), 0);
	l->a_shielded = true;
	while (!l->b_failed)
		ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_scope_exit(&sh), 0);
	return r;
}

/* Times out too, but its cleanup fails: a real failure of the group. */
static int timeout_then_fail(void *arg)
{
	struct late *l = arg;
	weft_scope sh;

	ck_assert_int_eq(weft_sleep(LONG_SLEEP), -ETIMEDOUT);
	ck_assert_int_eq(weft_scope_enter(&sh, WEFT_FOREVER, WEFT_SCOPE_SHIELD), 0);
	while (!l->a_shielded)
		ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_scope_exit(&sh), 0);
	l->b_failed = true;
	return -EIO;
}

/* A child that returns the deadline of a scope around the group is not a failure, even if the
 * group was cancelled meanwhile (it was one: -ETIMEDOUT was compared with -ECANCELED, the
 * combined status of the group's scopes). */
static int m_timeout_after_group_cancel(void *arg)
{
	struct weft_group_error e[2];
	struct late l = {0};
	weft_group *g;
	weft_scope s;
	size_t n = 0;

	ck_assert_int_eq(weft_scope_enter(&s, weft_now() + 5 * WEFT_MSEC, 0), 0);
	ck_assert_int_eq(weft_group_open(&g), 0);
	ck_assert_int_eq(weft_group_spawn(g, timeout_then_cleanup, &l, NULL), 0);
	ck_assert_int_eq(weft_group_spawn(g, timeout_then_fail, &l, NULL), 0);
	ck_assert_int_eq(weft_group_close_errors(g, e, 2, &n), -EIO);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(e[0].status, -EIO);
	ck_assert_int_eq(weft_scope_exit(&s), -ETIMEDOUT);
	return 0;
}

START_TEST(group_timeout_not_failure_after_cancel)
{
	ck_assert_int_eq(run_main(m_timeout_after_group_cancel, NULL), 0);
}
END_TEST

struct late_spawn {
	weft_group *g;
	bool first_returning, second_ran;
};

static int set_flag_and_return(void *arg)
{
	*(bool *)arg = true;
	return 0;
}

/* A task outside the group: once the group's only child has returned (and so woken the closer),
 * spawns another child before the closer runs. */
static int spawn_into_closing(void *arg)
{
	struct late_spawn *ls = arg;

	while (!ls->first_returning)
		ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_group_spawn(ls->g, set_flag_and_return, &ls->second_ran, NULL), 0);
	return 0;
}

/* The close was woken with no child left, but a child arrived before it ran: close waits for
 * it too (it freed the group under the child). */
static int m_spawn_while_close_wakes(void *arg)
{
	struct late_spawn ls = {0};
	weft_task *x;

	ck_assert_int_eq(weft_group_open(&ls.g), 0);
	ck_assert_int_eq(weft_group_spawn(ls.g, set_flag_and_return, &ls.first_returning, NULL), 0);
	ck_assert_int_eq(weft_task_spawn(&x, spawn_into_closing, &ls, NULL), 0);
	ck_assert_int_eq(weft_group_close(ls.g), 0);
	ck_assert(ls.second_ran);
	ck_assert_int_eq(join_ok(x), 0);
	return 0;
}

START_TEST(group_spawn_while_close_wakes)
{
	ck_assert_int_eq(run_main(m_spawn_while_close_wakes, NULL), 0);
}
END_TEST

START_TEST(group_all_errors)
{
	ck_assert_int_eq(run_main(m_group_errors, NULL), 0);
	ck_assert_int_eq(run_main(m_group_child_cancelled_alone, NULL), 0);
}
END_TEST

static int return_42(void *arg)
{
	return 42;
}

static int m_wait_for_zero(void *arg)
{
	struct job jb;
	weft_task *t;
	int st = 0;

	/* Not run yet: cancelled, never given the turn it needs. It still runs (trio's rule), and
	 * what it returned is stored. */
	ck_assert_int_eq(weft_task_spawn(&t, return_42, NULL, NULL), 0);
	ck_assert_int_eq(weft_task_wait_for(t, 0, &st), -ETIMEDOUT);
	ck_assert_int_eq(st, 42);
	/* Parked: cancelled at once. */
	job_set(&jb, 5000, 0);
	ck_assert_int_eq(weft_task_spawn(&t, job_fn, &jb, NULL), 0);
	yield_until_parked(t);
	ck_assert_int_eq(weft_task_wait_for(t, 0, &st), -ETIMEDOUT);
	ck_assert_int_eq(st, -ECANCELED);
	/* Already done: its result. */
	ck_assert_int_eq(weft_task_spawn(&t, return_42, NULL, NULL), 0);
	while (!weft_task_done(t))
		ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_task_wait_for(t, 0, &st), 0);
	ck_assert_int_eq(st, 42);
	return 0;
}

START_TEST(wait_for_zero_timeout)
{
	ck_assert_int_eq(run_main(m_wait_for_zero, NULL), 0);
}
END_TEST

struct gjoiner {
	weft_task *target;
	int r, st;
};

static int join_it(void *arg)
{
	struct gjoiner *j = arg;

	j->r = weft_task_join(j->target, &j->st);
	return 0;
}

static int m_join_and_gather(void *arg)
{
	struct gjoiner j[2] = {0};
	struct job jb;
	weft_task *t, *jt[2];
	int st = 0;

	/* Two joiners and a gather on one task: each gets the status, the last frees it. */
	job_set(&jb, 2, 7);
	ck_assert_int_eq(weft_task_spawn(&t, job_fn, &jb, NULL), 0);
	for (int i = 0; i < 2; i++) {
		j[i].target = t;
		ck_assert_int_eq(weft_task_spawn(&jt[i], join_it, &j[i], NULL), 0);
	}
	ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_tasks_gather(&t, 1, &st, 0), 0);
	ck_assert_int_eq(st, 7);
	ck_assert_int_eq(weft_tasks_gather(jt, 2, NULL, 0), 0);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(j[i].r, 0);
		ck_assert_int_eq(j[i].st, st);
	}
	return 0;
}

START_TEST(join_many_and_gather)
{
	ck_assert_int_eq(run_main(m_join_and_gather, NULL), 0);
}
END_TEST

#define MANY 1000

static int many_fn(void *arg)
{
	int *count = arg;

	if (weft_sleep(WEFT_MSEC) == 0)
		(*count)++;
	return 0;
}

static int many_long_fn(void *arg)
{
	int *count = arg;
	int r = weft_sleep(LONG_SLEEP);

	if (r == -ECANCELED)
		(*count)++;
	return r;
}

static int m_group_many(void *arg)
{
	weft_group *g;
	struct job fail;
	int count = 0;
	int64_t t0 = weft_now();

	ck_assert_int_eq(weft_group_open(&g), 0);
	for (int i = 0; i < MANY; i++)
		ck_assert_int_eq(weft_group_spawn(g, many_fn, &count, NULL), 0);
	ck_assert_int_eq(weft_group_close(g), 0);
	ck_assert_int_eq(count, MANY);

	/* And a thousand cancelled by one failure. */
	count = 0;
	job_set(&fail, 5, -EIO);
	ck_assert_int_eq(weft_group_open(&g), 0);
	for (int i = 0; i < MANY; i++)
		ck_assert_int_eq(weft_group_spawn(g, many_long_fn, &count, NULL), 0);
	ck_assert_int_eq(weft_group_spawn(g, job_fn, &fail, NULL), 0);
	ck_assert_int_eq(weft_group_close(g), -EIO);
	ck_assert_int_eq(count, MANY);
	ck_assert_int_lt(weft_now() - t0, WELL_BEFORE);
	return 0;
}

START_TEST(group_thousand_children)
{
	ck_assert_int_eq(run_main(m_group_many, NULL), 0);
}
END_TEST

static Suite *group_suite(void)
{
	Suite *s = suite_create("group");
	TCase *tc;

	tc = tcase_create("gather");
	tcase_add_test(tc, gather_statuses_in_order);
	tcase_add_test(tc, gather_first_failure_in_completion_order);
	tcase_add_test(tc, gather_fail_fast);
	tcase_add_test(tc, gather_caller_cancelled);
	tcase_add_test(tc, gather_deadline);
	tcase_add_test(tc, gather_bad_args);
	suite_add_tcase(s, tc);

	tc = tcase_create("wait");
	tcase_add_test(tc, wait_first_completed);
	tcase_add_test(tc, wait_first_exception);
	tcase_add_test(tc, wait_all_completed);
	tcase_add_test(tc, wait_timeout);
	tcase_add_test(tc, wait_cancelled);
	tcase_add_test(tc, wait_bad_args);
	suite_add_tcase(s, tc);

	tc = tcase_create("as_completed");
	tcase_add_test(tc, as_completed_order);
	tcase_add_test(tc, as_completed_free_early);
	tcase_add_test(tc, as_completed_cancelled);
	tcase_add_test(tc, as_completed_bad_args);
	suite_add_tcase(s, tc);

	tc = tcase_create("wait_for");
	tcase_add_test(tc, wait_for_in_time_and_timeout);
	tcase_add_test(tc, wait_for_caller_cancelled);
	tcase_add_test(tc, join_never_cancels_joined);
	suite_add_tcase(s, tc);

	tc = tcase_create("nursery");
	tcase_add_test(tc, group_children_joined_at_close);
	tcase_add_test(tc, group_child_failure_cancels_siblings);
	tcase_add_test(tc, group_opener_cancelled_in_close);
	tcase_add_test(tc, group_cancel);
	tcase_add_test(tc, group_children_spawn_children);
	tcase_add_test(tc, group_nested);
	tcase_add_test(tc, group_close_not_innermost);
	tcase_add_test(tc, group_scope_deadline);
	tcase_add_test(tc, group_thousand_children);
	tcase_add_test(tc, group_children_inherit_scopes);
	tcase_add_test(tc, group_start);
	tcase_add_test(tc, group_all_errors);
	tcase_add_test(tc, group_spawn_while_close_wakes);
	tcase_add_test(tc, group_start_child_freed_before_starter_runs);
	tcase_add_test(tc, group_timeout_not_failure_after_cancel);
	tcase_add_test(tc, wait_for_zero_timeout);
	tcase_add_test(tc, join_many_and_gather);
	suite_add_tcase(s, tc);
	return s;
}

WEFT_CHECK_MAIN(group_suite)
