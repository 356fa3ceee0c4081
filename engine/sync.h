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

/*
 * A parked task in an object's FIFO queue; lives on that task's stack. The waker unlinks it,
 * stores what it hands over in @result and wakes the task, all at once: whatever the task sees
 * when it runs was decided at wake time, so a later cancel cannot make a hand-off vanish.
 */
struct weft__sync_wait {
	struct weft__wait wait;
	struct weft__list link;
	int result;
};

/* Interrupted while queued (cancel, deadline): leave the queue having received nothing. */
static inline void weft__sync_interrupt(struct weft__wait *w)
{
	weft__list_del(&weft__container_of(w, struct weft__sync_wait, wait)->link);
	weft__wake(w->task);
}

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

/* Queue @sw at the back of @queue and park until woken (returns @sw->result as handed over) or
 * interrupted (returns the reason, -ECANCELED / -ETIMEDOUT). The caller passed the checkpoint.
 * @interrupt: weft__sync_interrupt, or a wrapper that also updates the object's bookkeeping. */
static inline int weft__sync_park(struct weft__list *queue, struct weft__sync_wait *sw,
				  struct weft_task *t, const char *what,
				  void (*interrupt)(struct weft__wait *))
{
	int err;

	weft__wait_init(&sw->wait, what, interrupt);
	sw->wait.task = t;
	sw->result = 0;
	weft__list_add_tail(queue, &sw->link);
	err = weft__park(&sw->wait, WEFT_FOREVER, 0);
	return err ? err : sw->result;
}

static inline struct weft__sync_wait *weft__sync_first(struct weft__list *queue)
{
	return weft__container_of(queue->next, struct weft__sync_wait, link);
}

/* Unlink the first waiter of a non-empty @queue, hand it @result and wake it. Returns its task. */
static inline struct weft_task *weft__sync_wake_first(struct weft__list *queue, int result)
{
	struct weft__sync_wait *sw = weft__sync_first(queue);

	weft__list_del(&sw->link);
	sw->result = result;
	weft__wake(sw->wait.task);
	return sw->wait.task;
}

/* Wake every waiter of @queue in FIFO order with @result. Returns how many. */
static inline unsigned weft__sync_wake_all(struct weft__list *queue, int result)
{
	unsigned n = 0;

	while (!weft__list_empty(queue)) {
		weft__sync_wake_first(queue, result);
		n++;
	}
	return n;
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
