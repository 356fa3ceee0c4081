/* SPDX-License-Identifier: MIT */
/*
 * FIFO wait queues of parked fibers with hand-off at wake time: what the sync primitives
 * (sync.h) and the modules (a listener's accept waiters) queue fibers on.
 */
#ifndef WEFT_ENGINE_WAITQ_H
#define WEFT_ENGINE_WAITQ_H

#include "list.h"
#include "sched.h"

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

#endif
