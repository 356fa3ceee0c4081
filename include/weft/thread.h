/* SPDX-License-Identifier: MIT */
/*
 * weft/thread.h - crossing threads (weft_loop_post and weft_loop_call are in weft/loop.h
 * with the other loop calls): posting work into a loop from any thread
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
 * weft_future_set_threadsafe - weft_future_set() from any thread: the future is set on its
 * loop's thread at the loop's next turn (if it is already set by then, this does nothing).
 * Returns 0 (posted), -EINVAL or -ENOMEM. Thread-safe.
 */
WEFT_API int weft_future_set_threadsafe(weft_future *future, int status, void *value);

/*
 * Loopsets: N loops, each run forever by a thread of its own, started and stopped together.
 * One per core for a multi-core service (each loop with its own SO_REUSEPORT listener, say), or
 * a single background loop for a program whose main thread belongs to something else (a GUI):
 * other threads hand it work with weft_loop_post(), weft_loop_call() or a channel.
 */
typedef struct weft_loopset weft_loopset;

/*
 * struct weft_loopset_opts - what weft_loopset_start() starts.
 * @nloops:    how many loops (and threads); 0 means one per CPU this process may run on.
 * @pin:       pin loop i's thread to the i-th CPU of the process's affinity mask (wrapping).
 * @main:      spawned as the first task of every loop (may be NULL); it gets @arg, and
 *             weft_loopset_index() tells the loops apart.
 * @loop_opts: options for every loop (may be NULL).
 */
struct weft_loopset_opts {
	unsigned nloops;
	bool pin;
	weft_task_fn main;
	void *arg;
	const struct weft_loop_opts *loop_opts;
	uint64_t reserved[4]; /* must be zero (README "ABI"): room for later fields */
};

/*
 * weft_loopset_start - create the loops on the calling thread (so a refused io_uring or a
 * lack of memory is reported here, with nothing left running), then start one thread per loop,
 * each spawning @main and running its loop until weft_loopset_stop(). The loops accept posts
 * and weft_loop_call() as soon as this returns. Returns 0, -EINVAL (nloops > 4096), -ENOMEM,
 * -EAGAIN (no more threads), or weft_loop_new()'s errors. Thread-safe.
 */
WEFT_API int weft_loopset_start(weft_loopset **groupp, const struct weft_loopset_opts *opts);

/* weft_loopset_size - how many loops the group runs (0 for NULL). Thread-safe. */
WEFT_API unsigned weft_loopset_size(const weft_loopset *group);

/* weft_loopset_loop - loop @i of the group, or NULL if out of range. Thread-safe. */
WEFT_API weft_loop *weft_loopset_loop(const weft_loopset *group, unsigned i);

/*
 * weft_loopset_index - on a group's loop thread (in @main, its tasks, its callbacks): the
 * loop's index in its group; -1 on any other thread. Thread-safe.
 */
WEFT_API int weft_loopset_index(void);

/*
 * weft_loopset_wait - block the calling thread until every loop's @main has returned (at
 * once if there is no @main). The loops keep running. Returns 0 if every main returned >= 0,
 * else the first negative status; -EBUSY when called on a thread that runs a weft loop (it
 * would block that loop; wait from plain code). Thread-safe.
 */
WEFT_API int weft_loopset_wait(weft_loopset *group);

/*
 * weft_loopset_stop - stop every loop, cancel and drain the tasks still running (as
 * weft_loop_close() does, on each loop's own thread), join the threads and free the group.
 * Returns 0 or the first error of a loop's close; -EBUSY from a thread running a weft loop
 * (nothing is stopped then). Thread-safe, but call it once.
 */
WEFT_API int weft_loopset_stop(weft_loopset *group);

#ifdef __cplusplus
}
#endif
#endif
