/* SPDX-License-Identifier: MIT */
/*
 * Fiber synchronization: locks, semaphores, conditions, events, barriers and the scoped guards.
 * Fairness (FIFO, no barging), cancellation and deadlines of queued waiters (in the middle of a
 * queue, and right after a hand-off), misuse errors, and freeing.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <weft.h>
#include <weft/sync.h>
#include "check_main.h"

/* ---- helpers ------------------------------------------------------------------------------ */

/* The order in which tasks got what they waited for. */
static int order[64];
static int norder;

static void log_id(int id)
{
	ck_assert_int_lt(norder, 64);
	order[norder++] = id;
}

static void expect_order(const int *want, int n)
{
	ck_assert_int_eq(norder, n);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(order[i], want[i]);
}

static void run_main(int (*fn)(void *), void *arg)
{
	norder = 0;
	ck_assert_int_eq(weft_run(fn, arg, NULL), 0);
}

/* Let other tasks run until @t is parked (spawned tasks start on a later turn). */
static void wait_parked(weft_task *t)
{
	for (int i = 0; i < 100 && weft_task_state(t) != WEFT_TASK_PARKED; i++)
		ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_task_state(t), WEFT_TASK_PARKED);
}

static void yield_n(int n)
{
	while (n--)
		ck_assert_int_eq(weft_yield(), 0);
}

static int join(weft_task *t)
{
	int status = 12345;

	ck_assert_int_eq(weft_task_join(t, &status), 0);
	return status;
}

/* A task that takes something, logs its id, and (unless @keep) gives it back. */
enum op { OP_LOCK, OP_SEM, OP_EVENT, OP_COND, OP_BARRIER };

struct job {
	enum op op;
	void *obj;
	int id;
	int64_t deadline; /* 0: no scope */
	bool keep;	  /* keep the lock / permit */
	int ret;	  /* what the wait returned */
	bool returned;
	bool held_after; /* OP_COND: the lock was held when the wait returned */
};

static int job_task(void *arg)
{
	struct job *j = arg;
	weft_scope scope;

	if (j->op == OP_COND)
		ck_assert_int_eq(weft_lock_acquire(weft_cond_lock(j->obj)), 0);
	if (j->deadline)
		ck_assert_int_eq(weft_scope_enter(&scope, j->deadline, 0), 0);
	switch (j->op) {
	case OP_LOCK:
		j->ret = weft_lock_acquire(j->obj);
		break;
	case OP_SEM:
		j->ret = weft_sem_acquire(j->obj);
		break;
	case OP_EVENT:
		j->ret = weft_event_wait(j->obj);
		break;
	case OP_COND:
		j->ret = weft_cond_wait(j->obj);
		break;
	case OP_BARRIER:
		j->ret = weft_barrier_wait(j->obj);
		break;
	}
	j->returned = true;
	if (j->deadline)
		weft_scope_exit(&scope);
	if (j->ret >= 0)
		log_id(j->id);
	if (j->op == OP_COND) {
		j->held_after = weft_lock_locked(weft_cond_lock(j->obj));
		if (!j->keep)
			ck_assert_int_eq(weft_lock_release(weft_cond_lock(j->obj)), 0);
	} else if (j->ret == 0 && !j->keep) {
		if (j->op == OP_LOCK)
			ck_assert_int_eq(weft_lock_release(j->obj), 0);
		else if (j->op == OP_SEM)
			ck_assert_int_eq(weft_sem_release(j->obj), 0);
	}
	return j->ret;
}

static weft_task *spawn_job(struct job *j, enum op op, void *obj, int id)
{
	weft_task *t;

	*j = (struct job){.op = op, .obj = obj, .id = id, .ret = 12345};
	ck_assert_int_eq(weft_task_spawn(&t, job_task, j, NULL), 0);
	return t;
}

/* Spawn a job and let it reach its wait. */
static weft_task *spawn_parked(struct job *j, enum op op, void *obj, int id)
{
	weft_task *t = spawn_job(j, op, obj, id);

	wait_parked(t);
	return t;
}

static weft_lock *new_lock(void)
{
	weft_lock *l = NULL;

	ck_assert_int_eq(weft_lock_new(NULL, &l), 0);
	ck_assert_ptr_nonnull(l);
	return l;
}

static weft_sem *new_sem(unsigned value, unsigned max)
{
	weft_sem *s = NULL;

	ck_assert_int_eq(weft_sem_new(NULL, &s, value, max), 0);
	ck_assert_ptr_nonnull(s);
	return s;
}

/* ---- lock --------------------------------------------------------------------------------- */

static int lock_basic_main(void *arg)
{
	weft_lock *l = new_lock();

	ck_assert(!weft_lock_locked(l));
	ck_assert_int_eq(weft_lock_release(l), -EPERM); /* unlocked */
	ck_assert_int_eq(weft_lock_acquire(l), 0);
	ck_assert(weft_lock_locked(l));
	ck_assert_int_eq(weft_lock_acquire(l), -EDEADLK);
	ck_assert_int_eq(weft_lock_try_acquire(l), -EDEADLK);
	ck_assert_int_eq(weft_lock_release(l), 0);
	ck_assert(!weft_lock_locked(l));
	ck_assert_int_eq(weft_lock_release(l), -EPERM);
	ck_assert_int_eq(weft_lock_try_acquire(l), 0);
	ck_assert(weft_lock_locked(l));
	ck_assert_int_eq(weft_lock_release(l), 0);
	ck_assert_int_eq(weft_lock_free(l), 0);
	return 0;
}

START_TEST(lock_basic)
{
	run_main(lock_basic_main, NULL);
}
END_TEST

static int release_other_task(void *arg)
{
	ck_assert_int_eq(weft_lock_try_acquire(arg), -EAGAIN);
	return weft_lock_release(arg);
}

static void release_cb(void *arg)
{
	ck_assert_int_eq(weft_lock_release(arg), -EPERM);
}

static int lock_not_owner_main(void *arg)
{
	weft_lock *l = new_lock();
	weft_task *t;

	ck_assert_int_eq(weft_lock_acquire(l), 0);
	ck_assert_int_eq(weft_task_spawn(&t, release_other_task, l, NULL), 0);
	ck_assert_int_eq(join(t), -EPERM);
	ck_assert_int_eq(weft_loop_call_soon(weft_loop_current(), release_cb, l), 0);
	yield_n(3);
	ck_assert(weft_lock_locked(l)); /* neither released it */
	ck_assert_int_eq(weft_lock_release(l), 0);
	ck_assert_int_eq(weft_lock_free(l), 0);
	return 0;
}

START_TEST(lock_release_not_owner)
{
	run_main(lock_not_owner_main, NULL);
}
END_TEST

static int lock_fifo_main(void *arg)
{
	static const int want[] = {0, 1, 2, 3, 4};
	weft_lock *l = new_lock();
	struct job j[5];
	weft_task *t[5];

	ck_assert_int_eq(weft_lock_acquire(l), 0);
	for (int i = 0; i < 5; i++)
		t[i] = spawn_parked(&j[i], OP_LOCK, l, i);
	ck_assert_int_eq(weft_lock_free(l), -EBUSY);
	ck_assert_int_eq(weft_lock_release(l), 0);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(join(t[i]), 0);
	expect_order(want, 5);
	ck_assert(!weft_lock_locked(l));
	ck_assert_int_eq(weft_lock_free(l), 0);
	return 0;
}

START_TEST(lock_fifo)
{
	run_main(lock_fifo_main, NULL);
}
END_TEST

/* Releasing and re-acquiring at once must queue behind the waiter, not barge ahead of it. */
static int lock_no_barging_main(void *arg)
{
	static const int want[] = {1, 0};
	weft_lock *l = new_lock();
	struct job j;
	weft_task *t;

	ck_assert_int_eq(weft_lock_acquire(l), 0);
	t = spawn_parked(&j, OP_LOCK, l, 1);
	ck_assert_int_eq(weft_lock_release(l), 0);
	ck_assert(weft_lock_locked(l)); /* handed to the waiter, not unlocked */
	ck_assert_int_eq(weft_lock_try_acquire(l), -EAGAIN);
	ck_assert_int_eq(weft_lock_acquire(l), 0);
	log_id(0);
	ck_assert(j.returned);
	ck_assert_int_eq(weft_lock_release(l), 0);
	ck_assert_int_eq(join(t), 0);
	expect_order(want, 2);
	ck_assert_int_eq(weft_lock_free(l), 0);
	return 0;
}

