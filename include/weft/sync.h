/* SPDX-License-Identifier: MIT */
/*
 * weft/sync.h - synchronization between the fibers of one loop (asyncio.Lock, Semaphore,
 * BoundedSemaphore, Condition, Event, Barrier), with scoped guards.
 *
 * Every object belongs to the loop it was created on. None of these calls is thread-safe: they
 * are for the loop's own fibers (and, where a call says so, its callbacks); a task of another
 * loop gets -EXDEV from the calls that check.
 *
 * Fairness: waiters are served strictly first come, first served. A release hands the lock (or
 * permit, or notification) straight to the first waiter at wake time, so a task that releases
 * and immediately re-acquires queues behind the waiters (no barging), and a waiter cancelled
 * while queued never swallows a wake-up meant for another: either it was still queued (it gets
 * -ECANCELED and nothing else) or it had been handed the lock (its acquire succeeds; the
 * cancellation shows at its next blocking call).
 *
 * Blocking calls (acquire, wait) honour cancellation and the enclosing scope's deadline
 * (weft/scope.h) and are checkpoints: in a cancelled task, or past the deadline, they fail at
 * once with -ECANCELED / -ETIMEDOUT even when they would not have to block. (weft_event_wait on
 * a set event is the exception, like weft_future_wait: it returns 0 at once.) Cleanup code that
 * must take a lock in a cancelled task does so inside a WEFT_SCOPE_SHIELD scope.
 *
 * Uncontended acquire and release never allocate and never enter the kernel.
 *
 * Errors, beyond each call's own: -EINVAL for a NULL object or bad argument; -EPERM for a call
 * that needs a fiber made from plain code or a loop callback; -EXDEV from a task of another loop.
 * The *_free calls accept NULL (returning 0) and work anywhere, also after the loop has closed;
 * objects are not freed by weft_loop_close, so free each one yourself.
 */
#ifndef WEFT_SYNC_H
#define WEFT_SYNC_H

#include "common.h"
#include "loop.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- lock ------------------------------------------------------------------------------ */

/* A mutual-exclusion lock owned by one task at a time (asyncio.Lock), not reentrant. */
typedef struct weft_lock weft_lock;

/*
 * weft_lock_new - create an unlocked lock on @loop (NULL: the loop running on this thread).
 * Returns 0, -EINVAL (NULL @lockp), -EPERM (@loop NULL and no loop on this thread), -ENOMEM.
 * Not thread-safe: the loop's fibers only.
 */
WEFT_API int weft_lock_new(weft_loop *loop, weft_lock **lockp);

/*
 * weft_lock_free - free @lock. A lock still held but with nobody waiting may be freed.
 * Returns 0, or -EBUSY if tasks wait on it or a weft_cond uses it (nothing is freed then).
 * Not thread-safe: the loop's fibers only (or any code of its thread).
 */
WEFT_API int weft_lock_free(weft_lock *lock);

/*
 * weft_lock_acquire - take @lock, waiting in FIFO order while another task holds it.
 * Returns 0 (the caller owns the lock), -EDEADLK if the caller already holds it, -ECANCELED /
 * -ETIMEDOUT if the caller was cancelled or its deadline passed first (it does not own the lock
 * then), -EINVAL, -EPERM outside a fiber, -EXDEV from a task of another loop.
 * Not thread-safe: the loop's fibers only.
 */
WEFT_API int weft_lock_acquire(weft_lock *lock);

/*
 * weft_lock_try_acquire - take @lock if nobody holds it, without blocking. Never a checkpoint.
 * Returns 0, -EAGAIN if it is held (by another task or queued for one), -EDEADLK if the caller
 * holds it, -EINVAL, -EPERM outside a fiber, -EXDEV from a task of another loop.
 * Not thread-safe: the loop's fibers only.
 */
WEFT_API int weft_lock_try_acquire(weft_lock *lock);

