/* SPDX-License-Identifier: MIT */
/*
 * weft_loop_call: run a task on a loop and wait for it from any thread or fiber
 * (asyncio.run_coroutine_threadsafe + Future.result(timeout)).
 *
 * The call record is shared by the caller, the target loop (which spawns the task and records its
 * end) and, for a fiber caller, the caller's loop (which wakes it); cancels posted by a caller
 * that gave up may reach the target after everything else is over. So the record is counted:
 * one reference for the caller, one for the target until the task has ended, one per posted
 * cancel. The caller never returns while the task may still run, so @arg outlives every use:
 * either the task has ended, or the caller claimed the call before the target started it
 * (POSTED -> ABANDONED: a loop that is not running, or busy, past the timeout) and the target
 * will only drop its reference when it gets to the post.
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "weft/thread.h"
#include "weft/time.h"
#include "alloc.h"
#include "deadline.h"
#include "loop.h"
#include "sched.h"
#include "task.h"

enum call_state { CALL_POSTED, CALL_STARTED, CALL_ABANDONED };

struct call {
	atomic_int refs;
	atomic_int state; /* enum call_state: who owns the start, the target or the caller */
	weft_loop *target;
	weft_task_fn fn;
	void *arg;
	int status;
	atomic_bool cancel;	/* the caller gave up on a started task: cancel it */
	weft_task *task;	/* on the target loop, touched only there; NULL once ended */
	struct weft__hook hook; /* on the task: it tells the caller when it returns */
	/* fiber callers */
	weft_loop *caller_loop;
	struct weft_task *caller;
	bool done_fiber; /* touched only on the caller's loop thread */
	/* plain-thread callers */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	/* the records of its posts: start, cancel and done, each posted at most once */
	struct weft__post posts[3];
	atomic_int nposts;
};

static void call_unref(struct call *c)
{
	if (atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	if (!c->caller_loop) {
		pthread_cond_destroy(&c->cv);
		pthread_mutex_destroy(&c->mu);
	}
	weft__delete(c);
}

/* Posting must not fail where a lost post would strand a waiter: the call holds the records
 * (retrying weft_loop_post on -ENOMEM spun forever while memory stayed short). */
static void post_surely(weft_loop *loop, void (*fn)(void *), struct call *c)
{
	weft__post_node(loop, &c->posts[atomic_fetch_add(&c->nposts, 1)], fn, c);
}

/* ---- on the caller's loop (fiber callers) ------------------------------------------------ */

static void call_done_at_caller(void *arg)
{
	struct call *c = arg;

	c->done_fiber = true;
	weft__wake(c->caller);
}

/* ---- on the target loop ----------------------------------------------------------------- */

/* The task has ended (or never started): tell the caller, drop the target's reference. */
static void call_finish(struct call *c)
{
	c->task = NULL;
	if (c->caller_loop) {
		post_surely(c->caller_loop, call_done_at_caller, c);
	} else {
		pthread_mutex_lock(&c->mu);
		c->done = true;
		pthread_cond_signal(&c->cv);
		pthread_mutex_unlock(&c->mu);
	}
	call_unref(c);
}

static int call_entry(void *arg)
{
	struct call *c = arg;

	return c->fn(c->arg);
}

static void call_task_done(struct weft__hook *h, struct weft_task *t)
{
	struct call *c = weft__container_of(h, struct call, hook);

	c->status = t->status;
	call_finish(c);
}

static void call_start(void *arg)
{
	struct call *c = arg;
	int expect = CALL_POSTED, r;

	if (!atomic_compare_exchange_strong(&c->state, &expect, CALL_STARTED)) {
		call_unref(c); /* the caller gave up before we got here, and has returned */
		return;
	}
	r = weft_loop_spawn(c->target, &c->task, call_entry, c, NULL);
	if (r) {
		c->status = r;
		call_finish(c);
		return;
	}
	/* A hook of our own, not weft_task_on_done: watching must not fail once the task exists,
	 * since a spawned task always runs. */
	weft__hook_add(c->task, &c->hook, call_task_done);
	weft_task_detach(c->task); /* frees itself; call_task_done runs first */
}

static void call_cancel(void *arg)
{
	struct call *c = arg;

	if (c->task)
		weft_task_cancel(c->task);
	call_unref(c);
}

/* ---- the caller ------------------------------------------------------------------------- */

/* The caller stops waiting. True if the task never started (and now never will): the caller
 * may return at once. Otherwise the task is cancelled, and the caller must wait for its end. */
static bool give_up(struct call *c)
{
	int expect = CALL_POSTED;

	if (atomic_compare_exchange_strong(&c->state, &expect, CALL_ABANDONED)) {
		c->status = -ECANCELED; /* the target never touches a call it did not start */
		return true;
	}
	if (atomic_exchange(&c->cancel, true))
		return false;
	atomic_fetch_add(&c->refs, 1);
	post_surely(c->target, call_cancel, c);
	return false;
}

struct call_wait {
	struct weft__wait wait;
	struct call *call;
};

/* The calling fiber was cancelled or its deadline passed: cancel the task and keep waiting for
 * it, unless it never started. */
static void call_interrupted(struct weft__wait *w)
{
	if (give_up(weft__container_of(w, struct call_wait, wait)->call))
		weft__wake(w->task);
}

static bool call_abandoned(struct call *c)
{
	return atomic_load(&c->state) == CALL_ABANDONED;
}

static int call_from_fiber(struct call *c, int64_t deadline)
{
	struct call_wait cw = {.call = c};
	int r = weft__checkpoint(weft__current());

	if (r) { /* cancelled already: never post it */
		c->status = -ECANCELED;
		call_unref(c); /* the target's reference */
		return r;
	}
	weft__wait_init(&cw.wait, "call", call_interrupted);
	post_surely(c->target, call_start, c);
	r = weft__park(&cw.wait, deadline, 0);
	if (!c->done_fiber && !r)
		r = -ETIMEDOUT; /* woken by our own timeout */
	if (!c->done_fiber && !call_abandoned(c) && !give_up(c)) {
		/* It runs: it must end before @arg is the caller's again. */
		cw.wait.interrupt = NULL;
		while (!c->done_fiber)
			weft__park(&cw.wait, WEFT_FOREVER, WEFT__PARK_NO_DEADLINE);
	}
	return r;
}

static int call_from_thread(struct call *c, int64_t deadline)
{
	struct timespec ts = {.tv_sec = deadline / WEFT_SEC, .tv_nsec = deadline % WEFT_SEC};
	int result = 0;

	post_surely(c->target, call_start, c);
	pthread_mutex_lock(&c->mu);
	while (!c->done && deadline != WEFT_FOREVER && result == 0) {
		if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) == ETIMEDOUT && !c->done) {
			result = -ETIMEDOUT;
			pthread_mutex_unlock(&c->mu);
			if (give_up(c))
				return result; /* never started: nothing to wait for */
			pthread_mutex_lock(&c->mu);
		}
	}
	while (!c->done)
		pthread_cond_wait(&c->cv, &c->mu);
	pthread_mutex_unlock(&c->mu);
	return result;
}

