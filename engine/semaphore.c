/* SPDX-License-Identifier: MIT */
/*
 * Counting semaphores, optionally bounded. A release with waiters hands its permit straight to
 * the first one instead of raising the count. As in asyncio, a waiter that has been handed a
 * permit but has not run yet still counts as waiting: until it has, a new acquire queues (a task
 * that releases and at once re-acquires goes behind it), and permits released meanwhile go to
 * the queue when the last such waiter runs.
 */
#include <errno.h>

#include "alloc.h"
#include "sync.h"

struct weft_sem {
	struct weft_loop *loop;
	unsigned value;		   /* free permits; 0 while tasks queue and none is handing */
	unsigned max;		   /* a release beyond this is -EOVERFLOW */
	unsigned handing;	   /* waiters handed a permit that have not run yet */
	struct weft__list waiters; /* struct weft__sync_wait, FIFO */
};

int weft_sem_new(weft_loop *loop, weft_sem **semp, unsigned value, unsigned max)
{
	struct weft_sem *s;
	int err;

	if (!semp || !max || max > WEFT_SEM_VALUE_MAX || value > max)
		return -EINVAL;
	err = weft__sync_loop(loop, &loop);
	if (err)
		return err;
	s = weft__new(struct weft_sem);
	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->value = value;
	s->max = max;
	weft__list_init(&s->waiters);
	*semp = s;
	return 0;
}

int weft_sem_free(weft_sem *s)
{
	if (!s)
		return 0;
	if (!weft__list_empty(&s->waiters) || s->handing)
		return -EBUSY;
	weft__delete(s);
	return 0;
}

/* Hand @s's permit to its first waiter. */
static void sem_hand(struct weft_sem *s)
{
	s->handing++;
	weft__sync_wake_first(&s->waiters, 0);
}

/* The last handed waiter has run: permits released meanwhile go to the queue, in order. */
static void sem_pump(struct weft_sem *s)
{
	for (; s->value && !weft__list_empty(&s->waiters); s->value--)
		sem_hand(s);
}

int weft_sem_acquire(weft_sem *s)
{
	struct weft__sync_wait sw;
	struct weft_task *t;
	int err;

	if (!s)
		return -EINVAL;
	err = weft__sync_task(s->loop, &t);
	if (err)
		return err;
	err = weft__checkpoint(t);
	if (err)
		return err;
	if (s->value && !s->handing) {
		s->value--;
		return 0;
	}
	/* Woken normally means a releaser handed us its permit. */
	err = weft__sync_park(&s->waiters, &sw, t, "semaphore", weft__sync_interrupt);
	if (!err && !--s->handing)
		sem_pump(s);
	return err;
}

int weft_sem_try_acquire(weft_sem *s)
{
	int err;

	if (!s)
		return -EINVAL;
	err = weft__loop_affine(s->loop, __func__);
	if (err)
		return err;
	if (!s->value || s->handing)
		return -EAGAIN;
	s->value--;
	return 0;
}

int weft_sem_release(weft_sem *s)
{
	int err;

	if (!s)
		return -EINVAL;
	err = weft__loop_affine(s->loop, __func__);
	if (err)
		return err;
	if (!weft__list_empty(&s->waiters) && !s->value) {
		sem_hand(s);
		return 0;
	}
	if (s->value >= s->max)
		return -EOVERFLOW;
	s->value++;
	return 0;
}

int weft_sem_value(const weft_sem *s)
{
	if (!s)
		return -EINVAL;
	if (weft__loop_affine(s->loop, __func__))
		return -EXDEV;
	return (int)s->value;
}
