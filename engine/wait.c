/* SPDX-License-Identifier: MIT */
/*
 * Waiting on sets of tasks: gather, wait, as_completed, wait_for. All four watch their tasks
 * with a hook each (struct watchset) and park until a condition holds.
 */
#include <errno.h>

#include "weft/group.h"
#include "weft/time.h"
#include "alloc.h"
#include "deadline.h"
#include "loop.h"
#include "sched.h"
#include "task.h"

enum until_cond { UNTIL_ALL, UNTIL_FIRST, UNTIL_FIRST_FAILURE, UNTIL_NEXT };

struct watch {
	struct weft__hook hook;
	struct watchset *set;
};

struct watchset {
	weft_task **tasks;
	size_t n;
	struct watch *watches;
	size_t *order; /* indices in completion order (as_completed) */
	size_t ndone, nfailed, taken;
	int first_error; /* first failure in completion order */
	bool fail_fast;
	enum until_cond until;
	struct weft__wait *waiter;
	struct weft_loop *loop; /* the tasks' (and the waiting task's) loop */
};

static bool satisfied(const struct watchset *s)
{
	switch (s->until) {
	case UNTIL_ALL:
		return s->ndone == s->n;
	case UNTIL_FIRST:
		return s->ndone > 0 || s->n == 0;
	case UNTIL_FIRST_FAILURE:
		return s->nfailed > 0 || s->ndone == s->n;
	case UNTIL_NEXT:
		return s->taken < s->ndone;
	}
	return true;
}

static void cancel_pending(struct watchset *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->tasks[i]->state != WEFT_TASK_DONE)
			weft_task_cancel(s->tasks[i]);
}

static void record(struct watchset *s, size_t i)
{
	int status = s->tasks[i]->status;

	if (s->order)
		s->order[s->ndone] = i;
	s->ndone++;
	if (status < 0) {
		s->nfailed++;
		if (!s->first_error) {
			s->first_error = status;
			if (s->fail_fast)
				cancel_pending(s);
		}
	}
}

static void watch_fired(struct weft__hook *h, struct weft_task *t)
{
	struct watch *w = weft__container_of(h, struct watch, hook);
	struct watchset *s = w->set;

	record(s, (size_t)(w - s->watches));
	if (s->waiter && satisfied(s))
		weft__wake(s->waiter->task);
}

/* Validate @tasks for the current task: non-NULL, same loop, not detached, no duplicates. */
static int check_tasks(weft_task **tasks, size_t n)
{
	struct weft_task *cur = weft__current();
	int err = 0;
	size_t i;

	if (!cur)
		return -EPERM;
	if (n && !tasks)
		return -EINVAL;
	for (i = 0; i < n && !err; i++) {
		struct weft_task *t = tasks[i];
		if (t && t->loop != cur->loop)
			err = -EXDEV;
		else if (!t || t->detached || t->mark)
			err = -EINVAL;
		else if (t == cur)
			err = -EDEADLK;
		else
			t->mark = true;
	}
	while (i--)
		if (tasks[i])
			tasks[i]->mark = false;
	return err;
}

static int watch_start(struct watchset *s, weft_task **tasks, size_t n, enum until_cond until,
		       bool want_order)
{
	int err = check_tasks(tasks, n);

	if (err)
		return err;
	*s = (struct watchset){.n = n, .until = until, .loop = weft__current()->loop};
	s->tasks = weft__new_array(weft_task *, n ? n : 1);
	s->watches = weft__new_array(struct watch, n ? n : 1);
	s->order = want_order ? weft__new_array(size_t, n ? n : 1) : NULL;
	if (!s->tasks || !s->watches || (want_order && !s->order)) {
		weft__delete_array(s->tasks, n ? n : 1);
		weft__delete_array(s->watches, n ? n : 1);
		if (s->order)
			weft__delete_array(s->order, n ? n : 1);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct watch *w = &s->watches[i];
		s->tasks[i] = tasks[i];
		w->set = s;
		weft__list_init(&w->hook.link);
		if (tasks[i]->state == WEFT_TASK_DONE)
			record(s, i);
		else
			weft__hook_add(tasks[i], &w->hook, watch_fired);
	}
	return 0;
}

static void watch_stop(struct watchset *s)
{
	size_t n = s->n ? s->n : 1;

	for (size_t i = 0; i < s->n; i++)
		weft__list_del(&s->watches[i].hook.link); /* a fired hook is already unlinked */
	weft__delete_array(s->tasks, n);
	weft__delete_array(s->watches, n);
	if (s->order)
		weft__delete_array(s->order, n);
}

struct set_wait {
	struct weft__wait wait;
	struct watchset *set;
};

/* The waiter was cancelled or timed out: cancel the tasks and keep waiting for all of them. */
static void interrupt_cancel_all(struct weft__wait *w)
{
	cancel_pending(weft__container_of(w, struct set_wait, wait)->set);
}

/* Park until every task of @s is done. If @outer is already an error, or becomes one while
 * waiting, the tasks are cancelled first. Returns the outer error, or 0. */
static int wait_all_cancelling(struct watchset *s, int outer)
{
	struct set_wait sw = {.set = s};
	int r;

	if (outer)
		cancel_pending(s);
	if (s->ndone == s->n)
		return outer;
	weft__wait_init(&sw.wait, "gather", outer ? NULL : interrupt_cancel_all);
	s->until = UNTIL_ALL;
	s->waiter = &sw.wait;
	r = weft__park(&sw.wait, WEFT_FOREVER, outer ? WEFT__PARK_NO_DEADLINE : 0);
	s->waiter = NULL;
	return outer ? outer : r;
}