START_TEST(lock_no_barging)
{
	run_main(lock_no_barging_main, NULL);
}
END_TEST

static int lock_cancel_middle_main(void *arg)
{
	static const int want[] = {0, 2, 3};
	weft_lock *l = new_lock();
	struct job j[4];
	weft_task *t[4];

	ck_assert_int_eq(weft_lock_acquire(l), 0);
	for (int i = 0; i < 4; i++)
		t[i] = spawn_parked(&j[i], OP_LOCK, l, i);
	ck_assert_int_eq(weft_task_cancel(t[1]), 0);
	ck_assert_int_eq(join(t[1]), -ECANCELED); /* returns while the lock is still held */
	ck_assert(weft_lock_locked(l));
	ck_assert_int_eq(weft_lock_release(l), 0);
	for (int i = 0; i < 4; i += i == 0 ? 2 : 1)
		ck_assert_int_eq(join(t[i]), 0);
	expect_order(want, 3);
	ck_assert(!weft_lock_locked(l));
	ck_assert_int_eq(weft_lock_free(l), 0);
	return 0;
}

START_TEST(lock_cancel_middle)
{
	run_main(lock_cancel_middle_main, NULL);
}
END_TEST

/* The waiter was handed the lock and woken; a cancel before it runs must not lose the lock. */
static int owner_after_cancel_task(void *arg)
{
	weft_lock *l = arg;

	ck_assert_int_eq(weft_lock_acquire(l), 0);
	ck_assert(weft_task_cancelled(weft_task_current()));
	ck_assert_int_eq(weft_sleep(WEFT_MSEC), -ECANCELED); /* the cancel shows next time */
	ck_assert_int_eq(weft_lock_release(l), 0);	     /* it owned the lock */
	return 7;
}

static int lock_cancel_after_handoff_main(void *arg)
{
	weft_lock *l = new_lock();
	weft_task *t, *u;
	struct job j;

	ck_assert_int_eq(weft_lock_acquire(l), 0);
	ck_assert_int_eq(weft_task_spawn(&t, owner_after_cancel_task, l, NULL), 0);
	wait_parked(t);
	u = spawn_parked(&j, OP_LOCK, l, 1); /* queued behind */
	ck_assert_int_eq(weft_lock_release(l), 0);
	ck_assert_int_eq(weft_task_cancel(t), 0);
	ck_assert_int_eq(join(t), 7);
	ck_assert_int_eq(join(u), 0); /* the lock went on to the next waiter */
	ck_assert(!weft_lock_locked(l));
	ck_assert_int_eq(weft_lock_try_acquire(l), 0);
	ck_assert_int_eq(weft_lock_release(l), 0);
	ck_assert_int_eq(weft_lock_free(l), 0);
	return 0;
}

START_TEST(lock_cancel_after_handoff)
{
	run_main(lock_cancel_after_handoff_main, NULL);
}
END_TEST

static int lock_deadline_main(void *arg)
{
	static const int want[] = {0, 2};
	weft_lock *l = new_lock();
	struct job j[3];
	weft_task *t[3];
	weft_scope s;
	int64_t start;

	ck_assert_int_eq(weft_lock_acquire(l), 0);
	for (int i = 0; i < 3; i++) {
		t[i] = spawn_job(&j[i], OP_LOCK, l, i);
		if (i == 1)
			j[i].deadline = weft_now() + 20 * WEFT_MSEC;
		wait_parked(t[i]);
	}
	/* A waiter in the middle times out; the others keep their places. */
	ck_assert_int_eq(join(t[1]), -ETIMEDOUT);
	ck_assert_int_eq(weft_lock_release(l), 0);
	ck_assert_int_eq(join(t[0]), 0);
	ck_assert_int_eq(join(t[2]), 0);
	expect_order(want, 2);

	/* Our own deadline: blocked on a held lock. */
	t[0] = spawn_job(&j[0], OP_LOCK, l, 0);
	j[0].keep = true;
	yield_n(2);
	ck_assert(weft_lock_locked(l));
	start = weft_now();
	ck_assert_int_eq(weft_scope_enter(&s, start + 10 * WEFT_MSEC, 0), 0);
	ck_assert_int_eq(weft_lock_acquire(l), -ETIMEDOUT);
	ck_assert_int_eq(weft_scope_exit(&s), -ETIMEDOUT);
	ck_assert_int_ge(weft_now(), start + 10 * WEFT_MSEC);
	ck_assert_int_eq(join(t[0]), 0);
	ck_assert(weft_lock_locked(l)); /* still the finished task's: nobody else may release */
	ck_assert_int_eq(weft_lock_release(l), -EPERM);
	ck_assert_int_eq(weft_lock_free(l), 0); /* held, but nobody waits */

	/* A past deadline fails even a lock that is free: acquire is a checkpoint. */
	l = new_lock();
	ck_assert_int_eq(weft_scope_enter(&s, weft_now() - 1, 0), 0);
	ck_assert_int_eq(weft_lock_acquire(l), -ETIMEDOUT);
	ck_assert_int_eq(weft_lock_try_acquire(l), 0); /* never a checkpoint */
	ck_assert_int_eq(weft_lock_release(l), 0);
	ck_assert_int_eq(weft_scope_exit(&s), -ETIMEDOUT);
	ck_assert_int_eq(weft_lock_free(l), 0);
	return 0;
}

START_TEST(lock_deadline)
{
	run_main(lock_deadline_main, NULL);
}
END_TEST

static int cancelled_acquire_task(void *arg)
{
	weft_lock *l = arg;
	weft_scope shield;

	ck_assert_int_eq(weft_sleep(WEFT_SEC), -ECANCELED);
	ck_assert_int_eq(weft_lock_acquire(l), -ECANCELED);
	ck_assert(!weft_lock_locked(l));
	/* Cleanup in a shield may block, and so may take the lock. */
	ck_assert_int_eq(weft_scope_enter(&shield, WEFT_FOREVER, WEFT_SCOPE_SHIELD), 0);
	ck_assert_int_eq(weft_lock_acquire(l), 0);
	ck_assert_int_eq(weft_lock_release(l), 0);
	ck_assert_int_eq(weft_scope_exit(&shield), 0);
	return 0;
}

static int lock_cancelled_task_main(void *arg)
{
	weft_lock *l = new_lock();
	weft_task *t;

	ck_assert_int_eq(weft_task_spawn(&t, cancelled_acquire_task, l, NULL), 0);
	wait_parked(t);
	ck_assert_int_eq(weft_task_cancel(t), 0);
	ck_assert_int_eq(join(t), 0);
	ck_assert_int_eq(weft_lock_free(l), 0);
	return 0;
}

START_TEST(lock_cancelled_task)
{
	run_main(lock_cancelled_task_main, NULL);
}
END_TEST

/* A task that gives a lock up after a short sleep; the hand-off must wake the waiter. */
static int hold_then_release_task(void *arg)
{
	ck_assert_int_eq(weft_lock_acquire(arg), 0);
	ck_assert_int_eq(weft_sleep(2 * WEFT_MSEC), 0);
	ck_assert_int_eq(weft_lock_release(arg), 0);
	return 0;
}

static int lock_contended_main(void *arg)
{
	weft_lock *l = new_lock();
	weft_task *t;

	ck_assert_int_eq(weft_task_spawn(&t, hold_then_release_task, l, NULL), 0);
	yield_n(1);
	ck_assert(weft_lock_locked(l));
	ck_assert_int_eq(weft_lock_try_acquire(l), -EAGAIN);
	ck_assert_int_eq(weft_lock_acquire(l), 0); /* parks until the hand-off wakes us */
	ck_assert_int_eq(weft_lock_release(l), 0);
	ck_assert_int_eq(join(t), 0);
	ck_assert_int_eq(weft_lock_free(l), 0);
	return 0;
}

START_TEST(lock_contended)
{
	run_main(lock_contended_main, NULL);
}
END_TEST

/* ---- guards ------------------------------------------------------------------------------- */

static int guarded(weft_lock *l, int when)
{
	int err;
	WEFT_LOCK_GUARD(g, l, err);

	if (err)
		return err;
	ck_assert(weft_lock_locked(l));
	if (when == 0)
		return 10; /* early return */
	for (int i = 0; i < 3; i++) {
		WEFT_LOCK_GUARD(inner, l, err); /* already held by us: nothing to release */
		ck_assert_int_eq(err, -EDEADLK);
		if (i == 1)
			break;
	}
	ck_assert(weft_lock_locked(l));
	if (when == 1) {
		ck_assert_int_eq(weft_lock_guard_release(&g), 0);
		ck_assert(!weft_lock_locked(l));
		ck_assert_int_eq(weft_lock_guard_release(&g), 0); /* empty now */
		return 11;
	}
	return 12; /* falls to the closing brace */
}

