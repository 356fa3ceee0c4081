/* SPDX-License-Identifier: MIT */
/*
 * weft/process.h - a process pool for CPU-bound work (concurrent.futures.ProcessPoolExecutor,
 * loop.run_in_executor(process_pool, fn, arg)).
 *
 * A pool is a fixed set of worker processes forked from the caller. Each runs a small blocking
 * loop: read a framed request from its socket, call a REGISTERED function on the request's bytes,
 * write the reply bytes back. The functions are the table given to weft_procpool_new(): a job
 * names one ("square"), never a pointer, so the same table must exist in parent and workers -
 * which fork guarantees.
 *
 *     static int sum_to(const void *in, size_t inlen, void **out, size_t *outlen) { ... }
 *     static const struct weft_proc_func funcs[] = {{"sum_to", sum_to}};
 *
 *     weft_procpool *pool;
 *     weft_procpool_new(&pool, funcs, 1, NULL);          // before weft_run / weft_loop_new
 *     ...in a fiber:
 *     void *out; size_t outlen;
 *     int r = weft_procpool_run(pool, "sum_to", &n, sizeof n, &out, &outlen);
 *     ... free(out);
 *
 * The parent side goes through the ring: a fiber's request is sent with IORING_OP_SENDMSG and the
 * reply read with IORING_OP_RECV on the worker's socket, so the fiber parks and its loop runs on.
 * (A socketpair rather than two pipes: a pipe write to a dead worker raises SIGPIPE in the loop
 * thread, which would kill the whole program; sends carry MSG_NOSIGNAL instead.)
 *
 * Workers and fork
 *   weft_procpool_new() forks the workers at once. Call it early - before weft_run() /
 *   weft_loop_new() and before starting threads - so workers start from a small, single-threaded
 *   image. Calling it later (or from a fiber) is also safe: a worker never touches the parent's
 *   loops or rings. First thing after the fork it closes every descriptor except stdin, stdout,
 *   stderr, its own socket and the opts->keep_fds (so it holds no ring fd, no other worker's
 *   socket, no signalfd), unblocks every signal, forgets the parent's loop, and switches to a
 *   fresh stack of opts->stack_size bytes (so a worker forked from a 64 KiB fiber stack still has
 *   a full-size stack). It then only does blocking read/write on its socket and calls the
 *   registered functions, which may use anything, including a weft loop of their own (weft_run).
 *   Forking a multi-threaded process copies only the calling thread: a function must then not
 *   depend on locks other threads held at the fork (malloc is safe: it has fork handlers).
 *   A worker exits on its own when its socket reaches end of file, i.e. when the pool is freed or
 *   the parent dies.
 *
 * Crashes: a worker that dies during a job (a signal such as SIGSEGV or SIGABRT, exit(), _exit())
 *   makes that call return -ECHILD - never a hang. The dead worker is reaped at once and its slot
 *   gets a fresh worker (forked from the parent then) for the next job that needs it.
 * Cancellation and deadlines (weft/task.h, weft/scope.h) of the calling fiber:
 *   - queued (all workers busy): the call leaves the queue and returns -ECANCELED / -ETIMEDOUT;
 *     nothing was sent;
 *   - running: the worker is killed (SIGKILL) and reaped, the call returns -ECANCELED /
 *     -ETIMEDOUT, and a fresh worker replaces it. Killing is the only way to stop CPU-bound code
 *     in another process, and it leaves no half-read frame in a socket that the next job would
 *     trip over. A fiber that must not lose a job's result runs it inside a WEFT_SCOPE_SHIELD
 *     scope.
 *   The kernel is done with @in before the call returns, whatever the outcome.
 * Shutdown: weft_procpool_shutdown() stops new jobs (-EPIPE), then waits for the queued and
 *   running ones (WEFT_PROCPOOL_WAIT), fails the queued ones with -ECANCELED
 *   (WEFT_PROCPOOL_CANCEL_PENDING), or also kills the running ones (WEFT_PROCPOOL_KILL, their
 *   calls return -ECANCELED). weft_procpool_free() ends every worker and reaps it: no zombies, no
 *   descriptors left behind.
 *
 * Threads and loops: a pool is used by the fibers of ONE loop at a time (not thread-safe); many
 * fibers may share it, and jobs beyond the number of workers wait in a FIFO queue. Once the pool
 * is idle, fibers of another loop (a later weft_run()) may use it.
 */
