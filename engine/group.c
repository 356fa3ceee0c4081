/* SPDX-License-Identifier: MIT */
/*
 * Task groups (nurseries). A group is a cancel scope of the task that opened it plus a set of
 * detached children it counts. Each child's scopes start at the group's, so the scopes around
 * the group (deadlines, cancellations) reach the children directly, as in trio. The first child
 * to fail cancels the others and the scope, which interrupts the opener wherever it blocks
 * inside the group; close waits for every child.
 */
#include <errno.h>
#include <string.h>

#include "alloc.h"
#include "group.h"
#include "loop.h"
#include "sched.h"
#include "scope.h"
#include "task.h"

struct failure {
	struct weft__list link;
	struct weft_group_error e;
};

struct weft_group {
	struct weft__scope scope; /* first: a WEFT__SCOPE_GROUP scope is its group */
	struct weft_task *owner;
	struct weft__list children; /* task->group_link */
	size_t alive;
	int first_error;
	bool cancelling;
	struct weft__wait *closer;  /* the owner, parked in weft_group_close */
	struct weft__list failures; /* struct failure, in completion order */
	size_t nfailures;	    /* counted also when a record could not be allocated */
};

/* A weft_group_start() in progress: the starter waits on it, the child reports to it. */
struct weft__start {
	struct weft__wait wait;
	struct weft_task *child;
	void *value;
	int status; /* the child's, if it returned first: its record is gone by the time we run */
	bool started;
	bool returned;
};

static struct weft_group *group_of(struct weft__scope *s)
{
	return (struct weft_group *)(void *)s;
}

int weft_group_open(weft_group **gp)
{
	struct weft_task *t = weft__current();
	struct weft_group *g;

	if (!gp)
		return -EINVAL;
	if (!t)
		return -EPERM;
	g = weft__new(struct weft_group);
	if (!g)
		return -ENOMEM;
	g->owner = t;
	weft__list_init(&g->children);
	weft__list_init(&g->failures);
	weft__scope_push(t, &g->scope, WEFT_FOREVER, WEFT__SCOPE_GROUP);
	*gp = g;
	return 0;
}

static int group_spawn(struct weft_group *g, struct weft_task **tp, weft_task_fn fn, void *arg,
		       const struct weft_task_opts *opts)
{
	int r;

	if (!g || !fn)
		return -EINVAL;
	if (weft__loop_affine(g->owner->loop, __func__))
		return -EXDEV;
	r = weft__task_spawn(g->owner->loop, tp, fn, arg, opts, g);
	if (!r && tp)
		(*tp)->detached =
		    true; /* the group frees it; the pointer is for the caller alone */
	return r;
}

int weft_group_spawn(weft_group *g, weft_task_fn fn, void *arg, const struct weft_task_opts *opts)
{
	return group_spawn(g, NULL, fn, arg, opts);
}

void weft__group_adopt(struct weft_group *g, struct weft_task *t)
{
	t->group = g;
	t->scope = t->base = &g->scope; /* a cancelled group's child starts cancelled */
	weft__list_add_tail(&g->children, &t->group_link);
	g->alive++;
}

void weft__group_each_child(struct weft__scope *s,
			    void (*fn)(struct weft_task *, const struct weft__scope *))
{
	struct weft_group *g = group_of(s);
	struct weft__list *pos, *tmp;

	weft__list_for_each_safe(pos, tmp, &g->children)
	    fn(weft__container_of(pos, struct weft_task, group_link), NULL);
}

void weft_group_cancel(weft_group *g)
{
	if (!g || g->cancelling)
		return;
	g->cancelling = true;
	weft__scope_cancel(&g->scope); /* reaches the children through their scopes */
}

/* A child's error is the group's failure unless it is only the group's own cancellation, one of
 * a scope around it, or the deadline of a scope around it, arriving in the child. */
static bool is_failure(struct weft_group *g, const struct weft_task *t)
{
	/* A child cancelled on its own (weft_task_cancel) has not failed either: asyncio's
	 * TaskGroup ignores a cancelled child too. */
	if (t->status == -ECANCELED && t->cancel_requested)
		return false;
	return t->status < 0 && !weft__scope_explains(&g->scope, t->status);
}

static void record_failure(struct weft_group *g, struct weft_task *t)
{
	struct failure *f = weft__new(struct failure);

	g->nfailures++;
	if (!f)
		return; /* counted, not described: weft_group_close_errors says how many */
	f->e.arg = t->arg;
	f->e.task_id = t->id;
	f->e.status = t->status;
	memcpy(f->e.name, weft_task_name(t), sizeof(f->e.name));
	weft__list_add_tail(&g->failures, &f->link);
}

static void start_child_done(struct weft__start *st)
{
	st->returned = true;
	st->status = st->child->status;
	st->child->start = NULL;
	weft__wake(st->wait.task);
}

