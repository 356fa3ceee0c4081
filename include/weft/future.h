/* SPDX-License-Identifier: MIT */
/*
 * weft/future.h - one-shot futures (asyncio.Future): a result that callback code sets once and
 * any number of tasks wait for.
 *
 * Not thread-safe: a future belongs to its loop (-EXDEV from other threads); another thread
 * completes one with weft_future_set_threadsafe() (weft/thread.h).
 */
#ifndef WEFT_FUTURE_H
#define WEFT_FUTURE_H

#include "common.h"
#include "loop.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_future weft_future;

/* weft_future_new - create an unset future on @loop. Returns 0, -EINVAL or -ENOMEM. */
WEFT_API int weft_future_new(weft_loop *loop, weft_future **futurep);

/*
 * weft_future_set - complete @future with @status (>= 0 success, < 0 an error) and @value, and
 * wake every waiter. Returns 0, or -EALREADY if it was already set (nothing changes).
 * Callable from fibers and loop callbacks of the future's loop; not from other threads.
 */
WEFT_API int weft_future_set(weft_future *future, int status, void *value);

/* weft_future_cancel - set @future to -ECANCELED (asyncio Future.cancel()). Same returns. */
WEFT_API int weft_future_cancel(weft_future *future);

/*
 * weft_future_wait - wait until @future is set; store its value in @valuep (may be NULL).
 * Returns the future's status - at once if it is already set, even in a cancelled task - or
 * -ECANCELED / -ETIMEDOUT if the waiting task was cancelled or its deadline expired before it
 * was set (the future stays unset), -EPERM outside a fiber.
 */
WEFT_API int weft_future_wait(weft_future *future, void **valuep);

/* weft_future_done - true once @future is set. */
WEFT_API bool weft_future_done(const weft_future *future);

/*
 * weft_future_free - free @future, before or after its loop is closed (closing a loop frees no
 * future). Returns 0, or -EBUSY if tasks are still waiting on it (nothing is freed then).
 */
WEFT_API int weft_future_free(weft_future *future);

#ifdef __cplusplus
}
#endif
#endif
