/* SPDX-License-Identifier: MIT */
/*
 * Events. Setting one wakes every waiter with success there and then: a clear before they run
 * cannot take the wake-up back (asyncio behaves the same).
 */
#include <errno.h>

#include "alloc.h"
#include "sync.h"

struct weft_event {
	struct weft_loop *loop;
	bool set;
	struct weft__list waiters; /* struct weft__sync_wait; empty while set */
};

int weft_event_new(weft_loop *loop, weft_event **eventp)
{
	struct weft_event *e;
	int err;

	if (!eventp)
		return -EINVAL;
	err = weft__sync_loop(loop, &loop);
	if (err)
		return err;
	e = weft__new(struct weft_event);
	if (!e)
		return -ENOMEM;
	e->loop = loop;
	weft__list_init(&e->waiters);
	*eventp = e;
	return 0;
}

int weft_event_free(weft_event *e)
{
	if (!e)
		return 0;
	if (!weft__list_empty(&e->waiters))
		return -EBUSY;
	weft__delete(e);
	return 0;
}

int weft_event_set(weft_event *e)
{
	int err;

	if (!e)
		return -EINVAL;
	err = weft__loop_affine(e->loop, __func__);
	if (err)
		return err;
	e->set = true;
	weft__sync_wake_all(&e->waiters, 0);
	return 0;
}

int weft_event_clear(weft_event *e)
{
	if (!e)
		return -EINVAL;
	if (weft__loop_affine(e->loop, __func__))
		return -EXDEV;
	e->set = false;
	return 0;
}

int weft_event_wait(weft_event *e)
{
	struct weft__sync_wait sw;
	struct weft_task *t;
	int err;

	if (!e)
		return -EINVAL;
	err = weft__sync_task(e->loop, &t);
	if (err)
		return err;
	/* Like a set future: the state is already there to be read, nothing needs to block. */
	if (e->set)
		return 0;
	err = weft__checkpoint(t);
	if (err)
		return err;
	return weft__sync_park(&e->waiters, &sw, t, "event", weft__sync_interrupt);
}

bool weft_event_is_set(const weft_event *e)
{
	return e && e->set;
}
