/* SPDX-License-Identifier: MIT */
/*
 * The scheduler: parking a task on something, waking it, and interrupting it (cancellation and
 * deadlines). Every blocking call in weft is built from these four verbs:
 *
 *   err = weft__checkpoint(task);       // already cancelled or past the deadline?
 *   register a wake-up somewhere (a wait list, an SQE, a timer, a task's done hooks)
 *   err = weft__park(&wait, ...);        // 0 when woken, else the interrupt's reason
 *
 * An interrupt (weft__interrupt) records its reason and calls wait->interrupt once, whose job is
 * to get the task woken soon: unlink it from a wait list and wake it, or submit an ASYNC_CANCEL
 * and let the operation's own CQE wake it (so the kernel is done with the buffer first).
 */
#ifndef WEFT_ENGINE_SCHED_H
#define WEFT_ENGINE_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "timer.h"

struct weft_task;
struct weft_loop;

struct weft__wait {
	struct weft_task *task;
	const char *what; /* for task dumps: "sleep", "join", "future", "op" ... */
	/* Called once, on the first interrupt. NULL makes the wait uninterruptible. */
	void (*interrupt)(struct weft__wait *w);
	int reason; /* 0, or -ETIMEDOUT / -ECANCELED (cancel wins) */
	bool interrupting;
	uint8_t opcode; /* for "op" waits: the io_uring opcode */
};

static inline void weft__wait_init(struct weft__wait *w, const char *what,
				   void (*interrupt)(struct weft__wait *))
{
	w->task = 0;
	w->what = what;
	w->interrupt = interrupt;
	w->reason = 0;
	w->interrupting = false;
	w->opcode = 0;
}

/* Park flags. */
#define WEFT__PARK_NO_DEADLINE (1u << 0) /* don't arm the scope deadline (uninterruptible waits) */

/*
 * weft__park - block the current task until weft__wake(). @until: wake normally at that time
 * (WEFT_FOREVER for no own timeout). The enclosing scope deadline is armed too, unless
 * WEFT__PARK_NO_DEADLINE. Returns 0 (woken) or w->reason (interrupted). The caller must have
 * passed weft__checkpoint() and be running in a fiber.
 */
int weft__park(struct weft__wait *w, int64_t until, unsigned flags);

/* Make a parked task ready (it runs later in this turn or the next). */
void weft__wake(struct weft_task *task);

/* Interrupt a parked task with @reason (-ECANCELED or -ETIMEDOUT). No-op if not parked. */
void weft__interrupt(struct weft_task *task, int reason);

/* The slow path of weft__checkpoint, for tasks inside a scope (scope.c). */
int weft__checkpoint_scoped(struct weft_task *task);

/* True if a cancellation (task's or a scope's) reaches @task's innermost scope. */
bool weft__cancel_visible(const struct weft_task *task);

/* The deadline @task's blocking calls honour now: the earliest of its scopes', up to a shield. */
int64_t weft__task_deadline(const struct weft_task *task);

/* A scope @task is under changed its deadline or shield: re-arm its park timer (sched.c). */
void weft__park_rearm(struct weft_task *task);

/* @task's checkpoint or park ends with @reason (-ECANCELED / -ETIMEDOUT): mark the scope of its
 * own that catches it, if any (scope.c). Returns that scope if it was not marked before. */
struct weft__scope *weft__scope_caught(struct weft_task *task, int reason);

/* @task's last park was interrupted, but what it waited for completed all the same and the call
 * returns that result (data read is never thrown away): the scope the park marked as catching
 * the interrupt caught nothing after all (scope.c). */
void weft__park_result_stands(struct weft_task *task);

/* Interrupt helper for waits whose only job is to wake the task. */
void weft__wait_interrupt_wake(struct weft__wait *w);

/* The loop running on this thread (sched.c). Hidden and initial-exec: one %fs-relative load. */
extern __thread struct weft_loop *weft__tls_loop
    __attribute__((tls_model("initial-exec"), visibility("hidden")));

/* The loop running on this thread, or NULL. */
static inline struct weft_loop *weft__loop(void)
{
	return weft__tls_loop;
}

/* Set the loop running on this thread (loop.c, around a run). */
void weft__loop_set(struct weft_loop *loop);
/* Queue a task that is not parked (new, or yielding) at the back of the run queue. */
void weft__ready(struct weft_loop *loop, struct weft_task *task);
/* First code on a new task's stack (weft__ctx_make's entry). */
void weft__sched_entry(void *task);

/* Switch out of the current task for good (it has finished). */
__attribute__((noreturn)) void weft__sched_exit(struct weft_loop *loop);
/* Run the ready tasks from the loop's own stack; returns when none is left for this turn. */
void weft__sched_run(struct weft_loop *loop);

#endif