/*
 * weft_lock_release - release @lock, handing it to the first waiter if there is one.
 * Never blocks; works in a cancelled task. Returns 0, -EPERM if the caller does not hold it (an
 * unlocked lock, a lock held by another task, or a call outside a fiber), -EXDEV from a task of
 * another loop, -EINVAL.
 * Not thread-safe: the loop's fibers only.
 */
WEFT_API int weft_lock_release(weft_lock *lock);

/*
 * weft_lock_locked - true while some task owns @lock (false for NULL).
 * Not thread-safe: the loop's fibers and callbacks only.
 */
WEFT_API bool weft_lock_locked(const weft_lock *lock);

/* ---- semaphore ------------------------------------------------------------------------- */

/* A counting semaphore (asyncio.Semaphore), optionally bounded (asyncio.BoundedSemaphore). */
typedef struct weft_sem weft_sem;

/* The largest count a semaphore can hold; as @max, it means "unbounded". */
#define WEFT_SEM_VALUE_MAX 0x7fffffffu

/*
 * weft_sem_new - create a semaphore on @loop (NULL: the loop running on this thread) holding
 * @value permits, which releases may raise up to @max (then they fail with -EOVERFLOW).
 * asyncio.Semaphore(n) is weft_sem_new(loop, &s, n, WEFT_SEM_VALUE_MAX); BoundedSemaphore(n) is
 * weft_sem_new(loop, &s, n, n).
 * Returns 0, -EINVAL (NULL @semp, @max 0 or above WEFT_SEM_VALUE_MAX, @value above @max), -EPERM
 * (@loop NULL and no loop on this thread), -ENOMEM.
 * Not thread-safe: the loop's fibers only.
 */
WEFT_API int weft_sem_new(weft_loop *loop, weft_sem **semp, unsigned value, unsigned max);

/*
 * weft_sem_free - free @sem. Returns 0, or -EBUSY if tasks wait on it, handed ones that have not
 * run yet included (nothing is freed then).
 * Not thread-safe: the loop's fibers only (or any code of its thread).
 */
WEFT_API int weft_sem_free(weft_sem *sem);

/*
 * weft_sem_acquire - take one permit, waiting in FIFO order while there is none. As in asyncio,
 * a waiter that has been handed a permit but has not run yet still counts as waiting: a task
 * that releases and re-acquires at once queues behind it.
 * Returns 0 (the caller has a permit), -ECANCELED / -ETIMEDOUT if the caller was cancelled or
 * its deadline passed first (it has no permit then), -EINVAL, -EPERM outside a fiber, -EXDEV
 * from a task of another loop.
 * Not thread-safe: the loop's fibers only.
 */
WEFT_API int weft_sem_acquire(weft_sem *sem);

/*
 * weft_sem_try_acquire - take one permit if one is free, without blocking. Never a checkpoint.
 * Returns 0, -EAGAIN if none is free or tasks still wait (handed ones included), -EINVAL, -EXDEV if the thread runs another loop.
 * Not thread-safe: the loop's fibers and callbacks only.
 */
WEFT_API int weft_sem_try_acquire(weft_sem *sem);

/*
 * weft_sem_release - return one permit: to the first waiter if there is one, else to the count.
 * Never blocks; any fiber or callback of the loop may release (permits have no owner).
 * Returns 0, -EOVERFLOW if the count is already at the semaphore's max (nothing changes),
 * -EINVAL, -EXDEV if the thread runs another loop.
 * Not thread-safe: the loop's fibers and callbacks only.
 */
WEFT_API int weft_sem_release(weft_sem *sem);

/*
 * weft_sem_value - the number of permits not handed to anyone (asyncio's Semaphore._value: it
 * may be above 0 while woken waiters have not run yet), or -EINVAL for NULL.
 * Not thread-safe: the loop's fibers and callbacks only.
 */
WEFT_API int weft_sem_value(const weft_sem *sem);

/* ---- condition variable ---------------------------------------------------------------- */

/* A condition variable bound to one lock (asyncio.Condition). */
typedef struct weft_cond weft_cond;

