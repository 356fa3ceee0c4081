/* SPDX-License-Identifier: MIT */
/*
 * Loops: life cycle and the turn.
 *
 * One turn, on the loop's own stack:
 *   1. the kernel (the backend, backend.h): submit every queued SQE and reap CQEs in one
 *      io_uring_enter, or one epoll wait on the readiness backend; block (until the
 *      nearest timer) only when no task is ready and no callback is queued;
 *   2. weft_loop_call_soon callbacks queued before the turn;
 *   3. due timers;
 *   4. the tasks that are ready (sched.c), which hand over to each other directly.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include "weft/task.h"
#include "weft/time.h"
#include "abi.h"
#include "alloc.h"
#include "backend.h"
#include "deadline.h"
#include "loop.h"
#include "multishot.h"
#include "resource.h"
#include "sched.h"
#include "stack.h"
#include "task.h"
#include "timer.h"

#define CLOSE_GRACE (5 * WEFT_SEC) /* how long close waits for cancelled tasks to return */

struct weft__callback {
	struct weft__callback *next;
	void (*fn)(void *arg);
	void *arg;
};

/* WEFT_BACKEND from the environment when the options leave the choice to us. */
static int backend_wanted(const struct weft_loop_opts *opts)
{
	const char *env = getenv("WEFT_BACKEND");

	if (opts->backend != WEFT_BACKEND_AUTO || !env || !*env || !strcmp(env, "auto"))
		return opts->backend;
	if (!strcmp(env, "uring"))
		return WEFT_BACKEND_URING;
	if (!strcmp(env, "epoll"))
		return WEFT_BACKEND_EPOLL;
	return -EINVAL;
}

/* Why a ring can be refused where epoll still works (weft_loop_new's list). */
static bool ring_refused(int err)
{
	return err == -EPERM || err == -ENOSYS || err == -EINVAL || err == -ENOMEM ||
	       err == -EACCES;
}

/* Why the ring may have been refused, in @buf. */
static const char *setup_hint(int err, char *buf, size_t size)
{
	struct rlimit rl;

	switch (err) {
	case -EPERM:
		return " (io_uring is disabled here: see sysctl kernel.io_uring_disabled, or the "
		       "seccomp profile of the container runtime; WEFT_BACKEND=epoll runs without "
		       "it)";
	case -ENOSYS:
		return " (this kernel has no io_uring; weft needs Linux 5.19 or later)";
	case -ENOMEM:
		/* Measured on 6.18: a process without CAP_IPC_LOCK gets ENOMEM for any ring with
		 * RLIMIT_MEMLOCK 0, and for the default sizes at 64 KiB. */
		if (getrlimit(RLIMIT_MEMLOCK, &rl) || rl.rlim_cur == RLIM_INFINITY)
			return " (out of memory)";
		snprintf(
		    buf, size,
		    " (out of memory, or the locked-memory limit is too low for the rings: "
		    "RLIMIT_MEMLOCK (ulimit -l) is %llu KiB, and kernels before 5.12 and recent "
		    "ones charge ring memory to it for processes without CAP_IPC_LOCK; raise it, "
		    "ask for fewer sq_entries, or use WEFT_BACKEND=epoll)",
		    (unsigned long long)rl.rlim_cur / 1024);
		return buf;
	default:
		return "";
	}
}

static atomic_bool fallback_said; /* debug mode says it once per process */

static int backend_init(struct weft_loop *loop, const struct weft_loop_opts *opts)
{
	int want = backend_wanted(opts), r;
	unsigned sq, cq;

	if (want < 0)
		return want;
	if ((r = weft__uring_sizes(opts, &sq, &cq)))
		return r;
	if (want != WEFT_BACKEND_EPOLL) {
		loop->be = &weft__backend_uring;
		r = loop->be->init(loop, opts);
		if (!r || want == WEFT_BACKEND_URING || !ring_refused(r))
			return r;
		/* Nothing of a ring half set up may show through (features, opcodes, its fd). */
		loop->features = 0;
		memset(loop->ops, 0, sizeof(loop->ops));
		loop->ring.ring_fd = -1;
		if (loop->debug && !atomic_exchange(&fallback_said, true)) {
			char hint[512];

			fprintf(stderr,
				"weft: io_uring refused (%s%s): using the readiness backend "
				"(epoll)\n",
				weft_strerror(r), setup_hint(r, hint, sizeof(hint)));
		}
	}
	loop->be = &weft__backend_epoll;
	return loop->be->init(loop, opts);
}