static int sem_guarded(weft_sem *s, bool fail)
{
	int err;
	WEFT_SEM_GUARD(g, s, err);

	if (err)
		return err;
	ck_assert_int_eq(weft_sem_value(s), 0);
	if (fail)
		return -EIO;
	return 0;
}

static int guard_main(void *arg)
{
	weft_lock *l = new_lock();
	weft_sem *s = new_sem(1, 1);
	weft_scope sc;

	for (int when = 0; when < 3; when++) {
		ck_assert_int_eq(guarded(l, when), 10 + when);
		ck_assert(!weft_lock_locked(l));
	}
	/* A failed acquire leaves the guard empty: the lock stays with whoever holds it. */
	ck_assert_int_eq(weft_scope_enter(&sc, weft_now() - 1, 0), 0);
	ck_assert_int_eq(guarded(l, 0), -ETIMEDOUT);
	ck_assert_int_eq(sem_guarded(s, false), -ETIMEDOUT);
	weft_scope_exit(&sc);
	ck_assert_int_eq(weft_sem_value(s), 1);

	ck_assert_int_eq(sem_guarded(s, true), -EIO);
	ck_assert_int_eq(weft_sem_value(s), 1); /* released on the early return */
	ck_assert_int_eq(sem_guarded(s, false), 0);
	ck_assert_int_eq(weft_sem_value(s), 1); /* no over-release of the bounded semaphore */
	ck_assert_int_eq(weft_lock_free(l), 0);
	ck_assert_int_eq(weft_sem_free(s), 0);
	return 0;
}

START_TEST(guards)
{
	run_main(guard_main, NULL);
}
END_TEST

/* ---- semaphore ---------------------------------------------------------------------------- */

static int sem_counting_main(void *arg)
{
	weft_sem *s = new_sem(2, WEFT_SEM_VALUE_MAX);

	ck_assert_int_eq(weft_sem_value(s), 2);
	ck_assert_int_eq(weft_sem_acquire(s), 0);
	ck_assert_int_eq(weft_sem_try_acquire(s), 0);
	ck_assert_int_eq(weft_sem_value(s), 0);
	ck_assert_int_eq(weft_sem_try_acquire(s), -EAGAIN);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(weft_sem_release(s), 0); /* unbounded: above the start value */
	ck_assert_int_eq(weft_sem_value(s), 5);
	for (int i = 0; i < 5; i++)
		ck_assert_int_eq(weft_sem_acquire(s), 0);
	ck_assert_int_eq(weft_sem_value(s), 0);
	ck_assert_int_eq(weft_sem_free(s), 0);

	/* Bounded: BoundedSemaphore(1), and a semaphore starting empty with room for 2. */
	s = new_sem(1, 1);
	ck_assert_int_eq(weft_sem_release(s), -EOVERFLOW);
	ck_assert_int_eq(weft_sem_value(s), 1);
	ck_assert_int_eq(weft_sem_acquire(s), 0);
	ck_assert_int_eq(weft_sem_release(s), 0);
	ck_assert_int_eq(weft_sem_release(s), -EOVERFLOW);
	ck_assert_int_eq(weft_sem_value(s), 1);
	ck_assert_int_eq(weft_sem_free(s), 0);
	s = new_sem(0, 2);
	ck_assert_int_eq(weft_sem_release(s), 0);
	ck_assert_int_eq(weft_sem_release(s), 0);
	ck_assert_int_eq(weft_sem_release(s), -EOVERFLOW);
	ck_assert_int_eq(weft_sem_value(s), 2);
	ck_assert_int_eq(weft_sem_free(s), 0);

	/* The largest count. */
	s = new_sem(WEFT_SEM_VALUE_MAX, WEFT_SEM_VALUE_MAX);
	ck_assert_int_eq(weft_sem_value(s), (int)WEFT_SEM_VALUE_MAX);
	ck_assert_int_eq(weft_sem_release(s), -EOVERFLOW);
	ck_assert_int_eq(weft_sem_free(s), 0);
	return 0;
}

START_TEST(sem_counting)
{
	run_main(sem_counting_main, NULL);
}
END_TEST

static void sem_release_cb(void *arg)
{
	ck_assert_int_eq(weft_sem_release(arg), 0);
}

static int sem_fifo_main(void *arg)
{
	static const int want[] = {0, 1, 2, 3};
	weft_sem *s = new_sem(0, 1); /* bounded at 1, yet four hand-offs in a row are fine */
	struct job j[4];
	weft_task *t[4];

	for (int i = 0; i < 4; i++) {
		t[i] = spawn_parked(&j[i], OP_SEM, s, i);
		j[i].keep = true;
	}
	ck_assert_int_eq(weft_sem_free(s), -EBUSY);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(weft_sem_release(s), 0);
		ck_assert_int_eq(weft_sem_value(s), 0); /* handed over, not counted */
		ck_assert_int_eq(weft_sem_try_acquire(s), -EAGAIN);
	}
	/* A release from loop callback code (a timer, an I/O callback) hands over too. */
	ck_assert_int_eq(weft_loop_call_soon(weft_loop_current(), sem_release_cb, s), 0);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(join(t[i]), 0);
	expect_order(want, 4);
	ck_assert_int_eq(weft_sem_value(s), 0);
	ck_assert_int_eq(weft_sem_release(s), 0);
	ck_assert_int_eq(weft_sem_release(s), -EOVERFLOW);
	ck_assert_int_eq(weft_sem_free(s), 0);
	return 0;
}

START_TEST(sem_fifo)
{
	run_main(sem_fifo_main, NULL);
}
END_TEST

/* ---- asyncio's semaphore FIFO order (CPython test_locks: test_acquire_fifo_order_2..4) -- */

struct fifo_case {
	weft_sem *sem;
	weft_task *t4;
	bool saw_locked;
};

static int fifo2_c1(void *arg)
{
	struct fifo_case *fc = arg;

	ck_assert_int_eq(weft_sem_acquire(fc->sem), 0);
	log_id(1);
	return 0;
}

static int fifo2_c2(void *arg)
{
	struct fifo_case *fc = arg;

	ck_assert_int_eq(weft_sem_acquire(fc->sem), 0);
	log_id(2);
	ck_assert_int_eq(weft_sem_release(fc->sem), 0);
	/* c3 was handed a permit but has not run: it still counts as waiting, so this queues. */
	ck_assert_int_eq(weft_sem_acquire(fc->sem), 0);
	log_id(4);
	return 0;
}

static int fifo2_c3(void *arg)
{
	struct fifo_case *fc = arg;

	ck_assert_int_eq(weft_sem_acquire(fc->sem), 0);
	log_id(3);
	return 0;
}

static int sem_fifo2_main(void *arg)
{
	static const int want[] = {1, 2, 3, 4};
	struct fifo_case fc = {.sem = new_sem(1, WEFT_SEM_VALUE_MAX)};
	weft_task *t[3];

	ck_assert_int_eq(weft_task_spawn(&t[0], fifo2_c1, &fc, NULL), 0);
	ck_assert_int_eq(weft_task_spawn(&t[1], fifo2_c2, &fc, NULL), 0);
	ck_assert_int_eq(weft_task_spawn(&t[2], fifo2_c3, &fc, NULL), 0);
	ck_assert_int_eq(weft_yield(), 0); /* asyncio.sleep(0): each has run to its first wait */
	ck_assert_int_eq(weft_sem_release(fc.sem), 0);
	ck_assert_int_eq(weft_sem_release(fc.sem), 0);
	ck_assert_int_eq(weft_tasks_gather(t, 3, NULL, 0), 0);
	expect_order(want, 4);
	ck_assert_int_eq(weft_sem_free(fc.sem), 0);
	return 0;
}

static int fifo3_c1(void *arg)
{
	struct fifo_case *fc = arg;
	int r = weft_sem_acquire(fc->sem);

	if (!r)
		log_id(1);
	return r;
}

static int fifo3_c2(void *arg)
{
	struct fifo_case *fc = arg;

	ck_assert_int_eq(weft_sem_acquire(fc->sem), 0);
	log_id(2);
	return 0;
}

