/* SPDX-License-Identifier: MIT */
/*
 * The scheduler. Ready tasks wait in one FIFO run queue. A task that parks switches *directly* to
 * the next ready task; the loop's own stack is visited only at the end of a turn, when the ring
 * or the timers need attention (loop.c). A turn runs the tasks that were ready when it began
 * (`budget`), so a task that yields in a loop cannot starve I/O completions.
 */
#include <errno.h>

#include "weft/time.h"
#include "loop.h"
#include "sched.h"
#include "scope.h"
#include "task.h"

__thread struct weft_loop *weft__tls_loop;

void weft__loop_set(struct weft_loop *loop)
{
	weft__tls_loop = loop;
}

static inline void runq_push(struct weft_loop *loop, struct weft_task *t)
{
	t->runq_next = NULL;
	if (loop->runq_tail)
		loop->runq_tail->runq_next = t;
	else
		loop->runq_head = t;
	loop->runq_tail = t;
	loop->runq_len++;
}

static inline struct weft_task *runq_pop(struct weft_loop *loop)
{
	struct weft_task *t = loop->runq_head;

	loop->runq_head = t->runq_next;
	if (!loop->runq_head)
		loop->runq_tail = NULL;
	loop->runq_len--;
	return t;
}

void weft__ready(struct weft_loop *loop, struct weft_task *t)
{
	t->state = WEFT_TASK_READY;
	runq_push(loop, t);
}

void weft__wake(struct weft_task *t)
{
	/* Timers and interrupts may both try to wake a task before it runs: only the first counts. */
	if (t->state != WEFT_TASK_PARKED)
		return;
	weft__ready(t->loop, t);
}

/* Does the loop's own stack have work: SQEs to submit, CQEs to reap, timers, callbacks, a stop? */
static inline bool loop_has_work(struct weft_loop *loop)
{
	return weft__sq_queued(loop) || loop->inflight || loop->heap_len || loop->cb_head ||
	       atomic_load_explicit(&loop->stop, memory_order_relaxed) ||
	       atomic_load_explicit(&loop->inbox, memory_order_relaxed);
}

static inline struct weft_task *pick_next(struct weft_loop *loop)
{
	if (loop->budget) {
		loop->budget--;
		return runq_pop(loop);
	}
	/* Turn over, but if the loop has nothing to do, start the next turn right here. */
	if (loop->runq_head && !loop_has_work(loop)) {
		loop->budget = loop->runq_len - 1;
		return runq_pop(loop);
	}
	return NULL;
}

/* Runs in whichever context resumes after a switch. */
static inline void resumed(struct weft_loop *loop)
{
	if (loop->dead) {
		weft__task_release(loop, loop->dead);
		loop->dead = NULL;
	}
	if (__builtin_expect(loop->debug, 0))
		loop->slice_start = weft_now();
}

static inline __attribute__((always_inline)) void switch_out(struct weft_loop *loop,
							     struct weft_task *cur, int dying)
{
	struct weft_task *next = pick_next(loop);
	struct weft__ctx *to = &loop->sched_ctx;

	if (__builtin_expect(loop->debug, 0))
		weft__debug_slow(loop, cur);
	loop->current = next;
	if (next == cur) {
		cur->state = WEFT_TASK_RUNNING;
		return;
	}
	if (next) {
		next->state = WEFT_TASK_RUNNING;
		to = &next->ctx;
	}
	weft__ctx_jump(&cur->ctx, to, dying, &loop->switch_from);
	resumed(loop);
}

void weft__sched_run(struct weft_loop *loop)
{
	struct weft_task *next;

	if (!loop->runq_head)
		return;
	loop->budget = loop->runq_len - 1;
	next = runq_pop(loop);
	next->state = WEFT_TASK_RUNNING;
	loop->current = next;
	if (__builtin_expect(loop->debug, 0))
		loop->slice_start = weft_now();
	weft__ctx_jump(&loop->sched_ctx, &next->ctx, 0, &loop->switch_from);
	if (loop->dead) {
		weft__task_release(loop, loop->dead);
		loop->dead = NULL;
	}
}

void weft__sched_exit(struct weft_loop *loop)
{
	struct weft_task *t = loop->current;

	loop->dead = t;
	switch_out(loop, t, 1);
	__builtin_unreachable();
}