#ifndef WEFT_PROCESS_H
#define WEFT_PROCESS_H

#include <sys/types.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_procpool weft_procpool;

/*
 * A registered function. It runs in a worker process on the request bytes @in (@inlen of them;
 * @in is NULL when @inlen is 0) and may set *@out to a buffer from malloc() holding *@outlen
 * reply bytes (both start NULL / 0; the worker frees the buffer after sending it).
 * Its return value reaches the caller: >= 0 is success (weft_procpool_run returns it), a
 * negative errno is an error (returned as is, and *@out is not sent). Don't return -ECHILD: that
 * value means "the worker died".
 */
typedef int (*weft_proc_fn)(const void *in, size_t inlen, void **out, size_t *outlen);

/* One entry of the function table: jobs name @fn by @name. */
struct weft_proc_func {
	const char *name; /* must stay valid for the pool's life (a string literal, typically) */
	weft_proc_fn fn;
};

/* Options for weft_procpool_new(); zero-initialise and set what you need. */
struct weft_procpool_opts {
	unsigned nworkers; /* worker processes; 0: the number of online CPUs */
	size_t stack_size; /* each worker's stack, 16 KiB to 1 GiB; 0: 8 MiB */
	/* Descriptors the workers keep open besides 0, 1, 2 and their socket (every other one is
	 * closed in the worker): pipes or sockets a function uses to talk to someone else, like an
	 * inherited multiprocessing.Queue. */
	const int *keep_fds;
	unsigned nkeep_fds; /* at most 1 << 20 */
	/* Run once in each worker before its first job (ProcessPoolExecutor's initializer). */
	void (*init)(void *arg);
	void *init_arg;
	uint64_t reserved[4]; /* must be zero (README "ABI"): room for later fields */
};

/* Flags for weft_procpool_shutdown(). */
#define WEFT_PROCPOOL_WAIT	     0u	       /* queued and running jobs finish */
#define WEFT_PROCPOOL_CANCEL_PENDING (1u << 0) /* queued jobs fail with -ECANCELED */
#define WEFT_PROCPOOL_KILL	     (1u << 1) /* also kill running jobs (-ECANCELED) */

/* Most workers a pool may have. */
#define WEFT_PROCPOOL_MAX_WORKERS 1024u

/*
 * weft_procpool_new - create a pool running @funcs (@nfuncs entries, names unique and non-NULL)
 * and fork its workers now.
 * @opts: NULL for the defaults. The table and @opts->keep_fds are copied (the names are not).
 * Callable before any loop exists - the recommended place - and also later (see "Workers and
 * fork" above). Returns 0, -EINVAL (NULL @poolp, an empty or bad table, too many workers, a
 * negative fd to keep, a stack size out of range), -ENOMEM, or the error of socketpair()/fork() (-EMFILE, -EAGAIN ...), in
 * which case no worker is left behind. Not thread-safe with respect to other forks of the caller.
 */
WEFT_API int weft_procpool_new(weft_procpool **poolp, const struct weft_proc_func *funcs,
			       size_t nfuncs, const struct weft_procpool_opts *opts);