static int sem_fifo3_main(void *arg)
{
	static const int want[] = {2, 3};
	struct fifo_case fc = {.sem = new_sem(0, WEFT_SEM_VALUE_MAX)};
	weft_task *t[3];
	int st[3];

	ck_assert_int_eq(weft_task_spawn(&t[0], fifo3_c1, &fc, NULL), 0);
	ck_assert_int_eq(weft_task_spawn(&t[1], fifo3_c2, &fc, NULL), 0);
	ck_assert_int_eq(weft_task_spawn(&t[2], fifo2_c3, &fc, NULL), 0);
	ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_task_cancel(t[0]), 0);
	ck_assert_int_eq(weft_yield(), 0);
	ck_assert_int_eq(weft_sem_release(fc.sem), 0);
	ck_assert_int_eq(weft_sem_release(fc.sem), 0);
	ck_assert_int_eq(weft_tasks_gather(t, 3, st, 0), -ECANCELED);
	ck_assert_int_eq(st[0], -ECANCELED); /* it took nothing: both permits went on */
	expect_order(want, 2);
	ck_assert_int_eq(weft_sem_value(fc.sem), 0);
	ck_assert_int_eq(weft_sem_free(fc.sem), 0);
	return 0;
}

static int fifo4_c4(void *arg)
{
	log_id(4);
	return 0;
}

static int fifo4_c1(void *arg)
{
	struct fifo_case *fc = arg;

	ck_assert_int_eq(weft_sem_value(fc->sem), 0);
	ck_assert_int_eq(weft_sem_acquire(fc->sem), 0);
	/* Running, it let the permits released meanwhile go to c2 and c3: c4 comes after them. */
	ck_assert_int_eq(weft_sem_value(fc->sem), 0);
	ck_assert_int_eq(weft_task_spawn(&fc->t4, fifo4_c4, NULL, NULL), 0);
	log_id(1);
	return 0;
}

static int fifo4_c2(void *arg)
{
	struct fifo_case *fc = arg;

	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(weft_sem_release(fc->sem), 0);
	ck_assert_int_eq(weft_sem_value(fc->sem), 2);
	ck_assert_int_eq(weft_sem_try_acquire(fc->sem), -EAGAIN); /* locked: c1 has not woken */
	ck_assert_int_eq(weft_sem_acquire(fc->sem), 0);
	log_id(2);
	return 0;
}

static int sem_fifo4_main(void *arg)
{
	static const int want[] = {1, 2, 3, 4};
	struct fifo_case fc = {.sem = new_sem(0, WEFT_SEM_VALUE_MAX)};
	weft_task *t[3];

	ck_assert_int_eq(weft_task_spawn(&t[0], fifo4_c1, &fc, NULL), 0);
	ck_assert_int_eq(weft_task_spawn(&t[1], fifo4_c2, &fc, NULL), 0);
	ck_assert_int_eq(weft_task_spawn(&t[2], fifo2_c3, &fc, NULL), 0);
	ck_assert_int_eq(weft_tasks_gather(t, 3, NULL, 0), 0);
	ck_assert_ptr_nonnull(fc.t4);
	ck_assert_int_eq(join(fc.t4), 0);
	expect_order(want, 4);
	ck_assert_int_eq(weft_sem_free(fc.sem), 0);
	return 0;
}

START_TEST(sem_fifo_asyncio)
{
	run_main(sem_fifo2_main, NULL);
	run_main(sem_fifo3_main, NULL);
	run_main(sem_fifo4_main, NULL);
}
END_TEST

static int sem_cancel_main(void *arg)
{
	static const int want[] = {0, 2, 3, 4};
	weft_sem *s = new_sem(0, WEFT_SEM_VALUE_MAX);
	struct job j[5];
	weft_task *t[5];
	weft_scope sc;

	for (int i = 0; i < 5; i++) {
		t[i] = spawn_job(&j[i], OP_SEM, s, i);
		j[i].keep = true;
		if (i == 3)
			j[i].deadline = weft_now() + 5 * WEFT_SEC; /* never reached */
		wait_parked(t[i]);
	}
	/* Cancelled in the middle: it leaves the queue with no permit. */
	ck_assert_int_eq(weft_task_cancel(t[1]), 0);
	ck_assert_int_eq(join(t[1]), -ECANCELED);
	ck_assert_int_eq(weft_sem_value(s), 0);
	ck_assert_int_eq(weft_sem_release(s), 0);
	ck_assert_int_eq(weft_sem_release(s), 0);
	/* Cancelled right after the hand-off: it keeps the permit it was given. */
	ck_assert_int_eq(weft_task_cancel(t[2]), 0);
	ck_assert_int_eq(join(t[0]), 0);
	ck_assert_int_eq(join(t[2]), 0);
	ck_assert_int_eq(weft_sem_release(s), 0);
	ck_assert_int_eq(weft_sem_release(s), 0);
	ck_assert_int_eq(join(t[3]), 0);
	ck_assert_int_eq(join(t[4]), 0);
	expect_order(want, 4);
	ck_assert_int_eq(weft_sem_value(s), 0);

	/* Deadline while waiting. */
	ck_assert_int_eq(weft_scope_enter(&sc, weft_now() + 10 * WEFT_MSEC, 0), 0);
	ck_assert_int_eq(weft_sem_acquire(s), -ETIMEDOUT);
	ck_assert_int_eq(weft_scope_exit(&sc), -ETIMEDOUT);
	ck_assert_int_eq(weft_sem_value(s), 0);
	ck_assert_int_eq(weft_sem_free(s), 0);
	return 0;
}

START_TEST(sem_cancel_and_deadline)
{
	run_main(sem_cancel_main, NULL);
}
END_TEST

/* ---- condition ---------------------------------------------------------------------------- */

static weft_cond *new_cond(weft_lock *lock)
{
	weft_cond *c = NULL;

	ck_assert_int_eq(weft_cond_new(NULL, &c, lock), 0);
	ck_assert_ptr_nonnull(c);
	return c;
}

static int cond_notify_main(void *arg)
{
	static const int want[] = {0, 1, 2, 3, 4};
	weft_cond *c = new_cond(NULL);
	weft_lock *l = weft_cond_lock(c);
	struct job j[5];
	weft_task *t[5];

	ck_assert_ptr_nonnull(l);
	/* Nobody waits: notifies are lost, not stored. */
	ck_assert_int_eq(weft_lock_acquire(l), 0);
	ck_assert_int_eq(weft_cond_notify(c), 0);
	ck_assert_int_eq(weft_cond_notify_all(c), 0);
	ck_assert_int_eq(weft_lock_release(l), 0);

	for (int i = 0; i < 5; i++)
		t[i] = spawn_parked(&j[i], OP_COND, c, i);
	ck_assert(!weft_lock_locked(l)); /* every waiter let go of it */
	ck_assert_int_eq(weft_cond_free(c), -EBUSY);

	/* notify wakes one, the longest waiter; it returns holding the lock. */
	ck_assert_int_eq(weft_lock_acquire(l), 0);
	ck_assert_int_eq(weft_cond_notify(c), 1);
	yield_n(3);
	ck_assert(!j[0].returned); /* it needs the lock we still hold */
	ck_assert_int_eq(weft_lock_release(l), 0);
	ck_assert_int_eq(join(t[0]), 0);
	ck_assert(j[0].held_after);
	ck_assert(!j[1].returned);

	/* notify_n(2) wakes the next two longest waiters (asyncio's notify(2)). */
	ck_assert_int_eq(weft_lock_acquire(l), 0);
	ck_assert_int_eq(weft_cond_notify_n(c, 2), 2);
	ck_assert_int_eq(weft_cond_notify_n(c, 0), 0);
	ck_assert_int_eq(weft_lock_release(l), 0);
	for (int i = 1; i < 3; i++) {
		ck_assert_int_eq(join(t[i]), 0);
		ck_assert(j[i].held_after);
	}
	ck_assert(!j[3].returned);

	/* notify_all wakes the rest, in order, each holding the lock in turn. */
	ck_assert_int_eq(weft_lock_acquire(l), 0);
	ck_assert_int_eq(weft_cond_notify_all(c), 2);
	ck_assert_int_eq(weft_lock_release(l), 0);
	for (int i = 3; i < 5; i++) {
		ck_assert_int_eq(join(t[i]), 0);
		ck_assert(j[i].held_after);
	}
	expect_order(want, 5);
	ck_assert(!weft_lock_locked(l));
	ck_assert_int_eq(weft_lock_free(l), -EBUSY); /* the condition's own lock */
	ck_assert_int_eq(weft_cond_free(c), 0);
	return 0;
}