/*
 * weft_cond_new - create a condition on @loop (NULL: @lock's loop, else the loop running on this
 * thread) that uses @lock, or a lock of its own if @lock is NULL (get it with weft_cond_lock). A @lock given here
 * cannot be freed before the condition is.
 * Returns 0, -EINVAL (NULL @condp, @lock of another loop), -EPERM (@loop NULL and no loop on
 * this thread), -ENOMEM.
 * Not thread-safe: the loop's fibers only.
 */
WEFT_API int weft_cond_new(weft_loop *loop, weft_cond **condp, weft_lock *lock);

/*
 * weft_cond_free - free @cond (and its own lock, if it made one: that lock must not be used
 * afterwards, not even released). Returns 0, or -EBUSY if tasks wait on it or on its own lock
 * (nothing is freed then).
 * Not thread-safe: the loop's fibers only (or any code of its thread).
 */
WEFT_API int weft_cond_free(weft_cond *cond);

/* weft_cond_lock - the lock @cond uses (NULL for NULL). Not thread-safe: the loop's fibers only. */
WEFT_API weft_lock *weft_cond_lock(weft_cond *cond);

/*
 * weft_cond_wait - release the condition's lock, wait to be notified, and take the lock again.
 * The caller must hold the lock. It ALWAYS holds the lock again when this returns, whatever the
 * result: a waiter cancelled or timed out first queues for the lock (uninterruptibly, in FIFO
 * order) and returns the error only once it owns the lock again; one that was notified returns 0
 * even if a cancellation arrives while it waits for the lock. Wake-ups can be stale: re-check
 * your condition (or use weft_cond_wait_for).
 * Returns 0 (notified), -ECANCELED / -ETIMEDOUT (interrupted; at once, without releasing the
 * lock, if the task was cancelled or past its deadline on entry), -EPERM if the caller does not
 * hold the lock or is not a fiber, -EINVAL, -EXDEV from a task of another loop.
 * Not thread-safe: the loop's fibers only.
 */
WEFT_API int weft_cond_wait(weft_cond *cond);

/*
 * weft_cond_wait_for - wait until @pred(@arg) returns true (asyncio Condition.wait_for).
 * Calls @pred with the lock held: first at once (returning 0 without blocking if it is true,
 * even in a cancelled task), then after each notification. The lock is held on return, as with
 * weft_cond_wait. Returns 0 once @pred is true, the first error of weft_cond_wait otherwise
 * (@pred was false when last checked), -EINVAL for NULL @cond or @pred.
 * Not thread-safe: the loop's fibers only.
 */
WEFT_API int weft_cond_wait_for(weft_cond *cond, bool (*pred)(void *arg), void *arg);

/*
 * weft_cond_notify - wake the longest waiter of @cond, if any. The caller must hold the lock; the
 * woken task then queues for the lock behind the tasks already waiting for it.
 * Returns the number of tasks woken (0 or 1), -EPERM if the caller does not hold the lock (or is
 * not a fiber), -EINVAL.
 * Not thread-safe: the loop's fibers only.
 */
WEFT_API int weft_cond_notify(weft_cond *cond);

/*
 * weft_cond_notify_n - wake up to @n of the longest waiters of @cond (asyncio's notify(n)). Same
 * rules and returns as weft_cond_notify.
 * Not thread-safe: the loop's fibers only.
 */
WEFT_API int weft_cond_notify_n(weft_cond *cond, unsigned n);

/*
 * weft_cond_notify_all - wake every waiter of @cond, in the order they started waiting. Same
 * rules and returns as weft_cond_notify (the number woken may be any count up to INT_MAX).
 * Not thread-safe: the loop's fibers only.
 */
WEFT_API int weft_cond_notify_all(weft_cond *cond);

/* ---- event ----------------------------------------------------------------------------- */

/* A flag tasks can wait for (asyncio.Event). */
typedef struct weft_event weft_event;

