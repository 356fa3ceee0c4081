/* SPDX-License-Identifier: MIT */
/*
 * FIFO-fair locks. A release never unlocks a lock somebody waits for: it makes the first waiter
 * the owner and wakes it, so the releaser (or any newcomer) cannot barge ahead, and a waiter
 * interrupted while queued simply leaves the queue without taking a hand-off from anyone.
 */
#include <errno.h>

#include "alloc.h"
#include "sync.h"

void weft__lock_init(struct weft_lock *l, struct weft_loop *loop)
{
	l->loop = loop;
	weft__lock_set_owner(l, NULL);
	weft__list_init(&l->waiters);
	l->users = 0;
}

void weft__lock_handoff(struct weft_lock *l)
{
	if (weft__list_empty(&l->waiters))
		weft__lock_set_owner(l, NULL);
	else
		weft__lock_set_owner(l, weft__sync_wake_first(&l->waiters, 0));
}

void weft__lock_enqueue_parked(struct weft_lock *l, struct weft__sync_wait *sw)
{
	if (!l->owner) {
		weft__lock_set_owner(l, sw->wait.task);
		sw->result = 0;
		weft__wake(sw->wait.task);
	} else {
		weft__list_add_tail(&l->waiters, &sw->link);
	}
}

int weft_lock_new(weft_loop *loop, weft_lock **lockp)
{
	struct weft_lock *l;
	int err;

	if (!lockp)
		return -EINVAL;
	err = weft__sync_loop(loop, &loop);
	if (err)
		return err;
	l = weft__new(struct weft_lock);
	if (!l)
		return -ENOMEM;
	weft__lock_init(l, loop);
	*lockp = l;
	return 0;
}

int weft_lock_free(weft_lock *l)
{
	if (!l)
		return 0;
	if (!weft__list_empty(&l->waiters) || l->users)
		return -EBUSY;
	weft__delete(l);
	return 0;
}

int weft_lock_acquire(weft_lock *l)
{
	struct weft__sync_wait sw;
	struct weft_task *t;
	int err;

	if (!l)
		return -EINVAL;
	err = weft__sync_task(l->loop, &t);
	if (err)
		return err;
	if (weft__lock_held_by(l, t))
		return -EDEADLK;
	err = weft__checkpoint(t);
	if (err)
		return err;
	if (!l->owner) {
		weft__lock_set_owner(l, t);
		return 0;
	}
	/* Woken normally means the releaser already made us the owner. */
	return weft__sync_park(&l->waiters, &sw, t, "lock", weft__sync_interrupt);
}

int weft_lock_try_acquire(weft_lock *l)
{
	struct weft_task *t;
	int err;

	if (!l)
		return -EINVAL;
	err = weft__sync_task(l->loop, &t);
	if (err)
		return err;
	if (weft__lock_held_by(l, t))
		return -EDEADLK;
	if (l->owner)
		return -EAGAIN;
	weft__lock_set_owner(l, t);
	return 0;
}

int weft_lock_release(weft_lock *l)
{
	struct weft_task *t;

	if (!l)
		return -EINVAL;
	/* Plain code cannot own it ("not the owner"); a task of another loop is refused. */
	if (weft__sync_task(l->loop, &t) == -EXDEV)
		return weft__debug_wrong_thread(t->loop, __func__);
	if (!weft__lock_held_by(l, t))
		return -EPERM;
	weft__lock_handoff(l);
	return 0;
}

bool weft_lock_locked(const weft_lock *l)
{
	return l && l->owner;
}
