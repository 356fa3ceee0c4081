/* SPDX-License-Identifier: MIT */
/*
 * weft/task.h - tasks: fibers with a name, a status and a life cycle (asyncio.Task).
 *
 * A task runs fn(arg) on its own stack. Its int return value is its status: >= 0 for success,
 * a negative errno for failure (the C stand-in for an exception). Results larger than an int go
 * through @arg. A task handle stays valid until it is joined (weft_task_join and friends) or
 * detached; a detached task frees itself when it returns.
 *
 * Every spawned task runs (trio's rule), so it always owns its @arg: a task cancelled before it
 * started still starts, and its first checkpoint (any blocking call, weft_checkpoint) returns
 * -ECANCELED. It can then free what it was handed, which a task that never ran could not.
 *
 * Cancellation is a request, delivered at the task's next blocking call (or the one it is parked
 * in), which returns -ECANCELED. It is sticky: every later blocking call of that task also returns
 * -ECANCELED at once, except inside a shield scope (weft/scope.h) - so cleanup code that must
 * block (flush, graceful close) runs in a shield. An operation that completed before the cancel
 * took effect returns its result, never losing data; the cancel then shows at the next call.
 *
 * All calls here are for the loop's own thread only (not thread-safe).
 */
#ifndef WEFT_TASK_H
#define WEFT_TASK_H

#include "common.h"
#include "loop.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Options for spawning; NULL or zeroed fields mean defaults. */
struct weft_task_opts {
	const char *name;  /* copied (first 31 bytes); default "task-<id>" */
	size_t stack_size; /* default: the loop's (64 KiB); rounded up to pages, at least 16 KiB */
	uint64_t reserved[4]; /* must be zero (README "ABI"): room for later fields */
};

/* Task states, as weft_task_state() reports them. */
enum weft_task_state {
	WEFT_TASK_READY,   /* spawned or woken, waiting for its turn */
	WEFT_TASK_RUNNING, /* the current task */
	WEFT_TASK_PARKED,  /* blocked in a weft call */
	WEFT_TASK_DONE,	   /* returned; its status is known */
};

/*
 * weft_task_spawn - create a task on the current thread's loop; it first runs on a later turn.
 * @taskp: receives the handle; NULL spawns it detached.
 * Returns 0, -EINVAL (no fn, absurd stack size), -ENOMEM, or -EPERM with no loop on this thread.
 * May be called from a fiber or from callback code running on the loop.
 */
WEFT_API int weft_task_spawn(weft_task **taskp, weft_task_fn fn, void *arg,
			     const struct weft_task_opts *opts);

/*
 * weft_task_join - wait for @task to return, store its status in @status (may be NULL) and free
 * the handle. Joining an already finished task returns at once.
 * Any number of tasks may join one task at the same time (as many awaiters of one asyncio task
 * do): each gets its status, and the handle is freed when the last of them returns.
 * Returns 0 (the handle is gone), or -ECANCELED / -ETIMEDOUT if the *joining* task was cancelled
 * or its deadline expired before @task returned (the handle stays valid and @task keeps running:
 * joining never cancels the joined task, which is what asyncio.shield() provides), -EDEADLK for
 * joining yourself, -EINVAL for NULL or a detached task, -EPERM outside a fiber, -EXDEV for a
 * task of another loop.
 */
WEFT_API int weft_task_join(weft_task *task, int *status);

/*
 * weft_task_detach - let @task free itself when it returns (now, if it already has).
 * The handle must not be used afterwards. Returns 0, -EINVAL (NULL, already detached), or
 * -EBUSY while another task is joining it.
 */
WEFT_API int weft_task_detach(weft_task *task);

/*
 * weft_task_cancel - request cancellation of @task (see the top of this file).
 * A task cancelled before it first ran still runs, and its first checkpoint returns -ECANCELED.
 * It also reaches the children of the task groups @task has open (weft/group.h).
 * Returns 0, or -EALREADY if it has already returned. Callable from fibers and loop callbacks.
 */
WEFT_API int weft_task_cancel(weft_task *task);

/* weft_task_done - true once @task has returned (asyncio Task.done()). */
WEFT_API bool weft_task_done(const weft_task *task);

/* weft_task_cancelled - true if cancellation was requested for @task. */
WEFT_API bool weft_task_cancelled(const weft_task *task);

/*
 * weft_task_status - the status of a finished task without joining it (Task.result()).
 * Returns -EAGAIN if it has not finished yet (the status itself may be any int).
 */
WEFT_API int weft_task_status(const weft_task *task, int *status);

/* weft_task_state - where @task is in its life cycle (WEFT_TASK_DONE for NULL). */
WEFT_API enum weft_task_state weft_task_state(const weft_task *task);

/* weft_task_name - the task's name (never NULL; valid while the handle is). */
WEFT_API const char *weft_task_name(const weft_task *task);

/* weft_task_arg - the @arg @task was spawned with (find whose result a finished task holds). */
WEFT_API void *weft_task_arg(const weft_task *task);

/* weft_task_id - a number unique among the tasks of its loop, starting at 1. */
WEFT_API uint64_t weft_task_id(const weft_task *task);

/*
 * weft_task_on_done - call @fn(@task, @arg) on the loop's stack when @task returns (at once if it
 * already has). Callbacks run in the order added, before joiners wake. They must not block, and
 * must not join or detach @task. Returns 0, -ENOMEM, or -EINVAL.
 */
WEFT_API int weft_task_on_done(weft_task *task, void (*fn)(weft_task *task, void *arg), void *arg);

/* weft_task_current - the task running now, or NULL in loop callbacks / plain threads. */
WEFT_API weft_task *weft_task_current(void);

#ifdef __cplusplus
}
#endif
#endif
