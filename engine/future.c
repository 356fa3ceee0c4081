/* SPDX-License-Identifier: MIT */
/* One-shot futures. */
#include <errno.h>

#include "weft/future.h"
#include "alloc.h"
#include "loop.h"
#include "sched.h"
#include "task.h"

struct weft_future {
	struct weft_loop *loop;
	struct weft__list waiters; /* struct future_wait */
	int status;
	void *value;
	bool done;
};

struct future_wait {
	struct weft__wait wait;
	struct weft__list link;
};

static void future_interrupt(struct weft__wait *w)
{
	weft__list_del(&weft__container_of(w, struct future_wait, wait)->link);
	weft__wake(w->task);
}

int weft_future_new(weft_loop *loop, weft_future **fp)
{
	struct weft_future *f;

	if (!loop || !fp)
		return -EINVAL;
	f = weft__new(struct weft_future);
	if (!f)
		return -ENOMEM;
	f->loop = loop;
	weft__list_init(&f->waiters);
	*fp = f;
	return 0;
}

int weft_future_set(weft_future *f, int status, void *value)
{
	if (!f)
		return -EINVAL;
	if (weft__loop_affine(f->loop, __func__))
		return -EXDEV;
	if (f->done)
		return -EALREADY;
	f->done = true;
	f->status = status;
	f->value = value;
	while (!weft__list_empty(&f->waiters)) {
		struct future_wait *fw =
		    weft__container_of(f->waiters.next, struct future_wait, link);
		weft__list_del(&fw->link);
		weft__wake(fw->wait.task);
	}
	return 0;
}

int weft_future_cancel(weft_future *f)
{
	return weft_future_set(f, -ECANCELED, NULL);
}

int weft_future_wait(weft_future *f, void **valuep)
{
	struct weft_task *t = weft__current();
	struct future_wait fw;
	int err;

	if (!f)
		return -EINVAL;
	if (!t)
		return -EPERM;
	if (t->loop != f->loop)
		return weft__debug_wrong_thread(t->loop, __func__);
	if (!f->done) {
		err = weft__checkpoint(t);
		if (err)
			return err;
		weft__wait_init(&fw.wait, "future", future_interrupt);
		weft__list_add_tail(&f->waiters, &fw.link);
		err = weft__park(&fw.wait, WEFT_FOREVER, 0);
		if (err)
			return err;
	}
	if (valuep)
		*valuep = f->value;
	return f->status;
}

struct weft_loop *weft__future_loop(struct weft_future *f)
{
	return f->loop;
}

bool weft_future_done(const weft_future *f)
{
	return f && f->done;
}

int weft_future_free(weft_future *f)
{
	if (!f)
		return 0;
	if (!weft__list_empty(&f->waiters))
		return -EBUSY;
	weft__delete(f);
	return 0;
}