int weft_loop_new(weft_loop **loopp, const struct weft_loop_opts *opts)
{
	static const struct weft_loop_opts defaults;
	struct weft_loop *loop;
	int r;

	if (!loopp)
		return -EINVAL;
	if (!opts)
		opts = &defaults;
	if (opts->stack_size > WEFT__STACK_MAX || opts->slow_ns < 0 || weft__reserved_bad(opts) ||
	    (unsigned)opts->debug > WEFT_DEBUG_OFF ||
	    (unsigned)opts->backend > WEFT_BACKEND_EPOLL ||
	    (opts->ring_flags & ~(WEFT_RING_NO_DEFER_TASKRUN | WEFT_RING_NO_COOP_TASKRUN)))
		return -EINVAL;
	loop = weft__new(struct weft_loop);
	if (!loop)
		return -ENOMEM;
	atomic_init(&loop->host_fd, -1);
	weft__list_init(&loop->tasks);
	weft__list_init(&loop->timers);
	weft__list_init(&loop->multishots);
	loop->stack_size = weft__stack_default(opts->stack_size);
	loop->cache_cap = opts->stack_cache ? opts->stack_cache : 64;
	weft__list_init(&loop->stack_chunks);
	weft__list_init(&loop->stack_partial);
	weft__debug_init(loop, opts);
	loop->fpstate = weft__ctx_fpstate();
	r = backend_init(loop, opts);
	if (r) {
		weft__delete(loop);
		return r;
	}
	if (weft__stack_guard_madv())
		loop->features |= WEFT_FEAT_GUARD_MADV;
	weft__overflow_install();
	*loopp = loop;
	return 0;
}

/* Debug: about to sleep with tasks alive but nothing that could wake them from this thread. */
static void warn_stuck(struct weft_loop *loop)
{
	if (!loop->debug || !loop->alive || loop->inflight || loop->heap_len ||
	    loop->be->pending(loop) || loop->warned_stuck)
		return;
	loop->warned_stuck = true;
	fprintf(stderr, "weft: every task is parked and no operation, timer or callback can wake "
			"them; only another thread can (weft_loop_stop). Tasks:\n");
	weft_loop_dump(loop, stderr);
}

static void loop_turn(struct weft_loop *loop, bool may_block)
{
	bool block = may_block && !loop->runq_head && !loop->cb_head &&
		     !atomic_load_explicit(&loop->stop, memory_order_relaxed);

	if (block) {
		warn_stuck(loop);
		block = weft__inbox_sleep(loop);
	}
	/* An embedding turn always reaps: a completion nobody counts in inflight (the wake-up read
	 * a post completed) must still be reaped, or the read is never re-armed. */
	if (block || !may_block || loop->inflight || loop->be->pending(loop))
		loop->be->turn(loop, block);
	if (block) /* only a turn that was about to sleep set it */
		atomic_store_explicit(&loop->sleeping, 0, memory_order_relaxed);
	if (atomic_load_explicit(&loop->inbox, memory_order_relaxed))
		weft__inbox_run(loop);
	if (loop->cb_head)
		weft__callbacks_run(loop);
	if (loop->heap_len)
		weft__timers_run(loop, weft_now());
	weft__sched_run(loop);
}

enum run_mode {
	RUN_ALL,     /* until no task, timer or callback is left */
	RUN_FOREVER, /* until stopped */
	RUN_TASK,    /* until one task is done */
	RUN_DRAIN,   /* until no task is left (close) */
	RUN_ONCE,    /* one turn that never blocks (embedding) */
};

/* Whether anything is left that keeps weft_loop_run going. */
static bool has_work(struct weft_loop *loop)
{
	return loop->alive || loop->user_timers || loop->cb_head || atomic_load(&loop->inbox);
}

