/* SPDX-License-Identifier: MIT */
/*
 * Cancel scopes and deadlines: what weft__checkpoint() and every park consult.
 *
 * A task's scopes form a chain from its innermost one outwards. A child of a task group starts
 * its chain at the group's scope, so it continues into the scopes around the group in the task
 * that opened it (trio's rule: a child lives inside the scopes its nursery lives in). Deadlines
 * and cancellations are read off the chain when a task checks or parks, never cached, so a scope
 * that changes (cancel, reschedule, shield) only has to reach the tasks parked under it.
 */
#include <errno.h>

#include "weft/time.h"
#include "group.h"
#include "loop.h"
#include "sched.h"
#include "scope.h"
#include "task.h"

static bool expired(const struct weft__scope *s, int64_t now)
{
	return s->deadline != WEFT_FOREVER && now >= s->deadline;
}

/* Whether a cancellation reaches code running at @s (NULL: outside every scope) in task @t: a
 * cancelled scope, or the task-wide cancellation of a task the chain passes through, before a
 * shield. */
static bool cancelled_from(const struct weft__scope *s, const struct weft_task *t)
{
	for (; s; s = s->parent) {
		if (s->task != t) { /* out of a child's scopes, into those of its group's opener */
			if (t->cancel_requested)
				return true;
			t = s->task;
		}
		if (s->flags & WEFT__SCOPE_CANCELLED)
			return true;
		if (s->flags & WEFT__SCOPE_SHIELD)
			return false;
	}
	return t->cancel_requested;
}

/* The earliest deadline from @s outwards, up to a shield. */
static int64_t deadline_from(const struct weft__scope *s)
{
	int64_t d = WEFT_FOREVER;

	for (; s; s = s->parent) {
		if (s->deadline < d)
			d = s->deadline;
		if (s->flags & WEFT__SCOPE_SHIELD)
			break;
	}
	return d;
}

bool weft__cancel_visible(const struct weft_task *t)
{
	return cancelled_from(t->scope, t);
}

int64_t weft__task_deadline(const struct weft_task *t)
{
	return deadline_from(t->scope);
}

bool weft__scope_explains(const struct weft__scope *s, int status)
{
	int64_t d;

	if (status == -ECANCELED)
		return cancelled_from(s, s->task);
	if (status != -ETIMEDOUT)
		return false;
	d = deadline_from(s);
	return d != WEFT_FOREVER && weft_now() >= d;
}

int weft__checkpoint_scoped(struct weft_task *t)
{
	int64_t deadline;
	int err = 0;

	if (weft__cancel_visible(t))
		err = -ECANCELED;
	else if ((deadline = weft__task_deadline(t)) != WEFT_FOREVER && weft_now() >= deadline)
		err = -ETIMEDOUT;
	if (err)
		weft__scope_caught(t, err);
	return err;
}

/* trio's rule: the outermost source of the error (a cancelled or expired scope, or a task-wide
 * cancellation) catches it, up to a shield. Mark it if it is a scope of @t's own. */
struct weft__scope *weft__scope_caught(struct weft_task *t, int reason)
{
	const struct weft_task *owner = t;
	struct weft__scope *outermost = NULL, *s;
	int64_t now = weft_now();

	if (reason != -ECANCELED && reason != -ETIMEDOUT)
		return NULL;
	for (s = t->scope; s; s = s->parent) {
		if (s->task != owner) {
			if (owner->cancel_requested)
				outermost = NULL; /* task-wide: beyond every scope of that task */
			owner = s->task;
		}
		if ((s->flags & WEFT__SCOPE_CANCELLED) || expired(s, now))
			outermost = s;
		if (s->flags & WEFT__SCOPE_SHIELD)
			break;
	}
	if (!s && owner->cancel_requested)
		outermost = NULL;
	if (!outermost || outermost->task != t || (outermost->flags & WEFT__SCOPE_CAUGHT))
		return NULL;
	outermost->flags |= WEFT__SCOPE_CAUGHT;
	return outermost;
}

void weft__park_result_stands(struct weft_task *t)
{
	/* Set by that very park: it had a reason, and the task has not left a scope since. */
	if (t->caught)
		t->caught->flags &= ~WEFT__SCOPE_CAUGHT;
	t->caught = NULL;
}

void weft__scope_push(struct weft_task *t, struct weft__scope *s, int64_t deadline, unsigned flags)
{
	s->parent = t->scope;
	s->task = t;
	s->deadline = deadline;
	s->flags = flags | WEFT__SCOPE_OPEN;
	t->scope = s;
}

int weft__scope_pop(struct weft_task *t, struct weft__scope *s)
{
	if (t->scope != s || s == t->base)
		return -EINVAL;
	t->scope = s->parent;
	s->flags &= ~WEFT__SCOPE_OPEN;
	if (t->caught == s)
		t->caught = NULL; /* it may be gone by the next park */
	if (!(s->flags & WEFT__SCOPE_CAUGHT))
		return 0;
	return (s->flags & WEFT__SCOPE_CANCELLED) ? -ECANCELED : -ETIMEDOUT;
}

