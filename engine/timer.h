/* SPDX-License-Identifier: MIT */
/*
 * Loop timers: a binary min-heap of deadlines. Only the earliest one reaches the kernel, as the
 * timeout of the io_uring_enter the loop waits in (see loop.c), because every kernel timer that
 * fires costs a hypervisor exit of ~14 us on these machines, batched or not.
 * Timer records are embedded (in park frames on fiber stacks, in weft_timer handles): arming one
 * allocates nothing except when the heap array grows.
 */
#ifndef WEFT_ENGINE_TIMER_H
#define WEFT_ENGINE_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct weft_loop;

struct weft__timer {
	int64_t when;
	uint32_t slot;				 /* index in the heap; UINT32_MAX when unarmed */
	void (*fire)(struct weft__timer *timer); /* runs on the loop's stack */
};

#define WEFT__TIMER_UNARMED UINT32_MAX

static inline void weft__timer_init(struct weft__timer *t, void (*fire)(struct weft__timer *))
{
	t->slot = WEFT__TIMER_UNARMED;
	t->fire = fire;
}

static inline bool weft__timer_armed(const struct weft__timer *t)
{
	return t->slot != WEFT__TIMER_UNARMED;
}

/* Arm (or re-arm) @t for @when. Returns 0 or -ENOMEM (only when the heap must grow). */
int weft__timer_arm(struct weft_loop *loop, struct weft__timer *t, int64_t when);
void weft__timer_disarm(struct weft_loop *loop, struct weft__timer *t);
/* Make room for @n armed timers, so arming can't fail later. Returns 0 or -ENOMEM. */
int weft__timers_reserve(struct weft_loop *loop, size_t n);
/* Fire every timer due at @now. */
void weft__timers_run(struct weft_loop *loop, int64_t now);
/* The earliest deadline, or INT64_MAX. */
int64_t weft__timers_next(const struct weft_loop *loop);
void weft__timers_free(struct weft_loop *loop);

#endif