START_TEST(cond_notify)
{
	run_main(cond_notify_main, NULL);
}
END_TEST

static int cond_misuse_main(void *arg)
{
	weft_lock *l = new_lock(), *other = new_lock();
	weft_cond *c = new_cond(l);
	struct job j;
	weft_task *t;

	ck_assert_ptr_eq(weft_cond_lock(c), l);
	ck_assert_int_eq(weft_cond_wait(c), -EPERM); /* lock not held */
	ck_assert_int_eq(weft_cond_notify(c), -EPERM);
	ck_assert_int_eq(weft_cond_notify_all(c), -EPERM);
	ck_assert_int_eq(weft_lock_acquire(other), 0);
	ck_assert_int_eq(weft_cond_wait(c), -EPERM); /* the wrong lock held */
	ck_assert_int_eq(weft_lock_release(other), 0);
	/* Held by another task. */
	t = spawn_job(&j, OP_LOCK, l, 0);
	j.keep = true;
	ck_assert_int_eq(join(t), 0);
	ck_assert(weft_lock_locked(l));
	ck_assert_int_eq(weft_cond_notify(c), -EPERM);
	ck_assert_int_eq(weft_cond_wait(c), -EPERM);
	ck_assert_int_eq(weft_lock_free(l), -EBUSY); /* the condition still uses it */
	ck_assert_int_eq(weft_cond_free(c), 0);
	ck_assert_int_eq(weft_lock_free(l), 0);
	ck_assert_int_eq(weft_lock_free(other), 0);
	return 0;
}

START_TEST(cond_misuse)
{
	run_main(cond_misuse_main, NULL);
}
END_TEST

struct counter {
	weft_cond *c;
	int value, target, checks;
};

static bool reached(void *arg)
{
	struct counter *k = arg;

	ck_assert(weft_lock_locked(weft_cond_lock(k->c)));
	k->checks++;
	return k->value >= k->target;
}

static int wait_for_task(void *arg)
{
	struct counter *k = arg;
	int r;

	ck_assert_int_eq(weft_lock_acquire(weft_cond_lock(k->c)), 0);
	r = weft_cond_wait_for(k->c, reached, k);
	ck_assert(weft_lock_locked(weft_cond_lock(k->c)));
	ck_assert_int_eq(weft_lock_release(weft_cond_lock(k->c)), 0);
	return r;
}

static int cond_wait_for_main(void *arg)
{
	struct counter k = {.c = new_cond(NULL), .target = 3};
	weft_lock *l = weft_cond_lock(k.c);
	weft_task *t;
	weft_scope s;

	ck_assert_int_eq(weft_task_spawn(&t, wait_for_task, &k, NULL), 0);
	wait_parked(t);
	ck_assert_int_eq(k.checks, 1);
	for (int i = 1; i <= 3; i++) {
		ck_assert_int_eq(weft_lock_acquire(l), 0);
		k.value = i;
		ck_assert_int_eq(weft_cond_notify_all(k.c), 1);
		ck_assert_int_eq(weft_lock_release(l), 0);
		if (i < 3)
			wait_parked(t); /* checked, still false: waiting again */
	}
	ck_assert_int_eq(join(t), 0); /* it stopped waiting as soon as the predicate held */
	ck_assert_int_eq(k.checks, 4);

	/* True at once: no blocking, so even a task past its deadline gets 0. */
	ck_assert_int_eq(weft_lock_acquire(l), 0);
	ck_assert_int_eq(weft_scope_enter(&s, weft_now() - 1, 0), 0);
	ck_assert_int_eq(weft_cond_wait_for(k.c, reached, &k), 0);
	ck_assert_int_eq(weft_cond_wait(k.c), -ETIMEDOUT); /* a plain wait is a checkpoint */
	ck_assert(weft_lock_locked(l));
	weft_scope_exit(&s);
	ck_assert_int_eq(weft_cond_wait_for(k.c, NULL, &k), -EINVAL);
	ck_assert_int_eq(weft_lock_release(l), 0);

	/* Never true: the deadline ends it, with the lock held. */
	k.target = 100;
	ck_assert_int_eq(weft_lock_acquire(l), 0);
	ck_assert_int_eq(weft_scope_enter(&s, weft_now() + 10 * WEFT_MSEC, 0), 0);
	ck_assert_int_eq(weft_cond_wait_for(k.c, reached, &k), -ETIMEDOUT);
	weft_scope_exit(&s);
	ck_assert(weft_lock_locked(l));
	ck_assert_int_eq(weft_lock_release(l), 0);
	ck_assert_int_eq(weft_cond_free(k.c), 0);
	return 0;
}

START_TEST(cond_wait_for)
{
	run_main(cond_wait_for_main, NULL);
}
END_TEST

/* A cancelled waiter returns -ECANCELED only once it holds the lock again. */
static int cond_cancel_main(void *arg)
{
	static const int want[] = {1, 2};
	weft_cond *c = new_cond(NULL);
	weft_lock *l = weft_cond_lock(c);
	struct job j[3], x;
	weft_task *t[3], *u;

	for (int i = 0; i < 3; i++)
		t[i] = spawn_parked(&j[i], OP_COND, c, i);
	ck_assert_int_eq(weft_lock_acquire(l), 0);
	ck_assert_int_eq(weft_task_cancel(t[0]), 0);
	yield_n(5);
	ck_assert(!j[0].returned); /* interrupted, but waiting for the lock we hold */
	ck_assert_int_eq(weft_task_state(t[0]), WEFT_TASK_PARKED);
	/* The cancelled waiter has left the condition's queue: notify reaches the next one. */
	ck_assert_int_eq(weft_cond_notify(c), 1);
	ck_assert_int_eq(weft_lock_release(l), 0);
	ck_assert_int_eq(join(t[0]), -ECANCELED);
	ck_assert(j[0].held_after);
	ck_assert_int_eq(join(t[1]), 0);
	ck_assert(j[1].held_after);

	/* Notified, then cancelled while queued for the lock: the wait succeeded, and a task
	 * queued on the lock before the notify gets it first. */
	ck_assert_int_eq(weft_lock_acquire(l), 0);
	u = spawn_parked(&x, OP_LOCK, l, 1);
	ck_assert_int_eq(weft_cond_notify(c), 1);
	ck_assert_int_eq(weft_task_cancel(t[2]), 0);
	norder = 0;
	ck_assert_int_eq(weft_lock_release(l), 0);
	ck_assert_int_eq(join(u), 0);
	ck_assert_int_eq(join(t[2]), 0);
	ck_assert(j[2].held_after);
	expect_order(want, 2);
	ck_assert(!weft_lock_locked(l));
	ck_assert_int_eq(weft_cond_free(c), 0);
	return 0;
}

START_TEST(cond_cancel)
{
	run_main(cond_cancel_main, NULL);
}
END_TEST

static int cond_cancelled_entry_task(void *arg)
{
	weft_cond *c = arg;

	ck_assert_int_eq(weft_lock_acquire(weft_cond_lock(c)), 0);
	ck_assert_int_eq(weft_sleep(WEFT_SEC), -ECANCELED);
	/* Fails at once and never lets go of the lock. */
	ck_assert_int_eq(weft_cond_wait(c), -ECANCELED);
	ck_assert_int_eq(weft_lock_release(weft_cond_lock(c)), 0);
	return 0;
}

static int cond_deadline_main(void *arg)
{
	weft_cond *c = new_cond(NULL);
	weft_lock *l = weft_cond_lock(c);
	struct job j;
	weft_task *t;

	/* Times out while another task holds the lock: returns once it gets the lock back. */
	t = spawn_job(&j, OP_COND, c, 0);
	j.deadline = weft_now() + 10 * WEFT_MSEC;
	wait_parked(t);
	ck_assert_int_eq(weft_lock_acquire(l), 0);
	ck_assert_int_eq(weft_sleep(30 * WEFT_MSEC), 0);
	ck_assert(!j.returned);
	ck_assert_int_eq(weft_lock_release(l), 0);
	ck_assert_int_eq(join(t), -ETIMEDOUT);
	ck_assert(j.held_after);

	ck_assert_int_eq(weft_task_spawn(&t, cond_cancelled_entry_task, c, NULL), 0);
	wait_parked(t);
	ck_assert_int_eq(weft_task_cancel(t), 0);
	ck_assert_int_eq(join(t), 0);
	ck_assert(!weft_lock_locked(l));
	ck_assert_int_eq(weft_cond_free(c), 0);
	return 0;
}

