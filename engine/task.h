/* SPDX-License-Identifier: MIT */
/* The task record, private to the engine. */
#ifndef WEFT_ENGINE_TASK_H
#define WEFT_ENGINE_TASK_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "weft/task.h"
#include "ctx.h"
#include "list.h"
#include "sched.h"

struct weft__wait;
struct weft__stack_chunk;
struct weft__scope;
struct weft__park;
struct weft__start;
struct weft_group;

/* Something to run when a task returns: joiners, on_done callbacks, wait/gather watchers. */
struct weft__hook {
	struct weft__list link;
	void (*fn)(struct weft__hook *hook, struct weft_task *task);
};

struct weft_task {
	struct weft__ctx ctx;
	struct weft_loop *loop;
	struct weft_task *runq_next;
	struct weft__wait *wait;   /* what it is parked on */
	struct weft__scope *scope; /* innermost open scope (a group child: its group's, at least) */
	struct weft__scope *base; /* a group child's group scope, else NULL: scopes below are its */
	struct weft__park *park;  /* its park timer while parked (sched.c) */
	struct weft__scope *caught; /* the scope its last interrupted park newly marked caught */
	struct weft__start *start;  /* the weft_group_start() waiting for it to report, or NULL */
	uint8_t state;		    /* enum weft_task_state */
	bool started;
	bool cancel_requested;
	bool detached;
	bool consumed;	  /* joined or gathered: freed when the last joiner leaves */
	bool mark;	  /* scratch for duplicate checks */
	uint32_t joiners; /* tasks parked in (or on their way out of) a join on it */
	int status;
	weft_task_fn fn;
	void *arg;
	struct weft__list hooks;  /* run when it returns */
	struct weft__list node;	  /* loop->tasks */
	struct weft_group *group; /* owning task group, if any */
	struct weft__list group_link;
	void *stack;			       /* the mapping: guard, then the usable stack */
	struct weft__stack_chunk *stack_chunk; /* the chunk it came from, or NULL (own mapping) */
	size_t stack_size;		       /* usable size */
	unsigned vg_stack_id;
	uint64_t id;
	char name[32];
};

/* Spawn with an explicit group (NULL: none). */
int weft__task_spawn(struct weft_loop *loop, struct weft_task **taskp, weft_task_fn fn, void *arg,
		     const struct weft_task_opts *opts, struct weft_group *group);
/* Run a finished task's hooks and mark it done (from the task's own context). */
void weft__task_finish(struct weft_task *task, int status);
/* Release a dead task's stack, and its record if nobody holds the handle. */
void weft__task_release(struct weft_loop *loop, struct weft_task *task);
/* Free a finished task's record (join, gather, group). */
void weft__task_free(struct weft_loop *loop, struct weft_task *task);
void weft__task_free_cache(struct weft_loop *loop);

/* Park the current task until @task returns or @until passes (0; check the state), or until
 * interrupted (the reason). WEFT__PARK_NO_DEADLINE makes the wait uninterruptible. While parked
 * the waiter counts as a joiner, so another consumer cannot free @task under it. */
int weft__task_wait_done(struct weft_task *task, int64_t until, unsigned park_flags);
/* The handle of a finished @task is used up (join, gather, wait_for): free it now, or when the
 * last task still on its way out of a join on it leaves. */
void weft__task_consume(struct weft_task *task);
/* Argument checks shared by join-like calls: 0, -EINVAL, -EPERM, -EDEADLK. */
int weft__task_join_check(struct weft_task *task);
/* Run @loop until @task is done (loop.c). 0, 1 if stopped first, or an error. */
int weft__loop_run_task(struct weft_loop *loop, struct weft_task *task);

/* 0 if @task may block now, else -ECANCELED / -ETIMEDOUT. Outside any scope that is one flag. */
static inline int weft__checkpoint(struct weft_task *task)
{
	if (__builtin_expect(!task->scope, 1))
		return task->cancel_requested ? -ECANCELED : 0;
	return weft__checkpoint_scoped(task);
}

static inline void weft__hook_add(struct weft_task *t, struct weft__hook *h,
				  void (*fn)(struct weft__hook *, struct weft_task *))
{
	h->fn = fn;
	weft__list_add_tail(&t->hooks, &h->link);
}

#endif