/*
 * weft_event_new - create a clear event on @loop (NULL: the loop running on this thread).
 * Returns 0, -EINVAL (NULL @eventp), -EPERM (@loop NULL and no loop on this thread), -ENOMEM.
 * Not thread-safe: the loop's fibers only.
 */
WEFT_API int weft_event_new(weft_loop *loop, weft_event **eventp);

/*
 * weft_event_free - free @event. Returns 0, or -EBUSY if tasks wait on it (nothing is freed).
 * Not thread-safe: the loop's fibers only (or any code of its thread).
 */
WEFT_API int weft_event_free(weft_event *event);

/*
 * weft_event_set - set @event and wake every waiter (a later clear does not un-wake them).
 * Returns 0 (also if it was set already), -EINVAL, -EXDEV if the thread runs another loop.
 * Not thread-safe: the loop's fibers and callbacks only.
 */
WEFT_API int weft_event_set(weft_event *event);

/*
 * weft_event_clear - clear @event, so later waits block. Returns 0, -EINVAL.
 * Not thread-safe: the loop's fibers and callbacks only.
 */
WEFT_API int weft_event_clear(weft_event *event);

/*
 * weft_event_wait - wait until @event is set. Returns 0 - at once if it is set, even in a
 * cancelled task - or -ECANCELED / -ETIMEDOUT if the caller was cancelled or its deadline passed
 * before it was set, -EINVAL, -EPERM outside a fiber, -EXDEV from a task of another loop.
 * Not thread-safe: the loop's fibers only.
 */
WEFT_API int weft_event_wait(weft_event *event);

/* weft_event_is_set - true while @event is set (false for NULL). Not thread-safe. */
WEFT_API bool weft_event_is_set(const weft_event *event);

/* ---- barrier --------------------------------------------------------------------------- */

/* A reusable barrier for a fixed number of parties (asyncio.Barrier). */
typedef struct weft_barrier weft_barrier;

/*
 * weft_barrier_new - create a barrier on @loop (NULL: the loop running on this thread) that
 * opens each time @parties tasks are waiting.
 * Returns 0, -EINVAL (NULL @barrierp, 0 or more than INT_MAX parties), -EPERM (@loop NULL and no
 * loop on this thread), -ENOMEM.
 * Not thread-safe: the loop's fibers only.
 */
WEFT_API int weft_barrier_new(weft_loop *loop, weft_barrier **barrierp, unsigned parties);

/*
 * weft_barrier_free - free @barrier. Returns 0, or -EBUSY if tasks wait on it (nothing freed).
 * Not thread-safe: the loop's fibers only (or any code of its thread).
 */
WEFT_API int weft_barrier_free(weft_barrier *barrier);

/*
 * weft_barrier_wait - wait until @parties tasks wait on @barrier, then release them all and start
 * a new round. Returns the caller's arrival index in the round, 0 .. parties-1, distinct for each
 * task; parties-1 goes to the last arrival, the one that opened the barrier (use it to elect one
 * task for per-round work). A waiter cancelled or timed out leaves the round (it no longer
 * counts) and gets -ECANCELED / -ETIMEDOUT. Returns -EPIPE if the barrier is broken (aborted) or
 * becomes broken or is reset while waiting, -EINVAL, -EPERM outside a fiber, -EXDEV from a task
 * of another loop.
 * Not thread-safe: the loop's fibers only.
 */
WEFT_API int weft_barrier_wait(weft_barrier *barrier);

/*
 * weft_barrier_abort - break @barrier: every waiter, and every later weft_barrier_wait until
 * weft_barrier_reset, gets -EPIPE. Returns 0, -EINVAL, -EXDEV if the thread runs another loop.
 * Not thread-safe: the loop's fibers and callbacks only.
 */
WEFT_API int weft_barrier_abort(weft_barrier *barrier);

/*
 * weft_barrier_reset - return @barrier to its empty, unbroken state; tasks waiting in the
 * current round get -EPIPE. Returns 0, -EINVAL, -EXDEV if the thread runs another loop.
 * Not thread-safe: the loop's fibers and callbacks only.
 */