/* Bring one parked task up to date with its scopes: interrupt it if a cancellation reaches it
 * now, else move its deadline timer. */
static void refresh(struct weft_task *t)
{
	if (!t->wait)
		return;
	/* Also when woken but not yet run (t->wait still set): a cancel wins the tie. */
	if (weft__cancel_visible(t))
		weft__interrupt(t, -ECANCELED);
	else
		weft__park_rearm(t); /* a no-op unless parked */
}

/* Refresh @t and every task living under its scopes from the innermost out to @end (exclusive;
 * NULL: all of @t's own): the children of its groups, and theirs. */
static void reach(struct weft_task *t, const struct weft__scope *end)
{
	refresh(t);
	for (struct weft__scope *s = t->scope; s && s != end && s->task == t; s = s->parent)
		if (s->flags & WEFT__SCOPE_GROUP)
			weft__group_each_child(s, reach);
}

void weft__scope_changed(struct weft__scope *s)
{
	if (s->flags & WEFT__SCOPE_OPEN)
		reach(s->task, s->parent);
}

void weft__task_cancelled(struct weft_task *t)
{
	reach(t, NULL);
}

void weft__scope_cancel(struct weft__scope *s)
{
	if (!(s->flags & WEFT__SCOPE_OPEN) || (s->flags & WEFT__SCOPE_CANCELLED))
		return;
	s->flags |= WEFT__SCOPE_CANCELLED;
	weft__scope_changed(s);
}

/* ---- public ----------------------------------------------------------------------------- */

int weft_scope_enter(weft_scope *scope, int64_t deadline, unsigned flags)
{
	struct weft_task *t = weft__current();

	if (!scope || (flags & ~WEFT_SCOPE_SHIELD))
		return -EINVAL;
	if (!t)
		return -EPERM;
	weft__scope_push(t, weft__scope_of(scope), deadline, flags);
	return 0;
}

int weft_scope_exit(weft_scope *scope)
{
	struct weft_task *t = weft__current();

	if (!scope)
		return -EINVAL;
	if (!t)
		return -EPERM;
	if ((weft__scope_of(scope)->flags & WEFT__SCOPE_OPEN) &&
	    weft__scope_of(scope)->task->loop != t->loop)
		return weft__debug_wrong_thread(t->loop, __func__);
	return weft__scope_pop(t, weft__scope_of(scope));
}

void weft_scope_cancel(weft_scope *scope)
{
	if (scope)
		weft__scope_cancel(weft__scope_of(scope));
}

/* The checks of the calls that change an open scope from the loop's thread. */
static int scope_open(weft_scope *scope, struct weft__scope **sp)
{
	struct weft__scope *s;

	if (!scope)
		return -EINVAL;
	s = weft__scope_of(scope);
	if (!(s->flags & WEFT__SCOPE_OPEN))
		return -EINVAL;
	if (weft__loop_affine(s->task->loop, "weft_scope"))
		return -EXDEV;
	*sp = s;
	return 0;
}

int weft_scope_reschedule(weft_scope *scope, int64_t deadline)
{
	struct weft__scope *s;
	int err = scope_open(scope, &s);

	if (err)
		return err;
	s->deadline = deadline;
	weft__scope_changed(s);
	return 0;
}

int weft_scope_shield(weft_scope *scope, bool shield)
{
	struct weft__scope *s;
	int err = scope_open(scope, &s);

	if (err)
		return err;
	if (shield)
		s->flags |= WEFT__SCOPE_SHIELD;
	else
		s->flags &= ~WEFT__SCOPE_SHIELD;
	weft__scope_changed(s);
	return 0;
}

int64_t weft_scope_deadline(const weft_scope *scope)
{
	return scope ? weft__scope_of((weft_scope *)scope)->deadline : WEFT_FOREVER;
}

bool weft_scope_cancel_called(const weft_scope *scope)
{
	const struct weft__scope *s = scope ? weft__scope_of((weft_scope *)scope) : NULL;

	return s && ((s->flags & WEFT__SCOPE_CANCELLED) || expired(s, weft_now()));
}

bool weft_scope_cancelled_caught(const weft_scope *scope)
{
	return scope && (weft__scope_of((weft_scope *)scope)->flags & WEFT__SCOPE_CAUGHT);
}

int64_t weft_deadline(void)
{
	struct weft_task *t = weft__current();

	return t ? weft__task_deadline(t) : WEFT_FOREVER;
}

int weft_checkpoint(void)
{
	struct weft_task *t = weft__current();

	return t ? weft__checkpoint(t) : -EPERM;
}