static struct call *call_new(weft_loop *loop, weft_task_fn fn, void *arg, bool thread)
{
	struct call *c = weft__new(struct call);
	pthread_condattr_t ca;

	if (!c)
		return NULL;
	atomic_init(&c->refs, 2); /* the caller and the target */
	atomic_init(&c->state, CALL_POSTED);
	c->target = loop;
	c->fn = fn;
	c->arg = arg;
	if (!thread) {
		c->caller_loop = weft__loop();
		c->caller = weft__current();
	} else {
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&c->cv, &ca);
		pthread_condattr_destroy(&ca);
		pthread_mutex_init(&c->mu, NULL);
	}
	return c;
}

/* Plain code that only @loop's thread can run @loop from (a callback of it, or its owner thread
 * between runs): waiting here would wait for ourselves. */
static bool on_loop_thread(weft_loop *loop)
{
	struct weft_loop *cur = weft__loop();

	if (cur)
		return cur == loop;
	/* Acquire: pairs with the backends' enable, which sets the owner before the flag. */
	return __atomic_load_n(&loop->enabled, __ATOMIC_ACQUIRE) &&
	       pthread_equal(loop->owner, pthread_self());
}

int weft_loop_call(weft_loop *loop, weft_task_fn fn, void *arg, int64_t timeout_ns, int *status)
{
	bool in_fiber = weft__current() != NULL;
	int64_t deadline;
	struct call *c;
	int r;

	if (!loop || !fn || timeout_ns < 0)
		return -EINVAL;
	if (!in_fiber && on_loop_thread(loop))
		return -EDEADLK;
	deadline = weft__deadline_after(weft_now(), timeout_ns);
	c = call_new(loop, fn, arg, !in_fiber);
	if (!c)
		return -ENOMEM;
	r = in_fiber ? call_from_fiber(c, deadline) : call_from_thread(c, deadline);
	if (status)
		*status = c->status;
	call_unref(c);
	return r;
}