/*
 * While a loop runs, its thread has SIGPIPE blocked: a write to a pipe or socket whose reader is
 * gone returns -EPIPE instead of killing the process (both backends write on this thread: the
 * readiness backend's calls, and io_uring's inline issue). Python ignores SIGPIPE for the same
 * reason. One left pending is dropped before the thread's mask is restored.
 */
static void sigpipe_block(sigset_t *old)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &s, old);
}

static void sigpipe_restore(const sigset_t *old)
{
	const struct timespec now = {0, 0};
	sigset_t s;

	if (sigismember(old, SIGPIPE))
		return;
	sigemptyset(&s);
	sigaddset(&s, SIGPIPE);
	while (sigtimedwait(&s, NULL, &now) == SIGPIPE)
		;
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

void weft__loop_fail(struct weft_loop *loop, const char *call, int err)
{
	if (loop->error)
		return;
	loop->error = err;
	fprintf(stderr,
		"weft: %s failed: %s; this loop cannot run any more (its runs return the "
		"error)%s\n",
		call, weft_strerror(err),
		err == -EPERM ? ": a seccomp filter installed after the loop was made?" : "");
}

static int loop_run(struct weft_loop *loop, enum run_mode mode, struct weft_task *task)
{
	int r, ret = 0;
	sigset_t sigmask;

	if (!loop)
		return -EINVAL;
	if (weft__loop())
		return -EBUSY;
	if (loop->error)
		return loop->error;
	if (mode == RUN_ONCE)
		loop->be->embed(loop); /* before enable: a no-op once the loop has run */
	r = loop->be->enable(loop);
	if (r)
		return r;
	sigpipe_block(&sigmask);
	weft__loop_set(loop);
	weft__ctx_adopt_thread(&loop->sched_ctx);
	loop->running = true;
	loop->be->arm_wake(loop);
	for (;;) {
		if (loop->error) {
			ret = loop->error;
			break;
		}
		/* A plain load first: the locked exchange only when a stop is pending. */
		if (mode != RUN_ONCE && atomic_load_explicit(&loop->stop, memory_order_relaxed) &&
		    atomic_exchange(&loop->stop, 0)) {
			ret = mode == RUN_FOREVER ? 0 : 1;
			break;
		}
		if (mode == RUN_TASK && task->state == WEFT_TASK_DONE)
			break;
		if (mode == RUN_ALL && !has_work(loop))
			break;
		if (mode == RUN_DRAIN && !loop->alive && !loop->cb_head &&
		    !atomic_load(&loop->inbox))
			break;
		if (mode == RUN_ONCE) {
			loop->be->host_reset(loop);
			atomic_store_explicit(&loop->sleeping, 0, memory_order_relaxed);
			loop_turn(loop, false);
			/* The host sleeps in its own poll from here: posts must wake it through the
			 * ring fd (weft_loop_timeout sees one that slipped in). */
			weft__inbox_sleep(loop);
			ret = loop->error ? loop->error : has_work(loop);
			break;
		}
		loop_turn(loop, true);
	}
	/* What the last turn queued goes out now, not at the next run: a MSG_RING waking another
	 * loop (a fiber's last act may be a post) must not wait for a run that may never come. */
	loop->be->flush(loop);
	loop->running = false;
	weft__loop_set(NULL);
	sigpipe_restore(&sigmask);
	return ret;
}

int weft_loop_run(weft_loop *loop)
{
	return loop_run(loop, RUN_ALL, NULL);
}

int weft_loop_run_forever(weft_loop *loop)
{
	return loop_run(loop, RUN_FOREVER, NULL);
}

/* ---- embedding: another event loop drives this one ------------------------------------- */

int weft_loop_run_nowait(weft_loop *loop)
{
	return loop_run(loop, RUN_ONCE, NULL);
}

int weft_loop_fd(weft_loop *loop)
{
	int fd;

	if (!loop)
		return -EINVAL;
	fd = atomic_load_explicit(&loop->host_fd, memory_order_relaxed);
	if (fd >= 0)
		return fd;
	if (weft__loop_affine(loop, __func__))
		return -EXDEV;
	loop->be->embed(loop);
	return loop->be->host_fd(loop);
}

int64_t weft_loop_timeout(weft_loop *loop)
{
	int64_t next, now;

	if (!loop)
		return -EINVAL;
	if (weft__loop_affine(loop, __func__))
		return -EXDEV;
	if (loop->runq_head || loop->cb_head || atomic_load(&loop->inbox) ||
	    loop->be->pending(loop))
		return 0;
	next = weft__timers_next(loop);
	if (next == WEFT_FOREVER)
		return WEFT_FOREVER;
	now = weft_now();
	return next > now ? next - now : 0; /* compared first: a deadline far in the past */
}

int weft__loop_run_task(struct weft_loop *loop, struct weft_task *task)
{
	return loop_run(loop, RUN_TASK, task);
}

void weft_loop_stop(weft_loop *loop)
{
	uint64_t one = 1;

	if (!loop)
		return;
	atomic_fetch_add(&loop->posters, 1); /* see weft_loop_post */
	atomic_store(&loop->stop, 1);
	/* Wakes the loop if it sleeps in the kernel (both backends watch the eventfd); write(2) is
	 * async-signal-safe. */
	if (write(loop->wake_fd, &one, sizeof(one)) < 0) {
	}
	atomic_fetch_sub_explicit(&loop->posters, 1, memory_order_release);
}

weft_loop *weft_loop_current(void)
{
	return weft__loop();
}

unsigned weft_loop_features(const weft_loop *loop)
{
	return loop ? loop->features : 0;
}

int weft_loop_backend(const weft_loop *loop)
{
	return loop ? loop->be->id : -EINVAL;
}

const char *weft_backend_name(int backend)
{
	switch (backend) {
	case WEFT_BACKEND_AUTO:
		return "auto";
	case WEFT_BACKEND_URING:
		return "uring";
	case WEFT_BACKEND_EPOLL:
		return "epoll";
	default:
		return "?";
	}
}

/* ---- callbacks -------------------------------------------------------------------------- */

int weft_loop_call_soon(weft_loop *loop, void (*fn)(void *), void *arg)
{
	struct weft__callback *cb;

	if (!loop || !fn)
		return -EINVAL;
	if (weft__loop_affine(loop, __func__))
		return -EXDEV;
	cb = weft__new(struct weft__callback);
	if (!cb)
		return -ENOMEM;
	cb->fn = fn;
	cb->arg = arg;
	if (loop->cb_tail)
		loop->cb_tail->next = cb;
	else
		loop->cb_head = cb;
	loop->cb_tail = cb;
	return 0;
}

void weft__callbacks_run(struct weft_loop *loop)
{
	/* Only those queued before this turn: a callback that queues another can't starve I/O. */
	struct weft__callback *cb = loop->cb_head;

	loop->cb_head = loop->cb_tail = NULL;
	while (cb) {
		struct weft__callback *next = cb->next;
		cb->fn(cb->arg);
		weft__delete(cb);
		cb = next;
	}
}

/* ---- close ------------------------------------------------------------------------------ */

static void close_deadline(void *arg)
{
	weft_loop_stop(arg);
}

/* Cancel every running task and run the loop until they have returned and no callback is left,
 * or CLOSE_GRACE passes. Tasks spawned meanwhile start cancelled (task.c). */
static int drain_tasks(struct weft_loop *loop)
{
	int64_t give_up = weft__deadline_after(weft_now(), CLOSE_GRACE);
	weft_timer *timer = NULL;
	struct weft__list *pos, *tmp;
	int r;

	if (weft_timer_new(loop, &timer, close_deadline, loop) == 0)
		weft_timer_start(timer, give_up, 0);
	while ((loop->alive || loop->cb_head || atomic_load(&loop->inbox)) &&
	       weft_now() < give_up) {
		weft__list_for_each_safe(pos, tmp, &loop->tasks)
		{
			struct weft_task *t = weft__container_of(pos, struct weft_task, node);
			if (t->state != WEFT_TASK_DONE)
				weft_task_cancel(t);
		}
		r = loop_run(loop, RUN_DRAIN, NULL);
		if (loop->error)
			break; /* nothing will end now: free what can be freed */
		if (r < 0)
			return r;
	}
	weft_timer_free(timer);
	return 0;
}

/* Callbacks still queued after the grace period (they kept re-queueing themselves). */
static void free_callbacks(struct weft_loop *loop)
{
	struct weft__callback *cb = loop->cb_head;

	if (cb)
		fprintf(stderr, "weft: loop closed with callbacks still queueing more; dropped\n");
	loop->cb_head = loop->cb_tail = NULL;
	while (cb) {
		struct weft__callback *next = cb->next;
		weft__delete(cb);
		cb = next;
	}
}

static void free_tasks(struct weft_loop *loop)
{
	struct weft__list *pos, *tmp;
	size_t stuck = 0;

	weft__list_for_each_safe(pos, tmp, &loop->tasks)
	{
		struct weft_task *t = weft__container_of(pos, struct weft_task, node);
		if (t->state != WEFT_TASK_DONE) {
			/* Its ops may still be in the kernel: leak the stack rather than let the
			 * kernel write into memory that has been handed out again. */
			stuck++;
			weft__list_del(&t->node);
			continue;
		}
		weft__task_free(loop, t);
	}
	if (stuck && loop->error)
		fprintf(stderr,
			"weft: loop closed after it failed, with %zu task(s) that could not end; "
			"their stacks are leaked\n",
			stuck);
	else if (stuck)
		fprintf(stderr,
			"weft: loop closed with %zu task(s) that ignored cancellation for %llds; "
			"their stacks are leaked\n",
			stuck, (long long)(CLOSE_GRACE / WEFT_SEC));
}

static void destroy_slots(struct weft_loop *loop)
{
	for (size_t i = 0; i < sizeof(loop->slots) / sizeof(loop->slots[0]); i++) {
		struct weft__slot *slot = &loop->slots[i];

		if (slot->destroy)
			slot->destroy(loop, slot->state);
		*slot = (struct weft__slot){0};
	}
}

int weft_loop_close(weft_loop *loop)
{
	int left, r;

	if (!loop)
		return -EINVAL;
	if (loop->running || weft__loop())
		return -EBUSY;
	left = (int)loop->alive;
	loop->closing = true;
	weft__debug_leftovers(loop);
	if (loop->alive || loop->cb_head || atomic_load(&loop->inbox)) {
		r = drain_tasks(loop);
		if (r) {
			loop->closing = false;
			return r; /* -EXDEV: the loop belongs to another thread */
		}
	}
	free_callbacks(loop);
	free_tasks(loop);
	weft__posters_wait(loop);
	weft__timers_free(loop);
	weft__multishot_loop_close(loop);
	destroy_slots(loop);
	weft__resources_free(loop);
	loop->be->exit(loop);
	if (atomic_load(&loop->host_fd) >= 0)
		close(atomic_load(&loop->host_fd));
	weft__stack_cache_free(loop);
	weft__task_free_cache(loop);
	weft__delete(loop);
	return left;
}

/* ---- asyncio.run ------------------------------------------------------------------------ */

int weft_run(int (*main_fn)(void *), void *arg, const struct weft_loop_opts *opts)
{
	const struct weft_task_opts topts = {.name = "main"};
	struct weft_loop *loop;
	struct weft_task *task;
	int r, status = 0;

	if (!main_fn)
		return -EINVAL;
	if (weft__loop())
		return -EBUSY;
	r = weft_loop_new(&loop, opts);
	if (r) {
		char hint[512];

		fprintf(stderr, "weft: cannot create an event loop: %s%s\n", weft_strerror(r),
			setup_hint(r, hint, sizeof(hint)));
		return r;
	}
	r = weft_loop_spawn(loop, &task, main_fn, arg, &topts);
	if (r == 0) {
		while ((r = weft_loop_run_until(loop, task, &status)) == 1)
			weft_task_cancel(task); /* stopped before main returned: cancel it, go on */
		if (r == 0)
			r = status;
	}
	weft_loop_close(loop);
	return r;
}