WEFT_API int weft_barrier_reset(weft_barrier *barrier);

/* weft_barrier_parties - the party count @barrier was made with, or -EINVAL. Not thread-safe. */
WEFT_API int weft_barrier_parties(const weft_barrier *barrier);

/* weft_barrier_waiting - tasks waiting in the current round, or -EINVAL. Not thread-safe. */
WEFT_API int weft_barrier_waiting(const weft_barrier *barrier);

/* weft_barrier_broken - true while @barrier is aborted (false for NULL). Not thread-safe. */
WEFT_API bool weft_barrier_broken(const weft_barrier *barrier);

/* ---- scoped guards --------------------------------------------------------------------- */

/*
 * Guards release what they acquired when the enclosing block is left by any path: falling off
 * its end, return, break, continue or goto (GCC/Clang cleanup attribute; not longjmp).
 *
 *     int err;
 *     WEFT_LOCK_GUARD(g, lock, err);      // weft_lock_acquire(lock) -> err
 *     if (err)
 *             return err;                 // nothing to release: the guard is empty
 *     if (bad)
 *             return -EIO;                // released here
 *     ...                                 // and here, at the closing brace
 *
 * weft_lock_guard_release(&g) releases early (the guard is then empty). A weft_cond_wait inside
 * the block is fine: it always returns with the lock held. Not thread-safe: the loop's fibers.
 */
struct weft_lock_guard {
	weft_lock *lock; /* NULL when the guard holds nothing */
};

/* weft_lock_guard_acquire - acquire @lock into a guard; *@err gets the acquire's result. */
static inline struct weft_lock_guard weft_lock_guard_acquire(weft_lock *lock, int *err)
{
	struct weft_lock_guard g = {NULL};

	*err = weft_lock_acquire(lock);
	if (*err == 0)
		g.lock = lock;
	return g;
}

/* weft_lock_guard_release - release the guard's lock now, if it holds it (returns that result,
 * or 0 for an empty guard). */
static inline int weft_lock_guard_release(struct weft_lock_guard *g)
{
	weft_lock *lock = g->lock;

	g->lock = NULL;
	return lock ? weft_lock_release(lock) : 0;
}

static inline void weft__lock_guard_cleanup(struct weft_lock_guard *g)
{
	(void)weft_lock_guard_release(g);
}

/* WEFT_LOCK_GUARD(name, lock, err) - declare guard @name holding @lock if acquired (@err = 0). */
#define WEFT_LOCK_GUARD(name, lock, err)                                                 \
	struct weft_lock_guard name __attribute__((cleanup(weft__lock_guard_cleanup))) = \
	    weft_lock_guard_acquire((lock), &(err))

/* The same for one semaphore permit. */
struct weft_sem_guard {
	weft_sem *sem; /* NULL when the guard holds nothing */
};

/* weft_sem_guard_acquire - acquire a permit of @sem into a guard; *@err gets the result. */
static inline struct weft_sem_guard weft_sem_guard_acquire(weft_sem *sem, int *err)
{
	struct weft_sem_guard g = {NULL};

	*err = weft_sem_acquire(sem);
	if (*err == 0)
		g.sem = sem;
	return g;
}

/* weft_sem_guard_release - release the guard's permit now, if it holds one. */
static inline int weft_sem_guard_release(struct weft_sem_guard *g)
{
	weft_sem *sem = g->sem;

	g->sem = NULL;
	return sem ? weft_sem_release(sem) : 0;
}

static inline void weft__sem_guard_cleanup(struct weft_sem_guard *g)
{
	(void)weft_sem_guard_release(g);
}

/* WEFT_SEM_GUARD(name, sem, err) - declare guard @name holding a permit of @sem if acquired. */
#define WEFT_SEM_GUARD(name, sem, err)                                                 \
	struct weft_sem_guard name __attribute__((cleanup(weft__sem_guard_cleanup))) = \
	    weft_sem_guard_acquire((sem), &(err))

#ifdef __cplusplus
}
#endif
#endif