START_TEST(cond_deadline)
{
	run_main(cond_deadline_main, NULL);
}
END_TEST

/* ---- event -------------------------------------------------------------------------------- */

static weft_event *new_event(void)
{
	weft_event *e = NULL;

	ck_assert_int_eq(weft_event_new(NULL, &e), 0);
	ck_assert_ptr_nonnull(e);
	return e;
}

static int event_main(void *arg)
{
	weft_event *e = new_event();
	struct job j[10];
	weft_task *t[10];
	weft_scope s;

	ck_assert(!weft_event_is_set(e));
	for (int i = 0; i < 10; i++)
		t[i] = spawn_parked(&j[i], OP_EVENT, e, i);
	ck_assert_int_eq(weft_event_free(e), -EBUSY);
	/* Set, then cleared before the waiters run: they were woken, and stay woken. */
	ck_assert_int_eq(weft_event_set(e), 0);
	ck_assert(weft_event_is_set(e));
	ck_assert_int_eq(weft_event_clear(e), 0);
	ck_assert(!weft_event_is_set(e));
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(join(t[i]), 0);
	ck_assert_int_eq(norder, 10);

	/* Cleared: waits block again (until the deadline here). */
	ck_assert_int_eq(weft_scope_enter(&s, weft_now() + 10 * WEFT_MSEC, 0), 0);
	ck_assert_int_eq(weft_event_wait(e), -ETIMEDOUT);
	weft_scope_exit(&s);

	/* Set before the wait: no blocking, and twice is fine. */
	ck_assert_int_eq(weft_event_set(e), 0);
	ck_assert_int_eq(weft_event_set(e), 0);
	ck_assert_int_eq(weft_event_wait(e), 0);
	ck_assert_int_eq(weft_scope_enter(&s, weft_now() - 1, 0), 0);
	ck_assert_int_eq(weft_event_wait(e), 0); /* set: 0 even past the deadline */
	weft_scope_exit(&s);
	ck_assert_int_eq(weft_event_clear(e), 0);

	/* Cancelled waiter. */
	t[0] = spawn_parked(&j[0], OP_EVENT, e, 0);
	ck_assert_int_eq(weft_task_cancel(t[0]), 0);
	ck_assert_int_eq(join(t[0]), -ECANCELED);
	ck_assert_int_eq(weft_event_free(e), 0);
	return 0;
}

START_TEST(event_set_clear_wait)
{
	run_main(event_main, NULL);
}
END_TEST

static void event_set_cb(void *arg)
{
	ck_assert_int_eq(weft_event_set(arg), 0);
}

static int event_from_callback_main(void *arg)
{
	weft_event *e = new_event();
	weft_timer *tm;

	ck_assert_int_eq(weft_timer_new(weft_loop_current(), &tm, event_set_cb, e), 0);
	ck_assert_int_eq(weft_timer_start(tm, weft_now() + 2 * WEFT_MSEC, 0), 0);
	ck_assert_int_eq(weft_event_wait(e), 0);
	weft_timer_free(tm);
	ck_assert_int_eq(weft_event_free(e), 0);
	return 0;
}

START_TEST(event_set_from_callback)
{
	run_main(event_from_callback_main, NULL);
}
END_TEST

/* ---- barrier ------------------------------------------------------------------------------ */

#define PARTIES 4
#define ROUNDS	5

struct round_state {
	weft_barrier *b;
	int arrived[ROUNDS];
	int seen[ROUNDS][PARTIES];
	int last[ROUNDS];
};

static int barrier_party(void *arg)
{
	struct round_state *rs = arg;

	for (int r = 0; r < ROUNDS; r++) {
		int idx;

		rs->arrived[r]++;
		idx = weft_barrier_wait(rs->b);
		ck_assert_int_ge(idx, 0);
		ck_assert_int_lt(idx, PARTIES);
		ck_assert_int_eq(rs->arrived[r], PARTIES); /* nobody passes before all arrived */
		rs->seen[r][idx]++;
		if (idx == PARTIES - 1)
			rs->last[r]++;
		if (r % 2)
			ck_assert_int_eq(weft_yield(), 0); /* vary the arrival order */
	}
	return 0;
}

static int barrier_rounds_main(void *arg)
{
	struct round_state rs = {0};
	weft_task *t[PARTIES];

	ck_assert_int_eq(weft_barrier_new(NULL, &rs.b, PARTIES), 0);
	ck_assert_int_eq(weft_barrier_parties(rs.b), PARTIES);
	for (int i = 0; i < PARTIES; i++)
		ck_assert_int_eq(weft_task_spawn(&t[i], barrier_party, &rs, NULL), 0);
	for (int i = 0; i < PARTIES; i++)
		ck_assert_int_eq(join(t[i]), 0);
	for (int r = 0; r < ROUNDS; r++) {
		ck_assert_int_eq(rs.last[r], 1);
		for (int i = 0; i < PARTIES; i++)
			ck_assert_int_eq(rs.seen[r][i], 1); /* indices distinct */
	}
	ck_assert_int_eq(weft_barrier_waiting(rs.b), 0);
	ck_assert_int_eq(weft_barrier_free(rs.b), 0);

	/* One party: never blocks. */
	ck_assert_int_eq(weft_barrier_new(NULL, &rs.b, 1), 0);
	ck_assert_int_eq(weft_barrier_wait(rs.b), 0);
	ck_assert_int_eq(weft_barrier_wait(rs.b), 0);
	ck_assert_int_eq(weft_barrier_free(rs.b), 0);
	return 0;
}

START_TEST(barrier_rounds)
{
	run_main(barrier_rounds_main, NULL);
}
END_TEST

static void barrier_abort_cb(void *arg)
{
	ck_assert_int_eq(weft_barrier_abort(arg), 0);
}

static int barrier_abort_main(void *arg)
{
	weft_barrier *b;
	struct job j[3];
	weft_task *t[3];

	ck_assert_int_eq(weft_barrier_new(NULL, &b, 3), 0);
	t[0] = spawn_parked(&j[0], OP_BARRIER, b, 0);
	t[1] = spawn_parked(&j[1], OP_BARRIER, b, 1);
	ck_assert_int_eq(weft_barrier_waiting(b), 2);
	ck_assert_int_eq(weft_barrier_free(b), -EBUSY);
	ck_assert_int_eq(weft_loop_call_soon(weft_loop_current(), barrier_abort_cb, b), 0);
	ck_assert_int_eq(join(t[0]), -EPIPE);
	ck_assert_int_eq(join(t[1]), -EPIPE);
	ck_assert(weft_barrier_broken(b));
	ck_assert_int_eq(weft_barrier_waiting(b), 0);
	ck_assert_int_eq(weft_barrier_wait(b), -EPIPE); /* stays broken */

	/* Reset mends it; tasks waiting at the reset get -EPIPE. */
	ck_assert_int_eq(weft_barrier_reset(b), 0);
	ck_assert(!weft_barrier_broken(b));
	t[0] = spawn_parked(&j[0], OP_BARRIER, b, 0);
	ck_assert_int_eq(weft_barrier_reset(b), 0);
	ck_assert_int_eq(join(t[0]), -EPIPE);
	ck_assert(!weft_barrier_broken(b));

	/* A full round after the reset. */
	for (int i = 0; i < 2; i++)
		t[i] = spawn_parked(&j[i], OP_BARRIER, b, i);
	ck_assert_int_eq(weft_barrier_wait(b), 2);
	ck_assert_int_eq(join(t[0]), 0);
	ck_assert_int_eq(join(t[1]), 1);
	ck_assert_int_eq(weft_barrier_free(b), 0);
	return 0;
}

START_TEST(barrier_abort_reset)
{
	run_main(barrier_abort_main, NULL);
}
END_TEST

