/* SPDX-License-Identifier: MIT */
/*
 * weft/loop.h - event loops: one io_uring each (or epoll where io_uring is refused), one per
 * thread.
 *
 * A loop owns a ring, its tasks (fibers), timers and primitives. Nothing of a loop may be touched
 * from another thread except through the calls marked "thread-safe". A loop is bound to the first
 * thread that runs it (weft_loop_run*); running it later from another thread fails with -EXDEV.
 */
#ifndef WEFT_LOOP_H
#define WEFT_LOOP_H

#include <stdio.h>
#include <sys/uio.h>
#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_loop weft_loop;

/* Tasks (weft/task.h): the loop calls below start, run and list them. A task's entry point
 * returns its status. */
typedef struct weft_task weft_task;
typedef int (*weft_task_fn)(void *arg);
struct weft_task_opts;

/* Debug switch for struct weft_loop_opts.debug. */
enum weft_debug {
	WEFT_DEBUG_ENV = 0, /* on when the environment has WEFT_DEBUG=1 (the default) */
	WEFT_DEBUG_ON = 1,
	WEFT_DEBUG_OFF = 2,
};

/* Ring set-up choices for struct weft_loop_opts.ring_flags: forbid a feature even if the kernel
 * has it (for testing the fallbacks, or to share the ring's thread with odd code). */
#define WEFT_RING_NO_DEFER_TASKRUN (1u << 0) /* no SINGLE_ISSUER|DEFER_TASKRUN */
#define WEFT_RING_NO_COOP_TASKRUN  (1u << 1) /* no COOP_TASKRUN either */

/*
 * Which kernel interface a loop drives its I/O with (struct weft_loop_opts.backend). Every call
 * works on both, with the same results and errors; README "Where io_uring is blocked" has the
 * table of what each call does on each.
 */
enum weft_backend {
	WEFT_BACKEND_AUTO = 0,	/* io_uring; readiness (epoll) when the kernel refuses a ring */
	WEFT_BACKEND_URING = 1, /* io_uring only: weft_loop_new fails where it is refused */
	WEFT_BACKEND_EPOLL = 2, /* non-blocking syscalls on epoll readiness, files on a pool */
};

/*
 * Options for weft_loop_new(). Zero means "the default" for every field, so
 * `struct weft_loop_opts o = {0};` (or passing NULL) is always valid.
 */
struct weft_loop_opts {
	unsigned sq_entries;   /* submission queue size; default 256 (rounded up to a power of 2) */
	unsigned cq_entries;   /* completion queue size, sq_entries..65536; default 8 x
				* sq_entries, at most 65536 (the kernel's limit) */
	unsigned ring_flags;   /* WEFT_RING_* restrictions; default 0 (best the kernel has) */
	size_t stack_size;     /* default fiber stack size; default 64 KiB (256 KiB under ASan) */
	unsigned stack_cache;  /* spare default-sized stacks kept mapped for reuse; default 64 */
	enum weft_debug debug; /* debug mode; default: from env WEFT_DEBUG */
	int64_t slow_ns;       /* debug: warn when a fiber runs this long without yielding;
				   * default 100 ms (env WEFT_DEBUG_SLOW_MS overrides) */
	enum weft_backend backend; /* default AUTO; with AUTO, env WEFT_BACKEND=uring|epoll
				    * decides instead (an unknown value fails with -EINVAL) */
	uint64_t reserved[4];	   /* must be zero (README "ABI"): room for later fields */
};

/* Kernel features a loop found and uses; see weft_loop_features(). */
#define WEFT_FEAT_SINGLE_ISSUER (1u << 0) /* IORING_SETUP_SINGLE_ISSUER */
#define WEFT_FEAT_DEFER_TASKRUN (1u << 1) /* IORING_SETUP_DEFER_TASKRUN */
#define WEFT_FEAT_COOP_TASKRUN	(1u << 2) /* IORING_SETUP_COOP_TASKRUN */
#define WEFT_FEAT_EXT_ARG	(1u << 3) /* timed waits in one io_uring_enter */
#define WEFT_FEAT_CQE_SKIP	(1u << 4) /* cancels post no CQE when they succeed */
#define WEFT_FEAT_REG_RING_FD	(1u << 5) /* registered ring fd */
#define WEFT_FEAT_GUARD_MADV	(1u << 6) /* stack guards without extra VMAs (Linux 6.13+) */

