/* SPDX-License-Identifier: MIT */
/* Tasks: spawn, join, detach, cancel, done hooks, introspection. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "weft/time.h"
#include "abi.h"
#include "alloc.h"
#include "group.h"
#include "loop.h"
#include "sched.h"
#include "scope.h"
#include "stack.h"
#include "task.h"

#define TASK_FREE_MAX 1024 /* recycled task records kept per loop */

static struct weft_task *task_alloc(struct weft_loop *loop)
{
	struct weft_task *t = loop->task_free;

	if (t) {
		loop->task_free = t->runq_next;
		loop->ntask_free--;
		return t; /* spawn sets every field: a 350-byte memset was a fifth of a spawn */
	}
	return weft__alloc(sizeof(*t));
}

static void task_recycle(struct weft_loop *loop, struct weft_task *t)
{
	if (loop->ntask_free >= TASK_FREE_MAX) {
		weft__delete(t);
		return;
	}
	t->runq_next = loop->task_free;
	loop->task_free = t;
	loop->ntask_free++;
}

void weft__task_free_cache(struct weft_loop *loop)
{
	while (loop->task_free) {
		struct weft_task *t = loop->task_free;
		loop->task_free = t->runq_next;
		weft__delete(t);
	}
	loop->ntask_free = 0;
}

int weft__task_spawn(struct weft_loop *loop, struct weft_task **taskp, weft_task_fn fn, void *arg,
		     const struct weft_task_opts *opts, struct weft_group *group)
{
	size_t stack_size = opts ? opts->stack_size : 0;
	struct weft_task *t;

	if (!loop || !fn || stack_size > WEFT__STACK_MAX || weft__reserved_bad(opts))
		return -EINVAL;
	/* Every task may arm one park timer: make its heap slot now, so parking can't fail. */
	if (loop->heap_cap <= loop->alive + loop->ntimers + 1 &&
	    weft__timers_reserve(loop, loop->alive + loop->ntimers + 64))
		return -ENOMEM;
	t = task_alloc(loop);
	if (!t)
		return -ENOMEM;
	if (weft__stack_get(loop, t, stack_size)) {
		task_recycle(loop, t);
		return -ENOMEM;
	}
	t->loop = loop;
	t->wait = NULL;
	t->scope = t->base = NULL;
	t->park = NULL;
	t->caught = NULL;
	t->start = NULL;
	t->started = t->detached = t->consumed = t->mark = false;
	t->joiners = 0;
	t->cancel_requested = loop->closing; /* a closing loop runs nothing new */
	t->status = 0;
	t->fn = fn;
	t->arg = arg;
	t->group = NULL;
	t->id = ++loop->next_id;
	t->name[0] = '\0';
	if (opts && opts->name)
		snprintf(t->name, sizeof(t->name), "%s", opts->name);
	weft__list_init(&t->hooks);
	weft__list_init(&t->group_link);
	weft__ctx_make(&t->ctx, (char *)t->stack + WEFT__STACK_GUARD, t->stack_size,
		       weft__sched_entry, t, loop->fpstate);
	weft__list_add_tail(&loop->tasks, &t->node);
	loop->alive++;
	if (group)
		weft__group_adopt(group, t);
	if (taskp)
		*taskp = t;
	else
		t->detached = true;
	weft__ready(loop, t);
	return 0;
}

int weft_loop_spawn(weft_loop *loop, weft_task **taskp, weft_task_fn fn, void *arg,
		    const struct weft_task_opts *opts)
{
	if (loop && weft__loop_affine(loop, __func__))
		return -EXDEV;
	return weft__task_spawn(loop, taskp, fn, arg, opts, NULL);
}

int weft_task_spawn(weft_task **taskp, weft_task_fn fn, void *arg,
		    const struct weft_task_opts *opts)
{
	struct weft_loop *loop = weft__loop();

	if (!loop)
		return -EPERM;
	return weft__task_spawn(loop, taskp, fn, arg, opts, NULL);
}

