/* SPDX-License-Identifier: MIT */
/*
 * The loop's inbox: work posted from any thread. Posters push onto a lock-free stack; the loop
 * takes the whole stack at once each turn and runs it oldest first.
 *
 * Waking a sleeping loop without a lost or a needless wake-up (Dekker): before it blocks, the loop
 * sets `sleeping` and then looks at the inbox; a poster pushes and then looks at `sleeping`.
 * With sequentially consistent operations at least one of them sees the other: either the loop
 * finds the post and doesn't block, or the poster finds it asleep and wakes it.
 */
#include <errno.h>
#include <sched.h>
#include <unistd.h>

#include "weft/thread.h"
#include "alloc.h"
#include "backend.h"
#include "loop.h"
#include "sched.h"

static void push(struct weft_loop *loop, struct weft__post *p, void (*fn)(void *), void *arg)
{
	p->fn = fn;
	p->arg = arg;
	/* Once the post is visible the loop may run it, finish and be closed while we still look
	 * at `sleeping`: close waits for posters to leave (weft__posters_wait). */
	atomic_fetch_add(&loop->posters, 1);
	p->next = atomic_load_explicit(&loop->inbox, memory_order_relaxed);
	while (!atomic_compare_exchange_weak(&loop->inbox, &p->next, p))
		;
	if (atomic_load(&loop->sleeping))
		loop->be->wake(loop, weft__loop());
	atomic_fetch_sub_explicit(&loop->posters, 1, memory_order_release);
}

int weft_loop_post(weft_loop *loop, void (*fn)(void *), void *arg)
{
	struct weft__post *p;

	if (!loop || !fn)
		return -EINVAL;
	p = weft__new(struct weft__post);
	if (!p)
		return -ENOMEM;
	p->owned = true;
	push(loop, p, fn, arg);
	return 0;
}

void weft__post_node(struct weft_loop *loop, struct weft__post *p, void (*fn)(void *), void *arg)
{
	p->owned = false;
	push(loop, p, fn, arg);
}

/* Before a loop is freed: let threads finish the weft_loop_post/stop calls they are inside.
 * They are a few instructions (and maybe one write(2)) from leaving. */
void weft__posters_wait(struct weft_loop *loop)
{
	while (atomic_load_explicit(&loop->posters, memory_order_acquire))
		sched_yield();
}

/* The loop is about to block: false if a post slipped in (then it must not). */
bool weft__inbox_sleep(struct weft_loop *loop)
{
	atomic_store(&loop->sleeping, 1);
	if (atomic_load(&loop->inbox)) {
		atomic_store_explicit(&loop->sleeping, 0, memory_order_relaxed);
		return false;
	}
	return true;
}

void weft__inbox_run(struct weft_loop *loop)
{
	struct weft__post *p = atomic_exchange(&loop->inbox, NULL), *fifo = NULL;

	while (p) { /* the stack is newest first: reverse it */
		struct weft__post *next = p->next;
		p->next = fifo;
		fifo = p;
		p = next;
	}
	while (fifo) {
		struct weft__post *next = fifo->next;
		bool owned = fifo->owned; /* a poster's record may be freed by its fn */

		fifo->fn(fifo->arg);
		if (owned)
			weft__delete(fifo);
		fifo = next;
	}
}

/* ---- futures from other threads -------------------------------------------------------- */

struct future_set {
	weft_future *future;
	int status;
	void *value;
};

static void future_set_posted(void *arg)
{
	struct future_set *fs = arg;

	weft_future_set(fs->future, fs->status, fs->value);
	weft__delete(fs);
}

int weft_future_set_threadsafe(weft_future *f, int status, void *value)
{
	struct future_set *fs;
	int r;

	if (!f)
		return -EINVAL;
	fs = weft__new(struct future_set);
	if (!fs)
		return -ENOMEM;
	*fs = (struct future_set){f, status, value};
	r = weft_loop_post(weft__future_loop(f), future_set_posted, fs);
	if (r)
		weft__delete(fs);
	return r;
}