/*
 * weft_loop_new - create a loop.
 * @loopp: receives the loop.
 * @opts: NULL for defaults.
 * On io_uring the ring is set up with the best flags the kernel accepts (SINGLE_ISSUER|
 * DEFER_TASKRUN, else COOP_TASKRUN, else none). With WEFT_BACKEND_AUTO a refused ring (-EPERM from
 * a seccomp filter as in Docker's default profile or the kernel.io_uring_disabled sysctl,
 * -ENOSYS, -EINVAL, -ENOMEM from RLIMIT_MEMLOCK on old kernels) falls back to the readiness
 * backend, said on stderr in debug mode. Returns 0, -EINVAL (bad options), -ENOMEM, -EMFILE, or,
 * with WEFT_BACKEND_URING, the kernel's refusal of io_uring itself (-EPERM, -ENOSYS ...).
 * Thread-safe (the loop belongs to no thread until it first runs).
 */
WEFT_API int weft_loop_new(weft_loop **loopp, const struct weft_loop_opts *opts);

/*
 * weft_loop_close - cancel what is left, wait for it to finish, and free the loop.
 * Tasks still running are cancelled and run until they return; finished tasks nobody joined are
 * freed. Objects you created on the loop (futures, queues, locks, timers ...) stay yours: free
 * them before or after close, close never does (timers still armed are stopped). Queued
 * callbacks and posts run; tasks spawned meanwhile start cancelled. In debug mode each leftover task
 * is named on stderr. Returns the number of tasks that were still running (0 for a clean close),
 * -EBUSY while any loop runs on the calling thread (close a loop from plain code, e.g. after its
 * run returns on its own thread), or -EXDEV if tasks are left and the loop belongs to
 * another thread (nothing is freed then).
 * Not thread-safe: call it from the loop's thread (or any thread if it never ran).
 */
WEFT_API int weft_loop_close(weft_loop *loop);

/*
 * weft_loop_run - run until every task has finished (and no weft_timer is pending), or until
 * weft_loop_stop(). Returns 0, 1 if stopped, -EXDEV from the wrong thread, -EBUSY if the loop is
 * already running (nested run), or the error of a kernel call the loop cannot do without
 * (io_uring_enter, an epoll wait; said once on stderr): such a loop cannot run again, every run
 * returns that error, and weft_loop_close() still frees it.
 */
WEFT_API int weft_loop_run(weft_loop *loop);

/*
 * weft_loop_run_forever - run until weft_loop_stop(), even with nothing to do.
 * Returns 0 when stopped, -EXDEV from the wrong thread, -EBUSY if already running, or a failed
 * loop's error (as weft_loop_run).
 */
WEFT_API int weft_loop_run_forever(weft_loop *loop);

/*
 * weft_loop_stop - make weft_loop_run*() return at the end of the current turn.
 * Thread-safe and async-signal-safe: it may be called from any thread or a signal handler.
 * A stop requested while the loop is not running makes its next run return at once.
 */
WEFT_API void weft_loop_stop(weft_loop *loop);

/*
 * Embedding: when another event loop owns the thread (a GUI toolkit, libuv, an epoll loop), it
 * drives weft instead of weft_loop_run(). Watch weft_loop_fd() for readability and wake up after
 * weft_loop_timeout() at the latest; then call weft_loop_run_nowait(). Posts from other threads
 * (weft/thread.h) make the fd readable too. The three calls are not thread-safe: use them from
 * the thread that drives the loop.
 */