void weft__task_finish(struct weft_task *t, int status)
{
	struct weft_loop *loop = t->loop;

	t->status = status;
	t->state = WEFT_TASK_DONE;
	loop->alive--;
	if (t->scope != t->base) {
		/* Returned with a scope still open: a bug in the task, but its scopes die with it. */
		if (loop->debug)
			fprintf(stderr, "weft: task #%llu '%s' returned inside an open scope\n",
				(unsigned long long)t->id, weft_task_name(t));
		t->scope = t->base;
	}
	/* Hooks run as callback code: no current task, so they cannot block by mistake. */
	loop->current = NULL;
	while (!weft__list_empty(&t->hooks)) {
		struct weft__hook *h = weft__container_of(t->hooks.next, struct weft__hook, link);
		weft__list_del(&h->link);
		h->fn(h, t);
	}
	if (t->group)
		weft__group_child_done(t);
	loop->current = t;
}

void weft__task_free(struct weft_loop *loop, struct weft_task *t)
{
	weft__list_del(&t->node);
	task_recycle(loop, t);
}

void weft__task_release(struct weft_loop *loop, struct weft_task *t)
{
	weft__ctx_destroy(&t->ctx);
	weft__stack_put(loop, t);
	if (t->detached)
		weft__task_free(loop, t);
}

/* ---- join ------------------------------------------------------------------------------- */

struct join_wait {
	struct weft__wait wait;
	struct weft__hook hook;
};

static void join_done(struct weft__hook *h, struct weft_task *t)
{
	weft__wake(weft__container_of(h, struct join_wait, hook)->wait.task);
}

static void join_interrupt(struct weft__wait *w)
{
	struct join_wait *jw = weft__container_of(w, struct join_wait, wait);

	weft__list_del(&jw->hook.link);
	weft__wake(w->task);
}

/* Park the current task until @t returns. 0, or the interrupt's reason. */
int weft__task_wait_done(struct weft_task *t, int64_t until, unsigned park_flags)
{
	struct join_wait jw;
	int err;

	if (t->state == WEFT_TASK_DONE)
		return 0;
	weft__wait_init(&jw.wait, "join", join_interrupt);
	if (park_flags & WEFT__PARK_NO_DEADLINE)
		jw.wait.interrupt = NULL;
	weft__hook_add(t, &jw.hook, join_done);
	t->joiners++;
	err = weft__park(&jw.wait, until, park_flags);
	if (!err && t->state != WEFT_TASK_DONE)
		weft__list_del(&jw.hook.link); /* woken by @until */
	t->joiners--;
	return err;
}

void weft__task_consume(struct weft_task *t)
{
	t->consumed = true;
	if (!t->joiners)
		weft__task_free(t->loop, t);
}

/* Common argument checks for join-like calls on @t from the current task. */
int weft__task_join_check(struct weft_task *t)
{
	struct weft_task *cur = weft__current();

	if (!t)
		return -EINVAL;
	if (!cur)
		return -EPERM;
	if (t == cur)
		return -EDEADLK;
	if (t->loop != cur->loop)
		return weft__debug_wrong_thread(cur->loop, "weft_task_join");
	if (t->detached)
		return -EINVAL;
	return 0;
}

int weft_task_join(weft_task *t, int *status)
{
	int err = weft__task_join_check(t);

	if (err)
		return err;
	if (t->state != WEFT_TASK_DONE) {
		err = weft__checkpoint(weft__current());
		if (!err)
			err = weft__task_wait_done(t, WEFT_FOREVER, 0);
		/* Interrupted, but @t returned meanwhile: the result is there, take it (and another
		 * consumer may already count on this join to free the handle). */
		if (err && t->state != WEFT_TASK_DONE)
			return err;
		if (err)
			weft__park_result_stands(weft__current());
	}
	if (status)
		*status = t->status;
	weft__task_consume(t);
	return 0;
}

