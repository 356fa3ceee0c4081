/* SPDX-License-Identifier: MIT */
/*
 * Barriers. The last arrival of a round releases the others by handing each its arrival index
 * at wake time and resets the count at once, so a released task can enter the next round before
 * the others have even run, and no "draining" state is needed. A waiter that is interrupted
 * leaves the round; indices are numbered at release time among those still there, so they stay
 * distinct and dense.
 */
#include <errno.h>
#include <limits.h>

#include "alloc.h"
#include "sync.h"

struct weft_barrier {
	struct weft_loop *loop;
	unsigned parties;
	unsigned waiting;	   /* tasks parked in the current round */
	bool broken;		   /* aborted: waits fail with -EPIPE until reset */
	struct weft__list waiters; /* struct weft__sync_wait, in arrival order */
};

struct barrier_wait {
	struct weft__sync_wait sw;
	struct weft_barrier *barrier;
};

static void barrier_interrupt(struct weft__wait *w)
{
	struct barrier_wait *bw = weft__container_of(w, struct barrier_wait, sw.wait);

	bw->barrier->waiting--;
	weft__sync_interrupt(w);
}

int weft_barrier_new(weft_loop *loop, weft_barrier **barrierp, unsigned parties)
{
	struct weft_barrier *b;
	int err;

	if (!barrierp || !parties || parties > INT_MAX)
		return -EINVAL;
	err = weft__sync_loop(loop, &loop);
	if (err)
		return err;
	b = weft__new(struct weft_barrier);
	if (!b)
		return -ENOMEM;
	b->loop = loop;
	b->parties = parties;
	weft__list_init(&b->waiters);
	*barrierp = b;
	return 0;
}

int weft_barrier_free(weft_barrier *b)
{
	if (!b)
		return 0;
	if (!weft__list_empty(&b->waiters))
		return -EBUSY;
	weft__delete(b);
	return 0;
}

/* The last party arrived: hand out the indices in arrival order and start a new round. */
static int barrier_open(struct weft_barrier *b)
{
	int index = 0;

	while (!weft__list_empty(&b->waiters))
		weft__sync_wake_first(&b->waiters, index++);
	b->waiting = 0;
	return index;
}

int weft_barrier_wait(weft_barrier *b)
{
	struct barrier_wait bw = {.barrier = b};
	struct weft_task *t;
	int err;

	if (!b)
		return -EINVAL;
	err = weft__sync_task(b->loop, &t);
	if (err)
		return err;
	if (b->broken)
		return -EPIPE;
	err = weft__checkpoint(t);
	if (err)
		return err;
	if (b->waiting + 1 == b->parties)
		return barrier_open(b);
	b->waiting++;
	return weft__sync_park(&b->waiters, &bw.sw, t, "barrier", barrier_interrupt);
}

/* Fail every waiter of the current round with -EPIPE and empty it. */
static void barrier_fail_waiters(struct weft_barrier *b)
{
	weft__sync_wake_all(&b->waiters, -EPIPE);
	b->waiting = 0;
}

int weft_barrier_abort(weft_barrier *b)
{
	int err;

	if (!b)
		return -EINVAL;
	err = weft__loop_affine(b->loop, __func__);
	if (err)
		return err;
	b->broken = true;
	barrier_fail_waiters(b);
	return 0;
}

int weft_barrier_reset(weft_barrier *b)
{
	int err;

	if (!b)
		return -EINVAL;
	err = weft__loop_affine(b->loop, __func__);
	if (err)
		return err;
	barrier_fail_waiters(b);
	b->broken = false;
	return 0;
}

int weft_barrier_parties(const weft_barrier *b)
{
	if (!b)
		return -EINVAL;
	if (weft__loop_affine(b->loop, __func__))
		return -EXDEV;
	return (int)b->parties;
}

int weft_barrier_waiting(const weft_barrier *b)
{
	if (!b)
		return -EINVAL;
	if (weft__loop_affine(b->loop, __func__))
		return -EXDEV;
	return (int)b->waiting;
}

bool weft_barrier_broken(const weft_barrier *b)
{
	return b && b->broken;
}