/*
 * weft_procpool_run - run the function named @fn on @in/@inlen in a worker and wait for its reply
 * (await loop.run_in_executor(pool, fn, data)).
 * @out, @outlen: receive the reply, a malloc()ed buffer the caller frees with free() (NULL when
 * the reply is empty). Set only on success; both NULL/0 otherwise. @out may be NULL to discard
 * the reply (@outlen too).
 * The fiber parks while the job waits for a worker (FIFO) and while it runs.
 * Returns the function's return value (>= 0) on success, or a negative errno: the function's own
 * error, -ENOENT (no function called @fn; no worker involved), -ECHILD (the worker died during
 * the job; it is replaced), -ECANCELED / -ETIMEDOUT (see "Cancellation" above; also -ECANCELED
 * for queued jobs at a CANCEL_PENDING shutdown and running ones at a KILL shutdown), -EPIPE (the
 * pool is shut down), -EXDEV (the pool is busy with fibers of another loop), -EINVAL (NULL @pool
 * or @fn, @in NULL with @inlen > 0), -ENOMEM (no memory for the reply: the worker is replaced;
 * or the worker had none for @in: it serves the next job),
 * -EAGAIN or another fork() error (a replacement worker could not be started), -EPERM (not in a
 * fiber). Must run in a fiber. Not thread-safe.
 */
WEFT_API int weft_procpool_run(weft_procpool *pool, const char *fn, const void *in, size_t inlen,
			       void **out, size_t *outlen);

/*
 * weft_procpool_shutdown - stop accepting jobs (later weft_procpool_run calls return -EPIPE) and
 * deal with the ones in progress as @flags say (WEFT_PROCPOOL_*). From a fiber, waits until no
 * job is queued or running; from plain code (no fiber), returns -EBUSY instead of waiting if
 * some are. Calling it again is fine (a stronger flag applies then). Workers keep running until
 * weft_procpool_free(). Returns 0, -EINVAL (NULL @pool, unknown flags), -EBUSY, or -ECANCELED /
 * -ETIMEDOUT if the waiting fiber is interrupted (the pool stays shut, the jobs go on).
 * Not thread-safe.
 */
WEFT_API int weft_procpool_shutdown(weft_procpool *pool, unsigned flags);

/*
 * weft_procpool_free - end every worker (close its socket, SIGKILL, reap it) and free @pool.
 * No job may be queued or running (shut down and wait first); NULL is a no-op. Does not need a
 * loop: valid before, during or after one. Not thread-safe.
 */
WEFT_API void weft_procpool_free(weft_procpool *pool);

/* weft_procpool_size - the number of worker slots of @pool (its nworkers, resolved). */
WEFT_API unsigned weft_procpool_size(const weft_procpool *pool);

/*
 * weft_procpool_pid - the process id of worker slot @i (0 <= @i < size), or 0 if the slot has no
 * live worker right now (its worker died or was killed and is not replaced yet) or @i is out of
 * range. For monitoring and tests. Not thread-safe.
 */
WEFT_API pid_t weft_procpool_pid(const weft_procpool *pool, unsigned i);

/*
 * weft_process_spawn - fork a child process that runs @fn(@arg) and exits with its return value
 * (multiprocessing.Process(target=fn).start()). The child inherits every descriptor (except the
 * ring of the calling thread's loop, closed in the child) and the signal dispositions, but starts
 * with an empty signal mask and no loop: @fn may call weft_run() to run its own loop (asyncio.run
 * in the child). It runs on the calling thread's stack, or on a
 * fresh 8 MiB stack when called from a fiber. It must not use the parent's loops, rings or pools.
 * @pidp: receives the child's pid. Returns 0, -EINVAL or fork()'s error.
 * Callable from a fiber or plain code. Thread-safe (fork caveats as above).
 */
WEFT_API int weft_process_spawn(pid_t *pidp, int (*fn)(void *arg), void *arg);

/*
 * weft_process_wait - wait until child @pid exits and reap it (Process.join()).
 * @status: receives its wait status (WIFEXITED/WEXITSTATUS ... of <sys/wait.h>); may be NULL.
 * The fiber parks on a pidfd through the ring. Returns 0, -ECHILD (not our child, or already
 * reaped), -ECANCELED / -ETIMEDOUT (the child is left running and unreaped: wait again or kill
 * it), -EPERM (not in a fiber), or pidfd_open()'s error. Must run in a fiber.
 */
WEFT_API int weft_process_wait(pid_t pid, int *status);

#ifdef __cplusplus
}
#endif
#endif