void weft__group_child_done(struct weft_task *t)
{
	struct weft_group *g = t->group;

	weft__list_del(&t->group_link);
	t->group = NULL;
	t->scope = t->base = NULL;
	g->alive--;
	if (t->start) {
		/* Returned before reporting it had started: its status goes to the starter. */
		start_child_done(t->start);
	} else if (is_failure(g, t)) {
		record_failure(g, t);
		if (!g->first_error) {
			g->first_error = t->status;
			weft_group_cancel(g);
		}
	}
	if (!g->alive && g->closer)
		weft__wake(g->closer->task);
}

/* ---- start ------------------------------------------------------------------------------ */

/* The starter was cancelled or timed out: the child goes too, and the starter still waits
 * until it has either started or returned. */
static void start_interrupt(struct weft__wait *w)
{
	struct weft__start *st = weft__container_of(w, struct weft__start, wait);

	weft_task_cancel(st->child);
}

int weft_group_start(weft_group *g, weft_task_fn fn, void *arg, const struct weft_task_opts *opts,
		     void **value)
{
	struct weft_task *cur = weft__current();
	struct weft__start st = {0};
	int r;

	if (!cur)
		return -EPERM;
	if (g && g->owner->loop != cur->loop)
		return weft__debug_wrong_thread(cur->loop, __func__);
	r = weft__checkpoint(cur);
	if (r)
		return r;
	r = group_spawn(g, &st.child, fn, arg, opts);
	if (r)
		return r;
	st.child->start = &st;
	weft__wait_init(&st.wait, "group start", start_interrupt);
	r = weft__park(&st.wait, WEFT_FOREVER, 0);
	if (r && !st.started && !st.returned) {
		weft__wait_init(&st.wait, "group start", NULL);
		weft__park(&st.wait, WEFT_FOREVER, WEFT__PARK_NO_DEADLINE);
	}
	if (r)
		return r;
	if (st.returned)
		return st.status < 0 ? st.status : -ECHILD;
	if (value)
		*value = st.value;
	return 0;
}

int weft_task_started(void *value)
{
	struct weft_task *t = weft__current();
	struct weft__start *st;

	if (!t)
		return -EPERM;
	st = t->start;
	if (!st)
		return -EINVAL;
	t->start = NULL;
	st->started = true;
	st->value = value;
	weft__wake(st->wait.task);
	return 0;
}

/* ---- close ------------------------------------------------------------------------------ */

/* Wait for every child. Uninterruptible: whatever would interrupt the opener here (a scope
 * around the group, its own cancellation) reaches the children through their scopes too, so
 * they are on their way out already; cancelling them on top would only race a deadline. */
static int group_wait(struct weft_group *g, struct weft_task *t)
{
	struct weft__wait w;
	int outer;

	/* The group's scope stays on the opener's chain: cancels reach through it. A while: a task
	 * may spawn a child after the last one woke us, before we run. */
	while (g->alive) {
		weft__wait_init(&w, "group", NULL);
		g->closer = &w;
		weft__park(&w, WEFT_FOREVER, WEFT__PARK_NO_DEADLINE);
	}
	weft__scope_pop(t, &g->scope);
	/* Only the outer scopes count now: was the opener cancelled or timed out? */
	outer = weft__checkpoint(t);
	return g->first_error ? g->first_error : outer ? outer : g->cancelling ? -ECANCELED : 0;
}

static void group_free(struct weft_group *g, struct weft_group_error *errs, size_t cap)
{
	size_t i = 0;

	while (!weft__list_empty(&g->failures)) {
		struct failure *f = weft__container_of(g->failures.next, struct failure, link);
		if (i < cap)
			errs[i++] = f->e;
		weft__list_del(&f->link);
		weft__delete(f);
	}
	/* Failures counted but not recorded (no memory then): entries with status 0. */
	for (; i < cap && i < g->nfailures; i++)
		errs[i] = (struct weft_group_error){0};
	weft__delete(g);
}

int weft_group_close_errors(weft_group *g, struct weft_group_error *errs, size_t cap, size_t *nerrs)
{
	struct weft_task *t = weft__current();
	int r;

	if (!g || (cap && !errs))
		return -EINVAL;
	if (!t)
		return -EPERM;
	if (t->loop != g->owner->loop)
		return weft__debug_wrong_thread(t->loop, __func__);
	if (t != g->owner || t->scope != &g->scope)
		return -EINVAL;
	r = group_wait(g, t);
	if (nerrs)
		*nerrs = g->nfailures;
	group_free(g, errs, cap);
	return r;
}

int weft_group_close(weft_group *g)
{
	return weft_group_close_errors(g, NULL, 0, NULL);
}