/*
 * weft_loop_fd - an fd that polls readable (POLLIN) when the loop has completions to process
 * (including posts from other threads). On io_uring it is an eventfd the ring signals, created on
 * the first call and closed by weft_loop_close(); weft_loop_run_nowait() resets it. On the
 * readiness backend it is the loop's epoll fd (readable while events wait; a turn collects them).
 * Poll or epoll it (level triggered), never read or close it. Returns the fd, -EINVAL, -EXDEV
 * (wrong thread), or the eventfd / io_uring_register errors. Call it from the thread that drives
 * the loop. Before the loop's first run, this (or a first run that is weft_loop_run_nowait())
 * sets the ring up without DEFER_TASKRUN, whose completions reach this fd only 12-20 ms late; a
 * loop that already ran under weft_loop_run() keeps its ring.
 * One kernel limit: io_uring does not signal this fd for a completion that an eventfd write
 * triggered (a fiber reading some other eventfd through the ring); weft's own cross-thread
 * wake-ups signal it directly, but a host embedding such fibers should bound its sleep.
 */
WEFT_API int weft_loop_fd(weft_loop *loop);

/*
 * weft_loop_timeout - how long the host may sleep before weft needs a turn: 0 when work is ready
 * now, the time to the next timer in ns, or WEFT_FOREVER when only the fd can bring work
 * (round up when converting to milliseconds). -EINVAL for NULL.
 */
WEFT_API int64_t weft_loop_timeout(weft_loop *loop);

/*
 * weft_loop_run_nowait - one turn that never blocks: reap completions, run ready tasks,
 * callbacks, posts and due timers, submit what they queued. Returns 1 if tasks, timers or
 * callbacks remain, 0 if the loop has nothing left, -EXDEV from the wrong thread, -EBUSY if
 * called from inside the loop, or a failed loop's error (as weft_loop_run). weft_loop_stop() does not affect it (the stop stays pending for
 * the next weft_loop_run*()).
 */
WEFT_API int weft_loop_run_nowait(weft_loop *loop);

/* weft_loop_current - the loop running on this thread, or NULL. Thread-safe. */
WEFT_API weft_loop *weft_loop_current(void);

/*
 * weft_loop_backend - the backend @loop runs on: WEFT_BACKEND_URING or WEFT_BACKEND_EPOLL (never
 * AUTO), or -EINVAL for NULL. Thread-safe.
 */
WEFT_API int weft_loop_backend(const weft_loop *loop);

/* weft_backend_name - "uring", "epoll" or "auto" ("?" for other values). Thread-safe. */
WEFT_API const char *weft_backend_name(int backend);

/* weft_loop_features - the WEFT_FEAT_* bits this loop's ring was set up with (none of the ring's
 * on the readiness backend). Thread-safe. */
WEFT_API unsigned weft_loop_features(const weft_loop *loop);

/*
 * Registered resources. On io_uring they let the kernel skip per-op work; on the readiness
 * backend there is nothing to register and the calls only keep the bookkeeping (the ops that
 * use them run as plain calls). Not thread-safe: from the loop's thread (-EXDEV otherwise).
 */

/*
 * weft_loop_buffers_register - register @n buffers (at most UIO_MAXIOV) for fixed-buffer I/O
 * (weft_file_pread_fixed ...), kept until weft_loop_buffers_unregister() or the loop's close.
 * 0, -EINVAL, -EBUSY (the loop has a set: unregister first), -ENOMEM, or the kernel's refusal
 * (-ENOMEM / -EFAULT: RLIMIT_MEMLOCK, memory that cannot be pinned).
 */
WEFT_API int weft_loop_buffers_register(weft_loop *loop, const struct iovec *iov, unsigned n);

/* weft_loop_buffers_unregister - drop @loop's buffer set. 0, -EINVAL if it has none. */
WEFT_API int weft_loop_buffers_unregister(weft_loop *loop);

/*
 * weft_loop_max_workers - cap the kernel worker threads (io-wq) the loop's ring may start for
 * blocking work: *@bounded (file I/O) and *@unbounded (sockets ...); 0 or NULL leaves a limit as
 * it is. The previous limits are written back. On the readiness backend there are no kernel
 * workers: both read back 0. 0 or the kernel's error.
 */
WEFT_API int weft_loop_max_workers(weft_loop *loop, unsigned *bounded, unsigned *unbounded);

/*
 * weft_loop_dump - write one line per live task (id, name, state, what it waits on) to @out.
 * Useful from a debugger (call weft_loop_dump(loop, stderr)) or a signal-driven diagnostic.
 * Not thread-safe.
 */
