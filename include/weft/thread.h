/* SPDX-License-Identifier: MIT */
/*
 * weft/thread.h - crossing threads: posting work into a loop from any thread
 * (loop.call_soon_threadsafe), completing a future from another thread, and running a task on a
 * loop while another thread waits for its status (asyncio.run_coroutine_threadsafe + result()).
 *
 * A post reaches a sleeping loop through its ring: IORING_OP_MSG_RING when the posting thread
 * runs a weft loop itself (batched with that loop's own submissions), an eventfd write from a
 * plain thread. Never by polling; a loop that is busy is not woken at all, it finds the post at
 * the end of its turn.
 *
 * Posting into a loop that weft_loop_close() has begun to free is undefined: stop posting first.
 */
#ifndef WEFT_THREAD_H
#define WEFT_THREAD_H

#include "common.h"
#include "future.h"
#include "loop.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * weft_loop_post - run @fn(@arg) on @loop's thread, as plain callback code, at the start of its
 * next turn (asyncio's call_soon_threadsafe). Posts from one thread run in the order they were
 * made. @fn must not block. Returns 0, -EINVAL or -ENOMEM.
 * Thread-safe: any thread, including the loop's own.
 */
WEFT_API int weft_loop_post(weft_loop *loop, void (*fn)(void *arg), void *arg);

/*
 * weft_future_set_threadsafe - weft_future_set() from any thread: the future is set on its
 * loop's thread at the loop's next turn (if it is already set by then, this does nothing).
 * Returns 0 (posted), -EINVAL or -ENOMEM. Thread-safe.
 */
WEFT_API int weft_future_set_threadsafe(weft_future *future, int status, void *value);

/*
 * weft_loop_call - run @fn(@arg) as a new task on @loop and wait until it returns, giving it
 * @timeout_ns (WEFT_FOREVER: no limit); its status goes to @status (may be NULL).
 * From a plain thread the call blocks the thread; from a fiber of any loop (including @loop
 * itself) it parks the fiber. On timeout - or when the calling fiber is cancelled or its deadline
 * expires - the task is cancelled and still waited for (so @arg is never used after the call
 * returns), and -ETIMEDOUT / -ECANCELED is returned with the task's status stored.
 * Returns 0, -EINVAL, -ENOMEM, or the errors above. Thread-safe.
 */
WEFT_API int weft_loop_call(weft_loop *loop, weft_task_fn fn, void *arg, int64_t timeout_ns,
			    int *status);

#ifdef __cplusplus
}
#endif
#endif
