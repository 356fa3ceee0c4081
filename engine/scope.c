/* SPDX-License-Identifier: MIT */
/* Cancel scopes and deadlines: what weft__checkpoint() and every park consult. */
#include <errno.h>

#include "weft/time.h"
#include "loop.h"
#include "sched.h"
#include "scope.h"
#include "task.h"

bool weft__cancel_visible(const struct weft_task *t)
{
	for (const struct weft__scope *s = t->scope; s; s = s->parent) {
		if (s->flags & WEFT__SCOPE_CANCELLED)
			return true;
		if (s->flags & WEFT__SCOPE_SHIELD)
			return false;
	}
	return t->cancel_requested;
}

int64_t weft__task_deadline(const struct weft_task *t)
{
	return t->scope ? t->scope->eff_deadline : WEFT_FOREVER;
}

int weft__checkpoint_scoped(struct weft_task *t)
{
	int64_t deadline;

	if (weft__cancel_visible(t))
		return -ECANCELED;
	deadline = t->scope->eff_deadline;
	if (deadline != WEFT_FOREVER && weft_now() >= deadline)
		return -ETIMEDOUT;
	return 0;
}

void weft__scope_push(struct weft_task *t, struct weft__scope *s, int64_t deadline, unsigned flags)
{
	int64_t outer = WEFT_FOREVER;

	if (t->scope && !(flags & WEFT__SCOPE_SHIELD))
		outer = t->scope->eff_deadline;
	s->parent = t->scope;
	s->task = t;
	s->deadline = deadline;
	s->eff_deadline = deadline < outer ? deadline : outer;
	s->flags = flags | WEFT__SCOPE_OPEN;
	t->scope = s;
}

int weft__scope_pop(struct weft_task *t, struct weft__scope *s)
{
	if (t->scope != s)
		return -EINVAL;
	t->scope = s->parent;
	s->flags &= ~WEFT__SCOPE_OPEN;
	if (s->flags & WEFT__SCOPE_CANCELLED)
		return -ECANCELED;
	if (s->deadline != WEFT_FOREVER && weft_now() >= s->deadline)
		return -ETIMEDOUT;
	return 0;
}

void weft__scope_cancel(struct weft__scope *s)
{
	struct weft_task *t = s->task;

	if (!(s->flags & WEFT__SCOPE_OPEN) || (s->flags & WEFT__SCOPE_CANCELLED))
		return;
	s->flags |= WEFT__SCOPE_CANCELLED;
	if (t->wait && weft__cancel_visible(t))
		weft__interrupt(t, -ECANCELED);
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