/* No memory to watch @tasks together: cancel them and wait for each in turn (which allocates
 * nothing), so that the handles are consumed and no task outlives the call all the same. */
static int gather_without_memory(weft_task **tasks, size_t n, int *statuses)
{
	for (size_t i = 0; i < n; i++) {
		tasks[i]->joiners++; /* as weft_tasks_gather: a concurrent join must not free it */
		weft_task_cancel(tasks[i]);
	}
	for (size_t i = 0; i < n; i++) {
		weft__task_wait_done(tasks[i], WEFT_FOREVER, WEFT__PARK_NO_DEADLINE);
		if (statuses)
			statuses[i] = tasks[i]->status;
		tasks[i]->joiners--;
		weft__task_consume(tasks[i]);
	}
	return -ENOMEM;
}

int weft_tasks_gather(weft_task **tasks, size_t n, int *statuses, unsigned flags)
{
	struct watchset s;
	int err, outer;

	if (flags & ~WEFT_GATHER_FAIL_FAST)
		return -EINVAL;
	err = watch_start(&s, tasks, n, UNTIL_ALL, false);
	if (err == -ENOMEM)
		return gather_without_memory(tasks, n, statuses);
	if (err)
		return err;
	s.fail_fast = flags & WEFT_GATHER_FAIL_FAST;
	for (size_t i = 0; i < n; i++)
		tasks[i]->joiners++; /* a concurrent join must not free what we read below */
	outer = wait_all_cancelling(&s, weft__checkpoint(weft__current()));
	err = outer ? outer : s.first_error;
	for (size_t i = 0; i < n; i++) {
		if (statuses)
			statuses[i] = tasks[i]->status;
		tasks[i]->joiners--;
		weft__task_consume(tasks[i]);
	}
	watch_stop(&s);
	return err;
}

/* Park until @s is satisfied or @until passes. 0, or the interrupt's reason. */
static int wait_until(struct watchset *s, int64_t until, const char *what)
{
	struct weft__wait w;
	int err;

	if (satisfied(s))
		return 0;
	err = weft__checkpoint(weft__current());
	if (err)
		return err;
	weft__wait_init(&w, what, weft__wait_interrupt_wake);
	s->waiter = &w;
	err = weft__park(&w, until, 0);
	s->waiter = NULL;
	return err;
}

int weft_tasks_wait(weft_task **tasks, size_t n, enum weft_wait_mode mode, int64_t timeout_ns)
{
	static const enum until_cond conds[] = {
	    [WEFT_WAIT_ALL_COMPLETED] = UNTIL_ALL,
	    [WEFT_WAIT_FIRST_COMPLETED] = UNTIL_FIRST,
	    [WEFT_WAIT_FIRST_EXCEPTION] = UNTIL_FIRST_FAILURE,
	};
	struct watchset s;
	int err;

	if ((unsigned)mode > WEFT_WAIT_FIRST_EXCEPTION || timeout_ns < 0)
		return -EINVAL;
	err = watch_start(&s, tasks, n, conds[mode], false);
	if (err)
		return err;
	err = wait_until(&s, weft__deadline_after(weft_now(), timeout_ns), "wait");
	if (!err)
		err = (int)s.ndone;
	watch_stop(&s);
	return err;
}

/* ---- as_completed ----------------------------------------------------------------------- */

struct weft_as_completed {
	struct watchset set;
};

int weft_as_completed_new(weft_as_completed **itp, weft_task **tasks, size_t n)
{
	struct weft_as_completed *it;
	int err;

	if (!itp)
		return -EINVAL;
	it = weft__new(struct weft_as_completed);
	if (!it)
		return -ENOMEM;
	err = watch_start(&it->set, tasks, n, UNTIL_NEXT, true);
	if (err) {
		weft__delete(it);
		return err;
	}
	*itp = it;
	return 0;
}

int weft_as_completed_next(weft_as_completed *it, weft_task **taskp)
{
	struct watchset *s;
	int err;

	if (!it || !taskp)
		return -EINVAL;
	s = &it->set;
	if (!weft__current())
		return -EPERM;
	if (weft__current()->loop != s->loop)
		return weft__debug_wrong_thread(weft__current()->loop, __func__);
	if (s->taken == s->n)
		return -ENOENT;
	err = wait_until(s, WEFT_FOREVER, "as_completed");
	if (err)
		return err;
	*taskp = s->tasks[s->order[s->taken++]];
	return 0;
}

void weft_as_completed_free(weft_as_completed *it)
{
	if (!it)
		return;
	watch_stop(&it->set);
	weft__delete(it);
}

/* ---- wait_for --------------------------------------------------------------------------- */

int weft_task_wait_for(weft_task *t, int64_t timeout_ns, int *status)
{
	int err = weft__task_join_check(t), outer, result = 0;

	if (err)
		return err;
	if (timeout_ns < 0)
		return -EINVAL;
	outer = weft__checkpoint(weft__current());
	if (!outer && t->state != WEFT_TASK_DONE) {
		/* No time at all (asyncio's wait_for(t, 0)): a task that has not returned yet is
		 * cancelled, never given the turn it would take to finish. */
		if (timeout_ns > 0)
			outer = weft__task_wait_done(
			    t, weft__deadline_after(weft_now(), timeout_ns), 0);
		if (!outer && t->state != WEFT_TASK_DONE)
			result = -ETIMEDOUT;
	}
	if (t->state != WEFT_TASK_DONE) {
		weft_task_cancel(t);
		weft__task_wait_done(t, WEFT_FOREVER, WEFT__PARK_NO_DEADLINE);
	}
	if (status)
		*status = t->status;
	weft__task_consume(t);
	return outer ? outer : result;
}
