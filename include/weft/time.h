/* SPDX-License-Identifier: MIT */
/*
 * weft/time.h - the clock, sleeping, yielding and callback timers.
 *
 * Sleeping fibers cost no kernel timer each: a loop keeps its timers in a heap and hands only the
 * nearest deadline to the kernel, as the timeout of the one io_uring_enter it waits in.
 *
 * Not thread-safe, except weft_now(): sleeps and timers belong to the loop's own thread.
 */
#ifndef WEFT_TIME_H
#define WEFT_TIME_H

#include "common.h"
#include "loop.h"

#ifdef __cplusplus
extern "C" {
#endif

/* weft_now - CLOCK_MONOTONIC in nanoseconds. Thread-safe. */
WEFT_API int64_t weft_now(void);

/*
 * weft_sleep - park the current task for @ns nanoseconds (asyncio.sleep).
 * @ns <= 0 is a yield. Returns 0, -ECANCELED, -ETIMEDOUT (an enclosing deadline came first), or
 * -EPERM outside a fiber.
 */
WEFT_API int weft_sleep(int64_t ns);

/* weft_sleep_until - like weft_sleep, until the absolute weft_now() time @deadline. */
WEFT_API int weft_sleep_until(int64_t deadline);

/*
 * weft_yield - let every other ready task run once, then continue (asyncio.sleep(0)).
 * Also a cancellation point: returns 0, -ECANCELED, -ETIMEDOUT, or -EPERM outside a fiber.
 */
WEFT_API int weft_yield(void);

/*
 * Callback timers (libuv's uv_timer, asyncio's call_later/call_at): a reusable handle that calls
 * a function on the loop's stack when it expires. Callbacks must not block. Not thread-safe:
 * from a thread that does not run the loop, start returns -EXDEV and stop does nothing.
 */
typedef struct weft_timer weft_timer;

/* weft_timer_new - create a stopped timer calling @fn(@arg). Returns 0, -EINVAL or -ENOMEM. */
WEFT_API int weft_timer_new(weft_loop *loop, weft_timer **timerp, void (*fn)(void *arg), void *arg);

/*
 * weft_timer_start - (re)arm @timer to fire at the absolute time @deadline, and then every
 * @repeat_ns if @repeat_ns > 0 (a period that overflows the clock saturates: the timer fires once
 * and stays armed for WEFT_FOREVER). A pending timer keeps weft_loop_run() running.
 * Returns 0, -EINVAL, or -EXDEV from the wrong thread.
 */
WEFT_API int weft_timer_start(weft_timer *timer, int64_t deadline, int64_t repeat_ns);

/* weft_timer_stop - disarm @timer (no-op if it is not armed). */
WEFT_API void weft_timer_stop(weft_timer *timer);

/* weft_timer_active - true while @timer is armed. */
WEFT_API bool weft_timer_active(const weft_timer *timer);

/* weft_timer_free - stop and free @timer. May be called from its own callback, and after its
 * loop was closed (close stops timers; weft_timer_start on them then returns -EINVAL). */
WEFT_API void weft_timer_free(weft_timer *timer);

#ifdef __cplusplus
}
#endif
#endif
