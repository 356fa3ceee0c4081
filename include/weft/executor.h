/* SPDX-License-Identifier: MIT */
/*
 * weft/executor.h - offloading blocking functions to a thread pool (asyncio.to_thread,
 * loop.run_in_executor with a ThreadPoolExecutor).
 *
 * A job is a plain function `int fn(void *arg)` (like a task's entry point: its int return value
 * is its result; bigger results go through @arg). It runs on a worker thread, so it may block
 * (sleep, read a file, call a blocking library) but must not call weft functions that need a
 * fiber. The caller waits for it:
 *   - from a fiber, the fiber parks and its loop keeps running other tasks; the end of the job is
 *     delivered to the fiber's own loop through weft_loop_post() (no polling);
 *   - from plain thread code, the calling thread blocks.
 *
 *     int n;
 *     int err = weft_executor_default_run(blocking_read, &req, &n);   // n = blocking_read(&req)
 *
 * Cancellation and deadlines of the waiting fiber (weft/task.h, weft/scope.h):
 *   - a job that has not started yet is dropped: it never runs, and the call returns -ECANCELED /
 *     -ETIMEDOUT at once;
 *   - a job that is already running cannot be stopped (threads are not cancellable). By default
 *     the call WAITS for it to finish and then returns -ECANCELED / -ETIMEDOUT (its result is
 *     still stored, see weft_executor_run): so @arg is never touched after the call returns, and a
 *     stack buffer is safe. With WEFT_EXECUTOR_DETACH the call returns at once instead and the job's
 *     result is discarded; @arg must then stay valid until the job ends on its own.
 *
 * Pools do not survive fork(): a child must not use a pool created before the fork (its workers
 * are not there); the default pool is forgotten in the child and created afresh on first use.
 *
 * Pools start their threads lazily (one more each time a job finds no idle worker, up to the
 * pool's size) and keep them until shutdown. The job queue is unbounded (like Python's).
 */
#ifndef WEFT_EXECUTOR_H
#define WEFT_EXECUTOR_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_executor weft_executor;

/* A job: runs on a worker thread; its return value is the job's result. */
typedef int (*weft_job_fn)(void *arg);

/* Flags for weft_executor_run_flags(). */
#define WEFT_EXECUTOR_DETACH (1u << 0) /* cancelled/timed out while running: return at once */

/* Flags for weft_executor_shutdown(). */
#define WEFT_EXECUTOR_WAIT	     0u	       /* run every job already queued, then stop */
#define WEFT_EXECUTOR_CANCEL_PENDING (1u << 0) /* queued jobs fail with -ECANCELED (never run) */

/* Largest pool size weft_executor_new() accepts. */
#define WEFT_EXECUTOR_MAX_THREADS 1024u

/*
 * weft_executor_new - create a thread pool of at most @nthreads worker threads.
 * @nthreads: 0 for the default: the number of online CPUs, at least 2.
 * No thread is started yet. Returns 0, -EINVAL (NULL @poolp, @nthreads > WEFT_EXECUTOR_MAX_THREADS)
 * or -ENOMEM. Thread-safe.
 */
WEFT_API int weft_executor_new(weft_executor **poolp, unsigned nthreads);

/*
 * weft_executor_run - run @fn(@arg) on one of @pool's threads and wait until it returns
 * (await loop.run_in_executor(pool, fn, arg)).
 * @result: receives @fn's return value (may be NULL). It is stored whenever the job ran to its end
 * before the call returned - also when the call returns -ECANCELED / -ETIMEDOUT because it had to
 * wait for a running job - and left untouched when the job never ran.
 * From a fiber the fiber parks (the loop goes on); from plain code the thread blocks.
 * Returns 0 (the job ran; its result is in @result), -ECANCELED / -ETIMEDOUT (the calling fiber
 * was cancelled or its deadline passed: see the top of this file), -ECANCELED also when the job
 * was still queued at a weft_executor_shutdown(WEFT_EXECUTOR_CANCEL_PENDING), -EPIPE if the pool is shut
 * down (nothing runs), -EINVAL (NULL @pool or @fn), -EAGAIN if no worker thread could be started
 * and none exists, -ENOMEM.
 * Thread-safe: any thread or fiber, concurrently. Calling it from a job of the same pool can
 * deadlock once every worker waits for a nested job: don't.
 */