static int barrier_cancel_main(void *arg)
{
	weft_barrier *b;
	struct job j[3];
	weft_task *t[3];
	weft_scope s;

	ck_assert_int_eq(weft_barrier_new(NULL, &b, 3), 0);
	t[0] = spawn_parked(&j[0], OP_BARRIER, b, 0);
	t[1] = spawn_parked(&j[1], OP_BARRIER, b, 1);
	/* A cancelled waiter leaves the round: two others are needed again. */
	ck_assert_int_eq(weft_task_cancel(t[0]), 0);
	ck_assert_int_eq(join(t[0]), -ECANCELED);
	ck_assert_int_eq(weft_barrier_waiting(b), 1);
	ck_assert(!weft_barrier_broken(b));
	t[2] = spawn_parked(&j[2], OP_BARRIER, b, 2);
	ck_assert_int_eq(weft_barrier_waiting(b), 2);
	ck_assert_int_eq(weft_barrier_wait(b), 2);
	ck_assert_int_eq(join(t[1]), 0); /* indices by arrival among those still there */
	ck_assert_int_eq(join(t[2]), 1);

	/* Deadline. */
	ck_assert_int_eq(weft_scope_enter(&s, weft_now() + 10 * WEFT_MSEC, 0), 0);
	ck_assert_int_eq(weft_barrier_wait(b), -ETIMEDOUT);
	weft_scope_exit(&s);
	ck_assert_int_eq(weft_barrier_waiting(b), 0);
	ck_assert_int_eq(weft_barrier_free(b), 0);
	return 0;
}

START_TEST(barrier_cancel_deadline)
{
	run_main(barrier_cancel_main, NULL);
}
END_TEST

/* ---- misuse ------------------------------------------------------------------------------- */

static bool never(void *arg)
{
	return false;
}

START_TEST(bad_arguments)
{
	weft_loop *loop;
	weft_lock *l;
	weft_sem *s;
	weft_cond *c;
	weft_event *e;
	weft_barrier *b;

	ck_assert_int_eq(weft_loop_new(&loop, NULL), 0);
	ck_assert_int_eq(weft_lock_new(loop, NULL), -EINVAL);
	ck_assert_int_eq(weft_sem_new(loop, NULL, 0, 1), -EINVAL);
	ck_assert_int_eq(weft_sem_new(loop, &s, 0, 0), -EINVAL);
	ck_assert_int_eq(weft_sem_new(loop, &s, 2, 1), -EINVAL);
	ck_assert_int_eq(weft_sem_new(loop, &s, 0, WEFT_SEM_VALUE_MAX + 1u), -EINVAL);
	ck_assert_int_eq(weft_cond_new(loop, NULL, NULL), -EINVAL);
	ck_assert_int_eq(weft_event_new(loop, NULL), -EINVAL);
	ck_assert_int_eq(weft_barrier_new(loop, NULL, 2), -EINVAL);
	ck_assert_int_eq(weft_barrier_new(loop, &b, 0), -EINVAL);
	ck_assert_int_eq(weft_barrier_new(loop, &b, 0x80000000u), -EINVAL);

	ck_assert_int_eq(weft_lock_acquire(NULL), -EINVAL);
	ck_assert_int_eq(weft_lock_try_acquire(NULL), -EINVAL);
	ck_assert_int_eq(weft_lock_release(NULL), -EINVAL);
	ck_assert(!weft_lock_locked(NULL));
	ck_assert_int_eq(weft_sem_acquire(NULL), -EINVAL);
	ck_assert_int_eq(weft_sem_try_acquire(NULL), -EINVAL);
	ck_assert_int_eq(weft_sem_release(NULL), -EINVAL);
	ck_assert_int_eq(weft_sem_value(NULL), -EINVAL);
	ck_assert_int_eq(weft_cond_wait(NULL), -EINVAL);
	ck_assert_int_eq(weft_cond_wait_for(NULL, never, NULL), -EINVAL);
	ck_assert_int_eq(weft_cond_notify(NULL), -EINVAL);
	ck_assert_int_eq(weft_cond_notify_all(NULL), -EINVAL);
	ck_assert_ptr_null(weft_cond_lock(NULL));
	ck_assert_int_eq(weft_event_set(NULL), -EINVAL);
	ck_assert_int_eq(weft_event_clear(NULL), -EINVAL);
	ck_assert_int_eq(weft_event_wait(NULL), -EINVAL);
	ck_assert(!weft_event_is_set(NULL));
	ck_assert_int_eq(weft_barrier_wait(NULL), -EINVAL);
	ck_assert_int_eq(weft_barrier_abort(NULL), -EINVAL);
	ck_assert_int_eq(weft_barrier_reset(NULL), -EINVAL);
	ck_assert_int_eq(weft_barrier_parties(NULL), -EINVAL);
	ck_assert_int_eq(weft_barrier_waiting(NULL), -EINVAL);
	ck_assert(!weft_barrier_broken(NULL));
	/* Freeing NULL is a no-op, like free(NULL). */
	ck_assert_int_eq(weft_lock_free(NULL), 0);
	ck_assert_int_eq(weft_sem_free(NULL), 0);
	ck_assert_int_eq(weft_cond_free(NULL), 0);
	ck_assert_int_eq(weft_event_free(NULL), 0);
	ck_assert_int_eq(weft_barrier_free(NULL), 0);

	/* No loop on this thread and none given. */
	ck_assert_int_eq(weft_lock_new(NULL, &l), -EPERM);
	ck_assert_int_eq(weft_sem_new(NULL, &s, 1, 1), -EPERM);
	ck_assert_int_eq(weft_cond_new(NULL, &c, NULL), -EPERM);
	ck_assert_int_eq(weft_event_new(NULL, &e), -EPERM);
	ck_assert_int_eq(weft_barrier_new(NULL, &b, 2), -EPERM);
	ck_assert_int_eq(weft_loop_close(loop), 0);
}
END_TEST

/* Plain code (no fiber) may create, set and free, but not wait or own. */
START_TEST(outside_fiber)
{
	weft_loop *loop;
	weft_lock *l;
	weft_sem *s;
	weft_cond *c;
	weft_event *e;
	weft_barrier *b;

	ck_assert_int_eq(weft_loop_new(&loop, NULL), 0);
	ck_assert_int_eq(weft_lock_new(loop, &l), 0);
	ck_assert_int_eq(weft_sem_new(loop, &s, 1, 2), 0);
	ck_assert_int_eq(weft_cond_new(NULL, &c, l), 0); /* the lock's loop */
	ck_assert_int_eq(weft_event_new(loop, &e), 0);
	ck_assert_int_eq(weft_barrier_new(loop, &b, 2), 0);

	ck_assert_int_eq(weft_lock_acquire(l), -EPERM);
	ck_assert_int_eq(weft_lock_try_acquire(l), -EPERM);
	ck_assert_int_eq(weft_lock_release(l), -EPERM);
	ck_assert_int_eq(weft_sem_acquire(s), -EPERM);
	ck_assert_int_eq(weft_sem_try_acquire(s), 0); /* no owner: fine from plain code */
	ck_assert_int_eq(weft_sem_release(s), 0);
	ck_assert_int_eq(weft_cond_wait(c), -EPERM);
	ck_assert_int_eq(weft_cond_wait_for(c, never, NULL), -EPERM);
	ck_assert_int_eq(weft_cond_notify(c), -EPERM);
	ck_assert_int_eq(weft_event_wait(e), -EPERM);
	ck_assert_int_eq(weft_event_set(e), 0);
	ck_assert_int_eq(weft_event_wait(e), -EPERM); /* set, but still not a fiber */
	ck_assert_int_eq(weft_barrier_wait(b), -EPERM);
	ck_assert_int_eq(weft_barrier_abort(b), 0);
	ck_assert_int_eq(weft_barrier_reset(b), 0);

	ck_assert_int_eq(weft_cond_free(c), 0);
	ck_assert_int_eq(weft_lock_free(l), 0);
	ck_assert_int_eq(weft_sem_free(s), 0);
	ck_assert_int_eq(weft_event_free(e), 0);
	ck_assert_int_eq(weft_barrier_free(b), 0);
	ck_assert_int_eq(weft_loop_close(loop), 0);
}
END_TEST

/* From loop callback code: a running loop but no task. */
static void callback_calls(void *arg)
{
	weft_lock *l = arg;

	ck_assert_ptr_null(weft_task_current());
	ck_assert_int_eq(weft_lock_acquire(l), -EPERM);
	ck_assert_int_eq(weft_lock_try_acquire(l), -EPERM);
	log_id(1);
}

static int callback_main(void *arg)
{
	weft_lock *l = new_lock();

	ck_assert_int_eq(weft_loop_call_soon(weft_loop_current(), callback_calls, l), 0);
	yield_n(3);
	ck_assert_int_eq(norder, 1);
	ck_assert(!weft_lock_locked(l));
	ck_assert_int_eq(weft_lock_free(l), 0);
	return 0;
}

