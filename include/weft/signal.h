/* SPDX-License-Identifier: MIT */
/*
 * weft/signal.h - waiting for POSIX signals from a fiber (asyncio's loop.add_signal_handler).
 *
 * A weft_signal is a signalfd for a set of signals. The signals are BLOCKED (so their default
 * action or handler does not run) and queue up in the kernel until a fiber reads them; the read
 * goes through the ring, so the fiber parks and its loop runs on.
 *
 *     sigset_t set;
 *     sigemptyset(&set); sigaddset(&set, SIGINT); sigaddset(&set, SIGTERM);
 *     weft_signal *sig;
 *     weft_signal_open(&sig, &set);          // early in main(), before starting threads
 *     ...in a fiber:
 *     struct signalfd_siginfo si;
 *     int signo = weft_signal_wait(sig, &si); // SIGINT or SIGTERM; si.ssi_pid sent it
 *
 * Signal masks are per thread. weft_signal_open() blocks the set in the CALLING thread only, and
 * a signal sent to the process (kill(), Ctrl-C, a terminal hang-up) goes to any thread that does
 * not block it. So block the set in EVERY thread: open the weft_signal in main() before creating
 * threads (new threads inherit the mask; weft's executor and loop threads included), or call
 * pthread_sigmask(SIG_BLOCK, set) in each thread. A signal sent to one thread (raise(),
 * pthread_kill(), a SIGSEGV) is seen only by a signalfd read in that thread, i.e. by fibers of a
 * loop running there.
 *
 * Several weft_signals may watch the same signal; each arrival is read by only one of them
 * (whichever reads first). Child processes started by fork() inherit the blocked mask (exec
 * keeps it too): weft's worker processes clear it (weft/process.h).
 *
 * Not thread-safe: a weft_signal is for the thread that opened it (its mask) and the fibers of
 * that thread's loop.
 */
#ifndef WEFT_SIGNAL_H
#define WEFT_SIGNAL_H

#include <signal.h>
#include <sys/signalfd.h>

#include "common.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_signal weft_signal;

/*
 * weft_signal_open - start watching the signals in @set: block them in the calling thread and
 * open a signalfd for them. Signals of the set that arrive from now on wait for
 * weft_signal_wait(); ones already pending are delivered to it too.
 * SIGKILL and SIGSTOP cannot be watched (-EINVAL), nor can an empty set.
 * Callable from plain code (before any loop exists) or a fiber. Returns 0, -EINVAL, -ENOMEM or
 * signalfd()'s error (-EMFILE ...). Not thread-safe with weft_signal_close() in the same thread.
 */
WEFT_API int weft_signal_open(weft_signal **sigp, const sigset_t *set);

/*
 * weft_signal_wait - wait until one of the watched signals arrives and consume it.
 * @info: receives its details (ssi_signo, ssi_pid, ssi_uid, ssi_code, ssi_int ...); may be NULL.
 * Returns the signal number (> 0), -ECANCELED / -ETIMEDOUT (the fiber was cancelled or its
 * deadline passed: no signal was consumed), -EINVAL (NULL @sig), -EPERM (not in a fiber).
 * Must run in a fiber. Several fibers may wait on one weft_signal: each arrival wakes one.
 */
WEFT_API int weft_signal_wait(weft_signal *sig, struct signalfd_siginfo *info);

/*
 * weft_signal_try_wait - weft_signal_wait() without blocking: consume a pending signal of the set
 * if there is one. Returns the signal number, -EAGAIN if none is pending, -EINVAL.
 * Callable from anywhere.
 */
WEFT_API int weft_signal_try_wait(weft_signal *sig, struct signalfd_siginfo *info);

/* Callback for weft_signal_watch(): return 0 to keep watching, anything else to stop. */
typedef int (*weft_signal_fn)(weft_signal *sig, const struct signalfd_siginfo *info, void *arg);

/*
 * weft_signal_watch - callback style (loop.add_signal_handler): spawn a task on the current loop
 * that calls @fn(@sig, info, @arg) for every signal that arrives, in a loop. @fn runs in that
 * task (it may block). The task ends when @fn returns non-zero (its status is that value), when
 * it is cancelled (-ECANCELED), or when the loop shuts down.
 * @taskp: receives the task (cancel it, join it), or NULL to detach it.
 * The weft_signal must outlive the task: end the task before weft_signal_close().
 * Returns 0, -EINVAL, -EPERM (no loop on this thread) or weft_task_spawn()'s errors.
 */
WEFT_API int weft_signal_watch(weft_signal *sig, weft_signal_fn fn, void *arg, weft_task **taskp);

/*
 * weft_signal_fd - the signalfd (non-blocking, close-on-exec), for embedding in other pollers.
 * Owned by @sig: don't close it.
 */
WEFT_API int weft_signal_fd(const weft_signal *sig);

/*
 * weft_signal_close - stop watching: close the signalfd and unblock, in the calling thread, the
 * signals this call blocked - unless another open weft_signal of this thread still watches them,
 * or they were blocked already before. A signal still pending then gets its normal disposition
 * (SIGTERM's default action terminates the process). Call it in the thread that opened @sig
 * (from another thread it only closes the fd), after every wait on it has returned. NULL is a
 * no-op.
 */
WEFT_API void weft_signal_close(weft_signal *sig);

#ifdef __cplusplus
}
#endif
#endif
