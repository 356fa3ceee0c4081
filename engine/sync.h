/* SPDX-License-Identifier: MIT */
/*
 * Internals shared by the fiber synchronization primitives (lock.c, semaphore.c, condition.c,
 * event.c, barrier.c): the waiter record, FIFO wait queues with hand-off at wake time, and the
 * lock record (a condition moves its waiters onto its lock's queue).
 */
#ifndef WEFT_ENGINE_SYNC_H
#define WEFT_ENGINE_SYNC_H

#include <errno.h>

#include "weft/sync.h"
#include "list.h"
#include "loop.h"
#include "sched.h"
#include "task.h"
#include "waitq.h"

/* The calling task if it may use an object of @loop: -EPERM from plain code (no task), -EXDEV
 * from a task of another loop. */
static inline int weft__sync_task(const struct weft_loop *loop, struct weft_task **tp)
{
	struct weft_task *t = weft__current();

	*tp = t;
	if (!t)
		return -EPERM;
	return t->loop == loop ? 0 : -EXDEV;
}

/* The loop a constructor binds to: @loop, else the thread's. */
static inline int weft__sync_loop(weft_loop *loop, struct weft_loop **out)
{
	*out = loop ? loop : weft__loop();
	return *out ? 0 : -EPERM;
}

/* ---- the lock record (lock.c), also driven by condition.c ---------------------------------- */

struct weft_lock {
	struct weft_loop *loop;
	/* The owner, or NULL. Invariant: owner == NULL implies no waiters (a release hands the lock
	 * to the first waiter instead of unlocking), which is what makes barging impossible. */
	struct weft_task *owner;
	/* The owner's id too: a task record is recycled after its task is freed, so a new task at
	 * the same address must not pass for the owner of a lock its predecessor died holding. */
	uint64_t owner_id;
	struct weft__list waiters; /* struct weft__sync_wait, FIFO */
	unsigned users;		   /* conditions using this lock */
};

static inline bool weft__lock_held_by(const struct weft_lock *l, const struct weft_task *t)
{
	return l->owner == t && t && l->owner_id == t->id;
}

static inline void weft__lock_set_owner(struct weft_lock *l, struct weft_task *t)
{
	l->owner = t;
	l->owner_id = t ? t->id : 0;
}

void weft__lock_init(struct weft_lock *lock, struct weft_loop *loop);
/* Release a lock the caller holds: hand it to the first waiter, or unlock it. */
void weft__lock_handoff(struct weft_lock *lock);
/* Give @sw's task the lock now if it is free (and wake it), else queue @sw at the back, for an
 * already parked task. The condition variable's way back to its lock. */
void weft__lock_enqueue_parked(struct weft_lock *lock, struct weft__sync_wait *sw);

#endif