WEFT_API int weft_executor_run(weft_executor *pool, weft_job_fn fn, void *arg, int *result);

/*
 * weft_executor_run_flags - weft_executor_run() with WEFT_EXECUTOR_* run flags (0 or WEFT_EXECUTOR_DETACH).
 * With WEFT_EXECUTOR_DETACH a fiber cancelled or timed out while its job runs returns at once, the
 * job's result is discarded, and @arg must stay valid until the job returns on its own.
 * Returns what weft_executor_run() does, or -EINVAL for unknown flags. Thread-safe.
 */
WEFT_API int weft_executor_run_flags(weft_executor *pool, weft_job_fn fn, void *arg, int *result,
				     unsigned flags);

/*
 * weft_executor_shutdown - stop accepting jobs (weft_executor_run then returns -EPIPE), deal with the
 * queued ones as @flags say (WEFT_EXECUTOR_WAIT: run them; WEFT_EXECUTOR_CANCEL_PENDING: their callers
 * get -ECANCELED), let running jobs finish, and join every worker thread
 * (ThreadPoolExecutor.shutdown(wait=True, cancel_futures=...)).
 * Blocks the calling THREAD until the workers have exited - also from a fiber, whose whole loop
 * then waits: jobs must not depend on that loop. Fibers whose jobs finished get their results
 * through their loops as usual.
 * Calling it again (or concurrently) is fine: a later CANCEL_PENDING still drops what is queued.
 * Returns 0, -EINVAL (NULL @pool, unknown flags), or -EDEADLK from one of @pool's own jobs.
 * Thread-safe.
 */
WEFT_API int weft_executor_shutdown(weft_executor *pool, unsigned flags);

/*
 * weft_executor_free - shut @pool down (WEFT_EXECUTOR_WAIT, unless that was done already) and free it.
 * Fibers still parked in weft_executor_run() for finished jobs are fine (they never touch the pool
 * again), but no call may START on @pool during or after this. NULL is a no-op.
 * Not to be called from one of @pool's own jobs. Thread-safe otherwise (any thread).
 */
WEFT_API void weft_executor_free(weft_executor *pool);

/* weft_executor_size - the most worker threads @pool runs (its @nthreads, resolved). Thread-safe. */
WEFT_API unsigned weft_executor_size(const weft_executor *pool);

/*
 * weft_executor_default - the process-wide default pool (loop.run_in_executor(None, ...)), created
 * on first use with the default size; stored in @poolp. At exit it is shut down (CANCEL_PENDING,
 * running jobs are waited for) but not freed, since other threads may still hold it: from then
 * on it refuses work with -EPIPE. weft_executor_default_shutdown() frees it earlier.
 * Returns 0, -EINVAL or -ENOMEM. Thread-safe.
 */
WEFT_API int weft_executor_default(weft_executor **poolp);

/*
 * weft_executor_default_run - weft_executor_run() on the default pool (await asyncio.to_thread(fn, arg)).
 * Returns what weft_executor_run() returns (-ENOMEM if the default pool cannot be created).
 * Thread-safe.
 */
WEFT_API int weft_executor_default_run(weft_job_fn fn, void *arg, int *result);

/*
 * weft_executor_default_shutdown - shut the default pool down (@flags as for weft_executor_shutdown)
 * and free it now; the next weft_executor_default_run() creates a fresh one.
 * Must not run concurrently with other uses of the default pool (nothing may be waiting in
 * weft_executor_default_run or start one meanwhile). Returns 0 (also when there is no default pool),
 * -EINVAL (unknown flags) or -EDEADLK from one of its own jobs. Thread-safe otherwise (any
 * thread).
 */
WEFT_API int weft_executor_default_shutdown(unsigned flags);

#ifdef __cplusplus
}
#endif
#endif
