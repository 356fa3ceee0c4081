/* SPDX-License-Identifier: MIT */
/* The loop's timer heap, and the public weft_timer handles built on it. */
#include <errno.h>

#include "weft/time.h"
#include "alloc.h"
#include "deadline.h"
#include "loop.h"
#include "timer.h"

static inline bool before(const struct weft__timer *a, const struct weft__timer *b)
{
	return a->when < b->when;
}

static inline void place(struct weft_loop *loop, uint32_t i, struct weft__timer *t)
{
	loop->heap[i] = t;
	t->slot = i;
}

static void sift_up(struct weft_loop *loop, uint32_t i)
{
	struct weft__timer *t = loop->heap[i];

	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (!before(t, loop->heap[parent]))
			break;
		place(loop, i, loop->heap[parent]);
		i = parent;
	}
	place(loop, i, t);
}

static void sift_down(struct weft_loop *loop, uint32_t i)
{
	struct weft__timer *t = loop->heap[i];
	uint32_t n = loop->heap_len;

	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && before(loop->heap[c + 1], loop->heap[c]))
			c++;
		if (!before(loop->heap[c], t))
			break;
		place(loop, i, loop->heap[c]);
		i = c;
	}
	place(loop, i, t);
}

/* Grow the heap so @n timers fit: spawning a task or creating a timer reserves its slot, so
 * arming one (in park, from a fiber) never fails. */
int weft__timers_reserve(struct weft_loop *loop, size_t n)
{
	uint32_t cap = loop->heap_cap ? loop->heap_cap : 64;
	struct weft__timer **heap;

	if (n <= loop->heap_cap)
		return 0;
	if (n > UINT32_MAX / 2)
		return -ENOMEM;
	while (cap < n)
		cap *= 2;
	heap = weft__realloc(loop->heap, cap * sizeof(*heap));
	if (!heap)
		return -ENOMEM;
	loop->heap = heap;
	loop->heap_cap = cap;
	return 0;
}

int weft__timer_arm(struct weft_loop *loop, struct weft__timer *t, int64_t when)
{
	if (weft__timer_armed(t)) {
		t->when = when;
		sift_up(loop, t->slot);
		sift_down(loop, t->slot);
		return 0;
	}
	if (loop->heap_len == loop->heap_cap && weft__timers_reserve(loop, loop->heap_len + 1))
		return -ENOMEM;
	t->when = when;
	place(loop, loop->heap_len++, t);
	sift_up(loop, t->slot);
	return 0;
}

void weft__timer_disarm(struct weft_loop *loop, struct weft__timer *t)
{
	uint32_t i = t->slot;
	struct weft__timer *last;

	if (i == WEFT__TIMER_UNARMED)
		return;
	last = loop->heap[--loop->heap_len];
	t->slot = WEFT__TIMER_UNARMED;
	if (last == t)
		return;
	place(loop, i, last);
	sift_up(loop, i);
	sift_down(loop, last->slot);
}

void weft__timers_run(struct weft_loop *loop, int64_t now)
{
	while (loop->heap_len && loop->heap[0]->when <= now) {
		struct weft__timer *t = loop->heap[0];
		weft__timer_disarm(loop, t);
		t->fire(t);
	}
}

int64_t weft__timers_next(const struct weft_loop *loop)
{
	return loop->heap_len ? loop->heap[0]->when : WEFT_FOREVER;
}

/* ---- weft_timer ------------------------------------------------------------------------- */

struct weft_timer {
	struct weft__timer timer;
	struct weft_loop *loop;
	struct weft__list node; /* loop->timers */
	void (*fn)(void *arg);
	void *arg;
	int64_t repeat;
};

static void user_timer_fired(struct weft__timer *timer)
{
	struct weft_timer *t = weft__container_of(timer, struct weft_timer, timer);
	struct weft_loop *loop = t->loop;

	if (t->repeat > 0) {
		int64_t next = weft__deadline_after(timer->when, t->repeat), now = weft_now();
		/* Fell behind (a long callback, a stopped loop): skip the missed ticks. */
		weft__timer_arm(loop, timer,
				next > now ? next : weft__deadline_after(now, t->repeat));
	} else {
		loop->user_timers--;
	}
	t->fn(t->arg); /* last: the callback may free the timer */
}

int weft_timer_new(weft_loop *loop, weft_timer **timerp, void (*fn)(void *arg), void *arg)
{
	struct weft_timer *t;

	if (!loop || !timerp || !fn)
		return -EINVAL;
	if (weft__loop_affine(loop, __func__))
		return -EXDEV;
	if (weft__timers_reserve(loop, loop->alive + loop->ntimers + 1))
		return -ENOMEM;
	t = weft__new(struct weft_timer);
	if (!t)
		return -ENOMEM;
	weft__timer_init(&t->timer, user_timer_fired);
	t->loop = loop;
	t->fn = fn;
	t->arg = arg;
	weft__list_add_tail(&loop->timers, &t->node);
	loop->ntimers++;
	*timerp = t;
	return 0;
}

int weft_timer_start(weft_timer *t, int64_t deadline, int64_t repeat_ns)
{
	if (!t || repeat_ns < 0 || !t->loop)
		return -EINVAL;
	if (weft__loop_affine(t->loop, __func__))
		return -EXDEV;
	if (!weft__timer_armed(&t->timer))
		t->loop->user_timers++;
	t->repeat = repeat_ns;
	return weft__timer_arm(t->loop, &t->timer, deadline);
}

static void timer_stop(weft_timer *t)
{
	if (!weft__timer_armed(&t->timer))
		return;
	weft__timer_disarm(t->loop, &t->timer);
	t->loop->user_timers--;
}

void weft_timer_stop(weft_timer *t)
{
	if (t && t->loop && !weft__loop_affine(t->loop, __func__))
		timer_stop(t);
}

bool weft_timer_active(const weft_timer *t)
{
	return t && weft__timer_armed(&t->timer);
}

void weft_timer_free(weft_timer *t)
{
	if (!t)
		return;
	if (t->loop) {
		timer_stop(t);
		weft__list_del(&t->node);
		t->loop->ntimers--;
	}
	weft__delete(t);
}

void weft__timers_free(struct weft_loop *loop)
{
	struct weft__list *pos, *tmp;

	/* The handles are the user's: stop and detach them, so freeing one later is safe. */
	weft__list_for_each_safe(pos, tmp, &loop->timers)
	{
		struct weft_timer *t = weft__container_of(pos, struct weft_timer, node);
		timer_stop(t);
		weft__list_del(&t->node);
		t->loop = NULL;
	}
	loop->ntimers = 0;
	weft__free(loop->heap, loop->heap_cap * sizeof(*loop->heap));
	loop->heap = NULL;
	loop->heap_cap = loop->heap_len = 0;
}