WEFT_API void weft_loop_dump(weft_loop *loop, FILE *out);

/*
 * weft_loop_call_soon - run @fn(@arg) on the loop's own stack at the start of its next turn.
 * Plain callback code: @fn must not block (it may spawn tasks, set futures, start timers).
 * Callbacks still queued at weft_loop_close() run there. Returns 0, -EINVAL, -ENOMEM, or -EXDEV
 * from a thread that does not run the loop: not thread-safe (weft_loop_post
 * below posts from any thread).
 */
WEFT_API int weft_loop_call_soon(weft_loop *loop, void (*fn)(void *arg), void *arg);

/*
 * weft_run - asyncio.run(): create a loop, run @main(@arg) as its first task until it returns,
 * cancel whatever it left running, close the loop, and return @main's return value.
 * If the loop cannot be created, says why on stderr and returns the error.
 * Must not be called from inside a running loop (-EBUSY).
 */
WEFT_API int weft_run(int (*main)(void *arg), void *arg, const struct weft_loop_opts *opts);

/*
 * weft_loop_spawn - like weft_task_spawn on an explicit loop, e.g. before it runs.
 * Not thread-safe: call it from the loop's thread, or from any thread before the loop first runs
 * (-EXDEV otherwise).
 */
WEFT_API int weft_loop_spawn(weft_loop *loop, weft_task **taskp, weft_task_fn fn, void *arg,
			     const struct weft_task_opts *opts);

/*
 * weft_loop_run_until - run @loop until @task returns (loop.run_until_complete), then join it:
 * store its status in @status (may be NULL) and free the handle. Other tasks run meanwhile and
 * are left as they are. Returns 0; 1 if weft_loop_stop() came first (the handle stays valid);
 * -EINVAL; -EXDEV from the wrong thread; -EBUSY from inside a running loop.
 */
WEFT_API int weft_loop_run_until(weft_loop *loop, weft_task *task, int *status);

/*
 * weft_loop_tasks - call @visit(@task, @arg) for every task of @loop that is not yet freed
 * (running, parked, ready, or done but not yet joined), in spawn order. Stops early and returns
 * @visit's value when it returns non-zero; returns 0 otherwise. @visit must not spawn, join or
 * free tasks.
 */
WEFT_API int weft_loop_tasks(weft_loop *loop, int (*visit)(weft_task *task, void *arg), void *arg);

/*
 * weft_loop_post - run @fn(@arg) on @loop's thread, as plain callback code, at the start of its
 * next turn (asyncio's call_soon_threadsafe). Posts from one thread run in the order they were
 * made. @fn must not block. Returns 0, -EINVAL or -ENOMEM.
 * Thread-safe: any thread, including the loop's own.
 */
WEFT_API int weft_loop_post(weft_loop *loop, void (*fn)(void *arg), void *arg);

/*
 * weft_loop_call - run @fn(@arg) as a new task on @loop and wait until it returns, giving it
 * @timeout_ns (WEFT_FOREVER: no limit); its status goes to @status (may be NULL).
 * From a plain thread the call blocks the thread; from a fiber of any loop (including @loop
 * itself) it parks the fiber. On timeout - or when the calling fiber is cancelled or its deadline
 * expires - the task is cancelled and still waited for (so @arg is never used after the call
 * returns), and -ETIMEDOUT / -ECANCELED is returned with the task's status stored. If the task
 * had not started by then (@loop is not running, or has not got to the call yet), it never will:
 * the call returns on time with @status -ECANCELED, and @arg is the caller's again.
 * Returns 0, -EINVAL, -ENOMEM, the errors above, or -EDEADLK from plain code on @loop's own
 * thread (a weft_loop_call_soon, post or timer callback of @loop, or its owner thread between
 * runs), where waiting would wait for itself; a fiber of @loop may call it. Thread-safe.
 */
WEFT_API int weft_loop_call(weft_loop *loop, weft_task_fn fn, void *arg, int64_t timeout_ns,
			    int *status);

#ifdef __cplusplus
}
#endif
#endif
