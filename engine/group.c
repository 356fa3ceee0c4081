/* SPDX-License-Identifier: MIT */
/*
 * Task groups (nurseries). A group is a cancel scope of the task that opened it plus a set of
 * detached children it counts. The first child to fail cancels the others and the scope, which
 * interrupts the opener wherever it blocks inside the group; close waits for every child.
 */
#include <errno.h>

#include "alloc.h"
#include "group.h"
#include "loop.h"
#include "sched.h"
#include "scope.h"
#include "task.h"

struct weft_group {
	struct weft__scope scope;
	struct weft_task *owner;
	struct weft__list children; /* task->group_link */
	size_t alive;
	int first_error;
	bool cancelling;
	struct weft__wait *closer; /* the owner, parked in weft_group_close */
};

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
	weft__scope_push(t, &g->scope, WEFT_FOREVER, 0);
	*gp = g;
	return 0;
}

int weft_group_spawn(weft_group *g, weft_task_fn fn, void *arg, const struct weft_task_opts *opts)
{
	if (!g || !fn)
		return -EINVAL;
	if (weft__loop_affine(g->owner->loop, __func__))
		return -EXDEV;
	if (g->cancelling)
		return -ECANCELED;
	return weft__task_spawn(g->owner->loop, NULL, fn, arg, opts, g);
}

void weft__group_adopt(struct weft_group *g, struct weft_task *t)
{
	t->group = g;
	weft__list_add_tail(&g->children, &t->group_link);
	g->alive++;
}

void weft_group_cancel(weft_group *g)
{
	struct weft__list *pos, *tmp;

	if (!g || g->cancelling)
		return;
	g->cancelling = true;
	weft__list_for_each_safe(pos, tmp, &g->children)
	    weft_task_cancel(weft__container_of(pos, struct weft_task, group_link));
	weft__scope_cancel(&g->scope);
}

void weft__group_child_done(struct weft_task *t)
{
	struct weft_group *g = t->group;

	weft__list_del(&t->group_link);
	t->group = NULL;
	g->alive--;
	/* Siblings the group cancelled itself report -ECANCELED: that is not a new failure. */
	if (t->status < 0 && !g->first_error && !(g->cancelling && t->status == -ECANCELED)) {
		g->first_error = t->status;
		weft_group_cancel(g);
	}
	if (!g->alive && g->closer)
		weft__wake(g->closer->task);
}

struct close_wait {
	struct weft__wait wait;
	struct weft_group *group;
};

/* The owner was cancelled or timed out while closing: cancel the children, keep waiting. */
static void close_interrupt(struct weft__wait *w)
{
	weft_group_cancel(weft__container_of(w, struct close_wait, wait)->group);
}

int weft_group_close(weft_group *g)
{
	struct weft_task *t = weft__current();
	struct close_wait cw;
	int outer, r;

	if (!g)
		return -EINVAL;
	if (!t)
		return -EPERM;
	if (t->loop != g->owner->loop)
		return weft__debug_wrong_thread(t->loop, __func__);
	if (t != g->owner || t->scope != &g->scope)
		return -EINVAL;
	weft__scope_pop(t, &g->scope);
	/* From here on only the outer scopes count: was the owner cancelled or timed out? */
	outer = weft__checkpoint(t);
	if (outer)
		weft_group_cancel(g);
	if (g->alive) {
		weft__wait_init(&cw.wait, "group", outer ? NULL : close_interrupt);
		cw.group = g;
		g->closer = &cw.wait;
		r = weft__park(&cw.wait, WEFT_FOREVER, outer ? WEFT__PARK_NO_DEADLINE : 0);
		if (!outer)
			outer = r;
	}
	r = g->first_error ? g->first_error : outer ? outer : g->cancelling ? -ECANCELED : 0;
	weft__delete(g);
	return r;
}