START_TEST(from_callback)
{
	run_main(callback_main, NULL);
}
END_TEST

/* Objects of another loop: refused with -EXDEV (-EPERM for releasing a lock one cannot own). */
static int other_loop_main(void *arg)
{
	weft_loop *other = arg;
	weft_lock *l, *mine = new_lock();
	weft_sem *s;
	weft_cond *c;
	weft_event *e;
	weft_barrier *b;

	ck_assert_int_eq(weft_lock_new(other, &l), 0);
	ck_assert_int_eq(weft_sem_new(other, &s, 1, 1), 0);
	ck_assert_int_eq(weft_cond_new(other, &c, NULL), 0);
	ck_assert_int_eq(weft_cond_new(other, &c, mine), -EINVAL); /* lock of this loop */
	ck_assert_int_eq(weft_event_new(other, &e), 0);
	ck_assert_int_eq(weft_barrier_new(other, &b, 2), 0);

	ck_assert_int_eq(weft_lock_acquire(l), -EXDEV);
	ck_assert_int_eq(weft_lock_try_acquire(l), -EXDEV);
	ck_assert_int_eq(weft_lock_release(l), -EXDEV);
	ck_assert_int_eq(weft_sem_acquire(s), -EXDEV);
	ck_assert_int_eq(weft_sem_try_acquire(s), -EXDEV);
	ck_assert_int_eq(weft_sem_release(s), -EXDEV);
	ck_assert_int_eq(weft_cond_wait(c), -EXDEV);
	ck_assert_int_eq(weft_cond_notify(c), -EXDEV);
	ck_assert_int_eq(weft_event_set(e), -EXDEV);
	ck_assert_int_eq(weft_event_wait(e), -EXDEV);
	ck_assert_int_eq(weft_barrier_wait(b), -EXDEV);
	ck_assert_int_eq(weft_barrier_abort(b), -EXDEV);
	ck_assert_int_eq(weft_barrier_reset(b), -EXDEV);

	ck_assert_int_eq(weft_lock_free(l), 0);
	ck_assert_int_eq(weft_lock_free(mine), 0);
	ck_assert_int_eq(weft_sem_free(s), 0);
	ck_assert_int_eq(weft_cond_free(c), 0);
	ck_assert_int_eq(weft_event_free(e), 0);
	ck_assert_int_eq(weft_barrier_free(b), 0);
	return 0;
}

START_TEST(other_loop)
{
	weft_loop *other;

	ck_assert_int_eq(weft_loop_new(&other, NULL), 0);
	run_main(other_loop_main, other);
	ck_assert_int_eq(weft_loop_close(other), 0);
}
END_TEST

/* ---- waiters left at loop close ----------------------------------------------------------- */

struct leftovers {
	weft_lock *lock;
	weft_sem *sem;
	weft_cond *cond;
	weft_event *event;
	weft_barrier *barrier;
	struct job j[5];
};

static int leftovers_main(void *arg)
{
	struct leftovers *lo = arg;

	lo->lock = new_lock();
	lo->sem = new_sem(0, 1);
	lo->cond = new_cond(NULL);
	lo->event = new_event();
	ck_assert_int_eq(weft_barrier_new(NULL, &lo->barrier, 2), 0);
	ck_assert_int_eq(weft_lock_acquire(lo->lock), 0);
	/* Detached waiters, parked when main returns: weft_run cancels them at close. */
	weft_task_detach(spawn_parked(&lo->j[0], OP_LOCK, lo->lock, 0));
	weft_task_detach(spawn_parked(&lo->j[1], OP_SEM, lo->sem, 1));
	weft_task_detach(spawn_parked(&lo->j[2], OP_COND, lo->cond, 2));
	weft_task_detach(spawn_parked(&lo->j[3], OP_EVENT, lo->event, 3));
	weft_task_detach(spawn_parked(&lo->j[4], OP_BARRIER, lo->barrier, 4));
	ck_assert_int_eq(weft_lock_free(lo->lock), -EBUSY);
	return 0; /* still holding the lock */
}

START_TEST(leftovers_at_close)
{
	struct leftovers lo = {0};

	run_main(leftovers_main, &lo);
	for (int i = 0; i < 5; i++) {
		ck_assert(lo.j[i].returned);
		ck_assert_int_eq(lo.j[i].ret, -ECANCELED);
	}
	ck_assert(lo.j[2].held_after);
	/* Everything can be freed after the loop is gone; ASan/valgrind check nothing leaks. */
	ck_assert_int_eq(weft_lock_free(lo.lock), 0);
	ck_assert_int_eq(weft_sem_free(lo.sem), 0);
	ck_assert_int_eq(weft_cond_free(lo.cond), 0);
	ck_assert_int_eq(weft_event_free(lo.event), 0);
	ck_assert_int_eq(weft_barrier_free(lo.barrier), 0);
}
END_TEST

/* ---- a mixed workload --------------------------------------------------------------------- */

/* Many tasks through a lock and a semaphore: mutual exclusion and the permit count hold. */
struct stress {
	weft_lock *lock;
	weft_sem *sem;
	int inside, max_inside, in_sem, max_sem, total;
};

static int stress_task(void *arg)
{
	struct stress *st = arg;

	for (int i = 0; i < 50; i++) {
		int err;
		{
			WEFT_SEM_GUARD(permit, st->sem, err);
			ck_assert_int_eq(err, 0);
			if (++st->in_sem > st->max_sem)
				st->max_sem = st->in_sem;
			ck_assert_int_eq(weft_yield(), 0);
			st->in_sem--;
		}
		{
			WEFT_LOCK_GUARD(g, st->lock, err);
			ck_assert_int_eq(err, 0);
			ck_assert_int_eq(++st->inside, 1);
			if (i % 3 == 0)
				ck_assert_int_eq(weft_yield(), 0);
			st->total++;
			st->inside--;
		}
	}
	return 0;
}

static int stress_main(void *arg)
{
	struct stress st = {.lock = new_lock(), .sem = new_sem(3, 3)};
	weft_task *t[20];

	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(weft_task_spawn(&t[i], stress_task, &st, NULL), 0);
	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(join(t[i]), 0);
	ck_assert_int_eq(st.total, 20 * 50);
	ck_assert_int_eq(st.max_sem, 3);
	ck_assert_int_eq(weft_sem_value(st.sem), 3);
	ck_assert(!weft_lock_locked(st.lock));
	ck_assert_int_eq(weft_lock_free(st.lock), 0);
	ck_assert_int_eq(weft_sem_free(st.sem), 0);
	return 0;
}

START_TEST(stress)
{
	run_main(stress_main, NULL);
}
END_TEST

static Suite *sync_suite(void)
{
	Suite *s = suite_create("sync");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, lock_basic);
	tcase_add_test(tc, lock_release_not_owner);
	tcase_add_test(tc, lock_fifo);
	tcase_add_test(tc, lock_no_barging);
	tcase_add_test(tc, lock_cancel_middle);
	tcase_add_test(tc, lock_cancel_after_handoff);
	tcase_add_test(tc, lock_deadline);
	tcase_add_test(tc, lock_cancelled_task);
	tcase_add_test(tc, lock_contended);
	tcase_add_test(tc, guards);
	tcase_add_test(tc, sem_counting);
	tcase_add_test(tc, sem_fifo);
	tcase_add_test(tc, sem_fifo_asyncio);
	tcase_add_test(tc, sem_cancel_and_deadline);
	tcase_add_test(tc, cond_notify);
	tcase_add_test(tc, cond_misuse);
	tcase_add_test(tc, cond_wait_for);
	tcase_add_test(tc, cond_cancel);
	tcase_add_test(tc, cond_deadline);
	tcase_add_test(tc, event_set_clear_wait);
	tcase_add_test(tc, event_set_from_callback);
	tcase_add_test(tc, barrier_rounds);
	tcase_add_test(tc, barrier_abort_reset);
	tcase_add_test(tc, barrier_cancel_deadline);
	tcase_add_test(tc, bad_arguments);
	tcase_add_test(tc, outside_fiber);
	tcase_add_test(tc, from_callback);
	tcase_add_test(tc, other_loop);
	tcase_add_test(tc, leftovers_at_close);
	tcase_add_test(tc, stress);
	suite_add_tcase(s, tc);
	return s;
}

WEFT_CHECK_MAIN(sync_suite)