/* First code on a new task's stack. */
void weft__sched_entry(void *arg)
{
	struct weft_task *t = arg;
	struct weft_loop *loop = t->loop;
	int status;

	weft__ctx_entered(&loop->switch_from);
	resumed(loop);
	t->started = true;
	/* Every task runs (trio's rule), so it always owns its argument: one cancelled before it
	 * started finds out at its first checkpoint. */
	status = t->fn(t->arg);
	weft__task_finish(t, status);
	weft__sched_exit(loop);
}

/* ---- parking ---------------------------------------------------------------------------- */

/* A parked task's timer: its own wake-up time or its scopes' deadline, whichever comes first.
 * Reachable from the task (t->park) so a scope that changes can move it (weft__park_rearm). */
struct weft__park {
	struct weft__timer timer;
	struct weft__wait *wait;
	int64_t until;	  /* the caller's own wake-up time */
	unsigned flags;	  /* WEFT__PARK_* */
	bool is_deadline; /* the timer is the scope deadline, not the caller's wake-up time */
};

static void park_timer_fired(struct weft__timer *timer)
{
	struct weft__park *pf = weft__container_of(timer, struct weft__park, timer);

	if (pf->is_deadline)
		weft__interrupt(pf->wait->task, -ETIMEDOUT);
	else
		weft__wake(pf->wait->task);
}

static inline __attribute__((always_inline)) void
park_arm(struct weft_loop *loop, struct weft__park *pf, struct weft_task *t)
{
	int64_t deadline = (pf->flags & WEFT__PARK_NO_DEADLINE) || !t->scope
			       ? WEFT_FOREVER
			       : weft__task_deadline(t);

	if (deadline == WEFT_FOREVER && pf->until == WEFT_FOREVER)
		return;
	pf->is_deadline = deadline <= pf->until;
	weft__timer_arm(loop, &pf->timer, pf->is_deadline ? deadline : pf->until);
}

void weft__park_rearm(struct weft_task *t)
{
	struct weft__park *pf = t->park;

	if (!pf || t->state != WEFT_TASK_PARKED)
		return;
	if (weft__timer_armed(&pf->timer))
		weft__timer_disarm(t->loop, &pf->timer);
	park_arm(t->loop, pf, t);
}

int weft__park(struct weft__wait *w, int64_t until, unsigned flags)
{
	struct weft_loop *loop = weft__tls_loop;
	struct weft_task *t = loop->current;
	struct weft__park pf = {.wait = w, .until = until, .flags = flags};

	w->task = t;
	loop->inline_streak = 0; /* it parks: its run of completions without parking ends */
	weft__timer_init(&pf.timer, park_timer_fired);
	park_arm(loop, &pf, t);
	t->wait = w;
	t->park = &pf;
	t->state = WEFT_TASK_PARKED;
	switch_out(loop, t, 0);
	t->wait = NULL;
	t->park = NULL;
	if (weft__timer_armed(&pf.timer))
		weft__timer_disarm(loop, &pf.timer);
	if (__builtin_expect(w->reason && t->scope, 0))
		t->caught = weft__scope_caught(t, w->reason);
	return w->reason;
}

void weft__interrupt(struct weft_task *t, int reason)
{
	struct weft__wait *w = t->wait;

	if (!w || !w->interrupt)
		return;
	/* Woken but not yet run (t->wait is still set): a cancel may still beat the timeout that
	 * woke it, but a wait that ended normally keeps its success. */
	if (t->state != WEFT_TASK_PARKED) {
		if (w->reason && reason == -ECANCELED)
			w->reason = reason;
		return;
	}
	if (!w->reason || reason == -ECANCELED)
		w->reason = reason;
	if (w->interrupting)
		return;
	w->interrupting = true;
	w->interrupt(w);
}

void weft__wait_interrupt_wake(struct weft__wait *w)
{
	weft__wake(w->task);
}

/* ---- yield ------------------------------------------------------------------------------ */

int weft_yield(void)
{
	struct weft_loop *loop = weft__tls_loop;
	struct weft_task *t = loop ? loop->current : NULL;
	int err;

	if (!t)
		return -EPERM;
	err = weft__checkpoint(t);
	if (err)
		return err;
	weft__ready(loop, t);
	switch_out(loop, t, 0);
	return 0;
}