int weft_loop_run_until(weft_loop *loop, weft_task *t, int *status)
{
	int r;

	if (!loop || !t || t->loop != loop || t->detached)
		return -EINVAL;
	r = weft__loop_run_task(loop, t);
	if (r)
		return r;
	if (status)
		*status = t->status;
	weft__task_consume(t);
	return 0;
}

int weft_task_detach(weft_task *t)
{
	if (!t || t->detached)
		return -EINVAL;
	if (weft__loop_affine(t->loop, __func__))
		return -EXDEV;
	if (t->joiners)
		return -EBUSY;
	t->detached = true;
	if (t->state == WEFT_TASK_DONE)
		weft__task_free(t->loop, t);
	return 0;
}

int weft_task_cancel(weft_task *t)
{
	if (!t)
		return -EINVAL;
	if (weft__loop_affine(t->loop, __func__))
		return -EXDEV;
	if (t->state == WEFT_TASK_DONE)
		return -EALREADY;
	t->cancel_requested = true;
	weft__task_cancelled(t); /* it, and the children of the groups it has open */
	return 0;
}

/* ---- done callbacks --------------------------------------------------------------------- */

struct done_cb {
	struct weft__hook hook;
	void (*fn)(weft_task *, void *);
	void *arg;
};

static void done_cb_run(struct weft__hook *h, struct weft_task *t)
{
	struct done_cb *cb = weft__container_of(h, struct done_cb, hook);

	cb->fn(t, cb->arg);
	weft__delete(cb);
}

int weft_task_on_done(weft_task *t, void (*fn)(weft_task *, void *), void *arg)
{
	struct done_cb *cb;

	if (!t || !fn)
		return -EINVAL;
	if (weft__loop_affine(t->loop, __func__))
		return -EXDEV;
	if (t->state == WEFT_TASK_DONE) {
		struct weft_task *cur = t->loop->current;
		t->loop->current = NULL; /* callback code, as when the task returns */
		fn(t, arg);
		t->loop->current = cur;
		return 0;
	}
	cb = weft__new(struct done_cb);
	if (!cb)
		return -ENOMEM;
	cb->fn = fn;
	cb->arg = arg;
	weft__hook_add(t, &cb->hook, done_cb_run);
	return 0;
}

/* ---- introspection ---------------------------------------------------------------------- */

bool weft_task_done(const weft_task *t)
{
	return t && t->state == WEFT_TASK_DONE;
}

bool weft_task_cancelled(const weft_task *t)
{
	return t && t->cancel_requested;
}

int weft_task_status(const weft_task *t, int *status)
{
	if (!t)
		return -EINVAL;
	if (weft__loop_affine(t->loop, __func__))
		return -EXDEV;
	if (t->state != WEFT_TASK_DONE)
		return -EAGAIN;
	if (status)
		*status = t->status;
	return 0;
}

enum weft_task_state weft_task_state(const weft_task *t)
{
	return t ? (enum weft_task_state)t->state : WEFT_TASK_DONE;
}

const char *weft_task_name(const weft_task *t)
{
	struct weft_task *mut = (struct weft_task *)t;

	if (!t)
		return "(null)";
	/* Default names are made on first use: snprintf would cost more than the whole spawn. */
	if (!t->name[0])
		snprintf(mut->name, sizeof(mut->name), "task-%llu", (unsigned long long)t->id);
	return t->name;
}

void *weft_task_arg(const weft_task *t)
{
	return t ? t->arg : NULL;
}

uint64_t weft_task_id(const weft_task *t)
{
	return t ? t->id : 0;
}

weft_task *weft_task_current(void)
{
	return weft__current();
}

int weft_loop_tasks(weft_loop *loop, int (*visit)(weft_task *, void *), void *arg)
{
	struct weft__list *pos, *tmp;

	if (!loop || !visit)
		return -EINVAL;
	if (weft__loop_affine(loop, __func__))
		return -EXDEV;
	weft__list_for_each_safe(pos, tmp, &loop->tasks)
	{
		int r = visit(weft__container_of(pos, struct weft_task, node), arg);
		if (r)
			return r;
	}
	return 0;
}
