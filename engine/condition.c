/* SPDX-License-Identifier: MIT */
/*
 * Condition variables. A waiter is parked once and woken once: notify does not wake it only to
 * have it block again on the lock the notifier still holds, it moves the waiter's record from
 * the condition's queue to the back of the lock's queue ("wait morphing"), and the lock's
 * hand-off wakes it as the owner. An interrupted waiter takes the same road back to the lock,
 * so every return from a wait holds the lock.
 */
#include <errno.h>
#include <limits.h>

#include "alloc.h"
#include "sync.h"

struct weft_cond {
	struct weft_loop *loop;
	struct weft_lock *lock;
	struct weft__list waiters; /* struct cond_wait, FIFO */
	struct weft_lock own_lock; /* the lock when none was given */
};

struct cond_wait {
	struct weft__sync_wait sw; /* on the condition's queue, then on the lock's */
	struct weft_lock *lock;
	bool on_lock;  /* moved to the lock's queue: no longer interruptible */
	bool notified; /* moved there by a notify: the wait succeeded */
};

/* Cancelled or timed out while waiting for a notify: stop waiting and queue for the lock. Once
 * on the lock's queue (notified), the interrupt has nothing to undo: the wait already succeeded
 * and the lock must still be re-taken, so the cancellation shows at the next blocking call. */
static void cond_interrupt(struct weft__wait *w)
{
	struct cond_wait *cw = weft__container_of(w, struct cond_wait, sw.wait);

	if (cw->on_lock)
		return;
	weft__list_del(&cw->sw.link);
	cw->on_lock = true;
	weft__lock_enqueue_parked(cw->lock, &cw->sw);
}

int weft_cond_new(weft_loop *loop, weft_cond **condp, weft_lock *lock)
{
	struct weft_cond *c;
	int err;

	if (!condp)
		return -EINVAL;
	if (!loop && lock)
		loop = lock->loop;
	err = weft__sync_loop(loop, &loop);
	if (err)
		return err;
	if (lock && lock->loop != loop)
		return -EINVAL;
	c = weft__new(struct weft_cond);
	if (!c)
		return -ENOMEM;
	c->loop = loop;
	weft__list_init(&c->waiters);
	if (!lock) {
		weft__lock_init(&c->own_lock, loop);
		lock = &c->own_lock;
	}
	/* Counts for the own lock too: weft_lock_free() on it must fail, it is not a heap block. */
	lock->users++;
	c->lock = lock;
	*condp = c;
	return 0;
}

int weft_cond_free(weft_cond *c)
{
	if (!c)
		return 0;
	if (!weft__list_empty(&c->waiters) ||
	    (c->lock == &c->own_lock && !weft__list_empty(&c->own_lock.waiters)))
		return -EBUSY;
	c->lock->users--;
	weft__delete(c);
	return 0;
}

weft_lock *weft_cond_lock(weft_cond *c)
{
	return c ? c->lock : NULL;
}

/* The checks every wait and notify share: a task of the loop that holds the lock. */
static int cond_check(weft_cond *c, struct weft_task **tp)
{
	int err;

	if (!c)
		return -EINVAL;
	err = weft__sync_task(c->loop, tp);
	if (err)
		return err;
	return weft__lock_held_by(c->lock, *tp) ? 0 : -EPERM;
}

static int cond_wait(weft_cond *c, struct weft_task *t)
{
	struct cond_wait cw = {.lock = c->lock};
	int err = weft__checkpoint(t);

	if (err)
		return err; /* still holding the lock, which was never released */
	weft__wait_init(&cw.sw.wait, "condition", cond_interrupt);
	cw.sw.wait.task = t;
	weft__list_add_tail(&c->waiters, &cw.sw.link);
	weft__lock_handoff(c->lock);
	/* Only the lock's hand-off wakes us: we own the lock again here. */
	err = weft__park(&cw.sw.wait, WEFT_FOREVER, 0);
	return cw.notified ? 0 : err;
}

int weft_cond_wait(weft_cond *c)
{
	struct weft_task *t;
	int err = cond_check(c, &t);

	return err ? err : cond_wait(c, t);
}

int weft_cond_wait_for(weft_cond *c, bool (*pred)(void *arg), void *arg)
{
	struct weft_task *t;
	int err;

	if (!pred)
		return -EINVAL;
	err = cond_check(c, &t);
	if (err)
		return err;
	while (!pred(arg)) {
		err = cond_wait(c, t);
		if (err)
			return err;
	}
	return 0;
}

/* Move up to @n waiters to the lock's queue. The caller holds the lock, so none can own it yet. */
static int cond_notify(weft_cond *c, unsigned n)
{
	struct weft_task *t;
	int err = cond_check(c, &t), woken = 0;

	if (err)
		return err;
	while ((unsigned)woken < n && woken < INT_MAX && !weft__list_empty(&c->waiters)) {
		struct cond_wait *cw =
		    weft__container_of(c->waiters.next, struct cond_wait, sw.link);

		weft__list_del(&cw->sw.link);
		cw->notified = true;
		cw->on_lock = true;
		weft__list_add_tail(&c->lock->waiters, &cw->sw.link);
		woken++;
	}
	return woken;
}

int weft_cond_notify(weft_cond *c)
{
	return cond_notify(c, 1);
}

int weft_cond_notify_n(weft_cond *c, unsigned n)
{
	return cond_notify(c, n);
}

int weft_cond_notify_all(weft_cond *c)
{
	return cond_notify(c, UINT_MAX);
}
